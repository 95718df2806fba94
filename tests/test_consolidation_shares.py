"""A merge's consolidation shared between its helper processes stores exactly what one process would."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.synthetic import make_round

from workbench.consolidation import stored
from workbench.model import TargetKey, TargetKind
from workbench.store.db import Store
from workbench.store.schema import KIND_ROUND


def _tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
                for table in ("consolidated", "totals", "disputes")}
    finally:
        conn.close()


def test_shares_consolidated_in_helper_processes_store_the_rows_of_one_process(tmp_path: Path) -> None:
    one = make_round(tmp_path / "one.db", sites=260, cases=12, leaves=12, reviewers=12, reviews=3, past_rounds=0)
    shared = tmp_path / "shared.db"
    shutil.copyfile(one, shared)
    store = Store.open(one, expect=KIND_ROUND)
    touched = {TargetKey(TargetKind(kind), target_id) for kind, target_id in
               store.conn.execute("SELECT DISTINCT target_kind, target_id FROM scores")}
    # Wiped first, so that every row compared below was written by the consolidation under test.
    for path in (one, shared):
        conn = sqlite3.connect(path)
        with conn:
            for table in ("consolidated", "totals", "disputes"):
                conn.execute(f"DELETE FROM {table}")
        conn.close()
    assert len(touched) >= stored._SPLIT_MIN  # the shared path, not the one-process fallback
    stored.recompute_consolidated(store, touched)
    store.close()
    store = Store.open(shared, expect=KIND_ROUND)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        stored.recompute_touched(store, touched, pool)
    staged = store.conn.execute("SELECT name FROM temp.sqlite_master WHERE name LIKE 'staged_%'").fetchall()
    store.close()
    expected, got = _tables(one), _tables(shared)
    assert len(expected["totals"]) == len(touched) and expected["disputes"]  # a round with something to compare
    assert got == expected
    assert staged == []  # the staging tables are gone with the transaction that used them


def test_a_share_holding_nul_is_staged_whole(tmp_path: Path) -> None:
    # A text with NUL cannot cross as JSON (SQLite's ->> would end it there): the share carries its rows instead.
    path = make_round(tmp_path / "r.db", sites=3, cases=0, leaves=4, reviewers=6, reviews=2, past_rounds=0)
    store = Store.open(path, expect=KIND_ROUND)
    cells: list[tuple[object, ...]] = [("2022", "site", "S1", "A1", "1", "1", 2, "mean", "", "1", "1", "1", "1")]
    total: tuple[object, ...] = ("2022", "site", "S1", "1", "", 0, 1, "1", "0", 2, 2, "0", "")
    disputes: list[tuple[object, ...]] = [("2022", "site", "S1", "A1", "R\x00X", "disagreement")]
    share = stored._share([(cells, total, disputes)])
    assert isinstance(share, list)
    plain = stored._share([(cells, total, [])])
    assert isinstance(plain, dict)
    for table, columns in stored._COLUMNS.items():
        store.conn.execute(f"CREATE TABLE {stored._STAGED}{table} AS SELECT {columns} FROM main.{table} WHERE 0")
    stored._stage(store, share)
    stored._stage(store, plain)
    def staged(table: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in store.conn.execute(f"SELECT * FROM {stored._STAGED}{table} ORDER BY rowid")]

    assert staged("disputes") == disputes
    assert staged("consolidated") == [cells[0], cells[0]]
    assert staged("totals") == [total, total]
    store.close()
