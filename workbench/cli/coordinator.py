"""Coordinator commands once the packages are out: the keyring, verify, merge, status, report, disputes.

Module-level imports stay at click: every command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from workbench.cli.base import Refused, WorkbenchGroup, db_argument, output_options, progress_bar


@click.group(cls=WorkbenchGroup)
def keys() -> None:
    """The coordinator's keyring in a round database: add, list, revoke reviewers' public keys.

    \b
    Example:
      workbench keys add round.db R07 "RWQ…"
      workbench keys list round.db
      workbench keys revoke round.db 1A2B3C4D5E6F7081
    """


@keys.command("add")
@db_argument
@click.argument("reviewer")
@click.argument("public_key")
def keys_add(db: Path, reviewer: str, public_key: str) -> None:
    """Register REVIEWER's PUBLIC_KEY (the minisign line from `workbench keygen`, or its .pub file).

    A second key for the same reviewer rotates: packages issued from now on record the new key, and
    exports of packages issued before stay verifiable with the old one (until it is revoked).

    \b
    Example:
      workbench keys add round.db R07 "RWQ…"
      workbench keys add round.db R07 zhang.key.pub
    """
    from workbench.cli.output import terminal_text
    from workbench.signed.keyring import add_key, read_public_key_argument

    change = add_key(db, reviewer, read_public_key_argument(public_key))
    record = change.record
    if not change.changed:
        click.echo(terminal_text(
            f"密钥 {record.key_id} 已登记给评审专家 {record.reviewer_id}，无需重复 / already registered"))
        return
    click.echo(terminal_text(f"已登记密钥 / registered key {record.key_id} for reviewer {record.reviewer_id}"))
    if change.replaced:
        click.echo(
            f"  轮换 / rotated: 此后签发的评审包记录新密钥；旧密钥 {change.replaced} 仍可验证此前签发的评审包的导出 / "
            f"new packages record the new key; key {change.replaced} still verifies exports of packages issued before"
        )
    click.echo(terminal_text(
        f"  下一步 / next: workbench package {db} --reviewer {record.reviewer_id} -o {record.reviewer_id}.wbk"))


@keys.command("list")
@db_argument
@click.option("--reviewer", default=None, help="只看某位评审专家 / only this reviewer")
@output_options
def keys_list(db: Path, reviewer: str | None, fmt: str) -> None:
    """List the keyring: key id, reviewer, when added and revoked, and which key new packages record.

    \b
    Example:
      workbench keys list round.db --format json
    """
    from workbench.cli.output import local_time, render
    from workbench.signed.keyring import list_keys

    records = list_keys(db, reviewer)
    shown = local_time if fmt == "table" else str

    def key_status(r: Any) -> str:
        return "已吊销 revoked" if r.revoked else ("当前 current" if r.current else "有效 valid")

    headers = ["密钥编号", "评审专家", "状态", "登记时间", "吊销时间"]
    names = ["key_id", "reviewer_id", "status", "added_at", "revoked_at"]
    rows = [[r.key_id, r.reviewer_id, key_status(r), shown(r.added_at), shown(r.revoked_at or "")] for r in records]
    if fmt != "table":
        headers.append("公钥")
        names.append("public_key")
        rows = [[*row, r.public_key] for row, r in zip(rows, records, strict=True)]
    if not records and fmt == "table":
        click.echo("（密钥环为空 / the keyring is empty）", err=True)
    click.echo(render(headers, rows, fmt, names))


@keys.command("revoke")
@db_argument
@click.argument("key_id")
def keys_revoke(db: Path, key_id: str) -> None:
    """Revoke KEY_ID: nothing it signed verifies any more (REVOKED_KEY), whenever it was signed.

    To retire a key that was not compromised, add the reviewer's new key instead (rotation).

    \b
    Example:
      workbench keys revoke round.db 1A2B3C4D5E6F7081
    """
    from workbench.cli.output import local_time, terminal_text
    from workbench.signed.keyring import revoke_key

    change = revoke_key(db, key_id)
    record = change.record
    if not change.changed:
        when = local_time(record.revoked_at or "")
        click.echo(terminal_text(f"密钥 {record.key_id} 已于 {when} 吊销 / already revoked at {when}"))
        return
    click.echo(
        f"已吊销密钥 / revoked key {terminal_text(record.key_id)} of reviewer {terminal_text(record.reviewer_id)}\n"
        f"  用它签名的导出不再通过核验；请评审专家生成新密钥，登记后重新签发评审包 / exports signed with it no longer "
        "verify; have the reviewer make a new key, add it, and issue a new package"
    )
    if change.merged_exports:
        click.echo(
            f"  此前已合并用它签名的导出 {change.merged_exports} 份、评分 {change.merged_rows} 项，仍保留在本轮次中；"
            "若怀疑其内容，请按上述方式签发新评审包，合并其导出后将取代这些评分 / "
            f"{change.merged_exports} export(s) signed with it were merged before ({change.merged_rows} rows); "
            "they stay in the round. If they are in doubt, issue the new package as above: merging its export "
            "replaces them"
        )
    else:
        click.echo("  此前没有合并过用它签名的导出 / nothing signed with it was merged before")


@click.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keyring", "round_db", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="轮次数据库（其密钥环）/ the round database whose keyring and packages to check against")
@click.option("--extract", "extract_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="写出 payload.json 与 payload.json.minisig，供 minisign 独立核验 / write the payload and its "
                   "signature for `minisign -V`")
def verify(file: Path, round_db: Path, extract_dir: Path | None) -> None:
    """Check a reviewer's signed worksheet: exit 0 when it verifies, else 1 with the reason.

    \b
    Example:
      workbench verify R07-2022.xlsx --keyring round.db
      workbench verify R07-2022.xlsx --keyring round.db --extract out/
      minisign -Vm out/payload.json -P RWQ…   (the reviewer's public key line; --extract prints it)
    """
    from workbench.cli.output import terminal_text
    from workbench.errors import FailureCode, SignatureError
    from workbench.signed.verify import extract_payload, verify_export
    from workbench.signed.worksheet import display_name

    try:
        verified = verify_export(file, round_db)
    except SignatureError as exc:
        raise Refused(terminal_text(f"{exc.code}\n  {exc.message}", multiline=True)) from exc
    click.echo(
        f"核验通过 / verified: {terminal_text(str(file.parent / display_name(file)))}\n"
        f"  评审专家 / reviewer  {terminal_text(f'{verified.reviewer_id} {verified.reviewer_name}')}\n"
        f"  密钥 / key id        {terminal_text(verified.key_id)}\n"
        f"  轮次 / round         {terminal_text(verified.round_id)}\n"
        f"  导出序号 / seq       {verified.seq}\n"
        f"  评分行 / rows        {len(verified.rows)}"
    )
    if verified.replay == FailureCode.ALREADY_MERGED:
        click.echo("  已合并过，合并时不会重复计入 / already merged: merging it again changes nothing")
    if extract_dir is not None:
        from workbench.signed.keyring import list_keys

        payload_path, sig_path = extract_payload(verified, extract_dir)
        line = next((k.public_key for k in list_keys(round_db) if k.key_id == verified.key_id), "")
        payload, sig = terminal_text(str(payload_path)), terminal_text(str(sig_path))
        click.echo(f"  已写出 / extracted: {payload}, {sig}\n"
                   f"  独立核验 / check independently:  minisign -Vm {payload} -P {terminal_text(line)}")


@click.command()
@db_argument
@output_options
def status(db: Path, fmt: str) -> None:
    """Where a round stands: per reviewer and per target, what is in and what is missing.

    \b
    Example:
      workbench status round.db
    """
    from workbench.cli.output import json_text, local_time, render
    from workbench.consolidation.appeals import count_open_appeals, provisional_publication
    from workbench.consolidation.disputes import count_disputes
    from workbench.consolidation.status import round_status
    from workbench.consolidation.stored import is_stale
    from workbench.store.db import Store
    from workbench.store.migrations import upgrade
    from workbench.store.schema import KIND_ROUND

    store = Store.open(db, expect=KIND_ROUND)
    try:
        result = round_status(store)
        upgrade(store.conn)  # status only reads: a stale consolidation is redone by the next merge or report
        stale = is_stale(store)
        counts = count_disputes(store)
        waiting, sent, decided = count_open_appeals(store)
        window = provisional_publication(store)
    finally:
        store.close()

    def ids(items: tuple[str, ...]) -> str:
        if fmt == "table" and len(items) > 6:
            return " ".join(items[:6]) + f" …（共 {len(items)} / {len(items)} in all）"
        return " ".join(items)

    r_keys = ("reviewer", "name", "assigned", "received", "exports", "latest_seq", "last_merged", "missing")
    r_rows = [
        (r.reviewer_id, r.name, str(r.assigned), str(r.received), str(r.exports),
         "" if r.latest_seq is None else str(r.latest_seq), local_time(r.last_merged) if fmt == "table" else
         r.last_merged, ids(r.missing))
        for r in result.reviewers
    ]
    t_keys = ("target_kind", "target_id", "name", "assigned", "reviews_in", "missing_reviewers")
    t_rows = [
        (t.target_kind, t.target_id, t.name, str(t.assigned), str(t.reviews_in), ids(t.missing_reviewers))
        for t in result.targets
    ]
    if fmt == "json":
        counts_of = {"assigned", "received", "exports", "latest_seq", "reviews_in"}

        def numbers(keys: tuple[str, ...], row: tuple[str, ...]) -> dict[str, object]:
            return {k: (int(v) if v else None) if k in counts_of else v for k, v in zip(keys, row, strict=True)}

        document = {"reviewers": [numbers(r_keys, r) for r in r_rows],
                    "targets": [numbers(t_keys, t) for t in t_rows],
                    "disputes": {"open": counts.open + counts.sent, "not_sent": counts.open, "sent": counts.sent,
                                 "re_reviewed": counts.re_reviewed, "accepted": counts.accepted},
                    "appeals": {"open": waiting + sent, "not_sent": waiting, "sent": sent, "decided": decided,
                                "window_until": window.until if window else None}}
        click.echo(json_text(document))
        return
    r_headers = ("评审专家", "姓名", "分配", "已收", "导出数", "最新序号", "最近合并", "未完成对象")
    click.echo(render(r_headers, r_rows, fmt))
    click.echo("")
    click.echo(render(("类型", "编号", "名称", "分配", "已收评审", "缺少"), t_rows, fmt))
    if fmt == "table" and stale:
        click.echo("\n（汇总结果待更新：下次 merge、report 或 disputes 时重算 / the stored consolidation is out of "
                   "date: the next merge, report or disputes recomputes it）")
    if fmt == "table":
        click.echo(f"\n未结争议 {counts.open + counts.sent}（待复核 {counts.open}，复核中 {counts.sent}），"
                   f"已复核 {counts.re_reviewed}，已接受 {counts.accepted} / open disputes {counts.open + counts.sent} "
                   f"({counts.open} not sent, {counts.sent} in re-review), {counts.re_reviewed} re-reviewed, "
                   f"{counts.accepted} accepted")
        if waiting + sent + decided or window is not None:
            during = f"公示期至 {window.until}；" if window else ""
            ends = f"; the 公示 window ends on {window.until}" if window else ""
            click.echo(f"{during}未结申诉 {waiting + sent}（待复核 {waiting}，复核中 {sent}），已复核 {decided}"
                       f"（workbench appeals --list）/ open appeals {waiting + sent} ({waiting} not sent, {sent} "
                       f"in re-review), {decided} decided{ends}")


@click.command()
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
    from workbench.cli.output import terminal_text
    from workbench.consolidation.merge import FileOutcome, merge_exports
    from workbench.signed.worksheet import display_name

    labels = {"merged": "已合并 / merged", "already-merged": "已合并过 / already merged",
              "superseded": "已被同批更新导出取代 / superseded", "rejected": "拒收 / rejected"}
    lines: list[str] = []

    def note(o: FileOutcome) -> None:
        detail = f"{o.reviewer_id} seq {o.seq} rows {o.rows}" if o.status != "rejected" else f"{o.code}: {o.message}"
        lines.append(f"{labels[o.status]:<12} {terminal_text(display_name(o.path))}  "
                     f"{terminal_text(detail, multiline=True)}")

    with progress_bar("核验并合并 / verifying and merging") as progress:
        def step(o: FileOutcome) -> None:
            note(o)
            if progress is not None:
                progress(len(lines), len(files))

        report = merge_exports(db, files, on_file=step)
    for line in lines:
        click.echo(line)
    click.echo(f"合并 {len(report.merged)} 个，拒收 {len(report.rejected)} 个 / "
               f"{len(report.merged)} merged, {len(report.rejected)} rejected")
    if report.rejected:
        sys.exit(1)


ALLOW_INCOMPLETE = click.option(
    "--allow-incomplete", is_flag=True,
    help="轮次未完成时也生成，标明“未完成” / go on while the round is incomplete, marked 未完成")


@click.command()
@db_argument
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="汇总工作簿 / workbook to write")
@ALLOW_INCOMPLETE
def report(db: Path, out: Path, allow_incomplete: bool) -> None:
    """Consolidate the merged scores and write the consolidated workbook.

    Exit 1, saying what is missing, while the round has no merged export or targets are still short of
    reviews; --allow-incomplete writes it anyway, with a 未完成 banner and "—" for targets without a result.

    \b
    Example:
      workbench report round.db -o consolidated.xlsx
      workbench report round.db -o interim.xlsx --allow-incomplete
    """
    from workbench.cli.output import terminal_text
    from workbench.consolidation.report import write_report

    with progress_bar("汇总 / consolidating") as progress:
        s = write_report(db, out, allow_incomplete=allow_incomplete, on_progress=progress)
    click.echo(f"已生成 {terminal_text(str(s.path))}：对象 {s.targets}，指标项 {s.cells}，争议复核 {s.disputes}，"
               f"已合并导出 {s.exports}" + ("（未完成 / incomplete）" if s.incomplete else ""))
    if s.side_files:
        click.echo(f"  逐条评分 / every review ({s.reviews:,}): "
                   + ", ".join(terminal_text(str(part)) for part in s.side_files))
    for sheet in s.cut:
        click.echo(f"  {terminal_text(sheet)}：超过 Excel 行数上限，已截断，完整数据见逐条评分 CSV / cut at Excel's "
                   "row limit; the complete data is in the CSV")


@click.command()
@db_argument
@click.option("-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="复核评审包目录 / directory for the re-review packages")
@click.option("--list", "listing", is_flag=True, help="列出未结的争议 / list the open disputes")
@click.option("--all", "every", is_flag=True, help="与 --list 同用：也列出已结的 / with --list: closed ones too")
@click.option("--accept", "accept", nargs=2, metavar="TARGET INDICATOR", default=None,
              help="接受该项的汇总得分，结束争议（须 --reason）/ accept the consolidated value (needs --reason)")
@click.option("--reason", default=None, help="接受的理由，记入审计 / why it is accepted (kept for audit)")
@click.option("--kind", "target_kind", type=click.Choice(["site", "case"]), default=None,
              help="TARGET 的类型（编号在网站与案例中重复时）/ the kind of TARGET, when its id is ambiguous")
@ALLOW_INCOMPLETE
@output_options
def disputes(db: Path, out: Path | None, listing: bool, every: bool, accept: tuple[str, str] | None,
             reason: str | None, target_kind: str | None, allow_incomplete: bool, fmt: str) -> None:
    """Disputed items: issue re-review packages (-o), list them (--list), or accept a value (--accept).

    A dispute is open until a re-review of it is merged or the coordinator accepts its consolidated value.
    Issuing and listing exit 1 while the round has no merged export or targets are short of reviews, unless
    --allow-incomplete.

    \b
    Example:
      workbench disputes round.db -o re-review/
      workbench disputes round.db --list --format csv > disputes.csv
      workbench disputes round.db --accept S012 C4.3 --reason "复核会议确认 2022-11-30"
    """
    from workbench.cli.output import render, terminal_text
    from workbench.consolidation import disputes as life
    from workbench.consolidation.status import check_complete
    from workbench.model import TARGET_LABELS, TargetKind

    chosen = [name for name, on in (("-o", out is not None), ("--list", listing), ("--accept", accept)) if on]
    if len(chosen) != 1:
        raise click.UsageError("请只选一项：-o DIR、--list 或 --accept TARGET INDICATOR / "
                               "choose exactly one of -o DIR, --list or --accept TARGET INDICATOR")
    if accept is not None:
        item = life.accept_dispute(db, accept[0], accept[1], reason or "",
                                   target_kind=TargetKind(target_kind) if target_kind else None)
        click.echo(terminal_text(
            f"已接受 / accepted: {item.target_id} {item.indicator} {item.indicator_name} 汇总得分 {item.consensus}"))
        return
    if not allow_incomplete:
        check_complete(life.progress(db), "disputes")
    if listing:
        headers = ["类型", "编号", "名称", "指标代码", "指标名称", "各评审专家评分", "汇总得分", "原因", "复核专家",
                   "状态"]
        names = ["target_kind", "target_id", "target_name", "indicator", "indicator_name", "values", "consensus",
                 "reasons", "recipients", "status"]

        def row(i: life.DisputeItem) -> list[str]:
            return [
                i.target_kind.value, i.target_id, i.target_name, i.indicator, i.indicator_name,
                "; ".join(f"{r}={v}" for r, v in i.values), i.consensus,
                "、".join(life.REASON_LABELS.get(r, r) for r in i.reasons), " ".join(i.recipients),
                life.STATUS_LABELS[i.status],
            ]

        with life.open_disputes(db, every=every) as listed:
            if fmt == "csv":  # a national round lists 400k disputes: printed as they come, never all held
                from workbench.cli.output import csv_chunks

                for chunk in csv_chunks(headers, map(row, listed)):
                    click.echo(chunk, nl=False)
                return
            items = list(listed)
        if fmt == "json":
            from workbench.cli.output import json_text
            from workbench.search.lookup import json_value

            click.echo(json_text([{
                "target_kind": i.target_kind.value, "target_id": i.target_id, "target_name": i.target_name,
                "indicator": i.indicator, "indicator_name": i.indicator_name,
                "values": {r: json_value(v) for r, v in i.values}, "consensus": json_value(i.consensus),
                "reasons": list(i.reasons),
                "recipients": list(i.recipients), "status": i.status, "accepted_reason": i.accepted_reason,
            } for i in items]))
            return
        if not items:
            click.echo("（没有未结的争议 / no open disputes）", err=True)
        click.echo(render(headers, [row(i) for i in items], fmt, names))
        return
    assert out is not None
    with progress_bar("复核评审包 / packages") as progress:
        issued = life.issue_rereview_packages(db, out, allow_incomplete=True, on_progress=progress)
    if not issued:
        click.echo("没有需要复核的评分 / nothing to send back for re-review")
    for info, pairs in issued:
        click.echo(terminal_text(f"{info.reviewer_id}: {info.path}  复核项 {info.pairs}  nonce {info.nonce}"))
        for kind, target_id, indicator in pairs:
            click.echo(terminal_text(f"  {TARGET_LABELS[TargetKind(kind)]} {target_id} {indicator}"))


@click.command()
@db_argument
@output_options
def calibration(db: Path, fmt: str) -> None:
    """How far each reviewer's calibration scores (校准) lie from the consensus, or from the reference scores.

    Per reviewer: the overall severity (mean deviation as a share of the points; negative = harsh) and a flag
    beyond 校准阈值 (rule calibration_threshold, default 10%); per reviewer and indicator: the mean deviation.

    \b
    Example:
      workbench calibration round.db
      workbench calibration round.db --format csv > calibration.csv
    """
    from workbench.cli.output import json_text, render
    from workbench.consolidation.calibration import (
        DEVIATION_COLUMNS,
        REVIEWER_COLUMNS,
        calibration_result,
        deviation_rows,
        reviewer_rows,
    )
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    store = Store.open(db, expect=KIND_ROUND)
    try:
        result = calibration_result(store)
    finally:
        store.close()

    def text(value: object) -> str:
        return "" if value is None else str(value)

    people = [[text(v) for v in row] for row in reviewer_rows(result)]
    cells = [[text(v) for v in row] for row in deviation_rows(result)]
    r_keys = ("reviewer", "name", "compared", "severity_percent", "absolute_percent", "leaning", "flag")
    d_keys = ("reviewer", "indicator", "indicator_name", "targets", "mean_points", "mean_percent", "flag")
    if fmt == "json":
        click.echo(json_text({
            "targets": [{"target_kind": k.kind.value, "target_id": k.id} for k in result.targets],
            "threshold_percent": None if result.threshold is None else text(result.threshold * 100),
            "reference_cells": result.references,
            "reviewers": [dict(zip(r_keys, row, strict=True)) for row in people],
            "deviations": [dict(zip(d_keys, row, strict=True)) for row in cells],
        }))
        return
    click.echo(render(REVIEWER_COLUMNS, people, fmt))
    click.echo("")
    click.echo(render(DEVIATION_COLUMNS, cells, fmt))
    if fmt == "table":
        flagged = [r.reviewer_id for r in result.reviewers if r.flagged]
        limit = "（未设 / off）" if result.threshold is None else f"{text(result.threshold * 100)}%"
        click.echo(f"\n校准对象 {len(result.targets)} 个，参考分 {result.references} 项；校准阈值 {limit}；"
                   f"超出阈值的评审专家 {len(flagged)} 位{'：' + ' '.join(flagged) if flagged else ''} / "
                   f"{len(result.targets)} calibration target(s), {result.references} reference score(s); "
                   f"{len(flagged)} reviewer(s) beyond the threshold")


COMMANDS = (keys, verify, merge, status, report, disputes, calibration)
