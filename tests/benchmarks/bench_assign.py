"""Benchmark: `workbench assign` on a national-scale set-up, against its floor of 60 s and 2 GB (issue 13).

Run from the repository root:  python tests/benchmarks/bench_assign.py [--runs 1] [--seed 0] [--keep DIR]

Writes the set-up files (14,000 sites and 640 cases as tests/benchmarks/synthetic.py makes them, 300
reviewers over 34 regions with 专长, a conflicts file of 1,000 declared pairs: 900 targets and 100 units) to
a scratch folder, then runs `workbench assign … -o assignments.xlsx` as a fresh process and measures its wall
time and peak memory (the child's maximum resident set). The file written is read back and checked on its
own: every target has exactly 3 distinct reviewers, none in conflict; the load spread per kind; the reviewer
graph's connectivity. Exit status 1 (and a FAIL line) when a floor or a guarantee is missed.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT, ROOT / "tests"):  # the checkout, and tests/ for the benchmarks package as pytest and mypy name it
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.synthetic import CASE_AREAS, ORGS, SURNAMES, make_cases, make_sites
from workbench.setup.tables import id_key, read_table

FLOOR_S = 60.0
FLOOR_MB = 2048.0
SITES, CASES, REVIEWERS, PER_TARGET, CONFLICTS = 14_000, 640, 300, 3, 1_000
EXTRA_REGIONS = ("香港", "澳门", "台湾")
BIN = Path(sys.executable).parent


def write(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def make_setup(folder: Path, seed: int) -> dict[str, Path]:
    rng = random.Random(seed)
    sites = make_sites(rng, SITES, seed)
    cases = make_cases(rng, CASES, sites)
    regions = sorted({s[2] for s in sites if s[2]})
    regions += [g for g in EXTRA_REGIONS if g not in regions][: max(0, 34 - len(regions))]
    regions = regions[:34]
    orgs = [org for org, _ in ORGS]
    reviewers = []
    for i in range(REVIEWERS):
        region = regions[i % len(regions)]
        org = rng.choice(orgs) if rng.random() < 0.5 else f"{region}行政学院"
        areas = "、".join(rng.sample(CASE_AREAS, rng.choice((1, 2))))
        reviewers.append([f"R{i + 1:03d}", f"{rng.choice(SURNAMES)}专家{i + 1}", org, region, "", areas])
    declared: set[tuple[str, str, str]] = set()
    rows: list[list[object]] = []
    while len(rows) < CONFLICTS:
        reviewer = rng.choice(reviewers)[0]
        if len(rows) < CONFLICTS - 100:
            kind, target = ("网站", rng.choice(sites)[0]) if rng.random() < 0.8 else ("案例", str(rng.choice(cases)[0]))
            key = (reviewer, kind, target)
            row: list[object] = [reviewer, kind, target, "", "三年内曾在该单位任职"]
        else:
            unit = str(rng.choice(cases)[2])
            key = (reviewer, "", unit)
            row = [reviewer, "", "", unit, "亲属在该单位工作"]
        if key not in declared:
            declared.add(key)
            rows.append(row)
    return {
        "sites": write(folder / "sites.csv", ["编号", "名称", "地区", "层级", "网址"], [list(s) for s in sites]),
        "cases": write(folder / "cases.csv", ["编号", "标题", "申报单位", "地区", "领域", "简介", "合成"],
                       [list(c) for c in cases]),
        "reviewers": write(folder / "reviewers.csv", ["编号", "姓名", "单位", "地区", "容量", "专长"], reviewers),
        "conflicts": write(folder / "conflicts.csv", ["评审专家", "对象类型", "对象编号", "单位", "原因"], rows),
    }


def run_assign(files: dict[str, Path], out: Path, seed: int) -> tuple[float, float, str]:
    """Wall seconds, the child's peak resident memory in MB, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "workbench"), "assign", "--sites", str(files["sites"]), "--cases", str(files["cases"]),
         "--reviewers", str(files["reviewers"]), "--conflicts", str(files["conflicts"]),
         "--per-target", str(PER_TARGET), "--seed", str(seed), "-o", str(out)],
        capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: workbench assign exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return seconds, max(peak, before) / 1024, proc.stdout


def check(files: dict[str, Path], out: Path) -> list[str]:
    """The guarantees, checked on the written file alone; the problems found."""
    sites = {r["id"].value: r for r in read_table(files["sites"], ("id", "name"), ("region",)).rows}
    cases = {r["id"].value: r for r in read_table(files["cases"], ("id", "title"), ("government", "region")).rows}
    people = {r["id"].value: r for r in read_table(files["reviewers"], ("id", "name"), ("org", "region")).rows}
    declared = read_table(files["conflicts"], ("reviewer_id", "reason"), ("target_kind", "target_id", "org")).rows
    pairs = {(d["reviewer_id"].value, d["target_id"].value) for d in declared if d["target_id"].value}
    units = {(d["reviewer_id"].value, id_key(d["org"].value)) for d in declared if d["org"].value}
    rows = read_table(out, ("reviewer_id", "target_kind", "target_id")).rows
    per_target: dict[tuple[str, str], set[str]] = {}
    loads: dict[str, dict[str, int]] = {"网站": dict.fromkeys(people, 0), "案例": dict.fromkeys(people, 0)}
    problems: list[str] = []
    for row in rows:
        rid, kind, tid = row["reviewer_id"].value, row["target_kind"].value, row["target_id"].value
        target = sites[tid] if kind == "网站" else cases[tid]
        org = target["name"].value if kind == "网站" else target["government"].value
        person = people[rid]
        if (id_key(person["region"].value) == id_key(target["region"].value)
                or id_key(person["org"].value) == id_key(org) or (rid, tid) in pairs or (rid, id_key(org)) in units):
            problems.append(f"conflict assigned: {rid} {kind} {tid}")
        per_target.setdefault((kind, tid), set()).add(rid)
        loads[kind][rid] += 1
    if len(rows) != PER_TARGET * (len(sites) + len(cases)):
        problems.append(f"{len(rows)} rows, expected {PER_TARGET * (len(sites) + len(cases))}")
    problems += [f"{key} has {len(v)} reviewers" for key, v in per_target.items() if len(v) != PER_TARGET]
    for kind, by in loads.items():
        spread = max(by.values()) - min(by.values())
        print(f"load spread {kind}: {min(by.values())}–{max(by.values())} per reviewer (max − min = {spread})")
        if spread > 1:
            problems.append(f"{kind} loads spread by {spread}")
    parts = components(per_target.values(), list(people))
    print(f"reviewer graph: {len(parts)} component(s) over {sum(len(p) for p in parts)} reviewers")
    if len(parts) != 1:
        problems.append(f"reviewer graph in {len(parts)} parts")
    return problems


def components(groups: object, reviewers: list[str]) -> list[set[str]]:
    parent = {r: r for r in reviewers}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    used: set[str] = set()
    for group in groups:  # type: ignore[attr-defined]
        members = sorted(group)
        used.update(members)
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    parts: dict[str, set[str]] = {}
    for r in sorted(used):
        parts.setdefault(root(r), set()).add(r)
    return list(parts.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of the command; the median is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write the set-up files and the result here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        files = make_setup(folder, args.seed)
        out = folder / "assignments.xlsx"
        times: list[float] = []
        peak = 0.0
        output = ""
        for _ in range(max(1, args.runs)):
            seconds, mb, output = run_assign(files, out, args.seed)
            times.append(seconds)
            peak = max(peak, mb)
        print(output.rstrip())
        problems = check(files, out)
    median = statistics.median(times)
    ok_time, ok_memory = median <= FLOOR_S, peak < FLOOR_MB
    print(f"workbench assign (national: {SITES:,} sites, {CASES} cases, {REVIEWERS} reviewers, {PER_TARGET} per "
          f"target, {CONFLICTS:,} conflicts) median {median:.1f} s (floor ≤ {FLOOR_S:.0f} s): "
          f"{'ok' if ok_time else 'FAIL'}")
    print(f"workbench assign peak memory {peak:.0f} MB (floor < {FLOOR_MB:.0f} MB): {'ok' if ok_memory else 'FAIL'}")
    for problem in problems[:20]:
        print(f"FAIL: {problem}")
    return 0 if ok_time and ok_memory and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
