"""The reviewer worksheet: layout, signing, seq, refusals before any file is written, formula safety."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import cast

import openpyxl
import pytest
import python_calamine
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import PASSPHRASE, World, signed_parts

from workbench.errors import NoRegisteredKey, UnscoredIndicators, WrongKey, WrongPassphrase
from workbench.model import TargetKind
from workbench.scoring.indicators import IndicatorTree, compute_total
from workbench.scoring.rules import Rules
from workbench.signed.export import check_export, export_package
from workbench.signed.worksheet import COLUMNS, SUMMARY_COLUMNS
from workbench.store.db import Store

HEADERS = ["对象类型", "对象编号", "对象名称", "指标代码", "指标名称", "指标类型",
           "满分", "步长", "得分", "备注", "佐证链接", "更新时间", "版本"]


def _export(world: World, name: str = "R01.xlsx", **kwargs: object) -> Path:
    options: dict[str, object] = {"key_file": world.key, "passphrase": PASSPHRASE, **kwargs}
    return export_package(world.package, world.dir / name, **options).path  # type: ignore[arg-type]


def _meta(package: Path) -> dict[str, str]:
    store = Store.open(package, expect="package")
    try:
        return {r[0]: r[1] for r in store.conn.execute("SELECT key, value FROM meta")}
    finally:
        store.close()


def _unscore(package: Path, target_id: str, indicator: str) -> None:
    store = Store.open(package, expect="package")
    store.set_score(TargetKind.SITE, target_id, indicator, None)
    store.close()


def test_signed_export_has_the_fixed_layout(world: World) -> None:
    path = _export(world)
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    meta = {m.name: m.visible for m in book.sheets_metadata}
    assert list(meta) == ["评分表", "汇总", "workbench_signature"]
    assert meta["workbench_signature"] == python_calamine.SheetVisibleEnum.VeryHidden
    scores = book.get_sheet_by_name("评分表").to_python()
    assert list(COLUMNS) == HEADERS and scores[0] == HEADERS
    store = Store.open(world.package, expect="package")
    assert len(scores) - 1 == len(store.scores())
    store.close()
    first = scores[1]
    assert first[:2] == ["网站", "S03"] and first[5] == "评分"

    sheet = openpyxl.load_workbook(path)["评分表"]
    assert sheet.freeze_panes == "A2"
    assert sheet.protection.sheet
    assert [str(dv.sqref) for dv in sheet.data_validations.dataValidation] == [f"I2:I{len(scores)}"]
    assert sheet.column_dimensions["C"].width > 20


def test_summary_sheet_recomputes_totals(world: World) -> None:
    path = _export(world)
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("汇总").to_python()
    assert rows[0] == list(SUMMARY_COLUMNS)
    store = Store.open(world.package, expect="package")
    tree, rules = IndicatorTree(store.indicators()), Rules.from_mapping(store.rules_mapping())
    values = {s.indicator: s.value for s in store.scores() if s.target_id == "S03"}
    store.close()
    expected = compute_total(tree, "site", values, rules)
    s03 = next(r for r in rows if r[1] == "S03")
    assert Decimal(repr(s03[3])) == expected.total and s03[4] == expected.grade
    assert s03[5:7] == [len(values), len(values)]


def test_seq_grows_with_each_signed_export_and_is_audited(world: World) -> None:
    first = export_package(world.package, world.dir / "a.xlsx", key_file=world.key, passphrase=PASSPHRASE)
    second = export_package(world.package, world.dir / "b.xlsx", key_file=world.key, passphrase=PASSPHRASE)
    blank = export_package(world.package, world.dir / "c.xlsx", key_file=None, passphrase=None, blank=True)
    assert (first.seq, second.seq, blank.seq) == (1, 2, None)
    meta = _meta(world.package)
    assert meta["export_seq"] == "2"
    audit = json.loads(meta["export:000002"])
    assert audit["export_id"] == second.export_id and audit["payload_sha256"] == second.payload_sha256
    assert signed_parts(world.dir / "b.xlsx")[0]["seq"] == 2


def test_unscored_indicators_are_named_and_nothing_is_written(world: World) -> None:
    _unscore(world.package, "S03", "C4.3")
    out = world.dir / "R01.xlsx"
    with pytest.raises(UnscoredIndicators, match=r"C4\.3") as caught:
        export_package(world.package, out, key_file=world.key, passphrase=PASSPHRASE)
    assert "河北省" in caught.value.message and "互动交流" in caught.value.message
    assert caught.value.unscored == [("网站", "S03", "河北省", "C4.3", "互动交流")]
    assert not out.exists() and "export_seq" not in _meta(world.package)
    result = export_package(world.package, out, key_file=world.key, passphrase=PASSPHRASE, allow_incomplete=True)
    assert result.unscored == 1 and out.exists()


def test_another_key_is_refused_before_any_file_is_written(world: World) -> None:
    out = world.dir / "R01.xlsx"
    with pytest.raises(WrongKey, match=world.secret.key_id_text):
        check_export(world.package, key_file=world.other_key)
    with pytest.raises(WrongKey, match=world.other_secret.key_id_text):
        export_package(world.package, out, key_file=world.other_key, passphrase=PASSPHRASE)
    assert not out.exists() and list(world.dir.glob("*.xlsx*")) == []
    assert "export_seq" not in _meta(world.package)


def test_package_issued_before_keys_add_cannot_be_signed(package_path: Path, world: World) -> None:
    out = world.dir / "old.xlsx"
    with pytest.raises(NoRegisteredKey, match="keys add"):
        export_package(package_path, out, key_file=world.key, passphrase=PASSPHRASE, allow_incomplete=True)
    assert not out.exists()


def test_wrong_passphrase_writes_nothing(world: World) -> None:
    out = world.dir / "R01.xlsx"
    with pytest.raises(WrongPassphrase):
        export_package(world.package, out, key_file=world.key, passphrase="not it")
    assert not out.exists() and "export_seq" not in _meta(world.package)


def test_missing_key_file_says_how_to_make_one(world: World) -> None:
    from workbench.errors import KeyFileError

    with pytest.raises(KeyFileError, match="keygen"):
        check_export(world.package, key_file=world.dir / "nope.key")


def test_formula_like_text_is_written_as_text_and_only_those_cells_are_wrapped(world: World) -> None:
    path = _export(world)
    sheet = openpyxl.load_workbook(path)["评分表"]
    notes = {row[9].value: row[9] for row in sheet.iter_rows(min_row=2)}
    for text in ("=SUM(A1:A2)", "+86 10 1234 5678", "-3 分：栏目空白", "@张三 复核", "\t缩进的备注", "#N/A"):
        assert notes[text].data_type == "s", text
        assert notes[text].quotePrefix, text
    assert notes["\n回车开头"].data_type == "s"  # CR became a line end: canonical text
    assert not notes["正常备注"].quotePrefix and notes["正常备注"].style_id == 0
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml and b't="e"' not in xml
    cells = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("评分表").to_python()
    assert "=SUM(A1:A2)" in [row[9] for row in cells]


def test_blank_worksheet_is_unsigned_carries_the_nonce_and_leaves_input_cells_open(world: World) -> None:
    result = export_package(world.package, world.dir / "blank.xlsx", key_file=None, passphrase=None, blank=True)
    assert not result.signed
    book = openpyxl.load_workbook(result.path)
    assert "workbench_signature" not in book.sheetnames
    marker = {row[0].value: row[1].value for row in book["workbench_blank"].iter_rows()}
    assert marker["nonce"] == _meta(world.package)["nonce"] and book["workbench_blank"].sheet_state == "veryHidden"
    sheet = book["评分表"]
    assert [c.value for c in sheet[1]] == HEADERS
    second = sheet[2]
    assert not second[8].protection.locked and not second[9].protection.locked and not second[10].protection.locked
    assert second[1].protection.locked


def test_blank_worksheet_needs_no_key(package_path: Path, tmp_path: Path) -> None:
    result = export_package(package_path, tmp_path / "blank.xlsx", key_file=tmp_path / "none.key",
                            passphrase=None, blank=True)
    assert result.path.exists() and result.unscored == result.rows


def test_no_secret_key_material_enters_the_export(world: World) -> None:
    import base64

    path = _export(world)
    seed = world.secret._seed
    with zipfile.ZipFile(path) as archive:
        content = b"".join(archive.read(name) for name in archive.namelist())
    for form in (seed, seed.hex().encode(), base64.b64encode(seed)):
        assert form not in content
    assert world.key.read_bytes()[:40] not in content


def test_check_round_exports_vetoes_deductions_and_na(check_world: World) -> None:
    path = _export(check_world)
    cells = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("评分表").to_python()
    kinds = {row[5] for row in cells[1:]}
    values = {row[8] for row in cells[1:]}
    assert {"否决", "扣分"} <= kinds
    assert {"是", "否", "不适用"} <= values


def test_the_payload_is_exactly_canonical_and_matches_the_visible_text(world: World) -> None:
    from workbench.signed.signing import canonical_json, parse_canonical
    from workbench.signed.worksheet import join_payload

    path = _export(world)
    sheet = openpyxl.load_workbook(path)["workbench_signature"]
    chunks = [cast(str, row[1].value) for row in sheet.iter_rows() if row[0].value == "payload"]
    assert all(chunk.isascii() and len(chunk) <= 8_000 for chunk in chunks)  # never rich text in an office suite
    payload = join_payload("workbench-signature/2", chunks)
    assert payload is not None
    doc = parse_canonical(payload)
    assert canonical_json(doc) == payload
    rows: list[list[str | None]] = doc["rows"]  # type: ignore[assignment]
    notes = {row[9] for row in rows}
    assert "Café 分解形式（NFD）" in notes and "控制字符" in notes  # NFC, and no character XML cannot hold
