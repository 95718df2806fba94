"""Where a round stands: per reviewer what was assigned and received, per target which reviews are in."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from workbench.errors import WorkbenchError
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


@dataclass(frozen=True)
class RoundProgress:
    """What a round still lacks before its results can be read as final."""

    exports_merged: int
    targets: int
    targets_short: int
    """Targets with an assigned reviewer who has not scored every applicable leaf."""
    reviewers_short: int
    """Reviewers with at least one such target."""

    @property
    def complete(self) -> bool:
        return self.exports_merged > 0 and self.targets_short == 0

    def describe(self) -> tuple[str, str]:
        """(Chinese, English) counts, as the guardrails and the 未完成 banner say them."""
        return (
            f"已合并导出 {self.exports_merged} 份；{self.targets_short} / {self.targets} 个对象、"
            f"{self.reviewers_short} 位评审专家仍缺评分",
            f"{self.exports_merged} export(s) merged; {self.targets_short} of {self.targets} target(s) and "
            f"{self.reviewers_short} reviewer(s) still short of reviews",
        )


class RoundIncomplete(WorkbenchError):
    """A command that reads results refused on a round that has none yet, or not all of them."""


def round_progress(store: Store) -> RoundProgress:
    status = round_status(store)
    merged = store.conn.execute("SELECT count(*) FROM submissions WHERE outcome = 'merged'").fetchone()[0]
    return RoundProgress(
        exports_merged=merged,
        targets=len(status.targets),
        targets_short=sum(1 for t in status.targets if t.missing_reviewers),
        reviewers_short=sum(1 for r in status.reviewers if r.missing),
    )


def check_complete(progress: RoundProgress, command: str) -> None:
    """RoundIncomplete saying what is missing unless the round is complete (``command`` names the CLI command
    that may go on with --allow-incomplete)."""
    if progress.complete:
        return
    zh, en = progress.describe()
    head = ("轮次尚无已合并的导出" if progress.exports_merged == 0 else "轮次尚未完成",
            "the round has no merged export yet" if progress.exports_merged == 0 else "the round is not complete")
    raise RoundIncomplete(
        f"{head[0]}：{zh}。请先合并评审专家的导出（workbench merge），或加 --allow-incomplete 生成标明“未完成”的结果 / "
        f"{head[1]}: {en}. Merge the reviewers' exports first (workbench merge), or pass --allow-incomplete "
        f"for {command} marked 未完成 (incomplete)"
    )
