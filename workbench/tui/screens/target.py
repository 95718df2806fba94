"""Scoring one target from the keyboard: type a value, Enter confirms (durably) and moves on.

The layout follows the terminal: from WIDE_SCREEN columns the detail pane sits beside the indicator table
(d hides it); below, the table has the whole width and d (or m / l, to edit the note or links) brings the
detail pane back over it. The footer lists what applies to the current row: y / n only on a veto.
"""

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
from textual.widgets import Input, Static, TextArea

from workbench.errors import WorkbenchError
from workbench.model import Indicator, IndicatorKind, Score, TargetKey
from workbench.review import Change, PastResult, ReviewSession
from workbench.scoring.indicators import format_value
from workbench.scoring.levels import MAX_LEVELS, Level, read_levels
from workbench.tui.i18n import Texts, localize_bindings
from workbench.tui.widgets.indicator_detail import IndicatorDetail
from workbench.tui.widgets.indicator_table import IndicatorTable
from workbench.tui.widgets.key_hints import KeyHints
from workbench.tui.widgets.score_entry import ScoreEntry
from workbench.tui.widgets.target_header import TargetHeader
from workbench.tui.widgets.totals_bar import TotalsBar

ENTRY_CHARACTERS = frozenset("0123456789.-")
OPTION_DIGITS = {ch: f"alt+{n}" for n, ch in enumerate("¡™£¢∞§¶•ª", 1)}
"""What a terminal's alt+1 … alt+9 arrive as (ESC 1 … ESC 9, read by Textual as macOS Option characters)."""
MAX_BUFFER = 32
WIDE_SCREEN = 110
"""From this many columns the detail pane has room beside a table showing every column."""


class TargetScreen(Screen[None]):
    """Header, running totals, the indicator tree with each leaf's state, the current leaf, the entry line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "next_indicator", "下一项", show=False, id="next_indicator"),
        Binding("k", "previous_indicator", "上一项", show=False, id="previous_indicator"),
        # y / n answer a veto; elsewhere they are not bound (check_action), so the footer shows them there only.
        Binding("y", "veto(True)", "是", id="veto_yes"),
        Binding("n", "veto(False)", "否", id="veto_no"),
        Binding("x", "not_applicable", "不适用", id="not_applicable"),
        Binding("c", "take_past", "沿用去年", id="take_past"),
        Binding("g", "next_unscored", "下一未评", id="next_unscored"),
        Binding("right_square_bracket", "next_target", "下个对象", id="next_target"),
        Binding("left_square_bracket", "previous_target", "上一对象", id="previous_target"),
        Binding("u", "undo", "撤销", id="undo"),
        Binding("ctrl+r", "redo", "重做", id="redo"),
        Binding("delete", "clear_value", "清除", id="clear_value"),
        Binding("m", "edit_note", "备注", id="edit_note"),
        Binding("l", "edit_evidence", "佐证", id="edit_evidence"),
        Binding("ctrl+s", "save_note", "保存备注", id="save_note"),
        Binding("d", "toggle_detail", "详情", id="toggle_detail"),
        Binding("escape", "back", "返回列表", id="back"),
        # alt+1 … alt+9 pick the n-th scoring level (评分细则), so that the digits still type values.
        Binding("alt+1", "pick_level(1)", "细则", key_display="alt+1…9", id="pick_level_1"),
        *(Binding(f"alt+{n}", f"pick_level({n})", f"细则 {n}", show=False, id=f"pick_level_{n}")
          for n in range(2, MAX_LEVELS + 1)),
    ]
    NOTE_FIELDS = (TextArea, Input)
    """The note (a TextArea) and the evidence links (an Input) in the detail pane."""

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
        """The queue's targets in its sort and filter when this screen opened: ] / [ follow it."""
        self.key = key
        self._start_code = code
        self.cells: dict[str, Score] = {}
        self.leaves: list[Indicator] = []
        self.past: PastResult | None = None
        self._could = (False, False)
        """(can undo, can redo) as the footer last showed them."""
        self._row_kind: tuple[object, ...] = ()
        """What of the current row the footer depends on (see footer_state)."""
        self._shown: str | None = None
        self._had_levels = False
        self._levels: dict[str, tuple[Level, ...]] = {}
        self._overlay_for_edit = False
        """The detail pane was brought over the table only to edit the note or links: it goes when they do."""
        self._table = IndicatorTable(texts, id="indicators")

    def compose(self) -> ComposeResult:
        texts = self.texts
        yield TargetHeader(texts, id="target-header")
        yield TotalsBar(texts, id="totals")
        with Horizontal(id="target-body"):
            with Vertical(id="indicator-pane"):
                yield Static(id="indicator-columns")
                yield self._table
            yield IndicatorDetail(texts, id="detail")
        yield ScoreEntry(texts, id="entry")
        yield KeyHints()

    def on_mount(self) -> None:
        self._could = (self.session.can_undo, self.session.can_redo)
        self.fit_layout(self.app.size.width)
        self.query_one("#indicator-columns", Static).update(self.table.heading())
        self.show_target(self.key, self._start_code)
        self.table.focus()

    # layout -----------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self.fit_layout(event.size.width)

    def fit_layout(self, width: int) -> None:
        """Beside the table on a wide terminal; over it, when asked for, on a narrow one."""
        self.set_class(width >= WIDE_SCREEN, "-wide")
        self.set_class(width < WIDE_SCREEN, "-narrow")
        self.set_class(width >= 180, "-huge")

    @property
    def detail_shown(self) -> bool:
        if self.has_class("-wide"):
            return not self.has_class("-detail-hidden")
        return self.has_class("-detail-open")

    def show_detail(self, shown: bool) -> None:
        if self.has_class("-wide"):
            self.set_class(not shown, "-detail-hidden")
        else:
            self.set_class(shown, "-detail-open")
        if shown:  # it was not kept up to date while hidden
            self.show_current(reset_fields=not self._editing())

    @on(IndicatorTable.ColumnsChanged, "#indicators")
    def columns_changed(self) -> None:
        self.query_one("#indicator-columns", Static).update(self.table.heading())

    def _editing(self) -> bool:
        return isinstance(self.focused, self.NOTE_FIELDS)

    # widgets ----------------------------------------------------------------------------------
    @property
    def table(self) -> IndicatorTable:
        return self._table  # kept: check_action asks for it while the screen is being taken down too

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
        self.query_one(TargetHeader).show(session.target(key), position, len(order), rereview=session.is_rereview,
                                          appeal=session.is_appeal)
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
        kind = self.footer_state()
        if kind != self._row_kind:  # y / n, x and c come and go with the row
            self._row_kind = kind
            self.refresh_bindings()
        if leaf is not None and self.detail_shown:
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
        focused = self.focused
        if isinstance(focused, self.NOTE_FIELDS):
            if event.key == "escape":  # abandon the edit, stay on this target
                event.stop()
                event.prevent_default()
                self.end_edit()
            elif event.is_printable and event.character:
                # Typed right after m / l and handed to the list before the focus moved: it is the field's.
                event.stop()
                event.prevent_default()
                if isinstance(focused, TextArea):
                    focused.insert(event.character)
                else:
                    focused.insert_text_at_cursor(event.character)
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
        if len(char) == 1 and char in ENTRY_CHARACTERS:
            event.stop()
            event.prevent_default()
            if entry.error:  # the refused text is selected: what is typed now replaces it
                entry.buffer = ""
            if len(entry.buffer) < MAX_BUFFER:
                entry.buffer += char
            entry.error = ""
        elif event.key == "backspace" and entry.buffer:
            event.stop()
            event.prevent_default()
            entry.buffer = "" if entry.error else entry.buffer[:-1]
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
            # A dimmed binding (nothing to undo, no past value, N/A not allowed) still runs: its action says why
            # it does nothing rather than leaving the key dead.
            active = self.active_bindings.get(event.key)
            if active is not None and active.node in (self, self.table):
                event.stop()
                event.prevent_default()
                if active.enabled:
                    await self.app.run_action(active.binding.action, active.node)
                elif active.node is self:  # run_action skips a disabled action: call it to hear why
                    getattr(self, f"action_{active.binding.action}")()

    def confirm(self, text: str) -> None:
        """Parse strictly and commit; a refusal is shown inline with its reason and nothing is saved."""
        leaf = self.current
        if leaf is None:
            return
        self.commit(text, lambda: self.session.enter(self.key, leaf.code, text))

    def commit(self, text: str, write: Callable[[], Change]) -> None:
        """Run one write of the current leaf's value; a refusal leaves the text selected with its reason."""
        leaf = self.current
        if leaf is None:
            return
        try:
            change = write()
        except WorkbenchError as exc:
            self.entry.buffer = text
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
        time = self.now()
        if change.reason in ("undo", "redo"):
            self.entry.status = self.restored_text(change)
        elif after.value is None and change.before.value is not None:
            self.entry.status = self.texts("entry.cleared", code=after.indicator, time=time)
        else:
            self.entry.status = self.texts("entry.saved", code=after.indicator, value=shown, time=time)
        if show_detail and self.table.current_code == after.indicator:
            self.show_current(reset_fields=reset_fields)
        could = (self.session.can_undo, self.session.can_redo)
        if self._could != could:  # the footer recomposes on every refresh
            self._could = could
            self.refresh_bindings()
        self.post_message(self.ScoreSaved(change))

    def now(self) -> str:
        """The time of day in the reviewer's zone (stored times stay UTC)."""
        return self.clock().astimezone().strftime("%H:%M:%S")

    def restored_text(self, change: Change) -> str:
        """What an undo or redo put back, naming the part of the cell it changed: the value, the note or the
        evidence links."""
        texts, before, after = self.texts, change.before, change.after
        verb = texts("entry.undone" if change.reason == "undo" else "entry.redone")
        code = after.indicator
        parts = []
        if before.value != after.value:
            leaf = self.session.tree.get(code)
            value = format_value(leaf, after.value, texts.lang) or texts("entry.empty_value")
            parts.append(texts("entry.restored_value", value=value))
        for field, old, new in (("note", before.note, after.note), ("evidence", before.evidence, after.evidence)):
            if old != new:
                words = " ".join(new.split())
                words = words if len(words) <= 24 else words[:23] + "…"
                shown = f"「{words}」" if words else texts("entry.empty_value")
                parts.append(texts("entry.restored_field", what=texts(f"detail.{field}"), value=shown))
        return texts("entry.restored", verb=verb, code=code, what="；".join(parts) if texts.lang == "zh"
                     else "; ".join(parts))

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

    def action_veto(self, hit: bool) -> None:
        leaf = self.current
        if leaf is not None and leaf.kind == IndicatorKind.VETO:
            self.confirm("是" if hit else "否")

    def action_take_past(self) -> None:
        """Enter last year's value of this leaf, validated as if typed."""
        leaf = self.current
        if leaf is None:
            return
        past = self.past.values.get(leaf.code) if self.past else None
        shown = format_value(leaf, past, self.texts.lang) if past is not None else ""
        self.commit(shown, lambda: self.session.take_past(self.key, leaf.code))

    def action_next_unscored(self) -> None:
        """The next leaf without a value, here or in the targets after this one in the queue's order."""
        found = self.session.next_unscored(list(self.order), self.key, self.table.current_code)
        if found is None:
            self.notify(self.texts("entry.all_scored"))
            return
        key, code = found
        if key != self.key:
            self.show_target(key, code)
        else:
            self.go_to(code)

    def action_clear_value(self) -> None:
        leaf = self.current
        if leaf is None or self.cells[leaf.code].value is None:
            return
        self.applied(self.session.clear(self.key, leaf.code))

    def action_undo(self) -> None:
        self._restore(self.session.undo(), "entry.nothing_to_undo")

    def action_redo(self) -> None:
        self._restore(self.session.redo(), "entry.nothing_to_redo")

    def _restore(self, change: Change | None, nothing: str) -> None:
        if change is None:
            self.notify(self.texts(nothing))
            return
        if change.key != self.key:
            self.show_target(change.key, change.after.indicator)
        else:
            self.go_to(change.after.indicator)
        self.applied(change)

    def action_edit_note(self) -> None:
        self._edit("#note")

    def action_edit_evidence(self) -> None:
        self._edit("#evidence")

    def _edit(self, field: str) -> None:
        if not self.detail_shown:
            self._overlay_for_edit = True
            self.show_detail(True)
        self.set_focus(self.query_one(field))  # at once: the next key typed belongs to the field

    def end_edit(self) -> None:
        """Back to the table from the note or links; a pane brought over the table for the edit goes too."""
        self.set_focus(self.table)
        if self._overlay_for_edit:
            self._overlay_for_edit = False
            self.show_detail(False)

    def action_save_note(self) -> None:
        note = self.query_one("#note", TextArea)
        if self.focused is note:
            self.save_annotation("note", note.text)

    def action_toggle_detail(self) -> None:
        self._overlay_for_edit = False
        self.show_detail(not self.detail_shown)

    def action_back(self) -> None:
        if self.has_class("-detail-open"):  # the pane over the table goes first
            self.show_detail(False)
        else:
            self.dismiss()

    def footer_state(self) -> tuple[object, ...]:
        leaf = self.current
        if leaf is None:
            return ()
        past = self.past is not None and self.past.values.get(leaf.code) is not None
        return (leaf.kind == IndicatorKind.VETO, leaf.allow_na, past)

    def action_pick_level(self, n: int) -> None:
        """Confirm the n-th scoring level of the current indicator, as if its value were typed and Enter pressed."""
        leaf = self.current
        levels = self.levels_of(leaf)
        if n > len(levels):
            self.entry.error = self.texts("entry.no_level", n=n)
            return
        self.confirm(levels[n - 1].text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """What the footer shows: y / n on a veto only; x, c, undo and redo dimmed where they do nothing."""
        leaf = self.current
        if action == "veto":
            return leaf is not None and leaf.kind == IndicatorKind.VETO
        if action == "save_note":
            return isinstance(self.focused, TextArea)
        if action == "not_applicable":
            return True if leaf is not None and leaf.allow_na else None
        if action == "take_past":
            return True if self.footer_state()[2:] == (True,) else None
        if action == "undo":
            return True if self.session.can_undo else None
        if action == "redo":
            return True if self.session.can_redo else None
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
    @on(Input.Submitted, "#evidence")
    def evidence_submitted(self, event: Input.Submitted) -> None:
        self.save_annotation("evidence", event.value)

    def save_annotation(self, field: str, text: str) -> None:
        """Save the note or the evidence links; a refusal keeps the field open with the reason below."""
        leaf = self.current
        if leaf is None:
            return
        try:
            if field == "note":
                change = self.session.annotate(self.key, leaf.code, note=text)
            else:
                change = self.session.annotate(self.key, leaf.code, evidence=text)
        except WorkbenchError as exc:
            self.entry.error = self.texts.message(exc.message)
            return
        self.entry.error = ""
        self.end_edit()
        if change.after.revision != change.before.revision:
            self.applied(change)
            what = self.texts(f"detail.{field}")
            self.entry.status = self.texts("entry.note_saved", code=leaf.code, what=what, time=self.now())

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # Leaving a field without saving abandons the edit: show what is saved.
        if isinstance(event.widget, self.NOTE_FIELDS) and self.current is not None:
            self.query_one(IndicatorDetail).reset_fields(self.cells.get(self.current.code))
