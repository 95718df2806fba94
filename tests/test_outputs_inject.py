"""Attacks through what the coordinator's outputs show: hostile names, notes and file names must never become a
formula in the report or a CSV, nor a control sequence on the terminal."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest_tools import convert_with_libreoffice
from support import write_csv

from workbench.cli.main import cli
from workbench.cli.output import json_text, render, terminal_text
from workbench.consolidation.csvout import csv_field
from workbench.model import TargetKind
from workbench.setup.package import make_package
from workbench.setup.round import SetupFiles, init_round
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key
from workbench.signed.keys import generate_secret_key, write_secret_key
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE

PASS = "injection test passphrase"
REVIEWERS = ("R1", "R2", "R3")
LEAVES = ("A1", "A2", "B1")

FORMULAS = (
    "=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tX", "\rX", "#N/A",
)
TERMINAL = ("\x1b]0;pwned\x07", "\x9b2J\x85清屏", "\x1b[31m红\x1b[0m\u2028")
EMBEDDED = ("栏目空白\r=1+1",)  # a CSV reader starting a row at the CR would find a formula there
HOSTILE = FORMULAS + TERMINAL + EMBEDDED
SITES = {f"S{n}": text for n, text in enumerate(HOSTILE, 1)}
# A spreadsheet runs these at once; the others it would take as formulas when the cell is edited.
RAW_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # everything a terminal acts on but newline
FORMULA_CELL = re.compile(rb"<(?:\w+:)?f[\s>/]")


def shifted(n: int) -> str:
    return HOSTILE[n % len(HOSTILE)]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A merged round whose every name, note and export file name is an attack; merged and reported once."""
    tmp = tmp_path_factory.mktemp("hostile")
    files = SetupFiles(
        indicators=write_csv(tmp / "indicators.csv", "代码,上级,名称,类型,分值,步长,适用\nA,,基础,,,,\n"
                             "A1,A,信息发布,评分,10,1,网站\nA2,A,互动交流,评分,10,1,网站\nB,,创新,,,,\n"
                             "B1,B,创新实践,加分,5,1,网站\n"),
        sites=write_csv(tmp / "sites.csv", "编号,名称,地区\n" + "".join(f"{s},网站{s},广东\n" for s in SITES)),
        cases=write_csv(tmp / "cases.csv", "编号,标题,申报单位,地区,领域\nC1,案例,单位,北京,政务\n"),
        reviewers=write_csv(tmp / "reviewers.csv", "编号,姓名,单位\n" + "".join(f"{r},专家,单位\n" for r in REVIEWERS)),
        assignments=write_csv(tmp / "assignments.csv", "评审专家,对象类型,对象编号\n" + "".join(
            f"{r},网站,{s}\n" for r in REVIEWERS for s in SITES)),
        rules=write_csv(tmp / "rules.csv", "规则,值\n等级,优秀:18;良好:12;合格:0\n分歧阈值,0.2\n"),
    )
    db = tmp / "round.db"
    init_round(db, "2022", files)
    # The hostile texts go in behind the set-up checks, as data already at rest in a round would be.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE rounds SET name = ?", (FORMULAS[1],))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'round_name'", (FORMULAS[1],))
        for n, (site, name) in enumerate(SITES.items()):
            conn.execute("UPDATE sites SET name = ?, region = ?, level = ?, url = ? WHERE id = ?",
                         (name, shifted(n + 1), shifted(n + 2), shifted(n + 3), site))
            conn.execute("UPDATE search_keys SET name = ? WHERE kind = 'site' AND id = ?", (name, site))
        conn.execute("UPDATE cases SET title = ?, government = ?, region = ?, area = ? WHERE id = 'C1'", FORMULAS[:4])
        conn.execute("UPDATE search_keys SET name = ? WHERE kind = 'case' AND id = 'C1'", (FORMULAS[0],))
        for n, reviewer in enumerate(REVIEWERS):
            conn.execute("UPDATE reviewers SET name = ?, org = ? WHERE id = ?", (shifted(n), shifted(n + 4), reviewer))
        for n, code in enumerate(("A", "B", *LEAVES)):
            conn.execute("UPDATE indicators SET name = ? WHERE code = ?", (shifted(n + 7), code))
        conn.execute("UPDATE rules SET value = ? WHERE key = (SELECT key FROM rules WHERE value LIKE '优秀:%')",
                     (f"{FORMULAS[0]}:18;{FORMULAS[2]}:12;{FORMULAS[7]}:0",))
    conn.close()

    export_names = {"R1": '=HYPERLINK("x.cmd","y").xlsx', "R2": "@SUM(A1)\x9b2J.xlsx", "R3": "\x1b]0;pwned\x07.xlsx"}
    exports = []
    for n, reviewer in enumerate(REVIEWERS):
        secret = generate_secret_key()
        write_secret_key(tmp / f"{reviewer}.key", secret, PASS, scrypt_n=2**10)
        add_key(db, reviewer, secret.public.line)
        package = make_package(db, reviewer, tmp / f"{reviewer}.wbk").path
        store = Store.open(package, expect=KIND_PACKAGE)
        for m, site in enumerate(SITES):
            for leaf in LEAVES:  # R3 far off on A1: a dispute naming the hostile sites and indicators
                value = Decimal(2 if leaf == "A1" and reviewer == "R3" else 4 + (m + n) % 2)
                store.set_score(TargetKind.SITE, site, leaf, value, note=shifted(m + n), evidence=shifted(m + n + 5))
        store.close()
        exports.append(export_package(package, tmp / export_names[reviewer], key_file=tmp / f"{reviewer}.key",
                                      passphrase=PASS).path)
    runner = CliRunner()
    merged = runner.invoke(cli, ["merge", str(db), *map(str, exports)])
    assert merged.exit_code == 0, merged.output
    report = tmp / "report.xlsx"
    reported = runner.invoke(cli, ["report", str(db), "-o", str(report)])
    assert reported.exit_code == 0, reported.output
    verified = runner.invoke(cli, ["verify", str(exports[2]), "--keyring", str(db)])
    assert verified.exit_code == 0, verified.output
    return {"tmp": tmp, "db": db, "package": tmp / "R1.wbk", "report": report,
            "printed": [merged.output, reported.output, verified.output]}


def run(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def worksheet_xml(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")}


def as_stored(text: str) -> str:
    """What a worksheet can hold of a text: without the controls XML 1.0 forbids, CR read back as a line end."""
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text).replace("\r", "\n")


# ------------------------------------------------------------------------------------------------ report


def test_no_report_cell_is_a_formula_and_every_hostile_text_reads_back_as_text(hostile: dict[str, Any]) -> None:
    import openpyxl

    book = openpyxl.load_workbook(hostile["report"])
    texts: dict[str, set[str]] = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type not in ("f", "e"), f"{sheet.title}!{cell.coordinate} {cell.value!r}"
                if isinstance(cell.value, str):
                    texts.setdefault(sheet.title, set()).add(cell.value)
                    if cell.value.startswith(("=", "+", "-", "@", "\t")) or cell.value == "#N/A":
                        assert cell.data_type == "s" and cell.quotePrefix, f"{sheet.title}!{cell.coordinate}"
    expected = {as_stored(t) for t in HOSTILE}
    assert expected <= texts["总分排名"]  # the site names, and their regions
    assert expected <= texts["指标明细"]
    assert {as_stored(shifted(n)) for n in range(3)} <= texts["评审专家"]
    assert as_stored(shifted(7)) in texts["争议复核"] and as_stored(shifted(10)) in texts["一致性"]
    assert {FORMULAS[0], FORMULAS[2], FORMULAS[7]} <= texts["图表"]  # the grade labels
    assert {FORMULAS[1], '=HYPERLINK("x.cmd","y").xlsx', "@SUM(A1)\x9b2J.xlsx", "]0;pwned.xlsx"} <= texts["说明"]
    assert not any(FORMULA_CELL.search(xml) for xml in worksheet_xml(hostile["report"]).values())


def test_libreoffice_opens_the_report_and_saves_it_back_without_a_formula(
    hostile: dict[str, Any], tmp_path: Path,
) -> None:
    resaved = convert_with_libreoffice(hostile["report"], tmp_path / "lo")
    sheets = worksheet_xml(resaved)
    assert len(sheets) == 9  # 逐条评分 included: the hostile names and notes are in it too
    for name, xml in sheets.items():
        assert not FORMULA_CELL.search(xml), f"{name} holds a formula after LibreOffice re-saved the report"
    from workbench.signed.worksheet import read_sheets

    names = {row[3] for sheet in read_sheets(resaved) if sheet.name == "总分排名" for row in sheet.cells[1:]}
    assert {as_stored(t) for t in FORMULAS if not t.startswith("\r")} <= names
    long_names = {row[3] for sheet in read_sheets(resaved) if sheet.name == "逐条评分" for row in sheet.cells[1:]}
    assert {as_stored(t) for t in FORMULAS if not t.startswith("\r")} <= long_names


# --------------------------------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(("text", "shown"), [
    ("-3.5", "-3.5"), ("0", "0"), ("12.50", "12.50"), ("-3 分：栏目空白", "'-3 分：栏目空白"), ("-", "'-"),
    ("+5", "'+5"), ("-1e5", "'-1e5"), ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\rX", "'\nX"), ("a\r=1+1", "a\n=1+1"), ("a\r\nb", "a\nb"), ("a=1", "a=1"), ("#N/A", "#N/A"), ("", ""),
    ("\x1b[2J", "\\x1b[2J"), ("多\n行", "多\n行"),
])
def test_a_csv_field_is_guarded_only_when_a_spreadsheet_would_run_it(text: str, shown: str) -> None:
    assert csv_field(text) == shown


def csv_commands(hostile: dict[str, Any]) -> dict[str, list[str]]:
    db, package = str(hostile["db"]), str(hostile["package"])
    return {"scores-round": ["scores", db, "S1", "--format", "csv"],
            "scores-package": ["scores", package, "S2", "--format", "csv"],
            "sites": ["sites", db, "--format", "csv"], "cases": ["cases", db, "--format", "csv"]}


def test_no_csv_field_starts_a_formula_and_each_reads_back_as_the_original(hostile: dict[str, Any]) -> None:
    seen: set[str] = set()
    for args in csv_commands(hostile).values():
        out, _ = run(*args)
        for row in csv.reader(io.StringIO(out)):
            for field in row:
                assert not field.startswith(("=", "+", "-", "@", "\t", "\r")) or re.fullmatch(r"-?\d+(\.\d+)?", field)
                seen.add(field[1:] if field.startswith("'") else field)
    # site names, regions, notes: all there, each behind its quote, CR as a newline
    assert {t.replace("\r", "\n") for t in (*FORMULAS, *EMBEDDED)} <= seen


def test_libreoffice_imports_the_csv_output_without_a_formula(hostile: dict[str, Any], tmp_path: Path) -> None:
    control = tmp_path / "control.csv"
    control.write_text("名称\n=1+1\n", encoding="utf-8")
    assert FORMULA_CELL.search(worksheet_xml(convert_with_libreoffice(control, tmp_path / "lo"))[
        "xl/worksheets/sheet1.xml"]), "LibreOffice no longer runs CSV formulas: this test would prove nothing"
    combined = tmp_path / "outputs.csv"
    with combined.open("w", encoding="utf-8") as fh:
        for args in csv_commands(hostile).values():
            fh.write(run(*args)[0] + "\n")
    for name, xml in worksheet_xml(convert_with_libreoffice(combined, tmp_path / "lo")).items():
        assert not FORMULA_CELL.search(xml), f"{name}: LibreOffice made a formula of a CSV field"


# ---------------------------------------------------------------------------------------------- terminal


def test_json_output_escapes_every_control_and_still_reads_back(hostile: dict[str, Any]) -> None:
    out, _ = run("sites", str(hostile["db"]), "--format", "json")
    assert not RAW_CONTROLS.search(out) and "\u2028" not in out
    assert {site["name"] for site in json.loads(out)} == set(HOSTILE)
    out, _ = run("scores", str(hostile["package"]), "S9", "--format", "json")
    assert not RAW_CONTROLS.search(out)
    assert {r["note"] for r in json.loads(out)} == {shifted(8)}
    out, _ = run("status", str(hostile["db"]), "--format", "json")
    assert not RAW_CONTROLS.search(out) and "\u2028" not in out
    assert json.loads(json_text({"a": "\x85\u2028\x7f\x1b"})) == {"a": "\x85\u2028\x7f\x1b"}


def test_table_output_and_messages_show_controls_escaped(hostile: dict[str, Any]) -> None:
    db, package = str(hostile["db"]), str(hostile["package"])
    printed = list(hostile["printed"])
    for args in (["sites", db], ["cases", db], ["status", db], ["scores", db, "S9"], ["scores", package, "S10"],
                 ["scores", db, "S1", "--format", "csv"]):
        printed.extend(run(*args))
    for text in printed:
        assert not RAW_CONTROLS.search(text), repr(RAW_CONTROLS.search(text))
    everything = "\n".join(printed)
    assert "\\x1b]0;pwned\\x07" in everything  # the site name S9, and R3's export file in the merge output
    assert "\\x1b]0;pwned\\x07.xlsx" in hostile["printed"][0]
    assert "\\x9b2J\\x85清屏" in everything and "\\x09X" in everything


def test_terminal_text_escapes_c0_del_c1_keeping_newlines_only_in_messages() -> None:
    assert terminal_text("a\x1b[2J\x07\x7f\x9b\tb\nc") == "a\\x1b[2J\\x07\\x7f\\x9b\\x09b\\x0ac"
    assert terminal_text("第一行\n\x1b第二行", multiline=True) == "第一行\n\\x1b第二行"
    assert terminal_text(terminal_text("\x1b")) == "\\x1b"  # escaping twice changes nothing more
    table = render(["名称"], [["\x1b]0;x\x07"]], "table")
    assert table.splitlines()[2] == "\\x1b]0;x\\x07"


def test_a_refusal_quoting_a_hostile_path_shows_it_escaped(hostile: dict[str, Any], tmp_path: Path) -> None:
    taken = tmp_path / "\x1b]0;pwned\x07.xlsx"
    taken.write_bytes(b"the coordinator's own edits")
    result = CliRunner().invoke(cli, ["report", str(hostile["db"]), "-o", str(taken)])
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert not RAW_CONTROLS.search(result.stderr) and "\\x1b]0;pwned\\x07.xlsx" in result.stderr


# -------------------------------------------------------------------------------- the reviewer's worksheets


def test_libreoffice_opens_the_worksheets_a_reviewer_writes_without_a_formula(
    hostile: dict[str, Any], tmp_path: Path
) -> None:
    """The signed export and the blank worksheet carry the hostile names, notes and links as text."""
    package = hostile["package"]
    blank = export_package(package, tmp_path / "blank.xlsx", key_file=None, passphrase=None, blank=True).path
    signed = export_package(package, tmp_path / "signed.xlsx", key_file=hostile["tmp"] / "R1.key",
                            passphrase=PASS).path
    for written in (blank, signed):
        assert not any(FORMULA_CELL.search(xml) for xml in worksheet_xml(written).values()), written.name
        resaved = convert_with_libreoffice(written, tmp_path / f"lo-{written.stem}")
        found = {name for name, xml in worksheet_xml(resaved).items() if FORMULA_CELL.search(xml)}
        assert not found, f"{written.name} holds formulas after LibreOffice opened it: {found}"
