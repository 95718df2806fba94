"""Typing scores into a worksheet and importing them back: validated as the app validates, audited, all or nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import PASSPHRASE, World, edit_workbook, libreoffice_resave

from workbench.errors import InputRefused, WorksheetRefused
from workbench.model import NA, TargetKind
from workbench.signed.export import export_package
from workbench.signed.import_scores import import_scores
from workbench.store.db import Store


def _blank(package: Path, out: Path) -> Path:
    return export_package(package, out, key_file=None, passphrase=None, blank=True).path


def _state(package: Path) -> tuple[dict[tuple[str, str], Any], int]:
    store = Store.open(package, expect="package")
    try:
        scores = {(s.target_id, s.indicator): s for s in store.scores()}
        events = store.conn.execute("SELECT count(*) FROM score_events").fetchone()[0]
        return scores, events
    finally:
        store.close()


def _row_of(sheet: Any, target_id: str, code: str) -> int:
    return next(r for r in range(2, sheet.max_row + 1)
                if sheet.cell(r, 2).value == target_id and sheet.cell(r, 4).value == code)


def _backdate_export(path: Path) -> None:
    """Make the worksheet older than the app's edits: times have whole seconds and a test runs within one."""
    def edit(workbook: Any) -> None:
        for row in workbook["workbench_blank"].iter_rows():
            if row[0].value == "created_at":
                row[1].value = "2000-01-01T00:00:00Z"

    edit_workbook(path, edit)


def _type(path: Path, entries: dict[tuple[str, str], dict[int, object]]) -> None:
    """Type into the worksheet as a reviewer would: {(target, code): {column: value}}."""
    def edit(workbook: Any) -> None:
        sheet = workbook["评分表"]
        for (target_id, code), cells in entries.items():
            row = _row_of(sheet, target_id, code)
            for column, value in cells.items():
                sheet.cell(row, column).value = value

    edit_workbook(path, edit)


def test_values_typed_into_a_blank_worksheet_are_imported_and_audited(package_path: Path, tmp_path: Path) -> None:
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    _type(sheet, {
        ("S03", "A1.1"): {9: 1.5, 10: "'领导小组会议纪要", 11: "https://www.hebei.gov.cn/a.htm"},
        ("S03", "A1.2"): {9: "２"},  # full-width digits, as typed on a Chinese keyboard
        ("S03", "D3"): {9: "不适用"},
    })
    result = import_scores(package_path, sheet)
    assert (result.changed, result.unchanged) == (3, result.rows - 3)
    scores, _ = _state(package_path)
    assert scores[("S03", "A1.1")].value == Decimal("1.5")
    assert scores[("S03", "A1.1")].note == "'领导小组会议纪要"
    assert scores[("S03", "A1.1")].evidence == "https://www.hebei.gov.cn/a.htm"
    assert scores[("S03", "A1.2")].value == Decimal("2.0")
    assert scores[("S03", "D3")].value == NA
    store = Store.open(package_path, expect="package")
    reasons = {r[0] for r in store.conn.execute("SELECT reason FROM score_events")}
    store.close()
    assert reasons == {"import"}


def test_exporting_then_importing_an_unchanged_file_changes_nothing(world: World, tmp_path: Path) -> None:
    before = _state(world.package)
    signed = export_package(world.package, tmp_path / "signed.xlsx", key_file=world.key, passphrase=PASSPHRASE).path
    blank = _blank(world.package, tmp_path / "blank.xlsx")
    for sheet in (signed, blank):
        result = import_scores(world.package, sheet)
        assert result.changed == 0 and result.unchanged == result.rows == len(before[0])
    assert _state(world.package) == before


def test_a_worksheet_resaved_by_libreoffice_imports_without_changes(world: World, tmp_path: Path) -> None:
    before = _state(world.package)
    resaved = libreoffice_resave(_blank(world.package, tmp_path / "blank.xlsx"), tmp_path / "lo")
    assert import_scores(world.package, resaved).changed == 0
    assert _state(world.package) == before


def test_one_bad_cell_refuses_the_whole_file(package_path: Path, tmp_path: Path) -> None:
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    _type(sheet, {("S03", "A1.1"): {9: 1.5}, ("S03", "A1.2"): {9: 7}, ("S03", "A2.1"): {9: 0.3}})
    with pytest.raises(InputRefused) as caught:
        import_scores(package_path, sheet)
    where = {p.where for p in caught.value.problems}
    workbook = openpyxl.load_workbook(sheet)["评分表"]
    assert where == {f"评分表!I{_row_of(workbook, 'S03', 'A1.2')}", f"评分表!I{_row_of(workbook, 'S03', 'A2.1')}"}
    assert "nothing was changed" in caught.value.message
    scores, events = _state(package_path)
    assert scores[("S03", "A1.1")].value is None and events == 0


def test_a_typed_evidence_that_is_not_a_link_is_refused_at_its_cell(package_path: Path, tmp_path: Path) -> None:
    """The app's rule for 佐证链接 holds for a typed worksheet too: a non-link is refused, located, and nothing
    of the file is imported."""
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    _type(sheet, {("S03", "A1.1"): {9: 1.5, 11: "见截图"}, ("S03", "A1.2"): {9: 2, 11: "javascript:alert(1)"}})
    with pytest.raises(InputRefused) as caught:
        import_scores(package_path, sheet)
    workbook = openpyxl.load_workbook(sheet)["评分表"]
    assert {p.where for p in caught.value.problems} == {
        f"评分表!K{_row_of(workbook, 'S03', 'A1.1')}", f"评分表!K{_row_of(workbook, 'S03', 'A1.2')}"}
    assert all("不是网址" in p.reason and ("见截图" in p.reason or "javascript" in p.reason)
               for p in caught.value.problems)
    scores, events = _state(package_path)
    assert scores[("S03", "A1.1")].value is None and events == 0


def test_a_worksheet_of_another_reviewers_package_is_refused(world: World, tmp_path: Path) -> None:
    from workbench.setup.package import make_package

    theirs = make_package(world.round_db, "R02", tmp_path / "R02.wbk").path
    before = _state(world.package)
    other = _blank(theirs, tmp_path / "other.xlsx")
    with pytest.raises(WorksheetRefused, match="belongs to reviewer R02"):
        import_scores(world.package, other)
    with pytest.raises(WorksheetRefused, match="belongs to reviewer R02"):
        import_scores(world.package, theirs)
    assert _state(world.package) == before


def test_a_spreadsheet_without_a_package_nonce_is_refused(package_path: Path, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.worksheets[0].title = "评分表"
    workbook.worksheets[0].append(["对象类型", "对象编号"])
    workbook.save(tmp_path / "plain.xlsx")
    with pytest.raises(WorksheetRefused, match="nonce"):
        import_scores(package_path, tmp_path / "plain.xlsx")


def test_an_empty_cell_never_erases_a_value(world: World, tmp_path: Path) -> None:
    before = _state(world.package)
    sheet = _blank(world.package, tmp_path / "blank.xlsx")
    _type(sheet, {("S03", "A1.1"): {9: None, 10: None}})
    assert import_scores(world.package, sheet).changed == 0
    assert _state(world.package) == before


def test_a_pair_changed_in_the_app_since_export_is_a_conflict(world: World, tmp_path: Path) -> None:
    sheet = _blank(world.package, tmp_path / "blank.xlsx")
    _backdate_export(sheet)
    store = Store.open(world.package, expect="package")
    store.set_score(TargetKind.SITE, "S03", "A1.1", Decimal("0.5"), note="在界面中改过")
    store.close()
    _type(sheet, {("S03", "A1.1"): {9: 2}})
    with pytest.raises(InputRefused, match="changed in the app") as caught:
        import_scores(world.package, sheet)
    assert len(caught.value.problems) == 1
    assert _state(world.package)[0][("S03", "A1.1")].value == Decimal("0.5")


def test_a_worksheet_filled_in_several_sittings_imports_each_time(package_path: Path, tmp_path: Path) -> None:
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    _type(sheet, {("S03", "A1.1"): {9: 1}})
    assert import_scores(package_path, sheet).changed == 1
    _type(sheet, {("S03", "A1.1"): {9: 2}, ("S03", "A1.2"): {9: 1}})
    assert import_scores(package_path, sheet).changed == 2
    assert _state(package_path)[0][("S03", "A1.1")].value == Decimal("2.0")


def test_rows_that_are_not_pairs_of_the_package_are_refused(package_path: Path, tmp_path: Path) -> None:
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    _type(sheet, {("S03", "A1.1"): {2: "S99", 9: 1}})
    with pytest.raises(InputRefused, match="S99"):
        import_scores(package_path, sheet)


def test_changed_headers_are_refused(package_path: Path, tmp_path: Path) -> None:
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    edit_workbook(sheet, lambda workbook: setattr(workbook["评分表"]["I1"], "value", "分数"))
    with pytest.raises(InputRefused, match="headers"):
        import_scores(package_path, sheet)


def test_veto_answers_are_imported(check_world: World, tmp_path: Path) -> None:
    sheet = _blank(check_world.package, tmp_path / "blank.xlsx")
    scores, _ = _state(check_world.package)
    target = next(t for (t, code) in scores if code == "V1")
    flipped = "否" if scores[(target, "V1")].value == Decimal(1) else "是"
    _type(sheet, {(target, "V1"): {9: flipped}})
    assert import_scores(check_world.package, sheet).changed == 1
    assert _state(check_world.package)[0][(target, "V1")].value == Decimal(1 if flipped == "是" else 0)


def test_a_formula_typed_into_the_worksheet_is_refused(package_path: Path, tmp_path: Path) -> None:
    sheet = _blank(package_path, tmp_path / "blank.xlsx")
    _type(sheet, {("S03", "A1.2"): {9: "=1+1"}})
    row = _row_of(openpyxl.load_workbook(sheet)["评分表"], "S03", "A1.2")
    with pytest.raises(InputRefused, match="formula") as caught:
        import_scores(package_path, sheet)
    assert [p.where for p in caught.value.problems] == [f"评分表!I{row}"]
    assert _state(package_path)[1] == 0


# --- carrying scores into a re-issued package -----------------------------------------------------------------


def _reissue(world: World, tmp_path: Path, drop_target: str) -> Path:
    """The coordinator takes one target off R01 and issues a new full package, superseding the old one."""
    from workbench.setup.package import make_package
    from workbench.store.db import transaction

    store = Store.open(world.round_db, expect="round")
    with transaction(store.conn):
        store.conn.execute("DELETE FROM assignments WHERE reviewer_id = 'R01' AND target_id = ?", (drop_target,))
    store.close()
    return make_package(world.round_db, "R01", tmp_path / "R01-new.wbk").path


def _r01_target(world: World) -> str:
    scores, _ = _state(world.package)
    return sorted({target for target, _ in scores})[0]


def test_scores_are_carried_from_a_superseded_package_and_the_lost_pairs_listed(world: World, tmp_path: Path) -> None:
    from workbench.signed.export import export_package
    from workbench.signed.verify import verify_export

    dropped_target = _r01_target(world)
    old, _ = _state(world.package)
    new = _reissue(world, tmp_path, dropped_target)
    result = import_scores(new, world.package)
    carried, events = _state(new)
    lost = sorted(key for key in old if key[0] == dropped_target)
    assert sorted((t, c) for _, t, c in result.dropped) == lost
    assert result.changed == len(carried) == len(old) - len(lost)
    assert all(carried[key].value == old[key].value and carried[key].note == old[key].note for key in carried)
    assert events == result.changed  # each carried pair audited once
    signed = export_package(new, tmp_path / "R01-new-2022.xlsx", key_file=world.key, passphrase=PASSPHRASE)
    assert len(verify_export(signed.path, world.round_db).rows) == len(carried)
    again = import_scores(new, world.package)
    assert again.changed == 0 and _state(new)[1] == events


def test_a_worksheet_of_the_superseded_package_is_carried_too(world: World, tmp_path: Path) -> None:
    sheet = _blank(world.package, tmp_path / "old-blank.xlsx")
    dropped_target = _r01_target(world)
    new = _reissue(world, tmp_path, dropped_target)
    result = import_scores(new, sheet)
    assert result.carried_from is not None and result.changed > 0
    assert {t for _, t, _ in result.dropped} == {dropped_target}


def test_the_arguments_swapped_are_refused_naming_the_order(world: World, tmp_path: Path) -> None:
    new = _reissue(world, tmp_path, _r01_target(world))
    before = _state(world.package)
    with pytest.raises(WorksheetRefused, match=r"NEW\.wbk OLD\.wbk"):
        import_scores(world.package, new)
    with pytest.raises(WorksheetRefused, match="this very package"):
        import_scores(new, new)
    assert _state(world.package) == before


def test_the_cli_lists_the_pairs_not_carried(world: World, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbench.cli.main import cli

    dropped_target = _r01_target(world)
    new = _reissue(world, tmp_path, dropped_target)
    result = CliRunner().invoke(cli, ["import-scores", str(new), str(world.package)])
    assert result.exit_code == 0, result.output
    assert "carried from the earlier package" in result.output
    assert "no longer in this package" in result.output
    assert f"网站 {dropped_target} " in result.output or f"案例 {dropped_target} " in result.output
