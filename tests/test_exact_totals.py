"""Totals are computed from exact consolidated values and rounded once: against an independent Fraction oracle.

The oracle below is written from the rules (DESIGN §4, §8) and shares no code with the product: trimmed means
and N/A rescaling in fractions, one half-up rounding of the base and of the total, gates and pass marks on the
rounded base, dense ranks on rounded totals.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from conftest_merge import *  # noqa: F403  (the cycle fixture)
from conftest_merge import REVIEWERS, VALUES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.consolidation.consolidate import consolidate, consolidate_cell
from workbench.consolidation.merge import merge_exports
from workbench.consolidation.stored import decode_exact, recompute_consolidated
from workbench.model import NA, Indicator, IndicatorKind, TargetKey, TargetKind
from workbench.scoring.indicators import IndicatorTree, compute_total, format_consolidated, round_half_up
from workbench.scoring.rules import ConsolidationSettings, Rules
from workbench.store.db import Store
from workbench.store.migrations import upgrade
from workbench.store.schema import CONSOLIDATED_EXACT, STALE_KEY

D = Decimal
SCORE, DEDUCT, BONUS, VETO = IndicatorKind.SCORE, IndicatorKind.DEDUCT, IndicatorKind.BONUS, IndicatorKind.VETO
QUIET = ConsolidationSettings(spread_threshold=None, gap_threshold=None, z_threshold=None)
STEPS = ("0.01", "0.05", "0.5")

Raw = Decimal | str  # a reviewer's value: a number or NA
BANDS = (("优秀", D(85)), ("良好", D(60)), ("较差", D(0)))


def leaf(code: str, kind: IndicatorKind, max_score: str, step: str, parent: str | None = None,
         position: int = 0, allow_na: bool = False) -> Indicator:
    return Indicator(code=code, name=f"指标{code}", kind=kind, max_score=D(max_score), step=D(step), parent=parent,
                     position=position, allow_na=allow_na)


# ------------------------------------------------------------------------------------------- the oracle


def half_up(x: Fraction, places: int = 1) -> Fraction:
    """四舍五入 of a non-negative exact value."""
    scale = 10**places
    return Fraction(math.floor(x * scale + Fraction(1, 2)), scale)


def oracle_cell(indicator: Indicator, values: Sequence[Raw], trim: bool = True) -> Fraction | str:
    """N/A by strict majority; a veto by strict majority of yes; else the trimmed mean (n ≥ 3, trimming on) or the
    mean of the values, deductions capped at the indicator's points."""
    numbers = sorted(
        min(Fraction(v), Fraction(indicator.max_score)) if indicator.kind == DEDUCT else Fraction(v)
        for v in values if v != NA
    )
    if 2 * (len(values) - len(numbers)) > len(values):
        return NA
    if indicator.kind == VETO:
        return Fraction(1) if 2 * sum(numbers) > len(numbers) else Fraction(0)
    kept = numbers[1:-1] if trim and len(numbers) >= 3 else numbers
    return sum(kept, Fraction(0)) / len(kept)


@dataclass(frozen=True)
class Expected:
    vetoed: bool
    passed: bool
    base: Fraction
    total: Fraction | None
    bonus: Fraction


def oracle_base(leaves: Sequence[Indicator], cells: Mapping[str, Fraction | str]) -> Fraction:
    """The exact base: each part's earned points, rescaled to its full points when some of it is N/A."""
    full: dict[str, Fraction] = {}
    na: dict[str, Fraction] = {}
    earned: dict[str, Fraction] = {}
    for ind in leaves:
        if ind.kind in (VETO, BONUS):
            continue
        part = ind.parent or ind.code
        top = Fraction(ind.max_score)
        full[part] = full.get(part, Fraction(0)) + top
        value = cells[ind.code]
        if value == NA:
            na[part] = na.get(part, Fraction(0)) + top
            continue
        assert isinstance(value, Fraction)
        earned[part] = earned.get(part, Fraction(0)) + (value if ind.kind == SCORE else top - value)
    base = Fraction(0)
    for part, points in earned.items():
        missing = na.get(part, Fraction(0))
        base += points * full[part] / (full[part] - missing) if 0 < missing < full[part] else points
    return base


def oracle_total(leaves: Sequence[Indicator], cells: Mapping[str, Fraction | str], rules: Rules) -> Expected:
    vetoed = any(ind.kind == VETO and cells[ind.code] == 1 for ind in leaves)
    exact_base = oracle_base(leaves, cells)
    base = half_up(exact_base)
    if vetoed:
        return Expected(True, False, base, None, Fraction(0))
    if rules.pass_mark is not None and base < Fraction(rules.pass_mark):
        return Expected(False, False, base, base, Fraction(0))
    bonus = sum((v for ind in leaves if ind.kind == BONUS and isinstance(v := cells[ind.code], Fraction)),
                Fraction(0))
    if rules.bonus_cap is not None:
        bonus = min(bonus, Fraction(rules.bonus_cap))
    if rules.bonus_gate is not None and not base > Fraction(rules.bonus_gate):
        bonus = Fraction(0)
    return Expected(False, True, base, half_up(exact_base + bonus), bonus)


def oracle_grade(expected: Expected) -> str:
    if expected.total is None or not expected.passed:
        return "不合格"
    return next(label for label, bound in BANDS if expected.total >= bound)


def oracle_ranks(totals: Mapping[str, Fraction | None]) -> dict[str, int]:
    distinct = sorted({t for t in totals.values() if t is not None}, reverse=True)
    after = len(distinct) + 1
    return {k: distinct.index(t) + 1 if t is not None else after for k, t in totals.items()}


# --------------------------------------------------------------------------------------- random rounds


@st.composite
def indicator_systems(draw: st.DrawFn) -> list[Indicator]:
    """One or two parts of score and deduction leaves on fine steps (some allow N/A), maybe a veto and bonus."""
    nodes: list[Indicator] = []
    for p in range(draw(st.integers(1, 2))):
        part = f"P{p}"
        nodes.append(leaf(part, SCORE, "0", "1", position=p))
        for i in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from((SCORE, DEDUCT)))
            nodes.append(leaf(f"{part}L{i}", kind, str(draw(st.integers(1, 40))), draw(st.sampled_from(STEPS)),
                              parent=part, position=i, allow_na=draw(st.booleans())))
    if draw(st.booleans()):
        nodes.append(leaf("V", VETO, "0", "1", position=10))
    for b in range(draw(st.integers(0, 2))):
        nodes.append(leaf(f"X{b}", BONUS, str(draw(st.integers(1, 10))), draw(st.sampled_from(STEPS)),
                          position=20 + b, allow_na=draw(st.booleans())))
    return nodes


def reviewer_value(draw: st.DrawFn, ind: Indicator) -> Raw:
    if ind.allow_na and draw(st.integers(0, 3)) == 0:
        return NA
    if ind.kind == VETO:
        return D(draw(st.sampled_from((0, 0, 0, 1))))
    # Deductions may exceed the points (they are capped); the near-top values keep cells near boundaries.
    steps = int(ind.max_score / ind.step) + (int(2 / ind.step) if ind.kind == DEDUCT else 0)
    k = draw(st.integers(0, steps) | st.integers(max(0, steps - 3), steps))
    return k * ind.step


@dataclass(frozen=True)
class RandomRound:
    nodes: list[Indicator]
    reviewers: list[str]
    scores: dict[str, dict[str, list[Raw]]]
    """target → leaf code → one value per reviewer"""
    trim: bool
    bonus_cap: Decimal | None


@st.composite
def random_rounds(draw: st.DrawFn) -> RandomRound:
    nodes = draw(indicator_systems())
    tree = IndicatorTree(nodes)
    reviewers = [f"R{i}" for i in range(draw(st.integers(2, 7)))]
    scores = {
        f"S{t}": {ind.code: [reviewer_value(draw, ind) for _ in reviewers] for ind in tree.leaves(TargetKind.SITE)}
        for t in range(draw(st.integers(1, 4)))
    }
    cap = draw(st.none() | st.integers(1, 10).map(D))
    return RandomRound(nodes, reviewers, scores, draw(st.booleans()), cap)


def boundary_rules(round_: RandomRound, data: st.DataObject) -> Rules:
    """A pass mark and a bonus gate set on, or one tenth beside, the first target's exactly rounded base."""
    tree = IndicatorTree(round_.nodes)
    leaves = tree.leaves(TargetKind.SITE)
    first = next(iter(round_.scores.values()))
    cells = {ind.code: oracle_cell(ind, first[ind.code]) for ind in leaves}
    base = half_up(oracle_base(leaves, cells))
    tenth = Fraction(1, 10)
    pass_mark = data.draw(st.sampled_from((None, base, base + tenth, max(base - tenth, Fraction(0)))))
    gate = data.draw(st.sampled_from((None, base, base - tenth, base + tenth)))
    def as_decimal(f: Fraction | None) -> Decimal | None:
        return None if f is None else D(f.numerator) / D(f.denominator)

    return Rules(pass_mark=as_decimal(pass_mark), bonus_gate=as_decimal(gate), bonus_cap=round_.bonus_cap,
                 grade_bands=BANDS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_rounds(), st.data())
def test_totals_gates_and_ranks_agree_with_an_exact_oracle(round_: RandomRound, data: st.DataObject) -> None:
    rules = boundary_rules(round_, data)
    tree = IndicatorTree(round_.nodes)
    leaves = tree.leaves(TargetKind.SITE)
    reviews = [
        (TargetKind.SITE, target, code, reviewer, value)
        for target, by_code in round_.scores.items()
        for code, values in by_code.items()
        for reviewer, value in zip(round_.reviewers, values, strict=True)
    ]
    assigned: dict[tuple[str, str], set[str]] = {("site", target): set(round_.reviewers) for target in round_.scores}
    got = consolidate(tree, rules, ConsolidationSettings(trim=round_.trim, spread_threshold=None, gap_threshold=None,
                                                           z_threshold=None),
                      reviews, assigned)

    totals: dict[str, Fraction | None] = {}
    for target, by_code in round_.scores.items():
        cells = {ind.code: oracle_cell(ind, by_code[ind.code], round_.trim) for ind in leaves}
        for code, value in cells.items():
            assert got.cells[("site", target, code)].value == value, (target, code)
        expected = oracle_total(leaves, cells, rules)
        result = got.totals[TargetKey(TargetKind.SITE, target)]
        total = None if result.total is None else Fraction(result.total)
        assert (result.vetoed, result.passed, Fraction(result.base), total, Fraction(result.bonus), result.grade) == (
            expected.vetoed, expected.passed, expected.base, expected.total, expected.bonus, oracle_grade(expected)
        ), target
        totals[target] = expected.total
    assert {key[1]: rank for key, rank in got.ranks.items()} == oracle_ranks(totals)


@given(st.lists(st.integers(0, 2000), min_size=2, max_size=7), st.sampled_from(STEPS), st.integers(0, 4))
def test_a_consolidated_value_is_shown_rounded_once_from_its_exact_value(
    ks: list[int], step: str, value_places: int
) -> None:
    ind = leaf("A1", SCORE, "20", step)
    reviews = {f"R{i}": k % int(20 / D(step) + 1) * D(step) for i, k in enumerate(ks)}
    stats = consolidate_cell(ind, reviews, ConsolidationSettings(value_places=value_places))
    assert isinstance(stats.value, Fraction)
    places = max(value_places, len(step.split(".")[1]) + 1)
    assert stats.places == places
    shown = format_consolidated(ind, stats.value, value_places)
    assert Fraction(shown) == half_up(stats.value, places) and len(shown.split(".")[1]) == places


# ------------------------------------------------------------------------------- the two known examples


FIVE = ("R1", "R2", "R3", "R4", "R5")


def deduction_round(fourth: str) -> tuple[IndicatorTree, Rules, list[tuple[TargetKind, str, str, str, Decimal]]]:
    """Three 10-point deductions each scored [0, 0, 1, 1, 1] by five reviewers (each trimmed mean exactly 2/3),
    a fourth deduction everyone scores alike, and a 10-point bonus everyone gives in full."""
    tree = IndicatorTree([
        leaf("D", SCORE, "0", "1", position=1),
        *(leaf(f"D{i}", DEDUCT, "10", "1", parent="D", position=i) for i in (1, 2, 3)),
        leaf("D4", DEDUCT, "70", "0.05", parent="D", position=4),
        leaf("X1", BONUS, "10", "1", position=2),
    ])
    rules = Rules(pass_mark=D(60), bonus_gate=D(80), bonus_cap=D(10))
    reviews = [(TargetKind.SITE, "S1", f"D{i}", r, D(v)) for i in (1, 2, 3) for r, v in zip(FIVE, "00111", strict=True)]
    reviews += [(TargetKind.SITE, "S1", "D4", r, D(fourth)) for r in FIVE]
    reviews += [(TargetKind.SITE, "S1", "X1", r, D(10)) for r in FIVE]
    return tree, rules, reviews


def test_an_exact_base_of_80_05_opens_the_bonus() -> None:
    tree, rules, reviews = deduction_round("17.95")
    result = consolidate(tree, rules, QUIET, reviews, {("site", "S1"): set(FIVE)})
    assert result.cells[("site", "S1", "D1")].value == Fraction(2, 3)
    total = result.totals[TargetKey(TargetKind.SITE, "S1")]
    # 100 − 3 × 2/3 − 17.95 = 80.05 → 80.1 > 80: the gate opens (the rounded cells, 3 × 0.67, gave 80.0)
    assert (total.base, total.bonus, total.total) == (D("80.1"), Fraction(10), D("90.1"))


def test_an_exact_total_of_59_95_passes() -> None:
    tree, rules, reviews = deduction_round("38.05")
    result = consolidate(tree, rules, QUIET, reviews, {("site", "S1"): set(FIVE)})
    total = result.totals[TargetKey(TargetKind.SITE, "S1")]
    # 100 − 2 − 38.05 = 59.95 → 60.0: a pass (the rounded cells gave 59.9, a fail)
    assert (total.base, total.passed, total.total, total.bonus) == (D("60.0"), True, D("60.0"), Fraction(0))


def test_compute_total_takes_exact_values_and_rounds_once() -> None:
    tree = IndicatorTree([leaf(f"A{i}", SCORE, "10", "0.5", position=i) for i in range(3)])
    third = Fraction(1, 3) + Fraction(1, 20)  # 0.38333…: three of them sum to 1.15 → 1.2; rounded first, 1.1
    result = compute_total(tree, TargetKind.SITE, {f"A{i}": third for i in range(3)}, Rules())
    assert result.total == D("1.2")
    assert round_half_up(Fraction(1199, 20)) == D("60.0") and round_half_up(Fraction(-1, 20)) == D("-0.1")


def test_the_display_rule_shows_na_vetoes_and_nothing() -> None:
    veto = leaf("V", VETO, "0", "1")
    score = leaf("A", SCORE, "10", "0.5")
    assert [format_consolidated(veto, v, 2) for v in (Fraction(1), Fraction(0))] == ["是", "否"]
    assert (format_consolidated(score, NA, 2), format_consolidated(score, NA, 2, "en")) == ("不适用", "N/A")
    assert format_consolidated(score, None, 2) == ""
    assert (format_consolidated(score, Fraction(2, 3), 2), format_consolidated(score, "2/3", 0)) == ("0.67", "0.67")
    whole = leaf("B", SCORE, "10", "1")  # 得分小数位 0 still shows one place more than the step
    assert (format_consolidated(whole, "2/3", 0), format_consolidated(whole, Fraction(1, 20), 1)) == ("0.7", "0.1")


# ------------------------------------------------------------------------- stored, and older databases


def stored(db: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(f"SELECT target_id, indicator, value, {CONSOLIDATED_EXACT} FROM consolidated "
                            "WHERE round = '2022'").fetchall()
    finally:
        conn.close()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def test_the_merge_stores_the_exact_value_beside_its_display(cycle: dict[str, Path]) -> None:
    merge_exports(cycle["db"], [cycle[f"{r}.xlsx"] for r in REVIEWERS])
    rows = stored(cycle["db"])
    for (site, code), (shown, exact_text) in rows.items():
        middle = sorted(D(v) for v in VALUES[code][site])[1]
        assert decode_exact(exact_text) == middle and D(shown or "") == middle


def make_older(db: Path) -> None:
    """What a round made before exact values looked like: no `exact` column, values rounded when stored, a past
    round imported."""
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE consolidated DROP COLUMN exact")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_exact_consolidated_values'")
    conn.execute("UPDATE consolidated SET value = '6.67' WHERE target_id = 'S1' AND indicator = 'A1'")
    conn.execute("INSERT INTO consolidated (round, target_kind, target_id, indicator, value, n, method, flags) "
                 "VALUES ('2021', 'site', 'S1', 'A1', '7.5', 0, 'imported', '')")
    conn.commit()
    conn.close()


def test_an_older_round_keeps_no_rounded_value_readable_as_exact(cycle: dict[str, Path]) -> None:
    db = cycle["db"]
    merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS])
    make_older(db)
    store = Store.open(db)
    upgrade(store.conn)
    assert store.conn.execute("SELECT 1 FROM meta WHERE key = ?", (STALE_KEY,)).fetchone() is not None
    store.close()
    assert {exact_text for _, exact_text in stored(db).values()} == {None}  # rounded: to be recomputed
    conn = sqlite3.connect(db)
    past = conn.execute(f"SELECT {CONSOLIDATED_EXACT} FROM consolidated WHERE round = '2021'").fetchone()[0]
    conn.close()
    assert past == "7.5"  # an imported result is exact as published
    # the next merge sees the round stale and re-consolidates all of it
    merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS])
    assert all(exact_text is not None for _, exact_text in stored(db).values())
    assert stored(db)[("S1", "A1")] == ("8.00", "8")


def test_recomputing_part_of_an_older_round_recomputes_all_of_it(cycle: dict[str, Path]) -> None:
    db = cycle["db"]
    merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS])
    make_older(db)
    store = Store.open(db)
    try:
        recompute_consolidated(store, {TargetKey(TargetKind.SITE, "S2")})
        assert store.conn.execute("SELECT 1 FROM meta WHERE key = ?", (STALE_KEY,)).fetchone() is None
    finally:
        store.close()
    rows = stored(db)
    assert len(rows) == 6 and all(exact_text is not None for _, exact_text in rows.values())
