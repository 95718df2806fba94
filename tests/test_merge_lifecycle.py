"""A coordinator's newer decision is never undone by an older file: superseded packages, settled re-reviews,
and merges racing each other in real processes."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner
from conftest_merge import *  # noqa: F403  (the cycle fixture)
from conftest_merge import PASS, REVIEWERS

from workbench.cli.main import cli
from workbench.consolidation.merge import merge_exports
from workbench.model import TargetKind
from workbench.setup.package import make_package
from workbench.signed.export import export_package
from workbench.signed.keyring import revoke_key
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE

ROOT = Path(__file__).resolve().parent.parent


def _value(db: Path, reviewer: str, site: str, leaf: str) -> Decimal:
    row = sqlite3.connect(db).execute(
        "SELECT value FROM scores WHERE reviewer_id = ? AND target_id = ? AND indicator = ?", (reviewer, site, leaf)
    ).fetchone()
    return Decimal(row[0])


def _rescore(package: Path, changes: dict[tuple[str, str], str]) -> None:
    store = Store.open(package, expect=KIND_PACKAGE)
    for (site, leaf), value in changes.items():
        store.set_score(TargetKind.SITE, site, leaf, Decimal(value))
    store.close()


def test_issuing_a_new_full_package_supersedes_the_old_one(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = cycle["db"]
    fresh = make_package(db, "R1", tmp_path / "R1-new.wbk")
    _rescore(fresh.path, {("S1", "A1"): "2", ("S1", "A2"): "2", ("S1", "B1"): "2", ("S2", "A1"): "2",
                          ("S2", "A2"): "2", ("S2", "B1"): "2"})
    newer = export_package(fresh.path, tmp_path / "R1-new.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    assert merge_exports(db, [newer]).merged
    # A late export of the old package, signed with the old (unrevoked) key, arrives after the new one.
    late = merge_exports(db, [cycle["R1.xlsx"]])
    assert [o.code for o in late.outcomes] == ["STALE_PACKAGE"]
    assert fresh.nonce in late.outcomes[0].message and "carries their scores into the new package" in (
        late.outcomes[0].message)
    assert _value(db, "R1", "S1", "A1") == 2  # the newer values stand


def test_a_merged_re_review_is_never_undone_by_a_full_package_export(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = cycle["db"]
    assert not merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS]).rejected
    # Before the re-review, R2 changes S2/A2 and S1/A1 in their full package and exports it (seq 2) ...
    _rescore(cycle["R2"], {("S2", "A2"): "4", ("S1", "A1"): "6"})
    older = export_package(cycle["R2"], tmp_path / "R2-seq2.xlsx", key_file=cycle["R2.key"], passphrase=PASS).path
    # ... then S2/A2 goes to re-review, which R2 settles at 9, and that is merged.
    result = CliRunner().invoke(cli, ["disputes", str(db), "-o", str(tmp_path / "re")])
    assert result.exit_code == 0, result.output
    (rereview,) = sorted((tmp_path / "re").glob("*.wbk"))
    _rescore(rereview, {("S2", "A2"): "9"})
    settled = export_package(rereview, tmp_path / "R2-re.xlsx", key_file=cycle["R2.key"], passphrase=PASS).path
    assert merge_exports(db, [settled]).merged
    # The full-package export signed before the re-review, merged after it, leaves S2/A2 as the re-review did.
    late = merge_exports(db, [older])
    (outcome,) = late.outcomes
    assert outcome.status == "merged" and "re-review" in outcome.message and outcome.message.startswith("1 ")
    assert _value(db, "R2", "S2", "A2") == 9
    assert _value(db, "R2", "S1", "A1") == 6  # everything else of the newer export lands


def test_revoking_a_key_says_what_was_merged_under_it(cycle: dict[str, Path]) -> None:
    db = cycle["db"]
    merge_exports(db, [cycle["R1.xlsx"]])
    key_id = Store.open(cycle["R1"], expect=KIND_PACKAGE).meta["key_id"]
    change = revoke_key(db, key_id)
    assert change.changed and (change.merged_exports, change.merged_rows) == (1, 6)
    other = Store.open(cycle["R2"], expect=KIND_PACKAGE).meta["key_id"]
    said = CliRunner().invoke(cli, ["keys", "revoke", str(db), other])
    assert said.exit_code == 0 and "nothing signed with it was merged before" in said.output


def _two_exports_of_one_place(cycle: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """Two different exports of R1's package with the same seq: the package copied, each copy scored apart."""
    twin = tmp_path / "R1-twin.wbk"
    shutil.copyfile(cycle["R1"], twin)
    _rescore(cycle["R1"], {("S1", "A1"): "1"})
    _rescore(twin, {("S1", "A1"): "2"})
    first = export_package(cycle["R1"], tmp_path / "R1-a.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    second = export_package(twin, tmp_path / "R1-b.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    return first, second


def test_two_merges_at_once_never_both_ingest_one_place_of_a_package(cycle: dict[str, Path], tmp_path: Path) -> None:
    first, second = _two_exports_of_one_place(cycle, tmp_path)
    pristine = tmp_path / "pristine.db"
    shutil.copyfile(cycle["db"], pristine)
    for run in range(6):
        db = tmp_path / f"round-{run}.db"
        shutil.copyfile(pristine, db)
        merges = [subprocess.Popen([sys.executable, "-m", "workbench", "merge", str(db), str(path)],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                  for path in ((first, second) if run % 2 else (second, first))]
        outputs = [m.communicate(timeout=120)[0] for m in merges]
        merged = sqlite3.connect(db).execute(
            "SELECT seq, count(*) FROM submissions WHERE outcome = 'merged' GROUP BY seq").fetchall()
        assert merged == [(2, 1)], f"run {run}: {merged}\n" + "\n".join(outputs)
        assert sum("SEQ_CONFLICT" in out for out in outputs) == 1, "\n".join(outputs)
        assert sorted(m.returncode for m in merges) == [0, 1]


def test_the_ledger_itself_refuses_a_second_merge_of_one_place(cycle: dict[str, Path], tmp_path: Path) -> None:
    """Even past the checks (as a merge of an earlier version could), the schema refuses a double ingest."""
    db = cycle["db"]
    merge_exports(db, [])  # brings the round's schema up to date
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO submissions (export_id, nonce, reviewer_id, key_id, seq, payload_sha256, rows, "
                 "file_name, created_at, verified_at, outcome) VALUES ('e1', 'n', 'R1', 'k', 1, 'h', 1, 'f', 't', "
                 "'t', 'merged')")
    try:
        conn.execute("INSERT INTO submissions (export_id, nonce, reviewer_id, key_id, seq, payload_sha256, rows, "
                     "file_name, created_at, verified_at, outcome) VALUES ('e2', 'n', 'R1', 'k', 1, 'h2', 1, 'f', "
                     "'t', 't', 'merged')")
    except sqlite3.IntegrityError:
        pass
    else:
        raise AssertionError("a second merged export of one package and seq was recorded")


def test_a_round_whose_old_ledger_holds_a_double_merge_migrates(cycle: dict[str, Path]) -> None:
    """What concurrent merges of an earlier version left: the later record stands, the other is kept as a conflict."""
    db = cycle["db"]
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0002_one_merged_export_per_seq'")
    conn.execute("DROP INDEX submissions_one_merged_seq")
    for export_id in ("e1", "e2"):
        conn.execute("INSERT INTO submissions (export_id, nonce, reviewer_id, key_id, seq, payload_sha256, rows, "
                     "file_name, created_at, verified_at, outcome) VALUES (?, 'n', 'R1', 'k', 1, ?, 1, 'f', 't', "
                     "'t', 'merged')", (export_id, export_id))
    conn.commit()
    conn.close()
    merge_exports(db, [])
    outcomes = sqlite3.connect(db).execute("SELECT export_id, outcome FROM submissions ORDER BY export_id").fetchall()
    assert outcomes == [("e1", "conflict"), ("e2", "merged")]
