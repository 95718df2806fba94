"""The lookups' bodies, and the entry point's way to run a plain lookup command line without loading click.

`workbench scores` and the site, case and indicator listings print what the functions here print, whether click
parsed their command line (lookup.py) or `run_plain` did. A cold lookup is mostly start-up, and click alone
costs as much as the rest of it, so the console entry point hands a command line here first. It is taken
only when it is plainly one of these commands: its arguments, and its own options as `--name value`,
`--name=value` or `-i value`, each value one click accepts. Anything else — help, any other option, a value
that starts with `-`, an argument too many or too few, a database path click would refuse — goes to click,
which answers it as it always has. Nothing here imports click.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from workbench.errors import WorkbenchError
from workbench.model import TargetKind

if TYPE_CHECKING:
    from workbench.store.db import Store

FORMATS = ("table", "json", "csv")
Echo = Callable[[str, bool], None]
"""Prints one line of output: (text, to stderr)."""


class Listing(NamedTuple):
    """One kind of entry a listing command shows: its help, and its columns as headers and JSON keys."""

    summary: str
    example: str
    headers: tuple[str, ...]
    keys: tuple[str, ...]
    rows: Callable[[Store], Iterable[tuple[str, ...]]]  # every entry in the store's order, its id first
    sql: str = ""  # the rows of some ids ({ids}: their placeholders), the same columns; else `rows` is filtered

    def rows_of(self, store: Store, ids: Sequence[str]) -> Iterable[tuple[str, ...]]:
        """The rows of these entries (in any order): a query's matches, without reading every entry."""
        if not self.sql:
            wanted = set(ids)
            return (row for row in self.rows(store) if row[0] in wanted)
        return (tuple(r) for r in store.conn.execute(self.sql.format(ids=", ".join("?" for _ in ids)), tuple(ids)))


# The listing commands, one per kind of entry the search index holds; each is named for its kind in the plural.
LISTINGS = {
    TargetKind.SITE: Listing(
        "List the sites of a round or package, optionally matching QUERY.", "workbench sites round.db gd",
        ("编号", "名称", "地区", "层级", "网址"), ("id", "name", "region", "level", "url"),
        lambda store: ((s.id, s.name, s.region, s.level, s.url) for s in store.sites()),
        "SELECT id, name, region, level, url FROM sites WHERE id IN ({ids})",
    ),
    TargetKind.CASE: Listing(
        "List the practice cases, optionally matching QUERY.", "workbench cases round.db 惠企 --format csv",
        ("编号", "标题", "申报单位", "地区", "领域"), ("id", "title", "government", "region", "area"),
        lambda store: ((c.id, c.title, c.government, c.region, c.area) for c in store.cases()),
        "SELECT id, title, government, region, area FROM cases WHERE id IN ({ids})",
    ),
    "indicator": Listing(
        "List the indicator system, optionally matching QUERY.", "workbench indicators round.db hdjl",
        ("代码", "名称", "类型", "分值", "步长", "适用"), ("code", "name", "kind", "max", "step", "applies_to"),
        lambda store: ((i.code, i.name, i.kind.value, str(i.max_score), str(i.step), i.applies_to)
                       for i in store.indicators()),
    ),
}


def refusal_line(message: str) -> str:
    """How a core refusal is shown (exit code 1), by click's group and here alike."""
    from workbench.cli.output import terminal_text

    return f"错误 / error: {terminal_text(message, multiline=True)}"


def show_scores(
    db: Path, query: str, indicator: str | None, round_id: str | None, reviewer: str | None, fmt: str, echo: Echo,
) -> None:
    """`workbench scores`: the target's name, then its scores."""
    from workbench.cli.output import render, terminal_text
    from workbench.search.lookup import SCORE_COLUMNS, SCORE_HEADERS, lookup_scores
    from workbench.store.db import Store

    store = Store.open(db)
    try:
        result = lookup_scores(store, query, indicator=indicator, round_id=round_id, reviewer=reviewer)
    finally:
        store.close()
    if fmt == "table":
        echo(terminal_text(f"{result.target.name}（{result.target.id}）"), False)
        if result.also:
            echo("  也匹配 / also matched: " + terminal_text("、".join(e.name for e in result.also)), True)
    if not result.rows:
        echo("（没有评分记录 / no scores recorded）", True)
    echo(render(SCORE_HEADERS["zh"], [r.cells() for r in result.rows], fmt, SCORE_COLUMNS), False)


def show_listing(kind: str, db: Path, query: str | None, fmt: str, echo: Echo) -> None:
    """`workbench sites|cases|indicators`: every entry, or those matching QUERY, best match first."""
    from workbench.cli.output import render
    from workbench.search.lookup import list_entries
    from workbench.store.db import Store

    listing = LISTINGS[kind]
    store = Store.open(db)
    try:
        if query:
            entries = list_entries(store, kind, query)
            by_id = {row[0]: row for row in listing.rows_of(store, [e.id for e in entries])}
            rows = [by_id[e.id] for e in entries if e.id in by_id]
        else:
            rows = list(listing.rows(store))
    finally:
        store.close()
    echo(render(listing.headers, rows, fmt, listing.keys), False)


# Each command's options as `run_plain` takes them: spelling → parameter.
_SCORES_OPTIONS = {"--indicator": "indicator", "-i": "indicator", "--round": "round_id", "--reviewer": "reviewer",
                   "--format": "fmt"}
_LISTING_OPTIONS = {"--format": "fmt"}
_LISTING_KINDS = {f"{kind}s": kind for kind in LISTINGS}


def run_plain(argv: Sequence[str]) -> bool:
    """Run a plain lookup command line (see the module's docstring) as its command would; False, having done
    nothing, for any other command line."""
    parsed = _parse(argv)
    if parsed is None:
        return False
    name, args, values = parsed
    try:
        if name == "scores":
            show_scores(Path(args[0]), args[1], values.get("indicator"), values.get("round_id"),
                        values.get("reviewer"), values.get("fmt", "table"), _echo)
        else:
            show_listing(_LISTING_KINDS[name], Path(args[0]), args[1] if len(args) > 1 else None,
                         values.get("fmt", "table"), _echo)
    except WorkbenchError as exc:
        _echo(refusal_line(exc.message), True)
        raise SystemExit(1) from None
    except (EOFError, KeyboardInterrupt):
        _echo("\nAborted!", True)  # as click's standalone mode says it
        raise SystemExit(1) from None
    except BrokenPipeError:  # the reader went away (`| head`): quietly, as click does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None
    return True


def _parse(argv: Sequence[str]) -> tuple[str, list[str], dict[str, str]] | None:
    if not argv or any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):
        return None  # nothing to run, or a shell completing a command line: click's
    name, rest = argv[0], argv[1:]
    counts: tuple[int, ...]
    if name == "scores":
        options, counts = _SCORES_OPTIONS, (2,)
    elif name in _LISTING_KINDS:
        options, counts = _LISTING_OPTIONS, (1, 2)
    else:
        return None
    args: list[str] = []
    values: dict[str, str] = {}
    tokens = iter(rest)
    for token in tokens:
        if not token.startswith("-"):
            args.append(token)
            continue
        option, equals, value = token.partition("=")
        if option not in options or (equals and not option.startswith("--")):
            return None
        if not equals:
            following = next(tokens, None)
            if following is None or following.startswith("-"):
                return None
            value = following
        values[options[option]] = value
    if len(args) not in counts or values.get("fmt", "table") not in FORMATS:
        return None
    db = args[0]
    if os.path.exists(db) and (os.path.isdir(db) or not os.access(db, os.R_OK)):
        return None  # click.Path(dir_okay=False) refuses a directory, and a file it cannot read
    return name, args, values


def _echo(text: str, err: bool) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()
