"""Who is being scored: name and region with the URL (a site) or the government, area and summary (a case)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from workbench.model import Target, TargetKind
from workbench.tui.display import kind_label
from workbench.tui.i18n import Texts


class TargetHeader(Static):
    """Two or three lines about the current target, and where it sits in the queue."""

    def __init__(self, texts: Texts, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = texts

    def show(self, target: Target, position: int, count: int, *, rereview: bool = False, appeal: bool = False) -> None:
        texts = self.texts
        text = Text()
        if rereview:
            text.append(f" {texts('target.appeal' if appeal else 'target.rereview')} ", style="bold black on yellow")
            text.append(" ")
        if target.calibration:
            text.append(f" {texts('target.calibration')} ", style="bold black on cyan")
            text.append(" ")
        text.append(f" {kind_label(texts, target.kind)} ", style="bold reverse")
        text.append(f" {target.name}", style="bold")
        text.append(f"  {target.id}", style="dim")
        if target.region:
            text.append(f"  {target.region}")
        if position:
            text.append(f"   {texts('target.position', n=position, count=count)}", style="dim")
        text.append("\n")
        if rereview:
            text.append(texts("target.appeal_hint" if appeal else "target.rereview_hint") + "\n", style="yellow")
        if target.calibration:
            text.append(texts("target.calibration_hint") + "\n", style="cyan")
        if target.kind == TargetKind.SITE:
            if target.detail:
                text.append(f"{texts('target.level')} {target.detail}  ", style="dim")
            text.append(target.url or "", style="underline cyan")
        else:
            text.append(f"{texts('target.government')} ", style="dim")
            text.append(target.detail)
            if target.area:
                text.append(f"  {texts('target.area')} ", style="dim")
                text.append(target.area)
            if target.summary:
                text.append("\n")
                text.append(target.summary, style="italic")
        self.update(text)
