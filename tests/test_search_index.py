"""The search index a round stores at build time: it answers as the keys themselves do, it never outlives a change
to them, and a round or package without one still finds everything; the CLI loads a command's module only."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from workbench.cli.group import HOME, MODULES
from workbench.cli.main import cli
from workbench.search.index import KINDS, SearchIndex
from workbench.search.lookup import list_entries, load_index, lookup_scores
from workbench.search.stored import keys_sql, stored_index
from workbench.store.db import Store
from workbench.store.migrations import upgrade

QUERIES = Path(__file__).resolve().parent / "data" / "search_queries.csv"
MORE = ["深圳", "广东", "hdjl", "shenzhne", "beijign", "qqqqxxxx", "市", "C4", "S64", "!!!", "gd", "互动", "z"]


def queries() -> list[str]:
    with open(QUERIES, encoding="utf-8") as fh:
        return [row["query"] for row in csv.DictReader(fh)] + MORE


def from_keys(store: Store, kinds: tuple[str, ...] = KINDS) -> SearchIndex:
    return SearchIndex.from_rows(store.conn.execute(keys_sql(kinds), kinds))


def answers(index: SearchIndex, query: str) -> list[object]:
    return [[(h.entry, h.score, h.how) for h in index.search(query, 10, kinds)]
            for kinds in (None, ("site", "case"), ("indicator",))] + [index.nearest(query, 5)]


def test_a_built_round_stores_an_index_that_answers_as_its_keys_do(built_round: Path) -> None:
    store = Store.open(built_round)
    try:
        for kinds in (KINDS, ("site",), ("case",), ("indicator",)):
            stored = stored_index(store.conn, kinds)
            eager = stored_index(store.conn, kinds, eager=True)
            assert stored is not None and eager is not None
            made = from_keys(store, kinds)
            assert len(stored) == len(eager) == len(made)
            for query in queries():
                assert answers(stored, query) == answers(eager, query) == answers(made, query), (kinds, query)
            assert stored.entries == made.entries
    finally:
        store.close()


def test_an_eager_index_never_reads_the_store_again(built_round: Path) -> None:
    store = Store.open(built_round)
    index = load_index(store)
    store.close()
    assert index.search("深圳")[0].entry.name == "广东省深圳市"
    assert index.nearest("qqqqxxxx")
    index.prepare()
    assert len(index.entries) == len(index)


def test_changing_a_key_drops_the_stored_index_and_lookups_read_the_keys(round_db: Path) -> None:
    conn = sqlite3.connect(round_db)
    with conn:
        conn.execute("UPDATE search_keys SET name = '深圳特区' WHERE kind = 'site' AND id = 'S64'")
    conn.close()
    store = Store.open(round_db)
    try:
        assert stored_index(store.conn) is None
        assert lookup_scores(store, "gdsz").target.name == "深圳特区"
        assert [e.name for e in list_entries(store, "site", "gdsz")][:1] == ["深圳特区"]
    finally:
        store.close()


def test_a_round_made_before_the_stored_index_still_finds_and_upgrade_lays_it_out(round_db: Path) -> None:
    conn = sqlite3.connect(round_db)
    with conn:
        for name in ("search_keys_inserted", "search_keys_updated", "search_keys_deleted"):
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE search_index")
        conn.execute("DROP TABLE search_ranks")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0006_search_index'")
    conn.close()
    store = Store.open(round_db)
    try:
        assert stored_index(store.conn) is None
        before = [answers(load_index(store), q) for q in queries()]
        assert lookup_scores(store, "深圳", indicator="互动交流").target.name == "广东省深圳市"
        upgrade(store.conn)
        stored = stored_index(store.conn)
        assert stored is not None
        assert [answers(stored, q) for q in queries()] == before
    finally:
        store.close()


def test_a_package_finds_its_targets_without_a_stored_index(package_path: Path) -> None:
    store = Store.open(package_path)
    try:
        assert stored_index(store.conn) is None  # its keys are copied in after the index tables are made
        index = load_index(store)
        assert answers(index, "深圳") == answers(from_keys(store), "深圳")
    finally:
        store.close()


def test_a_lookup_imports_the_lookup_commands_module_only(built_round: Path) -> None:
    probe = (
        "import sys\nfrom workbench.cli.main import cli\n"
        f"cli(['scores', {str(built_round)!r}, 'gdsz'], standalone_mode=False)\n"
        f"print('LOADED', sorted(m for m in {list(MODULES)!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "广东省深圳市" in out
    assert "LOADED ['workbench.cli.lookup']" in out


def test_every_command_is_listed_where_it_lives_and_in_help() -> None:
    import importlib

    for module in MODULES:
        for command in importlib.import_module(module).COMMANDS:
            assert HOME.get(command.name or "") == module, f"{command.name} of {module} is missing from HOME"
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in HOME:
        assert f"\n  {name} " in result.output
