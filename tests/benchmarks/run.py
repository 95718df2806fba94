"""Run every benchmark (tests/benchmarks/bench_*.py) one after another and summarise figure against floor.

Run from the repository root:  python tests/benchmarks/run.py [--repeat 3] [bench_scores bench_search …]

Generates the national synthetic round into bench-out/national.db first when it is missing or stale
(a couple of minutes, once). Each benchmark runs as its own process with its output shown as it comes;
at the end every line that sets a figure beside its floor is repeated. With --repeat N the whole set runs
N times and the summary gives, for each figure, the worst of its N medians (and the N medians with their
load averages), so that a figure that holds is not one lucky run. Exit status 1 when any benchmark failed
in any repetition (exit status other than 0, or a FAIL / MISSED line) or a worst median misses its floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE.parent) not in sys.path:  # tests/, for the benchmarks package as pytest and mypy name it
    sys.path.insert(0, str(HERE.parent))

from benchmarks.figures import FIGURES_ENV, load_average
from benchmarks.synthetic import DEFAULT_PATH, ensure_round

FIGURE = re.compile(r"floor.*\d")  # "… 0.21 s (floor ≤ 0.30 s)", "p95 … 3.1 ms vs floor 16 ms: ok"
FAILED = re.compile(r"\b(FAIL|MISSED)\b")


@dataclass
class Outcome:
    """One benchmark over the repetitions: whether each run held, and what it printed and reported."""

    name: str
    ok: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    lines: list[list[str]] = field(default_factory=list)  # each run's figure lines
    figures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # figure name → each run's report


def run(script: Path, figures_file: Path) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output line by line; its exit status and its output."""
    lines: list[str] = []
    env = {**os.environ, FIGURES_ENV: str(figures_file)}
    with subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return proc.returncode, lines


def worst(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The report with the worst median: the highest where lower is better, else the lowest."""
    if reports[0]["higher_is_better"]:
        return min(reports, key=lambda r: r["median"])
    return max(reports, key=lambda r: r["median"])


def show(value: float, report: dict[str, Any]) -> str:
    return f"{value:.{report['digits']}f}{report['unit']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="run only these benchmarks (e.g. bench_scores)")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole set this many times (default 1)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        wanted = {name.removesuffix(".py") for name in args.only}
        scripts = [s for s in scripts if s.stem in wanted]
        if missing := wanted - {s.stem for s in scripts}:
            parser.error(f"no such benchmark: {', '.join(sorted(missing))}")

    ensure_round(DEFAULT_PATH)
    outcomes = {script.stem: Outcome(script.stem) for script in scripts}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as scratch:
        for repetition in range(1, args.repeat + 1):
            for script in scripts:
                label = f"{script.stem} (run {repetition} of {args.repeat})" if args.repeat > 1 else script.stem
                print(f"\n=== {label} " + "=" * max(0, 70 - len(label)), flush=True)
                figures_file = Path(scratch) / f"{script.stem}-{repetition}.jsonl"
                figures_file.touch()
                start = time.perf_counter()
                code, lines = run(script, figures_file)
                outcome = outcomes[script.stem]
                outcome.ok.append(code == 0 and not any(FAILED.search(line) for line in lines))
                outcome.seconds.append(time.perf_counter() - start)
                outcome.lines.append([line for line in lines if FIGURE.search(line)])
                for text in figures_file.read_text(encoding="utf-8").splitlines():
                    report = json.loads(text)
                    outcome.figures.setdefault(report["name"], []).append(report)

    print("\n=== summary " + "=" * 63)
    if args.repeat > 1:
        print(f"{args.repeat} runs of the whole set; each figure is the worst of its {args.repeat} medians")
    failed = []
    for outcome in outcomes.values():
        worst_ok = all(worst(reports)["ok"] for reports in outcome.figures.values())
        ok = all(outcome.ok) and worst_ok
        if not ok:
            failed.append(outcome.name)
        held = f"{sum(outcome.ok)} of {len(outcome.ok)} runs held" if args.repeat > 1 else ""
        seconds = "/".join(f"{s:.0f}" for s in outcome.seconds)
        print(f"{outcome.name}: {'ok' if ok else 'FAILED'} ({seconds} s{'; ' + held if held else ''})")
        if outcome.figures:
            for name, reports in outcome.figures.items():
                bad = worst(reports)
                sign = "≥" if bad["higher_is_better"] else "≤"
                medians = ", ".join(f"{show(r['median'], r)} (load {r['load']:.2f})" for r in reports)
                print(f"  {name}: worst median {show(bad['median'], bad)} (min–max {show(bad['min'], bad)}–"
                      f"{show(bad['max'], bad)}) vs floor {sign} {show(bad['floor'], bad)}: "
                      f"{'ok' if bad['ok'] else 'FAIL'}" + (f"; medians {medians}" if len(reports) > 1 else ""))
        else:  # a benchmark that does not report through figures.py: its figure lines, run by run
            for n, lines in enumerate(outcome.lines, start=1):
                for line in lines:
                    print(f"  {'[run ' + str(n) + '] ' if args.repeat > 1 else ''}{line.strip()}")
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} benchmarks within their floors"
          + (f"; failed: {', '.join(failed)}" if failed else "") + f" ({load_average()} now)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
