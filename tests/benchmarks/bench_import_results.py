"""Benchmark: `workbench import-results` of a national round's past results (1.7 million rows), its time against a
plain sqlite3 executemany of the same rows read by the same reader, and its peak memory.

Run from the repository root:  python tests/benchmarks/bench_import_results.py [--runs 5]

Set-up (once, cached under bench-out/import-results/): the 2021 round of the national synthetic round
(bench-out/national.db, 1,698,240 rows) written as a results CSV (对象类型, 对象编号, 指标代码, 得分), and a round
database holding only what an import reads (the national round's meta, rounds, indicators, rules, sites and cases).

- time: `import_results(round, csv, "2021")` (stream, check every row, insert, commit) against csv.reader over the
  same file feeding `executemany` into the same `consolidated` table (same primary key and index, same WAL
  pragmas, one transaction); each a fresh process on a fresh copy of the round, interleaved A B A B …, the median
  of --runs each. Floor ≤ 1.5× (issue 17).
- memory: the import process's peak RSS (VmHWM); floor ≤ 300 MB (issue 17; before streaming it was 2.9 GB).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.figures import load_average, ratio_figure, sample_figure, series
from benchmarks.synthetic import DEFAULT_PATH, ensure_round

TIME_FLOOR = 1.5
MEMORY_FLOOR_MB = 300.0
PAST_ROUND = "2021"
DIR = ROOT / "bench-out" / "import-results"
SETUP_VERSION = "1"
TABLES = ("rounds", "indicators", "rules", "sites", "cases")

IMPORT_CHILD = r"""
import json, sys
from workbench.setup.results import import_results
summary = import_results(sys.argv[1], sys.argv[2], sys.argv[3])
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"rows": summary.rows, "peak_kb": peak}))
"""

BASELINE_CHILD = r"""
import csv, json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = NORMAL")
conn.execute("BEGIN IMMEDIATE")
with open(sys.argv[2], encoding="utf-8-sig", newline="") as handle:
    reader = csv.reader(handle)
    next(reader)
    cur = conn.executemany(
        "INSERT INTO consolidated (round, target_kind, target_id, indicator, value, n, method, flags) "
        "VALUES (?, ?, ?, ?, ?, 0, 'imported', '')", ((sys.argv[3], *row) for row in reader))
conn.execute("COMMIT")
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"rows": cur.rowcount, "peak_kb": peak}))
"""


def bytecode_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(ROOT / "bench-out" / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def set_up(national: Path) -> tuple[Path, Path, int]:
    """(the results CSV, the pristine round to import into, its row count), made once."""
    DIR.mkdir(parents=True, exist_ok=True)
    stamp = DIR / "setup.json"
    key = {"version": SETUP_VERSION, "national": national.stat().st_mtime_ns}
    results, pristine = DIR / f"results-{PAST_ROUND}.csv", DIR / "round.db"
    if stamp.exists() and json.loads(stamp.read_text()).get("key") == key and results.exists() and pristine.exists():
        return results, pristine, int(json.loads(stamp.read_text())["rows"])
    for path in (results, pristine, stamp):
        path.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{national}?mode=ro", uri=True)
    rows = 0
    with open(results, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["对象类型", "对象编号", "指标代码", "得分"])
        for row in src.execute("SELECT target_kind, target_id, indicator, value FROM consolidated WHERE round = ?",
                               (PAST_ROUND,)):
            writer.writerow(row)
            rows += 1
    meta = dict(src.execute("SELECT key, value FROM meta").fetchall())
    src.close()
    from workbench.store.db import transaction
    from workbench.store.migrations import create_database

    conn = create_database(pristine, "round", {k: meta[k] for k in ("round_id", "round_name", "round_year")})
    conn.execute("ATTACH DATABASE ? AS national", (f"file:{national}?mode=ro",))
    with transaction(conn):
        for table in TABLES:  # the columns both have: the national round may be of an earlier schema
            ours = [r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")]
            theirs = {r[1] for r in conn.execute(f"PRAGMA national.table_info({table})")}
            names = ", ".join(c for c in ours if c in theirs)
            where = " WHERE status = 'current'" if table == "rounds" else ""
            conn.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM national.{table}{where}")
    conn.execute("DETACH DATABASE national")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    stamp.write_text(json.dumps({"key": key, "rows": rows}))
    return results, pristine, rows


def run_child(code: str, pristine: Path, results: Path, scratch: Path) -> tuple[float, dict[str, int]]:
    db = scratch / "round.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, db)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(db), str(results), PAST_ROUND], capture_output=True,
                          text=True, env=bytecode_env(), cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: the child failed:\n{proc.stderr[-3000:]}")
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    national = ensure_round(DEFAULT_PATH)
    results, pristine, rows = set_up(national)
    print(f"import-results of {rows:,} rows ({results.stat().st_size / 2**20:.0f} MiB CSV); {load_average()}",
          flush=True)
    scratch = DIR / "scratch"
    scratch.mkdir(exist_ok=True)
    ours: list[float] = []
    plain: list[float] = []
    peaks: list[float] = []
    for n in range(args.runs):
        seconds, report = run_child(IMPORT_CHILD, pristine, results, scratch)
        if report["rows"] != rows:
            print(f"FAIL: imported {report['rows']:,} rows, not {rows:,}")
            return 1
        ours.append(seconds)
        peaks.append(report["peak_kb"] / 1024)
        seconds, report = run_child(BASELINE_CHILD, pristine, results, scratch)
        plain.append(seconds)
        print(f"  run {n + 1}: import {ours[-1]:.1f} s ({peaks[-1]:.0f} MB), executemany {plain[-1]:.1f} s "
              f"({report['peak_kb'] / 1024:.0f} MB)", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    print(series("import-results", ours))
    print(series("plain executemany", plain))
    ok = ratio_figure("import-results vs plain executemany of the same rows", ours, plain, TIME_FLOOR)
    ok &= sample_figure("import-results peak memory", peaks, MEMORY_FLOOR_MB, unit=" MB", digits=0)
    if not ok:
        print("MISSED: see the figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
