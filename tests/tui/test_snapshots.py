"""What the reviewer sees, pinned as SVG snapshots at 120×40 (update with `pytest --snapshot-update`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from .tui_helpers import SIZE, AppFactory


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
