"""Attacks on what surrounds the signed rows: the signature sheet's state and contents, formulas anywhere,
and defined names. Each passed verify before; each is now refused, naming where."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import World, edit_workbook
from openpyxl.workbook.defined_name import DefinedName

from workbench.errors import FailureCode, SignatureError
from workbench.signed.verify import verify_export
from workbench.signed.worksheet import SIGNATURE_SHEET


def signature_sheet(edit: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda workbook: edit(workbook[SIGNATURE_SHEET])


def define(name: str, text: str) -> Callable[[Any], None]:
    def edit(workbook: Any) -> None:
        workbook.defined_names[name] = DefinedName(name, attr_text=text)

    return edit


def set_cell(ref: str, value: object) -> Callable[[Any], None]:
    def edit(sheet: Any) -> None:
        sheet[ref] = value

    return edit


def show(sheet: Any) -> None:
    sheet.sheet_state = "visible"


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (signature_sheet(set_cell("C1", '=HYPERLINK("http://example.org","点此查看实际得分")')), "!C1"),
        (signature_sheet(set_cell("C2", '=WEBSERVICE("http://example.org/score")')), "!C2"),
        (signature_sheet(set_cell("D3", "实际得分以此为准：满分")), "!D3"),
        (signature_sheet(set_cell("A40", 7)), "!A40"),
        (signature_sheet(show), SIGNATURE_SHEET),
        (define("evil", "cmd|'/c calc'!A0"), "evil"),
        (define("实际得分", "'评分表'!$I$2"), "实际得分"),
        (define("_xlnm.Print_Area", f"{SIGNATURE_SHEET}!$A$1:$B$9"), "_xlnm.Print_Area"),
    ],
    ids=["HYPERLINK formula", "WEBSERVICE formula", "free text", "a numeric key", "visible state", "DDE name",
         "a name on 得分", "print area on the signature sheet"],
)
def test_what_surrounds_the_signed_rows_is_checked(
    signed: Path, world: World, edit: Callable[[Any], None], where: str
) -> None:
    with pytest.raises(SignatureError) as refused:
        verify_export(edit_workbook(signed, edit), world.round_db)
    assert refused.value.code == FailureCode.EDITED_AFTER_SIGNING
    assert where in refused.value.message


def test_the_names_an_export_and_a_coordinators_print_settings_define_still_verify(signed: Path, world: World) -> None:
    def print_settings(workbook: Any) -> None:
        scores = workbook["评分表"]
        scores.print_area = "A1:M40"
        scores.print_title_rows = "1:1"
        workbook["汇总"].print_title_rows = "1:1"

    verified = verify_export(edit_workbook(signed, print_settings), world.round_db)
    assert verified.rows
