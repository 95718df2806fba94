"""Write a deterministic national-scale synthetic round database for the benchmarks (DESIGN §9).

The round is written directly with sqlite3 in bulk, not through `workbench init`: 14,000 sites + 640 cases,
120 leaf indicators, 300 reviewers with 3 reviews per target (~5M score rows), and 10 past rounds of
consolidated results (~17M rows). The same seed gives the same database. The 64 real provincial units
and key cities of the demo round are among the sites, so "深圳" and "gdsz" resolve as they do in the demo.

    python tests/benchmarks/synthetic.py bench-out/national.db          # full scale, reused when current
    python tests/benchmarks/synthetic.py /tmp/small.db --small --force  # a small round in a second
"""

from __future__ import annotations

import argparse
import csv
import functools
import heapq
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.synthetic import synthetic_site_names
from workbench.model import NA
from workbench.scoring.rules import Rules
from workbench.setup.round import DEFAULT_RULES, write_search_keys
from workbench.store.db import Store, checkpoint, transaction
from workbench.store.migrations import create_database
from workbench.store.schema import KIND_ROUND

#: Bump when the generated content changes, so a cached round is rebuilt rather than reused.
GENERATOR_VERSION = "2"
META_VERSION = "synthetic_generator"
META_PARAMS = "synthetic_params"
META_SEARCH = "synthetic_search_source"  # search keys are recomputed (seconds) when workbench/search/keys.py changes
DEFAULT_PATH = ROOT / "bench-out" / "national.db"
DEMO_SITES = ROOT / "workbench" / "fixtures" / "demo-2022" / "sites.csv"
CURRENT_YEAR = 2022

DIMENSIONS = ("发布解读", "办事服务", "公众参与", "平台支撑", "安全运维", "创新发展")
GROUP_WORDS = ("基础", "规范", "提升", "特色")
TOPICS = (
    "信息公开", "政策解读", "互动交流", "网上办事", "移动服务", "数据开放", "回应关切", "办事指南", "在线咨询",
    "留言办理", "意见征集", "在线访谈", "政务微博", "政务新媒体", "站内搜索", "无障碍服务", "适老化改造",
    "网站安全", "页面规范", "栏目维护", "内容更新", "链接可用性", "统一身份认证", "电子证照", "好差评",
    "一件事一次办", "跨省通办", "掌上办理", "预约服务", "事项清单", "信息公开年报", "财政预决算公开",
    "重大决策公开", "建议提案办理", "规范性文件", "人事信息", "应急信息发布", "营商环境专栏", "惠企政策",
    "数据共享", "基层政务公开", "政务服务地图", "热线联动", "数据安全",
)
ASPECTS = ("", "时效", "质量", "覆盖")
GRADE_BANDS = "卓越:95;优秀:85;良好:75;发展:60;准备:0"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志远晓燕海涛文博丽娟建华红梅玉兰振宇思源"
ORGS = (
    ("中国社会科学院", "北京"), ("中国人民大学", "北京"), ("北京大学", "北京"), ("清华大学", "北京"),
    ("国家行政学院", "北京"), ("复旦大学", "上海"), ("上海交通大学", "上海"), ("同济大学", "上海"),
    ("浙江大学", "浙江"), ("南京大学", "江苏"), ("东南大学", "江苏"), ("中山大学", "广东"),
    ("华南理工大学", "广东"), ("武汉大学", "湖北"), ("华中科技大学", "湖北"), ("电子科技大学", "四川"),
    ("四川大学", "四川"), ("西安交通大学", "陕西"), ("南开大学", "天津"), ("天津大学", "天津"),
    ("山东大学", "山东"), ("厦门大学", "福建"), ("吉林大学", "吉林"), ("哈尔滨工业大学", "黑龙江"),
    ("兰州大学", "甘肃"), ("重庆大学", "重庆"), ("湖南大学", "湖南"), ("郑州大学", "河南"),
)
CASE_KEYWORDS = (
    "一网通办", "一网统管", "城市大脑", "数字乡村", "智慧医保", "不动产登记", "企业开办", "跨省通办", "电子证照",
    "公共数据开放", "营商环境", "基层治理", "应急指挥", "生态监测", "智慧养老", "智慧教育", "信用监管", "社保卡",
    "免申即享", "秒批秒办", "数字档案", "智慧交通", "河长制", "网格化管理", "民生热线", "惠企直达", "数字财政",
    "智慧法院", "阳光政务", "掌上办事",
)
CASE_FORMS = ("平台建设", "改革实践", "应用创新", "服务体系", "综合治理", "数字化转型", "协同机制", "场景应用")
CASE_AREAS = ("经济调节", "市场监管", "社会治理", "公共服务", "生态环境保护", "政务运行", "政务公开")
NOTES = ("栏目更新不及时", "部分链接无法打开", "答复内容较为简单", "移动端适配欠佳", "信息发布规范", "服务指引清晰")
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


@dataclass(frozen=True)
class Params:
    sites: int = 14_000
    cases: int = 640
    leaves: int = 120
    reviewers: int = 300
    reviews: int = 3
    past_rounds: int = 10
    seed: int = 0


SMALL = Params(sites=120, cases=24, leaves=18, reviewers=12, reviews=3, past_rounds=2, seed=0)


@dataclass(frozen=True)
class Leaf:
    code: str
    name: str
    max_units: int  # in half points
    step_units: int  # 1 = step 0.5, 2 = step 1
    applies_to: str
    allow_na: bool
    difficulty: float

    @property
    def steps(self) -> int:
        return self.max_units // self.step_units


def log(message: str, started: float) -> None:
    print(f"[synthetic {time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def short_region(name: str) -> str:
    """广东省 → 广东, 广西壮族自治区 → 广西: the form the demo round's sites and reviewers use."""
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# ---------------------------------------------------------------------------------------------
# the indicator system


def make_leaves(rng: random.Random, count: int) -> list[Leaf]:
    """`count` score leaves: those a site is scored on sum to 100 points, and so do a case's.

    Most leaves apply to both; a few apply only to sites and as many only to cases, with the same points,
    so both kinds of target are out of 100.
    """
    if count < 4 or count > 190:
        raise ValueError("leaves must be between 4 and 190")
    names = [f"{TOPICS[i % len(TOPICS)]}{ASPECTS[(i // len(TOPICS)) % len(ASPECTS)]}"
             + (str(i // (len(TOPICS) * len(ASPECTS)) + 1) if i >= len(TOPICS) * len(ASPECTS) else "")
             for i in range(count)]
    special = max(1, count // 30)
    # 互动交流 (index 2) stays a "both" leaf: the benchmarks ask for it by name.
    candidates = [i for i in range(count) if i != 2]
    chosen = rng.sample(candidates, 2 * special)
    site_only, case_only = sorted(chosen[:special]), sorted(chosen[special:])
    site_leaves = [i for i in range(count) if i not in case_only]
    steps = {i: (2 if rng.random() < 0.3 else 1) for i in range(count)}
    if sum(steps[i] for i in site_leaves) > 200:
        steps = dict.fromkeys(range(count), 1)
    units = {i: steps[i] for i in site_leaves}
    left = 200 - sum(units.values())
    halves = [i for i in site_leaves if steps[i] == 1]
    if not halves:
        steps[site_leaves[0]] = units[site_leaves[0]] = 1
        halves = [site_leaves[0]]
        left = 200 - sum(units.values())
    while left > 0:
        i = rng.choice(site_leaves)
        if steps[i] > left:
            i = rng.choice(halves)
        units[i] += steps[i]
        left -= steps[i]
    for s, c in zip(site_only, case_only, strict=True):
        steps[c], units[c] = steps[s], units[s]
    allow_na = set(rng.sample([i for i in range(count) if i not in chosen and i != 2], min(2, count - 2 * special - 1)))
    codes = leaf_codes(count)
    return [
        Leaf(codes[i], names[i], units[i], steps[i],
             "site" if i in site_only else "case" if i in case_only else "both", i in allow_na,
             rng.uniform(-0.15, 0.1))
        for i in range(count)
    ]


def leaf_codes(count: int) -> list[str]:
    """Leaf i sits under group i % groups; codes read A1.1, A1.2 … in tree order."""
    groups = group_count(count)
    per_group: dict[int, int] = {}
    out = []
    for i in range(count):
        g = i % groups
        per_group[g] = per_group.get(g, 0) + 1
        out.append(f"{group_code(g, groups)}.{per_group[g]}")
    return out


def group_count(leaves: int) -> int:
    """Second-level groups: the same number under each of the six dimensions, ~5 leaves each (24 for 120)."""
    return len(DIMENSIONS) * max(1, min(len(GROUP_WORDS), leaves // (5 * len(DIMENSIONS))))


def group_code(g: int, groups: int) -> str:
    per_dim = -(-groups // len(DIMENSIONS))
    return f"{chr(ord('A') + g // per_dim)}{g % per_dim + 1}"


def indicator_rows(leaves: list[Leaf]) -> list[tuple[object, ...]]:
    """Rows for the indicators table in tree order, groups carrying the sum of their leaves' points
    (as `workbench init` stores them)."""
    by_group: dict[str, list[Leaf]] = {}
    for leaf in leaves:
        by_group.setdefault(leaf.code.split(".")[0], []).append(leaf)
    rows: list[tuple[object, ...]] = []

    def add(code: str, parent: str | None, name: str, members: list[Leaf], step: str = "1",
            leaf: Leaf | None = None) -> None:
        kinds = {m.applies_to for m in members}
        applies = leaf.applies_to if leaf else (kinds.pop() if len(kinds) == 1 else "both")
        max_units = sum(m.max_units for m in members)
        rows.append((code, parent, name, "score", _points(max_units), step, applies,
                     int(leaf.allow_na) if leaf else 0, _description(name, leaf), len(rows)))

    for d, dimension in enumerate(DIMENSIONS):
        dim_code = chr(ord("A") + d)
        group_codes = [c for c in by_group if c[0] == dim_code]
        members = [m for c in group_codes for m in by_group[c]]
        if not members:
            continue
        add(dim_code, None, dimension, members)
        for code in group_codes:
            g = int(code[1:]) - 1
            add(code, dim_code, f"{dimension}{GROUP_WORDS[g]}", by_group[code])
            for leaf in by_group[code]:
                add(leaf.code, code, leaf.name, [leaf], _points(leaf.step_units), leaf)
    return rows


def _points(units: int) -> str:
    """Half points as the store writes a Decimal: 3 → 1.5, 4 → 2, 1 → 0.5."""
    return str(Decimal(units) / 2)


def _description(name: str, leaf: Leaf | None) -> str:
    if leaf is None:
        return f"{name}方面的总体表现。"
    return f"考察{name}情况，按完成程度评分。"


def value_texts(leaf: Leaf) -> list[str]:
    """The stored text of each step 0 … max, exactly as parse_value + encode_value write them."""
    step = Decimal(leaf.step_units) / 2
    places = 1 if leaf.step_units == 1 else 0
    return [str((step * k).quantize(Decimal(1).scaleb(-places))) for k in range(leaf.steps + 1)]


# ---------------------------------------------------------------------------------------------
# targets and reviewers


def demo_sites(limit: int) -> list[tuple[str, str, str, str]]:
    """(name, region, level, url) of the demo round's 64 real units."""
    with DEMO_SITES.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r["名称"], r["地区"], r["层级"], r["网址"]) for r in rows][:limit]


def site_level(name: str) -> str:
    core = name.removesuffix("人民政府")
    if any(word in core for word in ("厅", "局", "委员会", "办公")):
        return "部门"
    if core.endswith(("省", "自治区")) or core in ("北京市", "天津市", "上海市", "重庆市"):
        return "省级"
    if core.endswith(("区", "县")):
        return "区县级"
    return "市级"


def make_sites(rng: random.Random, count: int, seed: int) -> list[tuple[str, str, str, str, str]]:
    real = demo_sites(min(64, count))
    taken = {r[0] for r in real}
    synthetic: list[tuple[str, str]] = []
    want = count - len(real)
    extra = 64
    while len(synthetic) < want:
        synthetic = [(n, r) for n, r in synthetic_site_names(want + extra, seed) if n not in taken][:want]
        extra *= 2
    rows = [(f"S{i + 1:05d}", name, region, level, url) for i, (name, region, level, url) in enumerate(real)]
    for name, region in synthetic:
        n = len(rows) + 1
        rows.append((f"S{n:05d}", name, short_region(region), site_level(name), f"https://www.s{n:05d}.gov.cn"))
    return rows


def make_cases(rng: random.Random, count: int, sites: list[tuple[str, str, str, str, str]]) -> list[tuple[object, ...]]:
    """Practice cases submitted by ~a third as many governments as cases (640 cases from 220+ in 2022)."""
    governments = [s for s in sites if s[3] in ("省级", "重点城市", "市级")]
    submitters = rng.sample(governments, min(len(governments), max(1, count // 3 + 7)))
    seen: set[str] = set()
    rows: list[tuple[object, ...]] = []
    while len(rows) < count:
        site = rng.choice(submitters)
        place = site[1].removesuffix("人民政府")
        keyword, form = rng.choice(CASE_KEYWORDS), rng.choice(CASE_FORMS)
        title = f"{place}“{keyword}”{form}"
        if title in seen:
            title = f"{place}“{keyword}”{form}（{rng.choice(('二期', '深化', '升级', '拓展'))}）"
            if title in seen:
                continue
        seen.add(title)
        government = place + rng.choice(("人民政府", "人民政府办公厅", "政务服务数据管理局", "大数据管理局"))
        summary = f"围绕{keyword}推进{form}，提升政务服务效能和群众获得感。"
        rows.append((f"C{len(rows) + 1:04d}", title, government, site[2], rng.choice(CASE_AREAS), summary, 1))
    return rows


def make_reviewers(rng: random.Random, count: int) -> list[tuple[str, str, str, str]]:
    seen: set[str] = set()
    rows: list[tuple[str, str, str, str]] = []
    while len(rows) < count:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name in seen:
            continue
        seen.add(name)
        org, region = rng.choice(ORGS)
        rows.append((f"R{len(rows) + 1:03d}", name, org, region))
    return rows


def assign(
    rng: random.Random, reviewers: list[tuple[str, str, str, str]], targets: list[tuple[str, str, str, str]],
    reviews: int,
) -> dict[tuple[str, str], list[str]]:
    """Each target to `reviews` distinct reviewers, the least loaded first, never one from the target's
    region or organisation (the set-up's conflict-of-interest rule)."""
    heap = [(0, rng.random(), r) for r in reviewers]
    heapq.heapify(heap)
    out: dict[tuple[str, str], list[str]] = {}
    for kind, tid, region, org in targets:
        picked: list[tuple[int, float, tuple[str, str, str, str]]] = []
        skipped = []
        while len(picked) < reviews:
            if not heap:
                raise ValueError(f"not enough reviewers without a conflict of interest for {kind} {tid}")
            entry = heapq.heappop(heap)
            reviewer = entry[2]
            if reviewer[3] == region or reviewer[2] == org:
                skipped.append(entry)
            else:
                picked.append(entry)
        for load, _, reviewer in picked:
            heapq.heappush(heap, (load + 1, rng.random(), reviewer))
        for entry in skipped:
            heapq.heappush(heap, entry)
        out[(kind, tid)] = sorted(p[2][0] for p in picked)
    return out


# ---------------------------------------------------------------------------------------------
# writing the round


def make_round(
    path: Path,
    *,
    sites: int = 14_000,
    cases: int = 640,
    leaves: int = 120,
    reviewers: int = 300,
    reviews: int = 3,
    past_rounds: int = 10,
    seed: int = 0,
) -> Path:
    """Write the synthetic round to `path` (which must not exist) and return it."""
    params = Params(sites, cases, leaves, reviewers, reviews, past_rounds, seed)
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    if reviews > reviewers:
        raise ValueError("reviews per target cannot exceed the number of reviewers")
    started = time.perf_counter()
    rng = random.Random(seed)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove(tmp)
    round_id = str(CURRENT_YEAR)
    meta = {
        "round_id": round_id, "round_name": f"{CURRENT_YEAR}年全国政府网站绩效评估（合成数据）",
        "round_year": round_id, META_VERSION: GENERATOR_VERSION,
        META_PARAMS: json.dumps(asdict(params), sort_keys=True), META_SEARCH: search_source_hash(),
    }
    conn = create_database(tmp, KIND_ROUND, meta)
    try:
        _fill(conn, params, rng, round_id, started)
        conn.execute("PRAGMA journal_mode = WAL")
        checkpoint(conn)
        conn.close()
        _remove_sidecars(tmp)
        os.replace(tmp, path)
    except BaseException:
        conn.close()
        _remove(tmp)
        raise
    size = path.stat().st_size / 1e6
    log(f"done: {path} ({size:,.0f} MB)", started)
    return path


def _remove_sidecars(path: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _remove_sidecars(path)


def _fill(conn: sqlite3.Connection, p: Params, rng: random.Random, round_id: str, started: float) -> None:
    # A bulk load into a temporary file that is thrown away on failure: no journal, no fsync.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA temp_store = MEMORY")
    # Secondary indexes are dropped during the load and rebuilt from their own SQL afterwards (one sort
    # instead of millions of random inserts); the schema ends up exactly as create_database made it.
    indexes = [r[0] for r in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")]
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")]
    conn.execute("BEGIN")
    for name in names:
        conn.execute(f"DROP INDEX \"{name}\"")

    leaves = make_leaves(rng, p.leaves)
    conn.executemany(
        "INSERT INTO indicators (code, parent, name, kind, max_score, step, applies_to, allow_na, description, "
        "position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", indicator_rows(leaves))
    rules = {**DEFAULT_RULES, "grade_bands": GRADE_BANDS, "bonus_cap": "10"}
    Rules.from_mapping({k: v for k, v in rules.items() if k != "trim"})
    conn.executemany("INSERT INTO rules (key, value) VALUES (?, ?)", sorted(rules.items()))
    years = [CURRENT_YEAR - k for k in range(p.past_rounds, 0, -1)]
    conn.executemany("INSERT INTO rounds (id, name, year, status) VALUES (?, ?, ?, ?)", [
        *((str(y), f"{y}年全国政府网站绩效评估（合成数据）", y, "past") for y in years),
        (round_id, f"{CURRENT_YEAR}年全国政府网站绩效评估（合成数据）", CURRENT_YEAR, "current"),
    ])
    site_rows = make_sites(rng, p.sites, p.seed)
    conn.executemany("INSERT INTO sites (id, name, region, level, url) VALUES (?, ?, ?, ?, ?)", site_rows)
    case_rows = make_cases(rng, p.cases, site_rows)
    conn.executemany("INSERT INTO cases (id, title, government, region, area, summary, synthetic) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", case_rows)
    reviewer_rows = make_reviewers(rng, p.reviewers)
    conn.executemany("INSERT INTO reviewers (id, name, org, region) VALUES (?, ?, ?, ?)", reviewer_rows)
    log(f"{len(leaves)} leaves, {len(site_rows)} sites, {len(case_rows)} cases, {len(reviewer_rows)} reviewers",
        started)

    # Targets in primary-key order (target_kind, target_id): 'case' sorts before 'site'.
    targets = [("case", str(c[0]), str(c[3]), str(c[2])) for c in case_rows]
    targets += [("site", s[0], s[2], s[1]) for s in site_rows]
    assignments = assign(rng, reviewer_rows, targets, p.reviews)
    conn.executemany(
        "INSERT INTO assignments (reviewer_id, target_kind, target_id) VALUES (?, ?, ?)",
        sorted((r, kind, tid) for (kind, tid), rs in assignments.items() for r in rs),
    )
    log(f"{sum(len(v) for v in assignments.values())} assignments", started)

    applicable = {kind: sorted((leaf for leaf in leaves if leaf.applies_to in ("both", kind)),
                               key=lambda leaf: leaf.code)
                  for kind in ("site", "case")}
    texts = {leaf.code: value_texts(leaf) for leaf in leaves}
    quality = {(kind, tid): rng.uniform(0.45, 0.97) for kind, tid, _, _ in targets}
    bias = {r[0]: rng.uniform(-0.08, 0.08) for r in reviewer_rows}

    by_reviewer, consolidated = _current_scores(rng, targets, assignments, applicable, quality, bias, texts, round_id)
    count = 0
    for reviewer in sorted(by_reviewer):
        rows = by_reviewer[reviewer]
        conn.executemany(
            "INSERT INTO scores (round, reviewer_id, target_kind, target_id, indicator, value, note, updated_at, "
            "revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        count += len(rows)
    del by_reviewer
    log(f"{count:,} score rows", started)

    insert = ("INSERT INTO consolidated (round, target_kind, target_id, indicator, value, n, method, flags) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    for year in years:
        conn.executemany(insert, _past_rows(rng, str(year), CURRENT_YEAR - year, targets, applicable, quality, texts))
        log(f"past round {year}: consolidated rows written", started)
    conn.executemany(insert, consolidated)
    log(f"current round: {len(consolidated):,} consolidated rows", started)
    del consolidated

    for sql in indexes:
        conn.execute(sql)
    log("secondary indexes rebuilt", started)
    write_search_keys(conn)
    log("search keys (pinyin) computed", started)
    conn.execute("COMMIT")


def _current_scores(
    rng: random.Random,
    targets: list[tuple[str, str, str, str]],
    assignments: dict[tuple[str, str], list[str]],
    applicable: dict[str, list[Leaf]],
    quality: dict[tuple[str, str], float],
    bias: dict[str, float],
    texts: dict[str, list[str]],
    round_id: str,
) -> tuple[dict[str, list[tuple[object, ...]]], list[tuple[object, ...]]]:
    """Every reviewer's score rows (a few left unscored or part-scored) and the round's consolidated rows.

    Consolidated values follow workbench.consolidation.consolidate's defaults without calling it (too slow for
    1.7M cells).
    """
    rnd = rng.random
    by_reviewer: dict[str, list[tuple[object, ...]]] = {}
    consolidated: list[tuple[object, ...]] = []
    for kind, tid, _, _ in targets:
        leaves = applicable[kind]
        q = quality[(kind, tid)]
        per_leaf: list[list[int]] = [[] for _ in leaves]
        reviewers = assignments[(kind, tid)]
        for reviewer in reviewers:
            roll = rnd()
            done = len(leaves) if roll > 0.05 else (0 if roll < 0.01 else rng.randrange(1, len(leaves)))
            stamp = (f"{round_id}-0{rng.randint(5, 7)}-{rng.randint(10, 28)}"
                     f"T{rng.randint(1, 12):02d}:{rng.randint(0, 59):02d}:00Z")
            b = q + bias[reviewer]
            rows = by_reviewer.setdefault(reviewer, [])
            for i, leaf in enumerate(leaves):
                if i >= done:
                    rows.append((round_id, reviewer, kind, tid, leaf.code, None, "", None, 0))
                    continue
                if leaf.allow_na and rnd() < 0.1:
                    per_leaf[i].append(-1)
                    rows.append((round_id, reviewer, kind, tid, leaf.code, NA, "", stamp, 1))
                    continue
                n = leaf.steps
                k = int((b + leaf.difficulty + (rnd() - 0.5) * 0.3) * n + 0.5)
                k = 0 if k < 0 else n if k > n else k
                per_leaf[i].append(k)
                note = rng.choice(NOTES) if rnd() < 0.005 else ""
                rows.append((round_id, reviewer, kind, tid, leaf.code, texts[leaf.code][k], note, stamp,
                             1 + (rnd() < 0.1)))
        for leaf, got in zip(leaves, per_leaf, strict=True):
            consolidated.append((round_id, kind, tid, leaf.code, *_consolidate(leaf, got, len(reviewers))))
    return by_reviewer, consolidated


def _consolidate(leaf: Leaf, got: list[int], expected: int) -> tuple[object, int, str, str]:
    """(value, n, method, flags) for one target × leaf as the merge's consolidation stores them (default
    settings: trimmed mean, two places, spread > 40 % of the points is a disagreement); -1 in `got` is N/A."""
    n, na = len(got), sum(1 for k in got if k < 0)
    values = sorted(k for k in got if k >= 0)
    flags = ["missing"] if n < max(3, expected) else []
    if na * 2 == n or 0 < na < n or (len(values) >= 2 and (values[-1] - values[0]) * 5 > 2 * leaf.steps) \
            or _outlier(values):
        flags.append("disagreement")
    if n and na * 2 > n:
        return NA, n, "majority", ",".join(flags)
    if not values:
        return None, n, "none", ",".join(flags)
    kept = values[1:-1] if len(values) >= 3 else values
    method = "trimmed-mean" if len(values) >= 3 else "mean"
    return _mean_text(leaf.step_units, sum(kept), len(kept)), n, method, ",".join(flags)


def _outlier(values: list[int]) -> bool:
    """Robust z beyond 3.5 for any value, in steps, the scale floored at one step (as the merge does)."""
    if len(values) < 3:
        return False
    median = statistics.median(values)
    mad = statistics.median(sorted(abs(v - median) for v in values))
    scale = max(1.4826 * mad, 1.0)
    return any(abs(v - median) / scale > 3.5 for v in values)


@functools.cache
def _mean_text(step_units: int, total: int, count: int) -> str:
    mean = Decimal(total * step_units) / 2 / count
    return str(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _past_rows(
    rng: random.Random,
    round_id: str,
    years_ago: int,
    targets: list[tuple[str, str, str, str]],
    applicable: dict[str, list[Leaf]],
    quality: dict[tuple[str, str], float],
    texts: dict[str, list[str]],
) -> Iterator[tuple[object, ...]]:
    """A past round's consolidated results as `import-results` stores them: one value per target × leaf."""
    rnd = rng.random
    for kind, tid, _, _ in targets:
        q = quality[(kind, tid)] - 0.02 * years_ago + (rnd() - 0.5) * 0.1
        for leaf in applicable[kind]:
            n = leaf.steps
            k = int((q + leaf.difficulty + (rnd() - 0.5) * 0.2) * n + 0.5)
            k = 0 if k < 0 else n if k > n else k
            yield (round_id, kind, tid, leaf.code, texts[leaf.code][k], 0, "imported", "")


# ---------------------------------------------------------------------------------------------
# the cached national round


def current(path: Path, params: Params = Params()) -> bool:
    """True when `path` is a complete round made by this generator version with these parameters."""
    if not path.is_file():
        return False
    try:
        store = Store.open(path, expect=KIND_ROUND)
    except Exception:
        return False
    try:
        return bool(store.meta.get(META_VERSION) == GENERATOR_VERSION
                    and store.meta.get(META_PARAMS) == json.dumps(asdict(params), sort_keys=True))
    finally:
        store.close()


def search_source_hash() -> str:
    import hashlib

    import workbench.search.keys

    return hashlib.sha256(Path(workbench.search.keys.__file__).read_bytes()).hexdigest()[:16]


def refresh_search_keys(path: Path) -> None:
    """Recompute the stored search keys, as `workbench init` would with today's workbench/search/keys.py."""
    started = time.perf_counter()
    store = Store.open(path, expect=KIND_ROUND)
    try:
        with transaction(store.conn):
            store.conn.execute("DELETE FROM search_keys")
            write_search_keys(store.conn)
            store.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                               (META_SEARCH, search_source_hash()))
        checkpoint(store.conn)
    finally:
        store.close()
    log(f"search keys recomputed in {path} (workbench/search/keys.py changed)", started)


def refresh_search_index(path: Path) -> None:
    """Lay out the stored search index of a round made before there was one (search/stored.py), in place."""
    from workbench.search.stored import create_search_index, write_search_index

    started = time.perf_counter()
    store = Store.open(path, expect=KIND_ROUND)
    try:
        with transaction(store.conn):
            create_search_index(store.conn)
            write_search_index(store.conn)
        checkpoint(store.conn)
    finally:
        store.close()
    log(f"search index laid out in {path}", started)


def _search_index_stored(path: Path) -> bool:
    from workbench.search.stored import stored_index

    store = Store.open(path, expect=KIND_ROUND)
    try:
        return stored_index(store.conn) is not None
    finally:
        store.close()


def _meta(path: Path, key: str) -> str | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def _synthetic(path: Path) -> bool:
    return _meta(path, META_VERSION) is not None


def ensure_round(path: Path = DEFAULT_PATH, params: Params = Params(), *, force: bool = False) -> Path:
    """The synthetic round at `path`, generated unless a current one is already there."""
    path = Path(path)
    if not force and current(path, params):
        print(f"[synthetic] reusing {path} (generator {GENERATOR_VERSION})", file=sys.stderr)
        if _meta(path, META_SEARCH) != search_source_hash():
            refresh_search_keys(path)
        if not _search_index_stored(path):
            refresh_search_index(path)
        return path
    if path.exists() and not _synthetic(path):
        raise FileExistsError(f"{path} exists and is not a synthetic round; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove(path)
    return make_round(path, **asdict(params))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=DEFAULT_PATH,
                        help=f"database to write (default {DEFAULT_PATH})")
    parser.add_argument("--small", action="store_true", help="a small round (tests, trying things out)")
    parser.add_argument("--force", action="store_true", help="regenerate even when a current round is there")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    params = SMALL if args.small else Params()
    if args.seed:
        params = Params(**{**asdict(params), "seed": args.seed})
    ensure_round(args.out, params, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
