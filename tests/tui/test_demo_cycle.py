"""The demo's whole cycle in one test: `workbench demo` → score in the app → export in the app (^e, the demo key,
the printed passphrase) → `workbench merge` → `workbench report`, as the demo prints them."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import Input, Static

from workbench.cli.main import cli
from workbench.setup.demo import DEMO_PASSPHRASE, _fill_plausibly, _history
from workbench.signed.export import KEY_FILE_ENV
from workbench.tui.screens.export import ExportScreen
from workbench.tui.screens.target import TargetScreen

from .tui_helpers import SIZE, AppFactory


async def test_demo_score_export_in_the_app_merge_and_report(
    review_app: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKBENCH_PASSPHRASE", raising=False)
    directory = tmp_path / "demo"
    runner = CliRunner()
    built = runner.invoke(cli, ["demo", "--dir", str(directory), "--simulate", "--no-open"])
    assert built.exit_code == 0, built.output
    db, package = directory / "round-2022.db", directory / "R01.wbk"
    # R01 has graded all but what the test types in the app (a whole package by keys would take minutes).
    _fill_plausibly(package, _history(db), random.Random(3))
    monkeypatch.setenv(KEY_FILE_ENV, str(directory / "keys" / "R01.key"))  # as `workbench demo` opens the app
    app = review_app(package)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TargetScreen) and screen.current is not None
        target, code = screen.key.id, screen.current.code
        await pilot.press("0", "enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+e")
        await pilot.pause()
        export = app.screen
        assert isinstance(export, ExportScreen)
        assert export.query_one("#export-out", Input).value == str(directory / "R01-2022.xlsx")
        export.query_one("#export-passphrase", Input).value = DEMO_PASSPHRASE  # the key field left empty
        await pilot.click("#export-run")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(export.query_one("#export-status", Static).render())
        assert "已导出" in status, status
    merged = runner.invoke(cli, ["merge", str(db), str(directory / "R01-2022.xlsx")])
    assert merged.exit_code == 0 and "1 merged, 0 rejected" in merged.output, merged.output
    conn = sqlite3.connect(db)
    value = conn.execute("SELECT value FROM scores WHERE reviewer_id = 'R01' AND target_id = ? AND indicator = ?",
                         (target, code)).fetchone()[0]
    conn.close()
    assert value is not None and float(value) == 0  # the value typed in the app, signed and merged
    report = runner.invoke(cli, ["report", str(db), "-o", str(directory / "consolidated.xlsx")])
    assert report.exit_code == 0, report.output
    assert "已合并导出 9" in report.output and "未完成" not in report.output
