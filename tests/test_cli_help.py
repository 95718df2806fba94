"""Every command and subcommand of `workbench` explains itself: help text with an example, and --help exits 0."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from workbench.cli.main import cli


def every_command(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in sorted(group.commands.items()):
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += every_command(command, (*path, name))
    return found


COMMANDS = every_command(cli)


def test_the_walk_finds_commands_and_subcommands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"scores", "sites", "review", "merge", "keys", "keys add", "keys list", "keys revoke"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_command_has_help_with_an_example(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help and "Example" in command.help, f"workbench {' '.join(path)} has no example in its help"


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=[" ".join(path) for path, _ in COMMANDS])
def test_help_exits_0_and_shows_the_example(path: tuple[str, ...], flag: str) -> None:
    result = CliRunner().invoke(cli, [*path, flag], prog_name="workbench")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: workbench {' '.join(path)} ")
    assert "Example:\n    workbench " in result.output
