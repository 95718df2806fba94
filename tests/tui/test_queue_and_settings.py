"""The queue and search as a reviewer meets them: header clicks sort, empty states say so, search results line
up; Textual's palette speaks the UI language; the theme is remembered; a config file's mistakes are reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

from workbench.search.keys import pinyin_keys
from workbench.tui.commands import ThemeCommands
from workbench.tui.i18n import Texts
from workbench.tui.screens.search import SearchScreen
from workbench.tui.widgets.queue_table import QueueTable

from .tui_helpers import SIZE, AppFactory


async def click_header(pilot: Pilot[None], table: QueueTable, column: str) -> None:
    x = 1
    for key, col in table.columns.items():
        if key.value == column:
            break
        x += col.get_render_width(table)
    await pilot.click(QueueTable, offset=(x, 0))
    await pilot.pause()


def column(table: QueueTable, index: int) -> list[str]:
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


class TestQueue:
    async def test_clicking_a_header_sorts_by_it_and_again_reverses(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            table = app.screen.query_one(QueueTable)
            await click_header(pilot, table, "name")
            names = column(table, 2)
            assert names == sorted(names, key=lambda n: pinyin_keys(n)[0])
            assert "排序：名称 ↑" in str(app.screen.query_one("#queue-filters", Static).render())
            await click_header(pilot, table, "name")
            assert column(table, 2) == names[::-1]
            await click_header(pilot, table, "region")
            assert "排序：地区" in str(app.screen.query_one("#queue-filters", Static).render())

    async def test_a_filter_that_leaves_nothing_says_no_results(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f", "f", "f", "f")  # 有问题: none
            await pilot.pause()
            assert app.screen.query_one(QueueTable).row_count == 0
            empty = app.screen.query_one("#queue-empty", Static)
            assert empty.display and empty.region.height > 0 and "无结果" in str(empty.render())
            await pilot.press("f")
            await pilot.pause()
            assert not empty.display


class TestSearch:
    async def test_results_line_up_in_columns(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("slash", *"sz")
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SearchScreen)
            options = screen.query_one(OptionList)
            lines = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            assert len(lines) > 3 and len({h.entry.kind for h in screen.hits}) > 1
            starts = set()
            for line, hit in zip(lines, screen.hits, strict=True):
                before = line[: line.index(hit.entry.name)]
                starts.add(cell_len(before))  # the name column starts at the same cell on every line
            assert len(starts) == 1

    async def test_no_result_says_so(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("slash", *"qqqqxxxx")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "没有与「qqqqxxxx」匹配的结果" in str(app.screen.query_one("#search-status", Static).render())


class TestPalette:
    async def test_textuals_own_entries_are_in_the_ui_language(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert titles[:3] == ["主题", "退出", "按键一览"] and "截图" in titles
            assert not {"Theme", "Quit", "Keys", "Screenshot"} & set(titles)

    async def test_theme_names_are_given_in_the_ui_language(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            provider = ThemeCommands.bound(Texts("zh"))(app.screen)
            shown = dict(provider._themes())
            assert shown["Textual 深色"] == "textual-dark" and shown["Textual 浅色"] == "textual-light"
            assert any(name.endswith("（深色）") for name in shown)


class TestSettings:
    async def test_the_chosen_theme_is_remembered_for_next_time(
        self, review_app: AppFactory, package_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = tmp_path / "config.toml"
        config.write_text('# mine\nlang = "zh"\n\n[keymap]\nundo = "ctrl+z"\n', encoding="utf-8")
        monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.theme = "nord"
            await pilot.pause()
        text = config.read_text(encoding="utf-8")
        assert 'theme = "nord"' in text and "# mine" in text and 'undo = "ctrl+z"' in text
        again = review_app(package_path)
        async with again.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert again.theme == "nord"

    async def test_unknown_settings_and_clashing_keys_are_reported_at_start(
        self, review_app: AppFactory, package_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = tmp_path / "config.toml"
        config.write_text('langauge = "en"\ntheme = "no-such-theme"\n\n[keymap]\nundo = "j"\nnope = "z"\n',
                          encoding="utf-8")
        monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
        from workbench.tui.app import make_app, open_package

        store = open_package(package_path)
        try:
            app = make_app(store, lang="zh")
            async with app.run_test(size=SIZE) as pilot:
                for _ in range(100):  # the check runs in a worker once the queue is painted
                    await app.workers.wait_for_complete()
                    await pilot.pause(0.05)
                    if app._notifications:
                        break
                warned = "\n".join(n.message for n in app._notifications)
                assert "未知的设置 'langauge'" in warned
                assert "未知的主题 'no-such-theme'" in warned
                assert "'nope' 不是任何按键的 id" in warned
                assert "按键 j 在「target」界面同时用于 next_indicator 和 undo" in warned
        finally:
            store.close()


async def test_palette_hits_line_up_their_names(review_app: AppFactory, package_path: Path) -> None:
    from textual.command import CommandList, CommandPalette

    app = review_app(package_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+p", *"sz")
        await pilot.pause(0.5)
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        found = palette.query_one(CommandList)
        lines = [str(found.get_option_at_index(i).prompt).split("\n")[0] for i in range(found.option_count)]
        hits = [m for line in lines if (m := re.match(r"(网站|案例|指标)(\s+)(\S+)(\s+)(\S.*)", line.strip()))]
        assert len(hits) >= 3
        assert len({cell_len(m[1] + m[2]) for m in hits}) == 1  # the ids start in one column ...
        assert len({cell_len(m[1] + m[2] + m[3] + m[4]) for m in hits}) == 1  # ... and so do the names
