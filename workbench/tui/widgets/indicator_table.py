"""The indicator tree of one target: group rows for context, a cursor that only stops on leaves.

A line-API widget rather than a DataTable: a DataTable re-renders every visible cell after any update,
which cost ~100 ms per confirmed value here; this repaints just the rows that changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.model import Indicator, IndicatorKind, Score
from workbench.review import local_time
from workbench.scoring.indicators import IndicatorTree
from workbench.tui.display import (
    indicator_kind_label,
    past_text,
    plain,
    state_mark,
    value_text,
)
from workbench.tui.i18n import Texts, localize_bindings

COLUMNS = ("state", "code", "indicator", "ikind", "max", "step", "value", "last", "note", "updated", "remark")
WIDTHS = {"state": 2, "code": 7, "indicator": 30, "ikind": 4, "max": 5, "step": 5, "value": 7, "last": 7, "note": 2,
          "updated": 11, "remark": 30}
RIGHT = frozenset({"max", "step", "value", "last"})
WIDE_COLUMNS = ("updated", "remark")
"""Shown only where the table has room for them beside a full name column (a wide terminal)."""
NAME_MIN, NAME_MAX = 12, 48
"""The name column takes what the other columns leave, within these bounds."""


@dataclass
class _Row:
    code: str
    leaf: bool
    cells: dict[str, Text]


def _fit(text: Text, width: int, right: bool) -> Text:
    """A cell padded or cut to its column width (CJK characters count two)."""
    cell = text.copy()
    if cell.cell_len > width:
        cell.truncate(width, overflow="ellipsis")
    pad = width - cell.cell_len
    if pad > 0:
        if right:
            cell = Text(" " * pad) + cell
        else:
            cell.append(" " * pad)
    return cell


def column_widths(texts: Texts, width: int = 0) -> dict[str, int]:
    """The columns shown in ``width`` cells and their widths: every narrow column at its size, labels in the
    UI language included; the name column takes the rest (within NAME_MIN…NAME_MAX), and on a wide table the
    update time and the note's text are shown too. ``width`` 0: the narrow set at its default widths."""
    kinds = max(cell_len(indicator_kind_label(texts, kind)) for kind in IndicatorKind)
    widths = {c: max(w, cell_len(texts(f"col.{c}"))) for c, w in WIDTHS.items() if c not in WIDE_COLUMNS}
    widths["ikind"] = max(kinds, widths["ikind"])
    if width <= 0:
        return widths

    def used(columns: Mapping[str, int]) -> int:
        return 1 + sum(w + 1 for c, w in columns.items() if c != "indicator")

    wide = {**widths, "updated": WIDTHS["updated"], "remark": WIDTHS["remark"]}
    if width - used(wide) >= NAME_MAX - 8:  # room for the extra columns beside a long name
        widths = wide
        widths["indicator"] = min(NAME_MAX, width - used(widths))
        widths["remark"] += max(0, width - used(widths) - widths["indicator"])
    else:
        widths["indicator"] = max(NAME_MIN, min(NAME_MAX, width - used(widths)))
    return widths


def column_line(cells: Mapping[str, Text | str], widths: Mapping[str, int]) -> Text:
    line = Text(" ")
    for column in COLUMNS:
        if column not in widths:
            continue
        value = cells.get(column, "")
        text = value if isinstance(value, Text) else Text(value)
        line.append_text(_fit(text, widths[column], column in RIGHT))
        line.append(" ")
    return line


class IndicatorTable(ScrollView, can_focus=True):
    """Leaves of the target's indicator system under their groups; the cursor skips group rows."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"indicator-table--cursor", "indicator-table--group"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "cursor_down", "下一项", show=False, id="indicators.down"),
        Binding("up", "cursor_up", "上一项", show=False, id="indicators.up"),
        Binding("pagedown", "page(1)", "下一页", show=False, id="indicators.page_down"),
        Binding("pageup", "page(-1)", "上一页", show=False, id="indicators.page_up"),
        Binding("home", "edge(-1)", "第一项", show=False, id="indicators.first"),
        Binding("end", "edge(1)", "最后一项", show=False, id="indicators.last"),
    ]

    class ColumnsChanged(Message):
        """The table was resized and now shows other columns or widths (the heading line follows)."""

        def __init__(self, table: IndicatorTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> IndicatorTable:
            return self.table

    class LeafHighlighted(Message):
        """The cursor moved to another leaf."""

        def __init__(self, table: IndicatorTable, code: str) -> None:
            super().__init__()
            self.table = table
            self.code = code

        @property
        def control(self) -> IndicatorTable:
            return self.table

    def __init__(self, texts: Texts, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = texts
        localize_bindings(self, texts)
        self.widths = column_widths(texts)
        self._rows: list[_Row] = []
        self._row_of: dict[str, int] = {}
        self._leaf_rows: list[int] = []
        self._leaves: dict[str, Indicator] = {}
        self._cursor = 0
        self._strips: dict[tuple[int, bool, int], Strip] = {}

    # content ----------------------------------------------------------------------------------
    def show(
        self,
        tree: IndicatorTree,
        leaves: list[Indicator],
        cells: Mapping[str, Score],
        past: Mapping[str, Fraction | str | None],
        past_places: int = 2,
    ) -> None:
        """Replace the rows with this target's leaves and the groups above them; ``past`` are the newest past
        round's exact values, shown to ``past_places`` (its 得分小数位)."""
        self._rows, self._row_of, self._leaf_rows = [], {}, []
        self._leaves = {leaf.code: leaf for leaf in leaves}
        self._strips.clear()
        # A group's points as this target sees them: only the leaves scored here (a case skips site leaves).
        points: dict[str, Decimal] = {}
        for leaf in leaves:
            if leaf.kind != IndicatorKind.VETO:
                for group in tree.path(leaf.code)[:-1]:
                    points[group.code] = points.get(group.code, Decimal(0)) + leaf.max_score
        shown_groups: set[str] = set()
        for leaf in leaves:
            path = tree.path(leaf.code)
            for depth, group in enumerate(path[:-1]):
                if group.code not in shown_groups:
                    shown_groups.add(group.code)
                    self._rows.append(_Row(group.code, False, {
                        "code": Text(group.code, style="bold"),
                        "indicator": Text("  " * depth + group.name, style="bold"),
                        "max": Text(plain(points[group.code]) if group.code in points else "", style="dim"),
                    }))
            self._row_of[leaf.code] = len(self._rows)
            self._leaf_rows.append(len(self._rows))
            self._rows.append(_Row(leaf.code, True, self._leaf_cells(
                leaf, cells.get(leaf.code), past.get(leaf.code), len(path) - 1, past_places)))
        self._cursor = self._leaf_rows[0] if self._leaf_rows else 0
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        self.scroll_to(y=0, animate=False)
        self.refresh()

    def _leaf_cells(
        self, leaf: Indicator, score: Score | None, past: Fraction | str | None, depth: int, past_places: int
    ) -> dict[str, Text]:
        texts = self.texts
        return {
            "state": state_mark(leaf, score),
            "code": Text(leaf.code),
            "indicator": Text("  " * depth + leaf.name),
            "ikind": Text(indicator_kind_label(texts, leaf.kind)),
            "max": Text(plain(leaf.max_score) if leaf.kind != IndicatorKind.VETO else ""),
            "step": Text(plain(leaf.step) if leaf.kind != IndicatorKind.VETO else ""),
            "value": value_text(texts, leaf, score.value if score else None),
            "last": past_text(texts, leaf, past, past_places),
            **self._annotation_cells(score),
        }

    @staticmethod
    def _annotation_cells(score: Score | None) -> dict[str, Text]:
        """The note mark, and for a wide table the update time and the note's first line."""
        if score is None:
            return {"note": Text(""), "updated": Text(""), "remark": Text("")}
        updated = local_time(score.updated_at, "%m-%d %H:%M") if score.revision else ""
        remark = " ".join(score.note.split()) or score.evidence
        return {
            "note": Text("✎" if score.note or score.evidence else ""),
            "updated": Text(updated, style="dim"),
            "remark": Text(remark, style="dim"),
        }

    def update_leaf(self, code: str, score: Score) -> None:
        """Repaint one leaf's state, value and note mark after a change."""
        leaf = self._leaves[code]
        row = self._row_of[code]
        cells = self._rows[row].cells
        cells["state"] = state_mark(leaf, score)
        cells["value"] = value_text(self.texts, leaf, score.value)
        cells.update(self._annotation_cells(score))
        self._repaint_row(row)

    def cell_text(self, code: str, column: str) -> str:
        """What a cell shows (for tests and the detail panel)."""
        return self._rows[self._row_of[code]].cells.get(column, Text("")).plain

    # rendering --------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        row = self.scroll_offset.y + y
        width = self.size.width
        if row >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        key = (row, row == self._cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(row, width)
            self._strips[key] = strip
        return strip.crop(self.scroll_offset.x, self.scroll_offset.x + width)

    def _render_row(self, row: int, width: int) -> Strip:
        data = self._rows[row]
        line = column_line(data.cells, self.widths)
        segments = list(line.render(self.app.console))
        base = self.rich_style
        strip = Strip(Segment.apply_style(segments, base)).extend_cell_length(width, base).crop(0, width)
        if not data.leaf:
            group = self.get_component_rich_style("indicator-table--group")
            strip = strip.apply_style(Style(bgcolor=group.bgcolor))
        if row == self._cursor and self.has_focus:
            cursor = self.get_component_rich_style("indicator-table--cursor")
            strip = Strip(Segment.apply_style(list(strip), post_style=Style(bgcolor=cursor.bgcolor, bold=True)))
        elif row == self._cursor:
            strip = Strip(Segment.apply_style(list(strip), post_style=Style(underline=True)))
        return strip

    def _repaint_row(self, row: int) -> None:
        for key in [k for k in self._strips if k[0] == row]:
            del self._strips[key]
        self.refresh_line(row)

    def on_focus(self) -> None:
        self._repaint_row(self._cursor)

    def on_blur(self) -> None:
        self._repaint_row(self._cursor)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # cursor -----------------------------------------------------------------------------------
    @property
    def current_code(self) -> str | None:
        if not self._leaf_rows:
            return None
        data = self._rows[self._cursor]
        return data.code if data.leaf else None

    @property
    def leaf_codes(self) -> list[str]:
        return [self._rows[r].code for r in self._leaf_rows]

    def move_to(self, code: str) -> None:
        row = self._row_of.get(code)
        if row is not None:
            self._set_cursor(row)

    def _set_cursor(self, row: int) -> None:
        old, self._cursor = self._cursor, row
        if old != row:
            self._repaint_row(old)
            self._repaint_row(row)
        self._scroll_cursor_into_view()
        if old != row:
            self.post_message(self.LeafHighlighted(self, self._rows[row].code))

    def _scroll_cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = self.scroll_offset.y
        # Show the group rows just above the first leaf too, so a part's heading stays in sight.
        wanted_top = self._cursor
        while wanted_top > 0 and not self._rows[wanted_top - 1].leaf and self._cursor - wanted_top < 3:
            wanted_top -= 1
        if wanted_top < top:
            self.scroll_to(y=wanted_top, animate=False)
        elif self._cursor >= top + height:
            # Past the bottom: the cursor comes to the middle, so that the next rows are in sight and a scroll
            # (a repaint of the whole table) comes once per half a table, not at every confirmed score.
            self.scroll_to(y=self._cursor - height // 2, animate=False)

    def on_resize(self) -> None:
        widths = column_widths(self.texts, self.scrollable_content_region.width)
        if widths != self.widths:
            self.widths = widths
            self.post_message(self.ColumnsChanged(self))
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows))
        self._strips.clear()
        self._scroll_cursor_into_view()

    def heading(self) -> Text:
        """The column labels over the rows, as wide as the rows' columns."""
        return column_line({c: self.texts(f"col.{c}") for c in COLUMNS}, self.widths)

    def step_leaf(self, delta: int) -> bool:
        """Move to the next (+1) or previous (−1) leaf; False at either end."""
        if delta > 0:
            later = [r for r in self._leaf_rows if r > self._cursor]
            if not later:
                return False
            self._set_cursor(later[0])
        else:
            earlier = [r for r in self._leaf_rows if r < self._cursor]
            if not earlier:
                return False
            self._set_cursor(earlier[-1])
        return True

    def action_cursor_down(self) -> None:
        self.step_leaf(+1)

    def action_cursor_up(self) -> None:
        self.step_leaf(-1)

    def action_page(self, direction: int) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        target = self._cursor + direction * height
        rows = [r for r in self._leaf_rows if (r >= target if direction > 0 else r <= target)]
        if rows:
            self._set_cursor(rows[0] if direction > 0 else rows[-1])
        elif self._leaf_rows:
            self._set_cursor(self._leaf_rows[-1] if direction > 0 else self._leaf_rows[0])

    def action_edge(self, direction: int) -> None:
        if self._leaf_rows:
            self._set_cursor(self._leaf_rows[-1] if direction > 0 else self._leaf_rows[0])

    def on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < len(self._rows) and self._rows[row].leaf:
            self._set_cursor(row)
