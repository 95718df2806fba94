"""The keygen, keys, export, verify and import-scores commands as a user runs them (CliRunner)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

# tests/ is not on mypy's path (no mypy_path in pyproject); the ignore stays harmless once it is.
from conftest_signing import *  # type: ignore[import-not-found, unused-ignore]  # noqa: F403  (fixtures)
from conftest_signing import PASSPHRASE, World, edit_workbook

from workbench.cli import coordinator, reviewer
from workbench.cli.base import WorkbenchGroup
from workbench.model import TargetKind
from workbench.signed.keys import generate_secret_key


@pytest.fixture
def cli() -> click.Group:
    """The signing commands alone (the reviewer's keygen, export, import-scores; the coordinator's keys, verify),
    under the group class that turns a core refusal into exit code 1."""
    group = WorkbenchGroup("workbench")
    for command in (reviewer.keygen, coordinator.keys, reviewer.export, coordinator.verify, reviewer.import_scores_cmd):
        group.add_command(command)
    return group


def run(cli: click.Group, *args: object, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def test_every_command_is_registered_with_help(cli: click.Group) -> None:
    assert set(cli.commands) == {"keygen", "keys", "export", "verify", "import-scores"}
    keys = cli.commands["keys"]
    assert isinstance(keys, click.Group) and set(keys.commands) == {"add", "list", "revoke"}
    for name in ("keygen", "export", "verify", "import-scores", "keys"):
        result = run(cli, name, "--help")
        assert result.exit_code == 0 and "Example" in result.output, name
    assert "~/.config/workbench/workbench.key" in run(cli, "keygen", "--help").output


def test_module_imports_only_click() -> None:
    code = ("import sys, workbench.cli.main; "
            "print(sorted(m for m in ('openpyxl', 'python_calamine', 'cryptography', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_keygen_writes_an_encrypted_key_and_prints_the_public_line(cli: click.Group, tmp_path: Path) -> None:
    key = tmp_path / "zhang.key"
    result = run(cli, "keygen", "-o", key, env={"WORKBENCH_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("RW") and (tmp_path / "zhang.key.pub").read_text().splitlines()[1] == line
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    document = json.loads(key.read_text())
    assert document["kdf"]["name"] == "scrypt" and document["aead"] == "chacha20-poly1305"
    assert document["key_id"] in result.output
    again = run(cli, "keygen", "-o", key, env={"WORKBENCH_PASSPHRASE": PASSPHRASE})
    assert again.exit_code == 1 and "already exists" in again.output


def test_keygen_defaults_to_the_config_directory(cli: click.Group, tmp_path: Path) -> None:
    result = run(cli, "keygen", env={"WORKBENCH_PASSPHRASE": PASSPHRASE, "XDG_CONFIG_HOME": str(tmp_path),
                                     "WORKBENCH_KEY": ""})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "workbench" / "workbench.key").is_file()
    assert stat.S_IMODE((tmp_path / "workbench").stat().st_mode) == 0o700


def test_keys_add_list_revoke(cli: click.Group, round_db: Path, tmp_path: Path) -> None:
    first, second = generate_secret_key(), generate_secret_key()
    added = run(cli, "keys", "add", round_db, "R05", first.public.line)
    assert added.exit_code == 0 and first.key_id_text in added.output and "workbench package" in added.output
    pub = tmp_path / "new.pub"
    pub.write_text(second.public.file_text)
    rotated = run(cli, "keys", "add", round_db, "R05", pub)
    assert rotated.exit_code == 0 and first.key_id_text in rotated.output  # the old key named as still valid
    listed = json.loads(run(cli, "keys", "list", round_db, "--format", "json").output)
    assert [(k["key_id"], k["status"]) for k in listed] == [
        (first.key_id_text, "有效 valid"), (second.key_id_text, "当前 current")]
    assert listed[1]["public_key"] == second.public.line
    revoked = run(cli, "keys", "revoke", round_db, first.key_id_text)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    table = run(cli, "keys", "list", round_db).output
    assert "已吊销" in table and second.key_id_text in table


def test_keys_refusals_exit_1_with_a_sentence(cli: click.Group, round_db: Path) -> None:
    secret = generate_secret_key()
    unknown = run(cli, "keys", "add", round_db, "R99", secret.public.line)
    assert unknown.exit_code == 1 and "R99" in unknown.output
    bad = run(cli, "keys", "add", round_db, "R01", "not a key")
    assert bad.exit_code == 1 and "minisign" in bad.output
    run(cli, "keys", "add", round_db, "R01", secret.public.line)
    taken = run(cli, "keys", "add", round_db, "R02", secret.public.line)
    assert taken.exit_code == 1 and "R01" in taken.output
    missing = run(cli, "keys", "revoke", round_db, "00000000000000AB")
    assert missing.exit_code == 1 and "00000000000000AB" in missing.output


def test_export_verify_extract(cli: click.Group, world: World, tmp_path: Path) -> None:
    out = tmp_path / "R01-2022.xlsx"
    exported = run(cli, "export", world.package, "-o", out, "--key", world.key)
    assert exported.exit_code == 0, exported.output
    assert "seq 1" in exported.output and world.secret.key_id_text in exported.output
    verified = run(cli, "verify", out, "--keyring", world.round_db, "--extract", tmp_path / "x")
    assert verified.exit_code == 0, verified.output
    for expected in ("R01 张明远", world.secret.key_id_text, "2022", "seq       1", "minisign -Vm"):
        assert expected in verified.output
    assert world.secret.public.line in verified.output
    assert (tmp_path / "x" / "payload.json").is_file() and (tmp_path / "x" / "payload.json.minisig").is_file()
    second = run(cli, "export", world.package, "-o", tmp_path / "again.xlsx", "--key", world.key)
    assert "seq 2" in second.output


def test_export_key_defaults_to_workbench_key(cli: click.Group, world: World, tmp_path: Path) -> None:
    result = run(cli, "export", world.package, "-o", tmp_path / "a.xlsx",
                 env={"WORKBENCH_KEY": str(world.key), "WORKBENCH_PASSPHRASE": PASSPHRASE})
    assert result.exit_code == 0, result.output


def test_export_refusals_write_nothing(cli: click.Group, world: World, package_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "R01.xlsx"
    wrong = run(cli, "export", world.package, "-o", out, "--key", world.other_key)
    assert wrong.exit_code == 1 and world.secret.key_id_text in wrong.output
    unregistered = run(cli, "export", package_path, "-o", out, "--key", world.key)
    assert unregistered.exit_code == 1 and "keys add" in unregistered.output
    incomplete = run(cli, "export", package_path, "-o", out, "--key", world.key, "--allow-incomplete")
    assert incomplete.exit_code == 1  # still no registered key
    bad_pass = run(cli, "export", world.package, "-o", out, "--key", world.key,
                   env={"WORKBENCH_PASSPHRASE": "wrong"})
    assert bad_pass.exit_code == 1 and "passphrase" in bad_pass.output
    assert not out.exists()


def test_export_names_unscored_indicators(cli: click.Group, world: World, tmp_path: Path) -> None:
    from workbench.store.db import Store

    store = Store.open(world.package, expect="package")
    store.set_score(TargetKind.SITE, "S03", "B2.1", None)
    store.close()
    out = tmp_path / "R01.xlsx"
    refused = run(cli, "export", world.package, "-o", out, "--key", world.key)
    assert refused.exit_code == 1 and "B2.1" in refused.output and "--allow-incomplete" in refused.output
    assert not out.exists()
    allowed = run(cli, "export", world.package, "-o", out, "--key", world.key, "--allow-incomplete")
    assert allowed.exit_code == 0 and "1 项未评分" in allowed.output


def test_verify_refusal_prints_code_and_sentence(cli: click.Group, world: World, tmp_path: Path) -> None:
    out = tmp_path / "R01.xlsx"
    run(cli, "export", world.package, "-o", out, "--key", world.key)
    edit_workbook(out, lambda workbook: setattr(workbook["评分表"]["I3"], "value", 0))
    result = run(cli, "verify", out, "--keyring", world.round_db)
    assert result.exit_code == 1
    assert "EDITED_AFTER_SIGNING" in result.output and "评分表!I3" in result.output
    not_round = run(cli, "verify", out, "--keyring", world.package)
    assert not_round.exit_code == 1


def test_blank_export_and_import_scores(cli: click.Group, world: World, tmp_path: Path) -> None:
    blank = tmp_path / "blank.xlsx"
    written = run(cli, "export", world.package, "-o", blank, "--blank")
    assert written.exit_code == 0 and "import-scores" in written.output
    unchanged = run(cli, "import-scores", world.package, blank)
    assert unchanged.exit_code == 0 and "更改 0 项" in unchanged.output
    edit_workbook(blank, lambda workbook: setattr(workbook["评分表"]["I2"], "value", 99))
    refused = run(cli, "import-scores", world.package, blank)
    assert refused.exit_code == 1 and "评分表!I2" in refused.output and "nothing was changed" in refused.output
    rejected = run(cli, "verify", blank, "--keyring", world.round_db)
    assert rejected.exit_code == 1 and "BLANK_WORKSHEET" in rejected.output
