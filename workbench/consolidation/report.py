"""The consolidated workbook: totals, grades and ranks, breakdown, reviewers, disputes, agreement, charts.

Written with openpyxl in write-only mode so a national round streams to disk target by target. No cell is ever
a formula: names and file names come from set-up files and reviewers, and a text a spreadsheet would run is
written as a string cell, exactly as the reviewer worksheet does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from workbench.consolidation.consolidate import rank_targets
from workbench.consolidation.stored import storing, stream_consolidation
from workbench.errors import WorkbenchError
from workbench.model import TARGET_LABELS, Indicator, IndicatorKind, TargetKey, TargetKind
from workbench.scoring.indicators import format_consolidated, round_half_up
from workbench.signed.export import guarded_cell
from workbench.signed.worksheet import clean_text, has_illegal_characters, needs_text_guard
from workbench.store.db import Store, transaction, utc_now
from workbench.store.schema import KIND_ROUND

REASON_LABEL = {"disagreement": "评分分歧", "missing": "缺少评分", "out-of-range": "超出范围"}
FLAG_LABEL = {**REASON_LABEL}


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    targets: int
    cells: int
    disputes: int
    exports: int


def _flags(flags: tuple[str, ...]) -> str:
    return "、".join(FLAG_LABEL.get(f, f) for f in flags)


def _cells(sheet: Any, row: list[Any]) -> list[Any]:
    """A row as written: only the texts a spreadsheet would take for a formula or an error value become string
    cells with a quote prefix (openpyxl would otherwise write them as formulas; wrapping every cell is slow),
    and characters no worksheet can hold are dropped as the reviewer worksheet drops them."""
    for n, value in enumerate(row):
        if not isinstance(value, str) or not value:
            continue
        if has_illegal_characters(value):  # openpyxl would refuse them halfway through a row
            value = row[n] = clean_text(value) or ""
        if needs_text_guard(value):
            row[n] = guarded_cell(sheet, value)
    return row


def _shown(indicator: Indicator, value: Fraction | str | None, places: int) -> Decimal | str:
    """A consolidated value as its cell: a number rounded once from the exact value to its display places;
    a veto's majority as 是/否 and N/A as 不适用 (format_consolidated, the one display rule)."""
    if isinstance(value, Fraction) and indicator.kind != IndicatorKind.VETO:
        return round_half_up(value, places)
    return format_consolidated(indicator, value, places)


def write_report(round_db: Path, out: Path) -> ReportSummary:
    """Consolidate the round afresh and write the workbook; returns what it holds."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    out = Path(out)
    if out.exists():
        raise WorkbenchError(f"{out} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        names = {t.key: t for t in store.targets()}
        reviewers = {r.id: r for r in store.reviewers()}
        summary, targets = stream_consolidation(store)
        tree = summary.tree
        book = Workbook(write_only=True)
        bold = Font(bold=True)

        def printable(sheet: Any) -> None:
            # Coordinators print or export to PDF: landscape, every column on one page width.
            sheet.page_setup.orientation = "landscape"
            sheet.page_setup.paperSize = "9"  # A4
            sheet.sheet_properties.pageSetUpPr.fitToPage = True
            sheet.page_setup.fitToWidth = 1
            sheet.page_setup.fitToHeight = 0

        def number(sheet: Any, value: Any, fmt: str) -> Any:
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = fmt
            return cell

        def header(sheet: Any, titles: list[str], widths: list[int]) -> None:
            printable(sheet)
            for n, width in enumerate(widths):
                sheet.column_dimensions[chr(ord("A") + n)].width = width
            sheet.freeze_panes = "A2"
            cells = []
            for title in titles:
                cell = WriteOnlyCell(sheet, value=title)
                cell.font = bold
                cells.append(cell)
            sheet.append(cells)  # the fixed headers: nothing to guard

        totals_sheet = book.create_sheet("总分排名")
        breakdown = book.create_sheet("指标明细")
        header(breakdown, ["类型", "编号", "名称", "指标代码", "指标名称", "汇总得分", "方法", "评审数", "均值",
                           "中位数", "最低", "最高", "标记"], [6, 10, 28, 10, 20, 10, 12, 8, 8, 8, 8, 8, 16])
        spread: dict[str, list[Decimal]] = defaultdict(list)
        cells = 0
        with transaction(store.conn):  # the report's consolidation is also what `scores` shows from now on
            for target in storing(store, targets, whole_round=True):
                t = names.get(TargetKey(target.target_kind, target.target_id))
                for c in target.cells:
                    ind = tree.get(c.indicator)
                    cells += 1
                    if c.min is not None and c.max is not None and ind.max_score > 0:
                        spread[c.indicator].append((c.max - c.min) / ind.max_score * 100)
                    breakdown.append(_cells(breakdown, [
                        TARGET_LABELS[c.target_kind], c.target_id, t.name if t else "", c.indicator, ind.name,
                        _shown(ind, c.value, c.places), c.method, c.n,
                        c.mean, c.median, c.min, c.max, _flags(c.flags),
                    ]))
        ranks = rank_targets(summary.totals)

        header(totals_sheet, ["排名", "类型", "编号", "名称", "地区", "总分", "等级", "待复核"],
               [6, 6, 10, 30, 10, 8, 8, 10])
        disputed = Counter(TargetKey(d.target_kind, d.target_id) for d in summary.disputes)
        order = sorted(summary.totals, key=lambda k: (k.kind != TargetKind.SITE, ranks[k], k.id))
        for key in order:
            total = summary.totals[key]
            t = names.get(key)
            totals_sheet.append(_cells(totals_sheet, [
                ranks[key], TARGET_LABELS[key.kind], key.id, t.name if t else "", t.region if t else "",
                number(totals_sheet, total.total, "0.0"), total.grade, disputed.get(key, 0) or None,
            ]))

        people = book.create_sheet("评审专家")
        header(people, ["编号", "姓名", "单位", "比较项数", "平均偏差（%）", "平均绝对偏差（%）", "已合并导出"],
               [8, 10, 24, 10, 14, 16, 10])
        merged = Counter(r[0] for r in store.conn.execute(
            "SELECT reviewer_id FROM submissions WHERE outcome = 'merged'"))
        bias = summary.agreement.bias()
        for rid, r in sorted(reviewers.items()):
            b = bias.get(rid)
            people.append(_cells(people, [rid, r.name, r.org, b.n if b else 0, b.mean_difference if b else None,
                                          b.mean_absolute_difference if b else None, merged.get(rid, 0)]))

        disputes = book.create_sheet("争议复核")
        header(disputes, ["评审专家", "类型", "编号", "名称", "指标代码", "指标名称", "原因"],
               [10, 6, 10, 28, 10, 20, 12])
        for d in summary.disputes:
            t = names.get(TargetKey(d.target_kind, d.target_id))
            disputes.append(_cells(disputes, [
                d.reviewer_id, TARGET_LABELS[d.target_kind], d.target_id, t.name if t else "", d.indicator,
                tree.get(d.indicator).name, REASON_LABEL.get(d.reason, d.reason),
            ]))

        agreement = book.create_sheet("一致性")
        header(agreement, ["指标代码", "指标名称", "Krippendorff α（区间）", "平均极差（占分值%）"], [10, 24, 22, 20])
        alphas = summary.agreement.alpha()
        overall = summary.agreement.alpha_overall()
        agreement.append(["全部", "（各指标按分值归一后合并）", overall, None])
        for leaf in tree.leaves():
            values = spread.get(leaf.code, [])
            mean_spread = round_half_up(sum(values, Decimal(0)) / len(values)) if values else None
            agreement.append(_cells(agreement, [leaf.code, leaf.name, alphas.get(leaf.code), mean_spread]))

        charts = book.create_sheet("图表")
        printable(charts)
        charts.column_dimensions["A"].width = 26
        charts.column_dimensions["B"].width = 20
        grades = Counter(summary.totals[k].grade for k in summary.totals)
        labels = [label for label, _ in summary.rules.grade_bands] + [summary.rules.fail_label]
        labels += sorted(g for g in grades if g not in labels)
        charts.append(["等级", "对象数"])
        for label in labels:
            charts.append(_cells(charts, [label, grades.get(label, 0)]))
        grade_chart = BarChart()
        grade_chart.title = "各等级对象数 / targets by grade"
        grade_chart.y_axis.title = "对象数"
        grade_chart.add_data(Reference(charts, min_col=2, min_row=1, max_row=1 + len(labels)), titles_from_data=True)
        grade_chart.set_categories(Reference(charts, min_col=1, min_row=2, max_row=1 + len(labels)))
        grade_chart.legend = None
        charts.add_chart(grade_chart, "D2")
        leaves = [leaf for leaf in tree.leaves() if spread.get(leaf.code)]
        start = 3 + len(labels)
        charts.append([])
        charts.append(["指标", "平均极差（占分值%）"])
        for leaf in leaves:
            values = spread[leaf.code]
            mean_spread = round_half_up(sum(values, Decimal(0)) / len(values))
            charts.append(_cells(charts, [f"{leaf.code} {leaf.name}", number(charts, mean_spread, "0.0")]))
        if leaves:
            spread_chart = BarChart()
            spread_chart.type = "bar"
            spread_chart.title = "各指标评分极差 / spread per indicator"
            spread_chart.height = max(7.5, 0.45 * len(leaves))
            spread_chart.width = 18
            spread_chart.add_data(Reference(charts, min_col=2, min_row=start + 1, max_row=start + 1 + len(leaves)),
                                  titles_from_data=True)
            spread_chart.set_categories(Reference(charts, min_col=1, min_row=start + 2,
                                                  max_row=start + 1 + len(leaves)))
            spread_chart.legend = None
            charts.add_chart(spread_chart, "D20")

        about = book.create_sheet("说明")
        printable(about)
        about.column_dimensions["A"].width = 16
        about.column_dimensions["B"].width = 40
        made = utc_now()
        local = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        for row in (["轮次", store.round_id], ["名称", store.round_name], ["生成时间（UTC）", made],
                    ["生成时间（本地）", local], ["对象数", len(summary.totals)], ["争议复核项", len(summary.disputes)],
                    ["计分方法", "去掉一个最高分和一个最低分后取平均（不足 3 份时取平均）；否决项按多数"
                     if summary.settings.trim else "取平均；否决项按多数"], []):
            about.append(_cells(about, row))
        about.append(["已合并的导出", "评审专家", "序号", "密钥", "文件", "核验时间（UTC）", "结果"])
        exports = store.conn.execute(
            "SELECT export_id, reviewer_id, seq, key_id, file_name, verified_at, outcome FROM submissions "
            "ORDER BY verified_at, reviewer_id, seq"
        ).fetchall()
        for e in exports:
            about.append(_cells(about, list(e)))
        book.save(out)
        return ReportSummary(out, len(summary.totals), cells, len(summary.disputes), len(exports))
    finally:
        store.close()

