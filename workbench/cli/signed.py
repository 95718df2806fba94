"""CLI commands for keys, signed export, verification and the Excel round-trip (registered by cli.py).

Module-level imports stay at click only: every command imports what it needs when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from workbench.errors import FailureCode

_KEY_HELP = (
    "私钥文件，默认 $WORKBENCH_KEY 或 ~/.config/workbench/workbench.key / secret key file "
    "(default: $WORKBENCH_KEY, else $XDG_CONFIG_HOME/workbench/workbench.key, i.e. ~/.config/workbench/workbench.key)"
)


def register(cli: click.Group) -> None:
    """Add keygen, keys, export, verify and import-scores to the workbench command group."""
    for command in (keygen, keys, export, verify, import_scores_cmd):
        cli.add_command(command)


def _fail(exc: Any) -> click.ClickException:
    from workbench.cli.main import refuse

    return refuse(exc)


# ------------------------------------------------------------------------------------------------ keys


@click.command()
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="私钥文件路径（公钥写在旁边的 .pub）/ where to write the secret key (public key beside it as .pub); "
                   "default: $WORKBENCH_KEY, else ~/.config/workbench/workbench.key")
def keygen(out: Path | None) -> None:
    """Make your Ed25519 signing key pair (reviewers, once).

    The secret key file is encrypted under a passphrase (scrypt + ChaCha20-Poly1305) and written with mode
    0600; the passphrase is asked twice without echo, or read from WORKBENCH_PASSPHRASE in scripts. Send
    the printed public key line to the coordinator and confirm the key id by phone.

    \b
    Example:
      workbench keygen
      workbench keygen -o ~/keys/zhang.key
    """
    import os

    from workbench.errors import KeyFileExists, WorkbenchError
    from workbench.signed.export import default_key_file
    from workbench.signed.keys import (
        generate_secret_key,
        pub_path_for,
        read_passphrase,
        write_secret_key,
    )

    path = out or default_key_file()
    try:
        for existing in (path, pub_path_for(path)):
            if os.path.lexists(existing):
                raise KeyFileExists(
                    f"文件已存在，不会覆盖 / {existing} already exists and will not be overwritten; "
                    "choose another path with -o or move the old key away first"
                )
        if out is None:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        passphrase = read_passphrase(confirm=True)
        secret = generate_secret_key()
        write_secret_key(path, secret, passphrase)
    except WorkbenchError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        raise click.ClickException(f"无法写入 / cannot write {path}: {exc.strerror}") from exc
    click.echo(
        f"已生成密钥 / key pair written\n"
        f"  私钥 / secret key  {path}  （口令保护 / passphrase-protected, mode 0600）\n"
        f"  公钥 / public key  {pub_path_for(path)}\n"
        f"  密钥编号 / key id  {secret.key_id_text}\n"
        f"请把下面这一行公钥发给协调人，并电话核对密钥编号 / send this line to the coordinator and confirm the "
        f"key id by phone:\n{secret.public.line}"
    )


@click.group()
def keys() -> None:
    """The coordinator's keyring in a round database: add, list, revoke reviewers' public keys.

    \b
    Example:
      workbench keys add round.db R07 "RWQ…"
      workbench keys list round.db
      workbench keys revoke round.db 1A2B3C4D5E6F7081
    """


@keys.command("add")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
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
    from workbench.errors import WorkbenchError
    from workbench.signed.keyring import add_key, read_public_key_argument

    try:
        change = add_key(db, reviewer, read_public_key_argument(public_key))
    except WorkbenchError as exc:
        raise _fail(exc) from exc
    record = change.record
    if not change.changed:
        click.echo(f"密钥 {record.key_id} 已登记给评审专家 {record.reviewer_id}，无需重复 / already registered")
        return
    click.echo(f"已登记密钥 / registered key {record.key_id} for reviewer {record.reviewer_id}")
    if change.replaced:
        click.echo(
            f"  轮换 / rotated: 此后签发的评审包记录新密钥；旧密钥 {change.replaced} 仍可验证此前签发的评审包的导出 / "
            f"new packages record the new key; key {change.replaced} still verifies exports of packages issued before"
        )
    click.echo(f"  下一步 / next: workbench package {db} --reviewer {record.reviewer_id} -o {record.reviewer_id}.wbk")


@keys.command("list")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reviewer", default=None, help="只看某位评审专家 / only this reviewer")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="输出格式 / output format")
def keys_list(db: Path, reviewer: str | None, fmt: str) -> None:
    """List the keyring: key id, reviewer, when added and revoked, and which key new packages record.

    \b
    Example:
      workbench keys list round.db --format json
    """
    from workbench.cli.output import render
    from workbench.errors import WorkbenchError
    from workbench.signed.keyring import list_keys

    try:
        records = list_keys(db, reviewer)
    except WorkbenchError as exc:
        raise _fail(exc) from exc

    def status(r: Any) -> str:
        return "已吊销 revoked" if r.revoked else ("当前 current" if r.current else "有效 valid")

    headers = ["密钥编号", "评审专家", "状态", "登记时间", "吊销时间"]
    names = ["key_id", "reviewer_id", "status", "added_at", "revoked_at"]
    rows = [[r.key_id, r.reviewer_id, status(r), r.added_at, r.revoked_at or ""] for r in records]
    if fmt != "table":
        headers.append("公钥")
        names.append("public_key")
        rows = [row + [r.public_key] for row, r in zip(rows, records)]
    if not records and fmt == "table":
        click.echo("（密钥环为空 / the keyring is empty）", err=True)
    click.echo(render(headers, rows, fmt, names))


@keys.command("revoke")
@click.argument("db", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("key_id")
def keys_revoke(db: Path, key_id: str) -> None:
    """Revoke KEY_ID: nothing it signed verifies any more (REVOKED_KEY), whenever it was signed.

    To retire a key that was not compromised, add the reviewer's new key instead (rotation).

    \b
    Example:
      workbench keys revoke round.db 1A2B3C4D5E6F7081
    """
    from workbench.errors import WorkbenchError
    from workbench.signed.keyring import revoke_key

    try:
        change = revoke_key(db, key_id)
    except WorkbenchError as exc:
        raise _fail(exc) from exc
    record = change.record
    if not change.changed:
        click.echo(f"密钥 {record.key_id} 已于 {record.revoked_at} 吊销 / already revoked at {record.revoked_at}")
        return
    click.echo(
        f"已吊销密钥 / revoked key {record.key_id} of reviewer {record.reviewer_id}\n"
        f"  用它签名的导出不再通过核验；请评审专家生成新密钥，登记后重新签发评审包 / exports signed with it no longer "
        "verify; have the reviewer make a new key, add it, and issue a new package"
    )


# ------------------------------------------------------------------------------------ export & verify


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
    from workbench.errors import WorkbenchError
    from workbench.signed.export import check_export, export_package
    from workbench.signed.keys import read_passphrase

    try:
        check_export(package, key_file=key_file, allow_incomplete=allow_incomplete, blank=blank)
        passphrase = None if blank else read_passphrase(confirm=False)
        result = export_package(package, out, key_file=key_file, passphrase=passphrase,
                                allow_incomplete=allow_incomplete, blank=blank)
    except WorkbenchError as exc:
        raise _fail(exc) from exc
    if not result.signed:
        click.echo(
            f"已生成空白评分表（未签名）/ unsigned worksheet written: {result.path}\n"
            f"  评审专家 {result.reviewer_id}  对象 {result.targets}  评分项 {result.rows}\n"
            f"  填写「得分」「备注」「佐证链接」后导入 / fill in 得分, 备注, 佐证链接, then:  "
            f"workbench import-scores {package} {result.path}"
        )
        return
    click.echo(
        f"已签名导出 / signed export written: {result.path}\n"
        f"  评审专家 / reviewer {result.reviewer_id}  轮次 / round {result.round_id}  导出序号 / seq {result.seq}\n"
        f"  对象 / targets {result.targets}  评分项 / rows {result.rows}  密钥 / key id {result.key_id}\n"
        f"  sha256 {result.payload_sha256}"
    )
    if result.unscored:
        click.echo(f"注意 / note: {result.unscored} 项未评分 / indicator(s) not scored", err=True)


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
    from workbench.errors import SignatureError, WorkbenchError
    from workbench.signed.verify import extract_payload, verify_export

    try:
        verified = verify_export(file, round_db)
    except SignatureError as exc:
        from workbench.cli.main import Refused

        raise Refused(f"{exc.code}\n  {exc.message}") from exc
    except WorkbenchError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"核验通过 / verified: {file}\n"
        f"  评审专家 / reviewer  {verified.reviewer_id} {verified.reviewer_name}\n"
        f"  密钥 / key id        {verified.key_id}\n"
        f"  轮次 / round         {verified.round_id}\n"
        f"  导出序号 / seq       {verified.seq}\n"
        f"  评分行 / rows        {len(verified.rows)}"
    )
    if verified.replay == FailureCode.ALREADY_MERGED:
        click.echo("  已合并过，合并时不会重复计入 / already merged: merging it again changes nothing")
    if extract_dir is not None:
        from workbench.signed.keyring import list_keys

        payload_path, sig_path = extract_payload(verified, extract_dir)
        line = next((k.public_key for k in list_keys(round_db) if k.key_id == verified.key_id), "")
        click.echo(f"  已写出 / extracted: {payload_path}, {sig_path}\n"
                   f"  独立核验 / check independently:  minisign -Vm {payload_path} -P {line}")


@click.command("import-scores")
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_scores_cmd(package: Path, file: Path) -> None:
    """Load the values typed into a worksheet of this package back into it.

    Takes the worksheet from `export --blank` (or a signed export). Values are checked as the app checks
    them and every change is audited; one bad cell and nothing changes. An empty cell never erases a
    value, note or link the package holds; a pair changed in the app since the worksheet was exported is
    refused as a conflict.

    \b
    Example:
      workbench import-scores R07.wbk R07-blank.xlsx
    """
    from workbench.errors import WorkbenchError
    from workbench.signed.import_scores import import_scores

    try:
        result = import_scores(package, file)
    except WorkbenchError as exc:
        raise _fail(exc) from exc
    click.echo(f"已导入 / imported {result.path}: 读取 {result.rows} 行 / rows read, 更改 {result.changed} 项 / "
               f"changed, 未变 {result.unchanged} 项 / unchanged")
