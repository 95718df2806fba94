"""Fixtures for driving the reviewer app: packages of both demo rounds, and an app factory with pinned
time, language, config and keymap, so that what a test sees does not depend on the machine."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workbench.store.db import Store
from workbench.tui.app import ReviewApp, make_app, open_package

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "workbench" / "fixtures" / "check-2019"
FIXED_NOW = datetime(2022, 6, 1, 9, 30, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """UTC local time, no user config, no score log from the environment."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("WORKBENCH_SCORE_LOG", raising=False)
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="session")
def built_check_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reviewer R01's package of the 2019 website check (veto, deduct, bonus, N/A)."""
    from workbench.setup.demo import setup_files
    from workbench.setup.package import make_package
    from workbench.setup.round import init_round

    work = tmp_path_factory.mktemp("check")
    db = work / "check-2019.db"
    init_round(db, "2019-check", setup_files(CHECK), name="2019年政府网站抽查（演示）", year=2019)
    return make_package(db, "R01", work / "check-R01.wbk").path


@pytest.fixture
def check_package(built_check_package: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "check-R01.wbk"
    shutil.copyfile(built_check_package, dest)
    return dest


@pytest.fixture
def review_app() -> Iterator[Callable[..., ReviewApp]]:
    """make_app over a package path with a fixed clock; stores are closed after the test."""
    stores: list[Store] = []

    def factory(path: Path, *, lang: str = "zh", keymap: dict[str, str] | None = None,
                score_log: Path | None = None) -> ReviewApp:
        store = open_package(path)
        stores.append(store)
        return make_app(store, lang=lang, clock=lambda: FIXED_NOW, score_log=score_log, keymap=keymap or {})

    yield factory
    for store in stores:
        store.close()
