"""How the app shows domain values: kinds, statuses, values at their step's precision, totals to one decimal."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from rich.cells import cell_len
from rich.text import Text

from workbench.model import NA, Indicator, IndicatorKind, Score, TargetKind
from workbench.review import QueueRow, Status, local_time
from workbench.scoring.indicators import TotalResult, format_consolidated, format_value, round_half_up
from workbench.tui.i18n import Texts

STATUS_STYLE = {
    Status.TODO: "dim",
    Status.IN_PROGRESS: "yellow",
    Status.DONE: "green",
    Status.PROBLEM: "bold red",
}
STATUS_ORDER = {Status.PROBLEM: 0, Status.IN_PROGRESS: 1, Status.TODO: 2, Status.DONE: 3}
DASH = "—"


def kind_label(texts: Texts, kind: TargetKind | str) -> str:
    value = kind.value if isinstance(kind, TargetKind) else kind
    return texts(f"kind.{value}")


def indicator_kind_label(texts: Texts, kind: IndicatorKind) -> str:
    return texts(f"ikind.{kind.value}")


def status_text(texts: Texts, status: Status) -> Text:
    return Text(texts(f"status.{status.value}"), style=STATUS_STYLE[status])


def plain(value: Decimal) -> str:
    """A max or step as people write it: 2, 0.5, 10."""
    return format(value.normalize(), "f")


def total_text(result: TotalResult | None) -> str:
    """A total to one decimal; vetoed targets have none."""
    if result is None or result.total is None:
        return DASH
    return format(round_half_up(result.total), "f")


def grade_text(result: TotalResult | None) -> str:
    if result is None:
        return DASH
    return result.grade or DASH


def value_text(texts: Texts, indicator: Indicator, value: Decimal | str | None) -> Text:
    """A leaf's value for the tables: deductions as points deducted, N/A distinct from 0, veto hits in red."""
    if value is None:
        return Text("·", style="dim")
    shown = format_value(indicator, value, texts.lang)
    if value == NA:
        return Text(shown, style="italic cyan")
    if indicator.kind == IndicatorKind.VETO:
        return Text(shown, style="bold red" if value == Decimal(1) else "green")
    if indicator.kind == IndicatorKind.DEDUCT:
        return Text(texts("value.deducted", value=shown), style="magenta" if value else "")
    return Text(shown)


def past_text(texts: Texts, indicator: Indicator, value: Fraction | str | None, places: int) -> Text:
    """A past round's consolidated value, shown as the report and `workbench scores` show it (得分小数位)."""
    if value is None:
        return Text("")
    shown = format_consolidated(indicator, value, places, texts.lang)
    if value == NA:
        return Text(shown, style="italic cyan")
    if indicator.kind == IndicatorKind.DEDUCT:
        return Text(texts("value.deducted", value=shown), style="magenta" if value else "")
    return Text(shown)


def state_mark(indicator: Indicator, score: Score | None) -> Text:
    """One glyph per leaf: ○ not scored, ● scored, ⊘ not applicable, ✗ vetoed."""
    if score is None or score.value is None:
        return Text("○", style="dim")
    if score.value == NA:
        return Text("⊘", style="cyan")
    if indicator.kind == IndicatorKind.VETO and score.value == Decimal(1):
        return Text("✗", style="bold red")
    return Text("●", style="green")


def truncate(text: str, width: int) -> str:
    """Cut text to a terminal width (CJK characters are two cells), ending with … when cut."""
    if cell_len(text) <= width:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def queue_cells(texts: Texts, row: QueueRow, *, wide: bool = False) -> tuple[str | Text, ...]:
    """A queue row's cells; a wide terminal's queue has room for longer names and when each was last worked on."""
    t = row.target
    progress = f"{row.scored}/{row.applicable}"
    pending = row.total_pending
    total = Text("…", style="dim", justify="right") if pending else Text(total_text(row.result), justify="right")
    width = 60 if wide else 40
    name: str | Text = truncate(t.name, width)
    if t.calibration:  # listed first, and marked: scored by every reviewer, never counted
        name = Text.assemble((texts("queue.calibration"), "bold cyan"), " ", truncate(t.name, width - 6))
    cells: tuple[str | Text, ...] = (
        kind_label(texts, t.kind), t.id, name, truncate(t.region, 10), progress,
        status_text(texts, row.status), total, "…" if pending else grade_text(row.result),
    )
    if wide:
        cells += (Text(local_time(row.updated_at) if row.updated_at else "", style="dim"),)
    return cells
