"""Look-up commands anyone may run on a round or a package: scores, and the site, case and indicator listings.

The fast path: nothing heavy is imported, even lazily (no Textual, openpyxl, pypinyin or sqlite-utils). The
commands' bodies are in quick.py, which also runs a plain lookup command line without click.
"""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import db_argument, output_options
from workbench.cli.quick import LISTINGS, Listing, show_listing, show_scores


def _echo(text: str, err: bool) -> None:
    click.echo(text, err=err)


@click.command()
@db_argument
@click.argument("query")
@click.option("--indicator", "-i", default=None, help="指标（名称、拼音或代码）/ indicator name, pinyin or code")
@click.option("--round", "round_id", default=None, help="只看某一轮次 / only this round")
@click.option("--reviewer", default=None, help="只看某位评审专家 / only this reviewer")
@click.option("--totals", is_flag=True, help="另列各轮次的总分、等级与排名 / also the target's total, grade and rank")
@output_options
def scores(db: Path, query: str, indicator: str | None, round_id: str | None, reviewer: str | None, totals: bool,
           fmt: str, bom: bool) -> None:
    """Look up past and current scores of a site or case.

    QUERY is fuzzy: Chinese name, pinyin (shenzhen), initials (gdsz), id or code. An unknown --round or
    --reviewer is refused, naming the valid ones. --totals adds the target's total, grade and rank in each
    round, as the stored consolidation gives them.

    \b
    Example:
      workbench scores round.db 深圳 --indicator 互动交流
      workbench scores round.db gdsz --round 2021 --format json
      workbench scores round.db 深圳 --totals
    """
    show_scores(db, query, indicator, round_id, reviewer, fmt, _echo, totals=totals, bom=bom)


def listing_command(kind: str, listing: Listing) -> click.Command:
    """The command listing every entry of KIND, or with QUERY those matching it, best match first."""

    @click.command(f"{kind}s", help=f"{listing.summary}\n\n\b\nExample:\n  {listing.example}")
    @db_argument
    @click.argument("query", required=False)
    @output_options
    def listing_cmd(db: Path, query: str | None, fmt: str, bom: bool) -> None:
        show_listing(kind, db, query, fmt, _echo, bom=bom)

    return listing_cmd


COMMANDS = (scores, *(listing_command(kind, listing) for kind, listing in LISTINGS.items()))
