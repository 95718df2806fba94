"""Verifying signed worksheets: re-saves survive, every alteration is refused with its code."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import (
    PASSPHRASE,
    World,
    edit_workbook,
    libreoffice_resave,
    resign,
    signed_parts,
)
from conftest_tools import require_tool

from workbench.errors import SignatureError
from workbench.setup.package import make_package
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key, revoke_key
from workbench.signed.keys import generate_secret_key
from workbench.signed.verify import (
    VerifiedExport,
    check_replay,
    extract_payload,
    stale_refusal,
    verify_export,
)


def _refusal(path: Path, world: World) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verify_export(path, world.round_db)
    return caught.value


def _scores_sheet(edit: Any) -> Any:
    return lambda workbook: edit(workbook["评分表"])


# ---------------------------------------------------------------------------------------- accepted


def test_a_fresh_export_verifies_with_its_signed_content(world: World, signed: Path) -> None:
    from workbench.store.db import Store

    verified = verify_export(signed, world.round_db)
    assert (verified.reviewer_id, verified.reviewer_name, verified.round_id) == ("R01", "张明远", "2022")
    assert verified.key_id == world.secret.key_id_text and verified.seq == 1 and verified.replay is None
    package = Store.open(world.package, expect="package")
    stored = {(s.target_kind.value, s.target_id, s.indicator): s for s in package.scores()}
    package.close()
    assert len(verified.rows) == len(stored)
    for row in verified.rows:
        score = stored[(row.target_kind, row.target_id, row.indicator)]
        assert row.value == score.value and row.revision == score.revision
        assert row.evidence == score.evidence


def test_an_export_resaved_by_openpyxl_still_verifies(world: World, signed: Path) -> None:
    resaved = edit_workbook(signed, lambda workbook: None, signed.with_name("resaved.xlsx"))
    assert verify_export(resaved, world.round_db).seq == 1


def test_an_export_resaved_by_libreoffice_still_verifies(world: World, signed: Path, tmp_path: Path) -> None:
    resaved = libreoffice_resave(signed, tmp_path / "lo")
    assert resaved.read_bytes() != signed.read_bytes()
    verified = verify_export(resaved, world.round_db)
    assert verified.reviewer_id == "R01" and len(verified.rows) > 800


def test_check_round_with_vetoes_and_deductions_verifies_after_libreoffice(check_world: World, tmp_path: Path) -> None:
    path = export_package(check_world.package, tmp_path / "check.xlsx", key_file=check_world.key,
                          passphrase=PASSPHRASE).path
    verify_export(path, check_world.round_db)
    verify_export(libreoffice_resave(path, tmp_path / "lo"), check_world.round_db)

def _as_format_1(workbook: Any) -> None:
    """Rewrite the signature sheet as a workbench before format 2 wrote it: UTF-8 text in 30,000-character chunks."""
    from workbench.signed.worksheet import join_payload

    sheet = workbook["workbench_signature"]
    entries = [(row[0].value, row[1].value) for row in sheet.iter_rows()]
    payload = join_payload("workbench-signature/2", [v for k, v in entries if k == "payload"])
    assert payload is not None
    text = payload.decode()
    chunks = [text[i:i + 30_000] for i in range(0, len(text), 30_000)]
    keep = dict(entries)
    sheet.delete_rows(1, sheet.max_row)
    for key, value in [("format", "workbench-signature/1"), ("minisig", keep["minisig"]),
                       ("payload_sha256", keep["payload_sha256"]), ("payload_chunks", str(len(chunks))),
                       *(("payload", chunk) for chunk in chunks)]:
        sheet.append([key, value])
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"


def test_an_export_in_the_old_signature_format_still_verifies(world: World, signed: Path) -> None:
    edit_workbook(signed, _as_format_1)
    verified = verify_export(signed, world.round_db)
    assert verified.reviewer_id == "R01" and len(verified.rows) > 800


def test_an_export_re_saved_by_libreoffice_three_times_still_verifies(
    world: World, signed: Path, tmp_path: Path
) -> None:
    path = signed
    for step in range(3):
        path = libreoffice_resave(path, tmp_path / f"lo{step}")
    assert verify_export(path, world.round_db).reviewer_id == "R01"


def test_an_old_format_export_broken_by_two_libreoffice_re_saves_says_to_export_again(
    world: World, signed: Path, tmp_path: Path
) -> None:
    edit_workbook(signed, _as_format_1)
    twice = libreoffice_resave(libreoffice_resave(signed, tmp_path / "lo1"), tmp_path / "lo2")
    refusal = _refusal(twice, world)
    assert refusal.code == "PAYLOAD_DIGEST_MISMATCH"
    assert "重新导出" in refusal.message and "export again" in refusal.message



def test_exports_of_an_old_package_still_verify_after_the_reviewer_rotates_keys(world: World, signed: Path) -> None:
    add_key(world.round_db, "R01", generate_secret_key().public.line)
    assert verify_export(signed, world.round_db).key_id == world.secret.key_id_text


def test_verify_never_writes_to_the_round_database(world: World, signed: Path) -> None:
    before = hashlib.sha256(world.round_db.read_bytes()).hexdigest()
    verify_export(signed, world.round_db)
    with pytest.raises(SignatureError):
        verify_export(resign(signed, generate_secret_key()), world.round_db)
    assert hashlib.sha256(world.round_db.read_bytes()).hexdigest() == before


def test_extracted_payload_verifies_with_the_minisign_tool(world: World, signed: Path, tmp_path: Path) -> None:
    minisign = require_tool("minisign")
    verified = verify_export(signed, world.round_db)
    payload, sig = extract_payload(verified, tmp_path / "out")
    assert (payload.name, sig.name) == ("payload.json", "payload.json.minisig")
    ok = subprocess.run([minisign, "-Vm", str(payload), "-P", world.secret.public.line],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert f"seq=1 rows={len(verified.rows)}" in ok.stdout
    payload.write_bytes(payload.read_bytes().replace(b'"seq":1', b'"seq":2'))
    bad = subprocess.run([minisign, "-Vm", str(payload), "-P", world.secret.public.line],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


# ---------------------------------------------------------------------------------- visible edits


def test_a_changed_value_is_refused_naming_its_cell(world: World, signed: Path) -> None:
    edit_workbook(signed, _scores_sheet(lambda s: setattr(s["I2"], "value", 99)))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and "评分表!I2" in refusal.message
    assert "99" in refusal.message


def test_a_changed_note_is_refused_naming_its_cell(world: World, signed: Path) -> None:
    edit_workbook(signed, _scores_sheet(lambda s: setattr(s["J7"], "value", "改过的备注")))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and "评分表!J7" in refusal.message


def test_an_added_row_is_refused(world: World, signed: Path) -> None:
    last: list[int] = []

    def add(sheet: Any) -> None:
        last.append(sheet.max_row + 1)
        sheet.append([c.value for c in sheet[2]])

    edit_workbook(signed, _scores_sheet(add))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and f"评分表!A{last[0]}" in refusal.message


def test_a_removed_row_is_refused(world: World, signed: Path) -> None:
    edit_workbook(signed, _scores_sheet(lambda s: s.delete_rows(5)))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and re.search(r"评分表![A-M]5\b", refusal.message)


def test_reordered_rows_are_refused(world: World, signed: Path) -> None:
    def swap(sheet: Any) -> None:
        second, third = [c.value for c in sheet[2]], [c.value for c in sheet[3]]
        for cell, value in zip(sheet[2], third, strict=True):
            cell.value = value
        for cell, value in zip(sheet[3], second, strict=True):
            cell.value = value

    edit_workbook(signed, _scores_sheet(swap))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and "评分表!D2" in refusal.message


def test_a_formula_is_refused_even_where_its_value_would_match(world: World, signed: Path) -> None:
    edit_workbook(signed, _scores_sheet(lambda s: setattr(s["M2"], "value", "=0+0")))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and "评分表!M2" in refusal.message and "formula" in refusal.message


def test_an_edited_summary_is_refused(world: World, signed: Path) -> None:
    edit_workbook(signed, lambda workbook: setattr(workbook["汇总"]["D2"], "value", 100))
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and "汇总!D2" in refusal.message


def test_data_in_another_sheet_is_refused(world: World, signed: Path) -> None:
    def add_sheet(workbook: Any) -> None:
        workbook.create_sheet("补充")["B3"] = "另外的分数 5"

    edit_workbook(signed, add_sheet)
    refusal = _refusal(signed, world)
    assert refusal.code == "EDITED_AFTER_SIGNING" and "补充!B3" in refusal.message


# ------------------------------------------------------------------------------ signature sheet


def _edit_payload(workbook: Any, change: Callable[[bytes], bytes], *, fix_digest: bool) -> None:
    """Rewrite the signed payload's chunks (base64, as the export writes them) after `change`."""
    from workbench.signed.worksheet import join_payload, payload_chunks

    rows = list(workbook["workbench_signature"].iter_rows())
    cells = [row[1] for row in rows if row[0].value == "payload"]
    payload = join_payload("workbench-signature/2", [c.value for c in cells])
    assert payload is not None
    changed = change(payload)
    assert changed != payload
    chunks = payload_chunks(changed)
    assert len(chunks) == len(cells)
    for cell, chunk in zip(cells, chunks, strict=True):
        cell.value = chunk
    if fix_digest:
        digest = next(row[1] for row in rows if row[0].value == "payload_sha256")
        digest.value = hashlib.sha256(changed).hexdigest()


def test_an_edited_payload_is_refused(world: World, signed: Path) -> None:
    edit_workbook(signed, lambda workbook: _edit_payload(
        workbook, lambda p: p.replace(b'"seq":1', b'"seq":7'), fix_digest=False))
    assert _refusal(signed, world).code == "PAYLOAD_DIGEST_MISMATCH"


def test_a_payload_chunk_that_is_not_base64_is_refused(world: World, signed: Path) -> None:
    def edit(workbook: Any) -> None:
        cell = next(row[1] for row in workbook["workbench_signature"].iter_rows() if row[0].value == "payload")
        cell.value = cell.value[:10] + "评" + cell.value[11:]

    edit_workbook(signed, edit)
    assert _refusal(signed, world).code == "PAYLOAD_DIGEST_MISMATCH"


def test_an_edited_payload_with_its_digest_recomputed_fails_the_signature(world: World, signed: Path) -> None:
    edit_workbook(signed, lambda workbook: _edit_payload(
        workbook, lambda p: p.replace(b'"seq":1}', b'"seq":7}'), fix_digest=True))
    assert _refusal(signed, world).code == "BAD_SIGNATURE"


def test_a_stripped_signature_is_refused(world: World, signed: Path) -> None:
    edit_workbook(signed, lambda workbook: workbook.remove(workbook["workbench_signature"]))
    assert _refusal(signed, world).code == "UNSIGNED"


def test_two_signature_sheets_are_refused(world: World, signed: Path) -> None:
    edit_workbook(signed, lambda workbook: workbook.copy_worksheet(workbook["workbench_signature"]))
    assert _refusal(signed, world).code == "AMBIGUOUS_SIGNATURE"


def test_a_blank_worksheet_is_refused(world: World) -> None:
    blank = export_package(world.package, world.dir / "blank.xlsx", key_file=None, passphrase=None, blank=True)
    assert _refusal(blank.path, world).code == "BLANK_WORKSHEET"


def test_a_signature_by_another_reviewers_key_is_refused(world: World, signed: Path) -> None:
    refusal = _refusal(resign(signed, world.other_secret), world)
    assert refusal.code == "IDENTITY_MISMATCH" and "R02" in refusal.message


def test_an_unknown_key_is_refused(world: World, signed: Path) -> None:
    stranger = generate_secret_key()
    refusal = _refusal(resign(signed, stranger), world)
    assert refusal.code == "UNKNOWN_KEY" and stranger.key_id_text in refusal.message


def test_a_revoked_key_is_refused(world: World, signed: Path) -> None:
    revoke_key(world.round_db, world.secret.key_id_text)
    assert _refusal(signed, world).code == "REVOKED_KEY"


def test_not_a_workbook_is_refused_before_parsing(world: World, tmp_path: Path) -> None:
    fake = tmp_path / "scores.xlsx"
    fake.write_text("对象类型,对象编号\n网站,S01\n", encoding="utf-8")
    assert _refusal(fake, world).code == "NOT_XLSX"


# ------------------------------------------------------------------- signed by the reviewer's own key


def test_a_payload_that_is_not_canonical_is_refused(world: World, signed: Path) -> None:
    doc, _ = signed_parts(signed)
    spaced = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
    assert _refusal(resign(signed, world.secret, payload_bytes=spaced), world).code == "NON_CANONICAL_PAYLOAD"


def test_an_export_of_another_round_is_refused(world: World, signed: Path) -> None:
    refusal = _refusal(resign(signed, world.secret, lambda d: d.update(round_id="2023")), world)
    assert refusal.code == "WRONG_ROUND"


def test_a_nonce_never_issued_is_refused(world: World, signed: Path) -> None:
    refusal = _refusal(resign(signed, world.secret, lambda d: d.update(nonce="0" * 32)), world)
    assert refusal.code == "UNKNOWN_PACKAGE"


def test_a_nonce_issued_to_another_reviewer_is_refused(world: World, signed: Path) -> None:
    other = make_package(world.round_db, "R02", world.dir / "R02.wbk")
    refusal = _refusal(resign(signed, world.secret, lambda d: d.update(nonce=other.nonce)), world)
    assert refusal.code == "IDENTITY_MISMATCH" and "R02" in refusal.message


def test_a_superseded_package_is_refused(world: World, signed: Path) -> None:
    conn = sqlite3.connect(world.round_db)
    with conn:
        conn.execute("UPDATE packages SET superseded_by = 'newer' WHERE reviewer_id = 'R01'")
    conn.close()
    assert _refusal(signed, world).code == "STALE_PACKAGE"


def test_signed_pairs_that_differ_from_the_package_are_refused(world: World, signed: Path) -> None:
    refusal = _refusal(resign(signed, world.secret, lambda d: d["rows"].pop()), world)
    assert refusal.code == "PAIRS_MISMATCH" and "missing" in refusal.message

    def retarget(doc: dict[str, Any]) -> None:
        doc["rows"][0][1] = "S99"

    assert _refusal(resign(signed, world.secret, retarget), world).code == "PAIRS_MISMATCH"


@pytest.mark.parametrize(("column", "text"), [(8, "99.0"), (8, "1.50"), (8, "是"), (6, "50")])
def test_a_value_invalid_for_the_rounds_indicators_is_refused(
    world: World, signed: Path, column: int, text: str
) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["rows"][0][column] = text

    refusal = _refusal(resign(signed, world.secret, edit), world)
    assert refusal.code == "INVALID_VALUE" and "S03 / A1.1" in refusal.message


# ------------------------------------------------------------------------------------------ replay


def _record_merge(world: World, verified: VerifiedExport, *, export_id: str | None = None, seq: int | None = None,
                  sha: str | None = None) -> None:
    conn = sqlite3.connect(world.round_db)
    with conn:
        conn.execute(
            "INSERT INTO submissions (export_id, nonce, reviewer_id, key_id, seq, payload_sha256, rows, file_name, "
            "created_at, verified_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'merged')",
            (export_id or verified.export_id, verified.nonce, verified.reviewer_id, verified.key_id,
             verified.seq if seq is None else seq, sha or verified.payload_sha256, len(verified.rows),
             "x.xlsx", verified.created_at, "2022-01-01T00:00:00Z"),
        )
    conn.close()


def test_the_same_file_again_is_already_merged_not_a_failure(world: World, signed: Path) -> None:
    _record_merge(world, verify_export(signed, world.round_db))
    assert verify_export(signed, world.round_db).replay == "ALREADY_MERGED"


def test_an_export_older_than_a_merged_one_is_stale(world: World, signed: Path) -> None:
    _record_merge(world, verify_export(signed, world.round_db), export_id="later", seq=2, sha="0" * 64)
    assert _refusal(signed, world).code == "STALE_EXPORT"


def test_the_merge_may_take_a_stale_export_back_to_decide_itself(world: World, signed: Path) -> None:
    _record_merge(world, verify_export(signed, world.round_db), export_id="later", seq=2, sha="0" * 64)
    verified = verify_export(signed, world.round_db, allow_stale=True)
    assert verified.replay == "STALE_EXPORT"
    assert stale_refusal(verified).code == "STALE_EXPORT"


def test_the_same_seq_with_other_content_is_a_conflict(world: World, signed: Path) -> None:
    verified = verify_export(signed, world.round_db)
    _record_merge(world, verified, export_id="another", sha="0" * 64)
    assert _refusal(signed, world).code == "SEQ_CONFLICT"


def test_check_replay_reads_only_the_ledger(world: World, signed: Path) -> None:
    verified = verify_export(signed, world.round_db)
    conn = sqlite3.connect(world.round_db)
    try:
        assert check_replay(conn, verified) is None
        _record_merge(world, verified, export_id="older", seq=0, sha="1" * 64)
        assert check_replay(conn, verified) is None
    finally:
        conn.close()
