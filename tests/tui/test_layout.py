"""The app fits the terminal: at 80×24 the figures and the entry stay in sight and the detail pane comes over
the table on request; wide terminals show it beside the table with more columns; the footer lists what
applies to the current row."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import TextArea

from workbench.tui.app import ReviewApp
from workbench.tui.screens.target import TargetScreen
from workbench.tui.widgets.key_hints import KeyHints
from workbench.tui.widgets.queue_table import QueueTable

from .tui_helpers import AppFactory, open_first, read_cell

SMALL, WIDE = (80, 24), (200, 50)


def heading(screen: TargetScreen) -> str:
    return str(screen.query_one("#indicator-columns").render())


def footer(app: ReviewApp) -> list[tuple[str, str, bool]]:
    return app.screen.query_one(KeyHints).hints()


def shown_keys(app: ReviewApp) -> dict[str, str]:
    return {key: description for key, description, _ in footer(app)}


class TestSmallTerminal:
    async def test_at_80x24_the_figures_and_the_entry_stay_in_sight(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_first(pilot, app)
            for label in ("满分", "步长", "得分", "去年"):
                assert label in heading(screen)
            detail = screen.query_one("#detail")
            assert not detail.display  # the table has the whole width
            assert screen.table.region.right <= 80 and screen.table.size.width >= 78
            entry = screen.query_one("#entry")
            assert entry.region.y + entry.region.height <= 24 - len(screen.query_one(KeyHints).lines(80))
            assert entry.region.height >= 1 and entry.region.width == 80
            row = screen.table.cell_text("A1.1", "max"), screen.table.cell_text("A1.1", "step")
            assert row == ("2", "0.5")

    async def test_stepping_past_the_bottom_row_brings_the_cursor_to_the_middle(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        """The rows after the cursor come into sight half a table at a time (and the table is repainted whole
        once per half a table, not at every step)."""
        from workbench.tui.widgets.indicator_table import IndicatorTable

        app = review_app(package_path)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_first(pilot, app)
            table = screen.query_one(IndicatorTable)
            height = table.scrollable_content_region.height
            scrolls = []
            for _ in range(len(screen.leaves) - 1):
                top = table.scroll_offset.y
                await pilot.press("j")
                if table.scroll_offset.y > top:
                    scrolls.append(table._cursor - table.scroll_offset.y)
            assert scrolls and all(row == height // 2 for row in scrolls[:-1])  # the last may stop at the end
            assert len(scrolls) <= len(screen.leaves) // (height // 2) + 1

    async def test_d_brings_the_detail_over_the_table_and_esc_puts_it_away(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("d")
            await pilot.pause()
            detail = screen.query_one("#detail")
            assert detail.display and detail.styles.layer == "overlay"
            assert "A1.1 领导机制" in str(screen.query_one("#detail-body").render())
            await pilot.press("j")  # the pane follows the cursor
            await pilot.pause()
            assert "A1.2 主管机构" in str(screen.query_one("#detail-body").render())
            await pilot.press("escape")  # the pane first ...
            await pilot.pause()
            assert not detail.display and isinstance(app.screen, TargetScreen)
            await pilot.press("escape")  # ... then back to the queue
            await pilot.pause()
            assert not isinstance(app.screen, TargetScreen)

    async def test_m_opens_the_pane_for_the_note_and_closes_it_after(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_first(pilot, app)
            await pilot.press("m")
            await pilot.pause()
            assert screen.query_one("#detail").display and isinstance(screen.focused, TextArea)
            await pilot.press(*"ok", "ctrl+s")
            await pilot.pause()
            assert read_cell(package_path, "S03", "A1.1")[1] == "ok"
            assert not screen.query_one("#detail").display and screen.table.has_focus


class TestWideTerminal:
    async def test_a_wide_terminal_shows_the_detail_and_more_columns(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=WIDE) as pilot:
            screen = await open_first(pilot, app)
            assert screen.query_one("#detail").display
            assert "更新时间" in heading(screen) and "备注 / 佐证" in heading(screen)
            await pilot.press("m", *"首页无更新", "ctrl+s")
            await pilot.pause()
            assert screen.table.cell_text("A1.1", "remark") == "首页无更新"
            assert screen.table.cell_text("A1.1", "updated")  # the local time of the change
            await pilot.press("d")
            await pilot.pause()
            assert not screen.query_one("#detail").display  # hidden on request here too

    async def test_a_shorter_text_in_the_detail_leaves_no_line_of_the_longer_one(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        """The detail pane repaints only the lines the old or the new text takes: what the screen shows below a
        short text is blank, not what a longer one left there."""
        from rich.text import Text

        from workbench.tui.widgets.indicator_detail import DetailBody

        app = review_app(package_path)
        async with app.run_test(size=WIDE) as pilot:
            screen = await open_first(pilot, app)
            body = screen.query_one(DetailBody)
            region = body.content_region

            def shown() -> list[str]:
                strips = app.screen._compositor.render_strips()
                return [strips[y].crop(region.x, region.right).text.rstrip() for y in range(region.y, region.bottom)]

            body.show(Text("\n".join(f"第{n}行 长的说明" for n in range(12))))
            await pilot.pause()
            assert shown()[11] == "第11行 长的说明"
            body.show(Text("短的说明"))
            await pilot.pause()
            assert shown()[0] == "短的说明" and all(line == "" for line in shown()[1:])

    async def test_resizing_moves_the_pane_between_beside_and_over(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=WIDE) as pilot:
            screen = await open_first(pilot, app)
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert not screen.query_one("#detail").display and "更新时间" not in heading(screen)
            await pilot.resize_terminal(120, 40)
            await pilot.pause()
            assert screen.query_one("#detail").display


class TestFooter:
    async def test_a_veto_row_offers_y_and_n_and_no_target_key_on_n(
        self, review_app: AppFactory, check_package: Path
    ) -> None:
        app = review_app(check_package)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_first(pilot, app)
            assert screen.table.current_code == "V1"
            keys = shown_keys(app)
            assert keys["y"] == "是" and keys["n"] == "否"
            assert "下个对象" not in {d for k, d in keys.items() if k == "n"}
            screen.table.move_to("D1.1")
            await pilot.pause()
            keys = shown_keys(app)
            assert "y" not in keys and "n" not in keys  # not a veto: y / n mean nothing here
            assert keys["]"] == "下个对象"

    async def test_dimmed_bindings_follow_the_row(self, review_app: AppFactory, check_package: Path) -> None:
        app = review_app(check_package)
        async with app.run_test(size=SMALL) as pilot:
            screen = await open_first(pilot, app)
            screen.table.move_to("D1.1")  # N/A not allowed
            await pilot.pause()
            enabled = {key: on for key, _, on in footer(app)}
            assert enabled["x"] is False and enabled["u"] is False and enabled["^r"] is False
            screen.table.move_to("D2.1")  # N/A allowed
            await pilot.pause()
            assert {key: on for key, _, on in footer(app)}["x"] is True

    async def test_every_shown_binding_fits_on_the_footer_at_80_columns(
        self, review_app: AppFactory, package_path: Path
    ) -> None:
        app = review_app(package_path)
        async with app.run_test(size=SMALL) as pilot:
            await open_first(pilot, app)
            hints = app.screen.query_one(KeyHints)
            lines = hints.lines(80)
            assert all(line.cell_len <= 80 for line in lines)
            text = "".join(line.plain for line in lines)
            for key, description, _ in hints.hints():
                assert f" {key} {description} " in text
            assert hints.region.height == len(lines)


class TestWideQueue:
    async def test_a_wide_queue_shows_when_each_target_was_last_worked_on(
        self, review_app: AppFactory, package_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("workbench.store.db.utc_now", lambda: "2022-06-01T09:30:00Z")
        app = review_app(package_path)
        async with app.run_test(size=WIDE) as pilot:
            await open_first(pilot, app)
            await pilot.press("1", "enter", "escape")
            await pilot.pause()
            table = app.screen.query_one(QueueTable)
            labels = [str(c.label) for c in table.columns.values()]
            assert labels[-1] == "更新时间"
            assert str(table.get_row_at(0)[-1]) == "2022-06-01 09:30"  # local time (the tests run in UTC)
            assert str(table.get_row_at(1)[-1]) == ""  # never worked on
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            assert "更新时间" not in [str(c.label) for c in table.columns.values()]
            assert table.row_count == 41
