"""The `workbench` command line: thin click commands over the core (heavy imports stay inside commands)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from workbench.errors import InputRefused, WorkbenchError

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workbench")
def cli() -> None:
    """评审工作台 — grade government websites and practice cases offline, sign, merge, consolidate.

    Run `workbench demo` to see it on a demo round.
    """


# ---------------------------------------------------------------------------------------------
# set-up


@cli.command()
@db_argument
@click.option("--round", "round_id", required=True, help="轮次编号 / round id, e.g. 2022")
@click.option("--name", default="", help="轮次名称 / round name")
@click.option("--year", type=int, default=None, help="年份 / year")
@click.option("--indicators", type=click.Path(path_type=Path), required=True, help="指标体系 .xlsx/.csv")
@click.option("--sites", type=click.Path(path_type=Path), required=True, help="网站 .xlsx/.csv")
@click.option("--cases", type=click.Path(path_type=Path), required=True, help="案例 .xlsx/.csv")
@click.option("--reviewers", type=click.Path(path_type=Path), required=True, help="评审专家 .xlsx/.csv")
@click.option("--assignments", type=click.Path(path_type=Path), required=True, help="评审分配 .xlsx/.csv")
@click.option("--rules", type=click.Path(path_type=Path), default=None, help="评分规则 .xlsx/.csv")
def init(db: Path, round_id: str, name: str, year: int | None, indicators: Path, sites: Path, cases: Path,
         reviewers: Path, assignments: Path, rules: Path | None) -> None:
    """Build a round database from the coordinator's set-up files.

    \b
    Example:
      workbench init round.db --round 2022 --name "2022年数字政府评估" --year 2022 \\
        --indicators indicators.csv --sites sites.csv --cases cases.csv \\
        --reviewers reviewers.csv --assignments assignments.csv --rules rules.csv
    """
    from workbench.setup.round import SetupFiles, init_round

    files = SetupFiles(indicators, sites, cases, reviewers, assignments, rules)
    try:
        s = init_round(db, round_id, files, name=name, year=year)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    click.echo(
        f"已创建轮次 {s.round_id}：{s.path}\n"
        f"  指标 {s.indicators}（末级 {s.leaves}） 网站 {s.sites}  案例 {s.cases}  "
        f"评审专家 {s.reviewers}  分配 {s.assignments}"
    )


@cli.command("import-results")
@db_argument
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--round", "round_id", required=True, help="往期轮次编号 / past round id, e.g. 2021")
@click.option("--name", default="", help="轮次名称 / round name")
@click.option("--year", type=int, default=None, help="年份（默认取自轮次编号）/ year (default: from the id)")
@click.option("--replace", is_flag=True, help="替换已导入的同一轮次 / replace a round imported before")
def import_results_cmd(db: Path, file: Path, round_id: str, name: str, year: int | None, replace: bool) -> None:
    """Load a past round's consolidated results (对象类型, 对象编号, 指标代码, 得分).

    \b
    Example:
      workbench import-results round.db results-2021.csv --round 2021
    """
    from workbench.setup.round import import_results

    try:
        s = import_results(db, file, round_id, name=name, year=year, replace=replace)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    click.echo(f"已导入往期轮次 {s.round_id}：{s.rows} 条结果，{s.targets} 个对象")


@cli.command()
@db_argument
@click.option("--reviewer", "reviewer_id", required=True, help="评审专家编号 / reviewer id")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="评审包文件 / package file to write, e.g. R07.wbk")
def package(db: Path, reviewer_id: str, out: Path) -> None:
    """Write one reviewer's package: a self-contained SQLite file with only their work.

    \b
    Example:
      workbench package round.db --reviewer R07 -o R07.wbk
    """
    from workbench.setup.package import make_package

    try:
        info = make_package(db, reviewer_id, out)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    key = info.key_id or "（尚未登记公钥 / no key registered yet）"
    click.echo(
        f"已生成评审包 {info.path}\n  评审专家 {info.reviewer_id}  对象 {info.targets}  评分项 {info.pairs}\n"
        f"  nonce {info.nonce}  key id {key}"
    )


# ---------------------------------------------------------------------------------------------
# lookups (the fast path: keep imports inside the commands)


def _open_any(db: Path) -> Any:
    from workbench.store.db import Store

    try:
        return Store.open(db)
    except WorkbenchError as exc:
        raise refuse(exc) from exc


@cli.command()
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
    from workbench.cli.output import render
    from workbench.search.lookup import SCORE_COLUMNS, SCORE_HEADERS, lookup_scores

    store = _open_any(db)
    try:
        result = lookup_scores(store, query, indicator=indicator, round_id=round_id, reviewer=reviewer)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    finally:
        store.close()
    if fmt == "table":
        click.echo(f"{result.target.name}（{result.target.id}）")
        if result.also:
            click.echo("  也匹配 / also matched: " + "、".join(e.name for e in result.also), err=True)
    if not result.rows:
        click.echo("（没有评分记录 / no scores recorded）", err=True)
    click.echo(render(SCORE_HEADERS["zh"], [r.cells() for r in result.rows], fmt, SCORE_COLUMNS))


LISTINGS = {
    "site": (("编号", "名称", "地区", "层级", "网址"), ("id", "name", "region", "level", "url")),
    "case": (("编号", "标题", "申报单位", "地区", "领域"), ("id", "title", "government", "region", "area")),
    "indicator": (("代码", "名称", "类型", "分值", "步长", "适用"), ("code", "name", "kind", "max", "step", "applies_to")),
}


def _listing(kind: str, db: Path, query: str | None, fmt: str) -> None:
    from workbench.cli.output import render
    from workbench.search.lookup import list_entries

    store = _open_any(db)
    try:
        entries = list_entries(store, kind, query)
        if kind == "site":
            by_id = {s.id: (s.id, s.name, s.region, s.level, s.url) for s in store.sites()}
        elif kind == "case":
            by_id = {c.id: (c.id, c.title, c.government, c.region, c.area) for c in store.cases()}
        else:
            by_id = {
                i.code: (i.code, i.name, i.kind.value, str(i.max_score), str(i.step), i.applies_to)
                for i in store.indicators()
            }
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    finally:
        store.close()
    rows = [by_id[e.id] for e in entries if e.id in by_id] if query else list(by_id.values())
    headers, keys = LISTINGS[kind]
    click.echo(render(headers, rows, fmt, keys))


@cli.command()
@db_argument
@click.argument("query", required=False)
@output_options
def sites(db: Path, query: str | None, fmt: str) -> None:
    """List the sites of a round or package, optionally matching QUERY.

    \b
    Example:
      workbench sites round.db gd
    """
    _listing("site", db, query, fmt)


@cli.command()
@db_argument
@click.argument("query", required=False)
@output_options
def cases(db: Path, query: str | None, fmt: str) -> None:
    """List the practice cases, optionally matching QUERY.

    \b
    Example:
      workbench cases round.db 惠企 --format csv
    """
    _listing("case", db, query, fmt)


@cli.command()
@db_argument
@click.argument("query", required=False)
@output_options
def indicators(db: Path, query: str | None, fmt: str) -> None:
    """List the indicator system, optionally matching QUERY.

    \b
    Example:
      workbench indicators round.db hdjl
    """
    _listing("indicator", db, query, fmt)


# ---------------------------------------------------------------------------------------------
# the reviewer app


def _check_package(path: Path) -> None:
    """Refuse anything that is not a reviewer package before any screen appears."""
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    try:
        Store.open(path, expect=KIND_PACKAGE).close()
    except WorkbenchError as exc:
        raise refuse(exc) from exc


@cli.command()
@click.argument("package_path", metavar="PACKAGE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="界面语言（默认按系统语言，中文优先）/ UI language (default: from the locale, Chinese first)")
def review(package_path: Path, lang: str | None) -> None:
    """Open the reviewer app on a package and grade it from the keyboard.

    \b
    Example:
      workbench review R07.wbk
      workbench review R07.wbk --lang en
    """
    _check_package(package_path)
    from workbench.tui.app import run_review

    try:
        run_review(package_path, lang)
    except WorkbenchError as exc:
        raise refuse(exc) from exc


@cli.command()
@db_argument
@output_options
def status(db: Path, fmt: str) -> None:
    """Where a round stands: per reviewer and per target, what is in and what is missing.

    \b
    Example:
      workbench status round.db
    """
    from workbench.cli.output import render
    from workbench.consolidation.status import round_status
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    try:
        store = Store.open(db, expect=KIND_ROUND)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    try:
        result = round_status(store)
    finally:
        store.close()
    def ids(items: tuple[str, ...]) -> str:
        if fmt == "table" and len(items) > 6:
            return " ".join(items[:6]) + f" …（共 {len(items)} / {len(items)} in all）"
        return " ".join(items)

    r_keys = ("reviewer", "name", "assigned", "received", "exports", "latest_seq", "last_merged", "missing")
    r_rows = [
        (r.reviewer_id, r.name, str(r.assigned), str(r.received), str(r.exports),
         "" if r.latest_seq is None else str(r.latest_seq), r.last_merged, ids(r.missing))
        for r in result.reviewers
    ]
    t_keys = ("target_kind", "target_id", "name", "assigned", "reviews_in", "missing_reviewers")
    t_rows = [
        (t.target_kind, t.target_id, t.name, str(t.assigned), str(t.reviews_in), ids(t.missing_reviewers))
        for t in result.targets
    ]
    if fmt == "json":
        import json

        click.echo(json.dumps({"reviewers": [dict(zip(r_keys, r)) for r in r_rows],
                               "targets": [dict(zip(t_keys, t)) for t in t_rows]}, ensure_ascii=False, indent=2))
        return
    click.echo(render(("评审专家", "姓名", "分配", "已收", "导出数", "最新序号", "最近合并", "未完成对象"), r_rows, fmt))
    click.echo("")
    click.echo(render(("类型", "编号", "名称", "分配", "已收评审", "缺少"), t_rows, fmt))


# ---------------------------------------------------------------------------------------------
# coordinator: merge, report, disputes


@cli.command()
@db_argument
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def merge(db: Path, files: tuple[Path, ...]) -> None:
    """Verify and merge returned exports; every rejected file is listed with its code.

    Each file is verified exactly as `workbench verify` does; its signed payload (never the visible
    cells) is ingested together with its ledger row in one transaction. Exit 1 if any file was rejected.

    \b
    Example:
      workbench merge round.db exports/*.xlsx
    """
    from workbench.consolidation.merge import FileOutcome, merge_exports

    labels = {"merged": "已合并 / merged", "already-merged": "已合并过 / already merged",
              "superseded": "已被同批更新导出取代 / superseded", "rejected": "拒收 / rejected"}
    lines: list[str] = []

    def note(o: FileOutcome) -> None:
        detail = f"{o.reviewer_id} seq {o.seq} rows {o.rows}" if o.status != "rejected" else f"{o.code}: {o.message}"
        lines.append(f"{labels[o.status]:<12} {o.path.name}  {detail}")

    try:
        if len(files) > 3:
            with click.progressbar(length=len(files), label="核验并合并 / verifying", file=sys.stderr) as bar:
                def step(o: FileOutcome) -> None:
                    note(o)
                    bar.update(1)

                report = merge_exports(db, files, on_file=step)
        else:
            report = merge_exports(db, files, on_file=note)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    for line in lines:
        click.echo(line)
    click.echo(f"合并 {len(report.merged)} 个，拒收 {len(report.rejected)} 个 / "
               f"{len(report.merged)} merged, {len(report.rejected)} rejected")
    if report.rejected:
        sys.exit(1)


@cli.command()
@db_argument
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="汇总工作簿 / workbook to write")
def report(db: Path, out: Path) -> None:
    """Consolidate the merged scores and write the consolidated workbook.

    \b
    Example:
      workbench report round.db -o consolidated.xlsx
    """
    from workbench.consolidation.report import write_report

    if out.exists():
        raise Refused(f"{out} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    try:
        s = write_report(db, out)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    click.echo(f"已生成 {s.path}：对象 {s.targets}，指标项 {s.cells}，争议复核 {s.disputes}，已合并导出 {s.exports}")


@cli.command()
@db_argument
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="复核评审包目录 / directory for the re-review packages")
def disputes(db: Path, out: Path) -> None:
    """Issue re-review packages: for each reviewer concerned, only their disputed items.

    \b
    Example:
      workbench disputes round.db -o re-review/
    """
    from workbench.consolidation.disputes import issue_rereview_packages

    try:
        issued = issue_rereview_packages(db, out)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    if not issued:
        click.echo("没有需要复核的评分 / nothing to send back for re-review")
    for info in issued:
        click.echo(f"{info.reviewer_id}: {info.path}  复核项 {info.pairs}  nonce {info.nonce}")


# ---------------------------------------------------------------------------------------------
# demo


@cli.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="演示文件目录（默认临时目录）/ where to build (default: a new temporary directory)")
@click.option("--reviewer", default="R01", show_default=True, help="打开谁的评审包 / whose package to open")
@click.option("--no-open", is_flag=True, help="只生成，不打开评审界面 / build only, do not open the app")
def demo(directory: Path | None, reviewer: str, no_open: bool) -> None:
    """Build the demo rounds from the bundled fixtures in a scratch directory.

    \b
    Example:
      workbench demo
    """
    from workbench.setup.demo import build_demo

    try:
        built = build_demo(directory)
    except WorkbenchError as exc:
        raise refuse(exc) from exc
    for line in built.describe():
        click.echo(line)
    pkg = built.packages.get(reviewer)
    if pkg is None:
        raise Refused(f"演示轮次中没有评审专家 {reviewer} / no reviewer {reviewer} in the demo round")
    if no_open:
        click.echo(f"\n打开评审界面 / open the reviewer app with:\n  workbench review {pkg}")
        return
    from workbench.tui.app import run_review

    try:
        run_review(pkg, None)
    except WorkbenchError as exc:
        raise refuse(exc) from exc


from workbench.cli import signed as cli_sign  # noqa: E402  (only click at import time; the commands import lazily)

cli_sign.register(cli)


def main() -> None:
    try:
        cli(prog_name="workbench")
    except InputRefused as exc:  # pragma: no cover - commands convert these; belt and braces
        click.echo(exc.message, err=True)
        sys.exit(1)
