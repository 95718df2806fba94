"""The reviewer's own settings: language from --lang, the config file or the locale; keys from the keymap."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from workbench.errors import WorkbenchError
from workbench.tui.app import make_app, open_package
from workbench.tui.i18n import resolve_lang
from workbench.tui.screens.target import TargetScreen

from .tui_helpers import SIZE


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"LANG": "en_GB.UTF-8"}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "C.UTF-8"}, "zh"),
     ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"), ({}, "zh")],
)
def test_language_follows_the_locale_chinese_first(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert resolve_lang(None) == expected
    assert resolve_lang("zh") == "zh"  # --lang wins


async def test_config_file_sets_language_and_remaps_keys(
    package_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('lang = "en"\n\n[keymap]\nnext_target = "ctrl+right"\nundo = "ctrl+z"\n', encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    store = open_package(package_path)
    try:
        app = make_app(store, lang=None)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "41 targets" in str(app.screen.query_one("#queue-summary", Static).render())
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, TargetScreen)
            await pilot.press("ctrl+right")
            assert screen.key == ("site", "S06")
            assert "ctrl+right" in app.screen.active_bindings
    finally:
        store.close()


def test_a_config_that_cannot_be_read_is_refused_with_the_reason(
    package_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[keymap\nundo = ", encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    store = open_package(package_path)
    try:
        with pytest.raises(WorkbenchError, match="无法读取配置文件"):
            make_app(store, lang=None)
    finally:
        store.close()


def test_the_command_lines_own_settings_are_not_reported_as_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.tui.config import load_config

    config = tmp_path / "config.toml"
    config.write_text('lang = "zh"\n\n[cli]\ncsv_bom = true\n', encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    assert not load_config().warnings
    config.write_text('lang = "zh"\ncsv_bomm = true\n', encoding="utf-8")
    assert [w for w in load_config().warnings if "csv_bomm" in str(w)]
