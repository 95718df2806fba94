"""Where a round stands: per reviewer what was assigned and received, per target which reviews are in."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from workbench.model import TargetKind
from workbench.scoring.indicators import IndicatorTree
from workbench.store.db import Store


@dataclass(frozen=True)
class ReviewerStatus:
    reviewer_id: str
    name: str
    assigned: int
    received: int          # targets with every assigned indicator scored in merged exports
    exports: int           # exports merged
    latest_seq: int | None
    last_merged: str
    missing: tuple[str, ...]  # target ids still without a complete review from this reviewer


@dataclass(frozen=True)
class TargetStatus:
    target_kind: str
    target_id: str
    name: str
    assigned: int
    reviews_in: int
    missing_reviewers: tuple[str, ...]


@dataclass(frozen=True)
class RoundStatus:
    reviewers: list[ReviewerStatus]
    targets: list[TargetStatus]

    @property
    def complete(self) -> bool:
        return all(not t.missing_reviewers for t in self.targets)


def round_status(store: Store) -> RoundStatus:
    tree = IndicatorTree(store.indicators())
    leaves = {kind.value: len(tree.leaves(kind)) for kind in TargetKind}
    scored: dict[tuple[str, str, str], int] = {}
    for row in store.conn.execute(
        "SELECT reviewer_id, target_kind, target_id, count(value) FROM scores WHERE round = ? "
        "GROUP BY reviewer_id, target_kind, target_id",
        (store.round_id,),
    ):
        scored[(row[0], row[1], row[2])] = row[3]
    ledger: dict[str, tuple[int, int | None, str]] = {}
    for row in store.conn.execute(
        "SELECT reviewer_id, count(*), max(seq), max(verified_at) FROM submissions "
        "WHERE outcome = 'merged' GROUP BY reviewer_id"
    ):
        ledger[row[0]] = (row[1], row[2], row[3] or "")
    names = {(t.kind.value, t.id): t.name for t in store.targets()}
    by_target: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_reviewer: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for a in store.assignments():
        key = (a.target_kind.value, a.target_id)
        by_target[key].append(a.reviewer_id)
        by_reviewer[a.reviewer_id].append(key)

    def done(reviewer: str, kind: str, target: str) -> bool:
        return scored.get((reviewer, kind, target), 0) >= leaves[kind] > 0

    reviewers = []
    for r in store.reviewers():
        mine = by_reviewer.get(r.id, [])
        missing = tuple(t for k, t in mine if not done(r.id, k, t))
        exports, seq, last = ledger.get(r.id, (0, None, ""))
        reviewers.append(ReviewerStatus(r.id, r.name, len(mine), len(mine) - len(missing), exports, seq, last, missing))
    targets = []
    for (kind, tid), assigned in sorted(by_target.items()):
        missing_r = tuple(r for r in assigned if not done(r, kind, tid))
        targets.append(TargetStatus(kind, tid, names.get((kind, tid), tid), len(assigned),
                                    len(assigned) - len(missing_r), missing_r))
    return RoundStatus(reviewers, targets)
