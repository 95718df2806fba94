"""The queue of assigned targets: one row per site or case, never one per score."""

from __future__ import annotations

from contextlib import suppress
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from workbench.model import TargetKey, TargetKind
from workbench.review import QueueRow, Status
from workbench.tui.display import queue_cells
from workbench.tui.i18n import Texts, localize_bindings

COLUMNS = ("kind", "id", "name", "region", "progress", "status", "total", "grade")
WIDE_COLUMNS = (*COLUMNS, "updated")
"""On a wide terminal: when each target was last worked on, too."""


def row_key(key: TargetKey) -> str:
    return f"{key.kind}:{key.id}"


def target_key(row_key_value: str) -> TargetKey:
    kind, _, tid = row_key_value.partition(":")
    return TargetKey(TargetKind(kind), tid)


class QueueTable(DataTable[str | Text]):
    """Targets with progress, status, total and grade; rows keyed "kind:id"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "评分", id="queue.open"),
    ]

    def __init__(self, texts: Texts, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.texts = texts
        localize_bindings(self, texts)
        self.wide = False
        """Showing the wide terminal's columns (see set_wide)."""

    @property
    def columns_shown(self) -> tuple[str, ...]:
        return WIDE_COLUMNS if self.wide else COLUMNS

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        # Columns whose text changes as the reviewer works get room for their longest value up front.
        texts = self.texts
        widths = {
            "progress": 7,
            "status": max(cell_len(texts(f"status.{s.value}")) for s in Status),
            "total": 5,
            "grade": 6,
            "updated": 16,
        }
        for column in self.columns_shown:
            label = texts(f"col.{column}")
            width = max(widths[column], cell_len(label)) if column in widths else None
            self.add_column(label, key=column, width=width)

    def set_wide(self, wide: bool) -> None:
        """Show the wide terminal's columns, or the narrow set; the caller fills the rows again."""
        if wide != self.wide:
            self.wide = wide
            self.clear(columns=True)
            self._add_columns()

    def show(self, rows: list[QueueRow], keep: TargetKey | None = None) -> None:
        """Replace the rows, keeping the cursor on `keep` when it is still shown."""
        self.clear()
        self.add_rows_keyed(rows)
        if keep is not None:
            self.move_to(keep)

    def add_rows_keyed(self, rows: list[QueueRow]) -> None:
        for row in rows:
            self.add_row(*queue_cells(self.texts, row, wide=self.wide), key=row_key(row.key))

    def update_row(self, row: QueueRow, columns: tuple[str, ...] = WIDE_COLUMNS) -> None:
        key = row_key(row.key)
        if key not in self.rows:
            return
        for column, value in zip(self.columns_shown, queue_cells(self.texts, row, wide=self.wide), strict=True):
            if column in columns:
                self.update_cell(key, column, value)

    def move_to(self, key: TargetKey) -> None:
        with suppress(RowDoesNotExist):  # the target is filtered out: leave the cursor where it is
            self.move_cursor(row=self.get_row_index(row_key(key)))

    @property
    def current_key(self) -> TargetKey | None:
        if self.row_count == 0:
            return None
        return target_key(str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value))
