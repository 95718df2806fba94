"""Import a past round's consolidated results (`workbench import-results`), streamed: memory stays flat however
many rows the file holds.

A CSV is read row by row (tables.CsvStream); an .xlsx, which Excel caps at a million rows, is read whole. Rows go
straight into `consolidated` inside one transaction, so that a refused file leaves the round as it was. A
duplicate (target, indicator) is caught by the table's primary key, not by a set of every key in memory; each
distinct target, indicator and (indicator, text) is judged once and the verdict remembered.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import InputRefused, Problem, WorkbenchError
from workbench.model import TargetKind
from workbench.scoring.indicators import IndicatorTree, parse_value
from workbench.setup.round import TARGET_WORDS, _Collector, _Ids, _short, _target_key
from workbench.setup.tables import Cell, CsvStream
from workbench.store.db import Store, checkpoint, encode_value, transaction
from workbench.store.schema import KIND_ROUND

COLUMNS = ("target_kind", "target_id", "indicator", "value")
BATCH = 20_000
#: Problems listed before the rest of the file is only counted: a coordinator fixes the pattern, not each row.
MAX_LISTED = 1000
_INSERT = ("INSERT INTO consolidated (round, target_kind, target_id, indicator, value, n, method, flags) "
           "VALUES (?, ?, ?, ?, ?, 0, 'imported', '')")

Row = tuple[int, list[str]]  # (line, the texts of COLUMNS)
Where = Callable[[int, str], str]  # (line, column) → its place


@dataclass(frozen=True)
class ImportSummary:
    round_id: str
    rows: int
    targets: int


class _Source:
    """The rows of a results file, readable twice (the second time only to place duplicates), with places."""

    def __init__(self, path: Path, c: _Collector) -> None:
        self.c = c
        self.stream: CsvStream | None = None
        self.cells: list[dict[str, Cell]] = []
        self.read = 0
        if path.suffix.lower() == ".csv":
            self.stream = CsvStream(path, COLUMNS)
            self.stream.limit = MAX_LISTED
            self.name = self.stream.name
            self.size = max(path.stat().st_size, 1)
        else:
            table = c.table(path, COLUMNS)
            if table is None:
                raise InputRefused(c.problems, f"{len(c.problems)} 处问题，未写入任何内容 / "
                                               f"{len(c.problems)} problem(s); nothing was written")
            self.name = table.name
            self.cells = table.rows
            self.size = max(len(table.rows), 1)

    def rows(self) -> Iterator[Row]:
        # The stream's own iterator, not one delegating to it: a generator layer costs a second a million rows.
        return self.stream.rows() if self.stream is not None else self._table_rows()

    def _table_rows(self) -> Iterator[Row]:
        for n, row in enumerate(self.cells):
            self.read = n + 1
            if not any(row[k].refused for k in COLUMNS):
                yield n, [row[k].value for k in COLUMNS]

    def where(self, line: int, column: str) -> str:
        if self.stream is not None:
            return self.stream.where(line, column)
        return self.cells[line][column].where

    def done(self) -> int:
        """How far reading has got, in units of `size` (bytes of a CSV, rows of an .xlsx)."""
        if self.stream is not None:
            return min(self.stream.position(), self.size)
        return self.read

    def read_problems(self) -> list[Problem]:
        return self.stream.problems if self.stream is not None else []


def import_results(
    db_path: str | Path, path: str | Path, round_id: str, *, name: str = "", year: int | None = None,
    replace: bool = False, on_progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Load a past round's consolidated results (one value per target × indicator), or refuse the file whole."""
    store = Store.open(db_path, expect=KIND_ROUND)
    try:
        if round_id == store.round_id:
            raise WorkbenchError(f"「{round_id}」是本轮次，不能作为往期结果导入 / "
                                 f"{round_id} is this round; past results need another round id")
        existing = {r["id"] for r in store.rounds()}
        if round_id in existing and not replace:
            raise WorkbenchError(f"往期轮次「{round_id}」已导入；如需替换请加 --replace / "
                                 f"round {round_id} was already imported; pass --replace to replace it")
        if year is None:
            digits = re.search(r"(19|20)\d\d", round_id)
            year = int(digits.group(0)) if digits else None
        c = _Collector()
        source = _Source(Path(path), c)
        judge = _Judge(store, c, source.where, round_id)
        conn = store.conn
        rows = 0
        duplicates: set[tuple[str, str, str]] = set()  # keys given twice (found on the error path only)
        with transaction(conn):
            conn.execute("DELETE FROM consolidated WHERE round = ?", (round_id,))
            conn.execute("DELETE FROM rounds WHERE id = ?", (round_id,))
            conn.execute("INSERT INTO rounds (id, name, year, status) VALUES (?, ?, ?, 'past')", (round_id, name, year))
            good = _good_rows(source, judge)
            while batch := list(itertools.islice(good, BATCH)):
                rows += _insert(conn, batch, duplicates)
                if on_progress is not None:
                    on_progress(source.done(), source.size)
            problems = [*source.read_problems(), *c.problems]
            if duplicates:
                problems += _placed_duplicates(source, duplicates)
            if problems:
                raise _refusal(problems)
            # Every target met and accepted has rows in (else the file was refused above): no scan of the index.
            targets = len({(kind, tid) for ids in judge.good_targets.values() for tid, kind in ids.items()})
        checkpoint(conn)
        if on_progress is not None:
            on_progress(source.size, source.size)
        return ImportSummary(round_id, rows, targets)
    finally:
        store.close()


def _good_rows(source: _Source, judge: _Judge) -> Iterator[tuple[str, str, str, str, str | None]]:
    """The rows to insert, judged; stops once MAX_LISTED problems are found. The usual row is three lookups of
    verdicts already given; any other goes to the judge, which gives (and remembers) them."""
    targets, leaves, values = judge.good_targets, judge.good_leaves, judge.values
    round_id, judged, problems = judge.round_id, judge.row, judge.c.problems
    no_ids: dict[str, str] = {}
    no_values: dict[str, tuple[str | None, str | None]] = {}
    for line, (kind_text, tid, code, value_text) in source.rows():
        kind = targets.get(kind_text, no_ids).get(tid)
        if kind is not None and code in leaves[kind]:
            got = values.get(code, no_values).get(value_text)
            if got is not None and got[1] is None:
                yield round_id, kind, tid, code, got[0]
                continue
        row = judged(line, [kind_text, tid, code, value_text])
        if row is not None:
            yield row
        elif len(problems) >= MAX_LISTED:
            return


def _insert(conn: sqlite3.Connection, batch: list[tuple[str, str, str, str, str | None]],
            duplicates: set[tuple[str, str, str]]) -> int:
    """Insert a batch; a row the primary key refuses (a duplicate) is kept for its place and the rest of the
    batch goes on after it. A plain INSERT: `OR IGNORE` would cost a third more on every row of every file."""
    inserted = 0
    while batch:
        before = conn.total_changes
        try:
            conn.executemany(_INSERT, batch)
        except sqlite3.IntegrityError as exc:  # the error path: the rows before the duplicate are in
            if "UNIQUE" not in str(exc):
                raise
            done = conn.total_changes - before
            inserted += done
            row = batch[done]
            duplicates.add((row[1], row[2], row[3]))
            batch = batch[done + 1:]
            continue
        return inserted + len(batch)
    return inserted


def _placed_duplicates(source: _Source, duplicates: set[tuple[str, str, str]]) -> list[Problem]:
    """A second reading, on the error path only: each repeat of a duplicated key, naming the first line."""
    first: dict[tuple[str, str, str], int] = {}
    problems = []
    for line, texts in source.rows():
        kind = TARGET_WORDS.get(texts[0].casefold())
        key = (kind.value if kind is not None else "", texts[1], texts[2])
        if key not in duplicates:
            continue
        if key not in first:
            first[key] = line
            continue
        earlier = _short(source.where(first[key], "indicator"))
        problems.append(Problem(source.where(line, "indicator"), f"重复结果（首次出现于 {earlier}）/ duplicate result"))
        if len(problems) >= MAX_LISTED:
            break
    return problems


def _refusal(problems: list[Problem]) -> InputRefused:
    listed = problems[:MAX_LISTED]
    more = "" if len(problems) < MAX_LISTED else (f"；只列出前 {MAX_LISTED} 处，其余未再检查 / only the first "
                                                  f"{MAX_LISTED} are listed; the rest of the file was not checked")
    return InputRefused(listed, f"{len(listed)} 处问题{more}，未写入任何内容 / {len(listed)} problem(s); "
                                "nothing was written")


class _Judge:
    """Judges each row as the set-up does, remembering every verdict that a later row may need again."""

    def __init__(self, store: Store, c: _Collector, where: Where, round_id: str) -> None:
        self.c = c
        self.round_id = round_id
        self.where = where
        self.tree = IndicatorTree(store.indicators())
        here = None  # this round's ids
        self.known = {kind: _Ids({r[0]: r[0] for r in store.conn.execute(f"SELECT id FROM {kind.value}s")}, here)
                      for kind in TargetKind}
        self.codes = _Ids({i.code: i.code for i in self.tree.nodes()}, here)
        # Nested, not keyed by tuples: a row looks its verdicts up without making a tuple for each.
        self.good_targets: dict[str, dict[str, str]] = {}  # kind as written → id → "site" or "case"
        self.good_leaves: dict[str, set[str]] = {"site": set(), "case": set()}  # kind → leaves applying to it
        self.values: dict[str, dict[str, tuple[str | None, str | None]]] = {}  # code → text → (encoded, refused)
        self._cached = 0

    def cell(self, line: int, column: str, text: str) -> Cell:
        return Cell(text, self.where(line, column))

    def row(self, line: int, texts: list[str]) -> tuple[str, str, str, str, str | None] | None:
        """(round, target_kind, target_id, indicator, encoded value), or None with its problems added. A target,
        an (indicator, kind) and an (indicator, text) judged once are not judged again: three lookups a row."""
        kind_text, tid, code, value_text = texts
        kind = self.good_targets.get(kind_text, {}).get(tid)
        if kind is None:
            kind = self._target(line, kind_text, tid)
        if code not in self.codes.items:
            self.c.find(self.cell(line, "indicator", code), self.codes, "指标代码", "indicator code")
            return None
        if kind is None:
            return None
        if code not in self.good_leaves[kind]:
            verdict = self._leaf_problem(code, TargetKind(kind))
            if verdict is not None:
                self.c.add(self.where(line, "indicator"), verdict)
                return None
            self.good_leaves[kind].add(code)
        got = self.values.get(code, {}).get(value_text)
        if got is None:
            try:
                got = (encode_value(parse_value(self.tree.get(code), value_text)), None)
            except WorkbenchError as exc:
                got = (None, exc.message)
            if self._cached < 200_000:
                self.values.setdefault(code, {})[value_text] = got
                self._cached += 1
        if got[1] is not None:
            self.c.add(self.where(line, "value"), got[1])
            return None
        return self.round_id, kind, tid, code, got[0]

    def _target(self, line: int, kind_text: str, tid: str) -> str | None:
        """The kind ("site" or "case") of a target not met before, or None with its problem added."""
        kind = TARGET_WORDS.get(kind_text.casefold())
        if kind is not None and tid in self.known[kind].items:  # the usual case: no place to format
            self.good_targets.setdefault(kind_text, {})[tid] = kind.value
            return kind.value
        kind = _target_key(self.c, self.cell(line, "target_kind", kind_text))
        if kind is None:
            return None
        label = "网站" if kind is TargetKind.SITE else "案例"
        if self.c.find(self.cell(line, "target_id", tid), self.known[kind], label, kind.value) is None:
            return None
        self.good_targets.setdefault(kind_text, {})[tid] = kind.value
        return kind.value

    def _leaf_problem(self, code: str, kind: TargetKind) -> str | None:
        if not self.tree.is_leaf(code):
            return f"「{code}」不是末级指标 / {code} is not a leaf indicator"
        if not self.tree.get(code).applies(kind):
            return f"指标「{code}」不适用于{kind.value} / {code} does not apply to a {kind.value}"
        return None
