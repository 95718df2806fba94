"""Shared fixtures: the demo set-up files, a built demo round (built once, copied per test)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import DEMO


@pytest.fixture(scope="session")
def built_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo 2022 round with its 2021 history, built once for the session (treat as read-only)."""
    from workbench.setup.demo import setup_files
    from workbench.setup.results import import_results
    from workbench.setup.round import init_round

    path = tmp_path_factory.mktemp("round") / "round-2022.db"
    init_round(path, "2022", setup_files(DEMO), name="2022年数字政府服务能力评估（演示）", year=2022)
    import_results(path, DEMO / "results-2021.csv", "2021")
    return path


@pytest.fixture
def round_db(built_round: Path, tmp_path: Path) -> Path:
    """A private copy of the demo round that a test may change."""
    dest = tmp_path / "round-2022.db"
    shutil.copyfile(built_round, dest)
    return dest


@pytest.fixture(scope="session")
def built_package(built_round: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.setup.package import make_package

    work = tmp_path_factory.mktemp("pkg")
    db = work / "round.db"
    shutil.copyfile(built_round, db)
    return make_package(db, "R01", work / "R01.wbk").path


@pytest.fixture
def package_path(built_package: Path, tmp_path: Path) -> Path:
    """A private copy of reviewer R01's demo package."""
    dest = tmp_path / "R01.wbk"
    shutil.copyfile(built_package, dest)
    return dest

