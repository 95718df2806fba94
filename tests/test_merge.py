"""The coordinator's merge → consolidate → report → disputes cycle, end to end, against hand-computed values."""

from __future__ import annotations

import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_merge import *  # noqa: F403  (the cycle fixture)
from conftest_merge import EXPECTED, PASS, REVIEWERS, VALUES, middle

from workbench.cli.main import cli
from workbench.consolidation.merge import merge_exports
from workbench.model import TargetKind
from workbench.setup.package import RE_REVIEW_COPY_REASON
from workbench.signed.export import export_package
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE


def sheet_rows(path: Path, name: str) -> list[list[object]]:
    import openpyxl

    return [list(r) for r in openpyxl.load_workbook(path, read_only=True)[name].iter_rows(values_only=True)]


def test_init_keys_packages_exports_merge_report_equals_hand_computation(
    cycle: dict[str, Path], tmp_path: Path,
) -> None:
    db = cycle["db"]
    result = CliRunner().invoke(cli, ["merge", str(db), *(str(cycle[f"{r}.xlsx"]) for r in REVIEWERS)])
    assert result.exit_code == 0, result.output
    assert "3 merged, 0 rejected" in result.output
    result = CliRunner().invoke(cli, ["report", str(db), "-o", str(tmp_path / "consolidated.xlsx")])
    assert result.exit_code == 0, result.output
    totals = {row[2]: row for row in sheet_rows(tmp_path / "consolidated.xlsx", "总分排名")[1:]}
    assert Decimal(str(totals["S1"][5])) == EXPECTED["S1"] == Decimal("19")
    assert Decimal(str(totals["S2"][5])) == EXPECTED["S2"] == Decimal("16")
    assert (totals["S1"][0], totals["S1"][6]) == (1, "优秀")
    assert (totals["S2"][0], totals["S2"][6]) == (2, "良好")
    breakdown = {(r[1], r[3]): r for r in sheet_rows(tmp_path / "consolidated.xlsx", "指标明细")[1:]}
    for leaf, by_site in VALUES.items():
        for site, values in by_site.items():
            assert Decimal(str(breakdown[(site, leaf)][5])) == middle(values)
    disputes = sheet_rows(tmp_path / "consolidated.xlsx", "争议复核")[1:]
    # [10, 3, 10]: the two who agree form the majority, and the lone 3 reconsiders.
    assert [(d[0], d[2], d[4]) for d in disputes] == [("R2", "S2", "A2")]
    about = sheet_rows(tmp_path / "consolidated.xlsx", "说明")
    assert sum(1 for row in about if len(row) > 1 and row[1] in REVIEWERS) == 3
    # workbench scores shows the consolidated value
    out = CliRunner().invoke(cli, ["scores", str(db), "北京", "-i", "A2", "--format", "csv"]).stdout
    # three reviewers' rows, each beside the consolidated 10, shown to 得分小数位 (2) places as the report has it
    assert out.count(",10.00,") == 3


@pytest.mark.parametrize("workers", [0, 2])
def test_merging_twice_is_a_no_op_and_seq_order_wins(cycle: dict[str, Path], tmp_path: Path, workers: int) -> None:
    db = cycle["db"]
    first = cycle["R1.xlsx"]
    store = Store.open(cycle["R1"], expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S1", "A1", Decimal("10"))
    store.close()
    second = export_package(cycle["R1"], tmp_path / "R1-seq2.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    report = merge_exports(db, [second, first], workers=workers)
    assert [o.status for o in report.outcomes] == ["merged", "superseded"]
    value = sqlite3.connect(db).execute(
        "SELECT value FROM scores WHERE reviewer_id = 'R1' AND target_id = 'S1' AND indicator = 'A1'").fetchone()[0]
    assert Decimal(value) == 10
    again = merge_exports(db, [first, second], workers=workers)
    assert [o.status for o in again.outcomes] == ["already-merged", "already-merged"]
    assert not again.rejected


def test_same_seq_other_content_is_a_conflict(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = cycle["db"]
    twin = tmp_path / "R1-twin.wbk"
    shutil.copyfile(cycle["R1"], twin)  # a copy of the package: both copies' next export is seq 2
    store = Store.open(twin, expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S2", "A1", Decimal("0.5"))
    store.close()
    mine = export_package(cycle["R1"], tmp_path / "R1-2.xlsx", key_file=cycle["R1.key"], passphrase=PASS)
    other = export_package(twin, tmp_path / "R1-twin.xlsx", key_file=cycle["R1.key"], passphrase=PASS)
    assert mine.seq == other.seq == 2
    assert merge_exports(db, [mine.path]).merged
    report = merge_exports(db, [other.path])
    assert [(o.status, o.code) for o in report.outcomes] == [("rejected", "SEQ_CONFLICT")]
    value = sqlite3.connect(db).execute(
        "SELECT value FROM scores WHERE reviewer_id = 'R1' AND target_id = 'S2' AND indicator = 'A1'").fetchone()[0]
    assert Decimal(value) == 5, "the conflicting export must change nothing"


def test_a_bad_file_is_listed_and_the_good_ones_still_merge(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = cycle["db"]
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_text("对象类型,对象编号\n网站,S1\n", encoding="utf-8")
    blank = export_package(cycle["R2"], tmp_path / "blank.xlsx", key_file=None, passphrase=None, blank=True).path
    result = CliRunner().invoke(cli, ["merge", str(db), str(garbage), str(cycle["R1.xlsx"]), str(blank)])
    assert result.exit_code == 1
    assert "NOT_XLSX" in result.output and "BLANK_WORKSHEET" in result.output
    assert "1 merged, 2 rejected" in result.output
    rows = sqlite3.connect(db).execute("SELECT reviewer_id, count(*) FROM scores GROUP BY reviewer_id").fetchall()
    assert rows == [("R1", 6)]


def test_disputes_issue_rereview_packages_and_merging_updates_only_those_pairs(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    db = cycle["db"]
    assert not merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS]).rejected
    result = CliRunner().invoke(cli, ["disputes", str(db), "-o", str(tmp_path / "re")])
    assert result.exit_code == 0, result.output
    packages = sorted((tmp_path / "re").glob("*.wbk"))
    assert [p.name for p in packages] == ["R2-复核.wbk"]
    store = Store.open(packages[0], expect=KIND_PACKAGE)
    assert [(s.target_id, s.indicator, s.value) for s in store.scores()] == [("S2", "A2", Decimal("3"))]
    # The merged value the package starts from is audited like any other change of the cell.
    events = store.conn.execute("SELECT target_id, indicator, old_value, new_value, reason FROM score_events")
    assert [tuple(e) for e in events] == [("S2", "A2", None, "3", RE_REVIEW_COPY_REASON)]
    store.set_score(TargetKind.SITE, "S2", "A2", Decimal("9"), reason="re-review")
    store.close()
    before = dict(sqlite3.connect(db).execute(
        "SELECT target_id || indicator, value FROM scores WHERE reviewer_id = 'R2'").fetchall())
    export = export_package(packages[0], tmp_path / "R2-re.xlsx", key_file=cycle["R2.key"], passphrase=PASS).path
    assert merge_exports(db, [export]).merged
    after = dict(sqlite3.connect(db).execute(
        "SELECT target_id || indicator, value FROM scores WHERE reviewer_id = 'R2'").fetchall())
    assert after.pop("S2A2") == "9" and before.pop("S2A2") == "3"
    assert after == before


def test_status_reports_received_and_missing(cycle: dict[str, Path]) -> None:
    db = cycle["db"]
    merge_exports(db, [cycle["R1.xlsx"]])
    result = CliRunner().invoke(cli, ["status", str(db), "--format", "json"])
    import json

    status = json.loads(result.stdout)
    by_id = {r["reviewer"]: r for r in status["reviewers"]}
    assert by_id["R1"]["received"] == 2 and by_id["R1"]["latest_seq"] == 1  # JSON numbers
    assert by_id["R2"]["missing"] == "S1 S2"
    assert {t["target_id"]: t["reviews_in"] for t in status["targets"]} == {"S1": 1, "S2": 1}


def test_kill_9_during_merge_leaves_each_file_whole_or_absent(cycle: dict[str, Path]) -> None:
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    db = cycle["db"]
    files = [str(cycle[f"{r}.xlsx"]) for r in REVIEWERS]
    rnd = random.Random(5)
    for attempt in range(12):
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "merge", str(db), *files],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.2, 1.2))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ledger = dict(conn.execute("SELECT reviewer_id, rows FROM submissions").fetchall())
        ingested = dict(conn.execute("SELECT reviewer_id, count(*) FROM scores GROUP BY reviewer_id").fetchall())
        assert ingested == ledger, f"attempt {attempt}: a file was half merged"
        conn.close()
    result = CliRunner().invoke(cli, ["merge", str(db), *files])
    assert result.exit_code == 0
    conn = sqlite3.connect(db)
    assert dict(conn.execute("SELECT reviewer_id, rows FROM submissions").fetchall()) == {r: 6 for r in REVIEWERS}
    # however late the kill came, the round is consolidated afterwards (2 sites × 3 indicators)
    assert conn.execute("SELECT count(*) FROM consolidated WHERE round = '2022' AND n = 3").fetchone()[0] == 6
    assert conn.execute("SELECT count(*) FROM meta WHERE key = 'consolidation_stale_since'").fetchone()[0] == 0


def test_a_merge_killed_before_consolidating_is_consolidated_by_the_next(cycle: dict[str, Path]) -> None:
    from workbench.consolidation.merge import ingest
    from workbench.signed.verify import verify_export

    db = cycle["db"]
    store = Store.open(db)
    for reviewer in REVIEWERS:  # ingested and committed, then "killed" before the re-consolidation
        ingest(store, verify_export(cycle[f"{reviewer}.xlsx"], db))
    store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM consolidated WHERE round = '2022'").fetchone()[0] == 0
    report = merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS])
    assert {o.status for o in report.outcomes} == {"already-merged"}
    value = conn.execute("SELECT value FROM consolidated WHERE target_id = 'S1' AND indicator = 'A2'").fetchone()[0]
    assert Decimal(value) == middle(VALUES["A2"]["S1"])


def test_report_never_overwrites_a_file(cycle: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "consolidated.xlsx"
    out.write_bytes(b"the coordinator's own edits")
    result = CliRunner().invoke(cli, ["report", str(cycle["db"]), "-o", str(out)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert out.read_bytes() == b"the coordinator's own edits"


WORKERS_THEN_WAIT = r"""
import multiprocessing, sys, time
from workbench.consolidation.merge import _pool
with _pool(2) as pool:
    for future in [pool.submit(time.sleep, 0.5) for _ in range(2)]:  # two at once: both workers start
        future.result()
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    time.sleep(60)
"""


def test_a_merge_killed_outright_leaves_no_worker_behind() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended, unreaped
        except FileNotFoundError:
            return False

    proc = subprocess.Popen([sys.executable, "-c", WORKERS_THEN_WAIT], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    workers = [int(pid) for pid in proc.stdout.readline().split()]
    assert len(workers) == 2 and all(running(pid) for pid in workers)
    os.kill(proc.pid, signal.SIGKILL)  # no chance to shut the pool down
    proc.wait()
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the merge's worker processes outlived it"
