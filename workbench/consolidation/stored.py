"""Run the consolidation over a round database's merged scores and keep the result in `consolidated`.

Each row keeps the exact value beside its display: `exact` holds it as "p" or "p/q" (`encode_exact`,
`decode_exact`), `value` the display text to 得分小数位 places; see schema.CONSOLIDATED_EXACT for reading them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from workbench import collector
from workbench.consolidation.consolidate import (
    Agreement,
    CellStats,
    Dispute,
    IgnoredReview,
    Review,
    TargetConsolidation,
    iter_consolidation,
)
from workbench.model import NA, Indicator, IndicatorKind, TargetKey, TargetKind
from workbench.scoring.indicators import IndicatorTree, TotalResult, round_half_up
from workbench.scoring.rules import ConsolidationSettings, Rules
from workbench.store.db import Store, decode_value, json_rows, transaction
from workbench.store.migrations import upgrade
from workbench.store.schema import KIND_ROUND, STALE_KEY

__all__ = ["STALE_KEY", "RoundConsolidation", "decode_exact", "encode_exact", "ensure_consolidated",
           "is_stale", "part_subtotals", "point_sections", "read_totals", "recompute_consolidated", "round_rules",
           "storing", "stream_consolidation"]


@dataclass
class RoundConsolidation:
    """Everything a report needs, gathered while streaming target by target."""

    tree: IndicatorTree
    rules: Rules
    settings: ConsolidationSettings
    agreement: Agreement
    totals: dict[TargetKey, TotalResult] = field(default_factory=dict)
    disputes: list[Dispute] = field(default_factory=list)
    ignored: list[IgnoredReview] = field(default_factory=list)


def encode_exact(value: Fraction | str | None) -> str | None:
    """An exact consolidated value as stored in `consolidated.exact`: "p" or "p/q" (reduced), "NA", or None."""
    if value is None or isinstance(value, str):
        return value  # None or NA
    return str(value)


def decode_exact(text: str | None) -> Fraction | str | None:
    """`consolidated.exact` (or CONSOLIDATED_EXACT) text → the exact Fraction, NA, or None."""
    if text is None or text == NA:
        return text
    return Fraction(text)


def _shown(cell: CellStats) -> str | None:
    """The display text stored in `value`: what every earlier version stored, now rounded once from the exact
    value (a veto's majority stays "1" / "0")."""
    value = cell.value
    if value is None or isinstance(value, str):
        return value  # None or NA
    if value.denominator == 1 and cell.method == "majority":
        return str(value.numerator)
    return format(round_half_up(value, cell.places), "f")


_UNDECODED = object()


def _reviews(store: Store, only: bool, calibration: Collection[TargetKey]) -> Iterator[Review]:
    if only:
        # Target by target through scores_target (a share of a round reads only its own rows, unsorted: the
        # consolidation orders a target's reviewers itself, and a sort of each target's rows cost a third more).
        sql = ("SELECT s.target_kind, s.target_id, s.indicator, s.reviewer_id, s.value FROM temp.touched t "
               "CROSS JOIN scores s ON s.target_kind = t.target_kind AND s.target_id = t.target_id "
               "WHERE s.round = ? ORDER BY t.target_kind, t.target_id")
    else:
        sql = ("SELECT target_kind, target_id, indicator, reviewer_id, value FROM scores WHERE round = ? "
               "ORDER BY target_kind, target_id")
    cursor = store.conn.cursor()
    cursor.row_factory = None  # plain tuples: millions of rows, each unpacked once
    rows: Iterator[Any] = cursor.execute(sql, (store.round_id,))
    if calibration:  # calibration scores never count (workbench.consolidation.calibration reads them)
        skip = {(key.kind.value, key.id) for key in calibration}
        rows = (r for r in rows if (r[0], r[1]) not in skip)
    decoded: dict[str | None, Decimal | str | None] = {}  # a round stores few distinct values: each decoded once
    for kind, target_id, code, reviewer, text in rows:
        value = decoded.get(text, _UNDECODED)
        if value is _UNDECODED:
            if len(decoded) > 100_000:  # a bound, never reached by values on their steps
                decoded.clear()
            value = decoded[text] = decode_value(text)
        yield (kind, target_id, code, reviewer, value)  # type: ignore[misc]


def _mark_touched(store: Store, targets: Collection[TargetKey]) -> None:
    store.conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched (target_kind TEXT, target_id TEXT, "
                       "PRIMARY KEY (target_kind, target_id))")
    store.conn.execute("DELETE FROM temp.touched")
    store.conn.executemany("INSERT OR IGNORE INTO temp.touched VALUES (?, ?)", targets)


def _upgraded(store: Store, targets: Collection[TargetKey] | None) -> Collection[TargetKey] | None:
    """Migrate a round made by an earlier version; the targets to consolidate, None (all) when its stored
    values were rounded and must all be recomputed."""
    had_exact = "exact" in {r[1] for r in store.conn.execute("PRAGMA table_info(consolidated)")}
    upgrade(store.conn)
    return targets if had_exact else None


def round_rules(store: Store) -> tuple[IndicatorTree, Rules, ConsolidationSettings]:
    """The round's indicator tree, rules and consolidation settings (each indicator's own thresholds in)."""
    tree = IndicatorTree(store.indicators())
    mapping = store.rules_mapping()
    rules = Rules.from_mapping(mapping)
    settings = ConsolidationSettings.from_rules(mapping).with_indicator_thresholds(store.indicator_thresholds())
    return tree, rules, settings


def stream_consolidation(
    store: Store, *, targets: Collection[TargetKey] | None = None, agreement: bool = True
) -> tuple[RoundConsolidation, Iterator[TargetConsolidation]]:
    """The round's consolidation (or only ``targets``'), one target at a time; the summary fills as the
    iterator runs. ``agreement=False`` skips the agreement sums nobody will read.

    A round made by an earlier version is migrated first; when that leaves its stored values to recompute (they
    were rounded), ``targets`` widens to the whole round, so that no rounded row survives the rewrite.
    Calibration targets (校准) are left out: they have no consolidated value, total, rank, dispute or agreement.
    """
    targets = _upgraded(store, targets)
    calibration = store.calibration_targets()
    if targets is not None and calibration:
        targets = {key for key in targets if key not in calibration}
    tree, rules, settings = round_rules(store)
    summary = RoundConsolidation(tree, rules, settings, Agreement(tree))
    assignments: dict[tuple[str, str], set[str]] = defaultdict(set)
    sql = "SELECT a.reviewer_id, a.target_kind, a.target_id FROM assignments a"
    if targets is not None:  # only these targets' assignments (a share of a merge's, not the round's ~40k)
        _mark_touched(store, targets)
        sql += " JOIN temp.touched t ON t.target_kind = a.target_kind AND t.target_id = a.target_id"
    for reviewer, kind, target_id in store.conn.execute(sql):
        assignments[(kind, target_id)].add(reviewer)

    from workbench.consolidation.appeals import appeal_panels  # here: appeals reads round_rules from this module

    panels = appeal_panels(store.conn)  # an appeal's re-review (申诉复核) adds its reviewers to the cells appealed

    def run() -> Iterator[TargetConsolidation]:
        for target in iter_consolidation(tree, rules, settings, _reviews(store, targets is not None, calibration),
                                         assignments,
                                         ignored=summary.ignored,
                                         agreement=summary.agreement if agreement else None, added=panels):
            summary.totals[TargetKey(target.target_kind, target.target_id)] = target.total
            summary.disputes.extend(target.disputes)
            yield target

    return summary, run()


def recompute_consolidated(store: Store, targets: Collection[TargetKey] | None = None) -> RoundConsolidation:
    """Replace the current round's rows of `consolidated` (all, or only those of ``targets``) from its
    merged scores, in one transaction (all of them when the round was made by an earlier version)."""
    targets = _upgraded(store, targets)
    summary, results = stream_consolidation(store, targets=targets, agreement=False)
    with transaction(store.conn):
        for _ in storing(store, summary, results, whole_round=targets is None):
            pass
    return summary


def is_stale(store: Store) -> bool:
    """Whether merges (or a migration) left the stored consolidation out of date (STALE_KEY is set)."""
    return store.conn.execute("SELECT 1 FROM meta WHERE key = ?", (STALE_KEY,)).fetchone() is not None


def ensure_consolidated(store: Store) -> None:
    """Bring the stored consolidation up to date when merges (or a migration) left it stale."""
    upgrade(store.conn)
    if is_stale(store):
        recompute_consolidated(store)


def point_sections(tree: IndicatorTree) -> list[Indicator]:
    """The top-level parts that hold point leaves (not only vetoes or bonuses), in the tree's order: the
    parts a target's subtotals are given for."""
    point_parts = {tree.part_of(leaf.code) for leaf in tree.leaves()
                   if leaf.kind not in (IndicatorKind.VETO, IndicatorKind.BONUS)}
    return [part for part in tree.children(None) if part.code in point_parts]


def part_subtotals(tree: IndicatorTree, sections: list[Indicator], target: TargetConsolidation) -> dict[str, Decimal]:
    """Each section's earned points for one target, as compute_total found them (N/A rescaled within the part)
    rounded once as it rounds the base; a part with no leaf applying to the target's kind is left out."""
    present = {tree.part_of(c.indicator) for c in target.cells}
    earned = target.total.parts
    return {part.code: round_half_up(earned.get(part.code, Fraction(0))) for part in sections if part.code in present}


def _stat(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _mean(cell: CellStats) -> str | None:
    """CellStats.mean to 15 significant digits: as much as a spreadsheet cell holds (the consolidated value,
    not the mean, is what is kept exact)."""
    return None if cell.mean is None else format(cell.mean, ".15g")


class _CellTexts:
    """A cell's stored columns after its key: value, exact, n, method, flags, mean, median, low, high.

    Cells with the same values share their statistics' objects (consolidate's shapes), so the texts are kept by
    the identity of those objects, not by their equality: equal Decimals may be written differently (1, 1.0).
    Each entry keeps its objects alive, so no other object can take their ids while it stands."""

    def __init__(self) -> None:
        self.known: dict[tuple[object, ...], tuple[tuple[object, ...], tuple[object, ...]]] = {}

    def __call__(self, c: CellStats) -> tuple[object, ...]:
        objects = (c.value, c.mean, c.median, c.min, c.max)
        key = (*map(id, objects), c.places, c.method)
        found = self.known.get(key)
        if found is None:
            if len(self.known) > 100_000:  # a bound: the objects it holds stay alive only as long as it does
                self.known.clear()
            found = self.known[key] = objects, (_shown(c), encode_exact(c.value), _mean(c), _stat(c.median),
                                                _stat(c.min), _stat(c.max))
        shown, exact, mean, median, low, high = found[1]
        return shown, exact, c.n, c.method, ",".join(c.flags), mean, median, low, high


def storing(
    store: Store, summary: RoundConsolidation, results: Iterator[TargetConsolidation], *, whole_round: bool
) -> Iterator[TargetConsolidation]:
    """Pass consolidated targets through while writing them to `consolidated`, `disputes` and `totals`; call
    inside a transaction.

    The rows replaced are the whole round's, or those of the targets marked by stream_consolidation.
    """
    _delete_replaced(store, whole_round=whole_round)
    rows = _RowMaker(store.round_id, summary.tree)
    for target in results:
        _insert(store, [rows(target)])
        yield target


_Rows = tuple[list[tuple[object, ...]], tuple[object, ...], list[tuple[object, ...]]]
"""One target's rows of `consolidated`, `totals` and `disputes`."""


class _RowMaker:
    """A consolidated target's rows, as `storing` writes them."""

    def __init__(self, round_id: str, tree: IndicatorTree) -> None:
        self.round_id, self.tree, self.sections, self.texts = round_id, tree, point_sections(tree), _CellTexts()

    def __call__(self, target: TargetConsolidation) -> _Rows:
        round_id, texts = self.round_id, self.texts
        total = target.total
        parts = part_subtotals(self.tree, self.sections, target)
        return (
            [(round_id, c.target_kind, c.target_id, c.indicator, *texts(c)) for c in target.cells],
            (round_id, target.target_kind, target.target_id, _stat(total.total), total.grade,
             int(total.vetoed), int(total.passed), _stat(total.base), str(Fraction(total.bonus)), total.scored,
             total.applicable, total.pending, ";".join(f"{code}={_stat(v)}" for code, v in parts.items())),
            [(round_id, d.target_kind, d.target_id, d.indicator, d.reviewer_id, d.reason) for d in target.disputes],
        )


def _delete_replaced(store: Store, *, whole_round: bool) -> None:
    """The stale mark and the rows about to be replaced: the whole round's, or those of temp.touched's targets."""
    store.conn.execute("DELETE FROM meta WHERE key = ?", (STALE_KEY,))
    for table in ("consolidated", "disputes", "totals"):
        if whole_round:
            store.conn.execute(f"DELETE FROM {table} WHERE round = ?", (store.round_id,))
        else:
            store.conn.execute(
                f"DELETE FROM {table} WHERE round = ? AND EXISTS (SELECT 1 FROM temp.touched t "
                f"WHERE t.target_kind = {table}.target_kind AND t.target_id = {table}.target_id)",
                (store.round_id,),
            )


_COLUMNS = {
    "consolidated": "round, target_kind, target_id, indicator, value, exact, n, method, flags, mean, median, low, high",
    "totals": "round, target_kind, target_id, total, grade, vetoed, passed, base, bonus, scored, applicable, pending, "
              "parts",
    "disputes": "round, target_kind, target_id, indicator, reviewer_id, reason",
}
"""The columns `storing` writes, per table."""


def _insert(store: Store, targets: Iterable[_Rows], prefix: str = "") -> None:
    """The targets' rows into the round's tables (or into the tables named with `prefix` before theirs)."""
    for table, rows in _by_table(targets).items():
        columns = _COLUMNS[table]
        marks = ", ".join("?" * (columns.count(",") + 1))
        store.conn.executemany(f"INSERT INTO {prefix}{table} ({columns}) VALUES ({marks})", rows)


def _by_table(targets: Iterable[_Rows]) -> dict[str, list[tuple[object, ...]]]:
    """The targets' rows of each table of _COLUMNS, in target order."""
    rows: dict[str, list[tuple[object, ...]]] = {table: [] for table in _COLUMNS}
    for target_cells, total, target_disputes in targets:
        rows["consolidated"] += target_cells
        rows["totals"].append(total)
        rows["disputes"] += target_disputes
    return rows


_STAGED = "temp.staged_"
"""The prefix of recompute_touched's staging copies of the tables (temporary: private to its connection)."""


def consolidated_rows(round_db: Path, targets: Collection[TargetKey]) -> _Share:
    """In a helper process: the rows `storing` would write for these targets (none of them stale-upgraded), as
    _stage takes them."""
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        summary, results = stream_consolidation(store, targets=targets, agreement=False)
        rows = _RowMaker(store.round_id, summary.tree)
        return _share(rows(target) for target in results)
    finally:
        store.close()


_Share = dict[str, str] | list[_Rows]
"""A share's rows as a helper process hands them over: a JSON text per table (json_rows), or the rows themselves
when a text holds NUL."""


def _share(targets: Iterable[_Rows]) -> _Share:
    """The targets' rows for _stage: one JSON text per table crosses between processes and SQLite reads its fields
    in C, where pickling and binding each row's fields from Python cost several times more."""
    targets = list(targets)
    texts: dict[str, str] = {}
    for table, rows in _by_table(targets).items():
        text = json_rows(rows)
        if text is None:
            return targets
        texts[table] = text
    return texts


def _stage(store: Store, share: _Share) -> None:
    """A share's rows into recompute_touched's staging tables, in target order."""
    if isinstance(share, list):
        _insert(store, share, prefix=_STAGED)
        return
    for table, columns in _COLUMNS.items():
        fields = ", ".join(f"r.value ->> {i}" for i in range(columns.count(",") + 1))
        store.conn.execute(f"INSERT INTO {_STAGED}{table} ({columns}) SELECT {fields} FROM json_each(?) AS r "
                           "ORDER BY r.key", (share[table],))


def recompute_touched(store: Store, targets: Collection[TargetKey], pool: Executor | None) -> None:
    """recompute_consolidated for a merge's touched targets, consolidated by the pool's processes in shares while
    this one stages each share's rows as it arrives, then writes them all, in target order and in one transaction
    (the rows recompute_consolidated would write).

    Each target's consolidation reads only that target's scores, so that any split gives the same rows."""
    upgraded = _upgraded(store, targets)
    if pool is None or upgraded is None or len(upgraded) < _SPLIT_MIN:
        recompute_consolidated(store, upgraded)
        return
    calibration = store.calibration_targets()  # never consolidated (stream_consolidation leaves them out too)
    ordered = sorted(key for key in upgraded if key not in calibration)
    step = max(1, -(-len(ordered) // _SHARES))
    futures = [pool.submit(collector.pickled_call, consolidated_rows, store.path, set(ordered[at:at + step]))
               for at in range(0, len(ordered), step)]
    # Each share is staged in this connection's temporary tables as it arrives (no lock on the round), in target
    # order; the round's rows are then replaced from them in one short transaction.
    for table, columns in _COLUMNS.items():
        store.conn.execute(f"DROP TABLE IF EXISTS {_STAGED}{table}")
        store.conn.execute(f"CREATE TABLE {_STAGED}{table} AS SELECT {columns} FROM main.{table} WHERE 0")
    try:
        for future in futures:
            _stage(store, collector.unpickled(future.result()))
        with transaction(store.conn):
            _mark_touched(store, ordered)
            _delete_replaced(store, whole_round=False)
            for table, columns in _COLUMNS.items():
                store.conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM {_STAGED}{table} "
                                   "ORDER BY rowid")
    finally:
        for table in _COLUMNS:
            store.conn.execute(f"DROP TABLE IF EXISTS {_STAGED}{table}")


_SHARES = 8  # small enough that the writing here keeps pace with the consolidating there
_SPLIT_MIN = 200  # fewer touched targets are consolidated here alone: a helper's start would cost more


def read_totals(store: Store) -> dict[TargetKey, tuple[TotalResult, dict[str, Decimal]]]:
    """The current round's stored totals (as `storing` wrote them) and each target's part subtotals, by target;
    call ensure_consolidated first so that they are current."""
    out: dict[TargetKey, tuple[TotalResult, dict[str, Decimal]]] = {}
    for (kind, target_id, total, grade, vetoed, passed, base, bonus, scored, applicable, pending,
         parts) in store.conn.execute(
            "SELECT target_kind, target_id, total, grade, vetoed, passed, base, bonus, scored, applicable, pending, "
            "parts FROM totals WHERE round = ? ORDER BY target_kind, target_id", (store.round_id,)):
        result = TotalResult(None if total is None else Decimal(total), grade, bool(vetoed), bool(passed),
                             Decimal(base), Fraction(bonus), scored, applicable, pending)
        subtotals = {code: Decimal(value) for code, value in (p.split("=", 1) for p in parts.split(";") if p)}
        out[TargetKey(TargetKind(kind), target_id)] = (result, subtotals)
    return out
