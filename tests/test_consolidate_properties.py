"""Properties of consolidation and agreement over random reviews: robustness, invariances, nothing dropped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import permutations
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from workbench.consolidation.consolidate import (
    consolidate,
    consolidate_cell,
    krippendorff_alpha,
)
from workbench.model import NA, Indicator, IndicatorKind
from workbench.scoring.indicators import IndicatorTree
from workbench.scoring.rules import ConsolidationSettings, Rules

D = Decimal
Units = list[list[int | None]]


def alpha_by_definition(units: Sequence[Sequence[int | None]], delta: Callable[[int, int], int]) -> float | None:
    """Krippendorff's alpha straight from the coincidence matrix, in exact fractions."""
    coincidences: dict[tuple[int, int], Fraction] = {}
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        for i, j in permutations(range(m), 2):
            pair = (values[i], values[j])
            coincidences[pair] = coincidences.get(pair, Fraction(0)) + Fraction(1, m - 1)
    totals: dict[int, Fraction] = {}
    for (c, _), o in coincidences.items():
        totals[c] = totals.get(c, Fraction(0)) + o
    n = sum(totals.values(), Fraction(0))
    observed = sum((o * delta(c, k) for (c, k), o in coincidences.items()), Fraction(0))
    expected = sum((totals[c] * totals[k] * delta(c, k) for c in totals for k in totals), Fraction(0))
    if n < 2 or expected == 0:
        return None
    return float(1 - (n - 1) * observed / expected)


reliability_data = st.lists(
    st.lists(st.none() | st.integers(0, 6), min_size=1, max_size=4), min_size=0, max_size=12
)


@given(reliability_data)
def test_alpha_agrees_with_the_textbook_coincidence_matrix(units: Units) -> None:
    interval = alpha_by_definition(units, lambda c, k: (c - k) ** 2)
    nominal = alpha_by_definition(units, lambda c, k: int(c != k))
    got_interval, got_nominal = krippendorff_alpha(units, "interval"), krippendorff_alpha(units, "nominal")
    assert (got_interval is None) == (interval is None) and (got_nominal is None) == (nominal is None)
    if interval is not None:
        assert abs(got_interval - interval) < 1e-12  # type: ignore[operator]
    if nominal is not None:
        assert abs(got_nominal - nominal) < 1e-12  # type: ignore[operator]


@given(reliability_data, st.integers(1, 5), st.integers(-10, 10), st.randoms())
def test_interval_alpha_ignores_the_scale_and_which_coder_said_what(
    units: Units, factor: int, shift: int, rng: Random
) -> None:
    moved = [[None if v is None else v * factor + shift for v in unit] for unit in units]
    for unit in moved:
        rng.shuffle(unit)
    before, after = krippendorff_alpha(units), krippendorff_alpha(moved)
    assert (before is None) == (after is None)
    if before is not None and after is not None:
        assert abs(before - after) < 1e-12


LEAF = Indicator("A1", "指标A1", IndicatorKind.SCORE, D(20), D("0.5"), allow_na=True)
half_points = st.integers(0, 40).map(lambda n: D(n) / 2)


@given(st.lists(half_points, min_size=1, max_size=7), st.booleans(), st.permutations(range(7)))
def test_the_consolidated_value_lies_within_the_values_whoever_gave_them(
    values: list[Decimal], trim: bool, order: list[int]
) -> None:
    settings = ConsolidationSettings(trim=trim)
    stats = consolidate_cell(LEAF, {f"R{i}": v for i, v in enumerate(values)}, settings)
    relabelled = consolidate_cell(
        LEAF, {f"R{order[i]}": v for i, v in enumerate(values)}, settings
    )
    assert isinstance(stats.value, Fraction)
    assert min(values) <= stats.value <= max(values)
    assert (relabelled.value, relabelled.method, relabelled.flags) == (stats.value, stats.method, stats.flags)


@given(st.lists(half_points, min_size=3, max_size=7), st.data())
def test_one_extreme_reviewer_cannot_move_a_trimmed_mean(values: list[Decimal], data: st.DataObject) -> None:
    highest = values.index(max(values))
    extreme = max(values) + data.draw(st.integers(0, int((LEAF.max_score - max(values)) * 2))) / D(2)
    lowest = min(values) - data.draw(st.integers(0, int(min(values) * 2))) / D(2)
    settings = ConsolidationSettings()
    base = consolidate_cell(LEAF, {f"R{i}": v for i, v in enumerate(values)}, settings).value
    pushed = [extreme if i == highest else v for i, v in enumerate(values)]
    assert consolidate_cell(LEAF, {f"R{i}": v for i, v in enumerate(pushed)}, settings).value == base
    pulled = values[:]
    pulled[values.index(min(values))] = lowest
    assert consolidate_cell(LEAF, {f"R{i}": v for i, v in enumerate(pulled)}, settings).value == base


TREE = IndicatorTree(
    [
        LEAF,
        Indicator("B1", "指标B1", IndicatorKind.DEDUCT, D(10), D(1)),
        Indicator("V1", "指标V1", IndicatorKind.VETO, D(0), D(1)),
    ]
)
REVIEWERS = ["R1", "R2", "R3", "R4"]
raw_value = st.none() | st.just(NA) | st.integers(-1, 50).map(lambda n: D(n) / 2)


Reviews = list[tuple[str, str, str, str, Decimal | str | None]]
Assignments = dict[tuple[str, str], set[str]]


@st.composite
def rounds(draw: st.DrawFn) -> tuple[Reviews, Assignments]:
    """Random assignments, and rows from assigned and unassigned reviewers with valid, invalid and empty values."""
    targets = [f"S{i}" for i in range(draw(st.integers(1, 4)))]
    reviewer_sets = st.lists(st.sampled_from(REVIEWERS), min_size=1, unique=True)
    assignments = {("site", t): set(draw(reviewer_sets)) for t in targets}
    reviews: Reviews = []
    for t in targets:
        for code in ("A1", "B1", "V1"):
            for reviewer in draw(st.lists(st.sampled_from(REVIEWERS), unique=True)):
                reviews.append(("site", t, code, reviewer, draw(raw_value)))
    return reviews, assignments


@given(rounds(), st.sampled_from([ConsolidationSettings(), ConsolidationSettings(min_reviews=1, trim=False)]))
def test_nothing_flagged_or_given_is_ever_silently_dropped(
    round_: tuple[Reviews, Assignments],
    settings: ConsolidationSettings,
) -> None:
    reviews, assignments = round_
    result = consolidate(TREE, Rules(), settings, reviews, assignments)
    disputed = {(d.reviewer_id, d.target_id, d.indicator, d.reason) for d in result.disputes}
    ignored = {r.review for r in result.ignored}
    for review in reviews:
        _, target, code, reviewer, value = review
        cell = result.cells[("site", target, code)]
        if review in ignored:
            assert reviewer not in assignments[("site", target)]
        elif value is None:
            assert (reviewer, target, code, "missing") in disputed
        elif reviewer in cell.invalid:
            assert (reviewer, target, code, "out-of-range") in disputed
        else:
            assert reviewer in dict(cell.reviews)
    for cell in result.cells.values():
        if "disagreement" in cell.flags:
            assert any(d[1:3] == (cell.target_id, cell.indicator) and d[3] == "disagreement" for d in disputed)
        for reviewer in cell.unscored:
            assert (reviewer, cell.target_id, cell.indicator, "missing") in disputed
