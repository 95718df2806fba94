"""Scoring one target from the keyboard: type a value, Enter confirms (durably) and moves on."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from workbench.errors import WorkbenchError
from workbench.model import Indicator, IndicatorKind, Score, TargetKey
from workbench.review import Change, PastResult, ReviewSession
from workbench.scoring.indicators import format_value
from workbench.scoring.levels import MAX_LEVELS, Level, read_levels
from workbench.tui.i18n import Texts, localize_bindings
from workbench.tui.widgets.indicator_detail import IndicatorDetail
from workbench.tui.widgets.indicator_table import (
    IndicatorTable,
    column_line,
    column_widths,
)
from workbench.tui.widgets.key_hints import KeyHints
from workbench.tui.widgets.score_entry import ScoreEntry
from workbench.tui.widgets.target_header import TargetHeader
from workbench.tui.widgets.totals_bar import TotalsBar

ENTRY_CHARACTERS = frozenset("0123456789.-")
OPTION_DIGITS = {ch: f"alt+{n}" for n, ch in enumerate("¡™£¢∞§¶•ª", 1)}
"""What a terminal's alt+1 … alt+9 arrive as (ESC 1 … ESC 9, read by Textual as macOS Option characters)."""
MAX_BUFFER = 32


class TargetScreen(Screen[None]):
    """Header, running totals, the indicator tree with each leaf's state, the current leaf, the entry line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "next_indicator", "下一项", show=False, id="next_indicator"),
        Binding("k", "previous_indicator", "上一项", show=False, id="previous_indicator"),
        Binding("n", "next_target", "下一对象", id="next_target"),
        Binding("p", "previous_target", "上一对象", id="previous_target"),
        Binding("x", "not_applicable", "不适用", id="not_applicable"),
        Binding("delete", "clear_value", "清除", show=False, id="clear_value"),
        Binding("u", "undo", "撤销", id="undo"),
        # The note and evidence fields carry their own key hints, which keeps the footer within 120 columns.
        Binding("m", "edit_note", "备注", show=False, id="edit_note"),
        Binding("l", "edit_evidence", "佐证", show=False, id="edit_evidence"),
        Binding("escape", "back", "返回列表", id="back"),
        # alt+1 … alt+9 pick the n-th scoring level (评分细则), so that the digits still type values.
        Binding("alt+1", "pick_level(1)", "细则", key_display="alt+1…9", id="pick_level_1"),
        *(Binding(f"alt+{n}", f"pick_level({n})", f"细则 {n}", show=False, id=f"pick_level_{n}")
          for n in range(2, MAX_LEVELS + 1)),
    ]

    class ScoreSaved(Message):
        """A change of a cell was committed durably (an entry, a note, or an undo)."""

        def __init__(self, change: Change) -> None:
            super().__init__()
            self.change = change

    class EntryRefused(Message):
        """What the reviewer typed was refused; nothing was saved."""

        def __init__(self, code: str, text: str, reason: str) -> None:
            super().__init__()
            self.code = code
            self.text = text
            self.reason = reason

    def __init__(
        self,
        session: ReviewSession,
        texts: Texts,
        clock: Callable[[], datetime],
        order: Sequence[TargetKey],
        key: TargetKey,
        code: str | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.texts = texts
        localize_bindings(self, texts)
        self.clock = clock
        self.order = order
        """The queue's targets in its sort and filter when this screen opened: n/p follow it."""
        self.key = key
        self._start_code = code
        self.cells: dict[str, Score] = {}
        self.leaves: list[Indicator] = []
        self.past: PastResult | None = None
        self._could_undo = False
        self._shown: str | None = None
        self._had_levels = False
        self._levels: dict[str, tuple[Level, ...]] = {}

    def compose(self) -> ComposeResult:
        texts = self.texts
        yield TargetHeader(texts, id="target-header")
        yield TotalsBar(texts, id="totals")
        with Horizontal(id="target-body"):
            with Vertical(id="indicator-pane"):
                labels = {c: texts(f"col.{c}") for c in ("code", "indicator", "ikind", "max", "step", "value", "last",
                                                          "note")}
                yield Static(column_line(labels, column_widths(texts)), id="indicator-columns")
                yield IndicatorTable(texts, id="indicators")
            yield IndicatorDetail(texts, id="detail")
        yield ScoreEntry(texts, id="entry")
        yield KeyHints()

    def on_mount(self) -> None:
        self._could_undo = self.session.can_undo
        self.show_target(self.key, self._start_code)
        self.table.focus()

    # widgets ----------------------------------------------------------------------------------
    @property
    def table(self) -> IndicatorTable:
        return self.query_one(IndicatorTable)

    @property
    def entry(self) -> ScoreEntry:
        return self.query_one(ScoreEntry)

    @property
    def current(self) -> Indicator | None:
        code = self.table.current_code
        return self.session.tree.get(code) if code else None

    # showing ----------------------------------------------------------------------------------
    def show_target(self, key: TargetKey, code: str | None = None) -> None:
        """Load a target; land on `code`, else on its first unscored leaf."""
        session = self.session
        self.key = key
        self.cells = session.cells(key)
        self.leaves = session.leaves(key, self.cells)
        self.past = session.past(key)
        order = self.order
        position = order.index(key) + 1 if key in order else 0
        self.query_one(TargetHeader).show(session.target(key), position, len(order), rereview=session.is_rereview)
        self.table.show(session.tree, self.leaves, self.cells, self.past.values if self.past else {},
                        session.value_places)
        if code is None:
            code = next((leaf.code for leaf in self.leaves if self.cells[leaf.code].value is None),
                        self.leaves[0].code if self.leaves else None)
        if code is not None:
            self.table.move_to(code)
        self.show_totals()
        self.show_current()

    def show_totals(self) -> None:
        result = self.session.total(self.key, self.cells)
        scored = sum(1 for s in self.cells.values() if s.value is not None)
        self.query_one(TotalsBar).show(result, scored, len(self.cells), self.past)

    def show_current(self, *, reset_fields: bool = True) -> None:
        leaf = self.current
        has_levels = bool(leaf is not None and leaf.levels)
        if self._shown is None or has_levels != self._had_levels:  # the footer dims alt+1…9 without levels
            self._had_levels = has_levels
            self.refresh_bindings()
        self._shown = leaf.code if leaf else None
        self.entry.point_at(leaf)
        if leaf is not None:
            past = self.past.values.get(leaf.code) if self.past else None
            self.query_one(IndicatorDetail).show(
                self.session.tree, leaf, self.cells.get(leaf.code), past, reset_fields=reset_fields,
                past_places=self.session.value_places, rereview=self.session.rereview_note(self.key, leaf.code),
            )

    @on(IndicatorTable.LeafHighlighted, "#indicators")
    def highlighted(self) -> None:
        # Moves made here are shown at once; this message may arrive after keys typed for the new leaf,
        # and showing the leaf again would wipe them.
        if self.table.current_code != self._shown:
            self.show_current()

    def go_to(self, code: str) -> None:
        """Put the cursor on a leaf and show it."""
        self.table.move_to(code)
        self.show_current()

    def step(self, delta: int) -> bool:
        moved = self.table.step_leaf(delta)
        if moved:
            self.show_current()
        return moved

    # typing -----------------------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        """Entry keys while the indicator list has focus; they come before any binding.

        This screen's own bindings (and the list's) run here too, in the order the keys were typed: left to
        the app, a move could land after the digits typed for the next leaf and wipe them."""
        if isinstance(self.focused, Input):
            if event.key == "escape":  # abandon the note edit, stay on this target
                event.stop()
                event.prevent_default()
                self.set_focus(self.table)
            elif event.is_printable and event.character:
                # Typed right after m / l and handed to the list before the focus moved: it is the note's.
                event.stop()
                event.prevent_default()
                self.focused.insert_text_at_cursor(event.character)
            return
        if self.focused is not self.table:
            return
        leaf = self.current
        if leaf is None:
            return
        entry = self.entry
        # Most terminals send alt+1 … alt+9 as ESC 1 … ESC 9, which Textual reads as the characters macOS's Option
        # key types (¡ ™ £ …); terminals with the kitty keyboard protocol send alt+1 itself.
        key = OPTION_DIGITS.get(event.character or "", event.key)
        active = self.active_bindings.get(key) if key.startswith("alt+") else None  # not on every digit typed
        if active is not None and active.node is self and active.binding.action.startswith("pick_level"):
            event.stop()
            event.prevent_default()
            self.action_pick_level(int(active.binding.action[len("pick_level("):-1]))  # shows why, if no such level
            return
        # alt+1 may arrive carrying the character "1": it is never typed as a value.
        char = "" if key.startswith("alt+") else unicodedata.normalize("NFKC", event.character or "")
        if leaf.kind == IndicatorKind.VETO and char.lower() in ("y", "n") and not entry.buffer:
            event.stop()
            event.prevent_default()
            self.confirm("是" if char.lower() == "y" else "否")
        elif len(char) == 1 and char in ENTRY_CHARACTERS:
            event.stop()
            event.prevent_default()
            if len(entry.buffer) < MAX_BUFFER:
                entry.buffer += char
            entry.error = ""
        elif event.key == "backspace" and entry.buffer:
            event.stop()
            event.prevent_default()
            entry.buffer = entry.buffer[:-1]
            entry.error = ""
        elif event.key == "enter":
            event.stop()
            event.prevent_default()
            if entry.buffer:
                self.confirm(entry.buffer)
            else:
                self.advance()
        elif event.key == "escape" and (entry.buffer or entry.error):
            event.stop()
            event.prevent_default()
            entry.buffer = ""
            entry.error = ""
        else:
            active = self.active_bindings.get(event.key)
            if active is not None and active.enabled and active.node in (self, self.table):
                event.stop()
                event.prevent_default()
                await self.app.run_action(active.binding.action, active.node)

    def confirm(self, text: str) -> None:
        """Parse strictly and commit; a refusal is shown inline with its reason and nothing is saved."""
        leaf = self.current
        if leaf is None:
            return
        try:
            change = self.session.enter(self.key, leaf.code, text)
        except WorkbenchError as exc:
            self.entry.error = self.texts.message(exc.message)
            self.post_message(self.EntryRefused(leaf.code, text, exc.message))
            return
        self.applied(change, show_detail=False)  # advancing shows the next leaf's detail anyway
        self.advance()

    def advance(self) -> None:
        if not self.step(+1):
            self.show_current()
            if all(s.value is not None for s in self.cells.values()):
                self.entry.status = self.texts("entry.target_done")

    def applied(self, change: Change, *, reset_fields: bool = True, show_detail: bool = True) -> None:
        """Show a committed change: the leaf's row, the totals, the detail and the entry line."""
        after = change.after
        self.cells[after.indicator] = after
        self.table.update_leaf(after.indicator, after)
        self.show_totals()
        leaf = self.session.tree.get(after.indicator)
        shown = format_value(leaf, after.value, self.texts.lang) or self.texts("entry.empty_value")
        time = self.clock().strftime("%H:%M:%S")
        if change.reason == "undo":
            self.entry.status = self.texts("entry.undone", code=after.indicator, value=shown)
        elif after.value is None and change.before.value is not None:
            self.entry.status = self.texts("entry.cleared", code=after.indicator, time=time)
        else:
            self.entry.status = self.texts("entry.saved", code=after.indicator, value=shown, time=time)
        if show_detail and self.table.current_code == after.indicator:
            self.show_current(reset_fields=reset_fields)
        if self._could_undo != self.session.can_undo:  # the footer recomposes on every refresh
            self._could_undo = self.session.can_undo
            self.refresh_bindings()
        self.post_message(self.ScoreSaved(change))

    # actions ----------------------------------------------------------------------------------
    def action_next_indicator(self) -> None:
        self.step(+1)

    def action_previous_indicator(self) -> None:
        self.step(-1)

    def action_next_target(self) -> None:
        self._step_target(+1)

    def action_previous_target(self) -> None:
        self._step_target(-1)

    def _step_target(self, delta: int) -> None:
        order = self.order
        if self.key not in order:
            order = [t.key for t in self.session.targets]
        index = order.index(self.key) + delta
        if index < 0:
            self.notify(self.texts("entry.first_target"))
        elif index >= len(order):
            self.notify(self.texts("entry.last_target"))
        else:
            self.show_target(order[index])

    def action_not_applicable(self) -> None:
        self.confirm("不适用")

    def action_clear_value(self) -> None:
        leaf = self.current
        if leaf is None or self.cells[leaf.code].value is None:
            return
        self.applied(self.session.clear(self.key, leaf.code))

    def action_undo(self) -> None:
        change = self.session.undo()
        if change is None:
            self.notify(self.texts("entry.nothing_to_undo"))
            return
        if change.key != self.key:
            self.show_target(change.key, change.after.indicator)
        else:
            self.go_to(change.after.indicator)
        self.applied(change)

    def action_edit_note(self) -> None:
        self.set_focus(self.query_one("#note", Input))  # at once: the next key typed belongs to the note

    def action_edit_evidence(self) -> None:
        self.set_focus(self.query_one("#evidence", Input))

    def action_back(self) -> None:
        self.dismiss()

    def action_pick_level(self, n: int) -> None:
        """Confirm the n-th scoring level of the current indicator, as if its value were typed and Enter pressed."""
        leaf = self.current
        levels = self.levels_of(leaf)
        if n > len(levels):
            self.entry.error = self.texts("entry.no_level", n=n)
            return
        self.confirm(levels[n - 1].text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "undo" and not self.session.can_undo:
            return None
        if action == "pick_level":
            n = parameters[0] if parameters and isinstance(parameters[0], int) else 1
            return True if n <= len(self.levels_of(self.current)) else None
        return True

    def levels_of(self, leaf: Indicator | None) -> tuple[Level, ...]:
        """A leaf's scoring levels (评分细则), read once."""
        if leaf is None:
            return ()
        found = self._levels.get(leaf.code)
        if found is None:
            found = self._levels[leaf.code] = read_levels(leaf)
        return found

    # note and evidence ------------------------------------------------------------------------
    @on(Input.Submitted, "#note, #evidence")
    def annotation_submitted(self, event: Input.Submitted) -> None:
        leaf = self.current
        if leaf is None:
            return
        field = event.input.id
        try:
            if field == "note":
                change = self.session.annotate(self.key, leaf.code, note=event.value)
            else:
                change = self.session.annotate(self.key, leaf.code, evidence=event.value)
        except WorkbenchError as exc:
            self.entry.error = self.texts.message(exc.message)
            return
        self.set_focus(self.table)
        if change.after.revision != change.before.revision:
            self.applied(change)
            what = self.texts("detail.note" if field == "note" else "detail.evidence")
            time = self.clock().strftime("%H:%M:%S")
            self.entry.status = self.texts("entry.note_saved", code=leaf.code, what=what, time=time)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # Leaving a note field without Enter abandons the edit: show what is saved.
        if isinstance(event.widget, Input) and self.current is not None:
            score = self.cells.get(self.current.code)
            saved = (score.note if event.widget.id == "note" else score.evidence) if score else ""
            if event.widget.value != saved:
                event.widget.value = saved
