"""Create databases and migrate their schema (sqlite-utils' Migrations); never on the lookup path."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.store.db import checkpoint, connect, transaction, utc_now
from workbench.store.schema import (
    APPEAL_NOTE_COLUMNS,
    APPEAL_TABLES,
    CALIBRATION_REFERENCE_TABLE,
    CONSOLIDATED_STATS_COLUMNS,
    DECLARED_CONFLICTS_TABLE,
    DISPUTE_TABLES,
    EVIDENCE_TABLES,
    INDICATOR_THRESHOLD_COLUMNS,
    REREVIEW_NOTES_TABLE,
    SCHEMA,
    SCHEMA_VERSION,
    STALE_KEY,
    TOTALS_TABLE,
)

if TYPE_CHECKING:
    import sqlite_utils


def create_database(path: str | Path, kind: str, meta: dict[str, str]) -> sqlite3.Connection:
    """Create a new, empty database of the given kind (round or package) and return it open.

    The caller fills it inside a transaction; the schema is applied through sqlite-utils'
    Migrations so later schema versions migrate in place.
    """
    path = Path(path)
    if path.exists():
        raise WorkbenchError(f"文件已存在，不会覆盖 / {path} already exists; choose another path or remove it first")
    conn = connect(path)
    try:
        _migrate(conn)
        with transaction(conn):
            rows = {"schema_version": SCHEMA_VERSION, "kind": kind, **meta}
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows.items())
    except BaseException:
        conn.close()
        remove_database(path)
        raise
    return conn


def remove_database(path: Path, *, sidecars_only: bool = False) -> None:
    """Remove a database file and its WAL sidecars (or only the sidecars)."""
    for suffix in ("-wal", "-shm") if sidecars_only else ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


@contextmanager
def building(path: str | Path, kind: str, meta: dict[str, str]) -> Iterator[sqlite3.Connection]:
    """Build a new database in a temporary file beside ``path`` and rename it into place at the end.

    Whatever goes wrong, ``path`` is either absent or complete, and no temporary file is left behind.
    The result is checkpointed: one self-contained file, no -wal needed.
    """
    path = Path(path)
    if path.exists():
        raise WorkbenchError(f"{path} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    conn = create_database(tmp, kind, meta)
    try:
        yield conn
        checkpoint(conn)
        conn.close()
        remove_database(tmp, sidecars_only=True)
        os.replace(tmp, path)
    except BaseException:
        conn.close()
        remove_database(tmp)
        raise


_STEPS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = []
"""The schema's migrations in their order, each under the name sqlite-utils records it by once applied."""
_APPLIED_TABLE = "_sqlite_migrations"  # where sqlite-utils' Migrations records them (Migrations.migrations_table)
_MIGRATION_SET = "workbench"


def _step(name: str) -> Callable[[Callable[[sqlite3.Connection], None]], Callable[[sqlite3.Connection], None]]:
    def register(func: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
        _STEPS.append((name, func))
        return func

    return register


@_step("0001_initial")
def initial(conn: sqlite3.Connection) -> None:
    # executescript would commit the migration's transaction; run statement by statement.
    for statement in _statements(SCHEMA):
        conn.execute(statement)


@_step("0002_one_merged_export_per_seq")
def one_merged_export_per_seq(conn: sqlite3.Connection) -> None:
    # Two merges at once can never both record the same place of a package: the ledger refuses it. Where
    # concurrent merges of an earlier version did record two, the one ingested last (whose values the
    # scores hold) stays "merged" and the other is kept as "conflict".
    conn.execute(
        "UPDATE submissions SET outcome = 'conflict' WHERE outcome = 'merged' AND rowid NOT IN "
        "(SELECT max(rowid) FROM submissions WHERE outcome = 'merged' GROUP BY nonce, seq)"
    )
    conn.execute(ONE_MERGE_PER_SEQ)


@_step("0003_exact_consolidated_values")
def exact_consolidated_values(conn: sqlite3.Connection) -> None:
    # Consolidated values are kept exact beside their display (CONSOLIDATED_EXACT says how to read them).
    # Databases created since carry the column from SCHEMA already.
    if "exact" not in {r[1] for r in conn.execute("PRAGMA table_info(consolidated)")}:
        conn.execute("ALTER TABLE consolidated ADD COLUMN exact TEXT")
    # N/A, and published results imported as they are, were exact as stored.
    conn.execute("UPDATE consolidated SET exact = value WHERE exact IS NULL AND (value = 'NA' OR method = "
                    "'imported')")
    # Any other stored value was rounded before it was stored, so its exact value is unknown: it stays
    # NULL (nothing wrong can be read from it) and the round is marked stale, so that the next merge
    # re-consolidates all of it. `value` still shows what it showed.
    rounded = conn.execute("SELECT 1 FROM consolidated WHERE exact IS NULL AND value IS NOT NULL LIMIT 1")
    if rounded.fetchone() is not None:
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (STALE_KEY, utc_now()))


@_step("0004_dispute_life_and_thresholds")
def dispute_life_and_thresholds(conn: sqlite3.Connection) -> None:
    # Indicators may carry their own dispute thresholds; disputes are stored with the consolidation, and
    # the coordinator's decisions on them are kept for good.
    _add_columns(conn, "indicators", INDICATOR_THRESHOLD_COLUMNS, "TEXT NOT NULL DEFAULT ''")
    for statement in DISPUTE_TABLES:
        conn.execute(statement)
    # A round consolidated before has no stored disputes: the next consolidation must write them.
    _stale_if_consolidated(conn)


@_step("0005_declared_conflicts")
def declared_conflicts(conn: sqlite3.Connection) -> None:
    # Declared conflicts of interest (回避) stored in the round; a round made before has none.
    conn.execute(DECLARED_CONFLICTS_TABLE)


@_step("0006_search_index")
def search_index(conn: sqlite3.Connection) -> None:
    # The search index laid out beside its keys, so that a lookup reads it instead of splitting every key.
    # A database made before keeps working without it (a lookup then reads the keys); this lays out the
    # keys it already holds. Kept last, after any migration that may rewrite the keys.
    from workbench.search.stored import create_search_index, write_search_index

    create_search_index(conn)
    write_search_index(conn)


@_step("0007_rereview_notes")
def rereview_notes(conn: sqlite3.Connection) -> None:
    # A re-review package says why each pair came back and what the others gave; packages made before
    # have no notes (the app then shows none).
    conn.execute(REREVIEW_NOTES_TABLE)


@_step("0008_merge_evidence")
def merge_evidence(conn: sqlite3.Connection) -> None:
    # The merge keeps every file it ingests and a ledger row for every file it meets. Exports merged before
    # have no copy (submissions.file_sha256 NULL: merging the same file again keeps it); the ledger starts
    # with them, in the order they were merged.
    for statement in EVIDENCE_TABLES:
        conn.execute(statement)
    _add_columns(conn, "submissions", ("file_sha256",), "TEXT")
    conn.execute(
        "INSERT INTO merge_ledger (at, file_name, outcome, export_id, reviewer_id, seq) "
        "SELECT verified_at, file_name, outcome, export_id, reviewer_id, seq FROM submissions ORDER BY rowid"
    )


@_step("0009_calibration_and_levels")
def calibration_and_levels(conn: sqlite3.Connection) -> None:
    # Calibration targets (校准) and their optional reference scores; an indicator's scoring levels (评分细则).
    # A round or package made before has neither: no target is a calibration target, no indicator has levels.
    for table in ("sites", "cases"):
        _add_columns(conn, table, ("calibration",), "INTEGER NOT NULL DEFAULT 0")
    _add_columns(conn, "indicators", ("levels",), "TEXT NOT NULL DEFAULT ''")
    conn.execute(CALIBRATION_REFERENCE_TABLE)


@_step("0012_stored_totals")
def stored_totals(conn: sqlite3.Connection) -> None:
    # The consolidation keeps each cell's statistics and each target's total, so that the report and the
    # CLI read them instead of recomputing the round. A round consolidated before has neither: the next
    # consolidation (merge, report or disputes) writes them.
    _add_columns(conn, "consolidated", CONSOLIDATED_STATS_COLUMNS, "TEXT")
    conn.execute(TOTALS_TABLE)
    _stale_if_consolidated(conn)


@_step("0013_appeals")
def appeals(conn: sqlite3.Connection) -> None:
    # 公示 → 申诉 → 复核: the publications made from the round, the appeals against the provisional one, the
    # appeal packages' appeals and the appeals log. A round made before has published nothing provisionally
    # and holds no appeal; a re-review note made before names no appeal.
    for statement in APPEAL_TABLES:
        conn.execute(statement)
    _add_columns(conn, "rereview_notes", APPEAL_NOTE_COLUMNS, "TEXT NOT NULL DEFAULT ''")


def _migrations() -> sqlite_utils.Migrations:
    import sqlite_utils

    migrations = sqlite_utils.Migrations(_MIGRATION_SET)
    for name, func in _STEPS:
        migrations(name=name)(_on_database(func))
    return migrations


def _on_database(func: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite_utils.Database], None]:
    def run(db: sqlite_utils.Database) -> None:
        func(db.conn)

    return run


def _add_columns(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], declaration: str) -> None:
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    for column in columns:
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _stale_if_consolidated(conn: sqlite3.Connection) -> None:
    """Mark a round that holds a consolidation of its own (not only imported results) stale."""
    if conn.execute("SELECT 1 FROM consolidated WHERE method != 'imported' LIMIT 1").fetchone() is not None:
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (STALE_KEY, utc_now()))


ONE_MERGE_PER_SEQ = (
    "CREATE UNIQUE INDEX IF NOT EXISTS submissions_one_merged_seq ON submissions (nonce, seq) WHERE outcome = 'merged'"
)


def _migrate(conn: sqlite3.Connection) -> None:
    import sqlite_utils

    _migrations().apply(sqlite_utils.Database(conn))


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to this one's schema; a no-op when it is.

    Whether any migration is pending is read first without sqlite-utils: importing it imports pandas (~0.7 s),
    which a merge, a report and each of their helper processes would otherwise pay for a no-op."""
    if not _pending(conn):
        return
    import sqlite_utils

    migrations = _migrations()
    db = sqlite_utils.Database(conn)
    if migrations.pending(db):
        migrations.apply(db)


def _pending(conn: sqlite3.Connection) -> bool:
    try:
        applied = {r[0] for r in conn.execute(f"SELECT name FROM {_APPLIED_TABLE} WHERE migration_set = ?",
                                              (_MIGRATION_SET,))}
    except sqlite3.OperationalError:  # no migration recorded at all
        return True
    return any(name not in applied for name, _ in _STEPS)


def _statements(script: str) -> list[str]:
    out: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    return out
