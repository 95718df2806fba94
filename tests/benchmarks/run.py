"""Run every benchmark (tests/benchmarks/bench_*.py) one after another and summarise figure against floor.

Run from the repository root:  python tests/benchmarks/run.py [bench_scores bench_search …]

Generates the national synthetic round into bench-out/national.db first when it is missing or stale
(a couple of minutes, once). Each benchmark runs as its own process with its output shown as it comes;
at the end every line that sets a figure beside its floor is repeated. Exit status 1 when any benchmark
failed (exit status other than 0, or a FAIL / MISSED line).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE.parent) not in sys.path:  # tests/, for the benchmarks package as pytest and mypy name it
    sys.path.insert(0, str(HERE.parent))

from benchmarks.synthetic import DEFAULT_PATH, ensure_round

FIGURE = re.compile(r"floor.*\d")  # "… 0.21 s (floor ≤ 0.30 s)", "p95 … 3.1 ms vs floor 16 ms: ok"
FAILED = re.compile(r"\b(FAIL|MISSED)\b")


def run(script: Path) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output line by line; its exit status and its output."""
    lines: list[str] = []
    with subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return proc.returncode, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="run only these benchmarks (e.g. bench_scores)")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        wanted = {name.removesuffix(".py") for name in args.only}
        scripts = [s for s in scripts if s.stem in wanted]
        if missing := wanted - {s.stem for s in scripts}:
            parser.error(f"no such benchmark: {', '.join(sorted(missing))}")

    ensure_round(DEFAULT_PATH)
    summary: list[tuple[str, bool, float, list[str]]] = []
    for script in scripts:
        print(f"\n=== {script.stem} " + "=" * max(0, 70 - len(script.stem)), flush=True)
        start = time.perf_counter()
        code, lines = run(script)
        ok = code == 0 and not any(FAILED.search(line) for line in lines)
        summary.append((script.stem, ok, time.perf_counter() - start, [line for line in lines if FIGURE.search(line)]))

    print("\n=== summary " + "=" * 63)
    for name, ok, seconds, figures in summary:
        print(f"{name}: {'ok' if ok else 'FAILED'} ({seconds:.0f} s)")
        for line in figures:
            print(f"  {line.strip()}")
    failed = [name for name, ok, _, _ in summary if not ok]
    print(f"\n{len(summary) - len(failed)} of {len(summary)} benchmarks within their floors"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
