"""Merge returned exports: verify each file exactly as `workbench verify` does, ingest its signed payload.

One transaction per file holds its score rows and its ledger row, so a crash leaves each file wholly
merged or not at all. Only the payload is ingested, never the visible cells. Memory is bounded by one
file: files are verified and ingested one at a time and nothing of a file is kept but its outcome.

Files of one package are taken in seq order whatever order they were given. A single pass gives the
same result: every export carries all of its package's pairs, so an older export met after a newer
one of the same batch is recorded in the ledger as merged without its values (what ingesting it first
and then the newer one would have come to).
"""

from __future__ import annotations

import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench import collector
from workbench.consolidation import evidence
from workbench.consolidation.appeals import record_outcomes
from workbench.consolidation.stored import STALE_KEY, is_stale, recompute_consolidated, recompute_touched
from workbench.errors import FailureCode, WorkbenchError
from workbench.model import TargetKey
from workbench.signed.verify import (
    MERGED_OUTCOME,
    VerifiedExport,
    check_replay,
    replay_refusal,
    stale_refusal,
    verify_export,
)
from workbench.signed.worksheet import display_name
from workbench.store.db import ScoresPut, Store, transaction, utc_now
from workbench.store.migrations import upgrade
from workbench.store.schema import KIND_ROUND


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    status: str               # "merged" | "already-merged" | "superseded" | "rejected"
    code: str = ""            # failure code for a rejected file
    message: str = ""
    reviewer_id: str = ""
    seq: int | None = None
    rows: int = 0
    changed: int = 0


@dataclass
class MergeReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def merged(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "merged"]


def merge_exports(
    round_db: Path,
    files: Iterable[Path],
    *,
    on_file: Callable[[FileOutcome], None] | None = None,
    workers: int | None = None,
) -> MergeReport:
    """Verify and ingest every file; rejected files are listed with their code, never half-ingested.

    Verification (the expensive, read-only part) runs in worker processes a few files ahead of the
    ingest, which stays in this process, one file at a time and in the order given; the ledger is
    checked again just before each ingest, since the workers read it before earlier files landed.
    """
    paths = [Path(p) for p in files]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(paths) > 2 else 0
    report = MergeReport()
    merged_here: dict[str, int] = {}  # nonce → highest seq merged in this batch
    touched: set[TargetKey] = set()  # targets whose scores changed: only these are re-consolidated
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        upgrade(store.conn)  # a round made by an earlier version gets the ledger's unique index first
        # A merge writes hundreds of MB: checkpoints of 10,000 pages instead of SQLite's 1,000 wait on the disk a
        # tenth as often, and while this process waits the verifying ones soon wait for it.
        store.conn.execute("PRAGMA wal_autocheckpoint = 10000")
        # Set with every ingest, cleared with the re-consolidation: if a merge was killed in between,
        # this one re-consolidates the whole round.
        was_stale = is_stale(store)
        with _pool(workers) as pool:
            for path, verified in _verified(store.path, paths, workers, pool):
                try:
                    outcome = _merge_one(store, path, verified, merged_here, touched)
                except Exception as exc:  # ingest runs in one transaction: rolled back, and the batch goes on
                    refusal = (_Refusal(exc.code, exc.message) if isinstance(exc, evidence.EvidenceChanged)
                               else _unexpected(exc))
                    outcome = FileOutcome(path, "rejected", refusal.code, refusal.message)
                _ledger(store, outcome, verified)
                report.outcomes.append(outcome)
                if on_file is not None:
                    on_file(outcome)
            if was_stale:
                recompute_consolidated(store)
            elif touched:  # the verifying processes, idle now, consolidate a share of the targets
                recompute_touched(store, touched, pool)
        if was_stale or touched:
            record_outcomes(store)  # an appeal whose last appeal package came back is decided: logged
    finally:
        store.close()
    return report


@contextmanager
def _pool(workers: int) -> Iterator[Executor | None]:
    """The worker processes of a merge (none with workers < 2)."""
    if workers < 2:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: a forked child would inherit this process's open SQLite connection.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_end_with_parent, initargs=(os.getpid(),)) as pool:
        yield pool


def _end_with_parent(parent: int, every: float = 0.5) -> None:
    """In a merge's worker process: end it once the merging process is gone. A merge killed outright (kill -9, a
    closed terminal) cannot shut its pool down, and each worker, which holds the pool's queue open itself, would
    otherwise wait on it for good, holding the round open for reading."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


@dataclass(frozen=True)
class _Refusal:
    """A verification refusal as plain data (exceptions with their own __init__ do not cross processes)."""

    code: str
    message: str
    file_sha256: str | None = None


Verified = VerifiedExport | _Refusal


def _verify(path: Path, round_db: Path) -> Verified:
    digest = evidence.file_sha256(path)  # the bytes the merge keeps must be the bytes verified (evidence.keep)
    try:
        return replace(verify_export(path, round_db, allow_stale=True).handed_over(), file_sha256=digest or "")
    except WorkbenchError as exc:
        return _Refusal(exc.code, exc.message, digest)
    except Exception as exc:  # one file's surprise must not stop the batch: report it against that file
        return replace(_unexpected(exc), file_sha256=digest)


def _ledger(store: Store, outcome: FileOutcome, verified: Verified) -> None:
    """The merge ledger's row for a file not ingested (an ingested one has it from its own transaction)."""
    if outcome.status in ("merged", "superseded"):
        return
    export_id = verified.export_id if isinstance(verified, VerifiedExport) else None
    evidence.record_other(store.conn, path=outcome.path, file_digest=verified.file_sha256 or None,
                          outcome=outcome.status, code=outcome.code, message=outcome.message, export_id=export_id,
                          reviewer_id=outcome.reviewer_id, seq=outcome.seq)


def _unexpected(exc: Exception) -> _Refusal:
    return _Refusal(
        FailureCode.UNEXPECTED_ERROR,
        f"检查或合并此文件时发生意外错误（{type(exc).__name__}: {exc}），此文件未合并；请保留此文件并报告问题 / "
        f"an error the workbench did not expect ({type(exc).__name__}: {exc}); nothing of this file was merged. "
        "Keep the file and report the problem",
    )


def _verified(round_db: Path, paths: list[Path], workers: int, pool: Executor | None = None
              ) -> Iterator[tuple[Path, Verified]]:
    """Each file's verification, in order; with workers (of `pool`, or of a pool of its own), at most workers + 1
    files in flight (memory stays bounded by a few files, not by the batch)."""
    if workers < 2:
        for path in paths:
            yield path, _verify(path, round_db)
        return
    if pool is None:
        with _pool(workers) as own:
            yield from _verified(round_db, paths, workers, own)
        return
    pending: deque[tuple[Path, Future[bytes]]] = deque()
    for path in paths:
        pending.append((path, pool.submit(collector.pickled_call, _verify, path, round_db)))
        if len(pending) > workers:
            done_path, future = pending.popleft()
            yield done_path, collector.unpickled(future.result())
    while pending:
        done_path, future = pending.popleft()
        yield done_path, collector.unpickled(future.result())


def _merge_one(
    store: Store, path: Path, verified: Verified, merged_here: dict[str, int], touched: set[TargetKey]
) -> FileOutcome:
    if isinstance(verified, _Refusal):
        return FileOutcome(path, "rejected", verified.code, verified.message)
    try:
        # The ledger is read and written under one write lock: a second merge running at the same time waits
        # here, then sees what this one recorded (and the unique index refuses what slips through).
        with transaction(store.conn):
            return _decide_and_ingest(store, path, verified, merged_here, touched)
    except sqlite3.IntegrityError:
        refusal = replay_refusal(FailureCode.SEQ_CONFLICT, verified)
        return FileOutcome(path, "rejected", refusal.code, refusal.message, verified.reviewer_id, verified.seq)


def _decide_and_ingest(
    store: Store, path: Path, verified: VerifiedExport, merged_here: dict[str, int], touched: set[TargetKey]
) -> FileOutcome:
    verified = replace(verified, replay=check_replay(store.conn, verified))
    if verified.replay == FailureCode.SEQ_CONFLICT:
        refusal = replay_refusal(FailureCode.SEQ_CONFLICT, verified)
        return FileOutcome(path, "rejected", refusal.code, refusal.message, verified.reviewer_id, verified.seq)
    if verified.replay == FailureCode.ALREADY_MERGED:
        return FileOutcome(path, "already-merged", FailureCode.ALREADY_MERGED,
                           "此文件已合并过，未作改动 / this file was merged before; nothing changed",
                           verified.reviewer_id, verified.seq, verified.count)
    if verified.replay == FailureCode.STALE_EXPORT:
        newer = merged_here.get(verified.nonce)
        if newer is None or newer <= verified.seq:
            refusal = stale_refusal(verified)
            return FileOutcome(path, "rejected", refusal.code, refusal.message, verified.reviewer_id, verified.seq)
        _record(store, verified, rows=False)
        return FileOutcome(
            path, "superseded", message=f"同批次已合并该评审包更新的导出（第 {newer} 次）/ "
            f"a later export (seq {newer}) of the same package was merged in this batch",
            reviewer_id=verified.reviewer_id, seq=verified.seq, rows=verified.count,
        )
    changed, kept = _record(store, verified, touched=touched)
    merged_here[verified.nonce] = max(verified.seq, merged_here.get(verified.nonce, 0))
    message = ""
    if kept:
        message = (f"{kept} 项已经复核评审包确定，本文件未改动它们（只有更晚的复核评审包能改）/ {kept} pair(s) were "
                   "settled by a merged re-review and are left as it left them (only a later re-review package "
                   "changes them)")
    return FileOutcome(path, "merged", message=message, reviewer_id=verified.reviewer_id, seq=verified.seq,
                       rows=verified.count, changed=changed)


def ingest(
    store: Store, verified: VerifiedExport, *, rows: bool = True, touched: set[TargetKey] | None = None
) -> int:
    """Upsert the signed rows and the ledger row in one transaction; returns how many cells changed.

    ``rows=False`` records only the ledger row: an export superseded within its batch counts as
    merged (so merging it again is a no-op) but its values never land.
    """
    with transaction(store.conn):
        return _record(store, verified, rows=rows, touched=touched)[0]


def _record(
    store: Store, verified: VerifiedExport, *, rows: bool = True, touched: set[TargetKey] | None = None
) -> tuple[int, int]:
    """Inside the caller's transaction: the rows (but the pairs a merged re-review settled) and the ledger row.
    Returns (cells changed, pairs left as a re-review settled them)."""
    now = utc_now()
    conn = store.conn
    kept = 0
    put = ScoresPut(0, set())
    if rows:  # a superseded export records only its ledger row: no need to read the reviewer's current scores
        settled = settled_pairs(conn, verified.reviewer_id, verified.nonce, verified.package_kind)
        cells = signed = verified.cells
        if settled:
            signed = tuple(cell for cell in cells if cell[:3] not in settled)
            kept = len(cells) - len(signed)
        put = store.put_stored_scores(verified.reviewer_id, signed,
                                      reason=f"merge {verified.export_id} seq {verified.seq}")
    if touched is not None:
        touched.update(put.targets)
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (STALE_KEY, now))
    conn.execute(
        "INSERT INTO submissions (export_id, nonce, reviewer_id, key_id, seq, payload_sha256, rows, file_name, "
        "created_at, verified_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (verified.export_id, verified.nonce, verified.reviewer_id, verified.key_id, verified.seq,
         verified.payload_sha256, verified.count, display_name(verified.path), verified.created_at, now,
         MERGED_OUTCOME),
    )
    if verified.file_sha256:  # the merge's copy of the file, in this same transaction
        evidence.keep(conn, verified.path, verified.file_sha256, verified.export_id, verified.reviewer_id,
                      verified.seq, superseded=not rows)
    return put.cells, kept


def settled_pairs(conn: sqlite3.Connection, reviewer_id: str, nonce: str, package_kind: str) -> set[tuple[str, ...]]:
    """The reviewer's pairs that a merged re-review settled, which an export of package `nonce` must leave alone:
    for a full package every re-reviewed pair, whatever its seq or time; for a re-review package those of
    re-review packages issued after it."""
    rows = conn.execute(
        "SELECT pp.target_kind, pp.target_id, pp.indicator FROM package_pairs pp JOIN packages p ON p.nonce = pp.nonce "
        "WHERE p.reviewer_id = ? AND p.kind = 're-review' AND p.nonce != ? "
        "AND EXISTS (SELECT 1 FROM submissions s WHERE s.nonce = p.nonce AND s.outcome = ?) "
        "AND (? != 're-review' OR p.rowid > (SELECT rowid FROM packages WHERE nonce = ?))",
        (reviewer_id, nonce, MERGED_OUTCOME, package_kind, nonce),
    )
    return {tuple(r) for r in rows}
