"""The current indicator in full: where it sits, what it asks, its range and step, values, note and evidence."""

from __future__ import annotations

from fractions import Fraction

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.widgets import Input, Label, Static, TextArea

from workbench.model import Indicator, IndicatorKind, ReReviewNote, Score
from workbench.review import local_time
from workbench.scoring.indicators import IndicatorTree
from workbench.scoring.levels import level_of, read_levels
from workbench.tui.display import indicator_kind_label, past_text, plain, value_text
from workbench.tui.i18n import Texts
from workbench.tui.wrap import wrap


class DetailBody(Static):
    """The leaf's text, broken into lines as Chinese is typeset (wrap.py) at the width it is shown in.

    Showing another leaf repaints only the lines the old or the new text takes: the rest of its fixed share of
    the panel stays blank, and each line repainted costs about as much as a line of text."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()
        self._wrapped: tuple[int, Text, Text] | None = None  # (width, text, the text broken into lines at it)
        self._lines = 0  # lines the text shown takes

    def show(self, text: Text) -> None:
        self.text = text
        width = self.content_region.width
        wrapped = self._wrapped_at(width)
        lines = wrapped.plain.count("\n") + 1
        if width > 0 and self._lines:
            # a fixed share of the panel: no layout pass, and only the lines either text takes
            self.refresh(Region(0, 0, width, max(lines, self._lines)))
        else:
            self.refresh()
        self._lines = lines

    def _wrapped_at(self, width: int) -> Text:
        if self._wrapped is None or self._wrapped[0] != width or self._wrapped[1] is not self.text:
            self._wrapped = (width, self.text, wrap(self.text, width))
        return self._wrapped[2]

    def render(self) -> Text:
        return self._wrapped_at(self.content_region.width)


class IndicatorDetail(Vertical):
    """Description, max, step and kind of the current leaf, with its note and evidence URL fields.

    The text area has a fixed share of the panel, so showing another leaf repaints it without a layout
    pass over the whole screen (that pass was most of the time between a key press and the repaint)."""

    def __init__(self, texts: Texts, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.texts = texts

    def compose(self) -> ComposeResult:
        texts = self.texts
        yield DetailBody(id="detail-body")
        yield Label(texts("detail.note_label"), classes="field-label")
        yield TextArea(id="note", soft_wrap=True, show_line_numbers=False, tab_behavior="focus",
                       placeholder=texts("detail.note_placeholder"))
        yield Label(texts("detail.evidence_label"), classes="field-label")
        yield Input(placeholder=texts("detail.evidence_placeholder"), id="evidence")

    def show(
        self, tree: IndicatorTree, leaf: Indicator, score: Score | None, past: Fraction | str | None, *,
        reset_fields: bool = True, past_places: int = 2, rereview: ReReviewNote | None = None,
    ) -> None:
        texts = self.texts
        text = Text()
        text.append(f"{leaf.code} {leaf.name}\n", style="bold")
        groups = [g.name for g in tree.path(leaf.code)[:-1]]
        if groups:
            text.append(" › ".join(groups) + "\n", style="dim")
        if rereview is not None and rereview.appeal:  # an appeal re-review: the appeal, not the others' values
            text.append(f" {texts('detail.appeal')} ", style="bold black on yellow")
            text.append(f" {texts('detail.published')} {rereview.consensus or '—'}\n")
            text.append(rereview.appeal + "\n", style="yellow")
        elif rereview is not None:  # first, so that a short terminal still shows it
            text.append(f" {texts('detail.rereview')} ", style="bold black on yellow")
            text.append(" " + "、".join(texts(f"reason.{r}") for r in rereview.reasons), style="yellow")
            text.append(f" · {texts('detail.consensus')} {rereview.consensus}")
            if rereview.spread:
                text.append(f" · {texts('detail.spread')} {rereview.spread}")
            others = " · ".join(f"{label} {value}" for label, value in rereview.others) or "—"
            text.append(f"\n{others} · {texts('detail.own')} {rereview.own or '—'}\n")
            text.append(texts("detail.keep_needs_note") + "\n", style="dim")
        # The figures first and the description after them: a short pane still shows what counts.
        text.append(f"{texts('detail.kind')} ", style="dim")
        text.append(indicator_kind_label(texts, leaf.kind))
        if leaf.kind != IndicatorKind.VETO:
            text.append(f"   {texts('detail.max')} ", style="dim")
            text.append(plain(leaf.max_score))
            text.append(f"   {texts('detail.step')} ", style="dim")
            text.append(plain(leaf.step))
        if leaf.allow_na:
            text.append(f"   {texts('detail.na_allowed')}", style="cyan")
        levels = read_levels(leaf)
        if levels:  # 评分细则: what each value means, alt+n picking the n-th
            current = level_of(levels, score.value if score else None)
            text.append(f"\n{texts('detail.levels')}  ", style="bold")
            text.append(texts("detail.pick_level"), style="dim")
            for n, level in enumerate(levels, 1):
                style = "bold cyan" if level is current else ""
                text.append(f"\n alt+{n} ", style="dim")
                text.append(f"{level.text} = {level.descriptor}", style=style)
        text.append(f"\n{texts('detail.current')} ", style="dim")
        value = score.value if score else None
        shown = value_text(texts, leaf, value) if value is not None else Text(texts("detail.not_scored"), style="dim")
        text.append_text(shown)
        text.append(f"   {texts('detail.last')} ", style="dim")
        text.append_text(past_text(texts, leaf, past, past_places) if past is not None else Text("—", style="dim"))
        if score is not None and score.updated_at and score.revision:
            text.append(f"   {texts('detail.updated')} {local_time(score.updated_at)}", style="dim")
        text.append("\n")
        if leaf.kind == IndicatorKind.DEDUCT:
            text.append(texts("detail.deduct_hint") + "\n", style="dim")
        elif leaf.kind == IndicatorKind.VETO:
            text.append(texts("detail.veto_hint") + "\n", style="dim")
        if leaf.description:
            text.append("\n" + leaf.description)
        self.query_one(DetailBody).show(text)
        if reset_fields:
            self.reset_fields(score)

    def reset_fields(self, score: Score | None) -> None:
        """Show the saved note and evidence (an edit not saved is dropped)."""
        note = self.query_one("#note", TextArea)
        saved_note = score.note if score else ""
        if note.text != saved_note:
            note.load_text(saved_note)
        evidence = self.query_one("#evidence", Input)
        saved_evidence = score.evidence if score else ""
        if evidence.value != saved_evidence:
            evidence.value = saved_evidence
