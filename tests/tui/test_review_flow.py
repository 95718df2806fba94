"""The reviewer's whole flow through the real app: queue, enter, refuse, undo, navigate, search, quit, reopen."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from workbench.errors import NotAPackage, NotFound
from workbench.review import Status
from workbench.search.keys import pinyin_keys
from workbench.tui.app import ReviewApp, run_review
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.queue import QueueScreen
from workbench.tui.screens.search import SearchScreen
from workbench.tui.screens.target import TargetScreen
from workbench.tui.widgets.queue_table import QueueTable

from .run_app import main
from .tui_helpers import SIZE, AppFactory, events, read_cell


def text_of(app: ReviewApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def target_screen(app: ReviewApp) -> TargetScreen:
    assert isinstance(app.screen, TargetScreen), app.screen
    return app.screen


async def open_first_target(pilot: Pilot[None], app: ReviewApp) -> TargetScreen:
    await pilot.press("enter")
    await pilot.pause()
    return target_screen(app)


async def open_export(pilot: Pilot[None], app: ReviewApp) -> None:
    """^e once the background loads are done."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.press("ctrl+e")
    await pilot.pause()


async def type_value(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text, "enter")
    await pilot.pause()


class TestQueue:
    async def test_lists_every_assigned_target_with_progress_and_status(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            table = app.screen.query_one(QueueTable)
            assert table.row_count == 41
            assert table.get_row_at(0)[:5] == ["网站", "S03", "河北省", "河北", "0/36"]
            assert str(table.get_row_at(0)[5]) == "待评"
            assert "41 个对象：待评 41 · 进行中 0 · 已完成 0 · 有问题 0" in text_of(app, "#queue-summary")

    async def test_filters_by_status_and_kind_and_sorts(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_first_target(pilot, app)
            await type_value(pilot, "2")
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen)
            table = app.screen.query_one(QueueTable)
            assert str(table.get_row_at(0)[5]) == "进行中" and table.get_row_at(0)[4] == "1/36"
            await pilot.press("f", "f")  # all → to do → in progress
            assert table.row_count == 1 and table.get_row_at(0)[1] == "S03"
            await pilot.press("f", "f", "f", "t", "t")  # status back to all; kind: all → site → case
            assert table.row_count == 19 and {table.get_row_at(i)[0] for i in range(19)} == {"案例"}
            await pilot.press("t", "s", "s")  # kind all; sort: assigned order → id → name
            assert "排序：名称" in text_of(app, "#queue-filters")
            names = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
            assert names == sorted(names, key=lambda name: pinyin_keys(name)[0])  # by pinyin: 安徽 before 北京
            assert names[0] == "安徽省合肥市"
            assert names.index("广东省") < names.index("河北省") < names.index("浙江省宁波市")

    async def test_queue_shows_totals_and_grades_of_scored_targets_on_reopen(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            for leaf in screen.leaves:
                await pilot.press(*format(leaf.max_score, "f"), "enter")
            await pilot.pause()
            assert "已评 36/36" in text_of(app, "#totals")
            await pilot.press("q")
        reopened = review_app(package_path)
        async with reopened.run_test(size=SIZE) as pilot:
            await pilot.pause()
            row = reopened.screen.query_one(QueueTable).get_row_at(0)
            assert row[4] == "36/36" and str(row[5]) == "已完成"
            assert str(row[6]) == "110.0" and row[7] == "卓越"  # 100 + the 10 bonus points

    async def test_back_on_the_queue_the_scored_target_shows_its_progress(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        """The queue, beneath the target screen, hears of each confirmed score and is up to date once shown."""
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            key = screen.key
            await type_value(pilot, "1.5")
            await type_value(pilot, "2")
            assert app.queue.changed == {key}  # noted, not yet shown: the queue is not on top
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is app.queue and not app.queue.changed
            row = app.queue.query_one(QueueTable).get_row_at(0)
            assert row[4] == "2/36" and str(row[5]) == "进行中"
            assert "进行中 1" in text_of(app, "#queue-summary")


class TestEntry:
    async def test_enter_confirms_durably_audits_and_moves_on(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        saved: list[Message] = []
        app = review_app(package_path)
        async with app.run_test(size=SIZE, message_hook=saved.append) as pilot:
            screen = await open_first_target(pilot, app)
            assert screen.table.current_code == "A1.1"
            await type_value(pilot, "1.5")
            assert read_cell(package_path, "S03", "A1.1")[0] == "1.5"
            assert events(package_path) == [("S03", "A1.1", None, "1.5", "entry")]
            assert screen.table.current_code == "A1.2"
            assert "已评 1/36" in text_of(app, "#totals") and "得分 1.5" in text_of(app, "#totals")
            assert "已保存 A1.1 1.5（09:30:00）" in text_of(app, "#entry")
            posted = {id(m): m for m in saved if isinstance(m, TargetScreen.ScoreSaved)}  # the hook sees it bubble
            assert [m.change.after.indicator for m in posted.values()] == ["A1.1"]

    async def test_values_show_at_their_steps_precision(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await type_value(pilot, "2")  # step 0.5 → 2.0
            assert screen.table.cell_text("A1.1", "value") == "2.0"
            assert read_cell(package_path, "S03", "A1.1")[0] == "2.0"

    @pytest.mark.parametrize(
        ("typed", "reason"),
        [("9", "须为 0 至 2 之间、步长 0.5 的数值，收到 9"),
         ("0.3", "收到 0.3"),
         ("-1", "不能为负数")],
    )
    async def test_refuses_out_of_range_off_step_and_negative_inline(
        self, review_app: AppFactory, package_path: Path, typed: str, reason: str
    ) -> None:
        refused: list[Message] = []
        app = review_app(package_path)
        async with app.run_test(size=SIZE, message_hook=refused.append) as pilot:
            screen = await open_first_target(pilot, app)
            await type_value(pilot, typed)
            assert reason in text_of(app, "#entry")
            assert screen.table.current_code == "A1.1"  # stays, with the typed text, for correction
            assert screen.entry.buffer == typed
            assert read_cell(package_path, "S03", "A1.1") == (None, "", "", 0)
            assert events(package_path) == []
            assert any(isinstance(m, TargetScreen.EntryRefused) for m in refused)
            await pilot.press("escape")  # cancels the typing, stays on the target
            assert screen.entry.buffer == "" and isinstance(app.screen, TargetScreen)

    async def test_backspace_corrects_before_confirming(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_first_target(pilot, app)
            await pilot.press("1", "7", "backspace", ".", "5", "enter")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] == "1.5"

    async def test_undo_restores_the_last_change_and_is_itself_audited(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await type_value(pilot, "1.5")
            await type_value(pilot, "2")
            await pilot.press("u")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.2")[0] is None
            assert screen.table.current_code == "A1.2"
            assert "已撤销：A1.2 得分恢复为 空" in text_of(app, "#entry")
            await pilot.press("u")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] is None
            assert "得分 —   等级 —" in text_of(app, "#totals")  # nothing scored: no total, no grade
            assert [e[4] for e in events(package_path)] == ["entry", "entry", "undo", "undo"]
            assert events(package_path)[2] == ("S03", "A1.2", "2.0", None, "undo")

    async def test_undo_across_targets_goes_back_to_the_changed_target(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await type_value(pilot, "1")
            await pilot.press("right_square_bracket")
            assert screen.key == ("site", "S06")
            await pilot.press("u")
            await pilot.pause()
            assert screen.key == ("site", "S03") and screen.table.current_code == "A1.1"
            assert read_cell(package_path, "S03", "A1.1")[0] is None

    async def test_clear_with_delete_is_audited(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_first_target(pilot, app)
            await type_value(pilot, "1")
            await pilot.press("k", "delete")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[0] is None
            assert events(package_path)[-1] == ("S03", "A1.1", "1.0", None, "entry")

    async def test_note_and_evidence_are_saved_with_enter(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await pilot.press("m", *"ok", "ctrl+s")
            await pilot.press("l", *"https://x.cn/a", "enter")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[1:3] == ("ok", "https://x.cn/a")
            assert screen.focused is screen.table
            assert screen.table.cell_text("A1.1", "note") == "✎"
            await pilot.press("m", *"zzz", "escape")  # Esc abandons the edit and stays on the target
            await pilot.pause()
            assert isinstance(app.screen, TargetScreen)
            assert read_cell(package_path, "S03", "A1.1")[1] == "ok"
            assert screen.query_one("#note", TextArea).text == "ok"

    async def test_score_log_gets_a_line_per_committed_change(
        self, review_app: AppFactory, package_path: Path, tmp_path: Path
    ) -> None:
        log = tmp_path / "scores.log"
        app = review_app(package_path, score_log=log)
        async with app.run_test(size=SIZE) as pilot:
            await open_first_target(pilot, app)
            await type_value(pilot, "1.5")
            await type_value(pilot, "9")  # refused: not logged
            await pilot.press("u")
            await pilot.pause()
        lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        assert [(x["indicator"], x["value"], x["revision"]) for x in lines] == [("A1.1", "1.5", 1), ("A1.1", None, 2)]


class TestKindsOfIndicator:
    async def test_veto_yes_fails_the_target_and_no_counts_as_scored(
        self, review_app: AppFactory, check_package: Path
    ) -> None:
        app = review_app(check_package)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            assert screen.table.current_code == "V1"
            await pilot.press("n")  # on a veto, n answers 否 (it does not go to the next target)
            await pilot.press("y")
            await pilot.pause()
            assert screen.key[1] == app.queue.order[0][1]
            assert read_cell(check_package, screen.key[1], "V1")[0] == "0"
            assert read_cell(check_package, screen.key[1], "V2")[0] == "1"
            assert "否决：不合格" in text_of(app, "#totals")
            assert screen.table.cell_text("V2", "state") == "✗"

    async def test_deduction_is_entered_as_points_deducted(self, review_app: AppFactory, check_package: Path) -> None:
        app = review_app(check_package)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            for _ in range(6):
                await pilot.press("n")  # six vetoes answered 否
            assert screen.table.current_code == "D1.1"
            await type_value(pilot, "2")
            assert screen.table.cell_text("D1.1", "value") == "扣2"
            assert read_cell(check_package, screen.key[1], "D1.1")[0] == "2"
            assert "得分 3.0" in text_of(app, "#totals")  # D1.1's 5 points less 2; unscored leaves earn nothing yet

    async def test_not_applicable_is_distinct_from_zero_and_only_where_allowed(
        self, review_app: AppFactory, check_package: Path
    ) -> None:
        app = review_app(check_package)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            screen.table.move_to("D1.1")
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
            assert "不允许填“不适用”" in text_of(app, "#entry")
            assert read_cell(check_package, screen.key[1], "D1.1")[0] is None
            screen.table.move_to("D2.1")
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
            assert read_cell(check_package, screen.key[1], "D2.1")[0] == "NA"
            assert screen.table.cell_text("D2.1", "value") == "不适用"
            assert screen.table.cell_text("D2.1", "state") == "⊘"
            await type_value(pilot, "0")  # D2.2: zero is a value, not N/A
            assert read_cell(check_package, screen.key[1], "D2.2")[0] == "0"


class TestNavigation:
    async def test_j_k_and_arrows_move_between_leaves_skipping_groups(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await pilot.press("j", "j")
            assert screen.table.current_code == "A2.1"  # passed over the group row A2
            await pilot.press("down")
            assert screen.table.current_code == "A2.2"
            await pilot.press("k", "up", "up")
            assert screen.table.current_code == "A1.1"
            await pilot.press("up")  # the first leaf stays put rather than landing on a group
            assert screen.table.current_code == "A1.1"
            assert "A1.1 领导机制" in str(screen.query_one("#detail-body").render())

    async def test_brackets_follow_the_queue_order(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await pilot.press("right_square_bracket", "right_square_bracket")
            assert screen.key == ("site", "S08")
            assert "黑龙江省" in text_of(app, "#target-header") and "第 3/41 个" in text_of(app, "#target-header")
            await pilot.press("left_square_bracket")
            assert screen.key == ("site", "S06")
            await pilot.press("left_square_bracket", "left_square_bracket")
            assert screen.key == ("site", "S03")  # stays on the first, with a notice

    async def test_a_case_header_shows_government_area_and_summary(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("t", "t", "enter")  # cases only
            await pilot.pause()
            header = text_of(app, "#target-header")
            assert "C005" in header and "申报单位" in header and "领域" in header
            assert target_screen(app).key == ("case", "C005")

    async def test_keymap_from_config_remaps_a_binding(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path, keymap={"next_target": "ctrl+right"})
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await pilot.press("right_square_bracket")
            assert screen.key == ("site", "S03")
            await pilot.press("ctrl+right")
            assert screen.key == ("site", "S06")


class TestSearch:
    async def wait_results(self, pilot: Pilot[None], app: ReviewApp) -> SearchScreen:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        return app.screen

    @pytest.mark.parametrize("query", ["shenzhen", "gdsz", "深圳", "S64"])
    async def test_slash_finds_a_site_by_pinyin_initials_chinese_or_id(
        self, review_app: AppFactory, package_path: Path, query: str
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("slash", *query)
            screen = await self.wait_results(pilot, app)
            assert screen.hits[0].entry.name == "广东省深圳市"
            await pilot.press("enter")
            await pilot.pause()
            assert target_screen(app).key == ("site", "S64")

    async def test_an_indicator_hit_moves_within_the_open_target(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_target(pilot, app)
            await pilot.press("slash", *"hdjl")
            await self.wait_results(pilot, app)
            await pilot.press("enter")
            await pilot.pause()
            assert app.screen is screen and screen.table.current_code == "C4.3"

    async def test_no_match_says_so_and_offers_the_nearest(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("slash", *"zzzzqq")
            screen = await self.wait_results(pilot, app)
            assert screen.hits == []
            assert "没有与「zzzzqq」匹配的结果" in str(screen.query_one("#search-status", Static).render())
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen)

    async def test_command_palette_jumps_to_a_target(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("ctrl+p", *"shenzhen")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause()
            assert target_screen(app).key == ("site", "S64")


    async def test_command_palette_runs_app_actions(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("ctrl+p", *"按键一览")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)


class TestLanguageAndHelp:
    async def test_english_ui(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path, lang="en")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "41 targets: 41 to do" in text_of(app, "#queue-summary")
            table = app.screen.query_one(QueueTable)
            assert table.get_row_at(0)[0] == "site" and str(table.get_row_at(0)[5]) == "to do"
            await open_first_target(pilot, app)
            await type_value(pilot, "9")
            assert "must be 0–2 in steps of 0.5" in text_of(app, "#entry")
            descriptions = {b.binding.description for b in app.screen.active_bindings.values()}
            assert {"Next target", "Undo", "Quit"} <= descriptions

    async def test_help_lists_every_binding_with_its_id(self, review_app: AppFactory, package_path: Path) -> None:
        app = review_app(package_path, keymap={"undo": "ctrl+z"})
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            console = Console(width=100, record=True, file=io.StringIO())
            console.print(app.screen.render_tables())
            shown = console.export_text()
            for binding_id in ("quit", "help", "search", "export", "queue.open", "queue.sort", "next_indicator",
                               "next_target", "previous_target", "not_applicable", "undo", "redo", "edit_note",
                               "edit_evidence", "back", "clear_value", "command_palette", "veto_yes", "veto_no",
                               "take_past", "next_unscored", "toggle_detail", "save_note"):
                assert binding_id in shown
            assert "^z" in shown  # the remapped key is the one listed
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen)


class TestExport:
    async def test_export_refusal_is_shown_in_the_modal(self, review_app: AppFactory, package_path: Path) -> None:
        from workbench.tui.screens.export import ExportScreen

        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_export(pilot, app)
            assert isinstance(app.screen, ExportScreen)
            await pilot.press("enter")  # the demo package was issued before a key was registered
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = str(app.screen.query_one("#export-status", Static).render())
            assert "导出被拒绝" in status and "公钥" in status
            assert not (package_path.parent / "R01-2022.xlsx").exists()


    async def test_export_signs_the_package_with_the_registered_key(
        self, review_app: AppFactory, round_db: Path, tmp_path: Path
    ) -> None:
        from workbench.setup.package import make_package
        from workbench.signed.keyring import add_key
        from workbench.signed.keys import (
            generate_secret_key,
            pub_path_for,
            write_secret_key,
        )
        from workbench.signed.verify import verify_export
        from workbench.tui.screens.export import ExportScreen

        key = tmp_path / "R01.key"
        write_secret_key(key, generate_secret_key(), "correct horse", scrypt_n=2**10)
        add_key(round_db, "R01", pub_path_for(key).read_text(encoding="utf-8"))
        package = make_package(round_db, "R01", tmp_path / "R01.wbk").path
        app = review_app(package)
        async with app.run_test(size=SIZE) as pilot:
            await open_export(pilot, app)
            screen = app.screen
            assert isinstance(screen, ExportScreen)
            screen.query_one("#export-key", Input).value = str(key)
            screen.query_one("#export-passphrase", Input).value = "correct horse"
            await pilot.press("tab", "tab", "tab", "space")  # allow an incomplete worksheet
            await pilot.click("#export-run")
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = str(screen.query_one("#export-status", Static).render())
            assert "已导出" in status, status
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, QueueScreen)
        verified = verify_export(tmp_path / "R01-2022.xlsx", round_db)
        assert verified.reviewer_id == "R01" and verified.seq == 1


class TestRefusals:
    def test_a_round_database_is_refused_before_any_screen(self, round_db: Path) -> None:
        with pytest.raises(NotAPackage, match="评估轮次数据库而非评审包"):
            run_review(round_db, None)

    def test_a_missing_path_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(NotFound):
            run_review(tmp_path / "nope.wbk", None)

    def test_a_strangers_sqlite_file_is_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        stranger = tmp_path / "other.db"
        with sqlite3.connect(stranger) as conn:
            conn.execute("CREATE TABLE t (x)")
        assert main([str(stranger)]) == 1
        assert "不是工作台数据库" in capsys.readouterr().err

    async def test_an_edited_package_shows_the_target_as_having_problems(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        with sqlite3.connect(package_path) as conn:
            conn.execute("UPDATE scores SET value = '7' WHERE target_id = 'S06' AND indicator = 'A1.1'")
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, QueueScreen)
            row = screen.query_one(QueueTable).get_row_at(1)
            assert row[1] == "S06" and str(row[5]) == "有问题"
            assert screen.rows[1].status is Status.PROBLEM


class TestExportOverwrite:
    async def test_exporting_over_an_existing_file_asks_first(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        from workbench.tui.screens.export import ConfirmOverwrite, ExportScreen

        existing = package_path.parent / "R01-2022.xlsx"
        existing.write_bytes(b"last week's export")
        app = review_app(package_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_export(pilot, app)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmOverwrite)
            assert "已存在" in str(app.screen.query_one("#overwrite-question", Static).render())
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, ExportScreen)
            assert "保持不变" in str(app.screen.query_one("#export-status", Static).render())
            assert existing.read_bytes() == b"last week's export"
            await pilot.press("enter", "y")  # now replace it: the export runs (and is refused: no key here)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, ExportScreen)
            assert "导出被拒绝" in str(app.screen.query_one("#export-status", Static).render())
