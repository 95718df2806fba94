"""What the reviewer sees, pinned as SVG snapshots at 120×40 (update with `pytest --snapshot-update`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from .tui_helpers import SIZE, AppFactory


@pytest.fixture(autouse=True)
def pinned_store_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every change is stored at the same moment, so the update times shown are the same in every run."""
    monkeypatch.setattr("workbench.store.db.utc_now", lambda: "2022-06-01T09:30:00Z")


async def settled(pilot: Pilot[Any]) -> None:
    """Let the background load of the search index finish so the footer and results are stable."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


class TestSnapshots:
    def test_queue(self, snap_compare: Any, review_app: AppFactory, package_path: Path) -> None:
        assert snap_compare(review_app(package_path), terminal_size=SIZE, run_before=settled)

    def test_scoring_a_site_with_a_refused_value(
        self, snap_compare: Any, review_app: AppFactory, package_path: Path
    ) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("enter", "1", ".", "5", "enter", "2", "enter", "9", "enter")
            await pilot.pause()

        assert snap_compare(review_app(package_path), terminal_size=SIZE, run_before=run_before)

    def test_scoring_a_website_check_with_veto_deduction_and_na(
        self, snap_compare: Any, review_app: AppFactory, check_package: Path
    ) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("enter", *"nnnnnn", "2", "enter", "j", "j", "j", "j", "x", "x")
            await pilot.pause()

        assert snap_compare(review_app(check_package), terminal_size=SIZE, run_before=run_before)

    def test_search_as_you_type(self, snap_compare: Any, review_app: AppFactory, package_path: Path) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("slash", *"gdsz")
            await settled(pilot)

        assert snap_compare(review_app(package_path), terminal_size=SIZE, run_before=run_before)

    def test_help(self, snap_compare: Any, review_app: AppFactory, package_path: Path) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("question_mark")
            await pilot.pause()

        assert snap_compare(review_app(package_path), terminal_size=SIZE, run_before=run_before)

    def test_english_case(self, snap_compare: Any, review_app: AppFactory, package_path: Path) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("t", "t", "enter", "3", "enter")
            await pilot.pause()

        assert snap_compare(review_app(package_path, lang="en"), terminal_size=SIZE, run_before=run_before)


SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x50": (200, 50)}


class TestTerminalSizes:
    """The same screens at a small, the default and a wide terminal: at 80×24 the score, 满分 and 步长 columns
    and the entry line stay in sight; wide terminals show the detail pane and the update time and note columns."""

    @pytest.mark.parametrize("size", SIZES)
    def test_scoring_screen(self, snap_compare: Any, review_app: AppFactory, package_path: Path, size: str) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("enter", "1", ".", "5", "enter", "m", *"见附件", "ctrl+s", "4", "4", "enter")
            await pilot.pause()

        assert snap_compare(review_app(package_path), terminal_size=SIZES[size], run_before=run_before)

    @pytest.mark.parametrize("size", SIZES)
    def test_queue(self, snap_compare: Any, review_app: AppFactory, package_path: Path, size: str) -> None:
        assert snap_compare(review_app(package_path), terminal_size=SIZES[size], run_before=settled)

    def test_detail_over_the_table_at_80x24(
        self, snap_compare: Any, review_app: AppFactory, package_path: Path
    ) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("enter", "d")
            await pilot.pause()

        assert snap_compare(review_app(package_path), terminal_size=SIZES["80x24"], run_before=run_before)

    def test_veto_row_footer_at_80x24(self, snap_compare: Any, review_app: AppFactory, check_package: Path) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("enter")
            await pilot.pause()

        assert snap_compare(review_app(check_package), terminal_size=SIZES["80x24"], run_before=run_before)

    def test_english_scoring_at_80x24(self, snap_compare: Any, review_app: AppFactory, package_path: Path) -> None:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press("enter", "9", "enter")
            await pilot.pause()

        assert snap_compare(review_app(package_path, lang="en"), terminal_size=SIZES["80x24"], run_before=run_before)

    @pytest.mark.parametrize("key", ["question_mark", "ctrl+e", "slash"])
    def test_dialogs_fit_80x24(
        self, snap_compare: Any, review_app: AppFactory, package_path: Path, key: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("WORKBENCH_KEY", "/home/reviewer/.config/workbench/workbench.key")

        async def run_before(pilot: Pilot[Any]) -> None:
            await settled(pilot)
            await pilot.press(key)
            if key == "slash":
                await pilot.press(*"hdjl")
            await settled(pilot)
            if key == "ctrl+e":  # the default output sits beside the package, in a temporary directory
                pilot.app.screen.query_one("#export-out", Input).value = "R01-2022.xlsx"
                await pilot.pause()

        assert snap_compare(review_app(package_path), terminal_size=SIZES["80x24"], run_before=run_before)
