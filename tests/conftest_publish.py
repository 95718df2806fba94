"""The publication tests' coordinator key, a merged and settled round, and what a dishonest coordinator would do.

A test module takes the fixtures with `from conftest_publish import *` (which brings the cycle fixture too)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest_merge import PASS, REVIEWERS, cycle

from workbench.consolidation.disputes import accept_dispute, list_disputes
from workbench.consolidation.merge import merge_exports
from workbench.publish.bundle import publish
from workbench.signed.keys import generate_secret_key, write_secret_key

__all__ = ["coordinator", "cycle", "merged"]


def settle(db: Path) -> None:
    """The panel settled every open dispute: each accepted, with the reason kept."""
    for item in list_disputes(db):
        accept_dispute(db, item.target_id, item.indicator, "专家组会议确认")


@pytest.fixture
def coordinator(tmp_path: Path) -> tuple[Path, str]:
    secret = generate_secret_key()
    path = tmp_path / "coord.key"
    write_secret_key(path, secret, PASS, scrypt_n=2**10)
    return path, secret.public.line


@pytest.fixture
def merged(cycle: dict[str, Path]) -> dict[str, Path]:
    report = merge_exports(cycle["db"], [cycle[f"{r}.xlsx"] for r in REVIEWERS], workers=0)
    assert len(report.merged) == 3
    settle(cycle["db"])
    return cycle


def published(merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, **kwargs: Any) -> Path:
    out = tmp_path / "bundle"
    publish(merged["db"], coordinator[0], out, passphrase=PASS, **kwargs)
    return out


def resign(bundle: Path, key_file: Path) -> None:
    """What a coordinator who changed a file would do: list the new hashes and sign the manifest again."""
    from workbench.publish.bundle import sign_manifest
    from workbench.signed.keys import load_secret_key

    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    files = []
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and not p.name.startswith("manifest.json")):
        data = path.read_bytes()
        files.append({"path": path.relative_to(bundle).as_posix(), "sha256": hashlib.sha256(data).hexdigest(),
                      "size": len(data)})
    manifest["files"] = files
    data = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    (bundle / "manifest.json").write_bytes(data)
    (bundle / "manifest.json.minisig").write_text(
        sign_manifest(data, load_secret_key(key_file, PASS), manifest["published_at"]), encoding="utf-8")




def rewrite_members(workbook: Path, change: Callable[[str, bytes], bytes]) -> None:
    """A workbook changed member by member, as a byte-level edit would leave it: change(name, bytes) → bytes."""
    with zipfile.ZipFile(workbook) as archive:
        members = [(info.filename, change(info.filename, archive.read(info))) for info in archive.infolist()]
    with zipfile.ZipFile(workbook, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
