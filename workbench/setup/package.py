"""Issue a reviewer package: one self-contained SQLite file with only that reviewer's work.

The round database records every package issued: its nonce (bound to the reviewer), the key id
registered for the reviewer at the time, and hashes of the indicator system and of the exact
(target, indicator) pairs, which a signed export must later match.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import NotFound, WorkbenchError
from workbench.model import Assignment, Indicator, ReReviewNote, TargetKind
from workbench.scoring.indicators import IndicatorTree
from workbench.search.index import INDICATOR_ENTRY
from workbench.store.db import Store, insert_rows, transaction, utc_now
from workbench.store.migrations import building
from workbench.store.schema import KIND_PACKAGE, KIND_ROUND

Pair = tuple[str, str, str]  # (target_kind, target_id, indicator code)

#: The audit reason of the merged values a re-review package starts from.
RE_REVIEW_COPY_REASON = "re-review copy"
#: Package kinds that hold only the pairs issued with them (package_pairs), not their reviewer's assignments: a
#: re-review of disputed pairs, and an appeal re-review (申诉复核) by reviewers who did not score the pairs.
PAIR_KINDS = ("re-review", "appeal")
#: How many past rounds' consolidated values a package carries by default: the app shows the newest one (去年).
DEFAULT_HISTORY = 1


@dataclass(frozen=True)
class PackageInfo:
    path: Path
    reviewer_id: str
    nonce: str
    key_id: str | None
    targets: int
    pairs: int
    kind: str


def indicators_hash(indicators: Iterable[Indicator]) -> str:
    """SHA-256 over the scoring-relevant fields of every indicator, in code order."""
    h = hashlib.sha256()
    for ind in sorted(indicators, key=lambda i: i.code):
        fields = (ind.code, ind.parent or "", ind.kind.value, str(ind.max_score), str(ind.step),
                  ind.applies_to, "1" if ind.allow_na else "0")
        h.update(("\t".join(fields) + "\n").encode())
    return h.hexdigest()


def pairs_hash(pairs: Iterable[Pair]) -> str:
    """SHA-256 over the sorted (target_kind, target_id, indicator) pairs."""
    # Sorted before the repeats are dropped: pairs as a package or an export lists them are nearly in order and
    # sort in about one pass (a set's order would cost a full sort). Hashed as one string, a line per pair.
    lines: list[str] = []
    last = None
    for pair in sorted(pairs):
        if pair != last:
            lines.append("\t".join(pair) + "\n")
            last = pair
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def assignment_pairs(tree: IndicatorTree, assignments: Sequence[Assignment]) -> list[Pair]:
    """Every (target, applicable leaf) pair of these assignments: sites first, then cases."""
    order = {TargetKind.SITE: 0, TargetKind.CASE: 1}
    leaves = {kind: tree.leaves(kind) for kind in TargetKind}
    out: list[Pair] = []
    for a in sorted(assignments, key=lambda a: (order[a.target_kind], a.target_id)):
        out += [(a.target_kind.value, a.target_id, leaf.code) for leaf in leaves[a.target_kind]]
    return out


def package_assignments(store: Store, reviewer_id: str) -> list[Assignment]:
    """What a reviewer's full package holds: every calibration target (校准; every reviewer scores them, whatever
    their region or declared conflicts), then the reviewer's own assignments."""
    own = store.assignments(reviewer_id)
    mine = {(a.target_kind, a.target_id) for a in own}
    calibration = [Assignment(reviewer_id, key.kind, key.id) for key in sorted(store.calibration_targets())
                   if (key.kind, key.id) not in mine]
    return calibration + own


def active_key_id(conn: sqlite3.Connection, reviewer_id: str) -> str | None:
    row = conn.execute(
        "SELECT key_id FROM keys WHERE reviewer_id = ? AND revoked_at IS NULL "
        "ORDER BY added_at DESC, rowid DESC LIMIT 1",
        (reviewer_id,),
    ).fetchone()
    return row[0] if row else None


def make_package(
    round_db: str | Path,
    reviewer_id: str,
    out: str | Path,
    *,
    pairs: Sequence[Pair] | None = None,
    kind: str = "full",
    notes: Mapping[Pair, ReReviewNote] | None = None,
    history: int | None = DEFAULT_HISTORY,
) -> PackageInfo:
    """Write a reviewer package and record it in the round database.

    ``pairs`` restricts the package to those pairs (a re-review package); by default it holds every
    pair of the reviewer's assignments. ``notes`` are what a re-review package tells the reviewer about its
    pairs (workbench.consolidation.disputes makes them). ``history`` is how many past rounds (newest first)
    of their targets' results it carries: the app shows the newest; None carries every one.
    """
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        return _issue(_Source(store, history), reviewer_id, Path(out), pairs, kind, notes)
    finally:
        store.close()


def make_packages(
    round_db: str | Path,
    out_dir: str | Path,
    *,
    history: int | None = DEFAULT_HISTORY,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[list[PackageInfo], list[str]]:
    """Issue every reviewer with assignments a full package, `<out_dir>/<reviewer>.wbk`, in one pass over the
    round (what every package shares is read once). Returns the packages and the reviewers without assignments.
    Refused before anything is written when any of the files exists already."""
    out_dir = Path(out_dir)
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        source = _Source(store, history)
        by_reviewer: dict[str, list[Assignment]] = {}
        for a in store.assignments():
            by_reviewer.setdefault(a.reviewer_id, []).append(a)
        reviewers = [r.id for r in store.reviewers()]
        issued = [r for r in reviewers if by_reviewer.get(r)]
        existing = [str(out_dir / f"{r}.wbk") for r in issued if (out_dir / f"{r}.wbk").exists()]
        if existing:
            raise WorkbenchError(f"已存在，不会覆盖 / already exist, nothing was written: {', '.join(existing[:5])}"
                                 + (f" …（共 {len(existing)} / {len(existing)} in all）" if len(existing) > 5 else ""))
        out_dir.mkdir(parents=True, exist_ok=True)
        infos = []
        for n, reviewer in enumerate(issued):
            pairs = assignment_pairs(source.tree, by_reviewer[reviewer])
            infos.append(_issue(source, reviewer, out_dir / f"{reviewer}.wbk", pairs, "full", None))
            if on_progress is not None:
                on_progress(n + 1, len(issued))
        return infos, [r for r in reviewers if not by_reviewer.get(r)]
    finally:
        store.close()


class _Source:
    """What every package issued from a round shares, read once."""

    def __init__(self, store: Store, history: int | None) -> None:
        if history is not None and history < 0:
            raise WorkbenchError(f"往期轮次数不能为负 / the number of past rounds must be 0 or more, not {history}")
        self.store = store
        self.reviewers = {r.id for r in store.reviewers()}
        self.indicators = store.indicators()
        self.tree = IndicatorTree(self.indicators)
        self.indicators_hash = indicators_hash(self.indicators)
        past = store.past_round_ids()
        self.past = past if history is None else past[:history]


def _issue(source: _Source, reviewer_id: str, out: Path, pairs: Sequence[Pair] | None, kind: str,
           notes: Mapping[Pair, ReReviewNote] | None) -> PackageInfo:
    store = source.store
    if reviewer_id not in source.reviewers:
        raise NotFound(f"未知评审专家「{reviewer_id}」/ unknown reviewer {reviewer_id!r}")
    if out.exists():
        raise WorkbenchError(f"{out} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    if pairs is None:
        pairs = assignment_pairs(source.tree, package_assignments(store, reviewer_id))
    if not pairs:
        raise WorkbenchError(
            f"评审专家「{reviewer_id}」没有分配任何对象 / reviewer {reviewer_id} has no assignments"
        )
    nonce = secrets.token_hex(16)
    key_id = active_key_id(store.conn, reviewer_id)
    issued_at = utc_now()
    record = {
        "nonce": nonce, "round": store.round_id, "reviewer_id": reviewer_id, "key_id": key_id,
        "issued_at": issued_at, "indicators_hash": source.indicators_hash,
        "targets_hash": pairs_hash(pairs), "pairs": len(pairs), "kind": kind, "superseded_by": None,
    }
    meta = {
        "round_id": store.round_id, "round_name": store.round_name, "round_year": store.meta.get("round_year", ""),
        "reviewer_id": reviewer_id, "nonce": nonce, "key_id": key_id or "", "issued_at": issued_at,
        "package_kind": kind,
    }
    with building(out, KIND_PACKAGE, meta) as conn:
        _fill_package(Store(conn, out), store, reviewer_id, pairs, record, source.past)
        if notes:
            _write_notes(conn, notes)
    with transaction(store.conn):
        if kind == "full":  # the reviewer's earlier full package: its exports are refused from now on
            store.conn.execute(
                "UPDATE packages SET superseded_by = ? WHERE reviewer_id = ? AND kind = 'full' "
                "AND superseded_by IS NULL", (nonce, reviewer_id))
        insert_rows(store.conn, "packages", [record])
        if kind in PAIR_KINDS:
            insert_rows(store.conn, "package_pairs", (
                {"nonce": nonce, "target_kind": p[0], "target_id": p[1], "indicator": p[2]} for p in pairs
            ))
    targets = {(p[0], p[1]) for p in pairs}
    return PackageInfo(out, reviewer_id, nonce, key_id, len(targets), len(pairs), kind)


def _fill_package(
    package: Store, store: Store, reviewer_id: str, pairs: Sequence[Pair], record: Mapping[str, object],
    past: Sequence[str],
) -> None:
    conn = package.conn
    ids = {kind: sorted({p[1] for p in pairs if p[0] == kind}) for kind in TargetKind}
    rounds = [store.round_id, *past]
    in_rounds = f"IN ({', '.join('?' for _ in rounds)})"
    # Rows go from the round to the package inside SQLite (INSERT … SELECT over the attached round), never
    # through Python objects. A deferred transaction: only the package is written, the round merely read.
    conn.execute("ATTACH DATABASE ? AS round", (str(store.path),))
    try:
        conn.execute("BEGIN")
        try:
            for table, where, args in (
                ("rounds", f" WHERE id {in_rounds}", tuple(rounds)),
                ("indicators", "", ()),
                ("rules", "", ()),
                ("reviewers", " WHERE id = ?", (reviewer_id,)),
                ("keys", " WHERE reviewer_id = ? AND revoked_at IS NULL", (reviewer_id,)),
                ("assignments", " WHERE reviewer_id = ?", (reviewer_id,)),
            ):
                _copy(conn, table, where, args)
            _copy_in(conn, "sites", " WHERE id IN ({})", ids[TargetKind.SITE])
            _copy_in(conn, "cases", " WHERE id IN ({})", ids[TargetKind.CASE])
            for kind in TargetKind:
                for round_id in past:
                    _copy_in(conn, "consolidated", " WHERE round = ? AND target_kind = ? AND target_id IN ({})",
                             ids[kind], (round_id, kind))
                _copy_in(conn, "search_keys", " WHERE kind = ? AND id IN ({})", ids[kind], (kind,))
            _copy(conn, "search_keys", " WHERE kind = ?", (INDICATOR_ENTRY,))
            insert_rows(conn, "packages", [record])
            conn.executemany(
                "INSERT INTO scores (round, reviewer_id, target_kind, target_id, indicator) VALUES (?, ?, ?, ?, ?)",
                ((store.round_id, reviewer_id, *p) for p in pairs),
            )
            if record["kind"] == "re-review":
                # The reviewer re-checks what they gave before: start from their merged values, audited.
                wanted = set(pairs)
                previous = (s for s in store.scores(reviewer_id)
                            if (s.target_kind, s.target_id, s.indicator) in wanted)
                package.put_scores(reviewer_id, previous, reason=RE_REVIEW_COPY_REASON)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.execute("DETACH DATABASE round")


def _write_notes(conn: sqlite3.Connection, notes: Mapping[Pair, ReReviewNote]) -> None:
    with transaction(conn):
        conn.executemany(
            "INSERT INTO rereview_notes (target_kind, target_id, indicator, reasons, consensus, spread, others, own, "
            "appeal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*pair, ",".join(n.reasons), n.consensus, n.spread, json.dumps([list(o) for o in n.others],
                                                                             ensure_ascii=False), n.own, n.appeal)
             for pair, n in notes.items()],
        )


def _copy(conn: sqlite3.Connection, table: str, where: str, args: Sequence[object]) -> None:
    """Copy the rows of the attached round's `table` that `where` selects into the package's."""
    columns = ", ".join(r[1] for r in conn.execute(f"PRAGMA round.table_info({table})"))
    conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM round.{table}{where}", tuple(args))


def _copy_in(conn: sqlite3.Connection, table: str, where: str, ids: Sequence[str], prefix: Sequence[object] = ()
             ) -> None:
    # SQLite limits bound parameters per statement; copy in chunks.
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        _copy(conn, table, where.format(", ".join("?" for _ in chunk)), (*prefix, *chunk))
