"""Scoring levels (评分细则): init checks them against the indicator, the round and packages keep them, and the
worksheet offers them on 得分 (the input message, and a dropdown where every value is a level) — which verify
accepts, even after a LibreOffice re-save, and refuses when edited."""

from __future__ import annotations

import re
import shutil
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest_signing import libreoffice_resave
from support import write_csv

from workbench.errors import InputRefused, SignatureError
from workbench.review import ReviewSession
from workbench.scoring.levels import covers_every_value, read_levels
from workbench.setup.package import make_package
from workbench.setup.round import SetupFiles, init_round
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key
from workbench.signed.keys import generate_secret_key, write_secret_key
from workbench.signed.verify import verify_export
from workbench.store.db import Store
from workbench.store.migrations import upgrade
from workbench.store.schema import KIND_PACKAGE

PASS = "levels test passphrase"
LEVELS_INDICATORS = """
代码,上级,名称,类型,分值,步长,适用,可不适用,评分细则
A,,机制,,,,,,
A1,A,领导机制,评分,2,1,网站,否,2=建立并有效运转; 1=已建立但未见运转; 0=未建立
A2,A,主管机构,评分,2,0.5,网站,是,2＝职责清晰；1=职责不清
A3,A,安全问题,否决,0,,网站,否,是=存在严重安全问题;否=未发现
A4,A,栏目更新,评分,10,1,网站,否,
"""


def _files(base: Path, indicators: str) -> SetupFiles:
    base.mkdir(parents=True, exist_ok=True)
    return SetupFiles(
        indicators=write_csv(base / "indicators.csv", indicators),
        sites=write_csv(base / "sites.csv", "编号,名称,地区\nS1,甲市,广东\nS2,乙市,北京\n"),
        cases=write_csv(base / "cases.csv", "编号,标题\n"),
        reviewers=write_csv(base / "reviewers.csv", "编号,姓名,地区\nR1,甲,上海\n"),
        assignments=write_csv(base / "assignments.csv", "评审专家,对象类型,对象编号\nR1,网站,S1\nR1,网站,S2\n"),
    )


@pytest.fixture
def levels_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    db = tmp_path / "round.db"
    init_round(db, "2022", _files(tmp_path, LEVELS_INDICATORS))
    secret = generate_secret_key()
    write_secret_key(tmp_path / "r1.key", secret, PASS, scrypt_n=2**10)
    add_key(db, "R1", secret.public.line)
    package = make_package(db, "R1", tmp_path / "R1.wbk").path
    return {"db": db, "package": package, "key": tmp_path / "r1.key", "dir": tmp_path}


def test_the_round_and_its_packages_keep_the_levels_in_order(levels_world: dict[str, Path]) -> None:
    for path in (levels_world["db"], levels_world["package"]):
        store = Store.open(path)
        try:
            by_code = {i.code: i for i in store.indicators()}
        finally:
            store.close()
        assert by_code["A1"].levels == "2=建立并有效运转; 1=已建立但未见运转; 0=未建立"
        assert by_code["A2"].levels == "2.0=职责清晰; 1.0=职责不清"  # at the step's precision, as shown
        assert [(lv.value, lv.descriptor) for lv in read_levels(by_code["A3"])] == [
            (Decimal(1), "存在严重安全问题"), (Decimal(0), "未发现")]
        assert by_code["A4"].levels == ""
        assert covers_every_value(by_code["A1"], read_levels(by_code["A1"]))
        assert not covers_every_value(by_code["A2"], read_levels(by_code["A2"]))


def test_init_refuses_levels_the_indicator_does_not_accept_at_their_cells(tmp_path: Path) -> None:
    bad = """
代码,上级,名称,类型,分值,步长,适用,可不适用,评分细则
A,,机制,,,,,,1=上级不评分
A1,A,领导机制,评分,2,1,网站,否,3=超出满分; 1=已建立
A2,A,主管机构,评分,2,1,网站,否,0.5=不在步长上
A3,A,栏目,评分,2,1,网站,是,不适用=无栏目
A4,A,办事,评分,2,1,网站,否,2 建立
A5,A,互动,评分,2,1,网站,否,2=有; 2=重复
A6,A,公开,评分,2,1,网站,否,1=
A7,A,安全,否决,0,,网站,否,可能=不确定
"""
    with pytest.raises(InputRefused) as caught:
        init_round(tmp_path / "round.db", "2022", _files(tmp_path, bad))
    problems = {p.where.split(": ")[0]: p.reason for p in caught.value.problems}
    assert "上级指标不能有评分细则" in problems["indicators.csv:2:9"]
    assert "分值 3" in problems["indicators.csv:3:9"] and "0 至 2" in problems["indicators.csv:3:9"]
    assert "步长 1" in problems["indicators.csv:4:9"]
    assert "不是分值" in problems["indicators.csv:5:9"]
    assert "缺少“=”" in problems["indicators.csv:6:9"]
    assert "重复" in problems["indicators.csv:7:9"]
    assert "没有说明" in problems["indicators.csv:8:9"]
    assert "是”或“否" in problems["indicators.csv:9:9"]
    assert len(problems) == 8
    assert not (tmp_path / "round.db").exists()


def _validations(path: Path) -> dict[str, object]:
    """得分's validations of a worksheet as openpyxl reads them back: first cell → the validation."""
    sheet = openpyxl.load_workbook(path)["评分表"]
    found = {}
    for dv in sheet.data_validations.dataValidation:
        found[str(dv.sqref).split()[0].split(":")[0]] = dv
    return found


def _rows_of(path: Path) -> dict[tuple[str, str], int]:
    sheet = openpyxl.load_workbook(path, read_only=True)["评分表"]
    return {(str(r[1]), str(r[3])): n for n, r in enumerate(sheet.iter_rows(values_only=True), 1) if n > 1}


def test_the_blank_worksheet_offers_the_levels_on_each_score_cell(levels_world: dict[str, Path]) -> None:
    out = export_package(levels_world["package"], levels_world["dir"] / "blank.xlsx", key_file=None, passphrase=None,
                         blank=True).path
    rows = _rows_of(out)
    sheet = openpyxl.load_workbook(out)["评分表"]
    by_cell = {}
    for dv in sheet.data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:
            for (row, _col) in cell_range.cells:
                by_cell[row] = dv
    a1, a2, a3, a4 = (by_cell[rows[("S1", code)]] for code in ("A1", "A2", "A3", "A4"))
    # every value of A1 is a level: a dropdown of them, with the descriptors as the input message
    assert a1.type == "list" and a1.formula1 == '"2,1,0"'
    assert a1.promptTitle == "评分细则 A1"
    assert a1.prompt == "2 = 建立并有效运转；1 = 已建立但未见运转；0 = 未建立；留空 = 未评分"
    assert by_cell[rows[("S2", "A1")]] is a1  # one validation per indicator, over all its rows
    # A2 (steps of 0.5) has values that are not levels: the general rule, the levels as its message
    assert a2.type == "custom" and a2.prompt == "2.0 = 职责清晰；1.0 = 职责不清；不适用 = N/A；留空 = 未评分"
    first = min(row for row, dv in by_cell.items() if dv is a2)
    assert f"I{first}=\"不适用\"" in a2.formula1 and "I2=" not in a2.formula1
    assert a3.type == "list" and a3.formula1 == '"是,否"'
    assert a4.type == "custom" and a4.promptTitle == "得分"
    assert a4.prompt == "留空 = 未评分；不适用 = N/A；否决项填 是/否"


def _signed(levels_world: dict[str, Path]) -> Path:
    store = Store.open(levels_world["package"], expect=KIND_PACKAGE)
    try:
        for score in store.scores():
            value = {"A1": "2", "A2": "1.5", "A3": "0", "A4": "7"}[score.indicator]
            store.set_score(score.target_kind, score.target_id, score.indicator, Decimal(value))
    finally:
        store.close()
    return export_package(levels_world["package"], levels_world["dir"] / "signed.xlsx", key_file=levels_world["key"],
                          passphrase=PASS).path


def test_verify_accepts_the_level_validations_and_refuses_an_edited_message(levels_world: dict[str, Path]) -> None:
    signed = _signed(levels_world)
    verified = verify_export(signed, levels_world["db"])
    assert len(verified.rows) == 8
    edited = levels_world["dir"] / "edited.xlsx"
    with zipfile.ZipFile(signed) as src, zipfile.ZipFile(edited, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub("建立并有效运转".encode(), "实际得分以 1 分为准".encode(), data)
            dst.writestr(item, data)
    with pytest.raises(SignatureError) as caught:
        verify_export(edited, levels_world["db"])
    assert caught.value.code == "EDITED_AFTER_SIGNING" and "数据验证" in caught.value.message


def test_a_libreoffice_resave_of_an_export_with_levels_still_verifies(levels_world: dict[str, Path]) -> None:
    signed = _signed(levels_world)
    copy = levels_world["dir"] / "in" / signed.name
    copy.parent.mkdir()
    shutil.copyfile(signed, copy)
    resaved = libreoffice_resave(copy, levels_world["dir"] / "out")
    verified = verify_export(resaved, levels_world["db"])
    assert len(verified.rows) == 8


def _as_before_0009(path: Path) -> None:
    """Make a database look as one made before migration 0009: no calibration, no levels."""
    conn = sqlite3.connect(path)
    with conn:
        for table, column in (("sites", "calibration"), ("cases", "calibration"), ("indicators", "levels")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("DROP TABLE calibration_reference")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0009_calibration_and_levels'")
    conn.close()


def test_a_round_and_a_package_made_before_levels_open_and_the_round_migrates(
        levels_world: dict[str, Path]) -> None:
    for path in (levels_world["db"], levels_world["package"]):
        _as_before_0009(path)
    package = Store.open(levels_world["package"], expect=KIND_PACKAGE)  # a package is never migrated: read as is
    try:
        assert all(i.levels == "" for i in package.indicators()) and package.calibration_targets() == set()
        assert len(ReviewSession(package).queue()) == 2
    finally:
        package.close()
    blank = export_package(levels_world["package"], levels_world["dir"] / "old.xlsx", key_file=None,
                           passphrase=None, blank=True).path
    sheet = openpyxl.load_workbook(blank)["评分表"]
    assert [dv.promptTitle for dv in sheet.data_validations.dataValidation] == ["得分"]
    store = Store.open(levels_world["db"])
    try:
        upgrade(store.conn)
        columns = {r[1] for r in store.conn.execute("PRAGMA table_info(sites)")}
        assert "calibration" in columns and store.calibration_targets() == set()
        assert all(i.levels == "" for i in store.indicators())
    finally:
        store.close()
