"""The reviewer's session (workbench.review): the queue the app shows, audited entries and undo."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from workbench.errors import InvalidScore
from workbench.model import TargetKey, TargetKind
from workbench.review import ReviewSession, Status
from workbench.store.db import Store


@pytest.fixture
def session(package_path: Path) -> Iterator[ReviewSession]:
    store = Store.open(package_path, expect="package")
    yield ReviewSession(store)
    store.close()


def test_queue_totals_first_screen_then_the_rest_equal_the_whole(session: ReviewSession) -> None:
    for key in [t.key for t in session.targets[:6]]:
        for leaf in session.leaves(key, session.cells(key))[:3]:
            session.enter(key, leaf.code, format(leaf.max_score, "f"))
    whole = session.queue()
    first = session.queue(totals_for=2)
    assert [r.total_pending for r in first[:6]] == [False, False, True, True, True, True]
    assert all(not r.total_pending for r in first[6:])  # nothing scored: nothing to compute
    assert session.with_totals(first) == whole
    assert [r.result.total for r in whole[:3] if r.result] == [Decimal("7.0")] * 3  # A1.1 2 + A1.2 2 + A2.1 3


def test_status_follows_progress_and_problems(session: ReviewSession, package_path: Path) -> None:
    key = TargetKey(TargetKind.SITE, "S03")
    assert session.queue_row(key).status is Status.TODO
    session.enter(key, "A1.1", "1")
    assert session.queue_row(key).status is Status.IN_PROGRESS
    with sqlite3.connect(package_path) as conn:  # an edited package: off step, out of range
        conn.execute("UPDATE scores SET value = '0.3' WHERE target_id = 'S06' AND indicator = 'A1.1'")
        conn.execute("UPDATE scores SET value = '9' WHERE target_id = 'S08' AND indicator = 'A1.1'")
    rows = {r.target.id: r for r in session.queue()}
    assert rows["S06"].status is Status.PROBLEM and "步长" in rows["S06"].problem
    assert rows["S08"].status is Status.PROBLEM and "超过满分" in rows["S08"].problem


def test_refused_entry_writes_nothing_and_undo_is_audited(session: ReviewSession, package_path: Path) -> None:
    key = TargetKey(TargetKind.SITE, "S03")
    with pytest.raises(InvalidScore):
        session.enter(key, "A1.1", "2.5")
    assert not session.can_undo
    session.enter(key, "A1.1", "1.5")
    session.annotate(key, "A1.1", note="  首页  ")
    noted = session.cell(key, "A1.1")
    assert noted is not None and noted.note == "首页"
    session.undo()
    session.undo()
    restored = session.cell(key, "A1.1")
    assert restored is not None and restored.value is None and session.undo() is None
    with sqlite3.connect(package_path) as conn:
        reasons = [r[0] for r in conn.execute("SELECT reason FROM score_events ORDER BY id")]
    assert reasons == ["entry", "entry", "undo", "undo"]
