"""The `workbench` command: the group assembled from the command modules, and the console entry point."""

from __future__ import annotations

import io
import sys

import click

from workbench.cli import coordinator, lookup, reviewer, setup
from workbench.cli.base import WorkbenchGroup


@click.group(cls=WorkbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workbench")
def cli() -> None:
    """评审工作台 — grade government websites and practice cases offline, sign, merge, consolidate.

    Run `workbench demo` to see it on a demo round.
    """


for command in (*setup.COMMANDS, *reviewer.COMMANDS, *coordinator.COMMANDS, *lookup.COMMANDS):
    cli.add_command(command)


def main() -> None:
    # A file name that is not UTF-8 (kept by Python as surrogates) must never crash the output that echoes
    # it: such bytes print escaped. The core shows names through display_name, GBK-decoded where it can.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    cli(prog_name="workbench")
