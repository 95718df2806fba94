"""The consolidated workbook as an Excel user meets it, and within Excel's limits at any size: print titles,
page footers, autofilters, number formats and Chinese method labels read back with openpyxl; the charts'
ranges; a sheet cut at a lowered row limit; the side file's numbered parts, BOM and guarded cells."""

from __future__ import annotations

import csv
import re
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest_merge import *  # noqa: F403  (the cycle fixture)
from conftest_merge import PASS, REVIEWERS, VALUES, middle

from workbench.consolidation import report
from workbench.consolidation.merge import merge_exports
from workbench.consolidation.report import REVIEW_COLUMNS, ReportSummary, side_file, write_report
from workbench.errors import WorkbenchError
from workbench.model import TargetKind
from workbench.signed.export import export_package
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE

TABLES = ("总分排名", "指标明细", "评审专家", "争议复核", "缺少评分", "一致性")


def merged(cycle: dict[str, Path]) -> Path:
    db = cycle["db"]
    assert not merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS]).rejected
    return db


def written(cycle: dict[str, Path], tmp_path: Path) -> tuple[ReportSummary, Any]:
    summary = write_report(merged(cycle), tmp_path / "consolidated.xlsx")
    return summary, openpyxl.load_workbook(summary.path)


def side_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def chart_refs(path: Path) -> list[dict[str, list[str]]]:
    """Each chart's series title, category and value references, and its value axis settings, in order."""
    charts = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)):
            xml = z.read(name).decode()
            charts.append({
                "title": re.findall(r"<tx><strRef><f>(.*?)</f>", xml),
                "cat": re.findall(r"<cat><(?:num|str)Ref><f>(.*?)</f>", xml),
                "val": re.findall(r"<val><numRef><f>(.*?)</f>", xml),
                "majorUnit": re.findall(r'<majorUnit val="([^"]+)"', xml),
                "numFmt": re.findall(r'<numFmt formatCode="([^"]+)"', xml),
                "delete": re.findall(r'<delete val="([^"]+)"', xml),
            })
    return charts


def cells(sheet: Any, ref: str) -> list[Any]:
    """The values of a one-column reference such as '图表'!$A$8:$A$10."""
    area = ref.split("!")[1].replace("$", "")
    return [row[0].value for row in sheet[area]] if ":" in area else [sheet[area].value]


# ------------------------------------------------------------------------------------------ for Excel users


def test_every_table_has_an_autofilter_print_titles_and_a_numbered_footer(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    _, book = written(cycle, tmp_path)
    spans = {"总分排名": "A1:J3", "指标明细": "A1:N7", "评审专家": "A1:G4", "争议复核": "A1:L2", "缺少评分": "A1:G2",
             "一致性": "A1:D5"}
    for name in TABLES:
        sheet = book[name]
        assert sheet.auto_filter.ref == spans[name], name
        assert sheet.print_title_rows == "$1:$1", name
        assert sheet.freeze_panes == "A2"
    for sheet in book.worksheets:
        assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text, sheet.title
        assert sheet.page_setup.orientation == "landscape"
    about = book["说明"]
    header = next(n for n, row in enumerate(about.iter_rows(values_only=True), 1) if row[0] == "已合并的导出")
    assert about.auto_filter.ref == f"A{header}:G{header + 3}"  # the three merged exports
    assert about.print_title_rows == f"${header}:${header}"


def test_an_incomplete_report_filters_and_prints_below_its_banner(cycle: dict[str, Path], tmp_path: Path) -> None:
    assert merge_exports(cycle["db"], [cycle["R1.xlsx"], cycle["R2.xlsx"]]).merged
    book = openpyxl.load_workbook(write_report(cycle["db"], tmp_path / "r.xlsx", allow_incomplete=True).path)
    totals = book["总分排名"]
    assert str(totals["A1"].value).startswith("未完成") and totals["A2"].value == "排名"
    assert totals.auto_filter.ref == "A2:J4" and totals.print_title_rows == "$1:$2"  # the banner on every page
    assert totals.freeze_panes == "A3"


def test_numbers_carry_their_display_format_and_methods_read_in_chinese(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    _, book = written(cycle, tmp_path)
    totals = {row[2].value: row for row in book["总分排名"].iter_rows(min_row=2)}
    assert totals["S1"][5].value == 19 and totals["S1"][5].number_format == "0.0"
    breakdown = {(row[1].value, row[3].value): row for row in book["指标明细"].iter_rows(min_row=2)}
    for leaf, by_site in VALUES.items():
        for site, values in by_site.items():
            row = breakdown[(site, leaf)]
            assert Decimal(str(row[5].value)) == middle(values)
            # 得分小数位 2 (the default), so 0.00 for the value and the reviewers' mean, median, min and max
            assert [row[n].number_format for n in (5, 8, 9, 10, 11)] == ["0.00"] * 5
            assert row[6].value == "去掉最高最低"
    # each reviewer's own value beside the consensus, at its step's places
    assert breakdown[("S1", "A1")][13].value == "R1 8.0；R2 9.0；R3 6.5"
    assert breakdown[("S2", "A2")][13].value == "R1 10；R2 3；R3 10"
    # the mean of 8, 9, 6.5 is kept exact in the cell and shown to two places
    assert breakdown[("S1", "A1")][8].value == pytest.approx(23.5 / 3)
    people = list(book["评审专家"].iter_rows(min_row=2))
    assert all(row[4].number_format == "0.0" for row in people if row[4].value is not None)
    agreement = list(book["一致性"].iter_rows(min_row=2))
    assert all(row[3].number_format == "0.0" for row in agreement if row[3].value is not None)
    assert report.METHOD_LABEL == {"trimmed-mean": "去掉最高最低", "mean": "平均", "majority": "多数", "none": "无",
                                   "imported": "导入"}


def test_the_totals_sheet_gives_each_parts_subtotal_and_the_bonus_counted(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    _, book = written(cycle, tmp_path)
    rows = list(book["总分排名"].iter_rows(values_only=True))
    # 基础 (A1 + A2) is the only part with point leaves; 创新 holds only the bonus leaf B1, shown as 加分
    assert rows[0][8:] == ("基础", "加分")
    by_id = {row[2]: row for row in rows[1:]}
    assert by_id["S1"][5:] == (19, "优秀", None, 15, 4)  # 8 + 7, and B1's middle 4
    assert by_id["S2"][5:] == (16, "良好", 1, 15, 1)  # 5 + 10, and 1
    assert book["总分排名"].cell(2, 9).number_format == "0.0"


def test_the_spread_chart_covers_every_indicator_and_the_grade_axis_counts_in_whole_numbers(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    summary, book = written(cycle, tmp_path)
    charts = book["图表"]
    grade, spread = chart_refs(summary.path)
    labels = cells(charts, grade["cat"][0])
    assert labels == ["优秀", "良好", "合格", "不合格"]  # each grade once, in the rules' order
    assert cells(charts, grade["title"][0]) == ["对象数"]
    assert cells(charts, grade["val"][0]) == [1, 1, 0, 0]
    assert grade["majorUnit"] == ["1"] and grade["numFmt"] == ["0"]
    assert grade["delete"] == ["0", "0"]  # both axes shown
    # the spread table's header gives the series its title; every leaf, the first one too, is a category
    assert cells(charts, spread["title"][0]) == ["平均极差（占分值%）"]
    assert cells(charts, spread["cat"][0]) == ["A1 信息发布", "A2 互动交流", "B1 创新实践"]
    shown = cells(charts, spread["val"][0])
    assert len(shown) == 3 and all(isinstance(v, (int, float)) for v in shown)
    assert shown[0] == 12.5  # A1: (9 - 6.5) / 10 and (5 - 5) / 10, as a share of its points


@pytest.mark.parametrize(("largest", "unit"), [(0, 1), (3, 1), (10, 1), (11, 2), (20, 2), (21, 5), (50, 5),
                                               (51, 10), (14_640, 2000), (100_000, 10_000)])
def test_a_count_axis_ticks_at_whole_numbers_and_at_most_ten_times(largest: int, unit: int) -> None:
    assert report._count_unit(largest) == unit
    assert largest <= unit * 10


def test_a_grade_that_is_also_the_fail_label_is_charted_once(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = merged(cycle)
    with sqlite3.connect(db) as conn:  # the lowest band named as the fail label (不合格 by default)
        conn.execute("UPDATE rules SET value = '优秀:18;良好:12;不合格:0' WHERE key = 'grade_bands'")
    summary = write_report(db, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(summary.path)
    grade, _ = chart_refs(summary.path)
    assert cells(book["图表"], grade["cat"][0]) == ["优秀", "良好", "不合格"]


def test_the_charts_sheet_sums_up_each_region_with_its_count_mean_best_and_worst(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    _, book = written(cycle, tmp_path)
    charts = book["图表"]
    rows = list(charts.iter_rows(values_only=True))
    header = next(n for n, row in enumerate(rows) if row[0] == "地区")
    assert rows[header][:7] == ("地区", "类型", "对象数", "有总分", "平均总分", "最高", "最低")
    assert [row[:7] for row in rows[header + 1:]] == [("北京", "网站", 1, 1, 16, 16, 16),
                                                      ("广东", "网站", 1, 1, 19, 19, 19)]
    assert charts.auto_filter.ref == f"A{header + 1}:G{header + 3}"
    assert charts.cell(header + 2, 5).number_format == "0.0"


def test_the_totals_sheet_shows_the_change_against_the_previous_round_where_history_exists(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    from support import write_csv

    from workbench.setup.results import import_results

    db = merged(cycle)
    # 2021: S1 scored 7 + 7 + 3 = 17; S2 has no history
    import_results(db, write_csv(tmp_path / "results-2021.csv", "对象类型,对象编号,指标代码,得分\n"
                                 "网站,S1,A1,7\n网站,S1,A2,7\n网站,S1,B1,3\n"), "2021")
    book = openpyxl.load_workbook(write_report(db, tmp_path / "r.xlsx").path)
    sheet = book["总分排名"]
    header = [c.value for c in sheet[1]]
    assert header[8:10] == ["上轮总分（2021）", "较上轮"] and header[5] == "总分"
    rows = {row[2].value: row for row in sheet.iter_rows(min_row=2)}
    assert (rows["S1"][5].value, rows["S1"][8].value, rows["S1"][9].value) == (19, 17, 2)
    assert rows["S1"][8].number_format == "0.0" and rows["S1"][9].number_format == "+0.0;-0.0;0.0"
    assert (rows["S2"][8].value, rows["S2"][9].value) == (None, None)
    assert sheet.auto_filter.ref == "A1:L3"


def test_the_merged_exports_table_in_about_is_wide_enough_to_read(cycle: dict[str, Path], tmp_path: Path) -> None:
    _, book = written(cycle, tmp_path)
    about = book["说明"]
    header = next(row for row in about.iter_rows() if row[0].value == "已合并的导出")
    rows = [row for row in about.iter_rows(min_row=header[0].row + 1, values_only=True)]
    assert len(rows) == 3
    for n, cell in enumerate(header):
        width = about.column_dimensions[cell.column_letter].width
        longest = max(len(str(row[n])) for row in rows)
        assert width >= longest, (cell.value, width, longest)  # the export id (36), the key id, the file …


def test_libreoffice_renders_the_report_with_its_print_titles(cycle: dict[str, Path], tmp_path: Path) -> None:
    import shutil
    import subprocess

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    summary, _ = written(cycle, tmp_path)
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                    "--outdir", str(tmp_path / "pdf"), str(summary.path)], check=True, capture_output=True,
                   timeout=300)
    pdf = (tmp_path / "pdf" / "consolidated.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") + pdf.count(b"/Type/Page") >= 7


# ------------------------------------------------------------------------------------ within Excel's limits


def test_a_sheet_past_the_row_limit_is_cut_says_so_first_and_points_to_the_side_file(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "MAX_ROWS", 5)  # 指标明细 has 6 cells and a header: 7 rows
    summary, book = written(cycle, tmp_path)
    assert summary.cut == ("指标明细",) and summary.cells == 6
    rows = list(book["指标明细"].iter_rows(values_only=True))
    assert len(rows) == 5 == book["指标明细"].max_row
    assert "已截断" in str(rows[0][0]) and "consolidated.reviews-1.csv" in str(rows[0][0])
    assert "共 6 行" in str(rows[0][0]) and "前 3 行" in str(rows[0][0])
    assert rows[1][0] == "类型" and book["指标明细"].auto_filter.ref == "A2:N5"
    assert book["指标明细"].print_title_rows == "$1:$2" and book["指标明细"].freeze_panes == "A3"
    about = [row for row in book["说明"].iter_rows(values_only=True)]
    assert ("已截断", "指标明细：列出 3 行，未列 3 行（见 CSV 文件）") in [row[:2] for row in about]
    # the sheets that fit are whole, and their first row is their header
    assert book["总分排名"]["A1"].value == "排名" and book["总分排名"].max_row == 3
    # the side file still has every review
    assert len(side_rows(summary.side_files[0])) == 1 + 18 == 1 + summary.reviews


def test_no_sheet_passes_the_limit_whatever_it_is(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "MAX_ROWS", 2)
    summary, book = written(cycle, tmp_path)
    assert set(summary.cut) == {"总分排名", "指标明细", "评审专家", "一致性"}  # 争议复核 has one row: it fits
    for name in TABLES:
        assert book[name].max_row <= 2, name
        if name in summary.cut:
            assert str(book[name]["A1"].value).startswith("本表已截断"), name


def test_the_side_file_has_every_review_beside_its_consolidated_value_and_export(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    summary, _ = written(cycle, tmp_path)
    assert summary.side_files == (tmp_path / "consolidated.reviews-1.csv",) and summary.reviews == 18
    raw = summary.side_files[0].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 Chinese
    header, *rows = side_rows(summary.side_files[0])
    assert tuple(header) == REVIEW_COLUMNS
    with sqlite3.connect(cycle["db"]) as conn:
        exports = dict(conn.execute("SELECT reviewer_id, export_id FROM submissions"))
    got = {(r[2], r[4], r[6]): r for r in rows}
    assert len(got) == 18
    for leaf, by_site in VALUES.items():
        for site, values in by_site.items():
            for n, reviewer in enumerate(REVIEWERS):
                row = got[(site, leaf, reviewer)]
                assert row[0] == "2022" and row[1] == "网站"
                assert Decimal(row[7]) == Decimal(values[n])
                assert Decimal(row[10]) == middle(values) and row[10] == f"{middle(values):.2f}"
                assert row[9] == exports[reviewer]
    assert got[("S1", "A1", "R1")][3] == "广东省深圳市" and got[("S1", "A1", "R1")][5] == "信息发布"
    # grouped as a pivot expects it: by target, indicator, reviewer
    assert [(r[2], r[4], r[6]) for r in rows] == sorted((r[2], r[4], r[6]) for r in rows)


def test_the_side_file_comes_in_numbered_parts_of_at_most_the_part_size(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "CSV_PART_ROWS", 5)  # the header and four reviews a part
    summary, book = written(cycle, tmp_path)
    assert [p.name for p in summary.side_files] == [f"consolidated.reviews-{n}.csv" for n in range(1, 6)]
    parts = [side_rows(p) for p in summary.side_files]
    assert all(len(part) <= 5 and tuple(part[0]) == REVIEW_COLUMNS for part in parts)
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in summary.side_files)
    assert sum(len(part) - 1 for part in parts) == 18
    about = [row[1] for row in book["说明"].iter_rows(values_only=True) if row[0] == "逐条评分（CSV）"]
    assert about and "consolidated.reviews-5.csv" in str(about[0]) and "18" in str(about[0])


def test_a_note_a_spreadsheet_would_run_is_guarded_in_the_side_file(cycle: dict[str, Path], tmp_path: Path) -> None:
    store = Store.open(cycle["R1"], expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S1", "A1", note='=HYPERLINK("http://x","y")')
    store.set_score(TargetKind.SITE, "S1", "A2", note="-3 分：栏目空白")
    store.close()
    again = export_package(cycle["R1"], tmp_path / "R1-2.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    db = merged(cycle)
    assert merge_exports(db, [again]).merged
    summary = write_report(db, tmp_path / "consolidated.xlsx")
    rows = {(r[2], r[4], r[6]): r for r in side_rows(summary.side_files[0])[1:]}
    assert rows[("S1", "A1", "R1")][8] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert rows[("S1", "A2", "R1")][8] == "'-3 分：栏目空白"
    with sqlite3.connect(db) as conn:
        first, second = (e for (e,) in conn.execute(
            "SELECT export_id FROM submissions WHERE reviewer_id = 'R1' ORDER BY seq"))
    # the export a row names is the one its value or note was merged from
    assert rows[("S1", "A1", "R1")][9] == rows[("S1", "A2", "R1")][9] == second
    assert rows[("S1", "B1", "R1")][9] == first
    for row in rows.values():
        assert not any(field.startswith(("=", "+", "@", "\t", "\r")) for field in row)
        assert not any(field.startswith("-") and not re.fullmatch(r"-?[0-9.]+", field) for field in row)


@pytest.mark.parametrize("part", [1, 3])
def test_a_report_never_overwrites_a_side_file_nor_leaves_an_old_part_beside_new_ones(
    cycle: dict[str, Path], tmp_path: Path, part: int
) -> None:
    db = merged(cycle)
    side_file(tmp_path / "consolidated.xlsx", part).write_text("someone's pivot\n", encoding="utf-8")
    with pytest.raises(WorkbenchError, match=f"reviews-{part}.csv 已存在"):
        write_report(db, tmp_path / "consolidated.xlsx")
    assert not (tmp_path / "consolidated.xlsx").exists()
    assert sorted(p.name for p in tmp_path.glob("consolidated.reviews-*")) == [f"consolidated.reviews-{part}.csv"]
    assert side_file(tmp_path / "consolidated.xlsx", part).read_text(encoding="utf-8") == "someone's pivot\n"
    # another workbook's parts do not count
    assert write_report(db, tmp_path / "consolidated-2.xlsx").side_files[0].name == "consolidated-2.reviews-1.csv"


def test_a_failed_report_leaves_no_side_file(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = merged(cycle)

    import openpyxl.workbook.workbook

    save = openpyxl.workbook.workbook.Workbook.save

    def broken(book: Any, path: Any) -> None:
        save(book, path)  # written, then the disk fills before it is closed
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.workbook.workbook.Workbook, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(db, tmp_path / "consolidated.xlsx")
    assert list(tmp_path.glob("consolidated*")) == []


def test_a_side_file_written_alongside_is_the_one_written_in_line(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a round too large for 逐条评分 the side file is written by a forked process while the workbook's
    sheets are: the same files result, the agreement it gathered fills 评审专家 and 一致性 as before, and the
    past round's totals fill 上轮总分."""
    from support import write_csv

    from workbench.setup.results import import_results

    db = merged(cycle)
    import_results(db, write_csv(tmp_path / "results-2021.csv", "对象类型,对象编号,指标代码,得分\n"
                                 "网站,S1,A1,7\n网站,S1,A2,7\n网站,S1,B1,3\n"), "2021")
    monkeypatch.setattr(report, "MAX_ROWS", 19)  # 18 reviews and the header: no 逐条评分
    results = {}
    for name, parallel_from in (("line", 10**9), ("fork", 1)):
        monkeypatch.setattr(report, "PARALLEL_ROWS", parallel_from)
        (tmp_path / name).mkdir()
        summary = write_report(db, tmp_path / name / "consolidated.xlsx")
        book = openpyxl.load_workbook(summary.path)
        results[name] = (summary.reviews, summary.side_files[0].read_bytes(),
                         {sheet: [list(r) for r in book[sheet].iter_rows(values_only=True)]
                          for sheet in ("评审专家", "一致性", "总分排名", "争议复核")})
    assert results["fork"] == results["line"]
    assert results["fork"][0] == 18 and results["fork"][2]["评审专家"][1][3] == 6  # R1 compared on 6 items
    totals = results["fork"][2]["总分排名"]
    assert totals[0][8:10] == ["上轮总分（2021）", "较上轮"]
    assert [row[8] for row in totals if row[2] == "S1"] == [17]


def test_a_past_totals_failure_while_the_side_file_is_written_alongside_fails_the_report_and_leaves_nothing(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = merged(cycle)
    monkeypatch.setattr(report, "MAX_ROWS", 19)
    monkeypatch.setattr(report, "PARALLEL_ROWS", 1)

    def unreadable(*args: Any) -> Any:
        raise OSError("disk I/O error")

    monkeypatch.setattr(report, "previous_totals", unreadable)
    with pytest.raises(OSError, match="disk I/O error"):
        write_report(db, tmp_path / "consolidated.xlsx")
    assert list(tmp_path.glob("consolidated*")) == []


@pytest.mark.parametrize("broken", ["write_reviews", "previous_totals"])
def test_a_failure_in_the_process_alongside_fails_the_report_and_leaves_nothing(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """The forked process fails while writing the side file (half written), or the report's own process fails
    while the side file is being written, working out the past round's totals."""
    db = merged(cycle)
    monkeypatch.setattr(report, "MAX_ROWS", 19)
    monkeypatch.setattr(report, "PARALLEL_ROWS", 1)
    works = getattr(report, broken)

    def works_then_fails(*args: Any, **kwargs: Any) -> Any:
        works(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(report, broken, works_then_fails)
    with pytest.raises(OSError, match="disk full"):
        write_report(db, tmp_path / "consolidated.xlsx")
    assert list(tmp_path.glob("consolidated*")) == []


def test_a_large_round_lists_only_its_flagged_items_in_the_breakdown(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "DETAIL_ALL_ROWS", 5)  # the cycle's round has 6 cells
    summary, book = written(cycle, tmp_path)
    rows = list(book["指标明细"].iter_rows(values_only=True))
    assert str(rows[0][0]).startswith("本轮共 6 个指标项，超过 5 项：本表只列出有标记的项")
    assert rows[1][0] == "类型"
    assert [(r[1], r[3], r[12]) for r in rows[2:]] == [("S2", "A2", "评分分歧")]
    assert len(side_rows(summary.side_files[0])) == 1 + 18  # every review is still in the side file


def test_the_report_tells_its_progress_review_by_review(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "PROGRESS_ROWS", 5)
    seen: list[tuple[int, int]] = []
    summary = write_report(merged(cycle), tmp_path / "consolidated.xlsx",
                           on_progress=lambda done, total: seen.append((done, total)))
    assert summary.reviews == 18
    assert seen == [(5, 18), (10, 18), (15, 18), (18, 18)]  # every PROGRESS_ROWS reviews and at the last one


# ------------------------------------------------------------------------------- what the merge stored


def test_the_report_reads_the_stored_consolidation_and_does_not_recompute_the_round(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = merged(cycle)
    from workbench.consolidation import stored

    def no_recompute(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report recomputed the round")

    monkeypatch.setattr(stored, "iter_consolidation", no_recompute)
    with sqlite3.connect(db) as conn:  # what the merge stored is what the report shows, even when changed
        conn.execute("UPDATE totals SET total = '77.7' WHERE target_id = 'S1'")
        conn.execute("UPDATE consolidated SET exact = '41/5' WHERE target_id = 'S1' AND indicator = 'A1' "
                     "AND round = '2022'")
    book = openpyxl.load_workbook(write_report(db, tmp_path / "consolidated.xlsx").path)
    totals = {row[2].value: row for row in book["总分排名"].iter_rows(min_row=2)}
    assert totals["S1"][5].value == 77.7 and totals["S1"][0].value == 1  # ranked on the stored totals
    breakdown = {(row[1].value, row[3].value): row for row in book["指标明细"].iter_rows(min_row=2)}
    assert breakdown[("S1", "A1")][5].value == 8.2


def test_a_stale_consolidation_is_brought_up_to_date_before_the_report(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    db = merged(cycle)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE totals SET total = '77.7' WHERE target_id = 'S1'")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('consolidation_stale_since', 'now')")
    book = openpyxl.load_workbook(write_report(db, tmp_path / "consolidated.xlsx").path)
    totals = {row[2].value: row for row in book["总分排名"].iter_rows(min_row=2)}
    assert totals["S1"][5].value == 19  # recomputed from the merged scores, not the stale row


def test_the_long_per_review_sheet_is_in_the_workbook_when_it_fits(cycle: dict[str, Path], tmp_path: Path) -> None:
    summary, book = written(cycle, tmp_path)
    sheet = book["逐条评分"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header == REVIEW_COLUMNS and len(rows) == summary.reviews == 18
    assert sheet.auto_filter.ref == "A1:K19" and sheet.print_title_rows == "$1:$1"
    side = side_rows(summary.side_files[0])[1:]
    assert [r[:7] for r in rows] == [tuple(r[:7]) for r in side]  # the same rows as the side file, in order
    got = {(r[2], r[4], r[6]): r for r in rows}
    for leaf, by_site in VALUES.items():
        for site, values in by_site.items():
            for n, reviewer in enumerate(REVIEWERS):
                row = got[(site, leaf, reviewer)]
                # numbers to pivot on, not texts: the value and the consolidated value beside it
                assert isinstance(row[7], (int, float)) and Decimal(str(row[7])) == Decimal(values[n])
                assert isinstance(row[10], (int, float))
                assert Decimal(str(row[10])) == round(middle(values), 2)
    # shown as everywhere else: a reviewer's value at its step's places, the consolidated one at 得分小数位
    by_leaf = {r[4].value: r for r in sheet.iter_rows(min_row=2)}
    assert by_leaf["A1"][7].number_format == "0.0" and by_leaf["A1"][10].number_format == "0.00"


def test_the_long_sheet_is_left_out_when_it_would_pass_the_limit(
    cycle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "MAX_ROWS", 19)  # 18 reviews and the header would reach it
    summary, book = written(cycle, tmp_path)
    assert "逐条评分" not in book.sheetnames and summary.reviews == 18
    about = [row[1] for row in book["说明"].iter_rows(values_only=True) if row[0] == "逐条评分（CSV）"]
    assert "工作簿中不列出" in str(about[0])


def test_a_note_a_spreadsheet_would_run_is_a_string_in_the_long_sheet(cycle: dict[str, Path], tmp_path: Path) -> None:
    store = Store.open(cycle["R1"], expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S1", "A1", note='=HYPERLINK("http://x","y")')
    store.close()
    again = export_package(cycle["R1"], tmp_path / "R1-2.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    db = merged(cycle)
    assert merge_exports(db, [again]).merged
    path = write_report(db, tmp_path / "consolidated.xlsx").path
    with zipfile.ZipFile(path) as z:
        names = {n for n in z.namelist() if n.startswith("xl/worksheets/sheet")}
        assert not any("<f>" in z.read(n).decode() for n in names)  # no formula anywhere
    sheet = openpyxl.load_workbook(path)["逐条评分"]
    notes = [row[8] for row in sheet.iter_rows(min_row=2, values_only=True) if row[8]]
    assert notes == ['=HYPERLINK("http://x","y")']
