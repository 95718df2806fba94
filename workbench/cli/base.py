"""What every command module shares: the group class that shows core refusals (exit 1), and the shared options.

Only click and the core's exceptions are imported here: every command module imports this one at start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from workbench.errors import WorkbenchError

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """A core refusal shown as its sentence, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        from workbench.cli.quick import refusal_line

        click.echo(refusal_line(self.message), err=True)


class WorkbenchGroup(click.Group):
    """The class of `workbench` and its subgroups: the one place a core refusal becomes exit code 1.

    Any WorkbenchError raised while a command runs (in the core, in parsing its arguments, or in a generator
    the output consumes) is shown as its sentence; a usage error keeps click's exit code 2.
    """

    group_class = type  # subgroups made with @group.group() are WorkbenchGroups too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            raise Refused(exc.message) from exc


def output_options(fn: F) -> F:
    return click.option(
        "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
        help="输出格式 / output format",
    )(fn)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback ``(done, total)`` drawing a bar on stderr while it is a terminal; None otherwise, so
    that a pipe or a log stays clean. The bar appears at the first call and is closed on leaving."""
    if not sys.stderr.isatty():
        yield None
        return
    bars: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr))
            bars[0].__enter__()
        bars[0].update(min(done, total) - bars[0].pos)

    try:
        yield update
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)


def db_argument(fn: F) -> F:
    return click.argument("db", type=click.Path(dir_okay=False, path_type=Path))(fn)
