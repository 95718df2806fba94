"""Fuzzy search as you type: any site, case or indicator by Chinese name, pinyin, initials or code."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from workbench.errors import WorkbenchError
from workbench.model import TargetKey, TargetKind
from workbench.review import ReviewSession
from workbench.tui.display import kind_label, truncate
from workbench.tui.i18n import Texts, localize_bindings
from workbench.tui.index_load import IndexLoad

if TYPE_CHECKING:
    from workbench.search.index import SearchEntry, SearchHit

RESULT_LIMIT = 20
NAME_CELLS = 40  # a longer name is cut (…) so the column after it stays in sight


class SearchScreen(ModalScreen[None]):
    """Closes with Esc, or on a chosen hit, which it posts to the app to open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "关闭", id="close"),
        Binding("down", "move(1)", "下一个结果", show=False, id="search.down"),
        Binding("up", "move(-1)", "上一个结果", show=False, id="search.up"),
    ]

    class ResultsFound(Message):
        """A search worker finished for `query` (results may be stale by the time they arrive)."""

        def __init__(self, query: str, hits: list[SearchHit], nearest: list[SearchEntry], error: str = "") -> None:
            super().__init__()
            self.query = query
            self.hits = hits
            self.nearest = nearest
            self.error = error

    class EntryChosen(Message):
        """The reviewer chose a hit: a site, case or indicator to go to."""

        def __init__(self, entry: SearchEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, session: ReviewSession, texts: Texts, index_load: IndexLoad, query: str = "") -> None:
        super().__init__()
        self.session = session
        self.texts = texts
        localize_bindings(self, texts)
        self.index_load = index_load
        self.initial = query
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Static(self.texts("search.title"), id="search-title")
            yield Input(value=self.initial, placeholder=self.texts("search.placeholder"), id="search-input")
            yield OptionList(id="search-results")
            yield Static(self.texts("search.type"), id="search-status")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self.initial:
            self.run_search(self.initial)

    @on(Input.Changed, "#search-input")
    def query_changed(self, event: Input.Changed) -> None:
        query = event.value.strip()
        if not query:
            self.workers.cancel_group(self, "search")
            self.hits = []
            self.query_one(OptionList).clear_options()
            self.query_one("#search-status", Static).update(self.texts("search.type"))
            return
        if not self.index_load.done.is_set():
            self.query_one("#search-status", Static).update(self.texts("search.loading"))
        self.run_search(query)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search", name="search")
    def run_search(self, query: str) -> None:
        """Search off the event loop so typing never waits; a newer query cancels this one."""
        load = self.index_load
        load.done.wait(timeout=30)
        worker = get_current_worker()
        if worker.is_cancelled:
            return
        index = load.index
        if index is None:
            self.post_message(self.ResultsFound(query, [], [], load.error or "index not loaded"))
            return
        hits = index.search(query, limit=RESULT_LIMIT)
        nearest = index.nearest(query, limit=5) if not hits else []
        if not worker.is_cancelled:
            self.post_message(self.ResultsFound(query, hits, nearest))

    @on(ResultsFound)
    def show_results(self, message: ResultsFound) -> None:
        if message.query != self.query_one(Input).value.strip():
            return  # a stale answer to an earlier keystroke
        texts = self.texts
        status = self.query_one("#search-status", Static)
        options = self.query_one(OptionList)
        options.clear_options()
        self.hits = message.hits
        if message.error:
            status.update(Text(texts("search.failed", reason=message.error), style="red"))
            return
        options.add_options(Option(label) for label in self.result_lines(message.hits))
        if message.hits:
            options.highlighted = 0
            status.update(texts("search.count", count=len(message.hits)))
        else:
            line = texts("search.none", query=message.query)
            if message.nearest:
                line += "；" if texts.lang == "zh" else "; "
                line += texts("search.nearest", names="、".join(e.name for e in message.nearest))
            status.update(Text(line, style="yellow"))

    def result_lines(self, hits: list[SearchHit]) -> list[Text]:
        """One line per hit in aligned columns — kind, id, name, where it sits — measured in terminal cells
        (a Chinese character is two), so that the columns line up whatever the names' scripts."""
        texts = self.texts
        rows = [(kind_label(texts, h.entry.kind), h.entry.id, truncate(h.entry.name, NAME_CELLS),
                 self.context(h.entry)) for h in hits]
        widths = [max((cell_len(row[i]) for row in rows), default=0) for i in range(3)]
        lines = []
        for row in rows:
            line = Text(" ")
            for i, style in enumerate(("dim", "cyan", "")):
                line.append(row[i], style=style)
                line.append(" " * (widths[i] - cell_len(row[i]) + 2))
            line.append(row[3], style="dim")
            line.no_wrap = True
            line.overflow = "ellipsis"
            lines.append(line)
        return lines

    def context(self, entry: SearchEntry) -> str:
        """Where a hit sits: a target's region or government, an indicator's groups."""
        session = self.session
        if entry.kind == "indicator":
            if entry.id not in session.tree:
                return ""
            return " › ".join(node.name for node in session.tree.path(entry.id)[:-1])
        try:
            target = session.target(TargetKey(TargetKind(entry.kind), entry.id))
        except WorkbenchError:
            return ""
        return target.detail if entry.kind == TargetKind.CASE else target.region

    def action_move(self, delta: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = max(0, min(options.option_count - 1, current + delta))

    @on(Input.Submitted, "#search-input")
    def submitted(self) -> None:
        highlighted = self.query_one(OptionList).highlighted
        if highlighted is not None and highlighted < len(self.hits):
            self.choose(self.hits[highlighted].entry)

    @on(OptionList.OptionSelected, "#search-results")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option_index < len(self.hits):
            self.choose(self.hits[event.option_index].entry)

    def choose(self, entry: SearchEntry) -> None:
        self.dismiss()
        # Straight to the app rather than bubbling: this screen is leaving. The app handles it once the
        # screen beneath (the queue or a target) is the current one again.
        self.app.post_message(self.EntryChosen(entry))

    def action_close(self) -> None:
        self.dismiss()
