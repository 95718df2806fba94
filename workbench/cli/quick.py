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
from collections.abc import Callable, Iterable, Iterator, Sequence
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
    document: Callable[[tuple[str, ...]], dict[str, object]] | None = None  # a row as JSON, if not by `keys`

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
        "List the indicator system, optionally matching QUERY: groups (分组, their points the sum of their leaves) "
        "apart from the leaves that are scored, with their kind.", "workbench indicators round.db hdjl",
        ("代码", "名称", "类型", "分值", "步长", "适用", "上级"),
        ("code", "name", "kind", "max", "step", "applies_to", "parent"),
        lambda store: _indicator_rows(store),
        document=lambda row: _indicator_document(row),
    ),
}

# The kinds and scopes as the (Chinese-first) command line shows them; JSON keeps the codes.
KIND_LABELS = {"score": "评分", "veto": "否决", "deduct": "扣分", "bonus": "加分", "group": "分组"}
APPLIES_LABELS = {"site": "网站", "case": "案例", "both": "全部"}
_LABEL_KINDS = {label: kind for kind, label in KIND_LABELS.items()}
_LABEL_APPLIES = {label: code for code, label in APPLIES_LABELS.items()}


def _indicator_rows(store: Store) -> Iterator[tuple[str, ...]]:
    """Each indicator in order: a group (a parent) says 分组 and has no step; a leaf its kind."""
    indicators = store.indicators()
    parents = {i.parent for i in indicators if i.parent}
    for i in indicators:
        group = i.code in parents
        yield (i.code, i.name, KIND_LABELS["group" if group else i.kind.value], str(i.max_score),
               "" if group else str(i.step), APPLIES_LABELS.get(i.applies_to, i.applies_to), i.parent or "")


def _indicator_document(row: tuple[str, ...]) -> dict[str, object]:
    from decimal import Decimal

    code, name, kind, max_score, step, applies, parent = row
    return {"code": code, "name": name, "kind": _LABEL_KINDS.get(kind, kind), "leaf": kind != KIND_LABELS["group"],
            "max": Decimal(max_score), "step": Decimal(step) if step else None,
            "applies_to": _LABEL_APPLIES.get(applies, applies), "parent": parent or None}


def refusal_line(message: str) -> str:
    """How a core refusal is shown (exit code 1), by click's group and here alike."""
    from workbench.cli.output import terminal_text

    return f"错误 / error: {terminal_text(message, multiline=True)}"


def csv_bom(fmt: str, asked: bool) -> bool:
    """Whether a CSV output starts with a UTF-8 BOM: --bom, or `csv_bom = true` under [cli] in the config."""
    if fmt != "csv":
        return False
    if asked:
        return True
    from workbench.tui.config import config_path  # the one config file; its module imports no Textual

    path = config_path()
    if not path.is_file():
        return False
    import tomllib

    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("cli", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WorkbenchError(f"无法读取配置文件 {path} / cannot read the config file: {exc}") from None
    value = section.get("csv_bom", False) if isinstance(section, dict) else False
    if not isinstance(value, bool):
        raise WorkbenchError(f"{path}: [cli] csv_bom 须为 true 或 false / must be true or false, not {value!r}")
    return value


TOTALS_HEADERS = ("轮次", "总分", "等级", "排名", "排名分组")
TOTALS_KEYS = ("round", "total", "grade", "rank", "rank_group")


def show_scores(
    db: Path, query: str, indicator: str | None, round_id: str | None, reviewer: str | None, fmt: str, echo: Echo,
    *, totals: bool = False, bom: bool = False,
) -> None:
    """`workbench scores`: the target's name, then its scores; with ``totals`` its total, grade and rank in each
    round, as the stored consolidation gives them."""
    from workbench.cli.output import json_text, render, terminal_text
    from workbench.search.lookup import SCORE_COLUMNS, SCORE_HEADERS, lookup_scores
    from workbench.store.db import Store

    store = Store.open(db)
    try:
        result = lookup_scores(store, query, indicator=indicator, round_id=round_id, reviewer=reviewer)
        ranked = _target_totals(store, result.target.kind, result.target.id, round_id) if totals else None
    finally:
        store.close()
    if fmt == "table":
        echo(terminal_text(f"{result.target.name}（{result.target.id}）"), False)
        if result.also:
            echo("  也匹配 / also matched: " + terminal_text("、".join(e.name for e in result.also)), True)
    if not result.rows:
        echo("（没有评分记录 / no scores recorded）", True)
    if csv_bom(fmt, bom):
        echo("\ufeff" + render(SCORE_HEADERS["zh"], [r.cells() for r in result.rows], fmt, SCORE_COLUMNS), False)
    elif fmt == "json":
        rows = [r.document() for r in result.rows]
        if ranked is None:
            echo(json_text(rows), False)
        else:
            echo(json_text({"scores": rows, "totals": [dict(zip(TOTALS_KEYS, t, strict=True)) for t in ranked[0]]}),
                 False)
        return
    else:
        echo(render(SCORE_HEADERS["zh"], [r.cells() for r in result.rows], fmt, SCORE_COLUMNS), False)
    if ranked is not None:
        rows_shown = [tuple("" if v is None else str(v) for v in t) for t in ranked[0]]
        echo("", False)
        echo(render(TOTALS_HEADERS, rows_shown, fmt, TOTALS_KEYS), False)
        if ranked[1] and fmt == "table":
            echo("（汇总结果待更新：下次 merge 或 report 时重算 / the stored consolidation is out of date until the "
                 "next merge or report）", True)


def _target_totals(store: Store, kind: str, target_id: str, round_id: str | None
                   ) -> tuple[list[tuple[object, ...]], bool]:
    """(round, total, grade, rank, group) of the target in each round that has stored values, newest first; and
    whether the current round's stored consolidation is stale."""
    from decimal import Decimal

    from workbench.consolidation.totals import consolidation_stale, round_totals
    from workbench.model import TargetKey, TargetKind
    from workbench.scoring.indicators import PENDING_REASONS

    key = TargetKey(TargetKind(kind), target_id)
    out: list[tuple[object, ...]] = []
    rounds = sorted(store.rounds(), key=lambda r: (r["year"] or 0, r["id"]), reverse=True)
    for r in rounds:
        if round_id is not None and r["id"] != round_id:
            continue
        got = round_totals(store, r["id"]).get(key)
        if got is None:
            out.append((r["id"], None, "未评审" if r["id"] == store.round_id else "", None, ""))
            continue
        res = got.result
        grade = PENDING_REASONS[res.pending][0] if res.pending else res.grade
        total: Decimal | str | None = res.total if res.total is not None else ("—" if res.pending else None)
        out.append((r["id"], total, grade, got.rank, got.group))
    return out, consolidation_stale(store)


def show_listing(kind: str, db: Path, query: str | None, fmt: str, echo: Echo, *, bom: bool = False) -> None:
    """`workbench sites|cases|indicators`: every entry, or those matching QUERY, best match first."""
    from workbench.cli.output import json_text, render
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
    if fmt == "json" and listing.document is not None:
        echo(json_text([listing.document(row) for row in rows]), False)
        return
    echo(("\ufeff" if csv_bom(fmt, bom) else "") + render(listing.headers, rows, fmt, listing.keys), False)


# Each command's options as `run_plain` takes them: spelling → parameter.
_SCORES_OPTIONS = {"--indicator": "indicator", "-i": "indicator", "--round": "round_id", "--reviewer": "reviewer",
                   "--format": "fmt"}
_LISTING_OPTIONS = {"--format": "fmt"}
_FLAGS = {"--bom": "bom"}  # flags both kinds of command take (--totals goes to click)
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
                        values.get("reviewer"), values.get("fmt", "table"), _echo, bom="bom" in values)
        else:
            show_listing(_LISTING_KINDS[name], Path(args[0]), args[1] if len(args) > 1 else None,
                         values.get("fmt", "table"), _echo, bom="bom" in values)
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
        if token in _FLAGS:
            values[_FLAGS[token]] = ""
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
