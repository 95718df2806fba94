"""Agreement between reviewers: Krippendorff's alpha (interval and nominal) and each reviewer's bias."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation, localcontext
from fractions import Fraction
from typing import TYPE_CHECKING

from workbench.model import NA, IndicatorKind
from workbench.scoring.indicators import IndicatorTree, exact, round_half_up

if TYPE_CHECKING:
    from workbench.consolidation.consolidate import CellStats

__all__ = ["Agreement", "BiasStats", "krippendorff_alpha", "reviewer_bias"]

# Alpha's sums of values and of squares: exact for any score (and any float read by its repr).
_EXACT = Context(prec=100)
_ZERO = Decimal(0)
_NOTHING = Fraction(0)
_HUNDRED = Fraction(100)


@dataclass(frozen=True, slots=True)
class BiasStats:
    """How a reviewer's values sit against the consensus, in percentage points of each indicator's points."""

    reviewer_id: str
    n: int
    """Cells compared."""
    mean_difference: Decimal
    """Signed: above 0 lenient (awards more than the consensus), below 0 severe; two decimals."""
    mean_absolute_difference: Decimal



class _IntervalSums:
    """Running sums from which interval alpha follows, so that a round can be fed one unit at a time.

    Over the ordered pairs of a unit, Σ (x_i − x_j)² = 2(m·Σx² − (Σx)²): no coincidence matrix is needed.
    """

    __slots__ = ("n", "total", "total_sq", "within")

    def __init__(self) -> None:
        self.within: dict[int, Decimal] = defaultdict(Decimal)  # unit size m → Σ (m·Σx² − (Σx)²)
        self.n = 0
        self.total = _ZERO
        self.total_sq = _ZERO

    def add(self, values: Sequence[Decimal], times: int = 1) -> None:
        """One unit's values (``times`` units with these values); call within the exact context."""
        m = len(values)
        if m < 2:
            return
        s = sum(values, _ZERO)
        sq = sum((x * x for x in values), _ZERO)
        self.within[m] += (m * sq - s * s) * times
        self.total += s * times
        self.total_sq += sq * times
        self.n += m * times

    def alpha(self) -> float | None:
        within = {m: Fraction(w) for m, w in self.within.items()}
        return _interval_alpha(within, self.n, Fraction(self.total), Fraction(self.total_sq))


def _interval_alpha(within: Mapping[int, Fraction], n: int, total: Fraction, total_sq: Fraction) -> float | None:
    expected = n * total_sq - total * total
    if n < 2 or expected == 0:
        return None
    observed = sum((w / (m - 1) for m, w in within.items()), Fraction(0))
    return float(1 - (n - 1) * observed / expected)


def _alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float | None:
    within: dict[int, int] = defaultdict(int)
    overall: Counter[Hashable] = Counter()
    n = 0
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        within[m] += m * m - sum(c * c for c in counts.values())
        overall.update(counts)
        n += m
    expected = n * n - sum(c * c for c in overall.values())
    if n < 2 or expected == 0:
        return None
    observed = sum((Fraction(v, m - 1) for m, v in within.items()), Fraction(0))
    return float(1 - (n - 1) * observed / expected)


def _gap(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # NaN marks a gap too


def _number(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"not a number: {value!r}")


def krippendorff_alpha(
    units: Iterable[Sequence[Decimal | int | float | str | None]], metric: str = "interval"
) -> float | None:
    """Krippendorff's alpha over units × coders with gaps (None or NaN); units with fewer than 2 values
    are left out. None when undefined: fewer than 2 pairable values, or no variation at all.

    Computed exactly (decimal sums, rational ratio) and returned as a float; floats are read by their repr.
    """
    rows = [[v for v in unit if not _gap(v)] for unit in units]
    if metric == "nominal":
        return _alpha_nominal(rows)
    if metric != "interval":
        raise ValueError(f"metric must be 'interval' or 'nominal', not {metric!r}")
    sums = _IntervalSums()
    with localcontext(_EXACT):
        for row in rows:
            try:
                sums.add([_number(v) for v in row])
            except (InvalidOperation, TypeError):
                raise ValueError(f"interval alpha needs numbers, got {row!r}") from None
    return sums.alpha()


class Agreement:
    """Agreement over consolidated cells, fed a target at a time: Krippendorff's alpha (interval) per leaf
    and overall, and each reviewer's bias against the consensus. Exact: decimal sums, rational ratios, and
    differences from the consolidated value's exact Fraction."""

    def __init__(self, tree: IndicatorTree) -> None:
        self._tree = tree
        self._leaf_sums: dict[str, _IntervalSums] = {}
        # (leaf, a cell's numeric values in reviewer order) → how many cells had them: a round's cells share
        # few, so each is summed once (times its count) when the sums are asked for
        self._units: Counter[tuple[str, tuple[Decimal, ...]]] = Counter()
        # (reviewer, leaf, their value, the consolidated value) → how often: the values repeat, so the
        # differences are summed once per distinct pair when bias() is asked for. The consolidated value is a
        # Fraction, or its stored text (add_stored_cell), decoded once per distinct text by bias()
        self._pairs: Counter[tuple[str, str, Decimal, Fraction | str]] = Counter()

    @property
    def _per_leaf(self) -> dict[str, _IntervalSums]:
        """Each leaf's interval sums, the units counted so far summed in."""
        if self._units:
            with localcontext(_EXACT):
                for (indicator, numbers), times in self._units.items():
                    sums = self._leaf_sums.get(indicator)
                    if sums is None:
                        sums = self._leaf_sums[indicator] = _IntervalSums()
                    sums.add(numbers, times)
            self._units.clear()
        return self._leaf_sums

    def state(self) -> tuple[dict[str, _IntervalSums], Counter[tuple[str, str, Decimal, Fraction | str]]]:
        """What the sums hold, to carry them to another process (`from_state`)."""
        return self._per_leaf, self._pairs

    @classmethod
    def from_state(cls, tree: IndicatorTree,
                   state: tuple[dict[str, _IntervalSums], Counter[tuple[str, str, Decimal, Fraction | str]]]
                   ) -> Agreement:
        agreement = cls(tree)
        agreement._leaf_sums, agreement._pairs = state
        return agreement

    def add(self, cells: Iterable[CellStats]) -> None:
        for cell in cells:
            self.add_cell(cell.indicator, cell.reviews, cell.value)

    def add_cell(self, indicator: str, reviews: Sequence[tuple[str, Decimal | str]],
                 consensus: Fraction | str | None) -> None:
        """One cell: its usable reviews, (reviewer, value) with N/A a gap, and its exact consolidated value."""
        self._add(indicator, reviews, consensus if isinstance(consensus, Fraction) else None)

    def add_stored_cell(self, indicator: str, reviews: Sequence[tuple[str, Decimal | str]],
                        exact_text: str | None) -> None:
        """`add_cell` with the consolidated value as the round stores it (CONSOLIDATED_EXACT's text: "p" or
        "p/q", N/A, or None), for a pass over millions of cells: a Fraction is made once per distinct value."""
        self._add(indicator, reviews, exact_text if exact_text is not None and exact_text != NA else None)

    def _add(self, indicator: str, reviews: Sequence[tuple[str, Decimal | str]],
             consensus: Fraction | str | None) -> None:
        self._units[(indicator, tuple(v for _, v in reviews if isinstance(v, Decimal)))] += 1
        if consensus is None:
            return
        pairs = self._pairs
        for reviewer, v in reviews:
            if isinstance(v, Decimal):
                pairs[(reviewer, indicator, v, consensus)] += 1

    def _points(self, code: str) -> tuple[Fraction, bool] | None:
        """1 / the leaf's points and whether it is a deduction; None for leaves that carry no points."""
        leaf = self._tree.get(code)
        if leaf.kind == IndicatorKind.VETO or leaf.max_score <= 0:
            return None
        return 1 / Fraction(leaf.max_score), leaf.kind == IndicatorKind.DEDUCT

    def alpha(self) -> dict[str, float | None]:
        """Per leaf code: units are targets, coders are reviewers; None where undefined."""
        return {code: sums.alpha() for code, sums in self._per_leaf.items()}

    def alpha_overall(self) -> float | None:
        """Over every numeric non-veto cell, each value taken as its share of the leaf's points earned (a
        deduction of d from m earns 1 − d/m). Pooling counts differences between leaves as variation, so it
        reads higher than a typical per-leaf alpha."""
        within: dict[int, Fraction] = defaultdict(Fraction)
        n, total, total_sq = 0, Fraction(0), Fraction(0)
        for code, sums in self._per_leaf.items():
            points = self._points(code)
            if points is None:
                continue
            c, deduct = points
            # x → c·x (or 1 − c·x) scales each unit's m·Σx² − (Σx)² by c², whatever the shift.
            for m, w in sums.within.items():
                within[m] += c * c * Fraction(w)
            t, q = Fraction(sums.total), Fraction(sums.total_sq)
            total += sums.n - c * t if deduct else c * t
            total_sq += sums.n - 2 * c * t + c * c * q if deduct else c * c * q
            n += sums.n
        return _interval_alpha(within, n, total, total_sq)

    def bias(self) -> dict[str, BiasStats]:
        """Mean signed and mean absolute difference from the consolidated value, in percentage points of each
        leaf's points, over numeric non-veto cells; deducting more than the consensus is severe (negative)
        like scoring lower. The reviewer's own value is part of the consensus."""
        per_reviewer: dict[str, list[Fraction]] = {}
        percents: dict[str, Fraction | None] = {}
        decoded: dict[str, Fraction] = {}
        for (reviewer, code, value, stored), count in self._pairs.items():
            if isinstance(stored, Fraction):
                consensus = stored
            else:
                found = decoded.get(stored)
                consensus = found if found is not None else decoded.setdefault(stored, Fraction(stored))
            if code not in percents:
                leaf = self._tree.get(code)
                percents[code] = (None if leaf.kind == IndicatorKind.VETO or leaf.max_score <= 0 else
                                  (-_HUNDRED if leaf.kind == IndicatorKind.DEDUCT else _HUNDRED)
                                  / exact(leaf.max_score))
            percent = percents[code]
            if percent is None:
                continue
            difference = (exact(value) - consensus) * count
            sums = per_reviewer.setdefault(reviewer, [_NOTHING, _NOTHING, _NOTHING])
            sums[0] += difference * percent
            sums[1] += abs(difference) * abs(percent)
            sums[2] += count
        return {
            reviewer: BiasStats(
                reviewer, int(count), round_half_up(signed / count, 2), round_half_up(absolute / count, 2)
            )
            for reviewer, (signed, absolute, count) in sorted(per_reviewer.items())
        }


def reviewer_bias(cells: Iterable[CellStats], tree: IndicatorTree) -> dict[str, BiasStats]:
    """Each reviewer's bias against the consensus over these cells (see `Agreement.bias`)."""
    agreement = Agreement(tree)
    agreement.add(cells)
    return agreement.bias()
