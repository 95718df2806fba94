"""One key, one meaning: no key does two things on any screen, the help lists every binding of every screen,
and each screen's footer lists the bindings it shows."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from workbench.tui.keys import binding_clashes, keys_of, screen_chains
from workbench.tui.screens.help import HelpScreen
from workbench.tui.widgets.key_hints import KeyHints

from .tui_helpers import SIZE, AppFactory


def test_no_key_means_two_things_on_any_screen() -> None:
    assert binding_clashes() == []


def test_a_keymap_that_gives_one_key_two_meanings_is_caught() -> None:
    clashes = binding_clashes({"take_past": "n"})  # n answers 否 on a veto row
    assert clashes == ["按键 n 在「target」界面同时用于 veto_no 和 take_past / "
                       "key n means both veto_no and take_past on the target screen"]
    assert binding_clashes({"queue.sort": "slash"})  # the app's search key, on the queue


def test_every_binding_has_an_id_to_remap_it_by() -> None:
    for screen, levels in screen_chains().items():
        for level in levels:
            if level.name != "entry":
                assert all(b.id for b in level.bindings), (screen, level.name)


async def test_the_help_lists_every_binding_of_every_screen_with_its_keys(
    review_app: AppFactory, package_path: Path
) -> None:
    app = review_app(package_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(help_screen.render_tables())
        shown = console.export_text()
        for levels in screen_chains().values():
            for level in levels:
                if level.name == "entry":
                    continue
                for binding in level.bindings:
                    assert binding.id and binding.id in shown, binding.id
                    for key in keys_of(binding, {}):
                        assert app.get_key_display(binding.with_key(key)) in shown, (binding.id, key)


async def test_each_screens_footer_lists_the_bindings_it_shows(review_app: AppFactory, package_path: Path) -> None:
    app = review_app(package_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in ("queue", "target"):
            hints = {description for _, description, _ in app.screen.query_one(KeyHints).hints()}
            expected = {a.binding.description for a in app.screen.active_bindings.values() if a.binding.show}
            assert expected <= hints and len(expected) >= 6
            await pilot.press("enter")
            await pilot.pause()
