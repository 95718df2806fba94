"""Consolidate reviewers' scores: per-cell statistics and flags, totals and ranks, disputes.

Agreement and bias live in workbench.consolidation.agreement and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from fractions import Fraction
from typing import NamedTuple, TypeVar

from workbench.consolidation.agreement import (
    Agreement,
    BiasStats,
    krippendorff_alpha,
    reviewer_bias,
)
from workbench.errors import InvalidScore
from workbench.model import NA, Indicator, IndicatorKind, TargetKey, TargetKind
from workbench.scoring.indicators import (
    UNREVIEWED,
    VETO_UNDECIDED,
    IndicatorTree,
    TotalResult,
    compute_total,
    consolidated_places,
    dense_ranks,
    stored_value,
)
from workbench.scoring.rules import Z_MIN_VALUES, ConsolidationSettings, Rules

__all__ = [
    "Agreement",
    "BiasStats",
    "CellStats",
    "Consolidation",
    "ConsolidationSettings",
    "Dispute",
    "IgnoredReview",
    "TargetConsolidation",
    "consolidate",
    "consolidate_cell",
    "iter_consolidation",
    "krippendorff_alpha",
    "rank_group_of",
    "rank_targets",
    "reviewer_bias",
    "usable_value",
]

MISSING = "missing"
OUT_OF_RANGE = "out-of-range"
DISAGREEMENT = "disagreement"

TRIMMED_MEAN = "trimmed-mean"
MEAN = "mean"
MAJORITY = "majority"
NONE = "none"

Value = Decimal | str | None
CellKey = tuple[str, str, str]
Review = tuple[str, str, str, str, Value]
"""(target kind, target id, indicator code, reviewer id, value) — one row of `scores`; a TargetKind will do
for the kind."""

# The statistics shown beside a value (mean, median, spread): 60 digits keep every terminating one exact.
_CONTEXT = Context(prec=60)
_ZERO = Decimal(0)
_ONE = Decimal(1)
_NO = Fraction(0)
_YES = Fraction(1)
_MAD_TO_SIGMA = Decimal("1.4826")  # MAD × 1.4826 estimates σ of a normal sample
_INVALID = object()
_R = TypeVar("_R")  # a reviewer, by id or by place
_UNSEEN = object()


# ---------------------------------------------------------------------------------------------- cells


@dataclass(frozen=True, slots=True)
class CellStats:
    """One target × indicator: what its reviewers said and the one value the round publishes for it.

    Statistics are over the usable numeric values (N/A and out-of-range values left out); deductions are
    counted as capped at the indicator's points, since that is what they take from the total. The statistics
    (mean … trimmed) are Decimals to 60 digits, for display; `value` is exact, and only it feeds totals.
    """

    target_kind: TargetKind
    target_id: str
    indicator: str
    n: int
    """Usable reviews: numeric values and N/A."""
    reviews: tuple[tuple[str, Decimal | str], ...]
    """(reviewer id, usable value) in reviewer order."""
    mean: Decimal | None
    median: Decimal | None
    min: Decimal | None
    max: Decimal | None
    trimmed: Decimal | None
    """Mean after dropping one highest and one lowest value; None with fewer than 3 numeric values."""
    value: Fraction | str | None
    """The consolidated value, exact: the (trimmed) mean as a Fraction (k/3 stays k/3), a veto's majority as
    Fraction 1 or 0; NA when most reviewers said N/A; None when nobody gave a usable value. Shown through
    `format_consolidated` to `places`."""
    places: int
    """Decimal places the value is shown to: 得分小数位, at least the step's places + 1."""
    method: str
    """trimmed-mean | mean | majority | none"""
    flags: tuple[str, ...]
    """Any of missing, out-of-range, disagreement, in that order."""
    outliers: tuple[str, ...] = ()
    """Reviewers whose values stand apart: outside the camp a majority of the panel forms (values split where
    two neighbours lie more than 分歧间隔 apart), or robust-z outliers; a disagreement goes back to them alone."""
    unscored: tuple[str, ...] = ()
    """Expected reviewers who have not given a value."""
    invalid: tuple[str, ...] = ()
    """Reviewers whose value is out of range (or off step, or N/A where N/A is not allowed); not used."""

    @property
    def key(self) -> CellKey:
        return (self.target_kind, self.target_id, self.indicator)

    @property
    def values(self) -> tuple[Decimal | str, ...]:
        return tuple(value for _, value in self.reviews)


def usable_value(indicator: Indicator, raw: Value | int) -> Decimal | str | None:
    """A reviewer's value as the consolidation counts it: a valid Decimal (a deduction capped at its points)
    or NA; None when it is not scored or cannot count (out of range, off step, N/A where it is not allowed)."""
    checked = _usable(indicator, raw)
    return None if checked is _INVALID else checked  # type: ignore[return-value]


def _usable(indicator: Indicator, raw: Value | int) -> Decimal | str | object | None:
    """None (not scored), NA, a valid Decimal (a deduction capped at its points) or _INVALID.

    Stricter than the engine's stored_value, whose checks it starts from: a reviewer's value must also
    lie on the step, and N/A must be allowed.
    """
    try:
        value = stored_value(indicator, raw)
    except InvalidScore:
        return _INVALID
    if value is None:
        return None
    if value == NA:
        return NA if indicator.allow_na else _INVALID
    assert isinstance(value, Decimal)
    if indicator.kind == IndicatorKind.VETO:
        return value
    if indicator.step > 0 and value % indicator.step != 0:
        return _INVALID
    if indicator.kind == IndicatorKind.DEDUCT:
        return min(value, indicator.max_score)
    return value


def _kind(kind: TargetKind | str) -> TargetKind:
    return TargetKind(kind)


def _median(ordered: Sequence[Decimal]) -> Decimal:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, _ZERO) / len(values)


def _outliers(
    indicator: Indicator, numbers: Sequence[tuple[_R, Decimal]], median: Decimal, threshold: Decimal,
    material: Decimal,
) -> tuple[_R, ...]:
    """Reviewers whose robust z exceeds the threshold and whose value lies at least `material` points from
    the median.

    The scale 1.4826 · MAD is floored at the indicator's step: scores are discrete, so when most reviewers
    agree exactly (MAD 0) a value one step away is not an infinitely distant outlier, while a value many
    steps away still is. `material` keeps a fine-step cell (MAD 0.01 on 45 points) from calling 0.3 apart an
    outlier.
    """
    mad = _median(sorted(abs(v - median) for _, v in numbers))
    scale = max(_MAD_TO_SIGMA * mad, indicator.step if indicator.step > 0 else _ZERO)
    far = [(reviewer, abs(v - median)) for reviewer, v in numbers if abs(v - median) >= material and v != median]
    if scale == 0:
        return tuple(reviewer for reviewer, _ in far)
    return tuple(reviewer for reviewer, distance in far if distance / scale > threshold)


def _camps(numbers: Sequence[tuple[_R, Decimal]], share: Decimal | None, scale: Decimal) -> list[set[_R]]:
    """The reviewers split where two neighbouring values lie more than ``share`` of the points apart; one camp
    when they never do (or the gap check is off)."""
    camps: list[set[_R]] = []
    previous: Decimal | None = None
    for reviewer, value in sorted(numbers, key=lambda item: item[1]):
        if previous is None or _beyond(value - previous, share, scale):
            camps.append(set())
        camps[-1].add(reviewer)
        previous = value
    return camps


def _beyond(distance: Decimal, share: Decimal | None, scale: Decimal) -> bool:
    """A distance between reviewers' values beyond a share of the points (a share of 0: any distance)."""
    return share is not None and distance > share * scale


def consolidate_cell(
    indicator: Indicator,
    reviews: Mapping[str, Value],
    settings: ConsolidationSettings,
    expected: Collection[str] | None = None,
    *,
    target_kind: TargetKind = TargetKind.SITE,
    target_id: str = "",
) -> CellStats:
    """One cell's statistics, consolidated value and flags.

    `reviews` maps reviewer id → stored value (None = not yet scored). `expected` are the reviewers assigned to
    the target (default: the keys of `reviews`); any of them without a value flags the cell missing.

    Numbers: the trimmed mean (plain mean with fewer than 3 numeric values or trimming off). Veto: the
    majority of the yes/no votes, once at least min_reviews (default: the panel's size) are in — until then no
    value, flagged missing; a tie is no majority for failing the target, so 否, flagged disagreement.
    N/A: N/A when more than half of the usable reviews say so; an exact half is flagged disagreement and the
    numbers decide.

    Disagreement (the indicator's own thresholds, else the round's, as shares of its points): the values span
    more than 分歧阈值, or two neighbouring values lie more than 分歧间隔 apart; with Z_MIN_VALUES or more values
    also a robust-z outlier at least 分歧间隔 from the median; reviewers split on N/A; a veto tie.
    """
    with localcontext(_CONTEXT):
        return _consolidate_cell(indicator, reviews, settings, expected, _kind(target_kind), target_id)


class _Shape(NamedTuple):
    """What a cell's reviewers said, with each reviewer named by their place in reviewer order: everything of a
    CellStats that follows from the values alone, so that cells with the same values share it."""

    usable: tuple[tuple[int, Decimal | str], ...]
    invalid: tuple[int, ...]
    given: tuple[int, ...]
    mean: Decimal | None
    median: Decimal | None
    min: Decimal | None
    max: Decimal | None
    trimmed: Decimal | None
    value: Fraction | str | None
    method: str
    outliers: tuple[int, ...]
    short: bool
    """Fewer usable reviews than needed."""
    disagreement: bool
    places: int
    every: tuple[Decimal | str, ...] | None
    """The usable values when every reviewer gave one (the usual cell), else None."""


Shapes = dict[tuple[object, ...], _Shape]
"""A consolidation's cells by their values: (leaf, reviews needed, values in reviewer order, their texts) → _Shape."""


def _consolidate_cell(
    indicator: Indicator,
    reviews: Mapping[str, Value],
    settings: ConsolidationSettings,
    expected: Collection[str] | None,
    kind: TargetKind,
    target_id: str,
    checked_values: dict[tuple[str, Value], Decimal | str | object | None] | None = None,
    shapes: Shapes | None = None,
) -> CellStats:
    reviewers = sorted(reviews)
    raws = tuple(map(reviews.__getitem__, reviewers))
    panel = expected if isinstance(expected, frozenset) else frozenset(reviews if expected is None else expected)
    needed = settings.min_reviews if settings.min_reviews is not None else max(1, len(panel))
    shape = None
    key: tuple[object, ...] = ()
    if shapes is not None and all(
            type(raw) is str or raw is None or (type(raw) is Decimal and raw.is_finite()) for raw in raws):
        # Equal Decimals may differ in their exponent (1 and 1.0): the texts keep them apart.
        key = (indicator.code, needed, raws, tuple(map(str, raws)))
        shape = shapes.get(key)
    if shape is None:
        shape = _cell_shape(indicator, raws, needed, settings, checked_values)
        if shapes is not None and key:
            if len(shapes) > 200_000:  # a bound, never reached by values on their steps
                shapes.clear()
            shapes[key] = shape
    if len(shape.given) == len(reviewers):  # the usual cell: everyone who has a row gave a value
        unscored = () if panel == reviews.keys() else tuple(sorted(panel.difference(reviews)))
    else:
        unscored = tuple(sorted(panel.difference(reviewers[p] for p in shape.given)))
    flags: list[str] = []
    if shape.short or unscored:
        flags.append(MISSING)
    if shape.invalid:
        flags.append(OUT_OF_RANGE)
    if shape.disagreement:
        flags.append(DISAGREEMENT)
    return CellStats(
        target_kind=kind,
        target_id=target_id,
        indicator=indicator.code,
        n=len(shape.usable),
        reviews=(tuple(zip(reviewers, shape.every, strict=True)) if shape.every is not None
                 else tuple((reviewers[p], v) for p, v in shape.usable)),
        mean=shape.mean,
        median=shape.median,
        min=shape.min,
        max=shape.max,
        trimmed=shape.trimmed,
        value=shape.value,
        places=shape.places,
        method=shape.method,
        flags=tuple(flags),
        outliers=tuple(reviewers[p] for p in shape.outliers) if shape.outliers else (),
        unscored=unscored,
        invalid=tuple(reviewers[p] for p in shape.invalid) if shape.invalid else (),
    )


def _cell_shape(
    indicator: Indicator,
    raws: Sequence[Value],
    needed: int,
    settings: ConsolidationSettings,
    checked_values: dict[tuple[str, Value], Decimal | str | object | None] | None,
) -> _Shape:
    """The statistics, value and flags of one cell whose reviewers (in order) gave `raws`; reviewers are named by
    their place in that order, and places sort as the reviewers' ids do."""
    usable: list[tuple[int, Decimal | str]] = []
    invalid: list[int] = []
    for reviewer, raw in enumerate(raws):
        if checked_values is not None and (type(raw) is str or (type(raw) is Decimal and raw.is_finite())):
            # a consolidation meets the same few values of each leaf again and again: each is checked once
            checked = checked_values.get((indicator.code, raw), _UNSEEN)
            if checked is _UNSEEN:
                checked = checked_values[(indicator.code, raw)] = _usable(indicator, raw)
        else:
            checked = _usable(indicator, raw)
        if checked is _INVALID:
            invalid.append(reviewer)
        elif isinstance(checked, (Decimal, str)):
            usable.append((reviewer, checked))

    numbers = [(reviewer, v) for reviewer, v in usable if isinstance(v, Decimal)]
    ordered = sorted(v for _, v in numbers)
    n, na_count = len(usable), len(usable) - len(numbers)
    veto = indicator.kind == IndicatorKind.VETO
    thresholds = settings.thresholds(indicator.code)
    scale = _ONE if veto else indicator.max_score
    tie = False
    outliers: tuple[int, ...] = ()
    mean = median = trimmed = None
    value: Fraction | str | None = None
    method = NONE
    if ordered:
        mean, median = _mean(ordered), _median(ordered)
        if len(ordered) >= 3:
            trimmed = _mean(ordered[1:-1])
        if not veto and settings.z_threshold is not None and len(ordered) >= Z_MIN_VALUES:
            material = (thresholds.gap or _ZERO) * scale
            outliers = _outliers(indicator, numbers, median, settings.z_threshold, material)
    if n and na_count * 2 > n:
        value, method = NA, MAJORITY
    elif veto and n < needed:
        pass  # a veto fails a target: it is decided only by the minimum number of reviews, and missing until then
    elif ordered:
        tie = na_count * 2 == n
        if veto:
            yes = sum(ordered, _ZERO)
            tie = tie or yes * 2 == len(ordered)
            value, method = (_YES if yes * 2 > len(ordered) else _NO), MAJORITY
        else:
            use_trim = settings.trim and trimmed is not None
            kept = ordered[1:-1] if use_trim else ordered
            # Exact: the decimal sum of values on the step is exact, and the one division is a fraction's.
            numerator, denominator = sum(kept, _ZERO).as_integer_ratio()
            value, method = Fraction(numerator, denominator * len(kept)), TRIMMED_MEAN if use_trim else MEAN

    apart = False
    if len(ordered) >= 2 and scale > 0 and not veto:
        camps = _camps(numbers, thresholds.gap, scale)
        apart = _beyond(ordered[-1] - ordered[0], thresholds.spread, scale) or len(camps) > 1
        majority = [camp for camp in camps if len(camp) * 2 > len(numbers)]
        if len(camps) > 1 and majority:  # the majority agrees: the others reconsider
            outliers = tuple(sorted(set(outliers) | {r for r, _ in numbers if r not in majority[0]}))
    elif len(ordered) >= 2 and scale > 0:
        apart = _beyond(ordered[-1] - ordered[0], thresholds.spread, scale) or _beyond(
            ordered[-1] - ordered[0], thresholds.gap, scale)
    checking = thresholds.spread is not None or thresholds.gap is not None or settings.z_threshold is not None
    mixed_na = checking and 0 < na_count < n  # reviewers disagree on whether the indicator applies at all

    return _Shape(
        usable=tuple(usable),
        invalid=tuple(invalid),
        given=tuple(sorted([r for r, _ in usable] + invalid)),
        mean=mean,
        median=median,
        min=ordered[0] if ordered else None,
        max=ordered[-1] if ordered else None,
        trimmed=trimmed,
        value=value,
        method=method,
        outliers=outliers,
        short=n < needed,
        disagreement=bool(tie or apart or outliers or mixed_na),
        places=consolidated_places(indicator, settings.value_places),
        every=tuple(v for _, v in usable) if len(usable) == len(raws) else None,
    )


# -------------------------------------------------------------------------------------- the round


@dataclass(frozen=True, slots=True)
class Dispute:
    """One (reviewer, cell) pair to send back for re-review, and why."""

    reviewer_id: str
    target_kind: TargetKind
    target_id: str
    indicator: str
    reason: str
    """disagreement | missing | out-of-range"""


@dataclass(frozen=True, slots=True)
class IgnoredReview:
    """A review row that did not count, kept so that nothing is dropped silently."""

    review: Review
    reason: str
    """unassigned | unknown-indicator | not-applicable"""


@dataclass(frozen=True, slots=True)
class TargetConsolidation:
    """One target consolidated: its cells in display order, its total, and its disputes."""

    target_kind: TargetKind
    target_id: str
    cells: tuple[CellStats, ...]
    total: TotalResult
    disputes: tuple[Dispute, ...]


@dataclass(frozen=True)
class Consolidation:
    """A round consolidated: every cell, every target's total and rank, what goes back, and agreement."""

    cells: dict[CellKey, CellStats]
    """Every applicable leaf of every target: reviewed targets by (kind, id), then assigned targets nobody has
    reviewed yet; within a target, in display order."""
    totals: dict[TargetKey, TotalResult]
    ranks: dict[TargetKey, int]
    """Dense ranks within each target kind (sites and cases are ranked apart) and ranking group; targets held
    back (TotalResult.pending) have none."""
    disputes: tuple[Dispute, ...]
    """Ordered by reviewer, then target and indicator: ready to cut into re-review packages."""
    ignored: tuple[IgnoredReview, ...]
    alpha: dict[str, float | None]
    """Krippendorff's alpha (interval) per leaf code; None where undefined."""
    alpha_overall: float | None
    bias: dict[str, BiasStats]


def consolidate(
    tree: IndicatorTree,
    rules: Rules,
    settings: ConsolidationSettings,
    reviews: Iterable[Review],
    assignments: Mapping[tuple[str, str], Collection[str]],
    groups: Mapping[TargetKey, str] | None = None,
) -> Consolidation:
    """Consolidate a round held in memory: `reviews` in any order; `groups` are the targets' ranking groups
    (rank_targets). See `iter_consolidation` for the rules; a national round (millions of rows) is better
    streamed through it target by target."""
    grouped = sorted(reviews, key=lambda r: (_kind(r[0]), r[1]))
    ignored: list[IgnoredReview] = []
    agreement = Agreement(tree)
    cells: dict[CellKey, CellStats] = {}
    totals: dict[TargetKey, TotalResult] = {}
    disputes: list[Dispute] = []
    for target in iter_consolidation(tree, rules, settings, grouped, assignments, ignored=ignored, agreement=agreement):
        cells.update((cell.key, cell) for cell in target.cells)
        totals[TargetKey(target.target_kind, target.target_id)] = target.total
        disputes.extend(target.disputes)
    order = {leaf.code: index for index, leaf in enumerate(tree.leaves())}
    disputes.sort(key=lambda d: (d.reviewer_id, d.target_kind, d.target_id, order[d.indicator], d.reason))
    return Consolidation(
        cells=cells,
        totals=totals,
        ranks=rank_targets(totals, groups),
        disputes=tuple(disputes),
        ignored=tuple(ignored),
        alpha=agreement.alpha(),
        alpha_overall=agreement.alpha_overall(),
        bias=agreement.bias(),
    )


def iter_consolidation(
    tree: IndicatorTree,
    rules: Rules,
    settings: ConsolidationSettings,
    reviews: Iterable[Review],
    assignments: Mapping[tuple[str, str], Collection[str]],
    *,
    ignored: list[IgnoredReview] | None = None,
    agreement: Agreement | None = None,
    added: Mapping[CellKey, Collection[str]] | None = None,
) -> Iterator[TargetConsolidation]:
    """Consolidate target by target, holding one target's reviews at a time.

    `reviews` must come grouped by target (`ORDER BY target_kind, target_id`); a target seen again after
    another one is refused. Every assigned target, and every target with a review, gets a cell for each
    applicable leaf, so a leaf nobody scored shows up missing; assigned targets without any review come last.
    A target's assigned reviewers are the expected ones (other reviewers' rows are ignored); a target with no
    assignments expects whoever reviewed any of its leaves on all of them. Totals come from `compute_total`
    over the consolidated values. Rows that cannot count are appended to `ignored`; every cell is fed to
    `agreement`. `added` names reviewers added to single cells (an appeal's re-review, 申诉复核, by reviewers who
    were not assigned the target): their rows count in those cells, and who gave one is expected there.
    """
    added = added or {}
    assigned = {
        TargetKey(_kind(kind), target_id): set(reviewers) for (kind, target_id), reviewers in assignments.items()
    }
    applicable: dict[str, set[str]] = {}
    done: set[TargetKey] = set()
    checked_values: dict[tuple[str, Value], Decimal | str | object | None] = {}  # (leaf, value) → as _usable
    shapes: Shapes = {}
    current: TargetKey | None = None
    current_raw: tuple[object, object] | None = None  # current as the reviews spell it (kind as text or TargetKind)
    by_code: dict[str, dict[str, Value]] = {}
    here: set[str] = set()  # the current target's applicable leaves
    panel: set[str] | None = None  # its assigned reviewers

    def finish(target: TargetKey, by_code: Mapping[str, Mapping[str, Value]]) -> TargetConsolidation:
        done.add(target)
        if len(checked_values) > 200_000:  # a bound, never reached by values on their steps
            checked_values.clear()
        result = _consolidate_target(tree, rules, settings, target, by_code, assigned.get(target), checked_values,
                                     added, shapes)
        if agreement is not None:
            agreement.add(result.cells)
        return result

    for review in reviews:
        kind_value, target_id, code, reviewer, value = review
        if (kind_value, target_id) != current_raw:
            target = TargetKey(_kind(kind_value), target_id)
            if target in done:
                raise ValueError(f"reviews must come grouped by target; {target[0]} {target_id} came back")
            if current is not None:
                yield finish(current, by_code)
            current, current_raw, by_code = target, (kind_value, target_id), {}
            if target[0] not in applicable:
                applicable[target[0]] = {leaf.code for leaf in tree.leaves(target[0])}
            here, panel = applicable[target[0]], assigned.get(target)
        assert current is not None
        reason = None
        if code not in here:  # every applicable leaf is in the tree
            reason = "not-applicable" if code in tree else "unknown-indicator"
        elif panel is not None and reviewer not in panel and reviewer not in added.get(
                (current[0].value, target_id, code), ()):
            reason = "unassigned"
        if reason is not None:
            if ignored is not None:
                ignored.append(IgnoredReview(review, reason))
            continue
        cell = by_code.setdefault(code, {})
        if reviewer in cell:
            raise ValueError(f"two scores of {reviewer} for {current[0]} {target_id} {code}")
        cell[reviewer] = value
    if current is not None:
        yield finish(current, by_code)
    for target in sorted(set(assigned) - done):
        yield finish(target, {})


def _consolidate_target(
    tree: IndicatorTree,
    rules: Rules,
    settings: ConsolidationSettings,
    target: TargetKey,
    by_code: Mapping[str, Mapping[str, Value]],
    assigned: Collection[str] | None,
    checked_values: dict[tuple[str, Value], Decimal | str | object | None] | None = None,
    added: Mapping[CellKey, Collection[str]] | None = None,
    shapes: Shapes | None = None,
) -> TargetConsolidation:
    kind, target_id = target
    expected = frozenset(assigned if assigned is not None else
                         {reviewer for cell in by_code.values() for reviewer in cell})
    cells: list[CellStats] = []
    disputes: list[Dispute] = []
    with localcontext(_CONTEXT):
        for leaf in tree.leaves(kind):
            given = by_code.get(leaf.code, {})
            panel = expected
            if added and assigned is not None:
                extra = [r for r in added.get((kind.value, target_id, leaf.code), ()) if r in given]
                if extra:
                    panel = frozenset({*expected, *extra})
            stats = _consolidate_cell(leaf, given, settings, panel, kind, target_id, checked_values, shapes)
            cells.append(stats)
            disputes.extend(_disputes_of(stats))
    total = compute_total(tree, kind, {cell.indicator: cell.value for cell in cells}, rules)
    if all(cell.n == 0 and not cell.invalid for cell in cells):
        total = total.held(UNREVIEWED)
    elif any(cell.value is None and tree.get(cell.indicator).kind == IndicatorKind.VETO for cell in cells):
        total = total.held(VETO_UNDECIDED)
    return TargetConsolidation(kind, target_id, tuple(cells), total, tuple(disputes))


def _disputes_of(cell: CellStats) -> list[Dispute]:
    """A disagreement goes back to its outliers, or to every reviewer of the cell when none stands out."""
    where = (cell.target_kind, cell.target_id, cell.indicator)
    out = [Dispute(reviewer, *where, OUT_OF_RANGE) for reviewer in cell.invalid]
    out += [Dispute(reviewer, *where, MISSING) for reviewer in cell.unscored]
    if DISAGREEMENT in cell.flags:
        out += [Dispute(reviewer, *where, DISAGREEMENT) for reviewer in cell.outliers or (r for r, _ in cell.reviews)]
    return out


def rank_targets(
    totals: Mapping[TargetKey, TotalResult], groups: Mapping[TargetKey, str] | None = None
) -> dict[TargetKey, int]:
    """Dense ranks within each target kind (sites and cases are ranked apart) and, given ``groups`` (target →
    its ranking group, 排名分组), within each group of a kind; targets held back (pending) get no rank."""
    by_group: dict[tuple[str, str], dict[TargetKey, TotalResult]] = {}
    for key, result in totals.items():
        name = groups.get(key, "") if groups is not None else ""
        by_group.setdefault((key[0], name), {})[key] = result
    ranks: dict[TargetKey, int] = {}
    for group in sorted(by_group):
        ranks.update(dense_ranks(by_group[group]))
    return ranks


def rank_group_of(rules: Rules, kind: TargetKind, attributes: Mapping[str, str]) -> str:
    """A target's ranking group under the rules' 排名分组: the value of the named attribute ("" when the rule
    is off or the kind has no such attribute: one group)."""
    if rules.rank_groups is None:
        return ""
    return attributes.get(rules.rank_groups, "")
