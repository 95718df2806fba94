"""Reviewer commands: make a key, grade a package in the app, export the signed worksheet, import a filled one.

Module-level imports stay at click: every command imports what it needs when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_KEY_HELP = (
    "私钥文件，默认 $WORKBENCH_KEY 或 ~/.config/workbench/workbench.key / secret key file "
    "(default: $WORKBENCH_KEY, else $XDG_CONFIG_HOME/workbench/workbench.key, i.e. ~/.config/workbench/workbench.key)"
)


@click.command()
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="私钥文件路径（公钥写在旁边的 .pub）/ where to write the secret key (public key beside it as .pub); "
                   "default: $WORKBENCH_KEY, else ~/.config/workbench/workbench.key (coordinator.key with "
                   "--coordinator)")
@click.option("--coordinator", is_flag=True,
              help="协调人的发布密钥（workbench publish --key）/ a coordinator's key, for signing publication bundles")
def keygen(out: Path | None, coordinator: bool) -> None:
    """Make an Ed25519 signing key pair: a reviewer's (once) or, with --coordinator, a coordinator's.

    The secret key file is encrypted under a passphrase (scrypt + ChaCha20-Poly1305) and written with mode
    0600; the passphrase is asked twice without echo, or read from WORKBENCH_PASSPHRASE in scripts. A reviewer
    sends the printed public key line to the coordinator and confirms the key id by phone; a coordinator
    publishes it with the results, so that anyone can check a bundle (`workbench audit --coordinator-key`).

    \b
    Example:
      workbench keygen
      workbench keygen -o ~/keys/zhang.key
      workbench keygen --coordinator -o coord.key
    """
    import os

    from workbench.cli.output import terminal_text
    from workbench.errors import KeyFileExists
    from workbench.signed.export import default_key_file
    from workbench.signed.keys import (
        generate_secret_key,
        pub_path_for,
        read_passphrase,
        write_secret_key,
    )

    default = default_key_file()
    if coordinator and not os.environ.get("WORKBENCH_KEY"):
        default = default.with_name("coordinator.key")
    path = out or default
    try:
        for existing in (path, pub_path_for(path)):
            if os.path.lexists(existing):
                raise KeyFileExists(
                    f"文件已存在，不会覆盖 / {existing} already exists and will not be overwritten; "
                    "choose another path with -o or move the old key away first"
                )
        if out is None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        passphrase = _new_passphrase(read_passphrase)
        secret = generate_secret_key()
        write_secret_key(path, secret, passphrase)
    except OSError as exc:
        raise click.ClickException(
            f"无法写入 / cannot write {terminal_text(str(path))}: {terminal_text(exc.strerror or '')}") from exc
    if coordinator:
        advice = (f"这是协调人的发布密钥：用它签署发布包（workbench publish ROUND.db --key {terminal_text(str(path))} "
                  "-o BUNDLE），并随结果公布下面这一行公钥，供任何人核验（workbench audit BUNDLE --coordinator-key …；"
                  "minisign -Vm manifest.json -P …）/ this is a coordinator's publishing key: sign bundles with it "
                  "(workbench publish ROUND.db --key … -o BUNDLE) and publish this line with the results, so that "
                  "anyone can check them (workbench audit BUNDLE --coordinator-key …; minisign -Vm manifest.json "
                  "-P …). Never register it as a reviewer's key:")
    else:
        advice = ("请把下面这一行公钥发给协调人，并电话核对密钥编号 / send this line to the coordinator and "
                  "confirm the key id by phone:")
    click.echo(
        f"已生成密钥 / key pair written\n"
        f"  私钥 / secret key  {terminal_text(str(path))}  （口令保护 / passphrase-protected, mode 0600）\n"
        f"  公钥 / public key  {terminal_text(str(pub_path_for(path)))}\n"
        f"  密钥编号 / key id  {secret.key_id_text}\n"
        f"{advice}\n{secret.public.line}"
    )


PASSPHRASE_ATTEMPTS = 3


def _new_passphrase(read: Any) -> str:
    """The new key's passphrase, typed twice; asked again (up to PASSPHRASE_ATTEMPTS times) when the two differ
    or it is empty. From WORKBENCH_PASSPHRASE there is nobody to ask: a refusal stands."""
    import os

    from workbench.errors import PassphraseRefused
    from workbench.signed.keys import PASSPHRASE_ENV

    for attempt in range(1, PASSPHRASE_ATTEMPTS + 1):
        try:
            passphrase: str = read(confirm=True)
            return passphrase
        except PassphraseRefused as exc:
            if os.environ.get(PASSPHRASE_ENV) is not None or attempt == PASSPHRASE_ATTEMPTS:
                raise
            click.echo(f"{exc.message}；请重新输入 / try again ({attempt}/{PASSPHRASE_ATTEMPTS})", err=True)
    raise AssertionError("unreachable")


@click.command()
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
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    Store.open(package_path, expect=KIND_PACKAGE).close()  # refuse anything else before any screen appears
    from workbench.tui.app import run_review

    run_review(package_path, lang)


@click.command("export")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出文件 / the .xlsx file to write")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_KEY_HELP)
@click.option("--allow-incomplete", is_flag=True, help="允许有未评分项 / export even with unscored indicators")
@click.option("--blank", is_flag=True,
              help="未签名的评分表，供在表格软件中填写后 import-scores / an unsigned worksheet to fill in and import")
def export(package: Path, out: Path, key_file: Path | None, allow_incomplete: bool, blank: bool) -> None:
    """Write your signed worksheet (评分表, 汇总 and the signature) for the coordinator.

    It refuses, before writing anything, while indicators are unscored (unless --allow-incomplete) and
    with any key other than the one registered for this package. Each signed export raises the package's
    export number (seq); the coordinator keeps the newest. The passphrase is asked without echo, or read
    from WORKBENCH_PASSPHRASE.

    \b
    Example:
      workbench export R07.wbk -o R07-2022.xlsx
      workbench export R07.wbk -o R07-blank.xlsx --blank
    """
    from workbench.cli.output import terminal_text
    from workbench.signed.export import check_export, export_package
    from workbench.signed.keys import read_passphrase
    from workbench.signed.worksheet import display_name

    check_export(package, key_file=key_file, allow_incomplete=allow_incomplete, blank=blank)
    passphrase = None if blank else read_passphrase(confirm=False)
    result = export_package(package, out, key_file=key_file, passphrase=passphrase,
                            allow_incomplete=allow_incomplete, blank=blank)
    written = terminal_text(str(result.path.parent / display_name(result.path)))
    if result.warning:
        click.echo(f"警告 / warning: {terminal_text(result.warning)}", err=True)
    if not result.signed:
        click.echo(
            f"已生成空白评分表（未签名）/ unsigned worksheet written: {written}\n"
            f"  评审专家 {terminal_text(result.reviewer_id)}  对象 {result.targets}  评分项 {result.rows}\n"
            f"  填写「得分」「备注」「佐证链接」后导入 / fill in 得分, 备注, 佐证链接, then:  "
            f"workbench import-scores {terminal_text(str(package))} {written}"
        )
        return
    click.echo(
        f"已签名导出 / signed export written: {written}\n"
        f"  评审专家 / reviewer {terminal_text(result.reviewer_id)}  轮次 / round {terminal_text(result.round_id)}  "
        f"导出序号 / seq {result.seq}\n"
        f"  对象 / targets {result.targets}  评分项 / rows {result.rows}  密钥 / key id {result.key_id}\n"
        f"  sha256 {result.payload_sha256}"
    )
    if result.unscored:
        click.echo(f"注意 / note: {result.unscored} 项未评分 / indicator(s) not scored", err=True)


@click.command("import-scores")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_scores_cmd(package: Path, file: Path) -> None:
    """Load the values typed into a worksheet of this package back into it, or carry your scores from an
    earlier package (FILE: the old .wbk, or a worksheet of it) into the one issued to replace it.

    Takes the worksheet from `export --blank` (or a signed export). Values are checked as the app checks
    them and every change is audited; one bad cell and nothing changes. An empty cell never erases a
    value, note or link the package holds; a pair changed in the app since the worksheet was exported is
    refused as a conflict. From an earlier package (even one superseded), the matching (target, indicator)
    pairs are carried, and every pair the new package no longer holds is listed.

    \b
    Example:
      workbench import-scores R07.wbk R07-blank.xlsx
      workbench import-scores R07-new.wbk R07.wbk
    """
    from workbench.cli.output import terminal_text
    from workbench.model import TARGET_LABELS, TargetKind
    from workbench.signed.import_scores import import_scores
    from workbench.signed.worksheet import display_name

    result = import_scores(package, file)
    shown = terminal_text(str(result.path.parent / display_name(result.path)))
    if result.carried_from is not None:
        click.echo(f"已从较早的评审包转入 / carried from the earlier package {terminal_text(result.carried_from)}")
    click.echo(f"已导入 / imported {shown}: 读取 {result.rows} 行 / rows read, 更改 {result.changed} 项 / "
               f"changed, 未变 {result.unchanged} 项 / unchanged")
    if result.dropped:
        click.echo(f"新评审包中已没有以下 {len(result.dropped)} 项，未转入 / {len(result.dropped)} pair(s) no longer "
                   "in this package, not carried:")
        for kind, target_id, indicator in result.dropped:
            click.echo(terminal_text(f"  {TARGET_LABELS[TargetKind(kind)]} {target_id} {indicator}"))


COMMANDS = (keygen, review, export, import_scores_cmd)
