"""The core never imports Textual: every core module, imported in a fresh interpreter, leaves it unloaded."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import workbench

# The shells: the TUI package is the only one allowed Textual; the CLI modules import it lazily for `review`.
SHELLS = ("workbench.tui", "workbench.cli.main", "workbench.__main__")


def core_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.")]
    return sorted(n for n in names if not any(n == s or n.startswith(s + ".") or n.startswith(s + "_")
                                             for s in SHELLS))


def test_there_are_core_modules_to_check() -> None:
    assert {"workbench.store.db", "workbench.scoring.indicators", "workbench.review", "workbench.search.index"} <= set(core_modules())


def test_no_core_module_imports_textual() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
