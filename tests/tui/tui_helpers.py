"""Reading a package the way another process would, to check what the app committed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from workbench.tui.app import ReviewApp
from workbench.tui.screens.target import TargetScreen

SIZE = (120, 40)  # every Pilot test and snapshot runs at this terminal size

AppFactory = Callable[..., ReviewApp]
"""review_app(path, *, lang="zh", keymap=None, score_log=None) → a ReviewApp (see conftest)."""


def read_cell(path: Path, target_id: str, indicator: str) -> tuple[str | None, str, str, int]:
    """(value, note, evidence, revision) of one cell, read on a fresh connection as another process would."""
    conn = sqlite3.connect(path)  # not Store.open: it reads the header through a second descriptor
    try:
        row = conn.execute(
            "SELECT value, note, evidence, revision FROM scores WHERE target_id = ? AND indicator = ?",
            (target_id, indicator),
        ).fetchone()
        return (row[0], row[1], row[2], row[3])
    finally:
        conn.close()


def events(path: Path) -> list[tuple[str, str, str | None, str | None, str]]:
    """(target_id, indicator, old, new, reason) of every audit event, oldest first."""
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(
            "SELECT target_id, indicator, old_value, new_value, reason FROM score_events ORDER BY id")]
    finally:
        conn.close()


async def open_first(pilot: Pilot[None], app: ReviewApp) -> TargetScreen:
    """Enter on the queue's first row: its scoring screen."""
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, TargetScreen), app.screen
    return app.screen

