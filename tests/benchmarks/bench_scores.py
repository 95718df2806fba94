"""Benchmark: the lookups as cold processes against `sqlite-utils query` running the same SQL (DESIGN §9, issue 18).

Run from the repository root:  python tests/benchmarks/bench_scores.py [--runs 9]

On the national synthetic round (generated into bench-out/ when missing), each lookup — `workbench scores
national.db 深圳 --indicator 互动交流`, and `workbench sites|cases|indicators national.db QUERY` — and
`sqlite-utils query` running the SQL that lookup runs once its names are resolved (lookup's scores SQL for
the target; the listing's SQL for the matched ids) are started as fresh processes, interleaved A B A B …,
at least 9 runs each. Each ratio of medians is printed with the min–max of its run-by-run ratios and the load
average beside its floor (≤ 0.5×); `workbench scores` also against its absolute floor (≤ 0.3 s). Both sides
run with bytecode caching on (into bench-out/pycache), as an installed program does (pip compiles what it
installs; this shell sets PYTHONDONTWRITEBYTECODE, which would have the editable checkout compiled at every
start while sqlite-utils runs from its installed bytecode), and sqlite-utils starts as it does without
pandas and numpy (see SQLITE_UTILS: it imports them when installed, and OR-Tools installs them). The lookup
must name the expected target and must not import textual, openpyxl, pypinyin or sqlite_utils. Exit status 1
(and a FAIL line) when anything is missed; a slow lookup is profiled (imports and stages) so the report says
where the time went.
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

from benchmarks.figures import figure, load_average, ratio_figure, series
from benchmarks.synthetic import DEFAULT_PATH, ensure_round
from workbench.cli.quick import LISTINGS
from workbench.search.lookup import _scores_sql, load_index, resolve
from workbench.store.db import Store

FLOOR_S = 0.30  # DESIGN §9: ≤ 0.3 s median here
FLOOR_RATIO = 0.5  # issue 18: twice as fast as sqlite-utils query running the same SQL
FORBIDDEN = ("textual", "openpyxl", "pypinyin", "sqlite_utils")
BIN = Path(sys.executable).parent
PYCACHE = ROOT / "bench-out" / "pycache"
# The listing lookups timed beside `scores`: (command, query).
LISTING_QUERIES = (("sites", "深圳"), ("cases", "惠企"), ("indicators", "hdjl"))

# Run in a fresh interpreter: where a cold lookup spends its time, stage by stage. (Two raw strings, split
# mid-line only to keep the source under 120 columns.)
STAGES = (r"""
import sys, time
t = [time.perf_counter()]
def mark(): t.append(time.perf_counter())
from workbench.cli.quick import run_plain; mark()
from workbench.search.lookup import lookup_scores, load_index, resolve, _scores_sql
from workbench.store.db import Store
from workbench.cli.output import render; mark()
from workbench.scoring.indicators import IndicatorTree
db, query, indicator = sys.argv[1:4]
store = Store.open(db); import workbench.scoring.indicators; mark()
index = load_index(store, lazy=True); mark()
target = resolve(index, query, ("site", "case"))[0]; mark()
resolve(index, indicator, ("indicator",)); mark()
IndicatorTree(store.indicators()); mark()
store.conn.execute(_scores_sql(store), (target.kind, target.id, target.kind, target.id)).fetchall(); mark()
result = lookup_scores(store, query, indicator=indicator); mark()
render(("a",) * 7, [r.cells() for r in result.rows], "table"); mark()
names = ("import workbench.cli.quick (the entry point's path)", "import workbench.search.lookup", """
          r""""Store.open (and the scoring engine's import)",
         "load_index (the stored index, lazily)", "resolve target", "resolve indicator", "indicator tree",
         "the scores SQL", "lookup_scores (all of it again)", "render table")
for name, a, b in zip(names, t, t[1:]):
    print(f"    {name:<52}{(b - a) * 1000:7.1f} ms")
""")


# sqlite-utils imports pandas and numpy whenever they are installed (for their column types), and OR-Tools, which
# `workbench assign` uses, installs both: that alone triples its start. The baseline is sqlite-utils as it starts
# without them, the tool a user reaches for; a query of plain SQL never needs them.
SQLITE_UTILS = (
    "import sys\n"
    "sys.modules['pandas'] = sys.modules['numpy'] = None  # as if not installed: sqlite-utils skips them\n"
    "from sqlite_utils.cli import cli\n"
    "sys.argv[0] = 'sqlite-utils'\n"
    "sys.exit(cli())\n"
)


def command(script: str, module: str) -> list[str]:
    """The installed entry point (no shell shim in front), else `python -m`."""
    path = BIN / script
    return [str(path)] if path.is_file() and os.access(path, os.X_OK) else [sys.executable, "-m", module]


def named(sql: str) -> str:
    """The scores SQL's positional (kind, id, kind, id) placeholders as named ones, for `sqlite-utils query -p`."""
    names = iter((":kind", ":id", ":kind", ":id"))
    out = re.sub(r"\?", lambda _: next(names), sql)
    if next(names, None) is not None:
        raise SystemExit("the scores SQL no longer has four placeholders (kind, id, kind, id); update bench_scores.py")
    return out


def bytecode_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


ENV = bytecode_env()


def timed(cmd: list[str], cpu: list[float] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one cold process; its CPU time (user + system) is appended to ``cpu``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, done


def imported_modules(cmd: list[str]) -> set[str]:
    """Top-level names of every module the lookup imports (python -X importtime)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, cwd=ROOT, env=ENV)
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def slowest_imports(cmd: list[str], top: int = 12) -> list[str]:
    done = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True, cwd=ROOT, env=ENV)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return [f"    {us / 1000:7.1f} ms cumulative  {name}" for us, name in sorted(rows, reverse=True)[:top]]


def listing_sql(command: str, ids: list[str]) -> str:
    """The SQL a listing runs for its matched ids, with them written in (sqlite-utils takes named parameters)."""
    listing = next(listing for kind, listing in LISTINGS.items() if f"{kind}s" == command)
    if not listing.sql:  # indicators: every row, filtered in Python (~150 rows)
        return "SELECT code, name, kind, max_score, step, applies_to FROM indicators ORDER BY position"
    return listing.sql.format(ids=", ".join("'" + i.replace("'", "''") + "'" for i in ids))


def interleave(pairs: dict[str, tuple[list[str], list[str]]], runs: int) -> dict[str, dict[str, list[float]]]:
    """Each (A, B) pair run A B A B … `runs` times, the pairs themselves interleaved; wall and CPU per side."""
    out: dict[str, dict[str, list[float]]] = {name: {"a": [], "b": [], "a_cpu": [], "b_cpu": []} for name in pairs}
    for _ in range(runs):
        for name, (a, b) in pairs.items():
            for side, cmd in (("a", a), ("b", b)):
                seconds, done = timed(cmd, out[name][f"{side}_cpu"])
                if done.returncode != 0:
                    raise SystemExit(f"FAIL: {' '.join(cmd)[:200]} exited {done.returncode}: {done.stderr[-300:]}")
                out[name][side].append(seconds)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_PATH, help=f"round database (default {DEFAULT_PATH})")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each command, interleaved (at least 9)")
    parser.add_argument("--query", default="深圳")
    parser.add_argument("--indicator", default="互动交流")
    parser.add_argument("--profile", action="store_true", help="print the import and stage profile even when fast")
    args = parser.parse_args()
    runs = max(9, args.runs)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # interleave with stderr under run.py

    db = ensure_round(args.db)
    store = Store.open(db)
    index = load_index(store, lazy=True)
    target = resolve(index, args.query, ("site", "case"))[0]
    leaf = resolve(index, args.indicator, ("indicator",))[0]
    scores_sql = _scores_sql(store)
    rows = len(store.conn.execute(scores_sql, (target.kind, target.id) * 2).fetchall())
    matched = {command: [e.id for e in resolve(index, query, (command.removesuffix("s"),))]
               for command, query in LISTING_QUERIES}
    store.close()
    print(f"round: {db} ({db.stat().st_size / 1e9:.1f} GB)")
    print(f"resolved: {args.query} → {target.name} ({target.kind} {target.id}); "
          f"{args.indicator} → {leaf.id} {leaf.name}")

    workbench, sqlite_utils = command("workbench", "workbench"), [sys.executable, "-c", SQLITE_UTILS]
    lookup = [*workbench, "scores", str(db), args.query, "--indicator", args.indicator]
    query = [*sqlite_utils, "query", str(db), named(scores_sql), "-p", "kind", target.kind, "-p", "id", target.id]
    pairs = {"scores": (lookup, query)}
    for command_name, text in LISTING_QUERIES:
        pairs[command_name] = ([*workbench, command_name, str(db), text],
                               [*sqlite_utils, "query", str(db), listing_sql(command_name, matched[command_name])])
    print(f"A: {' '.join(lookup)}")
    print(f"B: sqlite-utils query … the scores SQL -p kind {target.kind} -p id {target.id}  ({rows} rows)")
    for command_name, text in LISTING_QUERIES:
        print(f"A: workbench {command_name} … {text}   B: sqlite-utils query … its SQL for the "
              f"{len(matched[command_name])} ids it matched")

    failures: list[str] = []
    outputs = {}
    for name, (a, b) in pairs.items():  # warm the page cache and write the bytecode; not timed
        outputs[name] = [timed(cmd)[1] for cmd in (a, b)]
        for done in outputs[name]:
            if done.returncode != 0:
                failures.append(f"{name}: exited {done.returncode}: {done.stderr.strip()[-300:]}")
    bare = [timed([sys.executable, "-c", "pass"])[0] for _ in range(5)]
    measured = interleave(pairs, runs)

    out_a, out_b = outputs["scores"][0].stdout, outputs["scores"][1].stdout
    expected = f"{target.name}（{target.id}）"
    if not out_a.startswith(expected) or leaf.name not in out_a:
        failures.append(f"workbench scores did not show {expected} / {leaf.name}; it printed: {out_a[:200]!r}")
    if f'"{target.id}"' not in out_b:
        failures.append(f"sqlite-utils query returned no rows for {target.id}: {out_b[:200]!r}")
    for command_name, _ in LISTING_QUERIES:
        shown = outputs[command_name][0].stdout
        if not matched[command_name] or matched[command_name][0] not in shown:
            failures.append(f"workbench {command_name} did not list {matched[command_name][:1]}: {shown[:200]!r}")
    as_module = ["-m", "workbench", "scores", str(db), args.query, "--indicator", args.indicator]
    loaded = imported_modules(as_module)
    heavy = sorted(m for m in FORBIDDEN if m in loaded)

    print(f"\n{runs} interleaved runs each, wall time, bytecode cached; {load_average()}")
    print("  " + series("python -c pass (interpreter start)", bare))
    for name, m in measured.items():
        print("  " + series(f"A workbench {name}", m["a"]) + f", CPU {statistics.median(m['a_cpu']):.3f} s")
        print("  " + series(f"B sqlite-utils query ({name})", m["b"]) + f", CPU {statistics.median(m['b_cpu']):.3f} s")
    print()
    scores = measured["scores"]
    ok_time = figure("workbench scores cold", statistics.median(scores["a"]), min(scores["a"]), max(scores["a"]),
                     FLOOR_S, unit=" s", digits=3)
    ok_ratios = [ratio_figure(f"workbench {name} ÷ sqlite-utils query, same SQL", m["a"], m["b"], FLOOR_RATIO)
                 for name, m in measured.items()]
    print(f"lookup imports none of {', '.join(FORBIDDEN)}: "
          f"{'ok' if not heavy else 'FAIL, imported ' + ', '.join(heavy)}")
    for failure in failures:
        print(f"FAIL: {failure}")
    fast = ok_time and all(ok_ratios)
    if not fast and os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"note: the machine is busy ({load_average()}); wall times are inflated, the ratios and the CPU "
              "times less so")

    if args.profile or not fast:
        print("\nprofile: slowest imports (python -X importtime)")
        print("\n".join(slowest_imports(as_module)))
        print("profile: stages in a fresh interpreter")
        done = subprocess.run([sys.executable, "-c", STAGES, str(db), args.query, args.indicator],
                              capture_output=True, text=True, cwd=ROOT, env=ENV)
        print(done.stdout.rstrip() or done.stderr.strip()[-500:])
    return 0 if fast and not heavy and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
