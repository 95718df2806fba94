"""What every command module shares: the group class that shows core refusals (exit 1), and the shared options.

Only click and the core's exceptions are imported here: every command module imports this one at start-up.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from click.exceptions import NoArgsIsHelpError

from workbench.errors import WorkbenchError

F = TypeVar("F", bound=Callable[..., Any])


class Refused(click.ClickException):
    """A core refusal shown as its sentence, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        from workbench.cli.quick import refusal_line

        click.echo(refusal_line(self.message), err=True)


# click's usage errors, each as the Chinese the rest of the workbench puts before its English.
_USAGE_ZH = (
    (re.compile(r"Missing option '(.+?)'\."), "缺少选项 {0}"),
    (re.compile(r"Missing argument '(.+?)'\."), "缺少参数 {0}"),
    (re.compile(r"Missing parameter: (.+)"), "缺少参数 {0}"),
    (re.compile(r"Missing command\."), "缺少命令"),
    (re.compile(r"No such option '(.+?)'\."), "没有选项 {0}"),
    (re.compile(r"No such option: (\S+)"), "没有选项 {0}"),
    (re.compile(r"No such command '(.+?)'\."), "没有命令 {0}"),
    (re.compile(r"Got unexpected extra arguments? \((.+)\)"), "多余的参数：{0}"),
    (re.compile(r"Option '(.+?)' requires an argument\."), "选项 {0} 需要一个值"),
    (re.compile(r"Option '(.+?)' requires (\d+) arguments\."), "选项 {0} 需要 {1} 个值"),
    (re.compile(r"Option '(.+?)' does not take a value\."), "选项 {0} 不带值"),
    (re.compile(r"Invalid value for (.+?): .* is not one of (.+)\."), "{0} 的值无效，应为以下之一：{1}"),
    (re.compile(r"Invalid value for (.+?): .* is not a valid integer( range)?\."), "{0} 须为整数"),
    (re.compile(r"Invalid value for (.+?): (File|Directory|Path) (.+?) is a directory\."), "{0}：{2} 是目录"),
    (re.compile(r"Invalid value for (.+?): (File|Directory|Path) (.+?) is a file\."), "{0}：{2} 是文件，不是目录"),
    (re.compile(r"Invalid value for (.+?): (File|Directory|Path) (.+?) does not exist\."), "{0}：{2} 不存在"),
    (re.compile(r"Invalid value for (.+?): .+"), "{0} 的值无效"),
)
_CJK = re.compile("[\u4e00-\u9fff]")


def bilingual_usage(message: str) -> str:
    """A click usage message as `中文 / English` (left as it is when it already carries Chinese)."""
    if _CJK.search(message):
        return message
    for pattern, zh in _USAGE_ZH:
        found = pattern.match(message)
        if found:
            return f"{zh.format(*found.groups())} / {message}"
    return f"命令行有误 / {message}"


class BilingualUsageError(click.UsageError):
    """A usage error shown in Chinese and English, as every refusal is (exit code 2, as click's)."""

    def show(self, file: Any = None) -> None:
        stream = file if file is not None else sys.stderr
        if self.ctx is not None:
            usage = self.ctx.get_usage()
            click.echo(usage.replace("Usage:", "用法 / Usage:", 1), file=stream)
            help_option = self.ctx.help_option_names[0] if self.ctx.help_option_names else "--help"
            click.echo(f"帮助 / help: {self.ctx.command_path} {help_option}\n", file=stream)
        click.echo(f"用法错误 / usage error: {self.message}", file=stream)


def _bilingual(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, BilingualUsageError | NoArgsIsHelpError):  # the latter shows the help, not an error
        return exc
    return BilingualUsageError(bilingual_usage(exc.format_message()), exc.ctx)


class WorkbenchGroup(click.Group):
    """The class of `workbench` and its subgroups: the one place a core refusal becomes exit code 1, and a usage
    error (exit code 2) is shown in Chinese and English.

    Any WorkbenchError raised while a command runs (in the core, in parsing its arguments, or in a generator
    the output consumes) is shown as its sentence; a usage error keeps click's exit code 2.
    """

    group_class = type  # subgroups made with @group.group() are WorkbenchGroups too

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _bilingual(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WorkbenchError as exc:
            raise Refused(exc.message) from exc
        except click.UsageError as exc:
            raise _bilingual(exc) from exc


def output_options(fn: F) -> F:
    """--format table|json|csv, and --bom: a CSV that starts with a UTF-8 BOM, so that Excel on Windows reads
    its Chinese (also `csv_bom = true` under [cli] in the config file). A command with a `bom` parameter writes
    the BOM itself, with its output (the lookups: a refusal then leaves stdout empty); for the others it is
    written before the command runs."""
    if "bom" in inspect.signature(fn).parameters:
        command = fn
    else:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            from workbench.cli.quick import csv_bom

            if csv_bom(kwargs.get("fmt", "table"), kwargs.pop("bom")):
                click.echo("\ufeff", nl=False)
            return fn(*args, **kwargs)

    command = click.option("--bom", is_flag=True, help="CSV 以 UTF-8 BOM 开头，供 Windows 版 Excel 正确显示中文 / "
                                                       "start a CSV with a UTF-8 BOM for Excel on Windows")(command)
    return cast(F, click.option(
        "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
        help="输出格式 / output format",
    )(cast(Any, command)))


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
