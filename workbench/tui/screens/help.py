"""Every key binding of the app, with the keys the reviewer's keymap actually gives them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.tui.config import config_path
from workbench.tui.i18n import Texts, localize_bindings


class HelpScreen(ModalScreen[None]):
    """A table per area: key, what it does, and the binding id to remap it by."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "关闭", id="close"),
    ]

    def __init__(self, texts: Texts, keymap: Mapping[str, str], app_bindings: list[BindingType]) -> None:
        super().__init__()
        self.texts = texts
        localize_bindings(self, texts)
        self.keymap = keymap
        """binding id → keys, as the reviewer's config remaps them."""
        self.app_bindings = app_bindings
        """The bindings that work everywhere."""

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(self.texts("help.title"), id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(self.render_tables(), id="help-body")
            yield Static(self.texts("help.close"), id="help-close")

    def key_text(self, binding: Binding) -> str:
        """The keys a binding answers to after the keymap, as the footer shows them."""
        keys = self.keymap.get(binding.id or "", binding.key) if binding.id else binding.key
        return " ".join(self.app.get_key_display(binding.with_key(k.strip())) for k in keys.split(","))

    def render_tables(self) -> Table:
        from workbench.tui.screens.export import ConfirmOverwrite, ExportScreen
        from workbench.tui.screens.queue import QueueScreen
        from workbench.tui.screens.search import SearchScreen
        from workbench.tui.screens.target import TargetScreen
        from workbench.tui.widgets.indicator_table import IndicatorTable
        from workbench.tui.widgets.queue_table import QueueTable

        texts = self.texts
        outer = Table.grid(padding=(0, 0))
        sections: list[tuple[str, list[tuple[str, str, str]]]] = [
            ("help.global", self.rows(self.app_bindings)),
            ("help.queue", [*self.rows(QueueTable.BINDINGS), *self.rows(QueueScreen.BINDINGS)]),
            ("help.target", [*self.rows(TargetScreen.BINDINGS), *self.rows(IndicatorTable.BINDINGS)]),
            ("help.entry", [
                ("0-9 . -", texts("entry.digits"), ""),
                ("enter", texts("entry.enter"), ""),
                ("backspace", texts("entry.backspace"), ""),
                ("esc", texts("entry.escape"), ""),
                ("alt+1…9", texts("entry.alt_digits"), ""),
            ]),
            ("help.search", [("", texts("search.keys"), ""), *self.rows(SearchScreen.BINDINGS)]),
            ("help.dialogs", [*self.rows(self.BINDINGS), *self.rows(ExportScreen.BINDINGS),
                              *self.rows(ConfirmOverwrite.BINDINGS)]),
        ]
        for title, rows in sections:
            table = Table(title=texts(title), title_justify="left", title_style="bold", expand=True,
                          show_edge=False, box=None, padding=(0, 1))
            table.add_column(texts("help.col.key"), style="bold cyan", width=14, no_wrap=True)
            table.add_column(texts("help.col.action"), ratio=1)
            table.add_column(texts("help.col.id"), style="dim", width=24, no_wrap=True)
            for key, action, binding_id in rows:
                table.add_row(key, action, binding_id)
            outer.add_row(table)
            outer.add_row(Text(""))
        outer.add_row(Text(texts("help.keymap", path=config_path()), style="dim"))
        return outer

    def rows(self, bindings: list[BindingType]) -> list[tuple[str, str, str]]:
        texts = self.texts
        out = []
        for b in bindings:
            if not isinstance(b, Binding):
                continue
            label = texts(f"binding.{b.id}") if b.id and texts.has(f"binding.{b.id}") else b.description
            out.append((self.key_text(b), label, b.id or ""))
        return out

    def action_close(self) -> None:
        self.dismiss(None)
