"""Taking in a bundle as hostile input: copied into a scratch directory, its manifest's signature and hashes checked.

A directory bundle is copied file by file (a link, a device or a pipe is refused, never followed); a zip bundle is
extracted member by member into the scratch directory only: a member with an absolute path, a `..` segment, a
backslash or a drive, a link, an encrypted member, a name given twice, or more bytes than its header declares (or
than the limits allow) is refused. Everything after this reads the scratch copy alone, so what was hashed is what
is used. The coordinator's key comes from the caller, never from the bundle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from workbench.errors import AuditCode, AuditFailure, SignatureError
from workbench.publish import layout

MAX_BUNDLE_BYTES = 64 << 30
MAX_FILES = 1_000_000
MAX_MANIFEST_BYTES = 256 << 20
MAX_RATIO = 200
"""A zip member inflating more than this many times its compressed size (beyond 1 MiB) is taken for a bomb."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def _unsafe(where: str, zh: str, en: str) -> AuditFailure:
    return AuditFailure(AuditCode.UNSAFE_BUNDLE, where, f"{zh} / {en}")


def safe_member_name(name: str) -> PurePosixPath | None:
    """A zip member's or manifest's relative path, or None when it could leave the directory it is extracted to."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None
    path = PurePosixPath(name)
    if any(part in ("", ".", "..") for part in name.rstrip("/").split("/")):
        return None
    return path


def materialise(bundle: Path, root: Path) -> None:
    """Copy a bundle directory, or extract a bundle zip, into the empty directory ``root``."""
    try:
        mode = os.lstat(bundle).st_mode
    except OSError as exc:
        raise _unsafe(str(bundle), "无法读取", f"cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        _copy_directory(bundle, root)
    elif stat.S_ISREG(mode) and zipfile.is_zipfile(bundle):
        _extract_zip(bundle, root)
    else:
        raise _unsafe(str(bundle), "不是发布包（目录或 .zip）", "is not a bundle (a directory or a .zip)")


def _copy_directory(source: Path, root: Path) -> None:
    count = size = 0
    for directory, names, files in os.walk(source, followlinks=False):
        here = Path(directory)
        for name in sorted(names + files):
            path = here / name
            rel = path.relative_to(source).as_posix()
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise _unsafe(rel, "是链接或特殊文件，不予读取", "is a link or a special file, which no bundle holds")
            if stat.S_ISDIR(mode):
                (root / rel).mkdir(parents=True, exist_ok=True)
                continue
            count += 1
            size += os.lstat(path).st_size
            if count > MAX_FILES or size > MAX_BUNDLE_BYTES:
                raise _unsafe(rel, "发布包过大", "the bundle is larger than any publication")
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "rb", opener=_no_follow) as src, open(root / rel, "xb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _extract_zip(bundle: Path, root: Path) -> None:
    seen: set[str] = set()
    total = 0
    resolved = root.resolve()
    try:
        with zipfile.ZipFile(bundle) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_FILES:
                raise _unsafe(bundle.name, "成员过多", "the zip holds more members than any bundle")
            for info in infos:
                name = info.filename
                path = safe_member_name(name)
                if path is None:
                    raise _unsafe(name, "zip 成员的路径是绝对路径或含 ..，不予解压",
                                  "a zip member with an absolute or `..` path is never extracted")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise _unsafe(name, "zip 成员是链接", "a zip member is a link")
                if info.flag_bits & 0x1:
                    raise _unsafe(name, "zip 成员已加密", "a zip member is encrypted")
                key = name.rstrip("/")
                if key in seen:
                    raise _unsafe(name, "zip 成员重名", "two zip members have this name")
                seen.add(key)
                target = root.joinpath(*path.parts)
                if not target.resolve().is_relative_to(resolved):
                    raise _unsafe(name, "zip 成员会解压到临时目录之外", "the member would land outside the scratch "
                                  "directory")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                total += info.file_size
                if total > MAX_BUNDLE_BYTES or (info.file_size > _CHUNK
                                                and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
                    raise _unsafe(name, "解压后过大，疑似压缩炸弹", "it would inflate beyond any bundle (a zip bomb?)")
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with archive.open(info) as src, open(target, "xb") as dst:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > info.file_size:
                            raise _unsafe(name, "解压出的内容多于声明的大小", "it inflates beyond its declared size")
                        dst.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise _unsafe(bundle.name, "zip 文件已损坏", f"the zip is damaged or unsupported ({exc})") from None


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]
    sha256: str
    files: dict[str, tuple[str, int]]
    """path → (sha256, size), every file of the bundle but the manifest and its signature."""

    @property
    def round(self) -> dict[str, str]:
        return dict(self.data["round"])


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def check_manifest(root: Path, coordinator_key: str) -> Manifest:
    """The manifest, once its signature is the coordinator's and every file in the bundle is listed with its hash."""
    from workbench.signed.keys import parse_public_key
    from workbench.signed.signing import verify

    public = parse_public_key(coordinator_key)
    manifest_path, signature_path = root / layout.MANIFEST, root / layout.SIGNATURE
    for path in (manifest_path, signature_path):
        if not path.is_file():
            raise AuditFailure(AuditCode.FILE_MISSING, path.name, "发布包缺少此文件 / the bundle lacks this file")
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise AuditFailure(AuditCode.BAD_MANIFEST, path.name, "文件过大 / larger than any manifest")
    data = manifest_path.read_bytes()
    try:
        trusted = verify(data, signature_path.read_text(encoding="utf-8"), public)
    except (SignatureError, UnicodeDecodeError) as exc:
        reason = exc.message if isinstance(exc, SignatureError) else "签名不是文本 / the signature is not text"
        raise AuditFailure(AuditCode.MANIFEST_SIGNATURE, layout.SIGNATURE,
                           f"清单的签名不是协调人密钥 {public.key_id_text} 的有效签名：{reason} / the manifest is not "
                           f"signed by the coordinator's key {public.key_id_text}: {reason}") from None
    digest = hashlib.sha256(data).hexdigest()
    if f"sha256={digest}" not in trusted.split(" "):
        raise AuditFailure(AuditCode.MANIFEST_SIGNATURE, layout.SIGNATURE,
                           "签名的可信注释描述的是另一份清单 / the signature's trusted comment describes another "
                           "manifest")
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
        files = _listed(document)
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditFailure(AuditCode.BAD_MANIFEST, layout.MANIFEST,
                           f"不是工作台发布包清单 / not a workbench bundle manifest ({exc})") from None
    _check_files(root, files)
    return Manifest(document, digest, files)


def _listed(document: Any) -> dict[str, tuple[str, int]]:
    if not isinstance(document, dict) or document.get("bundle_format") != layout.BUNDLE_FORMAT:
        raise ValueError(f"bundle_format is not {layout.BUNDLE_FORMAT}")
    for name in ("round", "published_at", "files", "complete"):
        if name not in document:
            raise ValueError(f"{name} missing")
    if not isinstance(document["round"], dict) or not isinstance(document["round"].get("id"), str):
        raise ValueError("round")
    files: dict[str, tuple[str, int]] = {}
    for entry in document["files"]:
        path, sha, size = entry["path"], entry["sha256"], entry["size"]
        if (not isinstance(path, str) or safe_member_name(path) is None or not isinstance(sha, str)
                or not _SHA256.fullmatch(sha) or type(size) is not int or size < 0 or path in files
                or path in (layout.MANIFEST, layout.SIGNATURE)):
            raise ValueError(f"file entry {entry!r}")
        files[path] = (sha, size)
    return files


def _check_files(root: Path, files: dict[str, tuple[str, int]]) -> None:
    present = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    present_set = set(present) - {layout.MANIFEST, layout.SIGNATURE}
    missing = sorted(set(files) - present_set)
    if missing:
        raise AuditFailure(AuditCode.FILE_MISSING, missing[0],
                           "清单列出了此文件，但发布包中没有 / the manifest lists this file, but the bundle lacks it")
    extra = sorted(present_set - set(files))
    if extra:
        raise AuditFailure(AuditCode.FILE_UNLISTED, extra[0],
                           "此文件不在已签名的清单中 / this file is not in the signed manifest")
    for path in sorted(files):
        sha, size = files[path]
        digest = hashlib.sha256()
        with open(root / path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != sha or (root / path).stat().st_size != size:
            raise AuditFailure(AuditCode.HASH_MISMATCH, path,
                               f"内容与清单记录的 SHA-256 不符 / its content does not match the manifest's SHA-256 "
                               f"(listed {sha[:16]}…, found {digest.hexdigest()[:16]}…)")
        if path.startswith(layout.EXPORTS + "/") and path != layout.export_path(sha):
            raise AuditFailure(AuditCode.BAD_MANIFEST, path,
                               "导出文件须以其 SHA-256 命名 / an export is named by its SHA-256")
        if not path.endswith((".csv", ".xlsx")):
            raise AuditFailure(AuditCode.BAD_MANIFEST, path, "发布包不含此类文件 / no bundle holds such a file")
