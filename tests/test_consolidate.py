"""Consolidation: trimmed means, vetoes and N/A by majority, flags, disputes, totals and ranks, agreement, bias."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import pytest

from workbench.consolidation.consolidate import (
    CellStats,
    Dispute,
    IgnoredReview,
    consolidate,
    consolidate_cell,
    iter_consolidation,
    krippendorff_alpha,
    reviewer_bias,
)
from workbench.errors import InvalidRule
from workbench.model import NA, Indicator, IndicatorKind, TargetKey, TargetKind
from workbench.scoring.indicators import IndicatorTree
from workbench.scoring.rules import ConsolidationSettings, Rules

D = Decimal
F = Fraction
SCORE, DEDUCT, VETO = IndicatorKind.SCORE, IndicatorKind.DEDUCT, IndicatorKind.VETO
DEFAULT = ConsolidationSettings()
QUIET = ConsolidationSettings(spread_threshold=None, gap_threshold=None, z_threshold=None)


def ind(
    code: str, kind: IndicatorKind = SCORE, max_score: str | int = 10, step: str = "0.5", **kw: object
) -> Indicator:
    return Indicator(
        code=code, name=f"指标{code}", kind=kind, max_score=D(max_score), step=D(step), **kw  # type: ignore[arg-type]
    )


def cell(
    values: Sequence[str | None],
    indicator: Indicator | None = None,
    settings: ConsolidationSettings = DEFAULT,
    expected: set[str] | None = None,
) -> CellStats:
    """Reviewers R1, R2 … give the values in order; "NA" is N/A, None not yet scored."""
    reviews = {f"R{i + 1}": (v if v in (None, NA) else D(v)) for i, v in enumerate(values)}
    return consolidate_cell(indicator or ind("A1"), reviews, settings, expected)


# ------------------------------------------------------------------------------------ consolidated value


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3", "3", "5"], "3"),  # one of the tied 3s and the 5 go
        (["5", "3", "3"], "3"),
        (["2", "4", "4", "4"], "4"),  # the 2 and one 4 go
        (["1", "2", "2", "10"], "2"),
        (["4", "4", "4"], "4"),
        (["1", "2", "3", "4", "5"], "3"),
        (["9", "5", "5", "1", "5"], "5"),
        (["1", "2", "2", "3", "4"], "7/3"),  # kept exact, not rounded to 2.33
    ],
)
def test_trimmed_mean_drops_exactly_one_highest_and_one_lowest(values: list[str], expected: str) -> None:
    stats = cell(values, ind("A1", step="1"), QUIET)
    assert (stats.value, stats.method) == (Fraction(expected), "trimmed-mean")


def test_the_statistics_are_over_every_value() -> None:
    stats = cell(["2", "4", "4", "8"])
    assert (stats.n, stats.mean, stats.median, stats.min, stats.max, stats.trimmed) == (
        4, D("4.5"), D(4), D(2), D(8), D(4)
    )


def test_fewer_than_three_values_take_the_plain_mean() -> None:
    two = cell(["4", "7"])
    assert (two.value, two.method, two.trimmed) == (F("5.5"), "mean", None)
    one = cell(["6.5"])
    assert (one.value, one.method) == (F("6.5"), "mean")


def test_with_trimming_off_every_value_counts() -> None:
    stats = cell(["3", "3", "5"], settings=ConsolidationSettings(trim=False))
    assert (stats.value, stats.method) == (Fraction(11, 3), "mean")


def test_a_mean_of_two_values_on_a_fine_step_keeps_its_last_digit() -> None:
    assert cell(["0.25", "0.5"], ind("A1", max_score=1, step="0.25")).value == D("0.375")


def test_a_cell_nobody_scored_has_no_value() -> None:
    stats = cell([None, None, None])
    assert (stats.value, stats.method, stats.n, stats.mean, stats.flags) == (None, "none", 0, None, ("missing",))
    assert stats.unscored == ("R1", "R2", "R3")


# ------------------------------------------------------------------------------------------ veto and N/A

VETO_LEAF = ind("V1", VETO, 0, "1")


@pytest.mark.parametrize(
    ("votes", "value", "disputed"),
    [
        (["1", "1", "0"], "1", True),
        (["0", "0", "1"], "0", True),
        (["1", "1", "1"], "1", False),
        (["0", "0", "0"], "0", False),
        (["1", "0"], "0", True),  # a tie is no majority to fail the target
        (["1", "1", "0", "0"], "0", True),
        (["1", "1", "1", "0", "0"], "1", True),
    ],
)
def test_a_veto_goes_by_majority_and_any_split_is_disputed(votes: list[str], value: str, disputed: bool) -> None:
    stats = cell(votes, VETO_LEAF, ConsolidationSettings(min_reviews=1))
    assert (stats.value, stats.method) == (F(value), "majority")
    assert ("disagreement" in stats.flags) is disputed


def test_a_veto_tie_is_disputed_even_with_the_thresholds_off() -> None:
    quiet = ConsolidationSettings(min_reviews=1, spread_threshold=None, gap_threshold=None, z_threshold=None)
    assert cell(["1", "0"], VETO_LEAF, quiet).flags == ("disagreement",)


NA_LEAF = ind("A1", allow_na=True)


def test_na_when_most_reviewers_say_so() -> None:
    stats = cell([NA, NA, "5"], NA_LEAF)
    assert (stats.value, stats.method, stats.n) == (NA, "majority", 3)
    assert "disagreement" in stats.flags  # reviewers differ on whether it applies at all


def test_a_minority_na_is_left_out_of_the_numbers() -> None:
    stats = cell([NA, "5", "6"], NA_LEAF)
    assert (stats.value, stats.method, stats.mean, stats.n) == (F("5.5"), "mean", D("5.5"), 3)
    assert stats.flags == ("disagreement",)


def test_half_na_lets_the_numbers_decide_and_is_disputed() -> None:
    stats = cell([NA, NA, "4", "6"], NA_LEAF)
    assert (stats.value, stats.flags) == (F(5), ("disagreement",))


def test_all_na_is_na_without_dispute() -> None:
    assert cell([NA, NA, NA], NA_LEAF).value == NA
    assert cell([NA, NA, NA], NA_LEAF).flags == ()


# ----------------------------------------------------------------------------------------------- flags


def test_an_assigned_reviewer_without_a_value_flags_the_cell_missing() -> None:
    stats = cell(["5", "6", "7"], expected={"R1", "R2", "R3", "R4"})
    assert (stats.flags, stats.unscored, stats.value) == (("missing",), ("R4",), F(6))


def test_fewer_reviews_than_the_minimum_is_missing_even_when_everyone_assigned_scored() -> None:
    stats = cell(["5", "6"], settings=ConsolidationSettings(min_reviews=3))
    assert (stats.flags, stats.unscored) == (("missing",), ())
    assert cell(["5", "6"], settings=ConsolidationSettings(min_reviews=2)).flags == ()


def test_by_default_the_minimum_is_the_panel_the_target_was_assigned() -> None:
    # A 2-reviewer design is complete with two reviews; a 3-reviewer one is not.
    assert cell(["5", "6"], expected={"R1", "R2"}).flags == ()
    assert cell(["5", "6"], expected={"R1", "R2", "R3"}).flags == ("missing",)
    # An out-of-range value leaves the panel one usable review short.
    assert cell(["5", "6", "60"], expected={"R1", "R2", "R3"}).flags == ("missing", "out-of-range")


def test_a_spread_beyond_the_threshold_is_a_disagreement_with_no_single_outlier() -> None:
    stats = cell(["2", "5", "8.5"])  # spread 6.5 of 10 points, no gap beyond 4
    assert (stats.flags, stats.outliers, stats.value) == (("disagreement",), (), F(5))


def test_a_spread_beyond_the_threshold_is_a_disagreement() -> None:
    assert cell(["2", "4", "8"]).flags == ()  # spread 6 of 10 = 0.6 exactly, no gap beyond 4
    assert cell(["2", "4", "8.5"]).flags == ("disagreement",)


def test_a_gap_between_neighbouring_values_splits_the_panel() -> None:
    assert cell(["1", "1", "5"]).flags == ()  # gap 4 of 10 = 0.4 exactly
    assert cell(["1", "1", "5.5"]).flags == ("disagreement",)


@pytest.mark.parametrize(
    ("values", "points", "step", "disputed", "back_to"),
    [
        (["30.00", "30.00", "30.05"], 45, "0.01", False, ()),  # robust z would call the 30.05 an outlier
        (["10", "10", "9.7"], 10, "0.1", False, ()),
        (["38.25", "39.15", "36.90"], 45, "0.01", False, ()),
        (["1", "1", "2"], 2, "1", True, ("R3",)),  # half the points apart: the lone reviewer reconsiders
        (["1", "1", "2"], 2, "0.5", True, ("R3",)),
        (["0", "1", "2"], 2, "0.5", True, ()),  # no majority: the whole panel reconsiders
    ],
)
def test_three_reviewers_are_disputed_on_the_size_of_their_disagreement(
    values: list[str], points: int, step: str, disputed: bool, back_to: tuple[str, ...]
) -> None:
    stats = cell(values, ind("A1", max_score=points, step=step))
    assert ("disagreement" in stats.flags) is disputed
    assert stats.outliers == back_to


def test_one_reviewer_planted_half_the_points_away_is_disputed() -> None:
    leaf = ind("A1", max_score=45, step="0.01")
    for low in ("10.00", "12.37", "20.00", "22.49"):
        planted = str(D(low) + D("22.5"))
        assert "disagreement" in cell([low, low, planted], leaf).flags
        assert "disagreement" in cell([planted, low, str(D(low) + D("0.4"))], leaf).flags


def test_with_five_reviewers_a_robust_z_outlier_gets_the_dispute_alone() -> None:
    stats = cell(["20", "20", "21", "19", "5"], ind("A2", max_score=30))  # 15 of 30 from the median
    assert (stats.flags, stats.outliers, stats.value) == (("disagreement",), ("R5",), F(59, 3))


def test_a_robust_z_outlier_must_also_be_far_in_points() -> None:
    # MAD 0.01 on 45 points: 0.3 away is 20 robust standard deviations, and nothing worth a re-review.
    stats = cell(["30.00", "30.01", "30.00", "30.02", "30.30"], ind("A1", max_score=45, step="0.01"))
    assert (stats.flags, stats.outliers) == ((), ())


def test_with_mad_zero_a_value_one_step_off_is_no_outlier_but_a_far_one_is() -> None:
    assert cell(["8", "8", "8", "8", "7.5"]).flags == ()
    far = cell(["8", "8", "8", "8", "3"], settings=ConsolidationSettings(spread_threshold=None))
    assert (far.flags, far.outliers) == (("disagreement",), ("R5",))


def test_an_indicator_can_carry_its_own_thresholds() -> None:
    own = DEFAULT.with_indicator_thresholds({"A1": ("5%", "")})
    assert cell(["5", "5", "6"], settings=own).flags == ("disagreement",)  # spread 1 of 10 beyond 5 %
    assert cell(["5", "5", "6"], ind("A9"), settings=own).flags == ()  # other indicators keep the round's


def test_with_both_thresholds_off_nothing_is_a_disagreement() -> None:
    assert cell(["0", "10", "10"], settings=QUIET).flags == ()


@pytest.mark.parametrize(
    ("leaf", "bad"),
    [
        (ind("A1", max_score=40, step="1"), "45"),  # above the maximum
        (ind("A1", max_score=40, step="0.5"), "20.3"),  # off the step
        (ind("A1", max_score=40), NA),  # N/A not allowed here
        (VETO_LEAF, "2"),
    ],
)
def test_an_out_of_range_value_is_flagged_and_never_used(leaf: Indicator, bad: str) -> None:
    good = "1" if leaf.kind == VETO else "20"
    stats = cell([bad, good, good], leaf)
    assert stats.flags == ("missing", "out-of-range")  # only two usable values remain
    # A veto short of the panel's reviews is undecided; a number is the mean of what is usable.
    assert (stats.invalid, stats.n, stats.value) == (("R1",), 2, None if leaf.kind == VETO else F(good))
    assert bad not in [str(v) for v in stats.values]


def test_a_negative_value_is_out_of_range() -> None:
    stats = consolidate_cell(ind("A1"), {"R1": D(-1), "R2": D(5), "R3": D(5), "R4": D(5)}, DEFAULT)
    assert (stats.flags, stats.invalid, stats.value) == (("missing", "out-of-range"), ("R1",), F(5))


def test_a_deduction_beyond_its_points_counts_as_all_of_them() -> None:
    leaf = ind("B1", DEDUCT, 30, "1")
    assert cell(["40", "10"], leaf).value == D(20)  # (30 + 10) / 2, not (40 + 10) / 2
    assert cell(["40", "10"], leaf).invalid == ()


# ---------------------------------------------------------------------------------- a round, by hand

TREE = IndicatorTree(
    [
        ind("A", max_score=0, step="1", position=1),
        ind("A1", max_score=40, step="1", parent="A", position=1),
        ind("A2", max_score=30, step="0.5", parent="A", position=2),
        ind("B1", DEDUCT, 30, "1", position=2),
        ind("V1", VETO, 0, "1", position=3),
        ind("C1", max_score=10, applies_to="case", position=4),
    ]
)
RULES = Rules(pass_mark=D(60), grade_bands=(("优秀", D(90)), ("良好", D(75)), ("一般", D(60)), ("较差", D(0))))
# target → indicator → (R1, R2, R3)
SCORES: dict[str, dict[str, tuple[str, str, str]]] = {
    "S1": {"A1": ("38", "36", "40"), "A2": ("27", "28.5", "26"), "B1": ("2", "0", "4"), "V1": ("1", "1", "0")},
    "S2": {"A1": ("30", "32", "31"), "A2": ("25", "24.5", "24"), "B1": ("5", "5", "6"), "V1": ("0", "0", "1")},
    "S3": {"A1": ("29", "31", "30"), "A2": ("24", "26", "25.5"), "B1": ("5", "4", "8"), "V1": ("0", "0", "0")},
    "S4": {"A1": ("45", "20", "22"), "A2": ("20", "10", "21"), "B1": ("10", "11", "12"), "V1": ("0", "0", "0")},
}
REVIEWERS = ("R1", "R2", "R3")


def round_reviews() -> list[tuple[TargetKind, str, str, str, Decimal]]:
    return [
        (TargetKind.SITE, target, code, reviewer, D(value))
        for target, by_code in SCORES.items()
        for code, values in by_code.items()
        for reviewer, value in zip(REVIEWERS, values, strict=True)
    ]


ASSIGNED: dict[tuple[str, str], set[str]] = {(TargetKind.SITE, target): set(REVIEWERS) for target in SCORES}


def test_a_round_of_four_sites_by_three_reviewers() -> None:
    result = consolidate(TREE, RULES, DEFAULT, round_reviews(), ASSIGNED)
    values = {t: [result.cells[("site", t, code)].value for code in ("A1", "A2", "B1", "V1")] for t in SCORES}
    assert values == {
        "S1": [D(38), D(27), D(2), D(1)],
        "S2": [D(31), D("24.5"), D(5), D(0)],
        "S3": [D(30), D("25.5"), D(5), D(0)],
        "S4": [D(21), D(20), D(11), D(0)],  # A1: the 45 is out of range, so the mean of 20 and 22
    }
    summary = {target: (r.total, r.grade, r.vetoed) for (_, target), r in result.totals.items()}
    assert summary == {
        "S1": (None, "不合格", True),  # two of three reviewers found a veto hit
        "S2": (D("80.5"), "良好", False),  # 31 + 24.5 + (30 − 5)
        "S3": (D("80.5"), "良好", False),  # 30 + 25.5 + (30 − 5)
        "S4": (D("60.0"), "一般", False),  # 21 + 20 + (30 − 11): exactly the pass mark passes
    }
    assert result.ranks == {("site", "S2"): 1, ("site", "S3"): 1, ("site", "S4"): 2, ("site", "S1"): 3}
    assert result.cells[("site", "S4", "A1")].flags == ("missing", "out-of-range")
    assert result.cells[("site", "S4", "A2")].flags == ()  # 10 of 30 apart: no dispute
    assert "C1" not in {code for _, _, code in result.cells}  # a case-only leaf does not reach a site


def test_disputes_go_to_the_outlier_or_to_every_reviewer_of_the_cell() -> None:
    result = consolidate(TREE, RULES, DEFAULT, round_reviews(), ASSIGNED)
    assert result.disputes == (
        Dispute("R1", TargetKind.SITE, "S1", "V1", "disagreement"),
        Dispute("R1", TargetKind.SITE, "S2", "V1", "disagreement"),
        Dispute("R1", TargetKind.SITE, "S4", "A1", "out-of-range"),
        Dispute("R2", TargetKind.SITE, "S1", "V1", "disagreement"),
        Dispute("R2", TargetKind.SITE, "S2", "V1", "disagreement"),
        Dispute("R3", TargetKind.SITE, "S1", "V1", "disagreement"),
        Dispute("R3", TargetKind.SITE, "S2", "V1", "disagreement"),
    )


def test_a_cell_an_assigned_reviewer_has_not_scored_goes_back_to_that_reviewer() -> None:
    reviews = [r for r in round_reviews() if not (r[1] == "S3" and r[3] == "R3" and r[2] in ("A1", "B1"))]
    result = consolidate(TREE, RULES, QUIET, reviews, ASSIGNED)
    missing = [d for d in result.disputes if d.reason == "missing"]
    assert missing == [
        Dispute("R3", TargetKind.SITE, "S3", "A1", "missing"), Dispute("R3", TargetKind.SITE, "S3", "B1", "missing"),
    ]
    assert result.cells[("site", "S3", "A1")].value == D(30)  # mean of 29 and 31


def test_a_target_nobody_has_scored_yet_is_all_missing() -> None:
    assigned = {**ASSIGNED, ("site", "S5"): {"R1"}}
    result = consolidate(TREE, RULES, DEFAULT, round_reviews(), assigned)
    unreviewed = result.totals[TargetKey(TargetKind.SITE, "S5")]
    assert (unreviewed.total, unreviewed.grade, unreviewed.pending) == (None, "", "unreviewed")  # not 0.0
    assert TargetKey(TargetKind.SITE, "S5") not in result.ranks
    assert [d.indicator for d in result.disputes if d.target_id == "S5"] == ["A1", "A2", "B1", "V1"]


def test_reviews_that_cannot_count_are_listed_not_dropped() -> None:
    extra = [
        (TargetKind.SITE, "S1", "A1", "R9", D(1)),  # not assigned to S1
        (TargetKind.SITE, "S1", "Z9", "R1", D(1)),  # no such indicator
        (TargetKind.SITE, "S1", "C1", "R1", D(1)),  # case-only leaf
        (TargetKind.SITE, "S1", "A", "R1", D(1)),  # not a leaf
    ]
    result = consolidate(TREE, RULES, DEFAULT, round_reviews() + extra, ASSIGNED)
    assert result.ignored == (
        IgnoredReview(extra[0], "unassigned"),
        IgnoredReview(extra[1], "unknown-indicator"),
        IgnoredReview(extra[2], "not-applicable"),
        IgnoredReview(extra[3], "not-applicable"),
    )
    assert result.cells[("site", "S1", "A1")].value == D(38)


def test_the_same_review_twice_is_refused() -> None:
    reviews = round_reviews()
    with pytest.raises(ValueError):
        consolidate(TREE, RULES, DEFAULT, reviews + reviews[:1], ASSIGNED)


def test_streaming_target_by_target_gives_the_same_cells_and_totals() -> None:
    whole = consolidate(TREE, RULES, DEFAULT, round_reviews(), ASSIGNED)
    assigned = {**ASSIGNED, ("site", "S0"): {"R1"}}
    streamed = list(iter_consolidation(TREE, RULES, DEFAULT, round_reviews(), assigned))
    assert [t.target_id for t in streamed] == ["S1", "S2", "S3", "S4", "S0"]  # assigned, never reviewed: last
    for target in streamed[:4]:
        assert target.total == whole.totals[TargetKey(TargetKind.SITE, target.target_id)]
        assert {cell.key: cell for cell in target.cells} == {
            key: cell for key, cell in whole.cells.items() if key[1] == target.target_id
        }


def test_a_stream_not_grouped_by_target_is_refused() -> None:
    reviews = round_reviews()
    with pytest.raises(ValueError, match="grouped by target"):
        list(iter_consolidation(TREE, RULES, DEFAULT, reviews + reviews[:1], ASSIGNED))


def test_sites_and_cases_are_ranked_apart() -> None:
    case = [(TargetKind.CASE, "K1", code, r, D(v)) for code, v in (("A1", "10"), ("C1", "5"), ("V1", "0"))
            for r in REVIEWERS]
    assigned = {**ASSIGNED, (TargetKind.CASE, "K1"): set(REVIEWERS)}
    result = consolidate(TREE, RULES, DEFAULT, round_reviews() + case, assigned)
    assert result.ranks[TargetKey(TargetKind.CASE, "K1")] == 1
    assert result.ranks[TargetKey(TargetKind.SITE, "S2")] == 1


def test_a_veto_short_of_its_reviews_holds_the_target_back_undecided() -> None:
    reviews = [r for r in round_reviews() if not (r[1] == "S2" and r[2] == "V1" and r[3] == "R3")]
    result = consolidate(TREE, RULES, DEFAULT, reviews, ASSIGNED)
    held = result.totals[TargetKey(TargetKind.SITE, "S2")]
    assert (held.total, held.grade, held.pending) == (None, "", "veto-undecided")
    assert result.cells[("site", "S2", "V1")].value is None
    assert "missing" in result.cells[("site", "S2", "V1")].flags
    assert TargetKey(TargetKind.SITE, "S2") not in result.ranks
    assert result.ranks[TargetKey(TargetKind.SITE, "S3")] == 1  # S2 no longer shares first place


def test_ranks_are_dense_within_each_ranking_group() -> None:
    groups = {TargetKey(TargetKind.SITE, t): g for t, g in (("S1", "省级"), ("S2", "省级"), ("S3", "市级"),
                                                           ("S4", "市级"))}
    result = consolidate(TREE, RULES, DEFAULT, round_reviews(), ASSIGNED, groups)
    assert {key.id: rank for key, rank in result.ranks.items()} == {"S2": 1, "S1": 2, "S3": 1, "S4": 2}


# ------------------------------------------------------------------------------------------ agreement

# Krippendorff's reliability-data example with gaps: 3 coders × 15 units (rows are coders here).
NAN = float("nan")
CODERS_15 = [
    [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
    [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
    [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
]
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers × 12 units.
N = None
CODERS_12 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


def units(coders: Sequence[Sequence[float | int | None]]) -> list[tuple[float | int | None, ...]]:
    return list(zip(*coders, strict=True))


def test_alpha_reproduces_the_published_reference_values() -> None:
    assert round(krippendorff_alpha(units(CODERS_15), "interval") or 0, 6) == 0.810845
    assert round(krippendorff_alpha(units(CODERS_15), "nominal") or 0, 6) == 0.691358
    assert round(krippendorff_alpha(units(CODERS_12), "interval") or 0, 3) == 0.849
    assert round(krippendorff_alpha(units(CODERS_12), "nominal") or 0, 3) == 0.743


def test_alpha_ignores_units_with_a_single_value() -> None:
    extra = [*units(CODERS_15), (7, None, None), (None, 9, None)]
    assert krippendorff_alpha(extra) == krippendorff_alpha(units(CODERS_15))


def test_alpha_is_undefined_without_variation_or_pairs() -> None:
    assert krippendorff_alpha([(3, 3, 3), (3, 3, None)]) is None
    assert krippendorff_alpha([(3, None), (None, 4)]) is None
    assert krippendorff_alpha([]) is None


def test_perfect_agreement_is_one_and_systematic_disagreement_below_zero() -> None:
    assert krippendorff_alpha([(1, 1, 1), (4, 4, None), (2, 2, 2)]) == 1.0
    assert (krippendorff_alpha([(1, 2), (2, 1)]) or 0) < 0


def test_alpha_takes_decimals_and_rejects_text_on_the_interval_scale() -> None:
    assert krippendorff_alpha([(D("1.5"), D("1.5")), (D("2.5"), D(2))]) == krippendorff_alpha([(1.5, 1.5), (2.5, 2.0)])
    with pytest.raises(ValueError):
        krippendorff_alpha([("是", "否")])
    with pytest.raises(ValueError):
        krippendorff_alpha([(1, 2)], metric="ordinal")


def test_the_round_reports_alpha_per_indicator_with_out_of_range_values_as_gaps() -> None:
    result = consolidate(TREE, RULES, DEFAULT, round_reviews(), ASSIGNED)
    a1 = [tuple(None if v == "45" else int(v) for v in SCORES[t]["A1"]) for t in SCORES]
    assert result.alpha["A1"] == krippendorff_alpha(a1)
    assert result.alpha["V1"] == krippendorff_alpha([tuple(int(v) for v in SCORES[t]["V1"]) for t in SCORES])
    assert result.alpha_overall is not None and 0 < result.alpha_overall < 1


def test_overall_alpha_pools_indicators_as_shares_of_their_points() -> None:
    """Doubling an indicator's points and every value on it changes nothing."""
    doubled = IndicatorTree([ind("A1", max_score=20, step="1"), ind("B1", DEDUCT, 60, "1")])
    single = IndicatorTree([ind("A1", max_score=10, step="1"), ind("B1", DEDUCT, 30, "1")])
    rows = {"S1": (("6", "7", "8"), ("3", "0", "6")), "S2": (("2", "3", "3"), ("15", "12", "9"))}

    def alpha(tree: IndicatorTree, factor: int) -> float | None:
        reviews = [
            ("site", t, code, r, D(v) * factor)
            for t, (a, b) in rows.items()
            for code, vals in (("A1", a), ("B1", b))
            for r, v in zip(REVIEWERS, vals, strict=True)
        ]
        return consolidate(tree, Rules(), QUIET, reviews, {}).alpha_overall

    assert alpha(single, 1) is not None
    assert alpha(doubled, 2) == alpha(single, 1)


# ---------------------------------------------------------------------------------------------- bias


def test_reviewer_bias_is_signed_against_the_consensus_in_percent_of_points() -> None:
    result = consolidate(TREE, RULES, QUIET, round_reviews(), ASSIGNED)
    bias = result.bias
    # R3 scores S1's A1 40 against a consensus of 38 on 40 points: +5 % there.
    assert bias["R3"].n == bias["R2"].n == 12
    assert bias["R1"].n == 11  # R1's 45 was out of range
    s1 = [c for key, c in result.cells.items() if key[1] == "S1"]
    only_s1 = reviewer_bias(s1, TREE)
    # A1: 38,36,40 → 0, −5, +5; A2: 27,28.5,26 → 0, +5, −3.33;
    # B1 deducted 2,0,4 (consensus 2) → 0, +6.67, −6.67.
    assert only_s1["R1"].mean_difference == D("0.00")
    assert only_s1["R2"].mean_difference == D("2.22")  # (−5 + 5 + 6.67) / 3: deducting less is lenient
    assert only_s1["R3"].mean_difference == D("-1.67")  # (5 − 3.33 − 6.67) / 3
    assert only_s1["R3"].mean_absolute_difference == D("5.00")


def test_a_lenient_reviewer_shows_a_positive_bias_and_a_severe_one_negative() -> None:
    reviews = [
        ("site", f"S{t}", "A1", reviewer, D(base + offset))
        for t, base in enumerate((10, 20, 30))
        for reviewer, offset in (("R1", 4), ("R2", 0), ("R3", -4), ("R4", 0))
    ]
    result = consolidate(TREE, Rules(), QUIET, reviews, {})
    assert result.bias["R1"].mean_difference == D("10.00")  # 4 of 40 points above the consensus
    assert result.bias["R3"].mean_difference == D("-10.00")
    assert result.bias["R2"].mean_difference == D("0.00")


# -------------------------------------------------------------------------------------------- settings


def test_settings_read_from_the_round_rules_in_chinese_or_english() -> None:
    settings = ConsolidationSettings.from_rules(
        {"去掉最高最低": "否", "分歧阈值": "30%", "disagreement_z": "", "min_reviews": "2", "pass_mark": "60"},
    )
    assert settings == ConsolidationSettings(trim=False, min_reviews=2, spread_threshold=D("0.3"), z_threshold=None)
    assert ConsolidationSettings.from_rules({}) == ConsolidationSettings()
    assert ConsolidationSettings.from_rules({"trim": "1", "disagreement_spread": "0.4"}).spread_threshold == D("0.4")


@pytest.mark.parametrize(
    "rules",
    [{"trim": "maybe"}, {"disagreement_spread": "abc"}, {"disagreement_z": "-1"}, {"min_reviews": "0"},
     {"min_reviews": "2.5"}, {"trim": "1", "去掉最高最低": "0"}],
)
def test_bad_settings_are_refused(rules: dict[str, str]) -> None:
    with pytest.raises(InvalidRule, match=r"trim|disagreement_spread|disagreement_z|min_reviews"):
        ConsolidationSettings.from_rules(rules)
