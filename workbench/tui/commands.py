"""The command palette: jump to any site, case or indicator (the shared fuzzy index), or run an app action."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from workbench.tui.display import kind_label

KIND_CELLS, ID_CELLS = 10, 8  # the widest kind label ("indicator ") and a usual id ("S1234 ", "C4.3.2 ")

if TYPE_CHECKING:
    from workbench.search.index import SearchEntry
    from workbench.tui.i18n import Texts
    from workbench.tui.index_load import IndexLoad


class WorkbenchCommands(Provider):
    """Targets and indicators by name, pinyin, initials or code, plus export, help and the queue."""

    texts: ClassVar[Texts]
    index_load: ClassVar[IndexLoad]

    class EntryChosen(Message):
        """A site, case or indicator was chosen in the palette."""

        def __init__(self, entry: SearchEntry) -> None:
            super().__init__()
            self.entry = entry

    class ActionChosen(Message):
        """An app action was chosen in the palette: "export", "help", or "queue" (back to the queue)."""

        def __init__(self, action: str) -> None:
            super().__init__()
            self.action = action

    @classmethod
    def bound(cls, texts: Texts, index_load: IndexLoad) -> type[WorkbenchCommands]:
        """This provider over one app's words and search index. The palette constructs its providers itself,
        from the calling screen alone, so what this one needs is bound to a subclass instead."""
        return type(cls.__name__, (cls,), {"texts": texts, "index_load": index_load})

    def _actions(self) -> list[tuple[str, str, str]]:
        texts = self.texts
        return [
            (texts("command.export"), "export", texts("binding.export")),
            (texts("command.help"), "help", texts("binding.help")),
            (texts("command.queue"), "queue", texts("binding.back")),
        ]

    # A hit's callback runs once the palette has closed; it tells the app what was chosen.
    def _run(self, action: str) -> None:
        self.app.post_message(self.ActionChosen(action))

    def _open(self, entry: SearchEntry) -> None:
        self.app.post_message(self.EntryChosen(entry))

    async def discover(self) -> Hits:
        for title, action, help_text in self._actions():
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_text in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_text)
        index = self.index_load.index
        if index is None:
            return
        texts = self.texts
        # The shared index is fast enough per keystroke (≤ one frame on 15k entries), so no thread here.
        for rank, hit in enumerate(index.search(query, limit=15)):
            entry = hit.entry
            # Kind and id padded to fixed widths in terminal cells, so the names line up under each other.
            kind = kind_label(texts, entry.kind)
            label = Text.assemble((kind + " " * (KIND_CELLS - cell_len(kind)), "dim"),
                                  (entry.id + " " * max(1, ID_CELLS - cell_len(entry.id)), "cyan"), entry.name)
            yield Hit(
                max(0.01, 1.0 - rank * 0.01), label, partial(self._open, entry),
                text=f"{entry.id} {entry.name}", help=texts("command.open"),
            )


class ThemeCommands(Provider):
    """Textual's themes by the names the UI language gives them ("Textual 深色", "Nord（深色）")."""

    texts: ClassVar[Texts]

    @classmethod
    def bound(cls, texts: Texts) -> type[ThemeCommands]:
        return type(cls.__name__, (cls,), {"texts": texts})

    def _themes(self) -> list[tuple[str, str]]:
        """(shown name, theme name), sorted by the shown name."""
        texts = self.texts
        out = []
        for theme in self.app.available_themes.values():
            key = f"theme.{theme.name}"
            if texts.has(key):
                shown = texts(key)
            else:
                proper = theme.name.replace("-", " ").title()
                shown = texts("theme.named", name=proper, shade=texts("theme.dark" if theme.dark else "theme.light"))
            out.append((shown, theme.name))
        return sorted(out)

    def _set(self, name: str) -> None:
        self.app.theme = name

    async def discover(self) -> Hits:
        for shown, name in self._themes():
            yield DiscoveryHit(shown, partial(self._set, name), help=name)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for shown, name in self._themes():
            score = max(matcher.match(shown), matcher.match(name))
            if score > 0:
                yield Hit(score, matcher.highlight(shown), partial(self._set, name), text=shown, help=name)
