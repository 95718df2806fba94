"""Past-score queries behind `workbench scores` and the sites/cases/indicators listings.

This is the CLI's hot path: stdlib sqlite3 only, search keys read from the database (never
computed here), and no import of textual, openpyxl, pypinyin or sqlite_utils. A lookup reads the index the
round stored (stored.py) only as far as its query needs; where none is stored, it loads every key.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from workbench.errors import NotFound
from workbench.model import Indicator, TargetKind
from workbench.search.index import KINDS, SearchEntry, SearchIndex, entry_from_row
from workbench.search.stored import keys_sql, stored_index
from workbench.store.db import Store, decode_value

if TYPE_CHECKING:  # imported by lookup_scores: the listings never need the scoring engine
    from workbench.scoring.indicators import IndicatorTree

# In NOT EXISTS, `+s.round` keeps SQLite off the primary key (round, reviewer_id, …): with round alone it
# would scan every score of the current round per row (13 s on a national round); scores_target is exact.
_SCORES_SQL = """
SELECT s.round, s.target_kind, s.target_id, s.indicator, s.reviewer_id, s.value, {exact} AS consolidated, s.note
FROM scores s LEFT JOIN consolidated c
  ON c.round = s.round AND c.target_kind = s.target_kind AND c.target_id = s.target_id AND c.indicator = s.indicator
WHERE s.target_kind = ? AND s.target_id = ?
UNION ALL
SELECT c.round, c.target_kind, c.target_id, c.indicator, '' AS reviewer_id, NULL AS value, {exact}, '' AS note
FROM consolidated c
WHERE c.target_kind = ? AND c.target_id = ?
  AND NOT EXISTS (SELECT 1 FROM scores s WHERE +s.round = c.round AND s.target_kind = c.target_kind
                  AND s.target_id = c.target_id AND s.indicator = c.indicator)
"""

# The consolidated value shown is the exact one rounded once (format_consolidated), as the report shows it;
# a round made before the exact column existed shows its stored display text.
_EXACT = "CASE WHEN c.exact IS NOT NULL THEN c.exact ELSE c.value END"


SCORES_SQL = _SCORES_SQL.format(exact=_EXACT)


def _scores_sql(store: Store) -> str:
    columns = {r[1] for r in store.conn.execute("PRAGMA table_info(consolidated)")}
    return SCORES_SQL if "exact" in columns else _SCORES_SQL.format(exact="c.value")


def _value_places(store: Store) -> int:
    """得分小数位 as the round's rules set it."""
    from workbench.scoring.rules import ConsolidationSettings

    return ConsolidationSettings.from_rules(store.rules_mapping()).value_places


SCORE_COLUMNS = ("round", "target", "indicator", "reviewer", "value", "consolidated", "note")
SCORE_HEADERS = {
    "zh": ("轮次", "对象", "指标", "评审专家", "得分", "汇总得分", "备注"),
    "en": ("round", "target", "indicator", "reviewer", "value", "consolidated", "note"),
}


class NoMatch(NotFound):
    """Nothing matched the query; carries the nearest names to suggest."""

    def __init__(self, what: tuple[str, str], query: str, nearest: list[str]) -> None:
        hint = f"\n最接近的 / nearest: {'、'.join(nearest)}" if nearest else ""
        super().__init__(f"没有与「{query}」匹配的{what[0]} / no {what[1]} matches {query!r}{hint}")
        self.nearest = nearest


class ScoreRow(NamedTuple):
    round: str
    target: str
    """The target's name."""
    indicator: str
    """The indicator's code."""
    reviewer: str
    value: str
    consolidated: str
    note: str
    target_kind: str = ""
    target_id: str = ""
    indicator_name: str = ""

    def cells(self) -> tuple[str, ...]:
        """As a table or CSV shows it: the indicator as "code name"."""
        indicator = f"{self.indicator} {self.indicator_name}".strip()
        return (self.round, self.target, indicator, self.reviewer, self.value, self.consolidated, self.note)

    def document(self) -> dict[str, object]:
        """As JSON carries it: ids and codes in their own fields, values as numbers (see json_value)."""
        return {"round": self.round, "target_kind": self.target_kind, "target_id": self.target_id,
                "target": self.target, "indicator": self.indicator, "indicator_name": self.indicator_name,
                "reviewer": self.reviewer, "value": json_value(self.value),
                "consolidated": json_value(self.consolidated), "note": self.note}


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def json_value(shown: str) -> Decimal | str | None:
    """A value as JSON carries it: a number (the exact decimal shown, e.g. 1.50) as a Decimal for json_text to
    write as a number literal; 不适用 and a veto's 是/否 stay text; an empty value is null."""
    if not shown:
        return None
    return Decimal(shown) if _PLAIN_DECIMAL.fullmatch(shown) else shown


def load_index(store: Store, kinds: tuple[str, ...] = KINDS, *, lazy: bool = False) -> SearchIndex:
    """The search index over `kinds`: the stored one where the database holds it, else made from every key.

    ``lazy`` reads the stored index from the store as queries need it (the store must stay open while it is
    used, on this thread); otherwise the index never touches the store again once returned.
    """
    stored = stored_index(store.conn, kinds, eager=not lazy)
    if stored is not None:
        return stored
    return SearchIndex.from_rows(store.conn.execute(keys_sql(kinds), kinds))


WHAT = {
    (TargetKind.SITE, TargetKind.CASE): ("网站或案例", "site or case"),
    ("indicator",): ("指标", "indicator"),
    (TargetKind.SITE,): ("网站", "site"),
    (TargetKind.CASE,): ("案例", "case"),
}


def resolve(index: SearchIndex, query: str, kinds: tuple[str, ...]) -> list[SearchEntry]:
    hits = index.search(query, limit=10, kinds=kinds)
    if not hits:
        raise NoMatch(WHAT[kinds], query, [e.name for e in index.nearest(query, limit=5) if e.kind in kinds])
    return [h.entry for h in hits]


def _leaves_for(tree: IndicatorTree, entries: list[SearchEntry]) -> list[Indicator]:
    """The leaves an indicator query means: the best hit, and for a group every leaf beneath it."""
    best = entries[0]
    if tree.is_leaf(best.id):
        return [tree.get(best.id)]
    return [leaf for leaf in tree.leaves() if best.id in {p.code for p in tree.path(leaf.code)}]


class ScoresResult(NamedTuple):
    target: SearchEntry
    also: list[SearchEntry]
    rows: list[ScoreRow]


def lookup_scores(
    store: Store,
    query: str,
    *,
    indicator: str | None = None,
    round_id: str | None = None,
    reviewer: str | None = None,
    lang: str = "zh",
) -> ScoresResult:
    check_round_and_reviewer(store, round_id, reviewer)
    index = load_index(store, lazy=True)
    targets = resolve(index, query, (TargetKind.SITE, TargetKind.CASE))
    target, also = targets[0], targets[1:4]
    from workbench.scoring.indicators import IndicatorTree, format_consolidated, format_value

    tree = IndicatorTree(store.indicators())
    wanted: set[str] | None = None
    if indicator:
        wanted = {i.code for i in _leaves_for(tree, resolve(index, indicator, ("indicator",)))}
    order = {leaf.code: n for n, leaf in enumerate(tree.leaves())}
    years = {r["id"]: (r["year"] or 0, r["id"]) for r in store.rounds()}
    places = _value_places(store)
    rows = []
    for r in store.conn.execute(_scores_sql(store), (target.kind, target.id, target.kind, target.id)):
        if wanted is not None and r["indicator"] not in wanted:
            continue
        if round_id is not None and r["round"] != round_id:
            continue
        if reviewer is not None and r["reviewer_id"] != reviewer:
            continue
        if r["indicator"] not in tree:
            continue
        ind = tree.get(r["indicator"])
        rows.append((years.get(r["round"], (0, r["round"])), order.get(ind.code, 0), r["reviewer_id"], ScoreRow(
            round=r["round"], target=target.name, indicator=ind.code, reviewer=r["reviewer_id"],
            value=format_value(ind, decode_value(r["value"]), lang),
            consolidated=format_consolidated(ind, r["consolidated"], places, lang), note=r["note"],
            target_kind=target.kind, target_id=target.id, indicator_name=ind.name,
        )))
    rows.sort(key=lambda t: (tuple(-x if isinstance(x, int) else x for x in t[0]), t[1], t[2]))
    return ScoresResult(target, also, [t[3] for t in rows])


def _choices(items: list[str]) -> str:
    return "、".join(items[:30]) + (f" …（共 {len(items)} / {len(items)} in all）" if len(items) > 30 else "")


def check_round_and_reviewer(store: Store, round_id: str | None, reviewer: str | None) -> None:
    """Refuse a --round or --reviewer the database does not hold, naming the ones it does."""
    if round_id is not None:
        rounds = [r["id"] for r in store.rounds()]
        if round_id not in rounds:
            raise NotFound(f"没有轮次「{round_id}」；可选：{_choices(rounds)} / no round {round_id!r} here; "
                           f"the rounds are: {_choices(rounds)}")
    if reviewer is not None:
        reviewers = [r.id for r in store.reviewers()]
        if reviewer not in reviewers:
            raise NotFound(f"没有评审专家「{reviewer}」；可选：{_choices(reviewers)} / no reviewer {reviewer!r} here; "
                           f"the reviewers are: {_choices(reviewers)}")


def list_entries(store: Store, kind: str, query: str | None) -> list[SearchEntry]:
    """All sites/cases/indicators, or those matching a fuzzy query (best first)."""
    if not query:
        return [entry_from_row(row) for row in store.conn.execute(keys_sql((kind,)), (kind,))]
    return resolve(load_index(store, (kind,), lazy=True), query, (kind,))
