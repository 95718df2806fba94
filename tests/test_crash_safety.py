"""A confirmed score is never lost: kill -9 the app mid-scoring, again and again, and check the package.

The app runs for real (tests/tui/scripted.py drives it headless with keystrokes) and appends every change
to an opt-in log only after its commit; after each SIGKILL the package must pass `PRAGMA integrity_check`
and hold every logged change. Two lanes run side by side, each on its own package that accumulates work
across its kills, as a reviewer's package would.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench.search.lookup import lookup_scores
from workbench.store.db import Store

KILLS_PER_LANE = 25
LANES = 2
FIRST_SCORE_TIMEOUT = 20.0
SCRIPTED = Path(__file__).resolve().parent / "tui" / "scripted.py"


def start_scripted(package: Path, log: Path, seed: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WORKBENCH_CONFIG": str(package.parent / "no-config.toml")}
    return subprocess.Popen(
        [sys.executable, str(SCRIPTED), str(package), "--log", str(log), "--seed", str(seed)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def logged(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def check_package(package: Path, log: Path) -> int:
    """Integrity ok, and every logged change present (the cell at that revision or later, its audit event
    committed with it). Returns the number of changes checked."""
    conn = sqlite3.connect(package)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        entries = logged(log)
        last: dict[tuple[object, ...], dict[str, object]] = {}
        for entry in entries:
            last[(entry["target_kind"], entry["target_id"], entry["indicator"])] = entry
        for (kind, tid, code), entry in last.items():
            value, note, evidence, revision = conn.execute(
                "SELECT value, note, evidence, revision FROM scores WHERE target_kind = ? AND target_id = ? "
                "AND indicator = ?", (kind, tid, code)).fetchone()
            assert revision >= entry["revision"], (kind, tid, code, entry)
            if revision == entry["revision"]:
                assert (value, note, evidence) == (entry["value"], entry["note"], entry["evidence"]), entry
            events = conn.execute(
                "SELECT count(*) FROM score_events WHERE target_kind = ? AND target_id = ? AND indicator = ?",
                (kind, tid, code)).fetchone()[0]
            assert events == revision, (kind, tid, code, events, revision)
        return len(entries)
    finally:
        conn.close()


def kill_lane(package: Path, log: Path, lane: int, failures: list[str], kills: list[int]) -> None:
    rng = random.Random(1000 + lane)
    for round_ in range(KILLS_PER_LANE):
        before = log.stat().st_size if log.exists() else 0
        proc = start_scripted(package, log, seed=lane * 1000 + round_)
        try:
            if rng.random() < 0.15:
                time.sleep(rng.uniform(0.0, 0.6))  # sometimes during start-up or the first keystrokes
            else:
                deadline = time.monotonic() + FIRST_SCORE_TIMEOUT
                while (log.stat().st_size if log.exists() else 0) == before:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                        failures.append(f"lane {lane} round {round_}: no score logged\n{err[-1500:]}")
                        return
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.4))  # mid-scoring
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if proc.stderr:
                proc.stderr.close()
        try:
            check_package(package, log)
        except AssertionError as exc:
            failures.append(f"lane {lane} after kill {round_ + 1}: {exc!r}")
            return
        kills.append(1)


def test_kill_9_at_random_moments_loses_no_confirmed_score(package_path: Path, tmp_path: Path) -> None:
    failures: list[str] = []
    kills: list[int] = []
    lanes = []
    for lane in range(LANES):
        folder = tmp_path / f"lane{lane}"
        folder.mkdir()
        package = folder / "R01.wbk"
        shutil.copyfile(package_path, package)
        lanes.append(threading.Thread(target=kill_lane, args=(package, folder / "scores.log", lane, failures, kills)))
    for thread in lanes:
        thread.start()
    for thread in lanes:
        thread.join()
    assert not failures, "\n".join(failures)
    assert len(kills) >= 50
    checked = sum(check_package(tmp_path / f"lane{lane}" / "R01.wbk", tmp_path / f"lane{lane}" / "scores.log")
                  for lane in range(LANES))
    assert checked >= 40  # most kills landed after scores had been written in that run


def test_lookups_read_the_package_while_the_app_writes(package_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "scores.log"
    proc = start_scripted(package_path, log, seed=7)
    try:
        deadline = time.monotonic() + FIRST_SCORE_TIMEOUT
        while not logged(log):
            assert proc.poll() is None and time.monotonic() < deadline, "the app logged no score"
            time.sleep(0.02)
        seen: set[int] = set()
        until = time.monotonic() + 3.0
        while time.monotonic() < until:
            store = Store.open(package_path)  # what `workbench scores` does, each time a new process would
            try:
                result = lookup_scores(store, "河北省")
            finally:
                store.close()
            assert result.target.id == "S03"
            seen.add(len(logged(log)))
        cli = subprocess.run([sys.executable, "-m", "workbench", "scores", str(package_path), "河北省"],
                             capture_output=True, text=True, timeout=60)
        assert proc.poll() is None, "the app stopped while it was being read"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert cli.returncode == 0, cli.stderr
    assert "database is locked" not in cli.stderr
    assert "河北省" in cli.stdout
    assert len(seen) > 1  # the app kept writing between our reads
    check_package(package_path, log)


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "no-config.toml"))
