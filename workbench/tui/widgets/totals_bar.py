"""The running result of the current target: progress, total, grade, and last year's total beside it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from workbench.review import PastResult
from workbench.scoring.indicators import TotalResult
from workbench.tui.display import total_text
from workbench.tui.i18n import Texts


class TotalsBar(Static):
    """One line, repainted after every confirmed value."""

    def __init__(self, texts: Texts, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = texts

    def show(self, result: TotalResult, scored: int, applicable: int, past: PastResult | None) -> None:
        texts = self.texts
        text = Text(" ")
        done = scored == applicable
        text.append(texts("totals.progress", scored=scored, applicable=applicable), style="green" if done else "yellow")
        text.append("   ")
        if scored == 0:  # nothing to total yet: not "0.0 准备"
            text.append(texts("totals.none_yet"), style="dim")
        elif result.vetoed:
            text.append(texts("totals.vetoed", label=result.grade), style="bold red")
        else:
            text.append(texts("totals.total", total=total_text(result)), style="bold")
            if result.grade:
                text.append("   ")
                style = "bold" if result.passed else "bold red"
                text.append(texts("totals.grade", grade=result.grade), style=style)
        text.append("   ")
        if past is None:
            text.append(texts("totals.no_past"), style="dim")
        else:
            shown = total_text(past.result) if past.result and not past.result.vetoed else (
                past.result.grade if past.result else "—")
            grade = f" {past.result.grade}" if past.result and past.result.grade and not past.result.vetoed else ""
            text.append(texts("totals.past", round=past.round_id, total=shown + grade), style="dim")
        self.update(text, layout=False)  # one line, always
