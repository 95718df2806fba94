"""A package copied after a crash holds every score the app confirmed: kill -9 while scoring, copy the .wbk alone."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from workbench.store.db import OPEN_MARK, Store
from workbench.store.schema import KIND_PACKAGE

ROOT = Path(__file__).resolve().parent.parent

# The app's write path (open_package, the open mark, ReviewSession.enter), scoring cell after cell. Each line
# is printed only once enter() has returned, that is once the app would show the score as saved.
_SCORER = """
import sys
from pathlib import Path
from workbench.review import ReviewSession
from workbench.tui.app import open_package

store = open_package(Path(sys.argv[1]))
store.mark_open("test pid")
session = ReviewSession(store)
round_ = int(sys.argv[2])
print("ready", flush=True)
for target in session.targets:
    key = target.key
    for leaf in session.leaves(key, session.cells(key)):
        if leaf.kind != "score":
            continue
        steps = int(leaf.max_score / leaf.step)
        value = leaf.step * ((round_ + len(leaf.code)) % (steps + 1))
        cell = f"{key.kind.value} {key.id} {leaf.code} {value}"
        print(f"try {cell}", flush=True)
        session.enter(key, leaf.code, format(value, "f"))
        print(f"ok {cell}", flush=True)
"""

Cell = tuple[str, str, str]
UNSCORED = "unscored"


def _same(value: str | None) -> str:
    """A stored or printed value in one form: 2, 2.0 and 2.00 alike."""
    return UNSCORED if value in (None, UNSCORED) else str(Decimal(value).normalize())


def _score_until_killed(package: Path, round_: int, rnd: random.Random, allowed: dict[Cell, set[str]]) -> None:
    """Run the scorer and kill -9 it at a random moment. A confirmed score ("ok") must be in the .wbk; a write
    under way when it died ("try" without "ok") may be there or not: `allowed` holds, per cell, what it may be."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", _SCORER, str(package), str(round_)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None

    def record(line: str) -> None:
        status, kind, target, code, value = line.split()
        cell = (kind, target, code)
        if status == "ok":
            allowed[cell] = {value}
        else:  # under way: the cell may still hold what it held before (UNSCORED when nothing)
            allowed.setdefault(cell, {UNSCORED}).add(value)

    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        for _ in range(rnd.randint(0, 50)):
            line = child.stdout.readline()
            if not line:
                break
            record(line)
        time.sleep(rnd.random() * 0.004)  # land anywhere: between writes, inside one, inside a checkpoint
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    for line in child.stdout.read().splitlines():  # what it printed before it died
        if line.count(" ") == 4:
            record(line)
    child.stdout.close()
    assert child.stderr is not None
    child.stderr.close()


def test_every_confirmed_score_survives_kill_9_in_a_copy_of_the_wbk_alone(package_path: Path, tmp_path: Path) -> None:
    rnd = random.Random(20261201)
    allowed: dict[Cell, set[str]] = {}
    for round_ in range(50):
        _score_until_killed(package_path, round_, rnd, allowed)
        copy = tmp_path / f"copy-{round_}.wbk"
        shutil.copyfile(package_path, copy)  # what a reviewer mails: the .wbk, never its -wal
        assert not Path(f"{copy}-wal").exists()
        raw = sqlite3.connect(copy)
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        held = {(k, t, c): _same(v) for k, t, c, v in raw.execute(
            "SELECT target_kind, target_id, indicator, value FROM scores")}
        raw.close()
        lost = [(cell, values, held.get(cell)) for cell, values in allowed.items()
                if held.get(cell) not in {_same(v) for v in values}]
        assert not lost, f"after kill {round_ + 1}, the copy lacks {len(lost)} confirmed score(s): {lost[:3]}"
        copy.unlink()
    assert len(allowed) > 20  # the loop really scored


def test_a_copy_taken_while_the_app_had_it_open_warns_on_open_and_on_export(package_path: Path, tmp_path: Path) -> None:
    from workbench.signed.export import export_package

    store = Store.open(package_path, expect=KIND_PACKAGE)
    store.mark_open("R01-laptop pid 4242")
    before_any_change = tmp_path / "before.wbk"
    shutil.copyfile(package_path, before_any_change)
    score = store.scores()[0]
    store.set_score(score.target_kind, score.target_id, score.indicator, note="首页栏目更新不及时")
    copy = tmp_path / "copy.wbk"
    shutil.copyfile(package_path, copy)
    store.mark_closed()
    store.close()

    untouched = Store.open(before_any_change, expect=KIND_PACKAGE)
    assert not untouched.copied_while_open  # nothing had changed yet: nothing can be missing
    untouched.close()
    opened = Store.open(copy, expect=KIND_PACKAGE)
    assert opened.copied_while_open
    assert opened.unclean_warning is not None and "最后一次修改可能缺失" in opened.unclean_warning
    assert "R01-laptop pid 4242" in opened.unclean_warning
    opened.close()
    result = export_package(copy, tmp_path / "copy.xlsx", key_file=None, passphrase=None, blank=True)
    assert result.warning is not None and "last change may be missing" in result.warning

    # The original, closed cleanly, carries no mark and no warning.
    clean = Store.open(package_path, expect=KIND_PACKAGE)
    assert OPEN_MARK not in clean.meta and not clean.copied_while_open
    clean.close()


def test_a_stale_wal_beside_a_package_is_folded_in_on_open(package_path: Path, tmp_path: Path) -> None:
    """A crash of an app that did not fold (an earlier version): the -wal holds the change; opening folds it."""
    conn = sqlite3.connect(package_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("UPDATE scores SET value = '1' WHERE rowid = 1")
    wal = Path(f"{package_path}-wal")
    assert wal.stat().st_size > 0
    survivor = tmp_path / "survivor.wbk"
    shutil.copyfile(package_path, survivor)
    shutil.copyfile(wal, f"{survivor}-wal")  # the crashed state: main file and its -wal, not yet folded
    conn.close()

    Store.open(survivor, expect=KIND_PACKAGE).close()
    alone = tmp_path / "alone.wbk"
    shutil.copyfile(survivor, alone)
    assert sqlite3.connect(alone).execute("SELECT value FROM scores WHERE rowid = 1").fetchone()[0] == "1"


@pytest.mark.parametrize("pid_alive", [False, True])
def test_an_export_killed_midway_leaves_nothing_that_looks_like_an_output(
    package_path: Path, tmp_path: Path, pid_alive: bool
) -> None:
    from workbench.signed.export import export_package

    out = tmp_path / "R01-2022.xlsx"
    pid = os.getppid() if pid_alive else 2**22 + 17  # a live process's temporary file is its own business
    leftover = tmp_path / f".{out.name}.{pid}.tmp"
    leftover.write_bytes(b"PK half a workbook")
    export_package(package_path, out, key_file=None, passphrase=None, blank=True)
    assert out.is_file()
    assert leftover.exists() == pid_alive
