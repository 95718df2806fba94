"""What every command module shares: the refusal a user sees (exit 1) and the options several commands take.

Only click and the core's exceptions are imported here: every command module imports this one at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from workbench.errors import WorkbenchError

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """A core refusal shown as its sentence, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"错误 / error: {self.message}", err=True)


def refuse(exc: WorkbenchError) -> Refused:
    return Refused(exc.message)


def output_options(fn: F) -> F:
    return click.option(
        "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
        help="输出格式 / output format",
    )(fn)


def db_argument(fn: F) -> F:
    return click.argument("db", type=click.Path(dir_okay=False, path_type=Path))(fn)
