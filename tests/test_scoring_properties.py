"""Properties of the scoring engine over small random indicator systems, rules and values."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from workbench.model import NA, Indicator, IndicatorKind, TargetKind
from workbench.scoring.indicators import (
    IndicatorTree,
    TotalResult,
    compute_total,
    dense_ranks,
    format_value,
    parse_value,
)
from workbench.scoring.rules import Rules

D = Decimal
STEPS = (D("0.5"), D("1"), D("0.1"))
BANDS = (("卓越", D(95)), ("优秀", D(85)), ("良好", D(75)), ("发展", D(60)), ("准备", D(0)))
Values = dict[str, Decimal | str | None]


@st.composite
def leaves(draw: st.DrawFn, code: str, parent: str | None, position: int) -> Indicator:
    kind = draw(st.sampled_from(list(IndicatorKind)))
    step = D(1) if kind == IndicatorKind.VETO else draw(st.sampled_from(STEPS))
    max_score = D(0) if kind == IndicatorKind.VETO else step * draw(st.integers(0, 40))
    return Indicator(
        code=code,
        name=f"指标{code}",
        kind=kind,
        max_score=max_score,
        step=step,
        parent=parent,
        applies_to=draw(st.sampled_from(["both", "both", "site", "case"])),
        position=position,
        allow_na=draw(st.booleans()),
    )


@st.composite
def trees(draw: st.DrawFn) -> IndicatorTree:
    """One to three parts: a top-level leaf, or a node with leaves and perhaps one sub-node of leaves."""
    indicators: list[Indicator] = []
    for p in range(draw(st.integers(1, 3))):
        part = f"P{p}"
        if draw(st.booleans()):
            indicators.append(draw(leaves(part, None, p)))
            continue
        indicators.append(Indicator(part, f"部分{p}", IndicatorKind.SCORE, D(0), D(1), position=p))
        for c in range(draw(st.integers(1, 4))):
            indicators.append(draw(leaves(f"{part}.{c}", part, c)))
        if draw(st.booleans()):
            sub = f"{part}.9"
            indicators.append(Indicator(sub, f"分项{p}", IndicatorKind.SCORE, D(0), D(1), parent=part, position=9))
            for c in range(draw(st.integers(1, 3))):
                indicators.append(draw(leaves(f"{sub}.{c}", sub, c)))
    return IndicatorTree(indicators)


tenths = st.integers(0, 1500).map(lambda n: D(n) / 10)
rules_strategy = st.builds(
    Rules,
    pass_mark=st.none() | tenths,
    bonus_gate=st.none() | tenths,
    bonus_cap=st.none() | tenths,
    grade_bands=st.sampled_from([(), BANDS]),
    rescale_na=st.booleans(),
)


def numeric(indicator: Indicator) -> st.SearchStrategy[Decimal]:
    """A valid entry for the leaf; deductions may overflow their cap as reviewers may enter."""
    if indicator.kind == IndicatorKind.VETO:
        return st.sampled_from([D(0), D(1)])
    top = int(indicator.max_score / indicator.step)
    if indicator.kind == IndicatorKind.DEDUCT:
        top += 10
    return st.integers(0, top).map(lambda n: indicator.step * n)


def value_for(indicator: Indicator) -> st.SearchStrategy[Decimal | str | None]:
    options: list[st.SearchStrategy[Decimal | str | None]] = [st.none(), numeric(indicator), numeric(indicator)]
    if indicator.allow_na:
        options.append(st.just(NA))
    return st.one_of(options)


@dataclass(frozen=True)
class Case:
    tree: IndicatorTree
    kind: TargetKind
    rules: Rules
    values: Values

    def total(self, values: Values | None = None) -> TotalResult:
        return compute_total(self.tree, self.kind, self.values if values is None else values, self.rules)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    tree = draw(trees())
    values: Values = {leaf.code: draw(value_for(leaf)) for leaf in tree.leaves()}
    return Case(tree, draw(st.sampled_from(list(TargetKind))), draw(rules_strategy), values)


def without_vetoes(case: Case) -> Values:
    return {
        code: (None if case.tree.get(code).kind == IndicatorKind.VETO else value)
        for code, value in case.values.items()
    }


@given(cases())
def test_a_total_lies_between_zero_and_the_maximum(case: Case) -> None:
    result = case.total(without_vetoes(case))
    assert result.total is not None
    assert D(0) <= result.total <= case.tree.max_total(case.kind, case.rules)
    assert result.total == result.total.quantize(D("0.1"))


@given(cases(), st.data())
def test_full_marks_earn_every_point_of_each_part_not_wholly_na(case: Case, data: st.DataObject) -> None:
    """N/A leaves are rescaled away; a part whose every point is N/A has nothing left to earn."""
    rules = case.rules._replace(pass_mark=None, bonus_gate=None, rescale_na=True)
    values: Values = {}
    part_max: dict[str, Decimal] = {}
    part_left: dict[str, Decimal] = {}  # points of each part that are not N/A
    bonus = D(0)
    for leaf in case.tree.leaves(case.kind):
        if leaf.allow_na and data.draw(st.booleans()):
            values[leaf.code] = NA
        elif leaf.kind == IndicatorKind.VETO or leaf.kind == IndicatorKind.DEDUCT:
            values[leaf.code] = D(0)
        else:
            values[leaf.code] = leaf.max_score
        if leaf.kind == IndicatorKind.BONUS:
            bonus += leaf.max_score if values[leaf.code] != NA else D(0)
        elif leaf.kind != IndicatorKind.VETO:
            part = case.tree.part_of(leaf.code)
            part_max[part] = part_max.get(part, D(0)) + leaf.max_score
            if values[leaf.code] != NA:
                part_left[part] = part_left.get(part, D(0)) + leaf.max_score
    if rules.bonus_cap is not None:
        bonus = min(bonus, rules.bonus_cap)
    expected = sum((m for part, m in part_max.items() if part_left.get(part, 0) > 0), D(0)) + bonus
    assert compute_total(case.tree, case.kind, values, rules).total == expected


def raised(case: Case, data: st.DataObject, kinds: set[IndicatorKind]) -> tuple[Values, Values] | None:
    """The case's values before and after raising one numeric leaf of the given kinds."""
    candidates = [
        leaf
        for leaf in case.tree.leaves(case.kind)
        if leaf.kind in kinds and isinstance(case.values.get(leaf.code), Decimal)
    ]
    if not candidates:
        return None
    leaf = data.draw(st.sampled_from(candidates))
    old = case.values[leaf.code]
    assert isinstance(old, Decimal)
    new = data.draw(numeric(leaf).filter(lambda v: v > old))
    before = without_vetoes(case)
    return before, {**before, leaf.code: new}


@given(cases(), st.data())
def test_raising_a_score_or_bonus_never_lowers_the_total(case: Case, data: st.DataObject) -> None:
    pair = raised(case, data, {IndicatorKind.SCORE, IndicatorKind.BONUS})
    if pair is None:
        return
    before, after = (case.total(values).total for values in pair)
    assert before is not None and after is not None
    assert after >= before


@given(cases(), st.data())
def test_deducting_more_never_raises_the_total(case: Case, data: st.DataObject) -> None:
    pair = raised(case, data, {IndicatorKind.DEDUCT})
    if pair is None:
        return
    before, after = (case.total(values).total for values in pair)
    assert before is not None and after is not None
    assert after <= before


@given(cases(), st.data())
def test_any_veto_hit_fails_the_target_whatever_else(case: Case, data: st.DataObject) -> None:
    vetoes = [leaf for leaf in case.tree.leaves(case.kind) if leaf.kind == IndicatorKind.VETO]
    if not vetoes:
        return
    hit = data.draw(st.sampled_from(vetoes))
    result = case.total({**case.values, hit.code: D(1)})
    assert (result.total, result.vetoed, result.passed, result.grade) == (None, True, False, case.rules.fail_label)


@given(cases())
def test_a_target_passes_exactly_when_no_veto_hits_and_its_base_reaches_the_pass_mark(case: Case) -> None:
    result = case.total()
    hit = any(
        case.values.get(leaf.code) == D(1)
        for leaf in case.tree.leaves(case.kind)
        if leaf.kind == IndicatorKind.VETO
    )
    reaches = case.rules.pass_mark is None or result.base >= case.rules.pass_mark
    assert result.passed == (not hit and reaches)


@given(st.lists(st.integers(0, 1000).map(lambda n: D(n) / 10) | st.none(), max_size=12))
def test_dense_ranks_order_totals_without_gaps(totals: list[Decimal | None]) -> None:
    results = {
        i: TotalResult(t, "", t is None, t is not None, t or D(0), D(0), 1, 1) for i, t in enumerate(totals)
    }
    ranks = dense_ranks(results)
    assert sorted(set(ranks.values())) == list(range(1, len(set(ranks.values())) + 1))
    for a, ta in enumerate(totals):
        for b, tb in enumerate(totals):
            if ta is not None and (tb is None or ta > tb):
                assert ranks[a] < ranks[b]
            if ta == tb:
                assert ranks[a] == ranks[b]


@given(trees(), st.data())
def test_every_valid_value_reads_back_from_how_it_is_shown(tree: IndicatorTree, data: st.DataObject) -> None:
    leaf = data.draw(st.sampled_from(tree.leaves()))
    value = data.draw(value_for(leaf))
    for lang in ("zh", "en"):
        assert parse_value(leaf, format_value(leaf, value, lang)) == value
