"""The app shows an indicator's scoring levels (评分细则) beside it and what a typed value means; alt+1…9 pick a
level while digits still type values; calibration targets (校准) come first in the queue, marked."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from textual import events
from textual.widgets import Static

from workbench.setup.package import make_package
from workbench.setup.round import SetupFiles, init_round
from workbench.tui.app import ReviewApp
from workbench.tui.screens.help import HelpScreen
from workbench.tui.widgets.key_hints import KeyHints
from workbench.tui.widgets.queue_table import QueueTable
from workbench.tui.widgets.score_entry import ScoreEntry

from .test_review_flow import open_first_target, target_screen
from .tui_helpers import SIZE, AppFactory, read_cell

INDICATORS = """代码,上级,名称,类型,分值,步长,适用,可不适用,评分细则
A,,机制,,,,,,
A1,A,领导机制,评分,2,1,网站,否,2=建立并有效运转; 1=已建立但未见运转; 0=未建立
A2,A,主管机构,评分,2,0.5,网站,否,2=职责清晰; 1=职责不清
A3,A,栏目更新,评分,10,1,网站,否,
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built_levels_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("levels")
    files = SetupFiles(
        indicators=_write(base / "indicators.csv", INDICATORS),
        sites=_write(base / "sites.csv", "编号,名称,地区,校准\nS1,甲市,广东,否\nS9,示例市,上海,是\n"),
        cases=_write(base / "cases.csv", "编号,标题\n"),
        reviewers=_write(base / "reviewers.csv", "编号,姓名,地区\nR1,甲,上海\n"),
        assignments=_write(base / "assignments.csv", "评审专家,对象类型,对象编号\nR1,网站,S1\n"),
    )
    init_round(base / "round.db", "2022", files)
    return make_package(base / "round.db", "R1", base / "R1.wbk").path


@pytest.fixture
def levels_package(built_levels_package: Path, tmp_path: Path) -> Path:
    return Path(shutil.copyfile(built_levels_package, tmp_path / "R1.wbk"))


def _detail(app: ReviewApp) -> str:
    return str(app.screen.query_one("#detail-body").render())


def _entry(app: ReviewApp) -> str:
    return str(app.screen.query_one(ScoreEntry).render())


async def test_calibration_targets_come_first_marked(review_app: AppFactory, levels_package: Path) -> None:
    app = review_app(levels_package)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(QueueTable)
        assert [table.get_row_at(i)[1] for i in range(table.row_count)] == ["S9", "S1"]
        assert str(table.get_row_at(0)[2]).startswith("[校准] 示例市")
        assert str(table.get_row_at(1)[2]) == "甲市"
        await pilot.press("enter")
        await pilot.pause()
        header = str(target_screen(app).query_one("#target-header", Static).render())
        assert "校准" in header and "不计入任何结果" in header


async def test_levels_show_beside_the_indicator_and_the_typed_value_is_described(
        review_app: AppFactory, levels_package: Path) -> None:
    app = review_app(levels_package)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_target(pilot, app)
        assert screen.table.current_code == "A1"
        detail = _detail(app)
        assert "评分细则" in detail
        assert "alt+1 2 = 建立并有效运转" in detail and "alt+3 0 = 未建立" in detail
        await pilot.press("1")
        assert "细则：已建立但未见运转" in _entry(app)
        await pilot.press("backspace", "2")
        assert "细则：建立并有效运转" in _entry(app)
        await pilot.press("enter")  # digits still type values: 2 + Enter confirms 2
        await pilot.pause()
        assert read_cell(levels_package, "S9", "A1")[0] == "2"
        assert screen.table.current_code == "A2"


async def test_alt_digit_picks_the_nth_level_and_confirms(review_app: AppFactory, levels_package: Path) -> None:
    app = review_app(levels_package)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_target(pilot, app)
        await pilot.press("alt+2")  # A1's second level: 1 = 已建立但未见运转
        await pilot.pause()
        assert read_cell(levels_package, "S9", "A1")[0] == "1"
        assert screen.table.current_code == "A2"
        # most terminals send alt+1 as ESC 1, which Textual reads as "¡" (what macOS's Option+1 types)
        app.post_message(events.Key("inverted_exclamation_mark", "¡"))
        await pilot.pause()
        assert read_cell(levels_package, "S9", "A2")[0] == "2.0"
        assert screen.table.current_code == "A3"
        await pilot.press("k")
        app.post_message(events.Key("alt+2", "2"))  # a kitty-protocol terminal: alt+2, perhaps carrying "2"
        await pilot.pause()
        assert read_cell(levels_package, "S9", "A2")[0] == "1.0"
        assert screen.entry.buffer == ""


async def test_alt_digit_without_such_a_level_says_so_and_saves_nothing(
        review_app: AppFactory, levels_package: Path) -> None:
    app = review_app(levels_package)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_target(pilot, app)
        await pilot.press("alt+4")  # A1 has three levels
        await pilot.pause()
        assert "没有第 4 档评分细则" in _entry(app)
        assert read_cell(levels_package, "S9", "A1")[0] is None and screen.table.current_code == "A1"
        await pilot.press("j", "j")  # A3: no levels at all
        await pilot.pause()
        assert "评分细则" not in _detail(app)
        app.post_message(events.Key("alt+1", "1"))
        await pilot.pause()
        assert "没有第 1 档评分细则" in _entry(app) and screen.entry.buffer == ""
        assert read_cell(levels_package, "S9", "A3")[0] is None


async def test_footer_and_help_list_the_level_keys(review_app: AppFactory, levels_package: Path) -> None:
    app = review_app(levels_package)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        footer = str(app.screen.query_one(KeyHints).render())
        assert "alt+1…9 细则" in footer
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.render_tables())
        body = console.export_text()
        assert "alt+1…9" in body and "选择第 n 档评分细则并确认" in body and "pick_level_9" in body
