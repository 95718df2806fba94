"""Scoring engine: totals, gates, vetoes, rescaling, bands, ranks and strict value entry at every boundary."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workbench.errors import InvalidRule, InvalidScore, NotFound
from workbench.model import NA, Indicator, IndicatorKind, TargetKind
from workbench.scoring.indicators import (
    IndicatorTree,
    TotalResult,
    compute_total,
    dense_ranks,
    format_value,
    grade_for,
    parse_value,
    round_half_up,
    step_places,
)
from workbench.scoring.rules import Rules

D = Decimal
SCORE, DEDUCT, VETO, BONUS = IndicatorKind.SCORE, IndicatorKind.DEDUCT, IndicatorKind.VETO, IndicatorKind.BONUS
BANDS = (("卓越", D(95)), ("优秀", D(85)), ("良好", D(75)), ("发展", D(60)), ("准备", D(0)))


def ind(
    code: str,
    name: str,
    kind: IndicatorKind = SCORE,
    max_score: str | int = 0,
    step: str = "0.5",
    parent: str | None = None,
    applies_to: str = "both",
    allow_na: bool = False,
    position: int = 0,
) -> Indicator:
    return Indicator(
        code=code,
        name=name,
        kind=kind,
        max_score=D(max_score),
        step=D(step),
        parent=parent,
        applies_to=applies_to,
        allow_na=allow_na,
        position=position,
    )


# 国办秘函〔2019〕19号 style: a 100-point deduction part (办事服务 25 of it, N/A for units without services),
# vetoes, and a bonus part opened above 80.
SYSTEM_2019 = IndicatorTree(
    [
        ind("A", "扣分指标", position=1),
        ind("A1", "信息发布", parent="A", position=1),
        ind("A1.1", "信息更新", DEDUCT, 40, parent="A1", position=1),
        ind("A1.2", "互动回应", DEDUCT, 35, parent="A1", position=2),
        ind("A2", "办事服务", parent="A", position=2),
        ind("A2.1", "在线办理", DEDUCT, 15, parent="A2", allow_na=True, position=1),
        ind("A2.2", "办事指南", DEDUCT, 10, parent="A2", allow_na=True, position=2),
        ind("V", "单项否决", position=2),
        ind("V1", "站点无法访问", VETO, 0, step="1", parent="V", position=1),
        ind("V2", "严重表述错误", VETO, 0, step="1", parent="V", position=2),
        ind("B", "加分指标", position=3),
        ind("B1", "创新应用", BONUS, 20, parent="B", position=1),
        ind("B2", "用户体验", BONUS, 20, parent="B", position=2, allow_na=True),
    ]
)
RULES_2019 = Rules(pass_mark=D(60), bonus_gate=D(80), bonus_cap=D(30))
NO_SERVICES = {"A2.1": NA, "A2.2": NA}

# One fine-grained score leaf and one bonus leaf, to put a base total exactly on each boundary.
FINE = IndicatorTree(
    [
        ind("S", "综合得分", SCORE, 100, step="0.01", position=1),
        ind("X", "优秀创新", BONUS, 10, step="0.5", position=2),
    ]
)
FINE_RULES = Rules(pass_mark=D(60), bonus_gate=D(80), bonus_cap=D(10), grade_bands=BANDS)


def fine(score: str, bonus: str = "0", rules: Rules = FINE_RULES) -> TotalResult:
    return compute_total(FINE, TargetKind.SITE, {"S": D(score), "X": D(bonus)}, rules)


def total_2019(values: dict[str, Decimal | str | None], rules: Rules = RULES_2019) -> TotalResult:
    return compute_total(SYSTEM_2019, TargetKind.SITE, values, rules)


def scored(total: str, vetoed: bool = False) -> TotalResult:
    value = None if vetoed else D(total)
    return TotalResult(value, "", vetoed, not vetoed, D(total), D(0), 1, 1)


# ------------------------------------------------------------------------------------------ rounding


@pytest.mark.parametrize(
    ("raw", "places", "expected"),
    [
        ("79.95", 1, "80.0"),
        ("0.05", 1, "0.1"),
        ("0.25", 1, "0.3"),
        ("72.25", 1, "72.3"),
        ("72.35", 1, "72.4"),
        ("59.94", 1, "59.9"),
        ("2.5", 0, "3"),
        ("0.125", 2, "0.13"),
    ],
)
def test_round_half_up_rounds_halves_up_not_to_even(raw: str, places: int, expected: str) -> None:
    rounded = round_half_up(D(raw), places)
    assert str(rounded) == expected


# ---------------------------------------------------------------------------------------- pass mark


def test_exactly_the_pass_mark_passes() -> None:
    result = fine("60")
    assert (result.total, result.passed, result.grade) == (D("60.0"), True, "发展")


def test_a_base_that_rounds_up_to_the_pass_mark_passes() -> None:
    result = fine("59.95")
    assert (result.total, result.passed, result.grade) == (D("60.0"), True, "发展")


def test_a_base_that_rounds_below_the_pass_mark_fails() -> None:
    result = fine("59.94")
    assert (result.total, result.passed, result.grade) == (D("59.9"), False, "不合格")


def test_below_the_pass_mark_no_bonus_counts_even_without_a_gate() -> None:
    result = fine("55", bonus="10", rules=Rules(pass_mark=D(60), bonus_cap=D(10)))
    assert (result.total, result.bonus, result.passed) == (D("55.0"), D(0), False)


def test_without_a_pass_mark_a_low_total_still_passes_and_is_banded() -> None:
    result = fine("12", rules=Rules(grade_bands=BANDS))
    assert (result.total, result.passed, result.grade) == (D("12.0"), True, "准备")


# ---------------------------------------------------------------------------------------- bonus gate


def test_exactly_at_the_gate_the_bonus_stays_closed() -> None:
    result = fine("80", bonus="5")
    assert (result.total, result.bonus) == (D("80.0"), D(0))


def test_just_above_the_gate_the_bonus_counts() -> None:
    result = fine("80.1", bonus="5")
    assert (result.total, result.bonus, result.grade) == (D("85.1"), D(5), "优秀")


def test_a_base_that_rounds_to_the_gate_does_not_open_it() -> None:
    result = fine("79.95", bonus="5")
    assert (result.base, result.total, result.bonus) == (D("80.0"), D("80.0"), D(0))


def test_a_base_that_rounds_above_the_gate_opens_it() -> None:
    result = fine("80.05", bonus="5")
    assert (result.base, result.total) == (D("80.1"), D("85.1"))


def test_the_bonus_is_capped() -> None:
    result = total_2019({"A1.1": D(0), "A1.2": D(0), "A2.1": D(0), "A2.2": D(0), "B1": D(20), "B2": D(15)})
    assert (result.base, result.bonus, result.total) == (D("100.0"), D(30), D("130.0"))


def test_a_not_applicable_bonus_leaf_is_skipped() -> None:
    result = total_2019({"A1.1": D(0), "A1.2": D(0), "A2.1": D(0), "A2.2": D(0), "B1": D(4), "B2": NA})
    assert (result.bonus, result.total) == (D(4), D("104.0"))


# ---------------------------------------------------------------------------------------- deductions


def test_a_deduction_overflowing_its_cap_costs_only_the_indicators_points() -> None:
    result = total_2019({"A1.1": D(0), "A1.2": D(0), "A2.1": D(0), "A2.2": D(25)})
    assert result.total == D("90.0")


def test_unscored_leaves_earn_nothing_so_far_whatever_their_kind() -> None:
    result = total_2019({"A1.1": D(3)})
    assert (result.total, result.passed, result.scored, result.applicable) == (D("37.0"), False, 1, 8)
    assert not result.complete


def test_a_fully_scored_target_is_complete_and_na_counts_as_scored() -> None:
    values: dict[str, Decimal | str | None] = {
        "A1.1": D(0), "A1.2": D(0), "V1": D(0), "V2": D(0), "B1": D(0), "B2": NA, **NO_SERVICES,
    }
    result = total_2019(values)
    assert (result.scored, result.applicable, result.complete) == (8, 8, True)


# ---------------------------------------------------------------------------------------- N/A rescale


def test_units_without_services_are_rescaled_by_four_thirds() -> None:
    result = total_2019({"A1.1": D(10), "A1.2": D(8), **NO_SERVICES})  # 57 earned of 75
    assert (result.base, result.total, result.passed) == (D("76.0"), D("76.0"), True)


def test_rescaling_is_rounded_half_up_once_at_the_end() -> None:
    result = total_2019({"A1.1": D("10"), "A1.2": D("7.5"), **NO_SERVICES})  # 57.5 × 4/3 = 76.666…
    assert result.total == D("76.7")


def test_rescaling_comes_before_the_pass_mark() -> None:
    result = total_2019({"A1.1": D(30), "A1.2": D(0), **NO_SERVICES})  # 45 of 75 → 60
    assert (result.total, result.passed) == (D("60.0"), True)


def test_rescaling_comes_before_the_bonus_gate() -> None:
    result = total_2019({"A1.1": D("14.5"), "A1.2": D(0), "B1": D(10), **NO_SERVICES})  # 60.5 × 4/3 = 80.67
    assert (result.base, result.bonus, result.total) == (D("80.7"), D(10), D("90.7"))


def test_one_na_leaf_rescales_its_part_by_what_remains() -> None:
    result = total_2019({"A1.1": D(9), "A1.2": D(0), "A2.1": D(0), "A2.2": NA})  # 81 of 90 → 90
    assert result.total == D("90.0")


def test_rescaling_can_be_switched_off() -> None:
    rules = Rules(pass_mark=D(60), bonus_gate=D(80), bonus_cap=D(30), rescale_na=False)
    result = total_2019({"A1.1": D(10), "A1.2": D(8), **NO_SERVICES}, rules)
    assert (result.total, result.passed) == (D("57.0"), False)


def test_a_part_that_is_entirely_na_contributes_nothing() -> None:
    tree = IndicatorTree(
        [
            ind("P", "网站建设", SCORE, 60, step="1", position=1),
            ind("Q", "移动端", position=2),
            ind("Q1", "小程序", SCORE, 40, step="1", parent="Q", allow_na=True),
        ]
    )
    result = compute_total(tree, TargetKind.SITE, {"P": D(50), "Q1": NA}, Rules())
    assert result.total == D("50.0")


# ---------------------------------------------------------------------------------------------- veto


def test_a_veto_hit_fails_the_target_whatever_else_it_earned() -> None:
    values: dict[str, Decimal | str | None] = {
        "A1.1": D(0), "A1.2": D(0), "A2.1": D(0), "A2.2": D(0), "B1": D(20), "V2": D(1),
    }
    result = total_2019(values)
    assert (result.total, result.grade, result.vetoed, result.passed) == (None, "不合格", True, False)


def test_a_veto_answered_no_changes_nothing() -> None:
    result = total_2019({"A1.1": D(0), "A1.2": D(0), "A2.1": D(0), "A2.2": D(0), "V1": D(0), "V2": D(0)})
    assert (result.total, result.vetoed, result.passed) == (D("100.0"), False, True)


def test_the_fail_label_is_the_rounds_own() -> None:
    result = total_2019({"V1": D(1)}, Rules(fail_label="不达标"))
    assert result.grade == "不达标"


def test_a_vetoed_unit_ranks_after_every_numeric_total() -> None:
    perfect = {"A1.1": D(0), "A1.2": D(0), "A2.1": D(0), "A2.2": D(0)}
    results = {
        "深圳": total_2019({**perfect, "V1": D(1)}),
        "广州": total_2019({**perfect, "A1.1": D(40)}),  # 60: passes
        "杭州": total_2019({**perfect, "A1.1": D(40), "A1.2": D(1)}),  # 59: fails the pass mark
    }
    assert dense_ranks(results) == {"广州": 1, "杭州": 2, "深圳": 3}


# --------------------------------------------------------------------------------------------- ranks


def test_dense_ranks_share_a_rank_on_ties_and_the_next_total_takes_the_next_rank() -> None:
    results = {
        "a": scored("95"), "b": scored("90"), "c": scored("85"), "d": scored("80.4"), "e": scored("80.4"),
        "f": scored("79"), "g": scored("0", vetoed=True), "h": scored("0", vetoed=True),
    }
    ranks = dense_ranks(results)
    assert ranks == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 4, "f": 5, "g": 6, "h": 6}
    assert list(ranks.values()) == sorted(ranks.values())


def test_dense_ranks_compare_totals_at_the_published_precision() -> None:
    assert dense_ranks({"x": scored("80.40"), "y": scored("80.4"), "z": scored("80.3")}) == {"x": 1, "y": 1, "z": 2}


def test_dense_ranks_of_nothing_is_empty() -> None:
    assert dense_ranks({}) == {}


# --------------------------------------------------------------------------------------------- bands


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        ("100", "卓越"), ("95", "卓越"), ("94.9", "优秀"), ("94.95", "卓越"), ("85", "优秀"), ("84.9", "良好"),
        ("75", "良好"), ("74.9", "发展"), ("60", "发展"), ("59.9", "准备"), ("0", "准备"),
    ],
)
def test_grade_bands_have_inclusive_lower_bounds_on_the_rounded_total(total: str, grade: str) -> None:
    assert grade_for(D(total), Rules(grade_bands=BANDS)) == grade


def test_grade_band_edges_through_the_total() -> None:
    assert fine("94.95").grade == "卓越"
    assert fine("94.94").grade == "优秀"


def test_no_bands_means_no_grade() -> None:
    assert grade_for(D(99), Rules()) == ""
    assert fine("99", rules=Rules()).grade == ""


def test_below_every_band_without_a_zero_band_there_is_no_grade() -> None:
    assert grade_for(D(50), Rules(grade_bands=(("合格", D(60)),))) == ""


# ---------------------------------------------------------------------------------- tree and maximum


def test_max_total_counts_point_leaves_and_the_capped_bonus() -> None:
    assert SYSTEM_2019.max_total(TargetKind.SITE, RULES_2019) == D(130)
    cstc = Rules(bonus_cap=D(10))
    assert FINE.max_total(TargetKind.SITE, cstc) == D(110)
    assert FINE.max_total(TargetKind.SITE, Rules()) == D(110)
    assert FINE.max_total(TargetKind.SITE, Rules(bonus_cap=D(4))) == D(104)


def test_leaves_follow_the_tree_in_position_order() -> None:
    tree = IndicatorTree(
        [
            ind("B", "第二部分", position=2),
            ind("B1", "乙一", SCORE, 5, parent="B", position=2),
            ind("A1", "甲一", SCORE, 5, parent="A", position=1),
            ind("A", "第一部分", position=1),
            ind("B0", "乙零", SCORE, 5, parent="B", position=1),
        ]
    )
    assert [leaf.code for leaf in tree.leaves()] == ["A1", "B0", "B1"]
    assert [node.code for node in tree.children(None)] == ["A", "B"]
    assert [node.code for node in tree.children("B")] == ["B0", "B1"]


def test_leaves_apply_to_their_target_kind_only() -> None:
    tree = IndicatorTree(
        [
            ind("P", "共同", SCORE, 50, step="1", position=1),
            ind("W", "网站专项", SCORE, 50, step="1", applies_to="site", position=2),
            ind("C", "案例专项", applies_to="case", position=3),
            ind("C1", "创新性", SCORE, 50, step="1", parent="C"),
        ]
    )
    assert [leaf.code for leaf in tree.leaves(TargetKind.SITE)] == ["P", "W"]
    assert [leaf.code for leaf in tree.leaves("case")] == ["P", "C1"]
    assert tree.max_total("case", Rules()) == D(100)
    result = compute_total(tree, "site", {"P": D(50), "W": D(10), "C1": D(50)}, Rules())
    assert (result.total, result.applicable) == (D("60.0"), 2)


def test_part_path_and_leafness() -> None:
    assert SYSTEM_2019.part_of("A2.1") == "A"
    assert SYSTEM_2019.part_of("A") == "A"
    assert FINE.part_of("S") == "S"
    assert [node.name for node in SYSTEM_2019.path("A2.1")] == ["扣分指标", "办事服务", "在线办理"]
    assert SYSTEM_2019.is_leaf("A2.1") and not SYSTEM_2019.is_leaf("A2")
    assert SYSTEM_2019.get("B1").name == "创新应用"


def test_an_unknown_code_is_not_found() -> None:
    with pytest.raises(NotFound, match="Z9"):
        SYSTEM_2019.get("Z9")


@pytest.mark.parametrize(
    ("indicators", "words"),
    [
        ([ind("A", "甲"), ind("A", "乙")], "A"),
        ([ind("A", "甲", parent="Z")], "Z"),
        ([ind("A", "甲", parent="B"), ind("B", "乙", parent="A")], "cycle"),
    ],
)
def test_a_malformed_tree_is_refused(indicators: list[Indicator], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        IndicatorTree(indicators)


def test_stored_values_outside_what_entry_allows_are_refused() -> None:
    with pytest.raises(InvalidScore, match="信息更新"):
        total_2019({"A1.1": D(-1)})
    with pytest.raises(InvalidScore, match="创新应用"):
        total_2019({"B1": D(21)})
    with pytest.raises(InvalidScore, match="站点无法访问"):
        total_2019({"V1": D(2)})


def test_stored_text_values_are_read_as_numbers() -> None:
    assert total_2019({"A1.1": "10", "A1.2": "8", "A2.1": "NA", "A2.2": "NA"}).total == D("76.0")


# --------------------------------------------------------------------------------------------- rules


def test_rules_are_read_from_the_rounds_rows() -> None:
    rules = Rules.from_mapping(
        {
            "pass_mark": "60",
            "bonus_gate": "80",
            "bonus_cap": "30",
            "grade_bands": "卓越:95;优秀:85;良好:75;发展:60;准备:0",
            "fail_label": "不达标",
            "rescale_na": "否",
            "trim": "1",  # another module's setting
        }
    )
    assert rules == Rules(D(60), D(80), D(30), BANDS, "不达标", False)


@pytest.mark.parametrize(
    "text",
    [
        "卓越:95;优秀:85;良好:75;发展:60;准备:0",
        "卓越：95，优秀：85，良好：75，发展：60，准备：0",
        "准备:0; 发展:60; 良好:75; 优秀:85; 卓越:95",
        "卓越:95,优秀:85；良好:75、发展:60;准备:0;",
    ],
)
def test_grade_bands_accept_chinese_and_english_punctuation_in_any_order(text: str) -> None:
    assert Rules.from_mapping({"grade_bands": text}).grade_bands == BANDS


def test_rules_accept_chinese_keys_and_defaults() -> None:
    assert Rules.from_mapping({"及格线": "６０", "加分门槛": "80"}) == Rules(pass_mark=D(60), bonus_gate=D(80))
    assert Rules.from_mapping({}) == Rules()
    assert Rules.from_mapping({"pass_mark": "", "rescale_na": ""}) == Rules()


@pytest.mark.parametrize(
    ("rows", "key"),
    [
        ({"pass_mark": "六十"}, "pass_mark"),
        ({"bonus_gate": "-5"}, "bonus_gate"),
        ({"bonus_cap": "1e3"}, "bonus_cap"),
        ({"grade_bands": "卓越95;优秀:85"}, "grade_bands"),
        ({"grade_bands": "卓越:95;优秀:95"}, "grade_bands"),
        ({"rescale_na": "maybe"}, "rescale_na"),
        ({"pass_mark": "60", "及格线": "60"}, "pass_mark"),
    ],
)
def test_bad_rule_text_is_refused_naming_the_key(rows: dict[str, str], key: str) -> None:
    with pytest.raises(InvalidRule, match=key):
        Rules.from_mapping(rows)


@pytest.mark.parametrize(
    "rules", [Rules(), RULES_2019, FINE_RULES, Rules(D("59.5"), None, D("10.25"), BANDS, "不达标", False)]
)
def test_rules_survive_a_round_trip_through_rows(rules: Rules) -> None:
    assert Rules.from_mapping(rules.to_mapping()) == rules


# ---------------------------------------------------------------------------------------- value entry

INTERACTION = ind("1.2", "互动交流", SCORE, 4, step="0.5")
WHOLE = ind("1.3", "栏目建设", SCORE, 10, step="1")
QUARTER = ind("1.4", "数据开放", SCORE, 5, step="0.25", allow_na=True)
DEDUCTION = ind("2.1", "信息更新", DEDUCT, 5, step="0.5")
EXTRA = ind("3.1", "创新应用", BONUS, 10, step="1")
GATE = ind("0.1", "站点无法访问", VETO, 0, step="1")
GATE_NA = ind("0.2", "安全事故", VETO, 0, step="1", allow_na=True)


@pytest.mark.parametrize(
    ("indicator", "text", "expected"),
    [
        (INTERACTION, "3.5", D("3.5")),
        (INTERACTION, " 2 ", D("2.0")),
        (INTERACTION, "４", D("4.0")),
        (INTERACTION, "３．５", D("3.5")),
        (INTERACTION, "0", D("0.0")),
        (INTERACTION, "3.50", D("3.5")),
        (WHOLE, "3.0", D("3")),
        (QUARTER, "3.25", D("3.25")),
        (DEDUCTION, "8", D("8.0")),
        (EXTRA, "10", D("10")),
    ],
)
def test_numbers_on_the_step_are_accepted_at_the_steps_precision(
    indicator: Indicator, text: str, expected: Decimal
) -> None:
    value = parse_value(indicator, text)
    assert value == expected and str(value) == str(expected)


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_blank_text_means_not_scored(text: str) -> None:
    assert parse_value(INTERACTION, text) is None


@pytest.mark.parametrize("text", ["不适用", "NA", "N/A", "n/a", "Ｎ／Ａ"])
def test_not_applicable_is_accepted_where_allowed(text: str) -> None:
    assert parse_value(QUARTER, text) == NA
    assert parse_value(GATE_NA, text) == NA


def test_not_applicable_is_refused_where_not_allowed() -> None:
    with pytest.raises(InvalidScore, match="「互动交流」不允许填“不适用”"):
        parse_value(INTERACTION, "不适用")
    with pytest.raises(InvalidScore, match="不允许"):
        parse_value(GATE, "N/A")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("是", 1), ("y", 1), ("YES", 1), ("1", 1), ("否", 0), ("n", 0), ("no", 0), ("0", 0)],
)
def test_veto_answers(text: str, expected: int) -> None:
    assert parse_value(GATE, text) == D(expected)


@pytest.mark.parametrize("text", ["2", "1.0", "对", "可能", "-1", "true"])
def test_anything_else_is_refused_for_a_veto(text: str) -> None:
    with pytest.raises(InvalidScore, match="「站点无法访问」须填“是”或“否”"):
        parse_value(GATE, text)


def test_the_refusal_names_the_indicator_and_says_what_is_allowed() -> None:
    with pytest.raises(InvalidScore) as refused:
        parse_value(INTERACTION, "4.2")
    assert refused.value.message == (
        "「互动交流」须为 0 至 4 之间、步长 0.5 的数值，收到 4.2 / must be 0–4 in steps of 0.5"
    )
    assert refused.value.code == "INVALID_SCORE"


@pytest.mark.parametrize(
    ("indicator", "text"),
    [
        (INTERACTION, "4.2"),  # off step
        (INTERACTION, "4.5"),  # over max
        (INTERACTION, "abc"),
        (INTERACTION, "1e0"),
        (INTERACTION, "NaN"),
        (INTERACTION, "inf"),
        (INTERACTION, "+3"),
        (INTERACTION, "3,5"),
        (INTERACTION, "3.5分"),
        (WHOLE, "2.5"),
        (QUARTER, "3.3"),
        (DEDUCTION, "0.3"),
        (EXTRA, "11"),
        (DEDUCTION, "9" * 40),
    ],
)
def test_values_off_step_over_max_or_not_plain_numbers_are_refused(indicator: Indicator, text: str) -> None:
    with pytest.raises(InvalidScore, match=f"「{indicator.name}」须为"):
        parse_value(indicator, text)


@pytest.mark.parametrize("indicator", [INTERACTION, DEDUCTION, EXTRA])
def test_negative_values_are_refused_as_negative(indicator: Indicator) -> None:
    with pytest.raises(InvalidScore, match="不能为负数"):
        parse_value(indicator, "-1")
    with pytest.raises(InvalidScore, match="不能为负数"):
        parse_value(indicator, "－１")


def test_deduction_refusals_describe_deductions() -> None:
    with pytest.raises(InvalidScore, match=r"不小于 0、步长 0\.5 的扣分数"):
        parse_value(DEDUCTION, "0.3")


# -------------------------------------------------------------------------------------------- display


@pytest.mark.parametrize(
    ("indicator", "value", "lang", "shown"),
    [
        (INTERACTION, D("3.5"), "zh", "3.5"),
        (INTERACTION, D(3), "zh", "3.0"),
        (WHOLE, D(3), "zh", "3"),
        (WHOLE, D("3.0"), "zh", "3"),
        (QUARTER, D("3.25"), "zh", "3.25"),
        (QUARTER, NA, "zh", "不适用"),
        (QUARTER, NA, "en", "N/A"),
        (GATE, D(1), "zh", "是"),
        (GATE, D(0), "zh", "否"),
        (GATE, D(1), "en", "yes"),
        (GATE, D(0), "en", "no"),
        (INTERACTION, None, "zh", ""),
        (DEDUCTION, D(8), "zh", "8.0"),
    ],
)
def test_values_are_shown_at_their_steps_precision(
    indicator: Indicator, value: Decimal | str | None, lang: str, shown: str
) -> None:
    assert format_value(indicator, value, lang) == shown


def test_a_shown_value_reads_back_as_itself() -> None:
    pairs: list[tuple[Indicator, Decimal | str]] = [
        (INTERACTION, D("3.5")), (QUARTER, NA), (GATE, D(1)), (WHOLE, D(7)), (DEDUCTION, D(9)),
    ]
    for indicator, value in pairs:
        assert parse_value(indicator, format_value(indicator, value)) == value


@pytest.mark.parametrize(("step", "places"), [("0.5", 1), ("1", 0), ("0.25", 2), ("1.0", 0), ("10", 0), ("0.01", 2)])
def test_step_places(step: str, places: int) -> None:
    assert step_places(D(step)) == places
