"""Set-up commands for the coordinator: build a round, load past results, write packages; and the demo."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import Refused, db_argument, progress_bar
from workbench.cli.output import terminal_text


@click.command()
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
@click.option("--conflicts", type=click.Path(path_type=Path), default=None,
              help="申报的回避关系 / declared conflicts of interest .xlsx/.csv")
@click.option("--calibration-reference", type=click.Path(path_type=Path), default=None,
              help="校准对象的参考分 / reference scores for the calibration targets .xlsx/.csv")
def init(db: Path, round_id: str, name: str, year: int | None, indicators: Path, sites: Path, cases: Path,
         reviewers: Path, assignments: Path, rules: Path | None, conflicts: Path | None,
         calibration_reference: Path | None) -> None:
    """Build a round database from the coordinator's set-up files.

    \b
    Example:
      workbench init round.db --round 2022 --name "2022年数字政府评估" --year 2022 \\
        --indicators indicators.csv --sites sites.csv --cases cases.csv \\
        --reviewers reviewers.csv --assignments assignments.csv --rules rules.csv --conflicts conflicts.csv
    """
    from workbench.setup.round import SetupFiles, init_round

    files = SetupFiles(indicators, sites, cases, reviewers, assignments, rules, conflicts, calibration_reference)
    with progress_bar("建立轮次 / building the round") as progress:
        s = init_round(db, round_id, files, name=name, year=year, on_progress=progress)
    click.echo(
        f"已创建轮次 {terminal_text(s.round_id)}：{terminal_text(str(s.path))}\n"
        f"  指标 {s.indicators}（末级 {s.leaves}） 网站 {s.sites}  案例 {s.cases}  "
        f"评审专家 {s.reviewers}  分配 {s.assignments}" + (f"  申报回避 {s.conflicts}" if s.conflicts else "")
        + (f"  校准对象 {s.calibration}（参考分 {s.reference}）" if s.calibration else "")
    )


@click.command()
@click.option("--sites", type=click.Path(path_type=Path), required=True, help="网站 .xlsx/.csv")
@click.option("--cases", type=click.Path(path_type=Path), required=True, help="案例 .xlsx/.csv")
@click.option("--reviewers", type=click.Path(path_type=Path), required=True,
              help="评审专家 .xlsx/.csv（可含 容量、专长 列 / may hold capacity and expertise columns）")
@click.option("--conflicts", type=click.Path(path_type=Path), default=None,
              help="申报的回避关系 / declared conflicts of interest .xlsx/.csv")
@click.option("--per-target", type=click.IntRange(min=1), default=3, show_default=True,
              help="每个对象的评审专家人数 / reviewers per target")
@click.option("--seed", type=int, default=0, show_default=True,
              help="随机种子：同一种子得到同一分配 / the same seed gives the same assignment")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="分配文件 / assignments file to write (.xlsx, or .csv)")
@click.option("--allow-disconnected", is_flag=True,
              help="专家关联图无法连通时仍写出分配 / write the file even if the reviewer graph stays split")
def assign(sites: Path, cases: Path, reviewers: Path, conflicts: Path | None, per_target: int, seed: int,
           out: Path, allow_disconnected: bool) -> None:
    """Assign reviewers to every site and case automatically (回避, balanced loads, a linked reviewer graph).

    The file written is one `workbench init --assignments` accepts unchanged.

    \b
    Example:
      workbench assign --sites sites.csv --cases cases.csv --reviewers reviewers.csv \\
        --conflicts conflicts.csv --per-target 3 --seed 1 -o assignments.xlsx
    """
    from workbench.setup.assign import make_assignments

    with progress_bar("分配评审 / assigning") as progress:
        plan = make_assignments(sites, cases, reviewers, conflicts, out, per_target=per_target, seed=seed,
                                allow_disconnected=allow_disconnected, on_progress=progress)
    rows = sum(len(p) for p in plan.chosen)
    click.echo(f"已写入评审分配 {terminal_text(str(out))}：{rows:,} 条"
               f"（每个对象 {plan.per_target} 位专家，种子 {seed}）")
    for load in plan.loads:
        label = "网站" if load.kind.value == "site" else "案例"
        state = "均衡 / balanced" if load.balanced else "未能完全均衡 / not fully balanced"
        click.echo(f"  {label} {load.targets:,} 个：每位专家 {load.low}–{load.high} 个（{state}）")
        if load.reason:
            click.echo(f"    {terminal_text(load.reason)}")
    if plan.case_reviews and any(r.expertise for r in plan.reviewers):
        click.echo(f"  专长匹配 / expertise: 案例评审 {plan.expertise_matches:,}/{plan.case_reviews:,} 次"
                   "由专长与领域相符的专家承担")
    linked = "连通 / connected" if plan.components <= 1 else f"分成 {plan.components} 部分 / {plan.components} parts"
    click.echo(f"  专家关联图 / reviewer graph: {linked}（交换 {plan.swaps} 次 / {plan.swaps} swap(s)）")
    if plan.link_problem:
        click.echo(f"  {terminal_text(plan.link_problem)}")
    if plan.declared:
        click.echo(f"  已遵守申报回避 {plan.declared} 条 / declared conflicts kept: {plan.declared}")
    if plan.unused:
        shown = "、".join(plan.unused[:10]) + ("等" if len(plan.unused) > 10 else "")
        click.echo(f"  未分到任何对象的专家 / reviewers given no target: {terminal_text(shown)}")


@click.command("import-results")
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
    from workbench.setup.results import import_results

    with progress_bar("导入往期结果 / importing") as progress:
        s = import_results(db, file, round_id, name=name, year=year, replace=replace, on_progress=progress)
    click.echo(f"已导入往期轮次 {terminal_text(s.round_id)}：{s.rows} 条结果，{s.targets} 个对象")


@click.command()
@db_argument
@click.option("--reviewer", "reviewer_id", default=None, help="评审专家编号 / reviewer id")
@click.option("--all", "every", is_flag=True,
              help="一次为每位有分配的评审专家生成评审包，-o 为目录 / every reviewer's package in one pass; -o is a "
                   "directory")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="评审包文件（--all 时为目录）/ package file to write, e.g. R07.wbk (with --all: a directory)")
@click.option("--history", default="1", show_default=True, metavar="N|all",
              help="携带的往期轮次数（评审界面显示最近一轮）/ past rounds of results to carry, newest first (the app "
                   "shows the newest); 0 for none, all for every one")
def package(db: Path, reviewer_id: str | None, every: bool, out: Path, history: str) -> None:
    """Write one reviewer's package (a self-contained SQLite file with only their work), or with --all every
    reviewer's, in one pass.

    \b
    Example:
      workbench package round.db --reviewer R07 -o R07.wbk
      workbench package round.db --all -o packages/
    """
    from workbench.setup.package import make_package, make_packages

    if every == (reviewer_id is not None):
        raise click.UsageError("请只选一项：--reviewer ID 或 --all / choose exactly one of --reviewer ID or --all")
    past = _history(history)
    if every:
        with progress_bar("评审包 / packages") as progress:
            infos, skipped = make_packages(db, out, history=past, on_progress=progress)
        for info in infos:
            click.echo(terminal_text(f"{info.reviewer_id}: {info.path}  对象 {info.targets}  评分项 {info.pairs}  "
                                     f"key id {info.key_id or '—'}"))
        click.echo(f"已生成评审包 {len(infos)} 个 / {len(infos)} packages written to {terminal_text(str(out))}")
        if skipped:
            click.echo(terminal_text(f"  没有分配、未生成 / no assignments, no package: {' '.join(skipped)}"))
        return
    assert reviewer_id is not None
    info = make_package(db, reviewer_id, out, history=past)
    key = info.key_id or "（尚未登记公钥 / no key registered yet）"
    click.echo(
        f"已生成评审包 {terminal_text(str(info.path))}\n  评审专家 {terminal_text(info.reviewer_id)}  "
        f"对象 {info.targets}  评分项 {info.pairs}\n"
        f"  nonce {info.nonce}  key id {key}"
    )


def _history(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise click.BadParameter(f"须为 0 或更大的整数，或 all / must be a whole number 0 or more, or all: {text!r}",
                                 param_hint="'--history'")
    return value


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="演示文件目录（默认临时目录；已有的演示目录则继续）/ where to build (default: a new temporary "
                   "directory); a demo directory built before is reopened as it is")
@click.option("--reviewer", default="R01", show_default=True, help="打开谁的评审包 / whose package to open")
@click.option("--simulate", is_flag=True,
              help="模拟其余评审专家的评分并合并 / fill in and merge the other reviewers' packages")
@click.option("--no-open", is_flag=True, help="只生成，不打开评审界面 / build only, do not open the app")
def demo(directory: Path | None, reviewer: str, simulate: bool, no_open: bool) -> None:
    """Build the demo rounds from the bundled fixtures in a scratch directory, and open a reviewer's package.

    Every demo reviewer has a registered demo key (its passphrase is printed), so the app's export (^e)
    signs; the coordinator's next commands are printed. --simulate has the other reviewers grade and their
    signed exports merged, so that the report and the disputes show a real round. Run it again with the
    same --dir to resume.

    \b
    Example:
      workbench demo
      workbench demo --dir /tmp/wb-demo --simulate --no-open
      workbench demo --dir /tmp/wb-demo              (resume)
    """
    import os

    from workbench.setup.demo import build_demo, is_demo, load_demo, simulate_reviews
    from workbench.signed.export import KEY_FILE_ENV

    resumed = directory is not None and is_demo(directory)
    built = load_demo(directory) if resumed and directory is not None else build_demo(directory)
    if built.packages.get(reviewer) is None:
        raise Refused(f"演示轮次中没有评审专家 {reviewer}（可选：{' '.join(sorted(built.packages))}）/ "
                      f"no reviewer {reviewer!r} in the demo round")
    if simulate:
        with progress_bar("模拟评审 / simulating") as progress:
            simulate_reviews(built, reviewer, on_progress=progress)
    if resumed:
        click.echo(terminal_text(f"继续演示 / resuming the demo in {built.directory}"))
    for line in built.describe():
        click.echo(terminal_text(line, multiline=True))
    pkg, key = built.packages[reviewer], built.keys[reviewer]
    click.echo("\n下一步 / next:")
    for line in built.next_steps(reviewer):
        click.echo(terminal_text(line))
    if no_open:
        click.echo(f"\n打开评审界面 / open the reviewer app with:\n  "
                   f"WORKBENCH_KEY={terminal_text(str(key))} workbench review {terminal_text(str(pkg))}")
        return
    from workbench.tui.app import run_review

    os.environ[KEY_FILE_ENV] = str(key)  # the app's export signs with the demo key unless told otherwise
    run_review(pkg, None)


COMMANDS = (init, assign, import_results_cmd, package, demo)
