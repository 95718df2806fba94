"""The store's write guarantees: audited cells, all-or-nothing batches, an append-only audit log."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from workbench.errors import NotFound
from workbench.model import TargetKey, TargetKind
from workbench.review import ReviewSession
from workbench.store.db import ScoreChange, Store, transaction
from workbench.store.schema import KIND_PACKAGE


def test_a_batch_writes_all_or_nothing(package_path: Path) -> None:
    store = Store.open(package_path, expect=KIND_PACKAGE)
    first, second = store.scores()[:2]
    good = [ScoreChange(s.target_kind, s.target_id, s.indicator, Decimal(1)) for s in (first, second)]
    with pytest.raises(NotFound):
        store.set_scores([*good, ScoreChange(TargetKind.SITE, "S999", first.indicator, Decimal(1))], reason="import")
    assert all(s.value is None for s in store.scores()[:2])
    assert store.conn.execute("SELECT count(*) FROM score_events").fetchone()[0] == 0
    assert store.set_scores(good, reason="import") == 2
    assert [s.value for s in store.scores()[:2]] == [Decimal(1), Decimal(1)]
    store.close()


def test_every_change_is_audited_and_the_audit_cannot_be_rewritten(package_path: Path) -> None:
    store = Store.open(package_path, expect=KIND_PACKAGE)
    cell = store.scores()[0]
    store.set_score(cell.target_kind, cell.target_id, cell.indicator, Decimal(1), note="初评")
    store.set_score(cell.target_kind, cell.target_id, cell.indicator, None, reason="undo")
    events = store.conn.execute("SELECT old_value, new_value, reason FROM score_events ORDER BY id").fetchall()
    assert [tuple(e) for e in events] == [(None, "1", "entry"), ("1", None, "undo")]
    for statement in ("UPDATE score_events SET reason = 'x'", "DELETE FROM score_events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store.conn.execute(statement)
    store.close()


def test_a_stranger_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    from workbench.errors import NotAPackage

    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NotAPackage, match="不是工作台数据库"):
        Store.open(path)
    assert path.read_bytes() == before
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_confirmed_score_costs_one_read(package_path: Path) -> None:
    store = Store.open(package_path, expect=KIND_PACKAGE)
    session = ReviewSession(store)
    key = session.targets[0].key
    leaf = session.leaves(key, session.cells(key))[0]
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    change = session.enter(key, leaf.code, format(leaf.max_score, "f"))
    store.conn.set_trace_callback(None)
    assert change.after.value == leaf.max_score and change.after.revision == change.before.revision + 1
    # One read, the write and its audit event, then the change folded into the .wbk itself.
    assert [s.split()[0] for s in statements] == ["BEGIN", "SELECT", "UPDATE", "INSERT", "COMMIT", "PRAGMA"]
    assert statements[-1] == "PRAGMA wal_checkpoint(FULL)"
    store.close()


def test_put_scores_lands_only_inside_the_callers_transaction(package_path: Path) -> None:
    store = Store.open(package_path, expect=KIND_PACKAGE)
    cell = store.scores()[0]
    with pytest.raises(RuntimeError, match="inside transaction"):
        store.put_scores(cell.reviewer_id, [cell._replace(value=Decimal(1))], reason="merge")
    with transaction(store.conn):
        put = store.put_scores(cell.reviewer_id, [cell._replace(value=Decimal(1)), store.scores()[1]], reason="merge")
    assert put.cells == 1 and put.targets == {TargetKey(cell.target_kind, cell.target_id)}
    events = store.conn.execute("SELECT indicator, old_value, new_value, reason FROM score_events").fetchall()
    assert [tuple(e) for e in events] == [(cell.indicator, None, "1", "merge")]
    store.close()


def test_a_reviewers_first_put_audits_every_cell_once_in_the_order_given(package_path: Path) -> None:
    store = Store.open(package_path, expect=KIND_PACKAGE)
    cells = [c._replace(value=Decimal(i % 3), note=f"备注{i}") for i, c in enumerate(reversed(store.scores()[:5]))]
    with transaction(store.conn):
        store.conn.execute("DELETE FROM scores")  # the reviewer holds no score yet, as at their first merge
        put = store.put_scores(cells[0].reviewer_id, cells, reason="merge e1 seq 1")
    assert put.cells == 5 and put.targets == {TargetKey(c.target_kind, c.target_id) for c in cells}
    events = store.conn.execute("SELECT target_id, indicator, old_value, new_value, old_note, new_note, reason "
                                "FROM score_events ORDER BY id").fetchall()
    assert [tuple(e) for e in events] == [
        (c.target_id, c.indicator, None, str(c.value), None, c.note, "merge e1 seq 1") for c in cells]
    stored = {(s.target_id, s.indicator): (s.value, s.note) for s in store.scores()}
    assert stored == {(c.target_id, c.indicator): (c.value, c.note) for c in cells}
    store.close()


def test_a_first_put_naming_a_cell_twice_audits_both_values(package_path: Path) -> None:
    store = Store.open(package_path, expect=KIND_PACKAGE)
    cell = store.scores()[0]
    twice = [cell._replace(value=Decimal(1)), cell._replace(value=Decimal(2))]
    with transaction(store.conn):
        store.conn.execute("DELETE FROM scores")
        put = store.put_scores(cell.reviewer_id, twice, reason="merge")
    assert put.cells == 2
    events = store.conn.execute("SELECT indicator, old_value, new_value FROM score_events ORDER BY id").fetchall()
    assert [tuple(e) for e in events] == [(cell.indicator, None, "1"), (cell.indicator, None, "2")]
    assert store.scores()[0].value == Decimal(2)
    store.close()


def test_a_put_keeps_a_note_holding_nul_whole(package_path: Path) -> None:
    # The JSON path would end the text at NUL (SQLite's ->>): such cells are bound as parameters instead.
    store = Store.open(package_path, expect=KIND_PACKAGE)
    cell = store.scores()[0]
    with transaction(store.conn):
        store.conn.execute("DELETE FROM scores")
        store.put_scores(cell.reviewer_id, [cell._replace(note="前\x00后")], reason="merge")
    assert store.scores()[0].note == "前\x00后"
    assert [tuple(r) for r in store.conn.execute("SELECT new_note FROM score_events")] == [("前\x00后",)]
    store.close()
