"""The merge's evidence: a copy of every export it ingests, byte for byte by SHA-256, and a ledger row for every file.

The copy lands in the round database itself, in the ingest's own transaction (with the scores and the replay
ledger row), so no export is ever merged without it and none is kept that was not merged. A file is hashed before
it is verified and again when it is copied: a file changed in between is merged not at all. Every other file the
merge meets (refused, or merged before) gets a row of `merge_ledger` in order, a refused one with its failure code
and sentence. `workbench publish` copies both into the bundle; `workbench audit` replays them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.signed.worksheet import display_name
from workbench.store.db import utc_now

MERGED = "merged"
SUPERSEDED = "superseded"
ALREADY_MERGED = "already-merged"
REJECTED = "rejected"
CONFLICT = "conflict"
"""merge_ledger outcomes. MERGED and SUPERSEDED rows are ingested exports (a submissions row each, whose values
landed or, superseded within their batch, did not); CONFLICT is one an earlier version recorded twice."""

_CHUNK = 1 << 20


class EvidenceChanged(WorkbenchError):
    """The file's bytes changed between its verification and its copy into the round: nothing of it was merged."""

    code = "EVIDENCE_CHANGED"


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a regular file's bytes; None for anything else (a directory, a pipe: never opened) or a file
    that cannot be read (verification then says why)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def keep(conn: sqlite3.Connection, path: Path, expected_sha256: str, export_id: str, reviewer_id: str, seq: int,
         *, superseded: bool) -> None:
    """Inside the ingest's transaction: the export's bytes into `evidence`, its name on its submissions row and its
    merge_ledger row. Raises EvidenceChanged (rolling the ingest back) when the bytes are not the ones verified."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise EvidenceChanged(
            f"{display_name(Path(path))} 在核验与合并之间被改动，未合并；请确认文件后重新合并 / the file changed "
            "between its verification and its merge, so nothing of it was merged; check the file and merge it again")
    now = utc_now()
    conn.execute("INSERT OR IGNORE INTO evidence (sha256, size, content, kept_at) VALUES (?, ?, ?, ?)",
                 (digest, len(data), data, now))
    conn.execute("UPDATE submissions SET file_sha256 = ? WHERE export_id = ?", (digest, export_id))
    conn.execute(
        "INSERT INTO merge_ledger (at, file_name, file_sha256, outcome, export_id, reviewer_id, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now, display_name(Path(path)), digest, SUPERSEDED if superseded else MERGED, export_id, reviewer_id, seq),
    )


def record_other(
    conn: sqlite3.Connection, path: Path, file_digest: str | None, outcome: str, *, code: str = "",
    message: str = "", export_id: str | None = None, reviewer_id: str = "", seq: int | None = None,
) -> None:
    """A file the merge did not ingest: refused (with its code and sentence) or merged before. One merged before
    whose submission has no copy yet (merged by an earlier version) gets its copy now: its payload is the one
    merged, so these bytes are as good evidence as the first file's."""
    from workbench.store.db import transaction

    with transaction(conn):
        if outcome == ALREADY_MERGED and export_id is not None and file_digest is not None:
            row = conn.execute("SELECT file_sha256 FROM submissions WHERE export_id = ?", (export_id,)).fetchone()
            if row is not None and row[0] is None:
                data = Path(path).read_bytes()
                if hashlib.sha256(data).hexdigest() == file_digest:
                    conn.execute("INSERT OR IGNORE INTO evidence (sha256, size, content, kept_at) VALUES (?, ?, ?, ?)",
                                 (file_digest, len(data), data, utc_now()))
                    conn.execute("UPDATE submissions SET file_sha256 = ? WHERE export_id = ?", (file_digest, export_id))
        conn.execute(
            "INSERT INTO merge_ledger (at, file_name, file_sha256, outcome, code, message, export_id, reviewer_id, "
            "seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (utc_now(), display_name(Path(path)), file_digest, outcome, code, message, export_id, reviewer_id, seq),
        )


def evidence_bytes(conn: sqlite3.Connection, sha256: str) -> bytes | None:
    """The kept copy of an export, by the SHA-256 of its bytes."""
    row = conn.execute("SELECT content FROM evidence WHERE sha256 = ?", (sha256,)).fetchone()
    return None if row is None else bytes(row[0])
