"""The report's row writer: what openpyxl would have written, read back as a spreadsheet reads it."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from openpyxl import Workbook

from workbench.consolidation.sheetrows import RowStream, Styled, save


def _book(rows: list[list[object]], *, header: list[str] | None = None) -> tuple[Workbook, RowStream]:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("表")
    sheet.append(header or ["名称", "分值", "备注"])
    stream = RowStream(sheet, 2, 3)
    for row in rows:
        stream.append(row)
    return book, stream


def test_rows_read_back_as_written(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    book, stream = _book([])
    fmt = stream.style_id("0.00")
    for row in ([" 前后有空格 ", Styled(Decimal("1.5"), fmt), "a & b <c>"],
                ["=HYPERLINK(\"http://x\")", 3, None],
                ["坏\x00字符", Decimal("1E+1"), ""],
                ["#N/A", 2.25, "换行\n第二行"]):
        stream.append(row)
    save(book, out, [stream])
    assert not stream.path.exists()  # the rows' temporary file is gone

    sheet = openpyxl.load_workbook(out)["表"]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=1)]
    assert values == [["名称", "分值", "备注"],
                      [" 前后有空格 ", 1.5, "a & b <c>"],
                      ["=HYPERLINK(\"http://x\")", 3, None],
                      ["坏字符", 10, None],
                      ["#N/A", 2.25, "换行\n第二行"]]
    assert sheet["B2"].number_format == "0.00"
    assert sheet["A3"].data_type == "s" and sheet["A3"].quotePrefix  # a formula's text stays text
    assert sheet["A5"].quotePrefix and not sheet["A2"].quotePrefix

    calamine = python_calamine.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("表").to_python()
    assert calamine[2][0] == "=HYPERLINK(\"http://x\")" and calamine[1][1] == 1.5


def test_no_rows_saves_the_workbook_as_openpyxl_does(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    book, stream = _book([])
    save(book, out, [stream])
    sheet = openpyxl.load_workbook(out)["表"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["名称", "分值", "备注"]]


def test_a_row_appended_through_openpyxl_after_the_stream_is_refused(tmp_path: Path) -> None:
    """Rows from two writers would interleave out of order: the save refuses rather than write a broken part."""
    out = tmp_path / "r.xlsx"
    book, stream = _book([["甲", 1, None]])
    stream.sheet.append(["乙", 2, None])
    with pytest.raises(RuntimeError, match="appended through openpyxl"):
        save(book, out, [stream])
    assert not out.exists() and not stream.path.exists()


def test_an_unknown_value_is_refused_not_guessed() -> None:
    _, stream = _book([])
    with pytest.raises(TypeError, match="no cell for"):
        stream.append([object()])
    stream.discard()


def test_the_sheet_part_is_deflated(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    book, stream = _book([["同一个名称", n, "备注"] for n in range(5000)])
    save(book, out, [stream])
    with zipfile.ZipFile(out) as archive:
        part = archive.getinfo("xl/worksheets/sheet1.xml")
    assert part.compress_type == zipfile.ZIP_DEFLATED and part.compress_size * 5 < part.file_size
