"""The first screen: every assigned site and case with progress, status, total and grade; sort and filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from workbench.model import TargetKey, TargetKind
from workbench.review import QueueRow, ReviewSession, Status
from workbench.tui.display import STATUS_ORDER
from workbench.tui.i18n import Texts, localize_bindings
from workbench.tui.widgets.key_hints import KeyHints
from workbench.tui.widgets.queue_table import QueueTable, target_key

WIDE_QUEUE = 140  # from this many columns the queue also shows when each target was last worked on
FIRST_SCREEN = 24  # at least this many rows get their totals before the first paint (more on a tall terminal)
SORTS = ("position", "id", "name", "region", "progress", "total", "status")
STATUS_FILTERS: tuple[Status | None, ...] = (None, Status.TODO, Status.IN_PROGRESS, Status.DONE, Status.PROBLEM)
KIND_FILTERS: tuple[str | None, ...] = (None, TargetKind.SITE, TargetKind.CASE)


#: The sort a click on a column's header chooses (a second click reverses it).
COLUMN_SORTS = {"kind": "id", "id": "id", "name": "name", "region": "region", "progress": "progress",
                "status": "status", "total": "total", "grade": "total"}


def sort_rows(
    rows: list[QueueRow], sort: str, reverse: bool, name_keys: Mapping[TargetKey, str] | None = None
) -> list[QueueRow]:
    """Rows in a sort; names sort by their pinyin (``name_keys``) as a Chinese reader looks them up."""
    if sort == "position":
        ordered = list(rows)
    elif sort == "id":
        ordered = sorted(rows, key=lambda r: (r.target.kind != TargetKind.SITE, r.target.id))
    elif sort == "name":
        keys = name_keys or {}
        ordered = sorted(rows, key=lambda r: (keys.get(r.key, r.target.name), r.target.name, r.target.id))
    elif sort == "region":
        ordered = sorted(rows, key=lambda r: (r.target.region, r.target.id))
    elif sort == "progress":
        ordered = sorted(rows, key=lambda r: (r.scored / r.applicable if r.applicable else 0, r.target.id))
    elif sort == "total":
        def total_key(r: QueueRow) -> tuple[int, float]:
            if r.result is None or r.result.total is None:
                return (0, 0.0)
            return (1, float(r.result.total))
        ordered = sorted(rows, key=total_key)
    else:
        ordered = sorted(rows, key=lambda r: (STATUS_ORDER[r.status], r.target.id))
    return ordered[::-1] if reverse else ordered


class QueueScreen(Screen[None]):
    """The reviewer's queue; Enter opens a target for scoring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "排序", id="queue.sort"),
        Binding("r", "reverse_sort", "倒序", show=False, id="queue.reverse"),
        Binding("f", "cycle_status", "状态", id="queue.filter_status"),
        Binding("t", "cycle_kind", "类型", id="queue.filter_kind"),
    ]

    class TargetChosen(Message):
        """The reviewer chose a target to score (Enter on its row)."""

        def __init__(self, key: TargetKey) -> None:
            super().__init__()
            self.key = key

    class Painted(Message):
        """The queue is on screen and interactive; `complete` once every row shows its total too."""

        def __init__(self, *, complete: bool) -> None:
            super().__init__()
            self.complete = complete

    def __init__(self, session: ReviewSession, texts: Texts) -> None:
        super().__init__()
        self.session = session
        self.texts = texts
        localize_bindings(self, texts)
        self.rows: list[QueueRow] = []
        self.order: list[TargetKey] = []
        """Targets in the current sort and filter: a target opened from here follows it with ] / [."""
        self.changed: set[TargetKey] = set()
        """Targets scored since the queue last showed them (it catches up when it is shown again)."""
        self.sort = "position"
        self.reverse = False
        self.status_filter: Status | None = None
        self.kind_filter: str | None = None
        self._name_keys: dict[TargetKey, str] | None = None
        """Names as pinyin for the name sort, read when that sort is first chosen."""

    def compose(self) -> ComposeResult:
        yield Static(id="queue-summary")
        yield Static(id="queue-filters")
        table = QueueTable(self.texts, id="queue-table")
        table.wide = self.app.size.width >= WIDE_QUEUE  # before it makes its columns
        yield table
        yield Static(id="queue-empty")
        yield KeyHints()

    def on_resize(self, event: events.Resize) -> None:
        table = self.query_one(QueueTable)
        if (event.size.width >= WIDE_QUEUE) != table.wide:
            table.set_wide(event.size.width >= WIDE_QUEUE)
            if self.rows:
                self.refill()

    def on_mount(self) -> None:
        # Totals for the first screenful now, the rest right after the first paint (a total is ~0.2 ms of
        # Decimal arithmetic; a package of 150 targets would otherwise hold the queue back by ~30 ms).
        self.rows = self.session.queue(totals_for=max(FIRST_SCREEN, self.app.size.height))
        self.refill()
        self.query_one(QueueTable).focus()
        self.call_after_refresh(self._post_painted, complete=False)

    def _post_painted(self, *, complete: bool) -> None:
        self.post_message(self.Painted(complete=complete))

    def finish_totals(self) -> None:
        """Totals for the rows beyond the first screenful (the app asks once the queue is painted, unless it
        is leaving instead)."""
        if any(r.total_pending for r in self.rows):
            pending = {r.key for r in self.rows if r.total_pending}
            self.rows = self.session.with_totals(self.rows)
            if self.sort == "total":
                self.refill()
            else:
                table = self.query_one(QueueTable)
                for row in self.rows:
                    if row.key in pending:
                        table.update_row(row, ("total", "grade"))
        self.call_after_refresh(self._post_painted, complete=True)

    def target_scored(self, key: TargetKey) -> None:
        """A target was scored on its own screen (the app tells the queue of each TargetScreen.ScoreSaved)."""
        self.changed.add(key)
        # Only when the reviewer was quicker back than the message. `is_current` would not do: Textual counts the
        # screen just beneath the top one as visible, and repainting this table beneath made the target screen
        # on top repaint most of itself.
        if self.app.screen is self:
            self.show_changed()

    def on_screen_resume(self) -> None:
        self.show_changed()

    def show_changed(self) -> None:
        """Bring the rows of targets scored since they were last shown up to date."""
        changed, self.changed = self.changed, set()
        if not changed:
            return
        fresh = {key: self.session.queue_row(key) for key in changed}
        self.rows = [fresh.get(r.key, r) for r in self.rows]
        table = self.query_one(QueueTable)
        if self.sort in ("progress", "total", "status") or self.status_filter is not None:
            self.refill()
        else:
            for row in fresh.values():
                table.update_row(row)
            self._show_summary()

    # showing ----------------------------------------------------------------------------------
    def visible_rows(self) -> list[QueueRow]:
        rows = [
            r for r in self.rows
            if (self.status_filter is None or r.status == self.status_filter)
            and (self.kind_filter is None or r.target.kind.value == self.kind_filter)
        ]
        if self.sort == "name" and self._name_keys is None:
            self._name_keys = self.session.name_sort_keys()
        return sort_rows(rows, self.sort, self.reverse, self._name_keys)

    def refill(self) -> None:
        table = self.query_one(QueueTable)
        keep = table.current_key
        visible = self.visible_rows()
        table.show(visible, keep)
        self.order = [r.key for r in visible]
        empty = "queue.empty" if self.rows else "queue.nothing_assigned"
        self.query_one("#queue-empty", Static).update(self.texts(empty) if not visible else "")
        self.query_one("#queue-empty").display = not visible
        self._show_summary()

    def _show_summary(self) -> None:
        texts, session = self.texts, self.session
        counts = {status: 0 for status in Status}
        for row in self.rows:
            counts[row.status] += 1
        summary = texts(
            "queue.summary", round=session.store.round_name or session.store.round_id,
            reviewer=session.reviewer_id, count=len(self.rows),
            **{status.value: counts[status] for status in Status},
        )
        self.query_one("#queue-summary", Static).update(Text(" " + summary, style="bold"))
        status = texts(f"status.{self.status_filter.value}") if self.status_filter else texts("all")
        kind = texts(f"kind.{self.kind_filter}") if self.kind_filter else texts("all")
        order = " ↓" if self.reverse else " ↑"
        filters = texts("queue.filters", status=status, kind=kind, sort=texts(f"sort.{self.sort}"), order=order)
        self.query_one("#queue-filters", Static).update(Text(" " + filters, style="dim"))

    # actions ----------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#queue-table")
    def open_selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(self.TargetChosen(target_key(str(event.row_key.value))))

    @on(DataTable.HeaderSelected, "#queue-table")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        """Sort by the clicked column; clicking the sorted column again reverses the order."""
        sort = COLUMN_SORTS.get(str(event.column_key.value), self.sort)
        if sort == self.sort:
            self.reverse = not self.reverse
        else:
            self.sort, self.reverse = sort, False
        self.refill()

    @property
    def current_key(self) -> TargetKey | None:
        return self.query_one(QueueTable).current_key

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.refill()

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self.refill()

    def action_cycle_status(self) -> None:
        self.status_filter = STATUS_FILTERS[(STATUS_FILTERS.index(self.status_filter) + 1) % len(STATUS_FILTERS)]
        self.refill()

    def action_cycle_kind(self) -> None:
        self.kind_filter = KIND_FILTERS[(KIND_FILTERS.index(self.kind_filter) + 1) % len(KIND_FILTERS)]
        self.refill()
