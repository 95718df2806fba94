"""Open and create round databases and reviewer packages; typed reads; audited score writes.

Only the standard library's sqlite3 is used here: the hot paths (lookups, the app's start-up, saving a
score) must not pay for sqlite-utils, which serves schema creation and migrations (migrations.py).
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from workbench.errors import NotAPackage, NotFound, WalNotFolded, WorkbenchError
from workbench.model import (
    NA,
    Assignment,
    Case,
    Indicator,
    IndicatorKind,
    ReReviewNote,
    Reviewer,
    Score,
    Site,
    Target,
    TargetKey,
    TargetKind,
)
from workbench.store.schema import CONSOLIDATED_EXACT, KIND_PACKAGE, SCHEMA_TABLES


def utc_now() -> str:
    """UTC ISO 8601 with seconds, the one format every stored time uses."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _plain_connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def _configure(conn: sqlite3.Connection, synchronous_full: bool) -> sqlite3.Connection:
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous_full else 'NORMAL'}")
    return conn


def connect(path: str | Path, *, synchronous_full: bool = False) -> sqlite3.Connection:
    """A stdlib connection in WAL mode that waits instead of failing on a busy database."""
    return _configure(_plain_connect(path), synchronous_full)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back whole on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def checkpoint(conn: sqlite3.Connection) -> None:
    """Fold the WAL back into the main file so the database is one self-contained file."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def fold(conn: sqlite3.Connection, *, attempts: int = 20) -> None:
    """Copy every committed change from the WAL into the main file (a completed FULL checkpoint), so that the
    main file alone holds it. A reader beside may hold the checkpoint back: it waits (busy timeout), and
    is tried again a few times; still held back, the change stays safe in the WAL, and WalNotFolded says so."""
    import time

    for attempt in range(attempts):
        busy, frames, done = conn.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
        if not busy and done == frames:
            return
        time.sleep(0.005 * (attempt + 1))
    raise WalNotFolded(
        "修改已保存在 -wal 文件中，但未能写入评审包主文件（另一程序正在读取它）；复制评审包前请先正常退出评审程序 / "
        "the change is saved in the -wal file but could not be written into the package file itself (another "
        "program is reading it); quit the app normally before copying the package"
    )


#: meta key a package holds while the app has it open: who, and since when.
OPEN_MARK = "open_by"


# ---------------------------------------------------------------------------------------------
# typed reads


def _indicator(row: sqlite3.Row, levels: bool) -> Indicator:
    return Indicator(
        code=row["code"], parent=row["parent"], name=row["name"], kind=IndicatorKind(row["kind"]),
        max_score=Decimal(row["max_score"]), step=Decimal(row["step"]), applies_to=row["applies_to"],
        description=row["description"], position=row["position"], allow_na=bool(row["allow_na"]),
        levels=row["levels"] if levels else "",
    )


def _columns(cursor: sqlite3.Cursor) -> set[str]:
    return {d[0] for d in cursor.description}


def decode_value(text: str | None) -> Decimal | str | None:
    """Stored value text → None (not scored), NA, or a Decimal."""
    if text is None:
        return None
    if text == NA:
        return NA
    return Decimal(text)


def encode_value(value: Decimal | str | None) -> str | None:
    if value is None:
        return None
    if value == NA:
        return NA
    return str(value)


class Keep(enum.Enum):
    """The type of KEEP: "leave this field as the cell has it"."""

    KEEP = "keep"


KEEP = Keep.KEEP


class Store:
    """Typed access to one round database or reviewer package."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.meta: dict[str, str] = {r[0]: r[1] for r in conn.execute("SELECT key, value FROM meta")}
        self._open_mark: str | None = None
        self.copied_while_open = False
        """A package marked open (by the app) but with no -wal beside it: a copy taken while the app ran or
        after it crashed, which may lack the last change (see unclean_warning)."""

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; in a package it returns only once the change is in the main file itself, so
        that a copy of the .wbk alone (what a reviewer mails or carries) holds everything confirmed."""
        with transaction(self.conn):
            if self._open_mark is not None:  # the app's first change carries the open mark with it
                self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                  (OPEN_MARK, self._open_mark))
            yield self.conn
        if self._open_mark is not None:
            self.meta[OPEN_MARK], self._open_mark = self._open_mark, None
        if self.kind == KIND_PACKAGE:
            fold(self.conn)

    def mark_open(self, by: str) -> None:
        """The app has the package open: its first change writes a mark saying so (cleared by mark_closed on a
        clean exit). Nothing is written before then: a copy taken before any change lacks nothing."""
        self._open_mark = by

    def mark_closed(self) -> None:
        self._open_mark = None
        if OPEN_MARK in self.meta:
            with self.writing():
                self.conn.execute("DELETE FROM meta WHERE key = ?", (OPEN_MARK,))
            self.meta.pop(OPEN_MARK, None)
        checkpoint(self.conn)

    @property
    def unclean_warning(self) -> str | None:
        """What to tell the reviewer when this package is a copy taken while the app had it open."""
        if not self.copied_while_open:
            return None
        return (
            f"此评审包未正常关闭（{self.meta.get(OPEN_MARK, '')} 打开后未退出就被复制，或程序曾崩溃），"
            "最后一次修改可能缺失；请在原电脑上打开原评审包、正常退出后再复制 / "
            "this package was copied while the app had it open "
            f"({self.meta.get(OPEN_MARK, '')}) or after the app crashed, so the last change may be missing: open "
            "the original package in the app, quit normally, and copy it again"
        )

    @classmethod
    def open(cls, path: str | Path, *, expect: str | None = None, synchronous_full: bool = False) -> Store:
        """Open an existing workbench database, refusing anything else with a clear message."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"找不到文件 / no such file: {path}")
        # The file is probed through SQLite only, never with a plain open(): closing any other descriptor
        # of a database file drops this process's POSIX locks on it, and with them WAL safety for a
        # connection the process already holds. Nothing is changed (no journal mode set) until the
        # schema says this is one of ours.
        conn = _plain_connect(path)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise NotAPackage(
                f"{path} 不是工作台数据库 / is not a workbench database (not an SQLite file: {exc})"
            ) from exc
        missing = [t for t in SCHEMA_TABLES if t not in names]
        if missing:
            conn.close()
            raise NotAPackage(
                f"{path} 不是工作台数据库 / is not a workbench round or package (missing tables: {', '.join(missing)})"
            )
        wal = Path(f"{path}-wal")
        had_wal = wal.exists() and wal.stat().st_size > 0
        store = cls(_configure(conn, synchronous_full), path)
        if store.kind == KIND_PACKAGE:
            if had_wal:  # left by a crash (or the app still running): fold it in, so the file stands alone
                busy = store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0]
                if not busy and OPEN_MARK not in store.meta:
                    checkpoint(store.conn)
            elif OPEN_MARK in store.meta:
                store.copied_while_open = True
        if expect and store.kind != expect:
            conn.close()
            if expect == KIND_PACKAGE:
                raise NotAPackage(
                    f"{path} 是评估轮次数据库而非评审包 / is a round database, not a reviewer package; "
                    "ask the coordinator for your package (workbench package …)"
                )
            raise NotAPackage(
                f"{path} 是评审包而非评估轮次数据库 / is a reviewer package, not a round database"
            )
        return store

    def close(self) -> None:
        self.conn.close()

    # meta ---------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.meta.get("kind", "")

    @property
    def round_id(self) -> str:
        return self.meta["round_id"]

    @property
    def round_name(self) -> str:
        return self.meta.get("round_name", "")

    @property
    def reviewer_id(self) -> str | None:
        return self.meta.get("reviewer_id")

    def rounds(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM rounds ORDER BY year, id")]

    def past_round_ids(self) -> list[str]:
        """Past rounds, newest first."""
        rows = self.conn.execute(
            "SELECT id FROM rounds WHERE status = 'past' ORDER BY year DESC, id DESC"
        )
        return [r[0] for r in rows]

    # indicator system -----------------------------------------------------------------------
    def indicators(self) -> list[Indicator]:
        # A database made before migration 0009 has no levels column (a package is never migrated).
        cursor = self.conn.execute("SELECT * FROM indicators ORDER BY position")
        levels = "levels" in _columns(cursor)
        return [_indicator(r, levels) for r in cursor]

    def rules_mapping(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.conn.execute("SELECT key, value FROM rules")}

    def rereview_notes(self) -> dict[tuple[str, str, str], ReReviewNote]:
        """A re-review package's notes per (target kind, target id, indicator); none in any other database."""
        if self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rereview_notes'").fetchone() is None:
            return {}
        out: dict[tuple[str, str, str], ReReviewNote] = {}
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(rereview_notes)")}
        appeal = "appeal" if "appeal" in columns else "''"  # a package made before appeals names none
        for r in self.conn.execute("SELECT target_kind, target_id, indicator, reasons, consensus, spread, others, own, "
                                   f"{appeal} FROM rereview_notes"):
            others = tuple((str(label), str(value)) for label, value in json.loads(r[6]))
            out[(r[0], r[1], r[2])] = ReReviewNote(tuple(x for x in r[3].split(",") if x), r[4], r[5], others, r[7],
                                                   r[8])
        return out

    def indicator_thresholds(self) -> dict[str, tuple[str, str]]:
        """Indicator code → its own (分歧阈值, 分歧间隔) texts, for the indicators that set either; none in a
        database made before indicators could carry them."""
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(indicators)")}
        if "dispute_gap" not in columns:
            return {}
        rows = self.conn.execute(
            "SELECT code, dispute_spread, dispute_gap FROM indicators WHERE dispute_spread != '' OR dispute_gap != ''")
        return {r[0]: (r[1], r[2]) for r in rows}

    # targets ------------------------------------------------------------------------------
    def sites(self) -> list[Site]:
        cursor = self.conn.execute("SELECT * FROM sites ORDER BY id")
        calibration = "calibration" in _columns(cursor)  # not in a database made before migration 0009
        return [
            Site(id=r["id"], name=r["name"], region=r["region"], level=r["level"], url=r["url"],
                 calibration=calibration and bool(r["calibration"]))
            for r in cursor
        ]

    def cases(self) -> list[Case]:
        cursor = self.conn.execute("SELECT * FROM cases ORDER BY id")
        calibration = "calibration" in _columns(cursor)
        return [
            Case(id=r["id"], title=r["title"], government=r["government"], region=r["region"],
                 area=r["area"], summary=r["summary"], synthetic=bool(r["synthetic"]),
                 calibration=calibration and bool(r["calibration"]))
            for r in cursor
        ]

    def targets(self) -> list[Target]:
        out = [
            Target(kind=TargetKind.SITE, id=s.id, name=s.name, region=s.region, detail=s.level, url=s.url,
                   calibration=s.calibration)
            for s in self.sites()
        ]
        out += [
            Target(kind=TargetKind.CASE, id=c.id, name=c.title, region=c.region, detail=c.government,
                   area=c.area, summary=c.summary, calibration=c.calibration)
            for c in self.cases()
        ]
        return out

    def calibration_targets(self) -> set[TargetKey]:
        """The calibration targets (校准): every reviewer scores them, and nothing counts them."""
        out: set[TargetKey] = set()
        for table, kind in (("sites", TargetKind.SITE), ("cases", TargetKind.CASE)):
            columns = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            if "calibration" in columns:
                out.update(TargetKey(kind, r[0]) for r in self.conn.execute(
                    f"SELECT id FROM {table} WHERE calibration != 0 ORDER BY id"))
        return out

    def reviewers(self) -> list[Reviewer]:
        return [
            Reviewer(id=r["id"], name=r["name"], org=r["org"], region=r["region"])
            for r in self.conn.execute("SELECT * FROM reviewers ORDER BY id")
        ]

    def assignments(self, reviewer_id: str | None = None) -> list[Assignment]:
        sql = "SELECT reviewer_id, target_kind, target_id FROM assignments"
        args: tuple[str, ...] = ()
        if reviewer_id is not None:
            sql += " WHERE reviewer_id = ?"
            args = (reviewer_id,)
        return [
            Assignment(r[0], TargetKind(r[1]), r[2])
            for r in self.conn.execute(sql + " ORDER BY reviewer_id, target_kind DESC, target_id", args)
        ]

    # scores -------------------------------------------------------------------------------
    def scores(self, reviewer_id: str | None = None) -> list[Score]:
        sql = "SELECT * FROM scores WHERE round = ?"
        args: list[str] = [self.round_id]
        if reviewer_id is not None:
            sql += " AND reviewer_id = ?"
            args.append(reviewer_id)
        return [_score(r) for r in self.conn.execute(sql, args)]

    def consolidated_values(self, round_id: str, target_kind: str, target_id: str) -> dict[str, Fraction | str | None]:
        """A target's consolidated values in a round, exact (a Fraction, NA, or None where nobody gave one)."""
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(consolidated)")}
        exact_sql = CONSOLIDATED_EXACT if "exact" in columns else "NULL"  # a package made before 0003
        rows = self.conn.execute(
            f"SELECT indicator, {exact_sql}, value FROM consolidated WHERE round = ? AND target_kind = ? "
            "AND target_id = ?",
            (round_id, target_kind, target_id),
        )
        out: dict[str, Fraction | str | None] = {}
        for code, exact, shown in rows:
            text = exact if exact is not None else shown  # a row rounded by an earlier version: its display
            out[code] = None if text is None else (NA if text == NA else Fraction(text))
        return out

    # the one writer of scores and their audit events ------------------------------------------
    def set_score(
        self,
        target_kind: TargetKind,
        target_id: str,
        indicator: str,
        value: Decimal | str | Keep | None = KEEP,
        *,
        note: str | None = None,
        evidence: str | None = None,
        reason: str = "entry",
        reviewer_id: str | None = None,
    ) -> ScoreWritten:
        """Write one cell and its audit event in one durable transaction; returns the cell before and after.

        Only cells that exist (the package's (target, indicator) pairs) can be written. ``KEEP`` (the
        default) for the value, and ``None`` for note or evidence, keep what the cell has.
        """
        with self.writing():
            written = self._write_score(
                ScoreChange(target_kind, target_id, indicator, value, note, evidence), reason, reviewer_id
            )
        return written

    def set_scores(self, changes: Iterable[ScoreChange], *, reason: str, reviewer_id: str | None = None) -> int:
        """Write many cells and their audit events in one transaction: all of them or none."""
        count = 0
        with self.writing():
            for change in changes:
                self._write_score(change, reason, reviewer_id)
                count += 1
        return count

    def put_scores(self, reviewer_id: str, cells: Iterable[CellState], *, reason: str) -> ScoresPut:
        """Make a reviewer's cells equal to another copy of them (a merged export, the merged values a re-review
        package starts from), upserting value, note, evidence, updated_at and revision as that copy has them.

        A cell whose value, note and evidence are already equal is left alone; every other is audited with
        ``reason``. Runs inside the caller's transaction, so that the cells land together with whatever
        the caller records beside them (the merge's ledger row). Returns what changed.
        """
        return self.put_stored_scores(reviewer_id, stored_cells(cells), reason=reason)

    def put_stored_scores(self, reviewer_id: str, cells: Sequence[StoredCell], *, reason: str) -> ScoresPut:
        """put_scores for cells already in the form `scores` stores (stored_cells)."""
        if not self.conn.in_transaction:
            raise RuntimeError("put_scores must run inside transaction(store.conn)")
        now = utc_now()
        round_id = self.round_id
        current = {
            (r[0], r[1], r[2]): (r[3], r[4], r[5])
            for r in self.conn.execute(
                "SELECT target_kind, target_id, indicator, value, note, evidence FROM scores "
                "WHERE round = ? AND reviewer_id = ?",
                (round_id, reviewer_id),
            )
        }
        upserts = [cell for cell in cells if current.get(cell[:3]) != cell[3:6]] if current else cells
        # The reviewer's first merge: the rows inserted are those after the round's last row now.
        first = None if current else self.conn.execute("SELECT coalesce(max(rowid), 0) FROM scores").fetchone()[0]
        # One statement over the cells as one JSON array: SQLite reads each field in C, where binding ten
        # parameters a row from Python cost a third more. A cell never updated is as of now.
        text = json_rows(upserts) if upserts else None
        if text is not None:
            self.conn.execute(_UPSERT_SCORES_JSON, (round_id, reviewer_id, now, text))
        elif upserts:  # a text holding NUL, which the JSON path would cut short: bound row by row, whole
            self.conn.executemany(_UPSERT_SCORE, [(round_id, reviewer_id, *cell[:6], now if cell[6] is None
                                                   else cell[6], cell[7]) for cell in upserts])
        if first is not None and upserts and self.conn.execute(
                "SELECT count(*) FROM scores WHERE round = ? AND reviewer_id = ?", (round_id, reviewer_id)
        ).fetchone()[0] == len(upserts):
            # The reviewer's first merge, no cell named twice: each event is its row as inserted, copied by SQLite
            # in the cells' order (the rows' insertion order).
            self.conn.execute(
                f"{_INSERT_EVENT_INTO} SELECT ?, round, reviewer_id, target_kind, target_id, indicator, NULL, value, "
                "NULL, note, NULL, evidence, ? FROM scores WHERE rowid > ? AND round = ? AND reviewer_id = ? "
                "ORDER BY rowid",
                (now, reason, first, round_id, reviewer_id),
            )
        else:
            events = []
            for cell in upserts:
                before = current.get(cell[:3]) or (None, None, None)
                events.append((now, round_id, reviewer_id, *cell[:3], before[0], cell[3], before[1], cell[4],
                               before[2], cell[5], reason))
            self.conn.executemany(_INSERT_EVENT, events)
        changed = {cell[:2] for cell in upserts}  # (kind, id) as stored; made TargetKeys once, here
        return ScoresPut(len(upserts), {TargetKey(TargetKind(kind), target_id) for kind, target_id in changed})

    def _write_score(self, change: ScoreChange, reason: str, reviewer_id: str | None) -> ScoreWritten:
        reviewer = reviewer_id or self.reviewer_id
        if reviewer is None:
            raise WorkbenchError("no reviewer for this score")
        key = (self.round_id, reviewer, change.target_kind, change.target_id, change.indicator)
        row = self.conn.execute(
            "SELECT * FROM scores WHERE round = ? AND reviewer_id = ? AND target_kind = ? "
            "AND target_id = ? AND indicator = ?",
            key,
        ).fetchone()
        if row is None:
            raise NotFound(
                f"{change.target_kind} {change.target_id} / {change.indicator} 不在本评审包中 / "
                "is not part of this package"
            )
        before = _score(row)
        new_value = row["value"] if change.value is KEEP else encode_value(change.value)
        new_note = row["note"] if change.note is None else change.note
        new_evidence = row["evidence"] if change.evidence is None else change.evidence
        if (new_value, new_note, new_evidence) == (row["value"], row["note"], row["evidence"]):
            return ScoreWritten(before, before)
        now = utc_now()
        self.conn.execute(
            "UPDATE scores SET value = ?, note = ?, evidence = ?, updated_at = ?, revision = revision + 1 "
            "WHERE round = ? AND reviewer_id = ? AND target_kind = ? AND target_id = ? AND indicator = ?",
            (new_value, new_note, new_evidence, now, *key),
        )
        self.conn.execute(
            _INSERT_EVENT,
            (now, *key, row["value"], new_value, row["note"], new_note, row["evidence"], new_evidence, reason),
        )
        after = before._replace(value=decode_value(new_value), note=new_note, evidence=new_evidence, updated_at=now,
                        revision=before.revision + 1)
        return ScoreWritten(before, after)


_UPSERT_SCORE = (
    "INSERT INTO scores (round, reviewer_id, target_kind, target_id, indicator, value, note, evidence, "
    "updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (round, reviewer_id, target_kind, target_id, indicator) DO UPDATE SET "
    "value = excluded.value, note = excluded.note, evidence = excluded.evidence, "
    "updated_at = excluded.updated_at, revision = excluded.revision"
)
_UPSERT_SCORES_JSON = (
    "INSERT INTO scores (round, reviewer_id, target_kind, target_id, indicator, value, note, evidence, "
    "updated_at, revision) SELECT ?1, ?2, c.value ->> 0, c.value ->> 1, c.value ->> 2, c.value ->> 3, "
    "c.value ->> 4, c.value ->> 5, coalesce(c.value ->> 6, ?3), c.value ->> 7 FROM json_each(?4) AS c "
    "WHERE true ORDER BY c.key "  # the cells' order, which the first merge's events keep
    "ON CONFLICT (round, reviewer_id, target_kind, target_id, indicator) DO UPDATE SET "
    "value = excluded.value, note = excluded.note, evidence = excluded.evidence, "
    "updated_at = excluded.updated_at, revision = excluded.revision"
)
"""_UPSERT_SCORE for StoredCells as one JSON array (json_rows), bound after the round, the reviewer and now."""
_INSERT_EVENT_INTO = (
    "INSERT INTO score_events (at, round, reviewer_id, target_kind, target_id, indicator, "
    "old_value, new_value, old_note, new_note, old_evidence, new_evidence, reason)"
)
_INSERT_EVENT = f"{_INSERT_EVENT_INTO} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _score(r: sqlite3.Row) -> Score:
    return Score(
        round_id=r["round"], reviewer_id=r["reviewer_id"], target_kind=TargetKind(r["target_kind"]),
        target_id=r["target_id"], indicator=r["indicator"], value=decode_value(r["value"]),
        note=r["note"], evidence=r["evidence"], updated_at=r["updated_at"] or "", revision=r["revision"],
    )


class ScoreChange(NamedTuple):
    """One cell to write: a value (None = not scored, NA, a Decimal, or KEEP); None note/evidence keeps them."""

    target_kind: TargetKind
    target_id: str
    indicator: str
    value: Decimal | str | Keep | None
    note: str | None = None
    evidence: str | None = None


class ScoreWritten(NamedTuple):
    """A cell before and after a write (the same when nothing changed)."""

    before: Score
    after: Score


class ScoresPut(NamedTuple):
    """What put_scores changed: how many cells, and in which targets."""

    cells: int
    targets: set[TargetKey]


class CellState(Protocol):
    """A whole cell as another copy holds it: a signed row of an export, or a Score of the round."""

    @property
    def target_kind(self) -> str: ...
    @property
    def target_id(self) -> str: ...
    @property
    def indicator(self) -> str: ...
    @property
    def value(self) -> Decimal | str | None: ...
    @property
    def note(self) -> str: ...
    @property
    def evidence(self) -> str: ...
    @property
    def updated_at(self) -> str | None: ...
    @property
    def revision(self) -> int: ...


StoredCell = tuple[str, str, str, str | None, str, str, str | None, int]
"""A reviewer's cell as `scores` holds it after its round and reviewer: target kind, target id, indicator, the
value as encode_value writes it, note, evidence, updated_at, revision. A merge's verifying processes hand an
export's ~17k cells over in this form: plain tuples of text pickle in C, at a fraction of what named tuples of
Decimals cost to pass (more than ingesting them)."""


def json_rows(rows: Sequence[Sequence[object]]) -> str | None:
    """Rows of texts, integers and None as one JSON array of arrays, for one `INSERT … SELECT value ->> 0, … FROM
    json_each(?)` to read in C: each text exactly (JSON escapes what it must and SQLite unescapes it), None as
    null, an integer as an integer. None when a text holds NUL: SQLite's ->> would end that text there, so such
    rows must be bound as parameters instead."""
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), check_circular=False)
    return None if "\\u0000" in text else text  # also a literal backslash-u0000 text: bound too, harmlessly


def stored_cells(cells: Iterable[CellState]) -> tuple[StoredCell, ...]:
    return tuple((c.target_kind, c.target_id, c.indicator, encode_value(c.value), c.note, c.evidence, c.updated_at,
                  c.revision) for c in cells)


def insert_rows(conn: sqlite3.Connection, table: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Bulk insert dicts that share one set of keys; returns the count."""
    rows = list(rows)
    if not rows:
        return 0
    cols = list(rows[0])
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    conn.executemany(sql, ([r[c] for c in cols] for r in rows))
    return len(rows)
