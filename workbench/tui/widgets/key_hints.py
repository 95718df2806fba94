"""The footer line: the screen's main key bindings as the keymap has them, the disabled ones dimmed.

A single rendered line instead of Textual's Footer (a widget per key, composed twice at start-up): the
queue has to be on screen quickly, and this line is repainted on every change of the active bindings.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget


class KeyHints(Widget):
    """`key description` pairs for every shown binding of the focused chain; the palette key on the right."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-hints--key", "key-hints--disabled"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-hints--key")
        disabled = self.get_component_rich_style("key-hints--disabled")
        left, right = Text(), Text()
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            palette = binding.action in ("command_palette", "app.command_palette")
            if (not binding.show and not palette) or binding.action in seen:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            if palette:
                right.append(f" {key} ", style=key_style)
                right.append(f"{binding.description} ")
            else:
                left.append(f" {key} ", style=disabled if not active.enabled else key_style)
                left.append(f"{binding.description} ", style=disabled if not active.enabled else "")
        gap = self.size.width - left.cell_len - right.cell_len
        if gap < 1:
            left.truncate(max(0, self.size.width - cell_len(right.plain) - 1), overflow="ellipsis")
            gap = 1
        return Text.assemble(left, " " * gap, right)
