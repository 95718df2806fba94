"""Faster scoring in the real app: the next unscored leaf, last year's value, redo, a refused value that typing
replaces, notes on several lines, evidence links checked, undo that says what it restores, local times."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from workbench.tui.app import ReviewApp

from .tui_helpers import SIZE, AppFactory, events, open_first, read_cell


def entry_text(app: ReviewApp) -> str:
    return str(app.screen.query_one("#entry").render())


class TestJumps:
    async def test_g_goes_to_the_next_unscored_leaf_across_targets(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("g")
            assert screen.table.current_code == "A1.2"  # skips nothing scored yet: the next leaf
            screen.table.move_to(screen.leaves[-1].code)
            await pilot.pause()
            await pilot.press(*"1", "enter")  # the last leaf of S03 scored; the first ones are not
            await pilot.press("g")
            assert screen.key == ("site", "S06") and screen.table.current_code == "A1.1"


class TestLastYear:
    async def test_c_takes_last_years_value_validated_and_saved(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            assert screen.table.cell_text("A1.1", "last") == "1.50"
            await pilot.press("c")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] == "1.5"
            assert screen.table.current_code == "A1.2"  # and on, as a typed value moves on
            assert events(package_path)[-1] == ("S03", "A1.1", None, "1.5", "entry")

    async def test_c_without_a_past_value_says_so(self, review_app: AppFactory, check_package: Path) -> None:
        app = review_app(check_package)  # the 2019 check has no earlier round
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("c")
            await pilot.pause()
            assert "没有往期结果" in entry_text(app)
            assert read_cell(check_package, screen.key[1], "V1")[0] is None


class TestUndoRedo:
    async def test_ctrl_r_redoes_what_u_undid(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("1", "enter", "u")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] is None
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] == "1.0"
            assert screen.table.current_code == "A1.1"
            assert "已重做：A1.1 得分恢复为 1.0" in entry_text(app)
            await pilot.press("ctrl+r")
            assert "没有可重做的修改" in {n.message for n in app._notifications}
            assert [e[4] for e in events(package_path)] == ["entry", "undo", "redo"]

    async def test_undo_of_a_link_says_it_restored_the_link(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_first(pilot, app)
            await pilot.press("2", "enter", "k", "l", *"https://www.hebei.gov.cn/a", "enter", "u")
            await pilot.pause()
            shown = entry_text(app)
            assert "已撤销：A1.1 佐证链接恢复为 空" in shown and "恢复为 2.0" not in shown
            assert read_cell(package_path, "S03", "A1.1")[0:3] == ("2.0", "", "")


class TestEntry:
    async def test_a_refused_value_is_selected_and_typing_replaces_it(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("4", "4", ".", "5", "enter")
            await pilot.pause()
            assert screen.entry.buffer == "44.5" and "须为 0 至 2" in entry_text(app)
            await pilot.press("1", ".", "5", "enter")  # not "44.51.5"
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] == "1.5"

    async def test_backspace_on_a_refused_value_clears_it(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("9", "9", "enter", "backspace")
            assert screen.entry.buffer == "" and screen.entry.error == ""

    async def test_the_totals_show_a_dash_until_something_is_scored(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_first(pilot, app)
            totals = str(app.screen.query_one("#totals").render())
            assert "得分 —   等级 —" in totals and "准备" not in totals.split("2021")[0]
            await pilot.press("0", "enter")
            await pilot.pause()
            assert "得分 0.0   等级 准备" in str(app.screen.query_one("#totals").render())


class TestNotesAndLinks:
    async def test_a_note_takes_several_lines_and_ctrl_s_saves_it(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("m", *"首页", "enter", *"栏目", "ctrl+s")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[1] == "首页\n栏目"
            assert screen.table.has_focus
            assert screen.query_one("#note", TextArea).text == "首页\n栏目"

    async def test_a_non_link_is_refused_with_the_reason_and_nothing_saved(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("l", *"not a link", "enter")
            await pilot.pause()
            assert "不是网址" in entry_text(app) and "http://" in entry_text(app)
            assert read_cell(package_path, "S03", "A1.1") == (None, "", "", 0)
            assert isinstance(screen.focused, Input)  # still in the field, to correct it
            await pilot.press("escape")
            assert screen.table.has_focus
            assert screen.query_one("#evidence", Input).value == ""


class TestLocalTime:
    @pytest.fixture
    def shanghai(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TZ", "Asia/Shanghai")
        time.tzset()

    async def test_times_are_shown_in_the_local_zone_and_stored_in_utc(
        self, review_app: AppFactory, package_path: Path, shanghai: None
    ) -> None:
        app = review_app(package_path)  # the clock says 09:30 UTC
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("1", "enter", "k")
            await pilot.pause()
            assert "（17:30:00）" in entry_text(app)
            score = screen.cells["A1.1"]
            assert score.updated_at.endswith("Z")  # stored in UTC
            hour = int(score.updated_at[11:13])
            shown = str(screen.query_one("#detail-body").render())
            assert f"{(hour + 8) % 24:02d}:" in shown.split("更新于")[1][:20]


async def test_the_link_refusal_is_in_the_ui_language_only(review_app: AppFactory, package_path: Path) -> None:
    app = review_app(package_path, lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, app)
        await pilot.press("l", *"see the screenshot", "enter")
        await pilot.pause()
        shown = entry_text(app)
        assert "'see the screenshot' is not a link" in shown and "不是网址" not in shown
