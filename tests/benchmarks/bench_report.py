"""Benchmark: the report and the disputes of the national round, from the consolidation the product stored.

Run from the repository root:  python tests/benchmarks/bench_report.py [--runs 1]

Set-up (once, cached as bench-out/national-report.db): a copy of the national synthetic round
(bench-out/national.db: 14,000 sites + 640 cases, 3 reviews each, ~5M score rows) whose stored consolidation
is then made by the product's own code, `recompute_consolidated` — what every merge runs — not by the
generator (made afresh when the source round, SETUP_VERSION or the stored tables' columns change). That
whole-round consolidation is timed and printed too (no floor: a merge re-consolidates only the targets it
touched).

Figures (issue 12), each beside its floor, measured in one run:
- `report` (write_report: the workbook and its side file) ≤ 180 s on this machine;
- `report` ≤ 3× a plain aggregate SQL over the same score rows (count, mean, min, max per cell) plus streaming
  the long side file (every review, one CSV row each, with csv.writer); the two run interleaved as fresh
  processes, --runs each;
- the report's peak memory (VmHWM, plus the peak of the process that writes the side file alongside it, as
  if both peaked at once) against a floor of 1 GiB: the reviews stream and never accumulate;
- `workbench disputes --list` ≤ 30 s;
- writing the re-review packages (`disputes -o`) ≤ issuing the same number of ordinary packages (measured as
  the mean of 3 full packages times that number).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.figures import figure, ratio_figure
from benchmarks.synthetic import DEFAULT_PATH, ensure_round

REPORT_FLOOR_S = 180.0
RATIO_FLOOR = 3.0
MEMORY_FLOOR_MB = 1024.0
DISPUTES_LIST_FLOOR_S = 30.0
REREVIEW_FLOOR = 1.0
CONSOLIDATED = ROOT / "bench-out" / "national-report.db"
SETUP_VERSION = "2"  # bump when what the consolidation stores changes (its columns, their format)

# Child processes, each timed from inside and reporting its peak RSS (VmHWM).
_PEAK = "print(int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) / 1024)"
REPORT_CHILD = """
import resource, sys, time
from pathlib import Path
from workbench.consolidation.report import write_report
started = time.perf_counter()
write_report(Path(sys.argv[1]), Path(sys.argv[2]), allow_incomplete=True)
print(time.perf_counter() - started)
own = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) / 1024
forked = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the side file's process, if any
print(own + forked)
"""
"""The report, timed from inside; its peak memory counts the process that writes the side file alongside on a
round this size (write_report's PARALLEL_ROWS), as if both peaked at once."""
BASELINE_CHILD = """
import csv, sqlite3, sys, time
started = time.perf_counter()
conn = sqlite3.connect(sys.argv[1])
round_id = conn.execute("SELECT value FROM meta WHERE key = 'round_id'").fetchone()[0]
for _ in conn.execute("SELECT target_kind, target_id, indicator, count(*), avg(CAST(value AS REAL)), "
                      "min(CAST(value AS REAL)), max(CAST(value AS REAL)) FROM scores WHERE round = ? "
                      "AND value IS NOT NULL GROUP BY target_kind, target_id, indicator", (round_id,)):
    pass
with open(sys.argv[2], "w", encoding="utf-8-sig", newline="") as out:
    writer = csv.writer(out)
    for row in conn.execute("SELECT round, target_kind, target_id, indicator, reviewer_id, value, note FROM scores "
                            "WHERE round = ? AND (value IS NOT NULL OR note != '') "
                            "ORDER BY target_kind, target_id, indicator, reviewer_id", (round_id,)):
        writer.writerow(row)
print(time.perf_counter() - started)
""" + _PEAK


def _stamp() -> str:
    """What the cached consolidation was made from: the source round, SETUP_VERSION and the stored tables'
    columns (a migration that adds one makes it afresh)."""
    from workbench.store.schema import CONSOLIDATED_STATS_COLUMNS, TOTALS_TABLE

    parts = [str(DEFAULT_PATH.stat().st_mtime_ns), SETUP_VERSION, TOTALS_TABLE, *CONSOLIDATED_STATS_COLUMNS]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def prepare() -> Path:
    """bench-out/national-report.db with the consolidation the product's code made (cached)."""
    ensure_round(DEFAULT_PATH)
    stamp = _stamp()
    if CONSOLIDATED.exists():
        with closing(sqlite3.connect(CONSOLIDATED)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'bench_report_stamp'").fetchone()
        if row is not None and row[0] == stamp:
            print(f"[report] reusing {CONSOLIDATED}", flush=True)
            return CONSOLIDATED
    partial = CONSOLIDATED.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    _copy(DEFAULT_PATH, partial)
    print(f"[report] copied the national round in {time.perf_counter() - started:.0f} s", flush=True)
    from workbench.consolidation.stored import recompute_consolidated
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    store = Store.open(partial, expect=KIND_ROUND)
    try:
        started = time.perf_counter()
        recompute_consolidated(store)
        took = time.perf_counter() - started
        store.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('bench_report_stamp', ?)", (stamp,))
        store.conn.commit()
    finally:
        store.close()
    print(f"[report] whole-round consolidation by the product's code: {took:.0f} s (informative, no floor)",
          flush=True)
    with closing(sqlite3.connect(partial)) as conn:  # everything in the main file before it is renamed
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    os.replace(partial, CONSOLIDATED)
    return CONSOLIDATED


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of a round (SQLite's backup), every connection closed after it."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def child(code: str, *args: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; its own timing and its peak RSS in MB."""
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr}")
    seconds, peak = done.stdout.split()[-2:]
    return float(seconds), float(peak)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="interleaved runs of the report and its baseline")
    args = parser.parse_args()
    db = prepare()
    with closing(sqlite3.connect(db)) as conn:
        targets = conn.execute("SELECT count(*) FROM totals").fetchone()[0]
        reviews = conn.execute("SELECT count(*) FROM scores WHERE value IS NOT NULL OR note != ''").fetchone()[0]
    print(f"[report] {targets:,} targets, {reviews:,} reviews", flush=True)
    ok = True
    report_s: list[float] = []
    baseline_s: list[float] = []
    peaks: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"r{run}"
            out.mkdir()
            seconds, peak = child(REPORT_CHILD, str(db), str(out / "consolidated.xlsx"))
            report_s.append(seconds)
            peaks.append(peak)
            seconds, _ = child(BASELINE_CHILD, str(db), str(out / "baseline.csv"))
            baseline_s.append(seconds)
            shutil.rmtree(out)
        ok &= figure("report, national round", sorted(report_s)[len(report_s) // 2], min(report_s), max(report_s),
                     REPORT_FLOOR_S, unit=" s", digits=1)
        ok &= ratio_figure("report vs aggregate SQL + streaming the side file", report_s, baseline_s, RATIO_FLOOR)
        ok &= figure("report peak memory", max(peaks), min(peaks), max(peaks), MEMORY_FLOOR_MB, unit=" MB",
                     digits=0)
        workbench = [sys.executable, "-m", "workbench"]
        listed = timed([*workbench, "disputes", str(db), "--list", "--format", "csv", "--allow-incomplete"])
        ok &= figure("disputes --list, national round", listed, listed, listed, DISPUTES_LIST_FLOOR_S, unit=" s",
                     digits=1)
        # re-review packages against as many ordinary packages (a copy: issuing records packages in the round)
        work = Path(tmp) / "work.db"
        _copy(db, work)
        started = time.perf_counter()
        done = subprocess.run([*workbench, "disputes", str(work), "-o", str(Path(tmp) / "rereview"),
                               "--allow-incomplete"], cwd=ROOT, capture_output=True, text=True, check=False)
        rereview = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"disputes -o failed:\n{done.stderr}")
        packages = len(list((Path(tmp) / "rereview").glob("*.wbk")))
        with closing(sqlite3.connect(work)) as conn:
            reviewers = [r for (r,) in conn.execute("SELECT id FROM reviewers ORDER BY id LIMIT 3")]
        full = []
        for n, reviewer in enumerate(reviewers):
            full.append(timed([*workbench, "package", str(work), "--reviewer", reviewer, "-o",
                               str(Path(tmp) / f"full-{n}.wbk")]))
        per_package = sorted(full)[len(full) // 2]
        print(f"[report] {packages} re-review packages in {rereview:.1f} s; an ordinary package {per_package:.2f} s",
              flush=True)
        if packages:
            ok &= figure("re-review packages vs as many ordinary packages", rereview / (per_package * packages),
                         rereview / (max(full) * packages), rereview / (min(full) * packages), REREVIEW_FLOOR,
                         unit="×")
    print(f"bench_report: {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
