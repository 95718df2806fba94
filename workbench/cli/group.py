"""The `workbench` group, assembled from the command modules (main.py holds the console entry point).

A command module is imported only when one of its commands runs (or when help lists them all): a lookup
loads click, the lookup module and the core it calls, not the set-up, signing or TUI commands' modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import click

from workbench.cli.base import WorkbenchGroup

# Every command module, in the order `workbench --help` has always assembled them.
MODULES = ("workbench.cli.setup", "workbench.cli.reviewer", "workbench.cli.coordinator", "workbench.cli.publish",
           "workbench.cli.appeals", "workbench.cli.lookup", "workbench.cli.shell")

# Where each command lives, so that running one imports its module alone. A name missing here (a command
# added to a module's COMMANDS but not listed) still works: it is found by importing every module.
HOME = {
    **dict.fromkeys(("init", "assign", "import-results", "package", "demo"), "workbench.cli.setup"),
    **dict.fromkeys(("keygen", "review", "export", "import-scores"), "workbench.cli.reviewer"),
    **dict.fromkeys(("keys", "verify", "merge", "status", "report", "disputes", "calibration"),
                    "workbench.cli.coordinator"),
    **dict.fromkeys(("publish", "audit"), "workbench.cli.publish"),
    "appeals": "workbench.cli.appeals",
    **dict.fromkeys(("scores", "sites", "cases", "indicators"), "workbench.cli.lookup"),
    "completion": "workbench.cli.shell",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name, each module's imported the first time one of its commands is asked for."""

    def __init__(self, modules: tuple[str, ...], home: dict[str, str]) -> None:
        self._modules = modules
        self._home = home
        self._loaded: dict[str, dict[str, click.Command]] = {}
        self._added: dict[str, click.Command] = {}

    def _load(self, module: str) -> dict[str, click.Command]:
        commands = self._loaded.get(module)
        if commands is None:
            found = importlib.import_module(module).COMMANDS
            commands = self._loaded[module] = {c.name: c for c in found if c.name is not None}
        return commands

    def _all(self) -> dict[str, click.Command]:
        merged: dict[str, click.Command] = {}
        for module in self._modules:
            merged.update(self._load(module))
        return {**merged, **self._added}

    def __getitem__(self, name: str) -> click.Command:
        if name in self._added:
            return self._added[name]
        home = self._home.get(name)
        if home is not None and name in (commands := self._load(home)):
            return commands[name]
        return self._all()[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._added[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("the workbench's commands are fixed by their modules")

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


@click.group(cls=WorkbenchGroup, commands=LazyCommands(MODULES, HOME),
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workbench")
def cli() -> None:
    """评审工作台 — grade government websites and practice cases offline, sign, merge, consolidate.

    Run `workbench demo` to see it on a demo round.
    """
