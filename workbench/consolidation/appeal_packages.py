"""`workbench appeals ROUND.db --issue -o DIR`: send each open appeal to reviewers who never scored what it appeals.

A reviewer may take an appeal when they were not assigned its target, hold no review of its pairs and no package
issued with them, and no conflict-of-interest rule of set-up forbids it (same 地区, same 单位, a declared conflict:
`workbench.setup.assign.eligibility`, the one owner of those rules). Of those, the ones with the fewest appeal
pairs so far are chosen, in the reviewers file's order. Every appeal is planned before any file is written: when
one has too few eligible reviewers, nothing is issued and the message gives the numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbench.consolidation.appeals import (
    OPEN,
    Appeal,
    AppealRefused,
    AppealState,
    appeal_pairs,
    appeal_states,
    ensure_appeal_tables,
)
from workbench.consolidation.stored import decode_exact, ensure_consolidated
from workbench.model import ReReviewNote, TargetKind
from workbench.scoring.indicators import IndicatorTree, format_consolidated
from workbench.scoring.rules import ConsolidationSettings
from workbench.setup.assign import Reviewer, Target, eligibility
from workbench.setup.conflicts import ConflictIndex, round_conflicts, same_org, same_region
from workbench.setup.package import PackageInfo, Pair, make_package
from workbench.store.db import Store, transaction
from workbench.store.migrations import upgrade
from workbench.store.schema import CONSOLIDATED_EXACT, KIND_ROUND

DEFAULT_PER_ITEM = 2
APPEAL_REASON = "appeal"
"""The reason code an appeal package's notes carry (the app shows it as 申诉)."""


@dataclass(frozen=True)
class AppealPlan:
    """Who takes which appeal."""

    chosen: dict[str, tuple[str, ...]]
    """appeal id → its reviewers."""
    pairs: dict[str, dict[Pair, ReReviewNote]]
    """reviewer → their pairs, each with what the package tells them about it."""
    appeals: dict[str, tuple[str, ...]]
    """reviewer → the appeals their package serves."""


@dataclass(frozen=True)
class Shortfall:
    """Why an appeal has too few reviewers: the numbers."""

    appeal_id: str
    needed: int
    eligible: int
    reviewers: int
    scored: int
    conflicted: int
    region: int
    org: int
    declared: int

    def describe(self) -> str:
        return (f"申诉 {self.appeal_id}：需要 {self.needed} 位复核专家，只有 {self.eligible} 位可选"
                f"（共 {self.reviewers} 位评审专家，{self.scored} 位评过或承担该项，"
                f"{self.conflicted} 位有利益冲突：地区相同 {self.region}、"
                f"单位相同 {self.org}、申报回避 {self.declared}）/ appeal {self.appeal_id}: needs {self.needed} "
                f"reviewer(s), {self.eligible} eligible (of {self.reviewers} reviewers, {self.scored} scored or hold "
                f"the items, {self.conflicted} conflicted: same region {self.region}, same unit {self.org}, declared "
                f"{self.declared})")


def _reviewers(store: Store) -> list[Reviewer]:
    return [Reviewer(r.id, r.name, r.org, r.region, None, frozenset()) for r in store.reviewers()]


def _target(store: Store, kind: TargetKind, target_id: str) -> Target:
    t = next(t for t in store.targets() if t.kind == kind and t.id == target_id)
    return Target(kind, t.id, t.name, t.region, t.name if kind is TargetKind.SITE else t.detail, t.area)


def _holders(store: Store, pairs: list[Pair]) -> set[str]:
    """Reviewers who scored any of these pairs, were assigned their target, or hold a package issued with them."""
    kind, target_id = pairs[0][0], pairs[0][1]
    codes = {code for _, _, code in pairs}
    found = {r[0] for r in store.conn.execute(
        "SELECT reviewer_id FROM assignments WHERE target_kind = ? AND target_id = ?", (kind, target_id))}
    found |= {r[0] for r in store.conn.execute(
        "SELECT reviewer_id, indicator FROM scores WHERE target_kind = ? AND target_id = ?", (kind, target_id))
        if r[1] in codes}
    found |= {r[0] for r in store.conn.execute(
        "SELECT p.reviewer_id, pp.indicator FROM package_pairs pp JOIN packages p ON p.nonce = pp.nonce "
        "WHERE pp.target_kind = ? AND pp.target_id = ?", (kind, target_id)) if r[1] in codes}
    return found


def _conflict_counts(reviewers: list[Reviewer], target: Target, declared: ConflictIndex,
                     candidates: set[str]) -> tuple[int, int, int]:
    region = sum(1 for r in reviewers if r.id in candidates and same_region(r.region, target.region))
    org = sum(1 for r in reviewers if r.id in candidates and same_org(r.org, target.org))
    listed = sum(1 for r in reviewers if r.id in candidates
                 and declared.covering(r.id, target.kind, target.id, target.org) is not None)
    return region, org, listed


def _told(appeal: Appeal) -> str:
    """What an appeal package tells its reviewer about the appeal: id, appellant, reason and evidence."""
    return (f"申诉 {appeal.appeal_id}（{appeal.appellant}）：{appeal.reason}"
            + (f"\n佐证 / evidence: {appeal.evidence}" if appeal.evidence else ""))


def plan_appeals(store: Store, states: list[AppealState], per_item: int) -> AppealPlan:
    """Choose ``per_item`` eligible reviewers for every open appeal; AppealRefused naming each shortfall."""
    tree = IndicatorTree(store.indicators())
    settings = ConsolidationSettings.from_rules(store.rules_mapping())
    reviewers = _reviewers(store)
    declared = round_conflicts(store.conn)
    load: dict[str, int] = defaultdict(int)
    for (reviewer,) in store.conn.execute("SELECT p.reviewer_id FROM package_pairs pp JOIN packages p "
                                          "ON p.nonce = pp.nonce WHERE p.kind = 'appeal'"):
        load[reviewer] += 1
    shortfalls: list[Shortfall] = []
    chosen: dict[str, tuple[str, ...]] = {}
    pairs: dict[str, dict[Pair, ReReviewNote]] = defaultdict(dict)
    serves: dict[str, list[str]] = defaultdict(list)
    planned: dict[frozenset[Pair], tuple[str, ...]] = {}  # this batch's pairs → their reviewers
    for state in states:
        appeal = state.appeal
        wanted = appeal_pairs(tree, appeal)
        same = planned.get(frozenset(wanted))
        if same is not None:  # two appeals of the same items: one re-review answers both
            chosen[appeal.appeal_id] = same
            for reviewer in same:
                serves[reviewer].append(appeal.appeal_id)
                for pair in wanted:
                    earlier = pairs[reviewer][pair]
                    pairs[reviewer][pair] = earlier._replace(appeal=f"{earlier.appeal}\n{_told(appeal)}")
            continue
        target = _target(store, appeal.target_kind, appeal.target_id)
        allowed = eligibility(reviewers, [target], declared)[0]
        holders = _holders(store, wanted) | {reviewer for reviewer, held in pairs.items() if held.keys() & set(wanted)}
        free = {r.id for r in reviewers if r.id not in holders}
        eligible = [r.id for n, r in enumerate(reviewers) if r.id in free and allowed[n]]
        if len(eligible) < per_item:
            region, org, listed = _conflict_counts(reviewers, target, declared, free)
            shortfalls.append(Shortfall(appeal.appeal_id, per_item, len(eligible), len(reviewers), len(holders),
                                        len(free) - len(eligible), region, org, listed))
            continue
        order = {rid: n for n, rid in enumerate(eligible)}
        lightest = sorted(eligible, key=lambda rid: (load[rid], order[rid]))[:per_item]
        picked = tuple(sorted(lightest, key=lambda rid: order[rid]))
        chosen[appeal.appeal_id] = planned[frozenset(wanted)] = picked
        values = {r[0]: r[1] for r in store.conn.execute(
            f"SELECT indicator, {CONSOLIDATED_EXACT} FROM consolidated WHERE round = ? AND target_kind = ? "
            "AND target_id = ?", (store.round_id, appeal.target_kind.value, appeal.target_id))}
        told = _told(appeal)
        for reviewer in picked:
            load[reviewer] += len(wanted)
            serves[reviewer].append(appeal.appeal_id)
            for pair in wanted:
                leaf = tree.get(pair[2])
                published = format_consolidated(leaf, decode_exact(values.get(pair[2])), settings.value_places)
                pairs[reviewer][pair] = ReReviewNote((APPEAL_REASON,), published, "", (), "", told)
    if shortfalls:
        raise AppealRefused(
            "有申诉没有足够的可选复核专家，未签发任何申诉复核评审包；请在评审专家表中增加专家（不同地区、单位，且未申报回避），"
            "或用 --per-item 减少每项复核专家人数 / too few eligible reviewers for some appeals, so no appeal package "
            "was issued: add reviewers (of other regions and units, without declared conflicts) or lower "
            "--per-item:\n  "
            + "\n  ".join(s.describe() for s in shortfalls))
    return AppealPlan(chosen, {r: dict(sorted(p.items())) for r, p in pairs.items()},
                      {r: tuple(a) for r, a in serves.items()})


def ineligible_recipients(store: Store) -> list[tuple[str, str, str]]:
    """(nonce, appeal id, reviewer) of every appeal package issued to someone the rules would not have chosen: one
    assigned the appealed target, or one a conflict-of-interest rule forbids it (what the audit checks)."""
    reviewers = _reviewers(store)
    declared = round_conflicts(store.conn)
    index = {r.id: n for n, r in enumerate(reviewers)}
    assigned = {(a.reviewer_id, a.target_kind.value, a.target_id) for a in store.assignments()}
    appeals = {s.appeal.appeal_id: s.appeal for s in appeal_states(store)}
    out = []
    for nonce, appeal_id, reviewer in store.conn.execute(
            "SELECT ap.nonce, ap.appeal_id, p.reviewer_id FROM appeal_packages ap JOIN packages p "
            "ON p.nonce = ap.nonce ORDER BY p.rowid, ap.appeal_id"):
        appeal = appeals.get(appeal_id)
        if appeal is None or reviewer not in index:
            out.append((nonce, appeal_id, reviewer))
            continue
        target = _target(store, appeal.target_kind, appeal.target_id)
        allowed = eligibility(reviewers, [target], declared)[0]
        if (reviewer, appeal.target_kind.value, appeal.target_id) in assigned or not allowed[index[reviewer]]:
            out.append((nonce, appeal_id, reviewer))
    return out


def issue_appeal_packages(
    round_db: Path, out_dir: Path, *, per_item: int = DEFAULT_PER_ITEM,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[tuple[PackageInfo, tuple[str, ...], list[Pair]]]:
    """Write an appeal package (kind `appeal`) for every reviewer chosen for an open appeal, into out_dir, each
    tied to the appeals it serves; returns (package, its appeal ids, its pairs). Refused, with nothing written,
    when an appeal has too few eligible reviewers or a file exists."""
    if per_item < 1:
        raise AppealRefused(f"--per-item 至少为 1 / --per-item must be at least 1, not {per_item}")
    out_dir = Path(out_dir)
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        upgrade(store.conn)
        ensure_consolidated(store)
        plan = plan_appeals(store, [s for s in appeal_states(store) if s.status == OPEN], per_item)
    finally:
        store.close()
    targets = {reviewer: out_dir / f"{reviewer}-申诉复核.wbk" for reviewer in plan.pairs}
    clash = [str(t) for t in targets.values() if t.exists()]
    if clash:
        raise AppealRefused("文件已存在，不会覆盖；请换一个目录 / these files already exist (choose another "
                            f"directory): {', '.join(clash)}")
    if targets:
        out_dir.mkdir(parents=True, exist_ok=True)
    issued = []
    for reviewer, notes in plan.pairs.items():
        info = make_package(round_db, reviewer, targets[reviewer], pairs=list(notes), kind="appeal", notes=notes)
        store = Store.open(round_db, expect=KIND_ROUND)
        try:
            with transaction(store.conn):
                ensure_appeal_tables(store.conn)
                store.conn.executemany("INSERT INTO appeal_packages (nonce, appeal_id) VALUES (?, ?)",
                                       [(info.nonce, appeal_id) for appeal_id in plan.appeals[reviewer]])
        finally:
            store.close()
        issued.append((info, plan.appeals[reviewer], list(notes)))
        if on_progress is not None:
            on_progress(len(issued), len(plan.pairs))
    return issued
