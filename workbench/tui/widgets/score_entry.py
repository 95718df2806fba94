"""The entry line under the indicator table: what is being typed, why it was refused, what was saved."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from workbench.errors import WorkbenchError
from workbench.model import Indicator, IndicatorKind
from workbench.scoring.indicators import parse_value
from workbench.scoring.levels import Level, level_of, read_levels
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
        self.levels: tuple[Level, ...] = ()
        """The current indicator's scoring levels (评分细则)."""

    def point_at(self, indicator: Indicator | None) -> None:
        self.indicator = indicator
        self.levels = read_levels(indicator) if indicator is not None else ()
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
        level = self.typed_level()
        if level is not None:  # what the value being typed means, before it is confirmed
            line.append(" " + texts("entry.level", text=level.descriptor), style="bold cyan")
        if self.status:
            line.append("  " + self.status, style="green")
        veto = self.indicator is not None and self.indicator.kind == IndicatorKind.VETO
        line.append("  " + texts("entry.hint_veto" if veto else "entry.hint_score"), style="dim")
        line.no_wrap = True
        line.overflow = "ellipsis"
        return line

    def typed_level(self) -> Level | None:
        """The level the typed value is, if it is one."""
        if not self.levels or not self.buffer or self.indicator is None:
            return None
        try:
            value = parse_value(self.indicator, self.buffer)
        except WorkbenchError:
            return None
        return level_of(self.levels, value)
