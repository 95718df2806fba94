"""Benchmark: merging a batch of signed exports, against merely reading the same files, and its peak memory.

Run from the repository root:  python tests/benchmarks/bench_merge.py [--exports 30] [--runs 5] [--dir D]
                               python tests/benchmarks/bench_merge.py --scale 30,90,150 [--runs 3]

- time: `merge_exports(round, files)` (verify every file, ingest its payload, then recompute the round's
  consolidation) against reading every sheet of the same files with python-calamine; floor ≤ 3.0×
  (issue 18; DESIGN §9 said 3.5×), printed with the min–max of the run-by-run ratios and the load average.
  Both run as fresh processes from bytecode (see bytecode_env), timed from outside, interleaved A B A B …,
  the median of --runs
  each. Before every merge the round is copied afresh from a pristine one (keys and package ledger, no
  submissions, no scores), so each run does the same work.
- memory: the merge process's peak RSS (VmHWM) merging a third of the batch against the whole batch;
  floor: the whole batch ≤ 1.25× the third ("flat as the batch grows").
- scale (--scale N1,N2,…, at least three sizes): one set-up per size, each merged --runs times in one run of
  this script; a least-squares line through the medians gives the per-file and the fixed cost, the merge of
  300 exports is extrapolated from it, and the worst relative residual says how straight the line is.
  Floor: per-file cost ≤ 0.5 s (issue 18), residuals within 10 % (linear). A 150-file set-up takes a while
  (about 5 s per signed export); it is cached like the others.

Set-up (a few minutes, once; cached under D/<parameters>, default bench-out/merge): a synthetic round of
--exports reviewers, each with ~150 sites × 116 site leaves of 120 (≈17.4k pairs), a key registered for each (cheap
scrypt cost), their packages filled with the round's synthetic values in one bulk UPDATE each, and one
signed export per package. Exit status 1 (and a FAIL line) when a floor is missed or a file is not merged;
a slow merge is then taken apart so the report says where the time went: each stage timed (verify and its
steps, ingest, consolidation and its parts), then the top of a cProfile listing by cumulative time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tests"):  # the checkout, and tests/ for the benchmarks package as pytest and mypy name it
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.figures import figure, load_average, ratio_figure, series
from benchmarks.synthetic import make_round

TIME_FLOOR = 3.0
MEMORY_FLOOR = 1.25
PER_FILE_FLOOR_S = 0.5  # issue 18: merging at national scale (300 exports) costs at most this per file
LINEAR_FLOOR = 0.10  # the worst relative distance of a measured size from the fitted line
PASSPHRASE = "bench"
TARGETS_EACH, REVIEWS, LEAVES = 150, 3, 120
DEFAULT_DIR = ROOT / "bench-out" / "merge"
SETUP_VERSION = "1"  # bump when the set-up below changes
# The cached exports are rebuilt when any of these change (a new payload format would fail verification).
SOURCES = (
    "tests/benchmarks/synthetic.py", "workbench/signed/export.py", "workbench/signed/signing.py",
    "workbench/signed/worksheet.py", "workbench/setup/package.py", "workbench/store/db.py", "workbench/store/schema.py",
    "workbench/signed/keys.py", "workbench/scoring/indicators.py", "workbench/scoring/rules.py",
)

# Run in a fresh interpreter: merge, then report the outcome and this process's peak RSS as JSON. On Linux
# ru_maxrss carries the parent's peak over fork/exec (a parent that just built the set-up shows through), so
# the peak is VmHWM of this process's own memory.
MERGE_CHILD = r"""
import json, resource, sys
from pathlib import Path
from workbench.consolidation.merge import merge_exports
report = merge_exports(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "merged": len(report.merged),
    "other": [[o.path.name, o.status, o.code, o.message] for o in report.outcomes if o.status != "merged"],
    "peak_kb": peak,
}))
"""

READ_CHILD = r"""
import sys
from python_calamine import CalamineWorkbook
for path in sys.argv[1:]:
    workbook = CalamineWorkbook.from_path(path)
    for name in workbook.sheet_names:
        workbook.get_sheet_by_name(name).to_python()
    workbook.close()
"""

# Where one merge spends its time: first each stage timed by wrapping its function (no profiler overhead),
# then the same merge on a second fresh copy of the round under cProfile, the top of its cumulative listing.
PROFILE_CHILD = r"""
import cProfile, importlib, io, pstats, sys, time
from pathlib import Path
import workbench.consolidation.merge
spent = {}
originals = []
def timed(module, name, label):
    target = importlib.import_module(module)
    *owners, name = name.split(".")
    for owner in owners:
        target = getattr(target, owner)
    original = getattr(target, name)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started
    setattr(target, name, wrapper)
    originals.append((target, name, original))
stages = [
    ("workbench.consolidation.merge", "verify_export", "verify, in all"),
    ("workbench.signed.xlsxcheck", "check_xlsx", "  hostile-file checks (check_xlsx)"),
    ("workbench.signed.verify", "_read", "  reading the sheets (calamine)"),
    ("workbench.signed.signing", "verify", "  Ed25519 signature"),
    ("workbench.signed.signing", "parse_canonical", "  strict canonical parse of the payload"),
    ("workbench.signed.verify", "_check_pairs", "  pairs against the package"),
    ("workbench.signed.verify", "_check_values", "  values against the indicators"),
    ("workbench.signed.verify", "_check_visible", "  visible sheets against the payload, in all"),
    ("workbench.signed.verify", "summarise", "    汇总 recomputed (summarise)"),
    ("workbench.signed.verify", "_compare", "    cell by cell comparison"),
    ("workbench.consolidation.merge", "_record", "ingest (upserts, score_events, ledger)"),
    # merge.py holds its own name for recompute_touched (a fresh round is never stale): that is the one to time
    ("workbench.consolidation.merge", "recompute_touched", "consolidation of the touched targets, in all"),
    ("workbench.consolidation.consolidate", "_consolidate_cell", "  cells: statistics, value, flags"),
    ("workbench.consolidation.consolidate", "compute_total", "  target totals (not stored by the merge)"),
    ("workbench.consolidation.consolidate", "Agreement.add", "  agreement sums (not stored by the merge)"),
]
for module, name, label in stages:
    timed(module, name, label)
files = [Path(p) for p in sys.argv[3:]]
started = time.perf_counter()
# In this process (workers=0), so that the stages of verification are timed too; CPU seconds per stage.
workbench.consolidation.merge.merge_exports(Path(sys.argv[1]), files, workers=0)
total = time.perf_counter() - started
print(f"  one merge in one process (workers=0), stages timed (no profiler): {total:.2f} s inside merge_exports")
for _, _, label in stages:
    seconds = spent.get(label, 0.0)
    print(f"    {label:<46}{seconds:8.2f} s  {100 * seconds / total:5.1f} %")
for target, name, original in originals:
    setattr(target, name, original)
profiler = cProfile.Profile()
profiler.enable()
workbench.consolidation.merge.merge_exports(Path(sys.argv[2]), files, workers=0)
profiler.disable()
out = io.StringIO()
pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
print("  the same merge under cProfile, by cumulative time (the profiler inflates Python-heavy code):")
print("\n".join("    " + line for line in out.getvalue().splitlines()[4:] if line.strip()))
"""


def bytecode_env() -> dict[str, str]:
    """Both sides run from bytecode (cached into bench-out/pycache), as installed programs do: this shell sets
    PYTHONDONTWRITEBYTECODE, which would have the merge and each of its worker processes compile the workbench
    at every start while python-calamine runs from its installed bytecode."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(ROOT / "bench-out" / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


ENV = bytecode_env()


def source_key(exports: int) -> str:
    h = hashlib.sha256(f"{SETUP_VERSION} {exports} {TARGETS_EACH} {REVIEWS} {LEAVES}".encode())
    for name in SOURCES:
        h.update((ROOT / name).read_bytes())
    return f"exports{exports}-{h.hexdigest()[:12]}"


def log(message: str, started: float) -> None:
    print(f"[set-up {time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def build(work: Path, exports: int) -> None:
    """The pristine round (keys registered, packages issued, no scores) and one signed export per reviewer."""
    from workbench.setup.package import make_package
    from workbench.signed.export import export_package
    from workbench.signed.keyring import add_key
    from workbench.signed.keys import generate_secret_key, write_secret_key
    from workbench.store.db import Store, checkpoint, transaction
    from workbench.store.schema import KIND_PACKAGE, KIND_ROUND

    started = time.perf_counter()
    work.mkdir(parents=True)
    sites = TARGETS_EACH * exports // REVIEWS
    round_db = make_round(work / "pristine.db", sites=sites, cases=0, leaves=LEAVES, reviewers=exports,
                          reviews=REVIEWS, past_rounds=0)
    log(f"round: {sites:,} sites × {LEAVES} leaves, {exports} reviewers", started)
    store = Store.open(round_db, expect=KIND_ROUND)
    reviewers = [r.id for r in store.reviewers()]
    store.close()
    for folder in ("keys", "packages", "exports"):
        (work / folder).mkdir()
    for reviewer in reviewers:
        secret = generate_secret_key()
        write_secret_key(work / "keys" / f"{reviewer}.key", secret, PASSPHRASE, scrypt_n=2**10)
        add_key(round_db, reviewer, secret.public.line)
        make_package(round_db, reviewer, work / "packages" / f"{reviewer}.wbk")
    log(f"{len(reviewers)} keys registered, packages issued", started)

    # Each package takes its reviewer's synthetic values (valid for every indicator, a few pairs left
    # unscored) in one bulk UPDATE: the reviewers' work, without 18k audited transactions each.
    source = Store.open(round_db, expect=KIND_ROUND)
    rows = 0
    for reviewer in reviewers:
        values = source.conn.execute(
            "SELECT value, note, updated_at, revision, target_kind, target_id, indicator FROM scores "
            "WHERE round = ? AND reviewer_id = ?", (source.round_id, reviewer)).fetchall()
        package = Store.open(work / "packages" / f"{reviewer}.wbk", expect=KIND_PACKAGE)
        with transaction(package.conn):
            package.conn.executemany(
                "UPDATE scores SET value = ?, note = ?, updated_at = ?, revision = ? "
                "WHERE target_kind = ? AND target_id = ? AND indicator = ?", [tuple(r) for r in values])
        checkpoint(package.conn)
        package.close()
        rows += len(values)
    # A round as the coordinator holds it before the merge: no scores and no consolidation of its own yet.
    with transaction(source.conn):
        source.conn.execute("DELETE FROM scores WHERE round = ?", (source.round_id,))
        source.conn.execute("DELETE FROM consolidated WHERE round = ?", (source.round_id,))
    source.conn.execute("VACUUM")
    checkpoint(source.conn)
    source.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{round_db}{suffix}").unlink(missing_ok=True)
    log(f"packages filled: {rows:,} rows", started)

    for reviewer in reviewers:
        export_package(work / "packages" / f"{reviewer}.wbk", work / "exports" / f"{reviewer}.xlsx",
                       key_file=work / "keys" / f"{reviewer}.key", passphrase=PASSPHRASE, allow_incomplete=True)
    log(f"{len(reviewers)} signed exports written", started)
    (work / "ready.json").write_text(json.dumps({"exports": exports, "rows": rows}) + "\n")


def prepared(base: Path, exports: int) -> tuple[Path, list[Path], int]:
    """The cached set-up for these parameters and sources (built when missing); stale ones are removed."""
    key = source_key(exports)
    work = base / key
    if not (work / "ready.json").is_file():
        if work.exists():
            shutil.rmtree(work)
        for old in base.glob(f"exports{exports}-*"):
            shutil.rmtree(old)
        build(work, exports)
    rows = json.loads((work / "ready.json").read_text())["rows"]
    return work / "pristine.db", sorted((work / "exports").glob("*.xlsx")), rows


def fresh_round(pristine: Path, scratch: Path, name: str = "round.db") -> Path:
    target = scratch / name
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(pristine, target)
    return target


def merge(pristine: Path, scratch: Path, files: list[Path]) -> tuple[float, dict[str, Any]]:
    """Seconds for one merge process (the round copied afresh beforehand, untimed) and what it reported."""
    round_db = fresh_round(pristine, scratch)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MERGE_CHILD, str(round_db), *map(str, files)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"FAIL: the merge process failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["merged"] != len(files):
        raise SystemExit(f"FAIL: {result['merged']} of {len(files)} files merged: {result['other']}")
    return elapsed, result


def read(files: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", READ_CHILD, *map(str, files)], cwd=ROOT, check=True, env=ENV)
    return time.perf_counter() - started


def batch(pristine: Path, files: list[Path], runs: int) -> tuple[list[float], list[float], list[int]]:
    """Merge and calamine read of one batch, interleaved A B B A …: their seconds, and each merge's peak RSS (kB)."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-merge-"))
    merge_times: list[float] = []
    read_times: list[float] = []
    peaks: list[int] = []
    try:
        for i in range(runs):
            order = ("merge", "read") if i % 2 == 0 else ("read", "merge")
            for what in order:
                if what == "merge":
                    seconds, result = merge(pristine, scratch, files)
                    merge_times.append(seconds)
                    peaks.append(int(result["peak_kb"]))
                else:
                    read_times.append(read(files))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return merge_times, read_times, peaks


def scale(base: Path, sizes: list[int], runs: int) -> bool:
    """Per-file and fixed cost of the merge from a line through several batch sizes, and 300 extrapolated."""
    medians: dict[int, float] = {}
    for size in sizes:
        pristine, files, _ = prepared(base, size)
        merge_times, read_times, _ = batch(pristine, files, runs)
        medians[size] = statistics.median(merge_times)
        print(f"  {size} exports: " + series("merge", merge_times, digits=2) + "; "
              + series("calamine read", read_times, digits=2) + f"; {load_average()}")
    xs, ys = list(medians), list(medians.values())
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    fixed = mean_y - slope * mean_x
    residuals = [abs(y - (fixed + slope * x)) / y for x, y in zip(xs, ys, strict=True)]
    per_file = [(ys[k] - ys[k - 1]) / (xs[k] - xs[k - 1]) for k in range(1, len(xs))]
    print(f"fitted over {', '.join(map(str, xs))} exports (medians of {runs} runs): fixed cost {fixed:.2f} s, "
          f"per file {slope:.3f} s; merge of 300 exports extrapolated: {fixed + 300 * slope:.1f} s")
    ok = figure("merge cost per file (slope, min–max between neighbouring sizes)", slope, min(per_file),
                max(per_file), PER_FILE_FLOOR_S, unit=" s", digits=3)
    return figure("merge linear in the batch: worst distance from the line", max(residuals), min(residuals),
                  max(residuals), LINEAR_FLOOR, digits=3) and ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=30, help="exports in the batch, one per reviewer (at least 12)")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per figure (at least 5; 3 with --scale)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the set-up is cached")
    parser.add_argument("--scale", default="", help="batch sizes for the per-file and fixed cost, e.g. 30,90,150")
    args = parser.parse_args()
    if args.scale:
        sizes = sorted({int(n) for n in args.scale.split(",")})
        if len(sizes) < 3 or sizes[0] < 12:
            parser.error("--scale needs at least three sizes of at least 12")
        return 0 if scale(args.dir, sizes, max(3, args.runs)) else 1
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    if args.exports < 12:  # fewer reviewers cannot cover 3 reviews per site without conflicts of interest
        parser.error("--exports must be at least 12")
    pristine, files, rows = prepared(args.dir, args.exports)
    merge_times, read_times, peaks_all = batch(pristine, files, args.runs)
    part = files[: len(files) // 3]
    scratch = Path(tempfile.mkdtemp(prefix="bench-merge-"))
    try:
        peaks_part = [int(merge(pristine, scratch, part)[1]["peak_kb"]) for _ in range(3)]
        print(f"merge of {len(files)} signed exports, {rows:,} rows in all, {args.runs} interleaved runs "
              f"({pristine.parent})")
        print("  " + series(f"merge {len(files)} × {rows / len(files) / 1000:.1f}k rows", merge_times, digits=2))
        print("  " + series("calamine read of the same files", read_times, digits=2))
        time_ok = ratio_figure(f"merge {len(files)} exports ÷ calamine read", merge_times, read_times, TIME_FLOOR)
        growth = [a / statistics.median(peaks_part) for a in peaks_all]
        print(f"  peak RSS merging {len(part)} files: {statistics.median(peaks_part) / 1024:.0f} MB; "
              f"{len(files)} files: {statistics.median(peaks_all) / 1024:.0f} MB")
        memory_ok = figure(f"peak RSS {len(files)} files ÷ {len(part)} files (flat)", statistics.median(growth),
                           min(growth), max(growth), MEMORY_FLOOR, unit="×")
        if not time_ok:
            print("where a merge spends its time:")
            rounds = [fresh_round(pristine, scratch, name) for name in ("timed.db", "profiled.db")]
            subprocess.run([sys.executable, "-c", PROFILE_CHILD, *map(str, rounds), *map(str, files)], cwd=ROOT,
                           env=ENV, check=True)
        return 0 if time_ok and memory_ok else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
