"""Disputes worth a re-review: measured rates on simulated rounds of three reviewers who mostly agree.

Each round: every target's true value on every leaf is drawn uniformly on the leaf's steps, and each of three
reviewers scores it with Gaussian noise (a share of the leaf's points), rounded to the step and clipped to the
points. The noise is chosen so that Krippendorff's alpha (the report's overall figure) lies between 0.90 and
0.95; the default dispute rule must then send back at most 10 % of the targets.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest

from workbench.consolidation.consolidate import Review, consolidate
from workbench.model import Indicator, IndicatorKind, TargetKind
from workbench.scoring.indicators import IndicatorTree
from workbench.scoring.rules import ConsolidationSettings, Rules
from workbench.setup.demo import FIXTURES, setup_files
from workbench.setup.round import init_round
from workbench.store.db import Store
from workbench.store.schema import KIND_ROUND

REVIEWERS = ("R1", "R2", "R3")
DEFAULT = ConsolidationSettings()


@pytest.fixture(scope="module")
def demo_tree(tmp_path_factory: pytest.TempPathFactory) -> IndicatorTree:
    db = tmp_path_factory.mktemp("demo") / "round.db"
    init_round(db, "2022", setup_files(FIXTURES / "demo-2022"))
    store = Store.open(db, expect=KIND_ROUND)
    try:
        return IndicatorTree(store.indicators())
    finally:
        store.close()


def seven_leaf_tree() -> IndicatorTree:
    points = (45, 10, 5, 15, 10, 10, 5)
    return IndicatorTree([
        Indicator(code=f"L{n}", name=f"指标{n}", kind=IndicatorKind.SCORE, max_score=Decimal(p), step=Decimal("0.01"),
                  position=n)
        for n, p in enumerate(points, 1)
    ])


def _on_step(value: float, leaf: Indicator) -> Decimal:
    steps = round(value / float(leaf.step))
    return min(max(Decimal(steps) * leaf.step, Decimal(0)), leaf.max_score)


def simulate(
    tree: IndicatorTree, kinds: Sequence[tuple[TargetKind, int]], noise: float, seed: int,
    settings: ConsolidationSettings = DEFAULT,
) -> tuple[float, float]:
    """(alpha overall, share of targets with a disputed cell) of one simulated round."""
    rng = random.Random(seed)
    reviews: list[Review] = []
    assigned: dict[tuple[str, str], set[str]] = {}
    for kind, count in kinds:
        for n in range(count):
            target = f"{kind.value}{n:03d}"
            assigned[(kind, target)] = set(REVIEWERS)
            for leaf in tree.leaves(kind):
                truth = rng.uniform(0, float(leaf.max_score))
                for reviewer in REVIEWERS:
                    value = _on_step(truth + rng.gauss(0, noise * float(leaf.max_score)), leaf)
                    reviews.append((kind, target, leaf.code, reviewer, value))
    result = consolidate(tree, Rules(), settings, reviews, assigned)
    disputed = {(d.target_kind, d.target_id) for d in result.disputes}
    assert result.alpha_overall is not None
    return result.alpha_overall, len(disputed) / len(assigned)


@pytest.mark.parametrize("noise", [0.05, 0.075])
def test_demo_2022_with_agreeing_reviewers_sends_back_at_most_a_tenth_of_targets(
    demo_tree: IndicatorTree, noise: float
) -> None:
    alpha, share = simulate(demo_tree, [(TargetKind.SITE, 150), (TargetKind.CASE, 50)], noise, seed=11)
    assert 0.90 <= alpha <= 0.95
    assert share <= 0.10, f"alpha {alpha:.3f}: {share:.1%} of targets disputed"


@pytest.mark.parametrize("noise", [0.075, 0.10])
def test_a_fine_step_system_with_agreeing_reviewers_sends_back_at_most_a_tenth_of_targets(noise: float) -> None:
    alpha, share = simulate(seven_leaf_tree(), [(TargetKind.SITE, 200)], noise, seed=5)
    assert 0.90 <= alpha <= 0.95
    assert share <= 0.10, f"alpha {alpha:.3f}: {share:.1%} of targets disputed"


def test_a_reviewer_planted_half_the_points_away_is_caught_nine_times_in_ten(demo_tree: IndicatorTree) -> None:
    rng = random.Random(3)
    leaves = [leaf for leaf in demo_tree.leaves(TargetKind.SITE) if leaf.max_score >= 2][:10]
    reviews: list[Review] = []
    assigned: dict[tuple[str, str], set[str]] = {}
    for n, leaf in enumerate(leaves):
        target = f"S{n:02d}"
        assigned[(TargetKind.SITE, target)] = set(REVIEWERS)
        points = leaf.max_score
        low = _on_step(rng.uniform(0, float(points) / 2 - 0.5), leaf)
        near = min(low + leaf.step, points / 2)
        planted = _on_step(float(max(low, near) + points / 2), leaf)  # ≥ half the points from both
        for code in (c.code for c in demo_tree.leaves(TargetKind.SITE)):
            values = (low, near, planted) if code == leaf.code else (Decimal(0), Decimal(0), Decimal(0))
            reviews += [(TargetKind.SITE, target, code, r, v) for r, v in zip(REVIEWERS, values, strict=True)]
    result = consolidate(demo_tree, Rules(), DEFAULT, reviews, assigned)
    caught = {(d.target_id, d.indicator) for d in result.disputes if d.reason == "disagreement"}
    assert len(caught & {(f"S{n:02d}", leaf.code) for n, leaf in enumerate(leaves)}) >= 9
    assert {d.reviewer_id for d in result.disputes} == {"R3"}  # the two who agree are not asked again


def test_the_measure_fails_a_rule_that_floods(demo_tree: IndicatorTree) -> None:
    """The same rounds under a rule that flags every small difference: the rate the tests above bound is far
    beyond 10 %, so a rule change that floods cannot pass them unnoticed."""
    flooding = ConsolidationSettings(spread_threshold=Decimal("0.1"), gap_threshold=None)
    _, share = simulate(demo_tree, [(TargetKind.SITE, 150), (TargetKind.CASE, 50)], 0.055, seed=11, settings=flooding)
    assert share > 0.5
