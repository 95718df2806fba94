"""The footer: every shown key binding of the focused chain as the keymap has them, the disabled ones dimmed.

A rendered block instead of Textual's Footer (a widget per key, composed twice at start-up): the queue has to
be on screen quickly, and this is repainted on every change of the active bindings. Where one line is too
narrow for them all (80 columns), the bindings take a second line rather than being cut off.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.screen import Screen
from textual.widget import Widget


class KeyHints(Widget):
    """`key description` pairs for every shown binding of the focused chain; the palette key last."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-hints--key", "key-hints--disabled"}

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            # A layout pass only when the bindings need another line or one fewer: a pass over the whole
            # screen costs more than the rest of a confirmed value's repaint.
            self.refresh(layout=len(self.lines(self.size.width)) != self.size.height)

    def hints(self) -> list[tuple[str, str, bool]]:
        """(key, description, enabled) of every binding the footer shows, the command palette last."""
        shown: list[tuple[str, str, bool]] = []
        palette: list[tuple[str, str, bool]] = []
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            is_palette = binding.action in ("command_palette", "app.command_palette")
            if (not binding.show and not is_palette) or binding.action in seen:
                continue
            seen.add(binding.action)
            item = (self.app.get_key_display(binding), binding.description, active.enabled)
            (palette if is_palette else shown).append(item)
        return shown + palette

    def lines(self, width: int) -> list[Text]:
        key_style = self.get_component_rich_style("key-hints--key")
        disabled = self.get_component_rich_style("key-hints--disabled")
        lines: list[Text] = [Text()]
        for key, description, enabled in self.hints():
            item = Text.assemble((f" {key} ", disabled if not enabled else key_style),
                                 (f"{description} ", disabled if not enabled else Style()))
            if lines[-1].cell_len and lines[-1].cell_len + item.cell_len > width:
                lines.append(Text())
            lines[-1].append_text(item)
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Text:
        out = Text("\n").join(self.lines(self.size.width))
        out.no_wrap = True
        out.overflow = "ellipsis"
        return out
