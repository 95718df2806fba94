"""Benchmark: fuzzy search per keystroke over ~15k entries with pinyin keys, p95 against the 16 ms floor.

Run from the repository root:  python tests/benchmarks/bench_search.py [--entries 15000] [--repeat 5]

The corpus is the demo round's sites, cases and indicators plus synthetic site names up to --entries. Keys
(pinyin included) are computed once at set-up; then every query of a ~200-query mix (pinyin, initials,
Chinese, codes, typos, and the test fixture's queries) is timed as typed, one search per keystroke, and the
fixture's expected top results are checked on this larger corpus. Exit status 1 when a floor or an expected
result is missed.
"""

from __future__ import annotations

import argparse
import csv
import functools
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the benchmarks package, as pytest and mypy name it

from benchmarks.figures import figure
from scripts.synthetic import synthetic_site_names
from workbench.search.index import SearchEntry, SearchIndex, entry_from_row
from workbench.search.keys import build_entry, entry_to_row, pinyin_keys

DEMO = ROOT / "workbench" / "fixtures" / "demo-2022"
QUERIES = ROOT / "tests" / "data" / "search_queries.csv"
FLOOR_MS = 16.0  # one frame at 60 Hz (DESIGN §9)
CATEGORIES = ("pinyin", "initials", "chinese", "code", "typo")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def demo_entries() -> list[SearchEntry]:
    """The demo round's entries, built as the round's set-up builds them."""
    entries = [build_entry("site", r["编号"], r["名称"], (r["地区"],)) for r in read_csv(DEMO / "sites.csv")]
    entries += [build_entry("case", r["编号"], r["标题"], (r["申报单位"],)) for r in read_csv(DEMO / "cases.csv")]
    entries += [build_entry("indicator", r["代码"], r["名称"]) for r in read_csv(DEMO / "indicators.csv")]
    return entries


def corpus(size: int) -> list[SearchEntry]:
    entries = demo_entries()
    taken = {e.name for e in entries}
    # Ask for a few more than needed: some synthetic names coincide with demo names.
    for n, (name, region) in enumerate(synthetic_site_names(size, seed=2022)):
        if len(entries) >= size:
            break
        if name not in taken:
            taken.add(name)
            entries.append(build_entry("site", f"X{n:05d}", name, (region,)))
    return entries


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("drop", "swap", "replace", "double"))
    if edit == "drop":
        return word[:i] + word[i + 1:]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if edit == "replace":
        return word[:i] + rng.choice("aeioungzh") + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def query_mix(entries: list[SearchEntry], per_category: int, seed: int = 7) -> list[tuple[str, str]]:
    """(category, query) pairs drawn from the corpus the way people type: place names, initials, codes."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for _ in range(per_category):
        entry = rng.choice(entries)
        chinese = [k for k in entry.keys if not k.isascii()]
        alias = rng.choice(chinese)
        full, initials = pinyin_keys(alias)
        out.append(("pinyin", full))
        out.append(("initials", initials[:6]))
        start = rng.randrange(max(1, len(entry.name) - 2))
        out.append(("chinese", entry.name[start:start + rng.randint(2, 4)]))
        out.append(("code", rng.choice(entries).id))
        if len(full) >= 6:
            out.append(("typo", typo(full, rng)))
    return out


def time_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


def check_expected(index: SearchIndex) -> list[str]:
    """Misses of the fixture's expected results on this corpus (ids or names, within max_rank)."""
    misses = []
    for row in read_csv(QUERIES):
        hits = index.search(row["query"], limit=10)
        wanted = (row["expected_kind"], row["expected_id_or_name"])
        ranks = [n for n, h in enumerate(hits, 1) if (h.entry.kind, h.entry.id) == wanted
                 or (h.entry.kind, h.entry.name) == wanted]
        if not ranks or ranks[0] > int(row["max_rank"]):
            got = ", ".join(h.entry.name for h in hits[:5])
            misses.append(f"  {row['query']!r}: want {wanted[1]} within {row['max_rank']}, got [{got}]")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=15_000, help="corpus size (default 15000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes over the query mix (default 5)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    entries = corpus(args.entries)
    build_s = time.perf_counter() - t0
    rows = [entry_to_row(e) for e in entries]
    print(f"corpus: {len(entries)} entries, {sum(len(e.keys) for e in entries)} keys; "
          f"keys built in {build_s:.1f} s (set-up time, pypinyin)")
    load_ms = statistics.median(time_ms(lambda: SearchIndex.from_rows(rows)) for _ in range(5))
    slow_ms = statistics.median(time_ms(lambda: SearchIndex([entry_from_row(r) for r in rows])) for _ in range(3))
    print(f"index from stored rows: SearchIndex.from_rows {load_ms:.1f} ms "
          f"(SearchIndex([entry_from_row(row) …]) {slow_ms:.1f} ms)")
    cold = SearchIndex.from_rows(rows)
    print(f"first search on a fresh index (\"shenzhen\"): {time_ms(lambda: cold.search('shenzhen')):.1f} ms")
    index = SearchIndex.from_rows(rows)
    print(f"prepare() — the fuzzy tier's and nearest()'s vocabulary, else built on first use: "
          f"{time_ms(index.prepare):.1f} ms")

    mix = query_mix(entries, per_category=36) + [("fixture", r["query"]) for r in read_csv(QUERIES)]
    keystrokes: dict[str, list[float]] = {c: [] for c in (*CATEGORIES, "fixture")}
    whole: list[float] = []
    for _ in range(args.repeat):
        for category, query in mix:
            for n in range(1, len(query) + 1):
                def search_prefix(query: str = query, n: int = n) -> object:  # bound now, not late (B023)
                    return index.search(query[:n], limit=10)

                ms = time_ms(search_prefix)
                keystrokes[category].append(ms)
                if n == len(query):
                    whole.append(ms)
    every = [ms for samples in keystrokes.values() for ms in samples]

    print(f"\n{len(mix)} queries × {args.repeat} passes, one search per keystroke (limit 10), prepared index")
    print(f"{'':<22}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'floor':>8}")
    for label, samples in [("every keystroke", every), ("whole queries", whole),
                           *((f"  {c}", s) for c, s in keystrokes.items())]:
        print(f"{label:<22}{statistics.median(samples):>8.2f}{p95(samples):>8.2f}{max(samples):>8.2f}"
              f"{FLOOR_MS:>8.0f}")
    nearest_ms = [time_ms(functools.partial(index.nearest, q)) for q in ("xyzzy", "qqqqq", "深川市", "shanzhan")]
    print(f"nearest() for a query with no match: median {statistics.median(nearest_ms):.1f} ms")

    print()
    ok = figure("search p95 per keystroke (min–max of every keystroke)", p95(every), min(every), max(every),
                FLOOR_MS, unit=" ms")
    misses = check_expected(index)
    print(f"expected top results on this corpus: {'all ok' if not misses else f'{len(misses)} MISSED'}")
    if misses:
        print("\n".join(misses))
    return 0 if ok and not misses else 1


if __name__ == "__main__":
    sys.exit(main())
