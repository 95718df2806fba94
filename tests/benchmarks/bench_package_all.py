"""Benchmark: `workbench package --all` for the national round's 300 reviewers against separate `workbench package`
runs, one per reviewer.

Run from the repository root:  python tests/benchmarks/bench_package_all.py [--runs 3] [--sample 20]

Issuing a package records it in the round (and supersedes the reviewer's earlier one), so both sides work on one
copy of bench-out/national.db (bench-out/package-all/round.db, made once, ~2.5 GB; a package a run adds a few
rows to it). Each side is a fresh process from bytecode, timed from outside, interleaved A B A B …:

- A: `workbench package round.db --all -o DIR`, all 300 reviewers;
- B: `workbench package round.db --reviewer R… -o R….wbk` for --sample reviewers spread over the round, one process
  each, one after another; their mean times 300 is what 300 separate runs cost. Running all 300 each time would
  take longer than the whole benchmark set (about 300 × 1.5 s a run here), so B is this documented extrapolation:
  every run costs the same fixed start-up and round opening, and reviewers' loads are balanced (150 targets ±1).

Floor: A ≤ 0.5 × B (issue 17), the median of --runs each.
"""

from __future__ import annotations

import argparse
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

from benchmarks.figures import load_average, ratio_figure, series
from benchmarks.synthetic import DEFAULT_PATH, ensure_round

FLOOR = 0.5
DIR = ROOT / "bench-out" / "package-all"
WORKBENCH = Path(sys.executable).parent / "workbench"


def bytecode_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(ROOT / "bench-out" / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def round_copy(national: Path) -> Path:
    """A copy of the national round that the benchmark may record packages in."""
    DIR.mkdir(parents=True, exist_ok=True)
    copy, stamp = DIR / "round.db", DIR / "source-mtime"
    mark = str(national.stat().st_mtime_ns)
    if copy.exists() and stamp.exists() and stamp.read_text() == mark:
        return copy
    print(f"[package-all] copying {national} (once)", flush=True)
    copy.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{national}?mode=ro", uri=True)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    stamp.write_text(mark)
    return copy


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(WORKBENCH), *args], capture_output=True, text=True, env=bytecode_env(), cwd=ROOT,
                          check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: workbench {' '.join(args[:2])} …: {proc.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20, help="separate runs timed to extrapolate 300 from")
    args = parser.parse_args()
    db = round_copy(ensure_round(DEFAULT_PATH))
    conn = sqlite3.connect(db)
    reviewers = [r[0] for r in conn.execute("SELECT id FROM reviewers ORDER BY id")]
    conn.close()
    sample = reviewers[:: max(1, len(reviewers) // args.sample)][: args.sample]
    print(f"package --all for {len(reviewers)} reviewers vs {len(sample)} separate runs × {len(reviewers)}/"
          f"{len(sample)}; {load_average()}", flush=True)
    every: list[float] = []
    separate: list[float] = []
    out = DIR / "out"
    for n in range(args.runs):
        shutil.rmtree(out, ignore_errors=True)
        every.append(timed(["package", str(db), "--all", "-o", str(out)]))
        written = len(list(out.glob("*.wbk")))
        if written != len(reviewers):
            print(f"FAIL: --all wrote {written} packages, not {len(reviewers)}")
            return 1
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        each = [timed(["package", str(db), "--reviewer", r, "-o", str(out / f"{r}.wbk")]) for r in sample]
        separate.append(sum(each) / len(each) * len(reviewers))
        print(f"  run {n + 1}: --all {every[-1]:.1f} s; separate {sum(each) / len(each):.2f} s each → "
              f"{separate[-1]:.0f} s for {len(reviewers)}", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    print(series("package --all", every))
    print(series(f"{len(reviewers)} separate package runs (extrapolated)", separate))
    ok = ratio_figure(f"package --all vs {len(reviewers)} separate runs", every, separate, FLOOR)
    if not ok:
        print("MISSED: see the figure above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
