"""Look-up commands anyone may run on a round or a package: scores, and the site, case and indicator listings.

The fast path: nothing heavy is imported, even lazily (no Textual, openpyxl, pypinyin or sqlite-utils).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from workbench.cli.base import db_argument, output_options
from workbench.model import TargetKind

if TYPE_CHECKING:
    from workbench.store.db import Store


@click.command()
@db_argument
@click.argument("query")
@click.option("--indicator", "-i", default=None, help="指标（名称、拼音或代码）/ indicator name, pinyin or code")
@click.option("--round", "round_id", default=None, help="只看某一轮次 / only this round")
@click.option("--reviewer", default=None, help="只看某位评审专家 / only this reviewer")
@output_options
def scores(db: Path, query: str, indicator: str | None, round_id: str | None, reviewer: str | None, fmt: str) -> None:
    """Look up past and current scores of a site or case.

    QUERY is fuzzy: Chinese name, pinyin (shenzhen), initials (gdsz), id or code.

    \b
    Example:
      workbench scores round.db 深圳 --indicator 互动交流
      workbench scores round.db gdsz --round 2021 --format json
    """
    from workbench.cli.output import render, terminal_text
    from workbench.search.lookup import SCORE_COLUMNS, SCORE_HEADERS, lookup_scores
    from workbench.store.db import Store

    store = Store.open(db)
    try:
        result = lookup_scores(store, query, indicator=indicator, round_id=round_id, reviewer=reviewer)
    finally:
        store.close()
    if fmt == "table":
        click.echo(terminal_text(f"{result.target.name}（{result.target.id}）"))
        if result.also:
            click.echo("  也匹配 / also matched: " + terminal_text("、".join(e.name for e in result.also)), err=True)
    if not result.rows:
        click.echo("（没有评分记录 / no scores recorded）", err=True)
    click.echo(render(SCORE_HEADERS["zh"], [r.cells() for r in result.rows], fmt, SCORE_COLUMNS))


@dataclass(frozen=True)
class Listing:
    """One kind of entry a listing command shows: its help, and its columns as headers and JSON keys."""

    summary: str
    example: str
    headers: tuple[str, ...]
    keys: tuple[str, ...]
    rows: Callable[[Store], Iterable[tuple[str, ...]]]  # every entry in the store's order, its id first


# The listing commands, one per kind of entry the search index holds; each is named for its kind in the plural.
LISTINGS = {
    TargetKind.SITE: Listing(
        "List the sites of a round or package, optionally matching QUERY.", "workbench sites round.db gd",
        ("编号", "名称", "地区", "层级", "网址"), ("id", "name", "region", "level", "url"),
        lambda store: ((s.id, s.name, s.region, s.level, s.url) for s in store.sites()),
    ),
    TargetKind.CASE: Listing(
        "List the practice cases, optionally matching QUERY.", "workbench cases round.db 惠企 --format csv",
        ("编号", "标题", "申报单位", "地区", "领域"), ("id", "title", "government", "region", "area"),
        lambda store: ((c.id, c.title, c.government, c.region, c.area) for c in store.cases()),
    ),
    "indicator": Listing(
        "List the indicator system, optionally matching QUERY.", "workbench indicators round.db hdjl",
        ("代码", "名称", "类型", "分值", "步长", "适用"), ("code", "name", "kind", "max", "step", "applies_to"),
        lambda store: ((i.code, i.name, i.kind.value, str(i.max_score), str(i.step), i.applies_to)
                       for i in store.indicators()),
    ),
}


def listing_command(kind: str, listing: Listing) -> click.Command:
    """The command listing every entry of KIND, or with QUERY those matching it, best match first."""

    @click.command(f"{kind}s", help=f"{listing.summary}\n\n\b\nExample:\n  {listing.example}")
    @db_argument
    @click.argument("query", required=False)
    @output_options
    def listing_cmd(db: Path, query: str | None, fmt: str) -> None:
        from workbench.cli.output import render
        from workbench.search.lookup import list_entries
        from workbench.store.db import Store

        store = Store.open(db)
        try:
            entries = list_entries(store, kind, query)
            by_id = {row[0]: row for row in listing.rows(store)}
        finally:
            store.close()
        rows = [by_id[e.id] for e in entries if e.id in by_id] if query else list(by_id.values())
        click.echo(render(listing.headers, rows, fmt, listing.keys))

    return listing_cmd


COMMANDS = (scores, *(listing_command(kind, listing) for kind, listing in LISTINGS.items()))
