"""The `workbench` command: the group assembled from the command modules, and the console entry point."""

from __future__ import annotations

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
    cli(prog_name="workbench")
