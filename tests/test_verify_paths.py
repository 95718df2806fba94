"""Files as they arrive: names that are not UTF-8 (unzip of a zip made on Chinese Windows) verify and merge and
read well everywhere; a directory or a pipe in place of a file is refused with a code, never opened."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import World

from workbench.cli.main import cli
from workbench.errors import FailureCode, SignatureError
from workbench.signed.verify import verify_export
from workbench.signed.worksheet import display_name
from workbench.signed.xlsxcheck import check_xlsx


def renamed(signed: Path, raw_name: bytes) -> Path:
    target = signed.with_name(os.fsdecode(raw_name))
    signed.rename(target)
    return target


def test_an_export_named_in_gbk_verifies_merges_and_reads_as_chinese(signed: Path, world: World) -> None:
    path = renamed(signed, "张伟-评分.xlsx".encode("gbk"))
    assert display_name(path) == "张伟-评分.xlsx"
    assert verify_export(path, world.round_db).rows
    result = CliRunner().invoke(cli, ["verify", str(path), "--keyring", str(world.round_db)])
    assert result.exit_code == 0, result.output
    assert "张伟-评分.xlsx" in result.output
    result = CliRunner().invoke(cli, ["merge", str(world.round_db), str(path)])
    assert result.exit_code == 0, result.output
    assert "张伟-评分.xlsx" in result.output
    names = sqlite3.connect(world.round_db).execute("SELECT file_name FROM submissions").fetchall()
    assert names == [("张伟-评分.xlsx",)]


def test_a_name_that_is_neither_utf8_nor_gbk_is_shown_escaped(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"\xff\xfe-R07.xlsx")
    assert display_name(path) == "\\xff\\xfe-R07.xlsx"


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_what_is_not_a_regular_file_is_refused_unopened(tmp_path: Path, world: World, kind: str) -> None:
    path = tmp_path / "R07-2022.xlsx"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)  # opening it for reading would block: the check must not
    for check in (lambda: check_xlsx(path), lambda: verify_export(path, world.round_db)):
        with pytest.raises(SignatureError) as refused:
            check()
        assert refused.value.code == FailureCode.NOT_A_FILE
        assert "not a regular file" in refused.value.message


def test_an_export_can_be_written_under_a_gbk_name(world: World, tmp_path: Path) -> None:
    from conftest_signing import PASSPHRASE

    from workbench.signed.export import export_package

    out = tmp_path / os.fsdecode("张伟.xlsx".encode("gbk"))
    result = export_package(world.package, out, key_file=world.key, passphrase=PASSPHRASE,
                            allow_incomplete=True)
    assert result.signed and out.is_file()
    assert verify_export(out, world.round_db).rows
