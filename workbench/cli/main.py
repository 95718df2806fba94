"""The console entry point of `workbench`, and `cli`, the click group (group.py) that every test invokes.

A plain lookup command line (quick.py) runs without importing click at all: for a cold `workbench scores`
click costs as much as the rest of the lookup. Every other command line goes to the click group.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click


def main() -> None:
    # A file name that is not UTF-8 (kept by Python as surrogates) must never crash the output that echoes
    # it: such bytes print escaped. The core shows names through display_name, GBK-decoded where it can.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    from workbench.cli.quick import run_plain

    if not run_plain(sys.argv[1:]):
        from workbench.cli.group import cli

        cli(prog_name="workbench")


def __getattr__(name: str) -> click.Group:
    # `from workbench.cli.main import cli` loads click and the group only when asked for.
    if name == "cli":
        from workbench.cli.group import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
