"""How every benchmark reports a figure: median, min–max and the load average beside its floor, one line each.

A figure line reads  `<name>: <median> (min–max <low>–<high>) vs floor ≤ <floor>; load 1.23 0.98 0.75 on 2 CPUs: ok`.
When run.py runs the benchmark it also gets each figure as a JSON line in the file named by $BENCH_FIGURES, so that
over repeated runs it can report the worst median of each.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence

FIGURES_ENV = "BENCH_FIGURES"


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages and its CPU count: how much else was running."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def figure(
    name: str, median: float, low: float, high: float, floor: float, *, unit: str = "", digits: int = 2,
    higher_is_better: bool = False,
) -> bool:
    """Print one figure beside its floor (≤ floor, or ≥ floor when higher is better); True when it holds."""
    ok = median >= floor if higher_is_better else median <= floor
    sign = "≥" if higher_is_better else "≤"
    print(f"{name}: {median:.{digits}f}{unit} (min–max {low:.{digits}f}–{high:.{digits}f}{unit}) vs floor {sign} "
          f"{floor:.{digits}f}{unit}; {load_average()}: {'ok' if ok else 'FAIL'}", flush=True)
    target = os.environ.get(FIGURES_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"name": name, "median": median, "min": low, "max": high, "floor": floor,
                                  "unit": unit, "digits": digits, "higher_is_better": higher_is_better,
                                  "ok": ok, "load": os.getloadavg()[0]}, ensure_ascii=False) + "\n")
    return ok


def sample_figure(
    name: str, samples: Sequence[float], floor: float, *, unit: str = "", digits: int = 2,
    higher_is_better: bool = False,
) -> bool:
    """A figure that is the median of its samples, their min–max beside it."""
    return figure(name, statistics.median(samples), min(samples), max(samples), floor, unit=unit, digits=digits,
                  higher_is_better=higher_is_better)


def ratio_figure(
    name: str, measured: Sequence[float], baseline: Sequence[float], floor: float, *, digits: int = 2,
) -> bool:
    """The ratio of two interleaved series' medians (lower is better); min–max of the run-by-run ratios beside it."""
    pairs = [a / b for a, b in zip(measured, baseline, strict=False) if b > 0]
    median = statistics.median(measured) / statistics.median(baseline)
    return figure(name, median, min(pairs, default=median), max(pairs, default=median), floor, unit="×",
                  digits=digits)


def series(name: str, samples: Sequence[float], unit: str = " s", digits: int = 3) -> str:
    """One measured series for information: its median and min–max."""
    return (f"{name}: {statistics.median(samples):.{digits}f}{unit} "
            f"(min–max {min(samples):.{digits}f}–{max(samples):.{digits}f}{unit}, {len(samples)} runs)")
