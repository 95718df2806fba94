"""Attacks on the set-up files: init and import-results refuse each hostile or misleading file with its place
(file:row:column and sites.xlsx!C3 (地区)), exit 1 without a traceback, and write or change nothing."""

from __future__ import annotations

import datetime
import os
import re
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet.worksheet import Worksheet
from support import ROOT, SETUP_REVIEWERS, SETUP_SITES, write_csv

from workbench.cli.main import cli
from workbench.errors import InputRefused
from workbench.setup import tables
from workbench.setup.results import import_results
from workbench.setup.round import SetupFiles, init_round
from workbench.store.db import Store

INDICATORS = """
代码,上级,名称,类型,分值,步长,适用,可不适用,说明
A,,信息公开,,,,,,
A1,A,政策发布,评分,10,0.5,网站,否,
A2,A,互动交流,评分,10,1,全部,是,
"""
SITES = SETUP_SITES
CASES = """
编号,标题,申报单位,地区,领域,简介
C1,“粤商通”平台,广东省政务服务数据管理局,广东,经济调节,一站式服务。
"""
REVIEWERS = SETUP_REVIEWERS
ASSIGNMENTS = """
评审专家,对象类型,对象编号
R1,网站,S1
R2,网站,S1
R2,网站,S2
R1,案例,C1
"""
TEXTS = {"indicators": INDICATORS, "sites": SITES, "cases": CASES, "reviewers": REVIEWERS,
         "assignments": ASSIGNMENTS}
RESULTS = """
对象类型,对象编号,指标代码,得分
网站,S1,A1,9.5
网站,S2,A2,8
"""
BOMB_LIMIT = 2 << 30  # address space of the subprocess that meets the dimension bomb


def rows_of(text: str) -> list[list[object]]:
    return [list[object](line.split(",")) for line in text.strip().splitlines()]


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], edit: Callable[[Worksheet], None] | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    for row in rows:
        sheet.append(list(row))
    if edit is not None:
        edit(sheet)
    book.save(path)
    return path


def edit_part(path: Path, change: Callable[[str], str], part: str = "xl/worksheets/sheet1.xml") -> Path:
    """Rewrite one part of an .xlsx in place, as an attacker with a text editor and zip would."""
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    members[part] = change(members[part].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def set_cell_xml(ref: str, cell: str) -> Callable[[str], str]:
    """Replace the cell `ref` of a sheet written by openpyxl by the given <c> element."""
    def change(xml: str) -> str:
        new, count = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', cell, xml)
        assert count == 1, xml
        return new
    return change


def setup(tmp_path: Path, **override: str | Path) -> SetupFiles:
    """The small round's files as csv, with some replaced by csv text or by a file already written."""
    paths: dict[str, Path] = {}
    for name, text in {**TEXTS, **override}.items():
        paths[name] = text if isinstance(text, Path) else write_csv(tmp_path / f"{name}.csv", text)
    return SetupFiles(**paths)


def refused(tmp_path: Path, **override: str | Path) -> list[str]:
    db = tmp_path / "r.db"
    with pytest.raises(InputRefused) as info:
        init_round(db, "2022", setup(tmp_path, **override))
    assert not db.exists(), "a refused round must write nothing"
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.db*"))
    return [str(p) for p in info.value.problems]


def at(problems: list[str], place: str) -> list[str]:
    """The problems located at `place` (its file:row:column and Excel reference)."""
    return [p for p in problems if p.startswith(place + ": ")]


def init_args(db: Path, files: SetupFiles) -> list[str]:
    args = ["init", str(db), "--round", "2022"]
    for name in ("indicators", "sites", "cases", "reviewers", "assignments"):
        args += [f"--{name}", str(getattr(files, name))]
    return args


def limited_run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m workbench …` with its address space held to BOMB_LIMIT: a regression fails, not the machine."""

    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        cap = BOMB_LIMIT if hard == resource.RLIM_INFINITY else min(BOMB_LIMIT, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, timeout=60,
                          preexec_fn=limit, env=env, cwd=ROOT)


def dimension_bomb(path: Path, header: list[object], row: list[object]) -> Path:
    """An honest table whose sheet claims, and reaches, XFD1048576: calamine would allocate ~512 GiB."""
    write_xlsx(path, [header, row])

    def claim(xml: str) -> str:
        xml, count = re.subn(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
        assert count == 1
        cell = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace("</sheetData>", cell + "</sheetData>")

    return edit_part(path, claim)


# --- files that would crash the reader ---------------------------------------------------------------


def test_a_dimension_bomb_is_refused_by_init_within_2_gib(tmp_path: Path) -> None:
    bomb = dimension_bomb(tmp_path / "sites.xlsx", ["编号", "名称"], ["S1", "深圳"])
    db = tmp_path / "r.db"
    done = limited_run(init_args(db, setup(tmp_path, sites=bomb)))
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.startswith("错误 / error: ") and "Traceback" not in done.stderr
    assert "\nsites.xlsx: " in done.stderr and "1048576" in done.stderr
    assert "reviewer" not in done.stderr, "the advice is the coordinator's, not the reviewer's"
    assert not db.exists()


def test_a_dimension_bomb_is_refused_by_import_results_within_2_gib(tmp_path: Path) -> None:
    db = tmp_path / "round.db"
    init_round(db, "2022", setup(tmp_path))
    before = db.read_bytes()
    bomb = dimension_bomb(tmp_path / "results.xlsx", ["对象类型", "对象编号", "指标代码", "得分"],
                          ["网站", "S1", "A1", 9.5])
    done = limited_run(["import-results", str(db), str(bomb), "--round", "2021"])
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.startswith("错误 / error: ") and "Traceback" not in done.stderr
    assert "\nresults.xlsx: " in done.stderr and "1048576" in done.stderr
    assert db.read_bytes() == before


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: p.write_text("编号,名称\nS1,深圳\n", encoding="utf-8"), id="csv-renamed"),
    pytest.param(lambda p: p.write_bytes(b""), id="empty"),
    pytest.param(lambda p: p.write_bytes(
        write_xlsx(p, rows_of(SITES)).read_bytes()[:300]), id="truncated"),
    pytest.param(lambda p: edit_part(write_xlsx(p, rows_of(SITES)), lambda x: x.replace(
        "spreadsheetml.sheet.main+xml", "ms-excel.sheet.macroEnabled.main+xml"), "[Content_Types].xml"),
        id="macro-enabled"),
    pytest.param(lambda p: edit_part(write_xlsx(p, rows_of(SITES)), lambda x: x.replace(
        "<worksheet", '<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet', 1)), id="doctype"),
])
def test_what_the_hostile_file_check_refuses_is_a_located_set_up_problem(
    tmp_path: Path, make: Callable[[Path], object]
) -> None:
    sites = tmp_path / "sites.xlsx"
    make(sites)
    problems = refused(tmp_path, sites=sites)
    assert len(problems) == 1 and problems[0].startswith("sites.xlsx: "), problems
    assert ".xlsx" in problems[0] and "reviewer" not in problems[0] and "评审专家" not in problems[0]


def test_a_pipe_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block for ever
    files = setup(tmp_path, sites=fifo)
    with pytest.raises(InputRefused, match="不是普通文件"):
        init_round(tmp_path / "r.db", "2022", files)


def test_a_csv_beyond_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_CSV_BYTES", 4096)  # the other files are smaller
    problems = refused(tmp_path, sites=SITES + "".join(f"S{n},某市,某省,省级,\n" for n in range(3, 300)))
    assert len(problems) == 1 and problems[0].startswith("sites.csv: ") and "4096 bytes" in problems[0], problems


def test_a_gbk_csv_is_refused_with_what_to_save_it_as(tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_bytes(SITES.strip().encode("gbk"))
    problems = refused(tmp_path, sites=sites)
    assert problems == [problems[0]] and problems[0].startswith("sites.csv: ")
    assert "第 1 行" in problems[0] and "CSV UTF-8" in problems[0]


# --- cells a spreadsheet shows otherwise than it stores ------------------------------------------------


def test_a_merged_region_is_refused_at_the_cell_it_empties(tmp_path: Path) -> None:
    def merge(sheet: Worksheet) -> None:
        sheet.merge_cells("C2:C3")  # 北京's 地区 would read empty: no region conflict check for it

    sites = write_xlsx(tmp_path / "sites.xlsx", rows_of(SITES), merge)
    problems = refused(tmp_path, sites=sites)
    [problem] = at(problems, "sites.xlsx:3:3: sites.xlsx!C3 (地区)")
    assert "C2:C3" in problem and "取消合并" in problem and "unmerge" in problem
    assert len(problems) == 1, problems


def test_a_horizontal_merge_over_a_read_column_is_refused(tmp_path: Path) -> None:
    rows = [["编号", "备注", "姓名", "单位", "地区"], ["R1", "外聘", "王一", "清华大学", "北京"],
            ["R2", "外聘", "李二", "复旦大学", "上海"]]
    reviewers = write_xlsx(tmp_path / "reviewers.xlsx", rows, lambda s: s.merge_cells("B3:C3"))
    problems = refused(tmp_path, reviewers=reviewers)
    assert at(problems, "reviewers.xlsx:3:3: reviewers.xlsx!C3 (姓名)"), problems


def test_merged_header_cells_are_refused(tmp_path: Path) -> None:
    rows = rows_of(SITES)
    rows[0][3] = None  # 地区 spread over 地区 and 层级: whose header is it?
    problems = refused(tmp_path, sites=write_xlsx(tmp_path / "sites.xlsx", rows, lambda s: s.merge_cells("C1:D1")))
    [problem] = at(problems, "sites.xlsx:1:3: sites.xlsx!C1 (地区)")
    assert "C1:D1" in problem and "表头" in problem


def test_true_in_the_points_column_is_refused_not_read_as_1(tmp_path: Path) -> None:
    rows = rows_of(INDICATORS)
    rows[2][4] = True
    problems = refused(tmp_path, indicators=write_xlsx(tmp_path / "indicators.xlsx", rows))
    assert problems == at(problems, "indicators.xlsx:3:5: indicators.xlsx!E3 (分值)"), problems
    assert "TRUE" in problems[0] and "逻辑值" in problems[0]


@pytest.mark.parametrize("cached", [False, True], ids=["formula", "formula-with-cached-value"])
def test_a_formula_is_refused_where_it_is_not_as_an_empty_cell(tmp_path: Path, cached: bool) -> None:
    rows = rows_of(SITES)
    rows[1][2] = '="广"&"东"'
    sites = write_xlsx(tmp_path / "sites.xlsx", rows)
    if cached:  # as Excel saves it: the formula and the value it last showed
        edit_part(sites, set_cell_xml("C2", '<c r="C2" t="str"><f>"广"&amp;"东"</f><v>广东</v></c>'))
    # 名称 is required, and a formula's value read as empty: it was called missing instead of a formula
    problems = refused(tmp_path, sites=edit_part(sites, set_cell_xml(
        "B2", '<c r="B2" t="str"><f>UPPER("x")</f><v></v></c>')))
    for place in ("sites.xlsx:2:3: sites.xlsx!C2 (地区)", "sites.xlsx:2:2: sites.xlsx!B2 (名称)"):
        [problem] = at(problems, place)
        assert "公式" in problem and "formula" in problem
    assert len(problems) == 2, problems


def test_an_error_value_is_refused_although_calamine_reads_it_as_empty(tmp_path: Path) -> None:
    sites = edit_part(write_xlsx(tmp_path / "sites.xlsx", rows_of(SITES)),
                      set_cell_xml("C3", '<c r="C3" t="e"><v>#N/A</v></c>'))
    problems = refused(tmp_path, sites=sites)
    [problem] = at(problems, "sites.xlsx:3:3: sites.xlsx!C3 (地区)")
    assert "#N/A" in problem and "错误值" in problem


def test_an_error_value_typed_into_a_csv_is_refused(tmp_path: Path) -> None:
    problems = refused(tmp_path, indicators=INDICATORS.replace("10,0.5", "#DIV/0!,0.5"))
    [problem] = at(problems, "indicators.csv:3:5: indicators.csv!E3 (分值)")
    assert "#DIV/0!" in problem and len(problems) == 1


def test_a_date_excel_made_of_an_id_is_refused(tmp_path: Path) -> None:
    rows = rows_of(SITES)
    rows[2][0] = datetime.datetime(2022, 3, 1)  # someone typed 3-1
    problems = refused(tmp_path, sites=write_xlsx(tmp_path / "sites.xlsx", rows))
    [problem] = at(problems, "sites.xlsx:3:1: sites.xlsx!A3 (编号)")
    assert "日期" in problem and "2022-03-01" in problem


def test_a_hidden_first_sheet_is_refused(tmp_path: Path) -> None:
    def hide(sheet: Worksheet) -> None:
        assert sheet.parent is not None
        shown = sheet.parent.create_sheet("看得见的")
        for row in rows_of(SITES):
            shown.append(row)
        sheet.sheet_state = "hidden"

    problems = refused(tmp_path, sites=write_xlsx(tmp_path / "sites.xlsx", [["编号", "名称"], ["X9", "旧"]], hide))
    assert len(problems) == 1 and problems[0].startswith("sites.xlsx: ") and "隐藏" in problems[0]


# --- ids that collide, and text that hides characters -------------------------------------------------


@pytest.mark.parametrize("twin", ["s1", "Ｓ1", "S１", "S1\u200b"],
                         ids=["case", "full-width", "full-width-digit", "zwsp"])
def test_ids_that_collide_after_nfkc_and_case_folding_are_refused(tmp_path: Path, twin: str) -> None:
    problems = refused(tmp_path, sites=SITES + f"{twin},深圳另一个,广东,重点城市,\n")
    [problem] = at(problems, "sites.csv:4:1: sites.csv!A4 (编号)")
    if "\u200b" in twin:
        assert "U+200B" in problem and "\u200b" not in problem
    else:
        assert "sites.csv:2:1" in problem and "同一个编号" in problem and "same id" in problem


@pytest.mark.parametrize(("name", "text", "place"), [
    ("indicators", INDICATORS + "a1,A,重复,评分,1,1,网站,否,\n", "indicators.csv:5:1: indicators.csv!A5 (代码)"),
    ("reviewers", REVIEWERS + "ｒ1,王三,北京大学,北京\n", "reviewers.csv:4:1: reviewers.csv!A4 (编号)"),
    ("cases", CASES + "c1,另一个,某局,广东,经济调节,\n", "cases.csv:3:1: cases.csv!A3 (编号)"),
], ids=["indicator-code", "reviewer-id", "case-id"])
def test_every_id_column_folds_alike(tmp_path: Path, name: str, text: str, place: str) -> None:
    problems = refused(tmp_path, **{name: text})
    assert any("同一个编号" in p for p in at(problems, place)), problems


def test_a_reference_that_differs_only_in_case_or_width_names_the_id_it_resembles(tmp_path: Path) -> None:
    problems = refused(tmp_path, assignments=ASSIGNMENTS + "r2,网站,Ｓ2\nR1,网站,s2\n",
                       indicators=INDICATORS + "A3,ａ,其他,评分,5,1,网站,否,\n")
    [reviewer] = at(problems, "assignments.csv:6:1: assignments.csv!A6 (评审专家)")
    assert "「r2」" in reviewer and "「R2」" in reviewer and "reviewers.csv" in reviewer
    [site] = at(problems, "assignments.csv:6:3: assignments.csv!C6 (对象编号)")
    assert "「S2」" in site and "sites.csv" in site
    assert at(problems, "assignments.csv:7:3: assignments.csv!C7 (对象编号)")
    [parent] = at(problems, "indicators.csv:5:2: indicators.csv!B5 (上级)")
    assert "「A」" in parent


def test_imported_results_must_name_this_rounds_ids_exactly(tmp_path: Path) -> None:
    db = tmp_path / "round.db"
    init_round(db, "2022", setup(tmp_path))
    before = db.read_bytes()
    results = write_csv(tmp_path / "r2021.csv", RESULTS + "网站,s1,A2,7\n网站,S2,a1,7\n")
    with pytest.raises(InputRefused) as info:
        import_results(db, results, "2021")
    problems = [str(p) for p in info.value.problems]
    assert any("「S1」" in p for p in at(problems, "r2021.csv:4:2: r2021.csv!B4 (对象编号)")), problems
    assert any("「A1」" in p for p in at(problems, "r2021.csv:5:3: r2021.csv!C5 (指标代码)")), problems
    assert db.read_bytes() == before


def test_an_unknown_reference_says_what_to_do(tmp_path: Path) -> None:
    problems = refused(tmp_path, assignments=ASSIGNMENTS + "R9,网站,S1\n")
    [problem] = at(problems, "assignments.csv:6:1: assignments.csv!A6 (评审专家)")
    assert "「R9」" in problem and "reviewers.csv 中添加" in problem and "add the reviewer to reviewers.csv" in problem


INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
             "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\x00", "\x07", "\x1b", "\x7f"]


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(("name", "text", "old", "place"), [
    ("sites", SITES, "北京市", "sites.csv:3:2: sites.csv!B3 (名称)"),
    ("cases", CASES, "“粤商通”平台", "cases.csv:2:2: cases.csv!B2 (标题)"),
    ("reviewers", REVIEWERS, "复旦大学", "reviewers.csv:3:3: reviewers.csv!C3 (单位)"),
    ("indicators", INDICATORS, "A2,A", "indicators.csv:4:1: indicators.csv!A4 (代码)"),
], ids=["site-name", "case-title", "reviewer-org", "indicator-code"])
def test_invisible_and_control_characters_are_refused_in_every_text_field(
    tmp_path: Path, char: str, name: str, text: str, old: str, place: str,
) -> None:
    middle = len(old.partition(",")[0]) // 2 or 1
    problems = refused(tmp_path, **{name: text.replace(old, old[:middle] + char + old[middle:], 1)})
    [problem] = at(problems, place)
    assert f"U+{ord(char):04X}" in problem
    assert char not in "\n".join(problems), "a message never carries the character itself"


def test_a_bidi_override_in_an_xlsx_is_refused_like_in_a_csv(tmp_path: Path) -> None:
    rows = rows_of(REVIEWERS)
    rows[1][2] = "清华\u202e学大"  # shows as 清华大学
    problems = refused(tmp_path, reviewers=write_xlsx(tmp_path / "reviewers.xlsx", rows))
    [problem] = at(problems, "reviewers.xlsx:2:3: reviewers.xlsx!C2 (单位)")
    assert "U+202E" in problem and "双向" in problem


def test_a_header_with_a_hidden_character_is_refused_not_skipped_as_a_note(tmp_path: Path) -> None:
    # 地\u200b区 is no 地区: it would be skipped as a note column, every region empty, no conflict check
    problems = refused(tmp_path, sites=SITES.replace("地区", "地\u200b区"))
    [problem] = at(problems, "sites.csv:1:3: sites.csv!C1 (地\\u200b区)")
    assert "U+200B" in problem


def test_line_breaks_pass_in_a_description_and_are_refused_in_a_name(tmp_path: Path) -> None:
    indicators = INDICATORS.replace("网站,否,", '网站,否,"第一行\n第二行"', 1)
    (tmp_path / "ok").mkdir()
    init_round(tmp_path / "ok" / "r.db", "2022", setup(tmp_path / "ok", indicators=indicators))
    assert Store.open(tmp_path / "ok" / "r.db").indicators()[1].description == "第一行\n第二行"
    problems = refused(tmp_path, sites=SITES.replace("北京市", '"北京\n市"'))
    [problem] = at(problems, "sites.csv:3:2: sites.csv!B3 (名称)")
    assert "U+000A" in problem


# --- every problem located, rules by their row --------------------------------------------------------


def test_a_rules_problem_carries_its_row_and_cell(tmp_path: Path) -> None:
    rules = write_csv(tmp_path / "rules.csv", "规则,值\n及格线,60\n分歧阈值,很大\n等级,A:90;B\n")
    files = SetupFiles(**{**setup(tmp_path).__dict__, "rules": rules})
    with pytest.raises(InputRefused) as info:
        init_round(tmp_path / "r.db", "2022", files)
    problems = [str(p) for p in info.value.problems]
    [spread] = at(problems, "rules.csv:3:2: rules.csv!B3 (值)")
    assert "disagreement_spread" in spread and "很大" in spread
    [bands] = at(problems, "rules.csv:4:2: rules.csv!B4 (值)")
    assert "grade_bands" in bands
    assert not (tmp_path / "r.db").exists()


def test_every_cell_problem_names_both_places(tmp_path: Path) -> None:
    problems = refused(tmp_path, sites=SITES + "S1,重复,广东,省级,\n", assignments=ASSIGNMENTS + "R9,网站,S1\n")
    cells = [p for p in problems if re.match(r"[^:]+:\d+:\d+: ", p)]
    assert cells and all(re.match(r"([^:]+):(\d+):(\d+): \1![A-Z]+\2 \(.+?\): ", p) for p in cells), problems


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_init_refuses_a_misleading_xlsx_with_exit_1_and_no_traceback(tmp_path: Path) -> None:
    sites = write_xlsx(tmp_path / "sites.xlsx", rows_of(SITES), lambda s: s.merge_cells("C2:C3"))
    db = tmp_path / "r.db"
    result = CliRunner().invoke(cli, init_args(db, setup(tmp_path, sites=sites)))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.startswith("错误 / error: ") and "Traceback" not in result.output
    assert "sites.xlsx:3:3: sites.xlsx!C3 (地区): " in result.stderr
    assert not db.exists()


def test_cli_import_results_refuses_a_misleading_xlsx_and_leaves_the_round_alone(tmp_path: Path) -> None:
    db = tmp_path / "round.db"
    init_round(db, "2022", setup(tmp_path))
    before = db.read_bytes()
    rows = rows_of(RESULTS)
    rows[1][3] = True
    results = write_xlsx(tmp_path / "results.xlsx", rows)
    result = CliRunner().invoke(cli, ["import-results", str(db), str(results), "--round", "2021"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "results.xlsx:2:4: results.xlsx!D2 (得分): " in result.stderr
    assert db.read_bytes() == before


# --- honest files still work ------------------------------------------------------------------------------


def test_honest_xlsx_and_csv_set_ups_build_the_same_round(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "xlsx").mkdir()
    init_round(tmp_path / "csv.db", "2022", setup(tmp_path / "csv"))

    def number(text: object) -> object:
        try:
            return float(str(text)) if "." in str(text) else int(str(text))
        except ValueError:
            return text

    def notes(sheet: Worksheet) -> None:  # a coordinator's own column: a formula and a merge, never read
        sheet.cell(1, 20, "备注")
        sheet.cell(2, 20, "=LEN(B2)")
        sheet.merge_cells("T3:U4")

    xlsx: dict[str, str | Path] = {}
    for name, text in TEXTS.items():
        rows = [[number(v) if v else None for v in row] for row in rows_of(text)]
        if name == "indicators":
            rows[3][7] = True  # 可不适用 typed as TRUE: Excel makes it a logical value, read as 是
        xlsx[name] = write_xlsx(tmp_path / "xlsx" / f"{name}.xlsx", rows, notes)
    init_round(tmp_path / "xlsx.db", "2022", setup(tmp_path / "xlsx", **xlsx))
    from_csv, from_xlsx = Store.open(tmp_path / "csv.db"), Store.open(tmp_path / "xlsx.db")
    assert from_xlsx.indicators() == from_csv.indicators()
    assert from_xlsx.sites() == from_csv.sites() and from_xlsx.cases() == from_csv.cases()
    assert from_xlsx.reviewers() == from_csv.reviewers()
    assert from_xlsx.indicators()[2].allow_na
    results = write_xlsx(tmp_path / "results.xlsx", [[number(v) for v in row] for row in rows_of(RESULTS)])
    assert import_results(tmp_path / "xlsx.db", results, "2021").rows == 2
