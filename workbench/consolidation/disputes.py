"""Send disputed cells back: one re-review package per reviewer concerned, only their disputed pairs."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from workbench.consolidation.stored import stream_consolidation
from workbench.errors import WorkbenchError
from workbench.setup.package import PackageInfo, Pair, make_package
from workbench.store.db import Store
from workbench.store.schema import KIND_ROUND


def disputed_pairs(round_db: Path) -> dict[str, list[Pair]]:
    """Reviewer id → the (target, indicator) pairs the consolidation sends back to them."""
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        summary, targets = stream_consolidation(store)
        for _ in targets:
            pass
    finally:
        store.close()
    pairs: dict[str, set[Pair]] = defaultdict(set)
    for d in summary.disputes:
        pairs[d.reviewer_id].add((d.target_kind, d.target_id, d.indicator))
    return {reviewer: sorted(p) for reviewer, p in sorted(pairs.items())}


def issue_rereview_packages(round_db: Path, out_dir: Path) -> list[PackageInfo]:
    """Write a re-review package for every reviewer with disputed cells into out_dir."""
    out_dir = Path(out_dir)
    by_reviewer = disputed_pairs(round_db)
    targets = [out_dir / f"{reviewer}-复核.wbk" for reviewer in by_reviewer]
    clash = [str(t) for t in targets if t.exists()]
    if clash:
        raise WorkbenchError(f"文件已存在，不会覆盖 / these files already exist: {', '.join(clash)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        make_package(round_db, reviewer, path, pairs=pairs, kind="re-review")
        for (reviewer, pairs), path in zip(by_reviewer.items(), targets, strict=True)
    ]
