"""Publishing results and auditing them: `publish` (the coordinator) and `audit` (anyone, without the round database).

Module-level imports stay at click: every command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workbench.cli.base import Refused, db_argument


@click.command()
@db_argument
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="协调人私钥文件（workbench keygen -o coord.key）/ the coordinator's secret key file")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="发布包（目录，或加 --zip 时的 .zip 文件）/ the bundle to write (a directory, or a .zip with --zip)")
@click.option("--zip", "as_zip", is_flag=True, help="写成一个 .zip 文件 / write the bundle as one zip file")
@click.option("--allow-incomplete", is_flag=True,
              help="尚缺评分、有未结争议或申诉时也发布，清单中注明 / publish while reviews are missing or disputes or "
                   "appeals open; the manifest says so, with the counts")
@click.option("--provisional", is_flag=True,
              help="公示版：在 --until 之前受理申诉 / the provisional publication (公示): appeals are taken "
                   "until --until")
@click.option("--until", "until", default=None, metavar="DATE",
              help="公示截止日期（北京时间，含当天），如 2023-01-10 / the last day of the 公示 window (Beijing time, "
                   "included), e.g. 2023-01-10")
def publish(db: Path, key_file: Path, out: Path, as_zip: bool, allow_incomplete: bool, provisional: bool,
            until: str | None) -> None:
    """Write the signed publication bundle, from which anyone can re-derive every published number.

    The bundle holds the set-up tables, the keyring, every merged export as received, the ledger, past results
    and the report, with a manifest of every file's SHA-256 signed with the coordinator's key (minisign format).
    Beside it: a results page (BUNDLE.results.xlsx and .html) for the public. Exit 1 while assigned reviews are
    missing or disputes open (unless --allow-incomplete), or while merged scores come from a key revoked since.
    The passphrase is asked without echo, or read from WORKBENCH_PASSPHRASE.

    With --provisional --until DATE it is the 公示 bundle: its manifest says so and records the window, and the
    round takes appeals against it until DATE (workbench appeals). The final publication that follows exits 1
    while appeals are open (unless --allow-incomplete), names the provisional manifest's SHA-256 and carries the
    appeals log.

    \b
    Example:
      workbench keygen -o coord.key
      workbench publish round.db --key coord.key --provisional --until 2023-01-10 -o 公示-2022
      workbench publish round.db --key coord.key -o bundle-2022
      workbench publish round.db --key coord.key -o bundle-2022.zip --zip
    """
    from workbench.cli.output import terminal_text
    from workbench.consolidation.appeal_intake import parse_date
    from workbench.publish.bundle import publish as write_bundle
    from workbench.signed.keys import read_passphrase

    if provisional != (until is not None):
        raise click.UsageError("--provisional 与 --until DATE 须同用 / --provisional and --until DATE go together")
    window = None
    if until is not None:
        window = parse_date(until)
        if window is None:
            raise click.BadParameter(f"「{until}」不是日期，请写作 2023-01-10 / {until!r} is not a date: write it as "
                                     "2023-01-10", param_hint="--until")
    summary = write_bundle(db, key_file, out, passphrase=read_passphrase(confirm=False), as_zip=as_zip,
                           allow_incomplete=allow_incomplete, provisional_until=window)
    click.echo(
        (f"公示期至 {summary.provisional_until}（北京时间，含当天），期间受理申诉：workbench appeals "
         f"{terminal_text(str(db))} 申诉.xlsx / the 公示 window ends on {summary.provisional_until}: appeals are "
         "taken until then\n"
         if summary.provisional_until else "")
        + f"已发布 / published: {terminal_text(str(summary.path))}"
        + ("" if summary.complete else "（未完成 / incomplete, as the manifest says）") + "\n"
        f"  文件 / files {summary.files}，导出 / exports {summary.exports}，账本 / ledger rows {summary.ledger}\n"
        f"  manifest.json sha256 {summary.manifest_sha256}\n"
        f"  结果页 / results page: {', '.join(terminal_text(str(p)) for p in summary.page)}\n"
        f"  协调人公钥（请公布）/ coordinator's key (publish it): {summary.coordinator_key}\n"
        f"  核验 / check:  minisign -Vm {terminal_text(str(summary.path))}/manifest.json -P {summary.coordinator_key}\n"
        f"  复核 / audit:  workbench audit {terminal_text(str(summary.path))} --coordinator-key "
        f"{summary.coordinator_key}"
    )


@click.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--coordinator-key", "key", required=True,
              help="协调人公钥（一行 minisign 公钥，从发布方处获得，不取自发布包）/ the coordinator's public key line, "
                   "from the publisher (never taken from the bundle)")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写出本次复核的报告 / write the audit's own report to this file")
def audit(bundle: Path, key: str, out: Path | None) -> None:
    """Re-derive every published number of BUNDLE (a directory or a .zip), without the round database.

    Checks the manifest's signature with the coordinator's key and every file's hash, rebuilds the round in a
    scratch database from the bundle alone, replays the ledger verifying each export as it was merged,
    consolidates and compares every cell of the report and every row of its side file. Exit 0 prints
    "reproduced: N targets, M values identical"; exit 1 names the first difference or the failing file.

    \b
    Example:
      workbench audit bundle-2022 --coordinator-key "RWQ…"
      workbench audit bundle-2022.zip --coordinator-key "RWQ…" -o audit.txt
    """
    from workbench.cli.output import terminal_text
    from workbench.errors import AuditFailure
    from workbench.publish.audit import audit_bundle

    def step(what: str) -> None:
        if sys.stderr.isatty():
            click.echo(f"… {what}", err=True)

    try:
        result = audit_bundle(bundle, key, on_progress=step)
    except AuditFailure as exc:
        if out is not None:
            _write(out, [f"NOT REPRODUCED: {exc.message}"])
        raise Refused(terminal_text(f"未能复现 / not reproduced: {exc.code}\n  {exc.where}\n  {exc.reason}",
                                    multiline=True)) from exc
    if out is not None:
        _write(out, result.lines)
    click.echo(result.summary)


def _write(out: Path, lines: list[str]) -> None:
    try:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"无法写入 / cannot write {out}: {exc.strerror}") from exc


COMMANDS = (publish, audit)
