"""Benchmark: `workbench scores` as a cold process against `sqlite-utils query` running the same SQL (DESIGN §9).

Run from the repository root:  python tests/benchmarks/bench_scores.py [--runs 9]

On the national synthetic round (generated into bench-out/ when missing), the lookup
`workbench scores national.db 深圳 --indicator 互动交流` and `sqlite-utils query` of lookup.SCORES_SQL with
the target already resolved are each started as fresh processes, interleaved A B A B …; the medians are
printed beside their floors. The lookup must also name the expected target and must not import textual,
openpyxl, pypinyin or sqlite_utils. Exit status 1 (and a FAIL line) when anything is missed; a slow lookup
is profiled (imports and stages) so the report says where the time went.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT, ROOT / "tests"):  # the checkout, and tests/ for the benchmarks package as pytest and mypy name it
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.synthetic import DEFAULT_PATH, ensure_round
from workbench.search.lookup import SCORES_SQL, load_index, resolve
from workbench.store.db import Store

FLOOR_S = 0.30  # DESIGN §9: ≤ 0.3 s median here
FLOOR_RATIO = 1.0  # faster than sqlite-utils query running the same SQL
FORBIDDEN = ("textual", "openpyxl", "pypinyin", "sqlite_utils")
BIN = Path(sys.executable).parent

# Run in a fresh interpreter: where a cold lookup spends its time, stage by stage. (Two raw strings, split
# mid-line only to keep the source under 120 columns.)
STAGES = (r"""
import sys, time
t = [time.perf_counter()]
def mark(): t.append(time.perf_counter())
from workbench.cli.main import cli; mark()
from workbench.search.lookup import lookup_scores, load_index, resolve, SCORES_SQL; mark()
from workbench.store.db import Store
from workbench.scoring.indicators import IndicatorTree
from workbench.cli.output import render
db, query, indicator = sys.argv[1:4]
store = Store.open(db); mark()
index = load_index(store); mark()
target = resolve(index, query, ("site", "case"))[0]; mark()
resolve(index, indicator, ("indicator",)); mark()
IndicatorTree(store.indicators()); mark()
store.conn.execute(SCORES_SQL, (target.kind, target.id, target.kind, target.id)).fetchall(); mark()
result = lookup_scores(store, query, indicator=indicator); mark()
render(("a",) * 7, [r.cells() for r in result.rows], "table"); mark()
names = ("import workbench.cli.main (click)", "import workbench.search.lookup (search, indicators, store)", """
          r""""Store.open",
         "load_index (search_keys → SearchIndex)", "resolve target", "resolve indicator", "indicator tree",
         "SCORES_SQL", "lookup_scores (all of it again)", "render table")
for name, a, b in zip(names, t, t[1:]):
    print(f"    {name:<52}{(b - a) * 1000:7.1f} ms")
""")


def command(script: str, module: str) -> list[str]:
    """The installed entry point (no shell shim in front), else `python -m`."""
    path = BIN / script
    return [str(path)] if path.is_file() and os.access(path, os.X_OK) else [sys.executable, "-m", module]


def named(sql: str) -> str:
    """SCORES_SQL's positional (kind, id, kind, id) placeholders as named ones, for `sqlite-utils query -p`."""
    names = iter((":kind", ":id", ":kind", ":id"))
    out = re.sub(r"\?", lambda _: next(names), sql)
    if next(names, None) is not None:
        raise SystemExit("SCORES_SQL no longer has four placeholders (kind, id, kind, id); update bench_scores.py")
    return out


def timed(cmd: list[str], cpu: list[float] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one cold process; its CPU time (user + system) is appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, done


def imported_modules(cmd: list[str]) -> set[str]:
    """Top-level names of every module the lookup imports (python -X importtime)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, cwd=ROOT)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def slowest_imports(cmd: list[str], top: int = 12) -> list[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, cwd=ROOT)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"    {us / 1000:7.1f} ms cumulative  {name}" for us, name in sorted(rows, reverse=True)[:top]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_PATH, help=f"round database (default {DEFAULT_PATH})")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each command, interleaved (default 9)")
    parser.add_argument("--query", default="深圳")
    parser.add_argument("--indicator", default="互动交流")
    parser.add_argument("--profile", action="store_true", help="print the import and stage profile even when fast")
    args = parser.parse_args()
    runs = max(7, args.runs)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # interleave with stderr under run.py

    db = ensure_round(args.db)
    store = Store.open(db)
    index = load_index(store)
    target = resolve(index, args.query, ("site", "case"))[0]
    leaf = resolve(index, args.indicator, ("indicator",))[0]
    rows = len(store.conn.execute(SCORES_SQL, (target.kind, target.id) * 2).fetchall())
    store.close()
    print(f"round: {db} ({db.stat().st_size / 1e9:.1f} GB)")
    print(f"resolved: {args.query} → {target.name} ({target.kind} {target.id}); "
          f"{args.indicator} → {leaf.id} {leaf.name}")

    lookup = [*command("workbench", "workbench"), "scores", str(db), args.query, "--indicator", args.indicator]
    query = [*command("sqlite-utils", "sqlite_utils"), "query", str(db), named(SCORES_SQL),
             "-p", "kind", target.kind, "-p", "id", target.id]
    python = [sys.executable, "-c", "pass"]
    print(f"A: {' '.join(lookup)}")
    print(f"B: sqlite-utils query … SCORES_SQL -p kind {target.kind} -p id {target.id}  ({rows} rows)")

    failures: list[str] = []
    for cmd in (lookup, query):  # warm the page cache; not timed
        _, done = timed(cmd)
        if done.returncode != 0:
            failures.append(f"{cmd[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    a_times: list[float] = []
    b_times: list[float] = []
    a_cpu: list[float] = []
    b_cpu: list[float] = []
    bare: list[float] = []
    out_a = out_b = ""
    for _ in range(runs):
        s, done = timed(lookup, a_cpu)
        a_times.append(s)
        out_a = done.stdout
        s, done = timed(query, b_cpu)
        b_times.append(s)
        out_b = done.stdout
        bare.append(timed(python)[0])

    expected = f"{target.name}（{target.id}）"
    if not out_a.startswith(expected) or leaf.name not in out_a:
        failures.append(f"workbench scores did not show {expected} / {leaf.name}; it printed: {out_a[:200]!r}")
    if f'"{target.id}"' not in out_b:
        failures.append(f"sqlite-utils query returned no rows for {target.id}: {out_b[:200]!r}")
    as_module = ["-m", "workbench", "scores", str(db), args.query, "--indicator", args.indicator]
    loaded = imported_modules(as_module)
    heavy = sorted(m for m in FORBIDDEN if m in loaded)

    a, b = statistics.median(a_times), statistics.median(b_times)
    ratio = a / b
    print(f"\n{runs} interleaved runs each: median wall (min–max), median CPU; load average {os.getloadavg()[0]:.1f}")
    print(f"  python -c pass (interpreter start): {statistics.median(bare):.3f} s")
    print(f"  A workbench scores:   {a:.3f} s ({min(a_times):.3f}–{max(a_times):.3f}), "
          f"CPU {statistics.median(a_cpu):.3f} s")
    print(f"  B sqlite-utils query: {b:.3f} s ({min(b_times):.3f}–{max(b_times):.3f}), "
          f"CPU {statistics.median(b_cpu):.3f} s")
    ok_time, ok_ratio = a <= FLOOR_S, ratio < FLOOR_RATIO
    print(f"\nworkbench scores cold: {a:.2f} s (floor ≤ {FLOOR_S:.2f} s){'' if ok_time else '  FAIL'}")
    print(f"ratio vs sqlite-utils query: {ratio:.2f} (floor < {FLOOR_RATIO:.1f}){'' if ok_ratio else '  FAIL'}")
    print(f"lookup imports none of {', '.join(FORBIDDEN)}: "
          f"{'ok' if not heavy else 'FAIL, imported ' + ', '.join(heavy)}")
    for failure in failures:
        print(f"FAIL: {failure}")
    if not ok_time and os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"note: the machine is busy (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs); wall times are "
              "inflated, the ratio and the CPU times less so")

    if args.profile or not (ok_time and ok_ratio):
        print("\nprofile: slowest imports (python -X importtime)")
        print("\n".join(slowest_imports(as_module)))
        print("profile: stages in a fresh interpreter")
        done = subprocess.run([sys.executable, "-c", STAGES, str(db), args.query, args.indicator],
                              capture_output=True, text=True, cwd=ROOT)
        print(done.stdout.rstrip() or done.stderr.strip()[-500:])
    return 0 if ok_time and ok_ratio and not heavy and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
