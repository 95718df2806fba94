"""The core never imports the shells: every core module, imported in a fresh interpreter, leaves Textual, Rich and
click unloaded; and a lookup (`workbench scores`) loads none of the heavy libraries it does not need."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import workbench

# The shells: the TUI package is the only one allowed Textual; the CLI modules import it lazily for `review`.
SHELLS = ("workbench.tui", "workbench.cli", "workbench.__main__")


def core_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.")]
    return sorted(n for n in names if not any(n == s or n.startswith(s + ".") or n.startswith(s + "_")
                                             for s in SHELLS))


def test_there_are_core_modules_to_check() -> None:
    expected = {"workbench.store.db", "workbench.scoring.indicators", "workbench.review", "workbench.search.index"}
    assert expected <= set(core_modules())


def loaded_after(script: str, watched: tuple[str, ...]) -> list[str]:
    """Which of the watched top-level packages a fresh interpreter holds after running script."""
    probe = script + f"\nprint(sorted({{m.partition('.')[0] for m in sys.modules}} & {set(watched)!r}))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_no_core_module_imports_a_shell() -> None:
    script = f"import importlib, sys\nfor name in {core_modules()!r}:\n    importlib.import_module(name)"
    # click is not watched here: sqlite-utils (set-up and migrations) imports it itself. Our own modules'
    # imports of click are held by the import-linter contract instead (scripts/check).
    assert loaded_after(script, ("textual", "rich")) == []


def test_a_lookup_loads_no_heavy_library(tmp_path: Path) -> None:
    from workbench.setup.demo import build_demo

    built = build_demo(tmp_path / "demo")
    script = (
        "import sys\nfrom workbench.cli.main import cli\n"
        f"cli(['scores', {str(built.directory / 'round-2022.db')!r}, '深圳', '--indicator', '互动交流'],"
        " standalone_mode=False)"
    )
    assert loaded_after(script, ("textual", "openpyxl", "pypinyin", "sqlite_utils")) == []
