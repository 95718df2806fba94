"""One key, one meaning: the keys each screen answers to, and the clashes a keymap would bring.

Textual looks a key up along the focus chain (the focused widget, its screen, then the app) and takes the
first binding it finds. Here each screen's chain is listed level by level; two bindings of one level on the
same key are a clash, and so is a key a binding of a lower level takes from a higher one, except where a
screen means to (a dialog's Esc or q closes it rather than the app). The tests check the defaults with
this; the app checks the reviewer's keymap with it at start and warns of what it finds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from textual.binding import Binding, BindingType

ENTRY_KEYS = (*"0123456789.-", "enter", "backspace")
"""What the scoring screen's entry line takes before any binding (on_key)."""

SHADOWS_ALLOWED = {
    "help": {"escape", "q", "question_mark", "f1"},   # the help's own close keys
}
"""Keys a screen's own binding deliberately takes from the app on that screen."""


class Level(NamedTuple):
    name: str
    bindings: list[Binding]


def _bindings(items: list[BindingType]) -> list[Binding]:
    return [b for b in items if isinstance(b, Binding)]


def screen_chains() -> dict[str, list[Level]]:
    """Each screen's binding levels, innermost first (the app last)."""
    from workbench.tui.app import ReviewApp
    from workbench.tui.screens.export import ConfirmOverwrite, ExportScreen
    from workbench.tui.screens.help import HelpScreen
    from workbench.tui.screens.queue import QueueScreen
    from workbench.tui.screens.search import SearchScreen
    from workbench.tui.screens.target import TargetScreen
    from workbench.tui.widgets.indicator_table import IndicatorTable
    from workbench.tui.widgets.queue_table import QueueTable

    app = Level("app", _bindings(ReviewApp.BINDINGS))
    entry = Level("entry", [Binding(k, "entry", k) for k in ENTRY_KEYS])
    return {
        "queue": [Level("queue-table", _bindings(QueueTable.BINDINGS)), Level("queue", _bindings(QueueScreen.BINDINGS)),
                  app],
        "target": [entry, Level("indicators", _bindings(IndicatorTable.BINDINGS)),
                   Level("target", _bindings(TargetScreen.BINDINGS)), app],
        "search": [Level("search", _bindings(SearchScreen.BINDINGS)), app],
        "help": [Level("help", _bindings(HelpScreen.BINDINGS)), app],
        "export": [Level("export", _bindings(ExportScreen.BINDINGS)), app],
        "overwrite": [Level("overwrite", _bindings(ConfirmOverwrite.BINDINGS)), app],
    }


def keys_of(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    return [k.strip() for k in keys.split(",") if k.strip()]


def binding_clashes(keymap: Mapping[str, str] | None = None) -> list[str]:
    """Every key that means two things on one screen under ``keymap`` ("中文 / English" sentences)."""
    keymap = keymap or {}
    found: list[str] = []
    for screen, levels in screen_chains().items():
        taken: dict[str, tuple[str, Binding]] = {}  # key → (level, binding) that answers it
        for level in levels:
            here: dict[str, Binding] = {}
            for binding in level.bindings:
                for key in keys_of(binding, keymap):
                    other = here.get(key)
                    if other is not None and other.action != binding.action:
                        found.append(_clash(screen, key, other, binding))
                    here.setdefault(key, binding)
            for key, binding in here.items():
                inner = taken.get(key)
                if inner is None:
                    taken[key] = (level.name, binding)
                elif inner[1].action != binding.action and key not in SHADOWS_ALLOWED.get(screen, set()):
                    found.append(_clash(screen, key, inner[1], binding))
    return list(dict.fromkeys(found))


def _clash(screen: str, key: str, first: Binding, second: Binding) -> str:
    def name(b: Binding) -> str:
        return b.id or b.action

    return (f"按键 {key} 在「{screen}」界面同时用于 {name(first)} 和 {name(second)} / "
            f"key {key} means both {name(first)} and {name(second)} on the {screen} screen")


def unknown_binding_ids(keymap: Mapping[str, str]) -> list[str]:
    """Keymap ids no binding has."""
    known = {b.id for levels in screen_chains().values() for level in levels for b in level.bindings if b.id}
    return [i for i in keymap if i not in known]
