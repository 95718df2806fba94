"""Targets' totals, grades and dense ranks as the stored consolidation gives them, round by round (`scores --totals`).

Read from `consolidated` alone (the exact values the last merge or report stored, a past round's imported values),
with the rules and ranking groups the report uses; nothing is recomputed from the reviews. Light on imports: a
lookup may call it (no sqlite-utils, no openpyxl).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import NamedTuple

from workbench.consolidation.consolidate import rank_group_of, rank_targets
from workbench.errors import InvalidScore
from workbench.model import NA, IndicatorKind, Target, TargetKey, TargetKind
from workbench.scoring.indicators import UNREVIEWED, VETO_UNDECIDED, IndicatorTree, TotalResult, compute_total
from workbench.scoring.rules import Rules
from workbench.store.db import Store, decode_value
from workbench.store.schema import STALE_KEY


class RankedTotal(NamedTuple):
    result: TotalResult
    rank: int | None
    """Dense, within the target's kind and ranking group; None while the result is held back."""
    group: str
    """The ranking group (排名分组), "" when the round ranks each kind as one group."""


def _attributes(target: Target) -> dict[str, str]:
    """What a ranking group may name, as the report reads it: sites their 层级, cases their 领域, both 地区."""
    if target.kind is TargetKind.SITE:
        return {"region": target.region, "level": target.detail}
    return {"region": target.region, "area": target.area}


def round_totals(store: Store, round_id: str) -> dict[TargetKey, RankedTotal]:
    """Every target of ``round_id`` that has stored consolidated values: its total, grade and rank."""
    tree = IndicatorTree(store.indicators())
    rules = Rules.from_mapping(store.rules_mapping())
    columns = {r[1] for r in store.conn.execute("PRAGMA table_info(consolidated)")}
    exact = "exact" if "exact" in columns else "NULL"
    rows = store.conn.execute(
        f"SELECT target_kind, target_id, indicator, {exact}, value FROM consolidated WHERE round = ? "
        "ORDER BY target_kind, target_id", (round_id,))
    totals: dict[TargetKey, TotalResult] = {}
    for (kind_text, target_id), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        if kind_text not in TargetKind._value2member_map_:
            continue
        kind = TargetKind(kind_text)
        values: dict[str, Fraction | str | None] = {}
        for _, _, code, exact_text, shown in group:
            if exact_text is not None:
                values[code] = exact_text if exact_text == NA else Fraction(exact_text)
            else:  # an imported past round, or one rounded by an earlier version: its stored value
                decoded = decode_value(shown)
                values[code] = decoded if decoded is None or isinstance(decoded, str) else Fraction(decoded)
        try:
            result = compute_total(tree, kind, values, rules)
        except InvalidScore:
            continue  # a past round whose values this round's system does not accept
        leaves = tree.leaves(kind)
        if all(values.get(leaf.code) is None for leaf in leaves):
            result = result.held(UNREVIEWED)
        elif any(values.get(leaf.code) is None and leaf.kind is IndicatorKind.VETO for leaf in leaves):
            result = result.held(VETO_UNDECIDED)
        totals[TargetKey(kind, target_id)] = result
    groups = {TargetKey(t.kind, t.id): rank_group_of(rules, t.kind, _attributes(t))
              for t in store.targets()} if rules.rank_groups else {}
    ranks = rank_targets(totals, groups if rules.rank_groups else None)
    return {key: RankedTotal(result, ranks.get(key), groups.get(key, "")) for key, result in totals.items()}


def consolidation_stale(store: Store) -> bool:
    """True while merged scores wait for the next merge or report to re-consolidate them."""
    return store.conn.execute("SELECT 1 FROM meta WHERE key = ?", (STALE_KEY,)).fetchone() is not None
