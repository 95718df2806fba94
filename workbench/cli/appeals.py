"""`workbench appeals`: take in appeals (申诉) against the 公示, issue their re-review packages, list the outcomes.

Module-level imports stay at click: every command imports what it needs when it runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.base import db_argument, output_options, progress_bar


@click.command()
@db_argument
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--issue", is_flag=True, help="为待复核的申诉签发申诉复核评审包（须 -o）/ issue appeal packages for the "
                                            "open appeals (needs -o)")
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="申诉复核评审包目录 / directory for the appeal packages")
@click.option("--per-item", type=int, default=2, show_default=True,
              help="每项申诉的复核专家人数 / appeal reviewers per appealed item")
@click.option("--list", "listing", is_flag=True, help="列出全部申诉及结果 / list every appeal and its outcome")
@output_options
def appeals(db: Path, file: Path | None, issue: bool, out: Path | None, per_item: int, listing: bool,
            fmt: str) -> None:
    """Appeals (申诉) against the provisional publication (公示): import FILE, --issue -o DIR, or --list.

    FILE (.xlsx or .csv) has the headers 申诉编号/appeal_id, 对象类型/target_kind, 对象编号/target_id,
    指标代码/indicator (empty = the whole target), 申诉单位/appellant, 理由/reason, and optionally
    佐证链接/evidence and 提交日期/submitted_at. An appeal is taken when it was submitted within the 公示 window
    (北京时间 dates, both ends included; without 提交日期, the day of the import counts). Importing the same row
    again changes nothing; the same 申诉编号 with other content is refused. --issue sends every open appeal to
    --per-item reviewers who did not score it and have no conflict of interest with its target; merging their
    exports (workbench merge) decides it: 维持 when the published value stands, 改判 when it changed.

    \b
    Example:
      workbench appeals round.db appeals.xlsx
      workbench appeals round.db --issue -o appeal-packages/
      workbench appeals round.db --list --format json
    """
    from workbench.cli.output import render, terminal_text

    chosen = [name for name, on in (("FILE", file is not None), ("--issue", issue), ("--list", listing)) if on]
    if len(chosen) != 1:
        raise click.UsageError("请只选一项：FILE、--issue -o DIR 或 --list / choose exactly one of FILE, "
                               "--issue -o DIR or --list")
    if issue != (out is not None):
        raise click.UsageError("--issue 与 -o DIR 须同用 / --issue and -o DIR go together")
    if file is not None:
        from workbench.consolidation.appeal_intake import import_appeals

        summary = import_appeals(db, file)
        click.echo(terminal_text(
            f"已导入申诉 {summary.added} 项，已有且相同 {summary.unchanged} 项（{summary.file}；公示期至 "
            f"{summary.publication.until}）/ {summary.added} appeal(s) imported, {summary.unchanged} already "
            f"there unchanged (the 公示 window ends on {summary.publication.until})"))
        return
    if issue:
        from workbench.consolidation.appeal_packages import issue_appeal_packages
        from workbench.model import TARGET_LABELS, TargetKind

        assert out is not None
        with progress_bar("申诉复核评审包 / appeal packages") as progress:
            issued = issue_appeal_packages(db, out, per_item=per_item, on_progress=progress)
        if not issued:
            click.echo("没有待复核的申诉 / no open appeal to send out")
        for info, appeal_ids, pairs in issued:
            click.echo(terminal_text(f"{info.reviewer_id}: {info.path}  申诉 / appeals {' '.join(appeal_ids)}  "
                                     f"复核项 {info.pairs}  nonce {info.nonce}"))
            for kind, target_id, indicator in pairs:
                click.echo(terminal_text(f"  {TARGET_LABELS[TargetKind(kind)]} {target_id} {indicator}"))
        return
    from workbench.consolidation.appeals import OUTCOME_WORDS, STATUS_LABELS, appeal_states
    from workbench.model import TARGET_LABELS
    from workbench.store.db import Store
    from workbench.store.migrations import upgrade
    from workbench.store.schema import KIND_ROUND

    store = Store.open(db, expect=KIND_ROUND)
    try:
        upgrade(store.conn)
        states = appeal_states(store)
    finally:
        store.close()
    names = ["appeal_id", "target_kind", "target_id", "indicator", "appellant", "reason", "submitted_on", "status",
             "reviewers", "old_value", "new_value", "outcome", "notes"]
    if fmt == "json":
        from workbench.cli.output import json_text

        click.echo(json_text([{
            "appeal_id": s.appeal.appeal_id, "target_kind": s.appeal.target_kind.value,
            "target_id": s.appeal.target_id, "indicator": s.appeal.indicator or None,
            "appellant": s.appeal.appellant, "reason": s.appeal.reason, "evidence": s.appeal.evidence,
            "submitted_on": s.appeal.submitted_on, "status": s.status, "reviewers": list(s.recipients),
            "old_value": s.outcome.old_value if s.outcome else None,
            "new_value": s.outcome.new_value if s.outcome else None,
            "outcome": OUTCOME_WORDS[s.outcome.outcome] if s.outcome else None,
            "notes": s.outcome.notes if s.outcome else None, "decided_at": s.outcome.decided_at if s.outcome else None,
        } for s in states]))
        return
    headers = ["申诉编号", "类型", "编号", "指标代码", "申诉单位", "理由", "提交日期", "状态", "复核专家", "原值",
               "复核后", "结果", "复核意见"]
    rows = [[s.appeal.appeal_id, TARGET_LABELS[s.appeal.target_kind], s.appeal.target_id,
             s.appeal.indicator or "（整体）", s.appeal.appellant, s.appeal.reason, s.appeal.submitted_on,
             STATUS_LABELS[s.status], " ".join(s.recipients), s.outcome.old_value if s.outcome else "",
             s.outcome.new_value if s.outcome else "",
             f"{s.outcome.outcome} / {OUTCOME_WORDS[s.outcome.outcome]}" if s.outcome else "",
             s.outcome.notes if s.outcome else ""] for s in states]
    if not states and fmt == "table":
        click.echo("（尚无申诉 / no appeals）", err=True)
    click.echo(render(headers, rows, fmt, names))


COMMANDS = (appeals,)
