"""The consolidated workbook (totals, grades and ranks, breakdown, reviewers, disputes, agreement, charts) and
its side file of every review.

Written with openpyxl in write-only mode so a national round streams to disk target by target; the tables' data
rows, millions of cells on a national round, are serialised by `sheetrows` and spliced in. No cell is ever
a formula: names and file names come from set-up files and reviewers, and a text a spreadsheet would run is
written as a string cell, exactly as the reviewer worksheet does.

The workbook stays within Excel's limits at any size: no sheet passes MAX_ROWS rows; a sheet that would is cut,
says so in its first row and points to the side file. The side file beside the workbook holds the complete long
data, one row per review with the consolidated value beside it, as UTF-8 CSV with a BOM in numbered parts of at
most CSV_PART_ROWS rows (``consolidated.reviews-1.csv`` …), each cell guarded as `csv_field` guards the CLI's CSV.
"""

from __future__ import annotations

import csv
import glob
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from workbench.consolidation.agreement import Agreement
from workbench.consolidation.calibration import write_calibration_sheet
from workbench.consolidation.consolidate import (
    MAJORITY,
    MEAN,
    MISSING,
    NONE,
    TRIMMED_MEAN,
    rank_group_of,
    rank_targets,
    usable_value,
)
from workbench.consolidation.csvout import csv_field
from workbench.consolidation.disputes import (
    REASON_LABELS,
    REASONS,
    STATUS_LABELS,
    dispute_items,
    leaf_order_table,
)
from workbench.consolidation.sheetrows import RowStream, Styled
from workbench.consolidation.sheetrows import save as save_with_rows
from workbench.consolidation.status import check_complete, round_progress
from workbench.consolidation.stored import (
    decode_exact,
    ensure_consolidated,
    point_sections,
    read_totals,
    round_rules,
)
from workbench.errors import InvalidScore, WorkbenchError
from workbench.model import NA, TARGET_LABELS, Indicator, IndicatorKind, Target, TargetKey, TargetKind
from workbench.scoring.indicators import (
    PENDING_REASONS,
    IndicatorTree,
    TotalResult,
    compute_total,
    consolidated_places,
    format_consolidated,
    format_value,
    round_half_up,
    step_places,
)
from workbench.scoring.rules import Rules
from workbench.signed.export import guarded_cell
from workbench.signed.worksheet import clean_text, has_illegal_characters, needs_text_guard
from workbench.store.db import Store, decode_value, utc_now
from workbench.store.schema import CONSOLIDATED_EXACT, KIND_ROUND

DASH = "—"
REASON_LABEL = {**REASON_LABELS, "missing": "缺少评分"}
"""A cell's flags in words: the dispute reasons (disputes.REASON_LABELS) and a missing review."""
METHOD_LABEL = {TRIMMED_MEAN: "去掉最高最低", MEAN: "平均", MAJORITY: "多数", NONE: "无", "imported": "导入"}
"""The consolidation method as 指标明细 shows it."""

MAX_ROWS = 1_048_576
DETAIL_ALL_ROWS = 100_000
"""指标明细 lists every cell up to this many; a larger round's lists only the flagged ones (what a coordinator acts
on), every cell being in the side file."""
"""Rows one sheet may hold: Excel's limit. A sheet that would pass it is cut (a test lowers it)."""
PROGRESS_ROWS = 50_000
"""The side file's rows between two calls of the report's progress callback."""

CSV_PART_ROWS = 1_000_000
"""Rows in one part of the side file, its header row included, so that each part also opens in Excel."""
REVIEW_COLUMNS = ("轮次", "类型", "编号", "名称", "指标代码", "指标名称", "评审专家", "评分", "备注", "导出编号",
                  "汇总得分")
"""The side file's columns: one row per review, the consolidated value of its cell beside it."""


def side_file(out: Path, part: int) -> Path:
    """Part ``part`` (from 1) of the side file beside the workbook: consolidated.xlsx → consolidated.reviews-1.csv."""
    return out.with_name(f"{out.stem}.reviews-{part}.csv")


@dataclass(frozen=True)
class ReportSummary:
    path: Path
    targets: int
    cells: int
    disputes: int
    exports: int
    incomplete: bool = False
    side_files: tuple[Path, ...] = ()
    """The side file's parts, in order."""
    reviews: int = 0
    """Rows in the side file (its headers not counted)."""
    cut: tuple[str, ...] = ()
    """Sheets cut at MAX_ROWS."""


def _attributes(target: Target) -> dict[str, str]:
    """The attributes a ranking group may name (RANK_GROUP_COLUMNS) that this target has: sites their 层级,
    cases their 领域, both their 地区."""
    if target.kind == TargetKind.SITE:
        return {"region": target.region, "level": target.detail}
    return {"region": target.region, "area": target.area}


def _ranked_by_group(
    sheet: Any, by_group: dict[tuple[TargetKind, str], list[list[Any]]], bold: Any, printable: Any,
    banner: str | None, cells: Any,
) -> None:
    """One ranked table per kind and ranking group (排名分组), one under the other, each with its title."""
    from openpyxl.cell import WriteOnlyCell

    printable(sheet)
    for column, width in zip("ABCDEF", (6, 10, 30, 10, 8, 8), strict=True):
        sheet.column_dimensions[column].width = width
    if banner is not None:
        sheet.append([banner])
    for (kind, group), rows in sorted(by_group.items(), key=lambda item: (item[0][0] != TargetKind.SITE, item[0][1])):
        title = WriteOnlyCell(sheet, value=clean_text(f"{TARGET_LABELS[kind]} · {group or '（未分组）'}") or "")
        title.font = bold  # starts with 网站 / 案例: never a formula, whatever the group's name
        sheet.append([title])
        header = []
        for text in ("排名", "编号", "名称", "地区", "总分", "等级"):
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for rank, target_id, name, region, total, grade in rows:
            shown = WriteOnlyCell(sheet, value=total)
            shown.number_format = "0.0"
            sheet.append(cells(sheet, [rank, target_id, name, region, shown, grade]))
        sheet.append([])


def _flags(flags: tuple[str, ...]) -> str:
    return "、".join(REASON_LABEL.get(f, f) for f in flags)


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


def _own(cache: dict[tuple[str, Decimal | str], str], indicator: Indicator, value: Decimal | str) -> str:
    """A reviewer's value as shown beside the consensus (format_value: its step's places, 是/否, 不适用)."""
    shown = cache.get((indicator.code, value))
    if shown is None:
        shown = cache[(indicator.code, value)] = format_value(indicator, value)
    return shown


def _number_format(places: int) -> str:
    """Excel's number format for ``places`` decimals: 0 → "0", 2 → "0.00"."""
    return "0." + "0" * places if places > 0 else "0"


def _count_unit(largest: int) -> int:
    """A whole major unit for a count axis up to ``largest``: 1, 2, 5, 10, 20, 50 … giving at most ten ticks."""
    unit = 1
    while largest > unit * 10:
        for step in (2, 5, 10):
            if largest <= unit * step * 10:
                return unit * step
        unit *= 10
    return unit


class _Table:
    """One sheet's table as it is appended: its header row, and the data rows that fit under MAX_ROWS (the rest
    are counted, not written). `finish` puts the autofilter on it and repeats its header rows on every page."""

    def __init__(self, sheet: Any, header_row: int, columns: int, *, stream: RowStream | None = None) -> None:
        self.sheet = sheet
        self.header_row = header_row
        self.columns = columns
        self.room = max(MAX_ROWS - header_row, 0)
        self.written = 0
        self.dropped = 0
        self.stream = stream  # the data rows as SpreadsheetML (sheetrows): the sheet's last table only
        self._formatted: dict[tuple[int, str], Any] = {}

    @property
    def full(self) -> bool:
        return self.written >= self.room

    def number(self, column: int, value: Any, fmt: str) -> Any:
        """``value`` in a cell with number format ``fmt``; a text or None as it is. One styled cell per column
        and format serves row after row: write-only mode writes a row out as it is appended, so the cell is
        free again by the next row, and its style is looked up once, not per cell."""
        if value is None or isinstance(value, str):
            return value
        if self.stream is not None:
            return Styled(value, self.stream.style_id(fmt))
        cell = self._formatted.get((column, fmt))
        if cell is None:
            from openpyxl.cell import WriteOnlyCell

            cell = self._formatted[(column, fmt)] = WriteOnlyCell(self.sheet)
            cell.number_format = fmt
        cell.value = value
        return cell

    def append(self, row: list[Any]) -> None:
        if self.full:
            self.dropped += 1
            return
        if self.stream is not None:
            self.stream.append(row)
        else:
            self.sheet.append(_cells(self.sheet, row))
        self.written += 1

    def finish(self, *, titles: str | None = None, repeat: bool = True) -> None:
        """The autofilter over the header and the rows written; the rows from the first to the header (or
        ``titles``) repeated at the top of every printed page unless not ``repeat``."""
        from openpyxl.utils import get_column_letter

        last = get_column_letter(self.columns)
        self.sheet.auto_filter.ref = f"A{self.header_row}:{last}{self.header_row + max(self.written, 1)}"
        if repeat:
            self.sheet.print_title_rows = titles or f"1:{self.header_row}"


_REVIEWED_SQL = """
SELECT (SELECT count(*) FROM scores WHERE round = ? AND (value IS NOT NULL OR note != ''))
    - (SELECT count(*) FROM (SELECT 'site' AS kind, id FROM sites WHERE calibration != 0
                             UNION SELECT 'case', id FROM cases WHERE calibration != 0) t
       CROSS JOIN scores s ON s.target_kind = t.kind AND s.target_id = t.id
       WHERE s.round = ? AND (s.value IS NOT NULL OR s.note != ''))
"""
"""How many score rows the side file lists: every review with a value or a note, but a calibration target's
(校准: only on its own sheet). The few calibration targets' reviews are counted apart and taken off: a test of
each of millions of rows against the targets takes several times as long as counting them."""

_BREAKDOWN_SQL = f"""
SELECT c.target_kind, c.target_id, c.indicator, {CONSOLIDATED_EXACT}, c.method, c.n, c.mean, c.median, c.low,
    c.high, c.flags,
    (SELECT group_concat(s.reviewer_id || char(31) || s.value, char(30)) FROM scores s
     WHERE s.round = c.round AND s.target_kind = c.target_kind AND s.target_id = c.target_id
     AND s.indicator = c.indicator AND s.value IS NOT NULL)
FROM consolidated c JOIN indicators i ON i.code = c.indicator
WHERE c.round = ? {{only}}
ORDER BY c.target_kind, c.target_id, i.position
"""
"""指标明细's rows as the consolidation stored them, each cell's merged values beside it (reviewer and value
joined by the unit and record separators, which no id or value holds); {only} narrows it to flagged cells."""

_DISPUTES_SQL = """
SELECT d.target_kind, d.target_id, d.indicator, d.reviewer_id, d.reason
FROM disputes d JOIN {order} o ON o.code = d.indicator
WHERE d.round = ? AND d.reason IN ({marks})
ORDER BY d.target_kind != 'site', d.target_id, o.n, d.reviewer_id
"""
"""The stored disputes with the reasons given as {marks} placeholders, in the order dispute_items yields their
cells ({order}: its leaf_order_table), each cell's reviewers in id order."""


def _stat_of(cache: dict[str, Decimal], text: str | None) -> Decimal | None:
    """A stored statistic as a Decimal (None for none), each distinct text made once (up to 100,000 of them)."""
    if text is None:
        return None
    found = cache.get(text)
    if found is None:
        if len(cache) > 100_000:
            cache.clear()
        found = cache[text] = Decimal(text)
    return found


def _split_reviews(joined: str | None) -> list[tuple[str, str]]:
    if not joined:
        return []
    return sorted(tuple(item.split("\x1f", 1)) for item in joined.split("\x1e"))  # type: ignore[misc]


def _assigned(store: Store) -> dict[tuple[str, str], set[str]]:
    """Each assigned target's panel: a review from anyone else does not count (as in the consolidation). An
    appeal's reviewers join the panel of the target appealed: they have reviews only of the cells appealed."""
    from workbench.consolidation.appeals import appeal_panels

    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for reviewer, kind, target_id in store.conn.execute("SELECT reviewer_id, target_kind, target_id FROM assignments"):
        out[(kind, target_id)].add(reviewer)
    for (kind, target_id, _), reviewers in appeal_panels(store.conn).items():
        if (kind, target_id) in out:
            out[(kind, target_id)] |= reviewers
    return out


def _mean_spreads(store: Store, tree: IndicatorTree) -> dict[str, Decimal]:
    """Per leaf with points, the mean over its cells of (highest − lowest) as a share of its points, in %,
    rounded once: exact, from the stored lowest and highest values (few distinct pairs per leaf)."""
    sums: dict[str, list[Fraction]] = {}
    for code, low, high, count in store.conn.execute(
            "SELECT indicator, low, high, count(*) FROM consolidated WHERE round = ? AND low IS NOT NULL "
            "AND high IS NOT NULL GROUP BY indicator, low, high", (store.round_id,)):
        if code not in tree or tree.get(code).max_score <= 0:
            continue
        share = (Fraction(high) - Fraction(low)) / Fraction(tree.get(code).max_score) * 100
        acc = sums.setdefault(code, [Fraction(0), Fraction(0)])
        acc[0] += share * count
        acc[1] += count
    return {code: round_half_up(total / count) for code, (total, count) in sums.items()}


def previous_totals(store: Store, tree: IndicatorTree, rules: Rules) -> tuple[str | None, dict[TargetKey, Decimal]]:
    """The newest past round's id and each of its targets' totals under this round's rules (as the app shows a
    target's history), from its stored consolidated values; (None, {}) without history. A target the past
    round vetoed, or whose values this round's system does not accept, has no total there."""
    past = store.past_round_ids()
    if not past:
        return None, {}
    kinds = {kind.value: kind for kind in TargetKind}
    totals: dict[TargetKey, Decimal] = {}
    rows = store.conn.execute(
        f"SELECT target_kind, target_id, indicator, {CONSOLIDATED_EXACT}, value FROM consolidated "
        "WHERE round = ? ORDER BY target_kind, target_id", (past[0],))
    decoded: dict[str, Fraction | str] = {NA: NA}  # a stored text → its value: few distinct ones
    for (kind_text, target_id), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        kind = kinds.get(kind_text)
        if kind is None:
            continue
        values: dict[str, Fraction | str | None] = {}
        for _, _, code, exact, shown in group:
            text = exact if exact is not None else shown  # a row rounded by an earlier version: its display
            if text is None:
                values[code] = None
            elif (value := decoded.get(text)) is not None:
                values[code] = value
            else:
                values[code] = decoded[text] = Fraction(text)
        try:
            total = compute_total(tree, kind, values, rules).total
        except InvalidScore:
            continue
        if total is not None:
            totals[TargetKey(kind, target_id)] = total
    return past[0], totals


_REVIEWS_SQL = """
SELECT s.target_kind, s.target_id, s.indicator, s.reviewer_id, s.value, s.note, e.reason
FROM scores s
LEFT JOIN temp.report_last_event m
    ON m.reviewer_id = s.reviewer_id AND m.target_kind = s.target_kind AND m.target_id = s.target_id
    AND m.indicator = s.indicator
LEFT JOIN score_events e ON e.id = m.id
WHERE s.round = ? AND (s.value IS NOT NULL OR s.note != '')
ORDER BY s.target_kind, s.target_id, s.indicator, s.reviewer_id
"""
"""Every review of the round in cell order, with the event that last wrote it."""

_CELLS_SQL = f"""
SELECT target_kind, target_id, indicator, {CONSOLIDATED_EXACT} FROM consolidated WHERE round = ?
ORDER BY target_kind, target_id, indicator
"""
"""The consolidated cells in the reviews' order: `write_reviews` walks them beside the reviews (a join would
look each of millions of reviews up in the consolidated table)."""


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


_UNSEEN: Any = object()  # a cache's "not worked out yet", where None is a result
_MERGE_REASON = "merge "  # merge.py writes each merged cell's event as "merge <export id> seq <n>"


def _export_id(reason: str | None) -> str:
    """The export a score came from: the one named by the last event that wrote it, "" for an import."""
    if reason is None or not reason.startswith(_MERGE_REASON):
        return ""
    return reason[len(_MERGE_REASON):].split(" ", 1)[0]


def _as_number(indicator: Indicator | None, stored: str | None, consolidated_places_of: int | None) -> Decimal | str:
    """A stored value as a 逐条评分 cell: a number (a consolidated one rounded once to its display places) for a
    numeric value, else its display text (是/否, 不适用, or empty)."""
    if indicator is None:
        return stored or ""
    if consolidated_places_of is None:
        value = decode_value(stored)
        if isinstance(value, Decimal) and indicator.kind != IndicatorKind.VETO:
            return value
        return format_value(indicator, value)
    return _shown(indicator, decode_exact(stored), consolidated_places(indicator, consolidated_places_of))


def write_reviews(store: Store, tree: IndicatorTree, names: dict[TargetKey, Target], value_places: int,
                  out: Path, *, agreement: Agreement | None = None,
                  assigned: dict[tuple[str, str], set[str]] | None = None,
                  sheet: _Table | None = None, on_progress: Callable[[int, int], None] | None = None,
                  expected: int = 0) -> tuple[list[Path], int]:
    """The side file beside the workbook ``out``: every review of the round (a value or a note), one a row, with
    the export it was merged from and its cell's stored consolidated value, in parts of at most CSV_PART_ROWS
    rows (UTF-8 with a BOM, so Excel reads the Chinese). Returns the parts written and the rows in them.

    In the same pass, each consolidated cell's counted reviews (those of its panel, ``assigned``, that the
    consolidation counts: usable_value) feed ``agreement``, and every row also goes to ``sheet`` when given
    (逐条评分, its values as numbers where they are numbers). ``on_progress(done, expected)`` is called every
    PROGRESS_ROWS rows and at the end.

    Values are shown as everywhere else (format_value, format_consolidated); every field is guarded as
    `csv_field` guards the CLI's CSV, so no cell runs as a formula."""
    conn = store.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS report_last_event (reviewer_id TEXT, target_kind TEXT, "
                 "target_id TEXT, indicator TEXT, id INTEGER, "
                 "PRIMARY KEY (reviewer_id, target_kind, target_id, indicator)) WITHOUT ROWID")
    conn.execute("DELETE FROM temp.report_last_event")
    # A reviewer with one merged export had every score from it; only the others' scores are looked up in the
    # audit log (the last event that wrote each one), which keeps this cheap on a round merged once.
    only: dict[str, str] = {}
    for reviewer_id, export_id, count in conn.execute(
            "SELECT reviewer_id, max(export_id), count(*) FROM submissions WHERE outcome = 'merged' "
            "GROUP BY reviewer_id"):
        if count == 1:
            only[reviewer_id] = export_id
    conn.execute("INSERT INTO temp.report_last_event SELECT reviewer_id, target_kind, target_id, indicator, "
                 "max(id) FROM score_events WHERE round = ? AND reviewer_id IN (SELECT reviewer_id FROM "
                 "submissions WHERE outcome = 'merged' GROUP BY reviewer_id HAVING count(*) > 1) "
                 "GROUP BY reviewer_id, target_kind, target_id, indicator", (store.round_id,))
    kinds = {kind.value: kind for kind in TargetKind}
    round_id = csv_field(store.round_id)
    header = list(REVIEW_COLUMNS)
    parts: list[Path] = []
    rows = 0
    in_part = CSV_PART_ROWS
    leaves: dict[str, _SideLeaf] = {}
    reviewer_fields: dict[str, str] = {}  # a reviewer's id as its CSV field
    export_fields: dict[str, str] = {"": ""}  # an export's id as its CSV field
    handle = None
    writer: Any = None
    calibration = {(key.kind.value, key.id) for key in store.calibration_targets()}  # only on the 校准 sheet
    cells = conn.execute(_CELLS_SQL, (store.round_id,))
    try:
        next_cell: tuple[str, str, str, str | None] | None = next(cells, None)
        target: tuple[str | None, str | None] = (None, None)
        skipped = False  # the target is a calibration target's
        panel: set[str] | None = None
        target_raw: list[str] = []
        target_fields: list[str] = []
        leaf: _SideLeaf | None = None
        cell_code: str | None = None
        # a consolidated cell whose reviews feed agreement: its indicator, counted reviews and stored exact text
        counted: tuple[str, list[tuple[str, Decimal | str]], str | None] | None = None
        prefix: list[str] = []  # the row's fields before the reviewer's
        result = ""
        exact: str | None = None
        for kind, target_id, code, reviewer, value, note, reason in conn.execute(_REVIEWS_SQL, (store.round_id,)):
            if target_id != target[1] or kind != target[0]:
                if counted is not None and agreement is not None:
                    agreement.add_stored_cell(*counted)
                counted, cell_code, target = None, None, (kind, target_id)
                skipped = bool(calibration) and (kind, target_id) in calibration
                if not skipped:
                    target_kind = kinds.get(kind)
                    t = names.get(TargetKey(target_kind, target_id)) if target_kind is not None else None
                    label = TARGET_LABELS[target_kind] if target_kind is not None else kind
                    target_raw = [label, target_id, t.name if t else ""]
                    target_fields = [csv_field(field) for field in target_raw]
                    panel = assigned.get((kind, target_id)) if assigned is not None else None
            if skipped:
                continue
            if code != cell_code:
                if counted is not None and agreement is not None:
                    agreement.add_stored_cell(*counted)
                cell_code = code
                leaf = leaves.get(code)
                if leaf is None:
                    leaf = leaves[code] = _SideLeaf(tree, code)
                cell = (kind, target_id, code)
                while next_cell is not None and next_cell[:3] < cell:
                    next_cell = next(cells, None)
                exact, counted = None, None
                if next_cell is not None and next_cell[:3] == cell:
                    exact = next_cell[3]
                    counted = (code, [], exact) if agreement is not None else None
                shown_result = leaf.results.get(exact)
                if shown_result is None:
                    shown_result = leaf.results[exact] = csv_field(
                        format_consolidated(leaf.ind, exact, value_places) if leaf.ind else (exact or ""))
                result = shown_result
                prefix = [round_id, *target_fields, *leaf.fields]
            assert leaf is not None
            if counted is not None and value is not None and (panel is None or reviewer in panel):
                usable = leaf.usable.get(value, _UNSEEN)
                if usable is _UNSEEN:
                    usable = leaf.usable[value] = usable_value(tree.get(code), decode_value(value))
                if usable is not None:
                    counted[1].append((reviewer, usable))
            if in_part >= CSV_PART_ROWS:
                if handle is not None:
                    handle.close()
                parts.append(side_file(out, len(parts) + 1))
                handle = parts[-1].open("x", encoding="utf-8-sig", newline="")
                writer = csv.writer(handle)
                writer.writerow(header)
                in_part = 1
            text = leaf.texts.get(value)
            if text is None:
                text = leaf.texts[value] = csv_field(
                    format_value(leaf.ind, decode_value(value)) if leaf.ind else (value or ""))
            who = reviewer_fields.get(reviewer)
            if who is None:
                who = reviewer_fields[reviewer] = csv_field(reviewer)
            export_id = only.get(reviewer) or (_export_id(reason) if reason else "")
            exported = export_fields.get(export_id)
            if exported is None:
                exported = export_fields[export_id] = csv_field(export_id)
            writer.writerow([*prefix, who, text, csv_field(note) if note else "", exported, result])
            if sheet is not None:
                sheet.append([store.round_id, *target_raw, code, leaf.ind.name if leaf.ind else "", reviewer,
                              sheet.number(8, *leaf.number(value)), note, export_id,
                              sheet.number(11, *leaf.total(exact, value_places))])
            in_part += 1
            rows += 1
            if on_progress is not None and rows % PROGRESS_ROWS == 0:
                on_progress(rows, max(expected, rows))
        if counted is not None and agreement is not None:
            agreement.add_stored_cell(*counted)
        if on_progress is not None:
            on_progress(rows, max(expected, rows))
        if not parts:  # no review yet: the header alone, so that the file is where the README says
            parts.append(side_file(out, 1))
            with parts[-1].open("x", encoding="utf-8-sig", newline="") as empty:
                csv.writer(empty).writerow(header)
    except BaseException:
        if handle is not None:
            handle.close()
            handle = None
        for part in parts:
            part.unlink(missing_ok=True)
        raise
    finally:
        cells.close()
        if handle is not None:
            handle.close()
        conn.execute("DROP TABLE IF EXISTS temp.report_last_event")
    return parts, rows


class _SideLeaf:
    """What `write_reviews` works out once per indicator: its fields, and each stored value's display, usable
    value and 逐条评分 cell (a number where it is one, else as the CSV shows it, with its number format)."""

    __slots__ = ("fields", "ind", "numbers", "results", "texts", "totals", "usable")

    def __init__(self, tree: IndicatorTree, code: str) -> None:
        self.ind = tree.get(code) if code in tree else None
        self.fields = [csv_field(code), csv_field(self.ind.name if self.ind else "")]
        self.texts: dict[str | None, str] = {}
        self.results: dict[str | None, str] = {}
        self.usable: dict[str, Decimal | str | None] = {}
        self.numbers: dict[str | None, tuple[Decimal | str, str]] = {}
        self.totals: dict[str | None, tuple[Decimal | str, str]] = {}

    def number(self, value: str | None) -> tuple[Decimal | str, str]:
        found = self.numbers.get(value)
        if found is None:
            fmt = _number_format(step_places(self.ind.step)) if self.ind else "General"
            found = self.numbers[value] = (_as_number(self.ind, value, None), fmt)
        return found

    def total(self, exact: str | None, value_places: int) -> tuple[Decimal | str, str]:
        found = self.totals.get(exact)
        if found is None:
            fmt = _number_format(consolidated_places(self.ind, value_places)) if self.ind else "General"
            found = self.totals[exact] = (_as_number(self.ind, exact, value_places), fmt)
        return found


PARALLEL_ROWS = 200_000
"""From this many reviews on (and when 逐条评分 is not in the workbook), the side file is written by a forked
process while this one writes the workbook's sheets: two passes of about the same length on a national round."""


class _SideFile:
    """`write_reviews` running in a forked process (its own connection to the round), with the agreement sums
    it gathers sent back when it is done. The fork inherits what the report has read (the tree, the targets,
    the panels) and the progress callback, which goes on drawing on the same terminal."""

    def __init__(self, round_db: Path, tree: IndicatorTree, names: dict[TargetKey, Target], value_places: int,
                 out: Path, assigned: dict[tuple[str, str], set[str]],
                 on_progress: Callable[[int, int], None] | None, expected: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)

        def run() -> None:
            try:
                store = Store.open(round_db, expect=KIND_ROUND)
                try:
                    agreement = Agreement(tree)
                    parts, rows = write_reviews(store, tree, names, value_places, out, agreement=agreement,
                                                assigned=assigned, on_progress=on_progress, expected=expected)
                finally:
                    store.close()
                send.send(("done", parts, rows, agreement.state()))
            except BaseException as exc:  # every failure goes back to the report
                try:
                    send.send(("failed", exc))
                except Exception:  # an exception that does not pickle: its text then
                    send.send(("failed", WorkbenchError(f"{type(exc).__name__}: {exc}")))

        self._process = context.Process(target=run, name="workbench-report-reviews", daemon=True)
        self._process.start()
        send.close()

    def result(self, tree: IndicatorTree) -> tuple[list[Path], int, Agreement]:
        """The parts written, their rows and the agreement sums; the process's failure raised here."""
        try:
            message: tuple[Any, ...] = self._receive.recv()
        except EOFError:
            message = ("failed", WorkbenchError(
                "写逐条评分 CSV 的进程意外退出 / the process writing the side file ended unexpectedly; "
                "run the report again"))
        finally:
            self._process.join()
        if message[0] != "done":
            raise message[1]
        _, parts, rows, state = message
        return parts, rows, Agreement.from_state(tree, state)

    def stop(self) -> None:
        """End the process if it is still running (the report failed first)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _remove_side_file(out: Path) -> None:
    """Every part of ``out``'s side file (none was there before: write_report refuses to start otherwise)."""
    n = 1
    while (part := side_file(out, n)).exists():
        part.unlink()
        n += 1


def write_report(
    round_db: Path, out: Path, *, allow_incomplete: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReportSummary:
    """Write the round's consolidated workbook and its side file; returns what they hold.
    It reads the consolidation the merges stored (recomputed first only where a merge or a migration left it
    stale): values, statistics, totals and disputes; ranks follow from the stored totals, and agreement from one
    pass over the reviews, which also writes the side file. ``on_progress(done, total)`` is called as that pass
    goes, in reviews (for a progress bar).

    Refused (RoundIncomplete, saying what is missing) while nothing is merged or targets are short of reviews;
    with ``allow_incomplete`` the workbook is written with a 未完成 banner on its first sheet and its ranked
    table, and targets without a result show "—" with no grade and no rank.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    out = Path(out)
    if out.exists():
        raise WorkbenchError(f"{out} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    stale = sorted(p for p in out.parent.glob(f"{glob.escape(out.stem)}.reviews-*.csv")
                   if p.name[len(out.stem) + len(".reviews-"):-len(".csv")].isdigit())
    if stale:  # a part left by an earlier report would be pivoted with the new ones
        raise WorkbenchError(f"{stale[0]} 已存在，不会覆盖 / already exists; choose another path or remove "
                             "the earlier report's .reviews-N.csv files first")
    store = Store.open(round_db, expect=KIND_ROUND)
    streams: list[RowStream] = []  # each table's data rows, as SpreadsheetML (removed in the end, saved or not)
    side_pass: _SideFile | None = None  # the side file written alongside, on a large round
    try:
        ensure_consolidated(store)  # only when merges left it stale: otherwise the merge's result is read
        progress = round_progress(store)
        if not allow_incomplete:
            check_complete(progress, "report")
        names = {t.key: t for t in store.targets()}
        reviewers = {r.id: r for r in store.reviewers()}
        tree, rules, settings = round_rules(store)
        stored_totals = read_totals(store)
        book = Workbook(write_only=True)
        bold = Font(bold=True)
        red = Font(bold=True, color="C00000")
        side = side_file(out, 1).name
        def printable(sheet: Any) -> None:
            # Coordinators print or export to PDF: landscape, every column on one page width, numbered pages.
            sheet.page_setup.orientation = "landscape"
            sheet.page_setup.paperSize = "9"  # A4
            sheet.sheet_properties.pageSetUpPr.fitToPage = True
            sheet.page_setup.fitToWidth = 1
            sheet.page_setup.fitToHeight = 0
            sheet.oddFooter.left.text = "&A"  # the sheet's name
            sheet.oddFooter.center.text = "第 &P 页，共 &N 页"

        def note(sheet: Any, text: str) -> None:
            cell = WriteOnlyCell(sheet, value=clean_text(text) or "")
            cell.font = red
            sheet.append([cell])

        banner = None if progress.complete else "未完成 / INCOMPLETE：" + " / ".join(progress.describe())

        def table(sheet: Any, titles: list[str], widths: list[int], *, flagged: bool = False,
                  expected: int | None = None, elsewhere: str = "", lead: str | None = None) -> _Table:
            """A sheet opening with its table's header; a sheet whose ``expected`` data rows would pass MAX_ROWS
            says first that it is cut and where the rest is."""
            printable(sheet)
            for n, width in enumerate(widths, 1):
                sheet.column_dimensions[get_column_letter(n)].width = width
            notes = [banner] if flagged and banner is not None else []
            if lead is not None:
                notes.append(lead)
            if expected is not None and len(notes) + 1 + expected > MAX_ROWS:
                room = MAX_ROWS - len(notes) - 2
                notes.insert(0, f"本表已截断：超过 Excel 每表 {MAX_ROWS:,} 行的上限，只列出前 {room:,} 行，"
                                f"共 {expected:,} 行。完整数据见工作簿旁的 {side} 等 CSV 文件{elsewhere} / "
                                f"cut at Excel's row limit: the complete data is in {side} and the parts after it")
            header_row = len(notes) + 1
            sheet.freeze_panes = f"A{header_row + 1}"
            for text in notes:
                note(sheet, text)
            streams.append(RowStream(sheet, header_row + 1, len(titles)))  # the sheet ends with this table
            return table_at(sheet, header_row, titles, stream=streams[-1])

        def table_at(sheet: Any, header_row: int, titles: list[str], *, stream: RowStream | None = None) -> _Table:
            """A table further down a sheet: its bold header at ``header_row``, which is the next row; its data
            rows go to ``stream`` when given."""
            cells = []
            for title in titles:  # fixed words, but for the parts' names from the indicators file: guarded
                title = clean_text(title) or "" if has_illegal_characters(title) else title
                cell = guarded_cell(sheet, title) if needs_text_guard(title) else WriteOnlyCell(sheet, value=title)
                cell.font = bold
                cells.append(cell)
            sheet.append(cells)
            return _Table(sheet, header_row, len(titles), stream=stream)

        totals_sheet = book.create_sheet("总分排名")
        breakdown_sheet = book.create_sheet("指标明细")
        all_rows = store.conn.execute("SELECT count(*) FROM consolidated WHERE round = ?",
                                      (store.round_id,)).fetchone()[0]
        only_flagged = all_rows > DETAIL_ALL_ROWS
        flagged_rows = store.conn.execute("SELECT count(*) FROM consolidated WHERE round = ? AND flags != ''",
                                          (store.round_id,)).fetchone()[0] if only_flagged else 0
        breakdown = table(breakdown_sheet, ["类型", "编号", "名称", "指标代码", "指标名称", "汇总得分", "方法",
                                            "评审数", "均值", "中位数", "最低", "最高", "标记", "各专家评分"],
                          [6, 10, 28, 10, 20, 10, 14, 8, 8, 8, 8, 8, 16, 36],
                          expected=flagged_rows if only_flagged else all_rows,
                          lead=(f"本轮共 {all_rows:,} 个指标项，超过 {DETAIL_ALL_ROWS:,} 项：本表只列出有标记的项，"
                                f"全部见 {side} 等 CSV 文件 / {all_rows:,} items: only the flagged ones are listed "
                                f"here, every one is in {side}") if only_flagged else None)
        own: dict[tuple[str, Decimal | str], str] = {}  # (indicator, a reviewer's value) → as shown: few of each
        # (indicator, stored text) → its usable value, and → the consolidated cell with its number format: the
        # values repeat, so each is worked out once
        usable_of: dict[tuple[str, str], Decimal | str | None] = {}
        result_of: dict[tuple[str, str | None], tuple[Decimal | str, str]] = {}
        assigned = _assigned(store)
        long_rows = store.conn.execute(_REVIEWED_SQL, (store.round_id, store.round_id)).fetchone()[0]
        fits = long_rows + 1 < MAX_ROWS  # 逐条评分 in the workbook too (the side file has it all)
        if not fits and long_rows >= PARALLEL_ROWS and "fork" in _start_methods():
            side_pass = _SideFile(round_db, tree, names, settings.value_places, out, assigned, on_progress, long_rows)
        kinds = {kind.value: kind for kind in TargetKind}
        target_of_row: tuple[str, str] | None = None  # the rows come target by target: its name looked up once
        target_name = ""
        flags_shown: dict[str, str] = {}  # a cell's stored flags → in words
        stats: dict[str, Decimal] = {}  # a stored statistic → its Decimal: few distinct ones
        for (kind_text, target_id, code, exact_text, method, n, mean, median, low, high, flags,
             reviews) in store.conn.execute(_BREAKDOWN_SQL.format(only="AND c.flags != ''" if only_flagged else ""),
                                            (store.round_id,)):
            if breakdown.full:
                breakdown.dropped += 1
                continue
            kind = kinds[kind_text]
            ind = tree.get(code)
            result = result_of.get((code, exact_text))
            if result is None:
                places = consolidated_places(ind, settings.value_places)
                result = result_of[(code, exact_text)] = (
                    _shown(ind, decode_exact(exact_text), places),
                    "0" if ind.kind == IndicatorKind.VETO else _number_format(places))
            shown, fmt = result
            panel = assigned.get((kind_text, target_id))
            given = []
            for reviewer, raw in _split_reviews(reviews):
                if panel is not None and reviewer not in panel:
                    continue
                value = usable_of.get((code, raw), _UNSEEN)
                if value is _UNSEEN:
                    value = usable_of[(code, raw)] = usable_value(ind, decode_value(raw))
                if value is not None:
                    given.append(f"{reviewer} {_own(own, ind, value)}")
            if (kind_text, target_id) != target_of_row:
                target_of_row = (kind_text, target_id)
                t = names.get(TargetKey(kind, target_id))
                target_name = t.name if t else ""
            flagged_as = flags_shown.get(flags)
            if flagged_as is None:
                flagged_as = flags_shown[flags] = _flags(tuple(flags.split(",")) if flags else ())
            breakdown.append([
                TARGET_LABELS[kind], target_id, target_name, code, ind.name,
                breakdown.number(6, shown, fmt), METHOD_LABEL.get(method, method), n,
                *(breakdown.number(9 + i, _stat_of(stats, v), fmt) for i, v in enumerate((mean, median, low, high))),
                flagged_as, "；".join(given),
            ])
        breakdown.finish()
        totals_by_key = {key: result for key, (result, _) in stored_totals.items()}
        groups = {key: rank_group_of(rules, key.kind, _attributes(t)) for key, t in names.items()}
        ranks = rank_targets(totals_by_key, groups if rules.rank_groups else None)
        sections = point_sections(tree)
        bonus = any(leaf.kind == IndicatorKind.BONUS for leaf in tree.leaves())
        marks = ", ".join("?" * len(REASONS))
        disputed: Counter[TargetKey] = Counter()  # the disputes sent back, per target (their rows stream below)
        for kind_text, target_id, count in store.conn.execute(
                f"SELECT target_kind, target_id, count(*) FROM disputes WHERE round = ? AND reason IN ({marks}) "
                "GROUP BY target_kind, target_id", (store.round_id, *REASONS)):
            disputed[TargetKey(kinds[kind_text], target_id)] = count
        sent = sum(disputed.values())

        grouped = rules.rank_groups is not None
        past_round, past_totals = previous_totals(store, tree, rules)
        history = [f"上轮总分（{clean_text(past_round) or ''}）", "较上轮"] if past_round is not None else []
        subtitles = [part.name for part in sections] + (["加分"] if bonus else [])
        titles = ["排名", "类型", *(["排名分组"] if grouped else []), "编号", "名称", "地区", "总分", "等级", "待复核",
                  *history, *subtitles]
        totals = table(totals_sheet, titles, [6, 6, *([12] if grouped else []), 10, 30, 10, 8, 8, 10,
                                              *([16, 8] if history else []), *[10] * len(subtitles)],
                       flagged=True, expected=len(stored_totals))
        total_column = titles.index("总分") + 1
        first_part = len(titles) - len(subtitles) + 1
        unranked = len(stored_totals) + 1
        order = sorted(stored_totals, key=lambda k: (k.kind != TargetKind.SITE, groups.get(k, ""),
                                                     ranks.get(k, unranked), k.id))
        by_group: dict[tuple[TargetKind, str], list[list[Any]]] = defaultdict(list)
        for key in order:
            total, subtotals = stored_totals[key]
            t = names.get(key)
            shown_total: Any = (DASH if total.total is None and total.pending
                                else totals.number(total_column, total.total, "0.0"))
            grade = PENDING_REASONS[total.pending][0] if total.pending else total.grade
            if grouped:
                by_group[(key.kind, groups.get(key, ""))].append([
                    ranks.get(key, DASH), key.id, t.name if t else "", t.region if t else "",
                    DASH if total.total is None and total.pending else total.total, grade])
            change: list[Any] = []
            if history:
                before = past_totals.get(key)
                change = [totals.number(total_column + 3, before, "0.0"),
                          totals.number(total_column + 4, total.total - before, "+0.0;-0.0;0.0")
                          if before is not None and total.total is not None and not total.pending else None]
            part_cells: list[Any] = []
            if subtitles and not total.pending:  # a target still short of reviews has no subtotals either
                earned: list[Decimal | Fraction | None] = [*(subtotals.get(part.code) for part in sections),
                                                           *([total.bonus] if bonus else [])]
                part_cells = [totals.number(first_part + n, None if v is None else round_half_up(v), "0.0")
                              for n, v in enumerate(earned)]
            totals.append([
                ranks.get(key, DASH), TARGET_LABELS[key.kind], *([groups.get(key, "")] if grouped else []), key.id,
                t.name if t else "", t.region if t else "", shown_total, grade, disputed.get(key, 0) or None,
                *(change or [None] * len(history)), *part_cells,
            ])
        totals.finish()
        if grouped:
            _ranked_by_group(book.create_sheet("分组排名", 1), by_group, bold, printable, banner, _cells)

        # 逐条评分: the long data in the workbook too, when it fits under Excel's limit (the side file has it all)
        long_table = (table(book.create_sheet("逐条评分"), list(REVIEW_COLUMNS),
                            [10, 6, 10, 28, 10, 20, 10, 8, 24, 36, 10]) if fits else None)
        agreement_sums = Agreement(tree)
        parts: list[Path] = []
        reviews = 0
        try:  # no side file without its workbook, and no workbook saved halfway
            if side_pass is None:
                parts, reviews = write_reviews(store, tree, names, settings.value_places, out,
                                               agreement=agreement_sums, assigned=assigned, sheet=long_table,
                                               on_progress=on_progress, expected=long_rows)
            if long_table is not None:
                long_table.finish()
            # 评审专家 needs the agreement sums of the side-file pass: its rows are written once they are in
            people_sheet = book.create_sheet("评审专家")
            people = table(people_sheet, ["编号", "姓名", "单位", "比较项数", "平均偏差（%）", "平均绝对偏差（%）",
                                          "已合并导出"], [8, 10, 24, 10, 14, 16, 10], expected=len(reviewers))

            disputes = table(book.create_sheet("争议复核"), ["评审专家", "类型", "编号", "名称", "指标代码",
                                                             "指标名称", "原因", "各专家评分", "汇总得分", "极差",
                                                             "复核状态", "接受理由"],
                             [10, 6, 10, 28, 10, 20, 12, 28, 10, 8, 10, 24], expected=sent,
                             elsewhere="；全部争议见 workbench disputes --list")
            # one row per reviewer each disputed cell goes back to, beside the cell's values, consensus and status
            for item in dispute_items(store):
                if disputes.full:
                    disputes.dropped += len(item.sent)
                    continue
                kind, target_id, code = item.target_kind, item.target_id, item.indicator
                t = names.get(TargetKey(kind, target_id))
                values = "; ".join(f"{r}={v}" for r, v in item.values)
                status = STATUS_LABELS[item.status]
                for reviewer, reason in item.sent:
                    if disputes.full:
                        disputes.dropped += 1
                        continue
                    disputes.append([
                        reviewer, TARGET_LABELS[kind], target_id, t.name if t else "", code, item.indicator_name,
                        REASON_LABEL.get(reason, reason), values, item.consensus, item.spread, status,
                        item.accepted_reason,
                    ])
            disputes.finish()
            leaf_table = leaf_order_table(store, tree)  # dispute_items wrote it: 缺少评分 reads it in the same order

            appeals = _appeals_sheet(store, book, names, tree, table)

            # 缺少评分: per reviewer and target, the leaves still without their value
            missing: dict[tuple[str, TargetKey], list[str]] = defaultdict(list)
            for kind_text, target_id, code, reviewer, _ in store.conn.execute(
                    _DISPUTES_SQL.format(order=leaf_table, marks="?"), (store.round_id, MISSING)):
                missing[(reviewer, TargetKey(kinds[kind_text], target_id))].append(code)
            chase = table(book.create_sheet("缺少评分"), ["评审专家", "姓名", "类型", "编号", "名称", "缺少项数",
                                                         "缺少的指标"], [10, 10, 6, 10, 28, 8, 40],
                          expected=len(missing), elsewhere="；另见 workbench status")
            for (reviewer, key), codes in sorted(missing.items(), key=lambda item: (
                    item[0][0], item[0][1].kind != TargetKind.SITE, item[0][1].id)):
                t = names.get(key)
                person = reviewers.get(reviewer)
                chase.append([reviewer, person.name if person else "", TARGET_LABELS[key.kind], key.id,
                              t.name if t else "", len(codes), " ".join(codes)])
            chase.finish()

            spread = _mean_spreads(store, tree)  # before waiting for the side file: it needs none of it
            merged = Counter(r[0] for r in store.conn.execute(
                "SELECT reviewer_id FROM submissions WHERE outcome = 'merged'"))
            if side_pass is not None:
                parts, reviews, agreement_sums = side_pass.result(tree)
                side_pass = None
                if on_progress is not None:  # the fork drew the bar on the terminal; this one's is behind
                    on_progress(reviews, max(long_rows, reviews))
            bias = agreement_sums.bias()
            for rid, r in sorted(reviewers.items()):
                b = bias.get(rid)
                people.append([rid, r.name, r.org, b.n if b else 0,
                               people.number(5, b.mean_difference if b else None, "0.0"),
                               people.number(6, b.mean_absolute_difference if b else None, "0.0"),
                               merged.get(rid, 0)])
            people.finish()

            leaves_all = tree.leaves()
            agreement = table(book.create_sheet("一致性"), ["指标代码", "指标名称", "Krippendorff α（区间）",
                                                             "平均极差（占分值%）"], [10, 24, 22, 20],
                              expected=1 + len(leaves_all))
            alphas = agreement_sums.alpha()
            overall = agreement_sums.alpha_overall()
            agreement.append(["全部", "（各指标按分值归一后合并）", agreement.number(3, overall, "0.000"), None])
            for leaf in leaves_all:
                agreement.append([leaf.code, leaf.name, agreement.number(3, alphas.get(leaf.code), "0.000"),
                                  agreement.number(4, spread.get(leaf.code), "0.0")])
            agreement.finish()

            _charts(book, printable, table_at, rules, totals_by_key, names, leaves_all, spread)
            write_calibration_sheet(book, store, _cells)

            about = book.create_sheet("说明")
            printable(about)
            for column, width in zip("ABCDEFG", (40, 24, 6, 20, 36, 22, 10), strict=True):
                about.column_dimensions[column].width = width  # the merged exports' id, reviewer, seq, key, file …
            made = utc_now()
            local = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
            cut = [t for t in (totals, breakdown, people, disputes, agreement, *appeals) if t.dropped]
            lines: list[list[Any]] = []
            if banner is not None:
                lines.append([banner])
            lines += [["轮次", store.round_id], ["名称", store.round_name], ["生成时间（UTC）", made],
                      ["生成时间（本地）", local], ["对象数", len(stored_totals)], ["争议复核项", sent],
                      ["计分方法", "去掉一个最高分和一个最低分后取平均（不足 3 份时取平均）；否决项按多数"
                       if settings.trim else "取平均；否决项按多数"],
                      ["逐条评分（CSV）", f"{', '.join(p.name for p in parts)}：共 {reviews:,} 条评分，"
                                          f"每个文件至多 {CSV_PART_ROWS:,} 行（UTF-8）"
                                          + ("；工作簿的“逐条评分”表也列出全部" if long_table is not None else
                                             f"；超过 Excel 每表 {MAX_ROWS:,} 行，工作簿中不列出")]]
            lines += [["已截断", f"{t.sheet.title}：列出 {t.written:,} 行，未列 {t.dropped:,} 行（见 CSV 文件）"]
                      for t in cut]
            for row in [*lines, []]:
                about.append(_cells(about, row))
            exports_table = table_at(about, len(lines) + 2,
                                     ["已合并的导出", "评审专家", "序号", "密钥", "文件", "核验时间（UTC）", "结果"])
            exports = store.conn.execute(
                "SELECT export_id, reviewer_id, seq, key_id, file_name, verified_at, outcome FROM submissions "
                "ORDER BY verified_at, reviewer_id, seq"
            ).fetchall()
            for e in exports:
                exports_table.append(list(e))
            exports_table.finish(titles=f"{exports_table.header_row}:{exports_table.header_row}")
            save_with_rows(book, out, streams)
        except BaseException:
            if side_pass is not None:
                side_pass.stop()
            _remove_side_file(out)
            out.unlink(missing_ok=True)  # a workbook saved halfway (there was none before: checked above)
            raise
        return ReportSummary(out, len(stored_totals), all_rows, sent, len(exports), not progress.complete,
                             tuple(parts), reviews, tuple(t.sheet.title for t in cut))
    finally:
        if side_pass is not None:  # the report failed before the side file was in
            side_pass.stop()
            _remove_side_file(out)
        for stream in streams:
            stream.discard()
        store.close()


APPEAL_SHEET_COLUMNS = ("申诉编号", "类型", "编号", "名称", "指标代码", "指标名称", "申诉单位", "理由", "佐证链接",
                        "提交日期", "状态", "复核专家", "原值", "复核后", "结果", "复核专家评分与意见")


def _appeals_sheet(store: Store, book: Any, names: dict[TargetKey, Target], tree: IndicatorTree,
                   table: Callable[..., _Table]) -> list[_Table]:
    """申诉: every appeal against the 公示 and its outcome (a round without appeals has no such sheet, as before)."""
    from workbench.consolidation.appeals import OUTCOME_WORDS, STATUS_LABELS, appeal_states

    states = appeal_states(store)
    if not states:
        return []
    widths = [10, 6, 10, 24, 10, 18, 18, 36, 24, 12, 8, 12, 12, 12, 12, 40]
    sheet = table(book.create_sheet("申诉"), list(APPEAL_SHEET_COLUMNS), widths, expected=len(states))
    for state in states:
        a, o = state.appeal, state.outcome
        t = names.get(a.target)
        sheet.append([
            a.appeal_id, TARGET_LABELS[a.target_kind], a.target_id, t.name if t else "", a.indicator or "（整体）",
            tree.get(a.indicator).name if a.indicator else "", a.appellant, a.reason, a.evidence, a.submitted_on,
            STATUS_LABELS[state.status], " ".join(state.recipients), o.old_value if o else None,
            o.new_value if o else None, f"{o.outcome} / {OUTCOME_WORDS[o.outcome]}" if o else None,
            o.notes if o else None,
        ])
    sheet.finish()
    return [sheet]


def _charts(book: Any, printable: Callable[[Any], None], table_at: Callable[[Any, int, list[str]], _Table],
            rules: Rules, totals: dict[TargetKey, TotalResult], names: dict[TargetKey, Target],
            leaves_all: list[Indicator], spread: dict[str, Decimal]) -> None:
    """图表: targets per grade, the mean spread per indicator (each with its chart), and 地区汇总."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.chart import BarChart, Reference

    charts = book.create_sheet("图表")
    printable(charts)
    charts.column_dimensions["A"].width = 26
    charts.column_dimensions["B"].width = 20
    for column in "CDEFG":
        charts.column_dimensions[column].width = 10
    grades = Counter(PENDING_REASONS[r.pending][0] if r.pending else r.grade for r in totals.values())
    # each grade once, in the rules' order: a fail label that is also a band, or a pending label, comes once
    labels = list(dict.fromkeys([label for label, _ in rules.grade_bands] + [rules.fail_label]
                                + sorted(g for g in grades if g)))
    charts.append(["等级", "对象数"])
    for label in labels:
        charts.append(_cells(charts, [label, grades.get(label, 0)]))
    grade_chart = BarChart()
    grade_chart.title = "各等级对象数 / targets by grade"
    grade_chart.y_axis.title = "对象数"
    grade_chart.y_axis.majorUnit = _count_unit(max(grades.values(), default=0))
    grade_chart.y_axis.number_format = "0"
    grade_chart.y_axis.scaling.min = 0
    grade_chart.add_data(Reference(charts, min_col=2, min_row=1, max_row=1 + len(labels)), titles_from_data=True)
    grade_chart.set_categories(Reference(charts, min_col=1, min_row=2, max_row=1 + len(labels)))
    grade_chart.legend = None
    grade_chart.x_axis.delete = grade_chart.y_axis.delete = False  # openpyxl 3.1 hides axes by default
    charts.add_chart(grade_chart, "H2")
    leaves = [leaf for leaf in leaves_all if leaf.code in spread]
    start = 3 + len(labels)  # the spread table's header row: after the grades and a blank row
    charts.append([])
    charts.append(["指标", "平均极差（占分值%）"])
    for leaf in leaves:
        cell = WriteOnlyCell(charts)
        cell.value = spread[leaf.code]
        cell.number_format = "0.0"
        charts.append(_cells(charts, [f"{leaf.code} {leaf.name}", cell]))
    if leaves:
        spread_chart = BarChart()
        spread_chart.type = "bar"
        spread_chart.title = "各指标评分极差 / spread per indicator"
        spread_chart.height = max(7.5, 0.45 * len(leaves))
        spread_chart.width = 18
        spread_chart.x_axis.scaling.orientation = "maxMin"  # the first indicator on top, as in the table
        spread_chart.y_axis.number_format = "0"
        spread_chart.y_axis.scaling.min = 0
        # the header row gives the series its title; the leaves are the rows below it, every one of them
        spread_chart.add_data(Reference(charts, min_col=2, min_row=start, max_row=start + len(leaves)),
                              titles_from_data=True)
        spread_chart.set_categories(Reference(charts, min_col=1, min_row=start + 1,
                                              max_row=start + len(leaves)))
        spread_chart.legend = None
        spread_chart.x_axis.delete = spread_chart.y_axis.delete = False
        charts.add_chart(spread_chart, "H20")
    # 地区汇总: per kind and 地区, how many targets, and the mean, best and worst of those with a total
    charts.append([])
    regions = table_at(charts, start + len(leaves) + 2,
                       ["地区", "类型", "对象数", "有总分", "平均总分", "最高", "最低"])
    by_region: dict[tuple[bool, str], list[Decimal | None]] = defaultdict(list)
    for key, total in totals.items():
        t = names.get(key)
        by_region[(key.kind != TargetKind.SITE, t.region if t else "")].append(total.total)
    for (is_case, region), found in sorted(by_region.items()):
        scored = [v for v in found if v is not None]
        regions.append([region or "（未填）", TARGET_LABELS[TargetKind.CASE if is_case else TargetKind.SITE],
                        len(found), len(scored),
                        regions.number(5, sum(scored, Decimal(0)) / len(scored) if scored else None, "0.0"),
                        regions.number(6, max(scored, default=None), "0.0"),
                        regions.number(7, min(scored, default=None), "0.0")])
    regions.finish(repeat=False)

