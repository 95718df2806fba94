"""The calibration round (校准): how far each reviewer's scores of the calibration targets lie from the consensus.

Every reviewer scores the calibration targets before the real work. Per calibration target × indicator the
consensus is the coordinator's reference score where one was given (init --calibration-reference), else the
panel's consolidated value (consolidate_cell, the round's one rule: the trimmed mean, a veto's majority). A
reviewer's deviation is what their value does to the points against the consensus: for a score or a bonus
`value − consensus`, for a deduction `consensus − value` (more deducted is harsher), for a veto a hit where the
consensus has none is −1 (and +1 the other way). Divided by the indicator's points (1 for a veto) it is a share,
comparable across indicators. A reviewer's severity is the mean share over every cell they scored: negative is
harsh, positive lenient. A reviewer whose severity, or whose mean share on one indicator, is beyond 校准阈值
(`calibration_threshold`, default 0.1 = 10 % of the points) is flagged. Cells whose consensus is N/A or
missing, and N/A values, are not compared.

Calibration never counts: consolidation, ranks, alpha, disputes, totals and the status leave these targets out
(workbench.consolidation.stored); this module is the only reader of their scores, and the report's 校准 sheet
(write_calibration_sheet) the only place they show.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from workbench.consolidation.consolidate import consolidate_cell
from workbench.errors import WorkbenchError
from workbench.model import NA, IndicatorKind, TargetKey, TargetKind
from workbench.scoring.indicators import IndicatorTree, round_half_up
from workbench.scoring.rules import ConsolidationSettings
from workbench.store.db import Store, decode_value

_HUNDRED = Fraction(100)


class NoCalibration(WorkbenchError):
    """The round has no calibration target: nothing to compare."""


@dataclass(frozen=True)
class IndicatorDeviation:
    """One reviewer on one indicator, over the calibration targets they scored."""

    reviewer_id: str
    indicator: str
    name: str
    n: int
    """Calibration targets compared."""
    mean_points: Decimal
    """Mean deviation in points (signed, 2 places): negative = harsher than the consensus."""
    mean_percent: Decimal
    """The same as a percentage of the indicator's points (1 place)."""
    flagged: bool


@dataclass(frozen=True)
class ReviewerSeverity:
    """One reviewer over every calibration cell they scored."""

    reviewer_id: str
    name: str
    n: int
    """Cells compared."""
    severity_percent: Decimal | None
    """Mean signed deviation as a percentage of the points (1 place); None when nothing could be compared."""
    absolute_percent: Decimal | None
    """Mean absolute deviation, as a percentage of the points."""
    flagged: bool

    @property
    def leaning(self) -> str:
        """偏严 (harsh), 偏松 (lenient) or 适中, by the sign of the severity ("" when not compared)."""
        if self.severity_percent is None:
            return ""
        return "偏严" if self.severity_percent < 0 else "偏松" if self.severity_percent > 0 else "适中"


@dataclass(frozen=True)
class CalibrationResult:
    targets: tuple[TargetKey, ...]
    threshold: Decimal | None
    """校准阈值 as a share of the points (None: no flags)."""
    references: int
    """Cells whose consensus is the coordinator's reference score."""
    reviewers: tuple[ReviewerSeverity, ...]
    deviations: tuple[IndicatorDeviation, ...]
    """Per reviewer × indicator, in reviewer then indicator order."""


def _effect(kind: IndicatorKind, value: Fraction, consensus: Fraction) -> Fraction:
    if kind in (IndicatorKind.DEDUCT, IndicatorKind.VETO):
        return consensus - value  # more deducted, or a veto hit, takes points away: harsher
    return value - consensus


def _percent(share: Fraction) -> Decimal:
    return round_half_up(share * _HUNDRED, 1)


def calibration_result(store: Store) -> CalibrationResult:
    """Every reviewer's deviation from the calibration consensus (or reference scores); NoCalibration when the
    round marks no calibration target."""
    calibration = sorted(store.calibration_targets())
    if not calibration:
        raise NoCalibration(
            "本轮次没有校准对象：请在网站或案例文件的「校准」列把校准对象填为 是，再重新建立轮次（workbench init）/ "
            "the round has no calibration target: mark them 是 in the 校准 (calibration) column of the sites or "
            "cases file and build the round again (workbench init)"
        )
    tree = IndicatorTree(store.indicators())
    mapping = store.rules_mapping()
    settings = ConsolidationSettings.from_rules(mapping).with_indicator_thresholds(store.indicator_thresholds())
    cells: dict[tuple[str, str, str], dict[str, Decimal | str | None]] = defaultdict(dict)
    for key in calibration:  # a few targets, each read through the scores' target index
        for code, reviewer, value in store.conn.execute(
                "SELECT indicator, reviewer_id, value FROM scores WHERE round = ? AND target_kind = ? "
                "AND target_id = ? AND value IS NOT NULL", (store.round_id, key.kind.value, key.id)):
            if code in tree and tree.is_leaf(code):
                cells[(key.kind.value, key.id, code)][reviewer] = decode_value(value)
    reference: dict[tuple[str, str, str], Decimal | str | None] = {}
    if store.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'calibration_reference'").fetchone():
        reference = {(r[0], r[1], r[2]): decode_value(r[3]) for r in store.conn.execute(
            "SELECT target_kind, target_id, indicator, value FROM calibration_reference")}
    # (reviewer, indicator) → the shares; reviewer → every share
    shares: dict[tuple[str, str], list[Fraction]] = defaultdict(list)
    by_reviewer: dict[str, list[Fraction]] = defaultdict(list)
    references = 0
    for (kind, target_id, code), reviews in sorted(cells.items()):
        leaf = tree.get(code)
        if not leaf.applies(TargetKind(kind)):
            continue
        stats = consolidate_cell(leaf, reviews, settings, target_kind=TargetKind(kind), target_id=target_id)
        given = reference.get((kind, target_id, code))
        consensus: Fraction | str | None = stats.value
        if isinstance(given, Decimal):
            consensus = Fraction(given)
            references += 1
        if consensus is None or consensus == NA or isinstance(consensus, str):
            continue
        scale = Fraction(1) if leaf.kind == IndicatorKind.VETO else Fraction(leaf.max_score)
        if scale == 0:
            continue
        for reviewer, value in stats.reviews:
            if not isinstance(value, Decimal):
                continue  # N/A: not compared
            share = _effect(leaf.kind, Fraction(value), consensus) / scale
            shares[(reviewer, code)].append(share)
            by_reviewer[reviewer].append(share)
    threshold = settings.calibration_threshold
    limit = Fraction(threshold) if threshold is not None else None
    reviewers = {r.id: r for r in store.reviewers()}
    order = {leaf.code: n for n, leaf in enumerate(tree.leaves())}
    deviations = []
    for (reviewer, code), found in sorted(shares.items(), key=lambda item: (item[0][0], order[item[0][1]])):
        leaf = tree.get(code)
        mean = sum(found, Fraction(0)) / len(found)
        scale = Fraction(1) if leaf.kind == IndicatorKind.VETO else Fraction(leaf.max_score)
        deviations.append(IndicatorDeviation(
            reviewer, code, leaf.name, len(found), round_half_up(mean * scale, 2), _percent(mean),
            limit is not None and abs(mean) > limit))
    severities = []
    for reviewer_id, reviewer in sorted(reviewers.items()):
        found = by_reviewer.get(reviewer_id, [])
        if not found:
            severities.append(ReviewerSeverity(reviewer_id, reviewer.name, 0, None, None, False))
            continue
        mean = sum(found, Fraction(0)) / len(found)
        absolute = sum((abs(s) for s in found), Fraction(0)) / len(found)
        flagged = limit is not None and abs(mean) > limit
        severities.append(ReviewerSeverity(reviewer_id, reviewer.name, len(found), _percent(mean), _percent(absolute),
                                           flagged))
    return CalibrationResult(tuple(calibration), threshold, references, tuple(severities), tuple(deviations))


REVIEWER_COLUMNS = ("评审专家", "姓名", "比较项数", "总体偏差（%）", "平均绝对偏差（%）", "倾向", "标记")
DEVIATION_COLUMNS = ("评审专家", "指标代码", "指标名称", "校准对象数", "平均偏差（分）", "平均偏差（%）", "标记")
FLAG = "超出校准阈值"


def reviewer_rows(result: CalibrationResult) -> list[list[Any]]:
    return [[r.reviewer_id, r.name, r.n, r.severity_percent, r.absolute_percent, r.leaning, FLAG if r.flagged else ""]
            for r in result.reviewers]


def deviation_rows(result: CalibrationResult) -> list[list[Any]]:
    return [[d.reviewer_id, d.indicator, d.name, d.n, d.mean_points, d.mean_percent, FLAG if d.flagged else ""]
            for d in result.deviations]


def write_calibration_sheet(book: Any, store: Store, cells: Any) -> None:
    """The report's 校准 sheet (only when the round has calibration targets): each reviewer's severity, then
    each reviewer × indicator deviation. ``cells(sheet, row)`` guards texts as the report's other sheets do."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    if not store.calibration_targets():
        return
    result = calibration_result(store)
    sheet = book.create_sheet("校准")
    bold = Font(bold=True)
    for column, width in zip("ABCDEFG", (10, 20, 10, 14, 16, 10, 14), strict=True):
        sheet.column_dimensions[column].width = width
    limit = f"{_percent(Fraction(result.threshold))}%" if result.threshold is not None else "（未设）"
    sheet.append(cells(sheet, [
        f"校准对象 {len(result.targets)} 个（不计入汇总、排名、一致性和争议）；共识为参考分（{result.references} 项）"
        f"或全体专家的汇总得分；偏差为负 = 偏严，为正 = 偏松；校准阈值 {limit}"]))

    def header(titles: tuple[str, ...]) -> None:
        row = []
        for title in titles:
            cell = WriteOnlyCell(sheet, value=title)
            cell.font = bold
            row.append(cell)
        sheet.append(row)

    header(REVIEWER_COLUMNS)
    for row in reviewer_rows(result):
        sheet.append(cells(sheet, row))
    sheet.append([])
    header(DEVIATION_COLUMNS)
    for row in deviation_rows(result):
        sheet.append(cells(sheet, row))
