"""Fixtures for signing tests: rounds with registered keys, fully scored packages, signed exports, tampering.

A test module takes the fixtures with `from conftest_signing import *` and helpers by name; fixtures build
once per session and hand each test private copies.
"""

from __future__ import annotations

import fcntl
import hashlib
import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

from workbench.signed.keys import SecretKey, generate_secret_key, write_secret_key

CHEAP_N = 2**10  # tests need the code path, not the memory-hard cost
PASSPHRASE = "评审口令 test passphrase"
ROOT = Path(__file__).resolve().parent.parent
NOTES = (
    "", "=SUM(A1:A2)", "+86 10 1234 5678", "-3 分：栏目空白", "@张三 复核", "\t缩进的备注", "\r回车开头",
    "#N/A", "首页\n栏目更新不及时", " 前后有空格 ", "正常备注", "Cafe\u0301 分解形式（NFD）", "控制\x07字符",
)
_SOFFICE_LOCK = Path("/tmp/workbench-soffice.lock")

# Fixtures a test module takes with `from conftest_signing import *`.
__all__ = [
    "check_round", "check_world", "check_world_template", "signed", "signed_template", "world",
    "world_template",
]


@dataclass(frozen=True)
class World:
    """A round whose reviewers R01 and R02 registered keys, and R01's fully scored package."""

    dir: Path
    round_db: Path
    package: Path
    key: Path
    other_key: Path
    secret: SecretKey
    other_secret: SecretKey


def fill_package(package: Path, seed: int = 7) -> None:
    """Score every pair the way a reviewer would (audited), with N/A, vetoes, deductions and awkward notes."""
    from workbench.model import NA, IndicatorKind
    from workbench.scoring.indicators import IndicatorTree
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    rnd = random.Random(seed)
    store = Store.open(package, expect=KIND_PACKAGE)
    try:
        tree = IndicatorTree(store.indicators())
        for index, score in enumerate(store.scores()):
            leaf = tree.get(score.indicator)
            value: Decimal | str
            if leaf.allow_na and rnd.random() < 0.2:
                value = NA
            elif leaf.kind == IndicatorKind.VETO:
                value = Decimal(1 if rnd.random() < 0.05 else 0)
            elif leaf.kind == IndicatorKind.DEDUCT:
                value = leaf.step * rnd.randint(0, int((leaf.max_score + 2) / leaf.step))
            else:
                value = leaf.step * rnd.randint(0, int(leaf.max_score / leaf.step))
            evidence = f"https://www.gov.cn/zhengce/{index}.htm" if index % 3 == 0 else ""
            store.set_score(score.target_kind, score.target_id, score.indicator, value,
                            note=NOTES[index % len(NOTES)], evidence=evidence)
    finally:
        store.close()


def _make_world(base: Path, round_source: Path) -> World:
    from workbench.setup.package import make_package
    from workbench.signed.keyring import add_key

    base.mkdir(parents=True, exist_ok=True)
    round_db = base / "round.db"
    shutil.copyfile(round_source, round_db)
    secret, other = generate_secret_key(), generate_secret_key()
    write_secret_key(base / "r01.key", secret, PASSPHRASE, scrypt_n=CHEAP_N)
    write_secret_key(base / "r02.key", other, PASSPHRASE, scrypt_n=CHEAP_N)
    add_key(round_db, "R01", secret.public.line)
    add_key(round_db, "R02", other.public.line)
    package = make_package(round_db, "R01", base / "R01.wbk").path
    fill_package(package)
    return World(base, round_db, package, base / "r01.key", base / "r02.key", secret, other)


def _copy_world(template: World, dest: Path) -> World:
    shutil.copytree(template.dir, dest)
    return World(dest, dest / template.round_db.name, dest / template.package.name, dest / template.key.name,
                 dest / template.other_key.name, template.secret, template.other_secret)


@pytest.fixture(scope="session")
def world_template(built_round: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    return _make_world(tmp_path_factory.mktemp("world") / "w", built_round)


@pytest.fixture(scope="session")
def check_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2019 website-check round (veto and deduction indicators, N/A allowed), built once."""
    from workbench.setup.demo import setup_files
    from workbench.setup.round import init_round

    path = tmp_path_factory.mktemp("check") / "check-2019.db"
    init_round(path, "2019-check", setup_files(ROOT / "workbench" / "fixtures" / "check-2019"), name="抽查", year=2019)
    return path


@pytest.fixture(scope="session")
def check_world_template(check_round: Path, tmp_path_factory: pytest.TempPathFactory) -> World:
    return _make_world(tmp_path_factory.mktemp("checkworld") / "w", check_round)


@pytest.fixture
def world(world_template: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A private copy of the signing world; WORKBENCH_PASSPHRASE set for the CLI."""
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("WORKBENCH_KEY", raising=False)
    return _copy_world(world_template, tmp_path / "world")


@pytest.fixture
def check_world(check_world_template: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASSPHRASE)
    return _copy_world(check_world_template, tmp_path / "checkworld")


@pytest.fixture(scope="session")
def signed_template(world_template: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One signed export of the template world's package (valid against any copy of its round)."""
    from workbench.signed.export import export_package

    work = tmp_path_factory.mktemp("signed")
    package = work / "R01.wbk"
    shutil.copyfile(world_template.package, package)
    return export_package(package, work / "R01-2022.xlsx", key_file=world_template.key,
                          passphrase=PASSPHRASE).path


@pytest.fixture
def signed(signed_template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "R01-2022.xlsx"
    shutil.copyfile(signed_template, dest)
    return dest


# ------------------------------------------------------------------------------------------ tampering


def edit_workbook(path: Path, edit: Callable[[Any], None], out: Path | None = None) -> Path:
    """Open with openpyxl, apply `edit(workbook)`, save (to `out` or in place) — a user's edit and re-save."""
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    edit(workbook)
    target = out or path
    workbook.save(target)
    return target


def signed_parts(path: Path) -> tuple[dict[str, Any], str]:
    """The payload (parsed) and the minisig text of a signed export."""
    import json

    import openpyxl

    from workbench.signed.worksheet import join_payload

    sheet = openpyxl.load_workbook(path)["workbench_signature"]
    # The signature sheet holds text only: (name, value) pairs, the payload split over several rows.
    entries = [(row[0].value, cast(str, row[1].value)) for row in sheet.iter_rows()]
    fmt = next(v for k, v in entries if k == "format")
    payload = join_payload(fmt, [v for k, v in entries if k == "payload"])
    assert payload is not None, "the signature sheet's payload chunks are not base64"
    minisig = next(v for k, v in entries if k == "minisig")
    return json.loads(payload), minisig


def resign(path: Path, secret: SecretKey, mutate: Callable[[dict[str, Any]], None] | None = None,
           *, payload_bytes: bytes | None = None) -> Path:
    """Rewrite the signature sheet with a (mutated) payload signed by `secret`, as a forger holding that key
    would; the visible sheets are left as they were."""
    from workbench.signed.export import signature_rows
    from workbench.signed.signing import canonical_json, sign, trusted_comment_for

    doc, _ = signed_parts(path)
    if mutate is not None:
        mutate(doc)
    payload = payload_bytes if payload_bytes is not None else canonical_json(doc)
    digest = hashlib.sha256(payload).hexdigest()
    comment = trusted_comment_for(doc["export_id"], doc["reviewer_id"], doc["round_id"], doc["seq"],
                                  len(doc["rows"]), digest)
    minisig = sign(payload, secret, comment)
    rows = signature_rows(payload, minisig, digest)

    def edit(workbook: Any) -> None:
        sheet = workbook["workbench_signature"]
        sheet.delete_rows(1, sheet.max_row)
        for key, value in rows:
            sheet.append([key, value])
            for cell in sheet[sheet.max_row]:
                cell.data_type = "s"

    return edit_workbook(path, edit)


def libreoffice_resave(source: Path, outdir: Path) -> Path:
    """Re-save with LibreOffice as a coordinator's office suite would; one conversion at a time."""
    from conftest_tools import require_tool

    soffice = require_tool("soffice", "libreoffice-calc-nogui")
    outdir.mkdir(parents=True, exist_ok=True)
    profile = outdir.parent / f"lo-profile-{outdir.name}"
    with open(_SOFFICE_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [soffice, "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", "xlsx",
             "--outdir", str(outdir), str(source)],
            check=True, capture_output=True, timeout=180,
        )
    result = outdir / source.name
    assert result.is_file(), f"LibreOffice wrote no {result}"
    return result

