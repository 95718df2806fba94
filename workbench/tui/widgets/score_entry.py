"""The entry line under the indicator table: what is being typed, why it was refused, what was saved."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from workbench.model import Indicator, IndicatorKind
from workbench.tui.i18n import Texts


class ScoreEntry(Static):
    """Shows the typed value for the current indicator; a refusal stays until the reviewer types again."""

    buffer: reactive[str] = reactive("")
    """What the reviewer has typed and not yet confirmed."""
    error: reactive[str] = reactive("", layout=True)
    """Why the last confirmation was refused (nothing was saved), or "". The refused text stays selected: the
    next key typed replaces it. A long reason takes a second line on a narrow terminal."""
    status: reactive[str] = reactive("")
    """The last thing saved or undone, for reassurance."""

    def __init__(self, texts: Texts, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = texts
        self.indicator: Indicator | None = None

    def point_at(self, indicator: Indicator | None) -> None:
        self.indicator = indicator
        self.buffer = ""
        self.error = ""
        self.refresh()

    def render(self) -> Text:
        texts = self.texts
        line = Text()
        line.append(f" {texts('entry.prompt')} ", style="bold reverse")
        if self.indicator is not None:
            line.append(f" {self.indicator.code} {self.indicator.name} › ", style="bold")
        if self.error:
            line.append(self.buffer, style="bold reverse")  # selected: typing replaces it
            line.append("▏  ")
            line.append(self.error, style="bold red")
            return line
        line.append(self.buffer, style="bold")
        line.append("▏")
        if self.status:
            line.append("  " + self.status, style="green")
        veto = self.indicator is not None and self.indicator.kind == IndicatorKind.VETO
        line.append("  " + texts("entry.hint_veto" if veto else "entry.hint_score"), style="dim")
        line.no_wrap = True
        line.overflow = "ellipsis"
        return line
