"""Run the consolidation over a round database's merged scores and keep the result in `consolidated`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from .consolidate import (
    Agreement,
    ConsolidationSettings,
    Dispute,
    IgnoredReview,
    Review,
    TargetConsolidation,
    iter_consolidation,
)
from .indicators import IndicatorTree, Rules, TotalResult
from .store import Store, decode_value, encode_value, transaction


@dataclass
class RoundConsolidation:
    """Everything a report needs, gathered while streaming target by target."""

    tree: IndicatorTree
    rules: Rules
    settings: ConsolidationSettings
    agreement: Agreement
    totals: dict[tuple[str, str], TotalResult] = field(default_factory=dict)
    disputes: list[Dispute] = field(default_factory=list)
    ignored: list[IgnoredReview] = field(default_factory=list)


def _reviews(store: Store) -> Iterator[Review]:
    rows = store.conn.execute(
        "SELECT target_kind, target_id, indicator, reviewer_id, value FROM scores WHERE round = ? "
        "ORDER BY target_kind, target_id",
        (store.round_id,),
    )
    for r in rows:
        yield (r[0], r[1], r[2], r[3], decode_value(r[4]))


def stream_consolidation(store: Store) -> tuple[RoundConsolidation, Iterator[TargetConsolidation]]:
    """The round's consolidation, one target at a time; the summary fills as the iterator runs."""
    tree = IndicatorTree(store.indicators())
    mapping = store.rules_mapping()
    rules = Rules.from_mapping(mapping)
    settings = ConsolidationSettings.from_rules(mapping)
    summary = RoundConsolidation(tree, rules, settings, Agreement(tree))
    assignments: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a in store.assignments():
        assignments[(a.target_kind.value, a.target_id)].add(a.reviewer_id)

    def run() -> Iterator[TargetConsolidation]:
        for target in iter_consolidation(tree, rules, settings, _reviews(store), assignments,
                                         ignored=summary.ignored, agreement=summary.agreement):
            summary.totals[(target.target_kind, target.target_id)] = target.total
            summary.disputes.extend(target.disputes)
            yield target

    return summary, run()


def recompute_consolidated(store: Store) -> RoundConsolidation:
    """Replace the current round's rows of `consolidated` from its merged scores, in one transaction."""
    summary, targets = stream_consolidation(store)
    with transaction(store.conn):
        store.conn.execute("DELETE FROM consolidated WHERE round = ?", (store.round_id,))
        for target in targets:
            store.conn.executemany(
                "INSERT INTO consolidated (round, target_kind, target_id, indicator, value, n, method, flags) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (store.round_id, c.target_kind, c.target_id, c.indicator, encode_value(c.value), c.n,
                     c.method, ",".join(c.flags))
                    for c in target.cells
                ],
            )
    return summary
