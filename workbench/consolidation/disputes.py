"""The life of a dispute: listed, sent back for re-review, closed by the re-review's merge or by the coordinator.

A dispute is a cell (target × indicator) the stored consolidation flags as a disagreement or an out-of-range
value, with the reviewers it goes back to (`disputes`, rewritten with `consolidated`). It is

- open (待复核) until a re-review package holding it is issued, then
- sent (复核中) until every re-review package issued for it has been merged: then it is re-reviewed (已复核);
- accepted (已接受) when the coordinator accepts its consolidated value with a reason, which is kept for good in
  `dispute_decisions`. An acceptance holds for the value accepted: should later merges change the value, the
  dispute is open again.

A missing review is not a dispute: the reviewer still holds the package to complete, and the guardrails
(`check_complete`) keep a coordinator from reading an incomplete round as a finished one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from workbench.consolidation.status import RoundProgress, check_complete, round_progress
from workbench.consolidation.stored import decode_exact, ensure_consolidated
from workbench.errors import NotFound, WorkbenchError
from workbench.model import Indicator, IndicatorKind, ReReviewNote, TargetKind
from workbench.scoring.indicators import IndicatorTree, format_consolidated, format_value
from workbench.scoring.rules import ConsolidationSettings, plain
from workbench.setup.package import PackageInfo, Pair, make_package
from workbench.store.db import Store, decode_value, transaction, utc_now
from workbench.store.schema import CONSOLIDATED_EXACT, KIND_ROUND

OPEN = "open"
SENT = "sent"
RE_REVIEWED = "re-reviewed"
ACCEPTED = "accepted"
STATUS_LABELS = {OPEN: "待复核", SENT: "复核中", RE_REVIEWED: "已复核", ACCEPTED: "已接受"}
REASONS = ("disagreement", "out-of-range")
"""The dispute reasons that send a cell back (a missing review is not one)."""
REASON_LABELS = {"disagreement": "评分分歧", "out-of-range": "超出范围"}


class DisputeItem(NamedTuple):
    """One disputed cell as the coordinator sees it (a NamedTuple: a national round has 400k of them, and a
    frozen dataclass takes several times as long to make)."""

    target_kind: TargetKind
    target_id: str
    target_name: str
    indicator: str
    indicator_name: str
    values: tuple[tuple[str, str], ...]
    """(reviewer id, the value they gave, as shown) for each reviewer of the cell."""
    consensus: str
    """The consolidated value as shown (format_consolidated)."""
    exact: Fraction | str | None
    reasons: tuple[str, ...]
    recipients: tuple[str, ...]
    """The reviewers it goes back to."""
    status: str
    """open | sent | re-reviewed | accepted"""
    accepted_reason: str = ""
    spread: str = ""
    """max − min of the numeric values, as written ("" for a veto or fewer than two values)."""
    sent: tuple[tuple[str, str], ...] = ()
    """(reviewer, reason) for each reviewer it goes back to, in reviewer order: one row each in 争议复核."""

    @property
    def is_open(self) -> bool:
        return self.status in (OPEN, SENT)


@dataclass(frozen=True)
class DisputeCounts:
    open: int
    sent: int
    re_reviewed: int
    accepted: int


_ITEMS_SQL = f"""
SELECT d.target_kind, d.target_id, d.indicator, group_concat(d.reason || char(31) || d.reviewer_id, char(30)),
    (SELECT {CONSOLIDATED_EXACT} FROM consolidated c WHERE c.round = d.round AND c.target_kind = d.target_kind
     AND c.target_id = d.target_id AND c.indicator = d.indicator),
    (SELECT group_concat(s.reviewer_id || char(31) || ifnull(s.value, ''), char(30)) FROM scores s
     WHERE s.round = d.round AND s.target_kind = d.target_kind AND s.target_id = d.target_id
     AND s.indicator = d.indicator)
FROM disputes d JOIN temp.dispute_leaf_order o ON o.code = d.indicator
WHERE d.round = ? AND d.reason IN ({", ".join("?" for _ in REASONS)})
GROUP BY d.target_kind, d.target_id, d.indicator
ORDER BY d.target_kind != 'site', d.target_id, min(o.n)
"""
"""Each disputed cell once, in target and indicator order (sites first): its reasons and recipients, its stored
consolidated value and every review of it (reviewer and value joined by the unit and record separators, which
no id or value holds; an empty value is a review without one)."""


def leaf_order_table(store: Store, tree: IndicatorTree) -> str:
    """A temporary table (code, n) of the leaves in display order, for queries to sort disputes by as
    `dispute_items` yields them; returns its name."""
    conn = store.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS dispute_leaf_order (code TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    conn.execute("DELETE FROM temp.dispute_leaf_order")
    conn.executemany("INSERT INTO temp.dispute_leaf_order VALUES (?, ?)",
                     [(leaf.code, n) for n, leaf in enumerate(tree.leaves())])
    return "temp.dispute_leaf_order"


def _split(joined: str | None) -> list[tuple[str, str]]:
    if not joined:
        return []
    return [(first, second) for first, _, second in (part.partition("\x1f") for part in joined.split("\x1e"))]


_Sent = tuple[tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]]
"""A cell's (reviewer, reason) pairs in reviewer order, its reasons in REASONS' order, and its recipients."""


def _sent(sent_to: str | None) -> _Sent:
    sent = sorted((reviewer, reason) for reason, reviewer in _split(sent_to))
    by_reason: dict[str, set[str]] = defaultdict(set)
    for reviewer, reason in sent:
        by_reason[reason].add(reviewer)
    return (tuple(sent), tuple(reason for reason in REASONS if reason in by_reason),
            tuple(sorted(set().union(*by_reason.values()))))


def _bounded(cache: dict[Any, Any]) -> dict[Any, Any]:
    """``cache`` emptied once it holds 100,000 entries: a bound, never reached by the few recipients' sets and
    values a round's cells share."""
    if len(cache) > 100_000:
        cache.clear()
    return cache


def dispute_items(store: Store) -> Iterator[DisputeItem]:
    """Every disputed cell of the current round, in target and indicator order, with its status. Streamed
    from one ordered query, so that a round with hundreds of thousands of disputes is never held in memory.

    The cells of a round share few sets of recipients and few lists of values (each indicator's, in reviewer
    order): each is worked out once, what it shows and its spread with it."""
    tree = IndicatorTree(store.indicators())
    settings = ConsolidationSettings.from_rules(store.rules_mapping())
    rid = store.round_id
    issued: dict[tuple[str, str, str], list[bool]] = defaultdict(list)  # the re-review packages: few
    for r in store.conn.execute(
        "SELECT pp.target_kind, pp.target_id, pp.indicator, EXISTS (SELECT 1 FROM submissions s "
        "WHERE s.nonce = p.nonce AND s.outcome = 'merged') FROM package_pairs pp "
        "JOIN packages p ON p.nonce = pp.nonce WHERE p.kind = 're-review' AND p.round = ?", (rid,)
    ):
        issued[(r[0], r[1], r[2])].append(bool(r[3]))
    accepted: dict[tuple[str, str, str], tuple[str | None, str]] = {}
    for r in store.conn.execute(
        "SELECT target_kind, target_id, indicator, exact, reason FROM dispute_decisions WHERE round = ? "
        "AND decision = 'accepted' ORDER BY id", (rid,)
    ):
        accepted[(r[0], r[1], r[2])] = (r[3], r[4])
    conn = store.conn
    leaf_order_table(store, tree)
    names: dict[tuple[str, str], str] | None = None
    # (indicator, stored value) → as shown and decoded: few of each per indicator
    shown: dict[tuple[str, str], tuple[str, Decimal | str | None]] = {}
    consensus_of: dict[tuple[str, str | None], tuple[Fraction | str | None, str]] = {}  # the same for results
    sent_of: dict[str | None, _Sent] = {}  # the reasons and reviewers of disputes → the cell's pairs
    # (indicator, its values in reviewer order) → each as shown, and their spread
    given_of: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}
    kinds = {kind.value: kind for kind in TargetKind}
    for kind, target_id, code, sent_to, exact_text, reviews in conn.execute(_ITEMS_SQL, (rid, *REASONS)):
        if names is None:  # only a round with disputes needs its targets' names
            names = {(t.kind.value, t.id): t.name for t in store.targets()}
        cell = (kind, target_id, code)
        leaf = tree.get(code)
        decision = accepted.get(cell)
        merged = issued.get(cell)
        if decision is not None and decision[0] == exact_text:
            status = ACCEPTED
        elif merged and all(merged):
            status = RE_REVIEWED
        elif merged:
            status = SENT
        else:
            status = OPEN
        known = consensus_of.get((code, exact_text))
        if known is None:
            exact = decode_exact(exact_text)
            known = consensus_of[(code, exact_text)] = (exact, format_consolidated(leaf, exact, settings.value_places))
        exact, consensus = known
        recipients = sent_of.get(sent_to)
        if recipients is None:
            recipients = _bounded(sent_of)[sent_to] = _sent(sent_to)
        # reviewer, value, reviewer, value …: neither an id nor a stored value holds either separator
        fields = reviews.replace("\x1e", "\x1f").split("\x1f") if reviews else []
        reviewers = fields[0::2]
        if reviewers != sorted(reviewers):
            fields = [field for pair in sorted(zip(reviewers, fields[1::2], strict=True)) for field in pair]
            reviewers = fields[0::2]
        values = (code, *fields[1::2])
        found = given_of.get(values)
        if found is None:
            found = _bounded(given_of)[values] = _given(leaf, values[1:], shown)
        yield DisputeItem(
            target_kind=kinds[kind], target_id=target_id, target_name=names.get((kind, target_id), ""),
            indicator=code, indicator_name=leaf.name, values=tuple(zip(reviewers, found[0], strict=True)),
            consensus=consensus, exact=exact, reasons=recipients[1], recipients=recipients[2], status=status,
            spread=found[1], accepted_reason=decision[1] if decision is not None and status == ACCEPTED else "",
            sent=recipients[0],
        )


def _given(leaf: Indicator, raws: tuple[str, ...],
           shown: dict[tuple[str, str], tuple[str, Decimal | str | None]]) -> tuple[tuple[str, ...], str]:
    """A cell's stored values ("" for a review without one) as shown, and their spread: max − min of the
    numeric ones, as written ("" for a veto or fewer than two)."""
    texts: list[str] = []
    numbers: list[Decimal] = []
    for raw in raws:
        seen = shown.get((leaf.code, raw))
        if seen is None:
            value = decode_value(raw) if raw else None
            seen = shown[(leaf.code, raw)] = (format_value(leaf, value) if value is not None else "—", value)
        texts.append(seen[0])
        if isinstance(seen[1], Decimal):
            numbers.append(seen[1])
    spread = ""
    if len(numbers) >= 2 and leaf.kind != IndicatorKind.VETO:
        spread = plain(max(numbers) - min(numbers))
    return tuple(texts), spread


def _open_round(round_db: Path) -> Store:
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        ensure_consolidated(store)
    except BaseException:
        store.close()
        raise
    return store


@contextmanager
def open_disputes(round_db: Path, *, every: bool = False) -> Iterator[Iterator[DisputeItem]]:
    """The round's open disputes (sent ones included) as they stream from the round, which stays open until the
    block ends; ``every`` adds the closed ones. A refusal to open the round is raised on entering."""
    store = _open_round(round_db)
    try:
        yield (item for item in dispute_items(store) if every or item.is_open)
    finally:
        store.close()


def list_disputes(round_db: Path, *, every: bool = False) -> list[DisputeItem]:
    """The round's open disputes (sent ones included); ``every`` adds the closed ones."""
    with open_disputes(round_db, every=every) as items:
        return list(items)


def count_disputes(store: Store) -> DisputeCounts:
    """How many disputes are open, sent, re-reviewed and accepted (from the stored consolidation as it is)."""
    counts = dict.fromkeys((OPEN, SENT, RE_REVIEWED, ACCEPTED), 0)
    for item in dispute_items(store):
        counts[item.status] += 1
    return DisputeCounts(counts[OPEN], counts[SENT], counts[RE_REVIEWED], counts[ACCEPTED])


def accept_dispute(
    round_db: Path, target_id: str, indicator: str, reason: str, *, target_kind: TargetKind | None = None
) -> DisputeItem:
    """Accept the consolidated value of an open dispute, with a reason kept for good; returns the item as it
    was. Refused when the cell is not an open dispute or the reason is empty."""
    store = _open_round(round_db)
    try:
        items = [i for i in dispute_items(store) if i.target_id == target_id and i.indicator == indicator
                 and (target_kind is None or i.target_kind == target_kind)]
        if not items:
            raise NotFound(
                f"「{target_id}」的指标「{indicator}」没有争议 / {target_id} {indicator} is not disputed; "
                "see workbench disputes ROUND.db --list"
            )
        if len(items) > 1:
            raise WorkbenchError(
                f"网站与案例都有编号「{target_id}」，请用 --kind site 或 --kind case 指明 / both a site and a case "
                f"have id {target_id}: say which with --kind site or --kind case"
            )
        item = items[0]
        if not item.is_open:
            raise WorkbenchError(
                f"「{target_id}」的指标「{indicator}」的争议已{STATUS_LABELS[item.status]}，无需再接受 / "
                f"the dispute of {target_id} {indicator} is already {item.status}"
            )
        if not reason.strip():
            raise WorkbenchError("请用 --reason 说明接受的理由 / give the reason for accepting with --reason")
        exact = item.exact
        with transaction(store.conn):
            store.conn.execute(
                "INSERT INTO dispute_decisions (at, round, target_kind, target_id, indicator, decision, reason, exact, "
                "shown) VALUES (?, ?, ?, ?, ?, 'accepted', ?, ?, ?)",
                (utc_now(), store.round_id, item.target_kind.value, item.target_id, item.indicator, reason.strip(),
                 None if exact is None else str(exact), item.consensus),
            )
        return item
    finally:
        store.close()


def rereview_note(item: DisputeItem, reviewer_id: str) -> ReReviewNote:
    """What a re-review package tells ``reviewer_id`` about one of its disputed pairs: the others' values, not
    named (专家A, 专家B … in the order of their values), the consensus, the spread and the reason."""
    others = sorted((shown for reviewer, shown in item.values if reviewer != reviewer_id), key=_value_order)
    own = next((shown for reviewer, shown in item.values if reviewer == reviewer_id), "")
    return ReReviewNote(
        reasons=item.reasons, consensus=item.consensus, spread=item.spread,
        others=tuple((f"专家{chr(ord('A') + n)}", shown) for n, shown in enumerate(others)), own=own,
    )


def _value_order(shown: str) -> tuple[int, Decimal, str]:
    try:
        return (0, Decimal(shown), shown)
    except ArithmeticError:
        return (1, Decimal(0), shown)


def disputed_pairs(round_db: Path) -> dict[str, dict[Pair, ReReviewNote]]:
    """Reviewer id → the (target, indicator) pairs of open disputes not yet sent back to anyone, each with what
    its re-review package tells the reviewer about it."""
    store = _open_round(round_db)
    try:
        pairs: dict[str, dict[Pair, ReReviewNote]] = defaultdict(dict)
        for item in dispute_items(store):
            if item.status == OPEN:
                for reviewer in item.recipients:
                    pair = (item.target_kind.value, item.target_id, item.indicator)
                    pairs[reviewer][pair] = rereview_note(item, reviewer)
    finally:
        store.close()
    return {reviewer: dict(sorted(p.items())) for reviewer, p in sorted(pairs.items())}


def progress(round_db: Path) -> RoundProgress:
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        return round_progress(store)
    finally:
        store.close()


def issue_rereview_packages(
    round_db: Path, out_dir: Path, *, allow_incomplete: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[tuple[PackageInfo, list[Pair]]]:
    """Write a re-review package for every reviewer with open disputes not yet sent, into out_dir; each package
    with the pairs it holds. ``on_progress(done, total)`` follows the packages written.

    Refused (RoundIncomplete) while nothing is merged or targets are short of reviews, unless
    ``allow_incomplete``.
    """
    out_dir = Path(out_dir)
    if not allow_incomplete:
        check_complete(progress(round_db), "disputes")
    by_reviewer = disputed_pairs(round_db)
    targets = [out_dir / f"{reviewer}-复核.wbk" for reviewer in by_reviewer]
    clash = [str(t) for t in targets if t.exists()]
    if clash:
        raise WorkbenchError(f"文件已存在，不会覆盖 / these files already exist: {', '.join(clash)}")
    if by_reviewer:
        out_dir.mkdir(parents=True, exist_ok=True)
    issued = []
    for (reviewer, notes), path in zip(by_reviewer.items(), targets, strict=True):
        info = make_package(round_db, reviewer, path, pairs=list(notes), kind="re-review", notes=notes)
        issued.append((info, list(notes)))
        if on_progress is not None:
            on_progress(len(issued), len(targets))
    return issued
