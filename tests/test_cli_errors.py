"""A core refusal reaches the user once, the same way from every command: its sentence on stderr, exit code 1."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from workbench.cli.base import WorkbenchGroup
from workbench.cli.main import cli
from workbench.cli.output import render
from workbench.errors import NotFound


def invoke(group: click.Group, *args: str) -> Result:
    return CliRunner().invoke(group, list(args))


@pytest.fixture
def toy() -> click.Group:
    """A group of the workbench's class whose commands refuse at different moments."""

    @click.group(cls=WorkbenchGroup)
    def group() -> None:
        """Toy."""

    @group.command()
    def now() -> None:
        raise NotFound("没有这个 / no such thing")

    @group.command()
    def rows() -> None:
        def cells() -> Iterator[tuple[str]]:
            yield ("甲",)
            raise NotFound("第二行读不出 / the second row is unreadable")

        click.echo(render(("名称",), list(cells()), "table"))

    @group.group()
    def sub() -> None:
        """A subgroup made the usual way."""

    @sub.command()
    def deep() -> None:
        raise NotFound("子命令拒绝 / refused in a subcommand")

    @group.command()
    def bug() -> None:
        raise ValueError("a bug, not a refusal")

    return group


def test_a_refusal_is_its_sentence_on_stderr_and_exit_1(toy: click.Group) -> None:
    result = invoke(toy, "now")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "错误 / error: 没有这个 / no such thing\n")


def test_a_refusal_while_the_output_is_consumed_maps_the_same(toy: click.Group) -> None:
    result = invoke(toy, "rows")
    assert result.exit_code == 1
    assert result.stderr == "错误 / error: 第二行读不出 / the second row is unreadable\n"


def test_subgroups_share_the_class_and_map_the_same(toy: click.Group) -> None:
    assert isinstance(toy.commands["sub"], WorkbenchGroup)
    result = invoke(toy, "sub", "deep")
    assert (result.exit_code, result.stderr) == (1, "错误 / error: 子命令拒绝 / refused in a subcommand\n")


def test_a_bug_is_not_dressed_up_as_a_refusal(toy: click.Group) -> None:
    result = invoke(toy, "bug")
    assert isinstance(result.exception, ValueError) and "错误 / error" not in result.stderr


def test_every_group_of_the_workbench_has_the_class() -> None:
    assert isinstance(cli, WorkbenchGroup)
    assert all(isinstance(c, WorkbenchGroup) for c in cli.commands.values() if isinstance(c, click.Group))


@pytest.mark.parametrize("args", [["status", "{missing}"], ["keys", "list", "{missing}"], ["sites", "{missing}"],
                                  ["review", "{missing}"], ["merge", "{missing}", "{missing}"]])
def test_real_commands_refuse_a_missing_file_with_exit_1(tmp_path: Path, args: list[str]) -> None:
    missing = str(tmp_path / "missing.db")
    result = invoke(cli, *(a.format(missing=missing) for a in args))
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("错误 / error: ") and "找不到文件" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["sites"], ["frobnicate"], ["sites", "x.db", "--format", "xml"], ["keys", "add"]])
def test_usage_errors_keep_exit_2(args: list[str]) -> None:
    assert invoke(cli, *args).exit_code == 2


def test_the_installed_entry_point_refuses_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "workbench", "status", str(tmp_path / "missing.db")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("错误 / error: ") and "Traceback" not in done.stderr
