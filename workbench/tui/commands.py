"""The command palette: jump to any site, case or indicator (the shared fuzzy index), or run an app action."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.tui.context import review_app_of
from workbench.tui.display import kind_label

if TYPE_CHECKING:
    from workbench.tui.app import ReviewApp


class WorkbenchCommands(Provider):
    """Targets and indicators by name, pinyin, initials or code, plus export, help and the queue."""

    @property
    def review_app(self) -> ReviewApp:
        return review_app_of(self.app)

    def _actions(self) -> list[tuple[str, str, str]]:
        app = self.review_app
        texts = app.texts
        return [
            (texts("command.export"), "export", texts("binding.export")),
            (texts("command.help"), "help", texts("binding.help")),
            (texts("command.queue"), "queue", texts("binding.back")),
        ]

    async def discover(self) -> Hits:
        app = self.review_app
        for title, action, help_text in self._actions():
            yield DiscoveryHit(title, partial(app.run_palette_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        app = self.review_app
        matcher = self.matcher(query)
        for title, action, help_text in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(app.run_palette_action, action), help=help_text)
        index = app.search_index
        if index is None:
            return
        texts = app.texts
        # The shared index is fast enough per keystroke (≤ one frame on 15k entries), so no thread here.
        for rank, hit in enumerate(index.search(query, limit=15)):
            entry = hit.entry
            label = Text.assemble((f"{kind_label(texts, entry.kind)} ", "dim"), (f"{entry.id} ", "cyan"), entry.name)
            yield Hit(
                max(0.01, 1.0 - rank * 0.01), label, partial(app.open_entry, entry),
                text=f"{entry.id} {entry.name}", help=texts("command.open"),
            )
