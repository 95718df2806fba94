"""Benchmark: the reviewer app's cold start to the interactive queue, and key press → committed → repainted.

Run from the repository root:  python tests/benchmarks/bench_tui.py [--runs 7] [--presses 200]

On a reviewer package of the national synthetic round (~147 targets × 120 indicators ≈ 18k score rows,
values filled in from the round so that every queue row has a total and a grade):

1. Cold start: `python tests/tui/run_app.py PACKAGE` with WORKBENCH_EXIT_AFTER_START=1 (headless, exits
   once the queue has been painted and is interactive: every visible row complete; totals of rows beyond
   the first screenful follow one frame later) against a bare Textual app that shows the same queue rows,
   read from JSON, in a DataTable and exits after its first paint — fresh processes, interleaved A B A B …;
   the ratio of the wall-clock medians against the 1.3 floor (DESIGN §9). Also shown, for information:
   CPU time, and the app until every row's total is shown (WORKBENCH_EXIT_AFTER_START=all). The app's
   start must not import openpyxl, pypinyin or sqlite_utils.
2. Confirm latency: in one process, the real app scores leaves; each measurement runs from the Enter key
   event (value already typed) until the screen has been refreshed after the durable commit (a callback
   scheduled after the ScoreSaved message runs after the compositor's next update); p95 against 50 ms.

Both are measured at each terminal size of --sizes (80x24 and 200x50 by default), headless (Textual renders
but writes nothing to a terminal), with bytecode caching on (into bench-out/pycache) as an installed app has it.
Exit status 1 and a FAIL line when a floor is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.figures import figure, ratio_figure
from benchmarks.synthetic import DEFAULT_PATH, ensure_round

FLOOR_RATIO = 1.3
FLOOR_P95_MS = 50.0
FORBIDDEN = ("openpyxl", "pypinyin", "sqlite_utils")
OUT = ROOT / "bench-out"
PACKAGE = OUT / "tui-package.wbk"
ROWS_JSON = OUT / "tui-queue-rows.json"

BARE_APP = r"""
import json, sys
from textual.app import App
from textual.widgets import DataTable

class Bare(App):
    def compose(self):
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self):
        data = json.loads(open(sys.argv[1], encoding="utf-8").read())
        table = self.query_one(DataTable)
        table.add_columns(*data["columns"])
        for row in data["rows"]:
            table.add_row(*row)
        table.focus()
        self.call_after_refresh(self.exit)

columns, _, rows = sys.argv[2].partition("x")
Bare().run(headless=True, size=(int(columns), int(rows)))
"""

IMPORTS_PROBE = r"""
import os, sys
from pathlib import Path
os.environ["WORKBENCH_EXIT_AFTER_START"] = "all"
from workbench.tui.app import run_review
run_review(Path(sys.argv[1]), None)
print(",".join(m for m in ("openpyxl", "pypinyin", "sqlite_utils", "rapidfuzz") if m in sys.modules))
"""


def build_package() -> Path:
    """A package of the reviewer with the most targets, its cells filled with that reviewer's round values."""
    if PACKAGE.exists():
        return PACKAGE
    from workbench.setup.package import make_package

    round_db = ensure_round(DEFAULT_PATH)
    conn = sqlite3.connect(round_db)
    reviewer = conn.execute(
        "SELECT reviewer_id FROM assignments GROUP BY reviewer_id ORDER BY count(*) DESC, reviewer_id LIMIT 1"
    ).fetchone()[0]
    conn.close()
    tmp = PACKAGE.with_name(PACKAGE.name + ".building")
    tmp.unlink(missing_ok=True)
    make_package(round_db, reviewer, tmp)
    pkg = sqlite3.connect(tmp)
    pkg.execute("ATTACH DATABASE ? AS src", (str(round_db),))
    pkg.execute(
        "UPDATE scores SET value = (SELECT s.value FROM src.scores s WHERE s.round = scores.round AND "
        "s.reviewer_id = scores.reviewer_id AND s.target_kind = scores.target_kind AND "
        "s.target_id = scores.target_id AND s.indicator = scores.indicator)"
    )
    pkg.commit()
    pkg.execute("DETACH DATABASE src")
    pkg.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pkg.close()
    os.replace(tmp, PACKAGE)
    return PACKAGE


def queue_rows_json(package: Path) -> Path:
    """The queue's rows as the app shows them (plain text), for the bare app to show."""
    from workbench.review import ReviewSession
    from workbench.store.db import Store
    from workbench.tui.display import queue_cells
    from workbench.tui.i18n import Texts

    store = Store.open(package)
    try:
        session = ReviewSession(store)
        texts = Texts("zh")
        rows = [[str(cell) for cell in queue_cells(texts, row)] for row in session.queue()]
        columns = [texts(f"col.{c}") for c in ("kind", "id", "name", "region", "progress", "status", "total", "grade")]
        pairs = store.conn.execute("SELECT count(*) FROM scores").fetchone()[0]
    finally:
        store.close()
    ROWS_JSON.write_text(json.dumps({"columns": columns, "rows": rows}, ensure_ascii=False), encoding="utf-8")
    print(f"package {package}: {len(rows)} targets, {pairs:,} score rows")
    return ROWS_JSON


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(cmd)} exited {proc.returncode}\n{err.decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def cold_start(package: Path, rows_json: Path, runs: int, size: str) -> bool:
    env = {**os.environ, "WORKBENCH_CONFIG": os.devnull + ".none", "WORKBENCH_START_SIZE": size,
           # An installed app runs from bytecode, as Textual does here: let the warm-up run compile ours.
           "PYTHONPYCACHEPREFIX": str(OUT / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    work = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    bare = work / "bare_app.py"
    bare.write_text(BARE_APP, encoding="utf-8")
    app_cmd = [sys.executable, str(ROOT / "tests" / "tui" / "run_app.py"), str(package)]
    commands = {
        "app": (app_cmd, {**env, "WORKBENCH_EXIT_AFTER_START": "1"}),
        "app, every total": (app_cmd, {**env, "WORKBENCH_EXIT_AFTER_START": "all"}),
        "bare": ([sys.executable, str(bare), str(rows_json), size], env),
    }
    for cmd, cmd_env in commands.values():  # warm the page cache and the bytecode once
        timed(cmd, cmd_env)
    runs_of: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, cmd_env) in commands.items():
            runs_of[name].append(timed(cmd, cmd_env))
    shutil.rmtree(work, ignore_errors=True)
    wall = {name: statistics.median(w for w, _ in r) for name, r in runs_of.items()}
    cpu = {name: statistics.median(c for _, c in r) for name, r in runs_of.items()}
    print(f"cold start at {size}, medians of {runs} interleaved runs (wall / CPU):")
    for name in commands:
        print(f"  {name:<17} {wall[name]:.3f} s / {cpu[name]:.3f} s   runs "
              + " ".join(f"{w:.3f}" for w, _ in runs_of[name]))
    print(f"  CPU: the app {cpu['app'] / cpu['bare']:.2f}× the bare app's")
    ok = ratio_figure(f"cold start to the interactive queue ÷ the bare app, {size}", [w for w, _ in runs_of["app"]],
                      [w for w, _ in runs_of["bare"]], FLOOR_RATIO)
    print(f"  until every row's total is shown: {wall['app, every total'] / wall['bare']:.2f}× "
          f"(CPU {cpu['app, every total'] / cpu['bare']:.2f}×) — for information (floor {FLOOR_RATIO}× applies above)")
    probe = subprocess.run([sys.executable, "-c", IMPORTS_PROBE, str(package)], env=env, capture_output=True,
                           text=True, timeout=120)
    loaded = {m for m in probe.stdout.strip().splitlines()[-1].split(",") if m} if probe.stdout.strip() else set()
    bad = loaded & set(FORBIDDEN)
    print(f"start-up imports: {', '.join(sorted(loaded)) or 'none of ' + ', '.join(FORBIDDEN)}"
          f"{' — FAIL: must not import ' + ', '.join(sorted(bad)) if bad else ''}")
    return ok and not bad and probe.returncode == 0


async def confirm_latency(package: Path, presses: int, size: str) -> bool:
    from textual import events

    from workbench.store.db import Store
    from workbench.tui.app import make_app, open_package
    from workbench.tui.screens.target import TargetScreen

    work = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    copy = work / "package.wbk"
    shutil.copyfile(package, copy)
    with sqlite3.connect(copy) as conn:  # unscore everything so each Enter writes a new value
        conn.execute("UPDATE scores SET value = NULL")
    store = open_package(copy)  # as `workbench review` opens it
    app = make_app(store, lang="zh", keymap={})
    repainted: asyncio.Event = asyncio.Event()
    saved_at: list[float] = []

    def hook(message: object) -> None:
        if isinstance(message, TargetScreen.ScoreSaved) and not saved_at:
            saved_at.append(time.perf_counter())
            app.screen.call_after_refresh(repainted.set)

    latencies: list[float] = []
    commits: list[float] = []
    columns, _, rows = size.partition("x")
    async with app.run_test(size=(int(columns), int(rows)), message_hook=hook) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TargetScreen)
        driver = app._driver
        assert driver is not None
        while len(latencies) < presses:
            leaf = screen.current
            if leaf is None or screen.cells[leaf.code].value is not None:
                await pilot.press("right_square_bracket")  # next target: every leaf of this one is scored
                await pilot.pause()
                continue
            text = "否" if leaf.kind.value == "veto" else "0"
            if leaf.kind.value == "veto":
                key = events.Key("n", "n")
            else:
                await pilot.press(*text)
                key = events.Key("enter", "\r")
            repainted.clear()
            saved_at.clear()
            key.set_sender(app)
            start = time.perf_counter()
            driver.send_message(key)
            await asyncio.wait_for(repainted.wait(), timeout=10)
            latencies.append((time.perf_counter() - start) * 1000)
            commits.append((saved_at[0] - start) * 1000)
            await pilot.pause()
    store.close()
    check = Store.open(copy)
    scored = check.conn.execute("SELECT count(*) FROM scores WHERE value IS NOT NULL").fetchone()[0]
    check.close()
    shutil.rmtree(work, ignore_errors=True)
    latencies.sort()
    p95 = latencies[round(0.95 * (len(latencies) - 1))]
    commits.sort()
    print(f"key press → committed → repainted at {size} over {len(latencies)} confirmations: median "
          f"{statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms "
          f"(commit alone: median {statistics.median(commits):.1f} ms)")
    ok = figure(f"confirm p95 at {size} (min–max of every confirmation)", p95, latencies[0], latencies[-1],
                FLOOR_P95_MS,
                unit=" ms", digits=1)
    if scored != len(latencies):
        print(f"FAIL: {scored} values committed, expected {len(latencies)}")
    return ok and scored == len(latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="interleaved cold-start runs of each (≥ 5)")
    parser.add_argument("--presses", type=int, default=200, help="confirmations timed")
    parser.add_argument("--part", choices=("all", "start", "confirm"), default="all", help="run only one part")
    parser.add_argument("--sizes", default="80x24,200x50", help="terminal sizes, COLSxROWS, comma-separated")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    OUT.mkdir(exist_ok=True)
    package = build_package()
    rows_json = queue_rows_json(package)
    ok = True
    for size in args.sizes.split(","):
        if args.part in ("all", "start"):
            ok = cold_start(package, rows_json, args.runs, size) and ok
        if args.part in ("all", "confirm"):
            ok = asyncio.run(confirm_latency(package, args.presses, size)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
