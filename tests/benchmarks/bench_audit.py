"""Benchmark: `workbench audit` of a bundle of 30 full-size exports against `merge` + `report` of the same exports.

Run from the repository root:  python tests/benchmarks/bench_audit.py [--exports 30] [--runs 5]

- time: auditing the published bundle (unpack and check every hash, rebuild the round from its tables, replay the
  ledger verifying every export, write the report afresh and compare every cell and side-file row) against one
  process merging the same exports into a fresh copy of the round and writing its report; floor ≤ 1.5× (issue 14).
  Both run as fresh processes from bytecode, timed from outside, interleaved A B B A …, the median of --runs each.

Set-up: bench_merge's cached round and signed exports (bench-out/merge: 30 reviewers, ~150 sites × 116 site leaves
each, ≈17.4k rows an export), then, in a scratch directory, once per run of this script: the exports merged, a
coordinator key, and the bundle published (--allow-incomplete: the synthetic reviewers leave a few pairs unscored
and disagree here and there). Exit status 1 (and a FAIL line) when the floor is missed or the audit does not
reproduce the bundle.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.bench_merge import DEFAULT_DIR, ENV, PASSPHRASE, fresh_round, prepared
from benchmarks.figures import load_average, ratio_figure, series

TIME_FLOOR = 1.5

MERGE_AND_REPORT = r"""
import sys
from pathlib import Path
from workbench.consolidation.merge import merge_exports
from workbench.consolidation.report import write_report
files = [Path(p) for p in sys.argv[3:]]
report = merge_exports(Path(sys.argv[1]), files)
if len(report.merged) != len(files):
    raise SystemExit(f"only {len(report.merged)} of {len(files)} merged")
write_report(Path(sys.argv[1]), Path(sys.argv[2]), allow_incomplete=True)
"""

AUDIT = r"""
import sys
from pathlib import Path
from workbench.publish.audit import audit_bundle
print(audit_bundle(Path(sys.argv[1]), sys.argv[2]).summary)
"""


def run(script: str, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"FAIL: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.stdout}")
    return elapsed, done.stdout.strip()


def publish_bundle(pristine: Path, files: list[Path], scratch: Path) -> tuple[Path, str]:
    """The exports merged into a copy of the round and the bundle published with a fresh coordinator key."""
    from workbench.consolidation.merge import merge_exports
    from workbench.publish.bundle import publish
    from workbench.signed.keys import generate_secret_key, write_secret_key

    round_db = fresh_round(pristine, scratch, "published.db")
    merged = merge_exports(round_db, files)
    if len(merged.merged) != len(files):
        raise SystemExit(f"FAIL: {len(merged.merged)} of {len(files)} exports merged")
    secret = generate_secret_key()
    write_secret_key(scratch / "coord.key", secret, PASSPHRASE, scrypt_n=2**10)
    summary = publish(round_db, scratch / "coord.key", scratch / "bundle", passphrase=PASSPHRASE,
                      allow_incomplete=True)
    return summary.path, summary.coordinator_key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=int, default=30, help="exports in the bundle, one per reviewer (≥ 12)")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs (at least 5)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where bench_merge caches its set-up")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    pristine, files, rows = prepared(args.dir, args.exports)
    scratch = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        started = time.perf_counter()
        bundle, key = publish_bundle(pristine, files, scratch)
        print(f"[set-up {time.perf_counter() - started:6.1f} s] bundle of {len(files)} exports published",
              file=sys.stderr, flush=True)
        audits: list[float] = []
        merges: list[float] = []
        summary = ""
        for i in range(args.runs):
            for what in (("audit", "merge") if i % 2 == 0 else ("merge", "audit")):
                if what == "audit":
                    seconds, summary = run(AUDIT, str(bundle), key)
                    audits.append(seconds)
                else:
                    work = scratch / f"merge-{i}"
                    work.mkdir()
                    round_db = fresh_round(pristine, work)
                    seconds, _ = run(MERGE_AND_REPORT, str(round_db), str(work / "consolidated.xlsx"),
                                     *map(str, files))
                    merges.append(seconds)
                    shutil.rmtree(work)
        print(f"audit of a bundle of {len(files)} signed exports, {rows:,} rows in all, {args.runs} interleaved runs: "
              f"{summary}; {load_average()}")
        print("  " + series("audit", audits, digits=2))
        print("  " + series("merge + report of the same exports", merges, digits=2))
        ok = ratio_figure(f"audit {len(files)} exports ÷ (merge + report)", audits, merges, TIME_FLOOR)
        return 0 if ok else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
