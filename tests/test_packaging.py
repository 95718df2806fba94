"""What a non-editable install gets: the wheel carries the demo fixtures and the app's stylesheet."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_demo_fixtures_and_the_stylesheet(tmp_path: Path) -> None:
    # Build from the committed files alone, as a fresh clone would: no egg-info or build/ of this checkout.
    source = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("workbench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    fixtures = {p.relative_to(ROOT).as_posix() for p in (ROOT / "workbench" / "fixtures").rglob("*.csv")}
    assert fixtures and fixtures <= names, sorted(fixtures - names)
    assert "workbench/tui/app.tcss" in names
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)
