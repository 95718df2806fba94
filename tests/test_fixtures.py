"""The demo set-up CSVs under workbench/fixtures/ hold the invariants a coordinator and the demo rely on."""

from __future__ import annotations

import csv
import importlib.util
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "workbench" / "fixtures"
DEMO = FIXTURES / "demo-2022"
CHECK = FIXTURES / "check-2019"
ROUNDS = [DEMO, CHECK]
KIND_OF_TARGET = {"网站": "sites", "案例": "cases"}


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def leaves(round_dir: Path) -> list[dict[str, str]]:
    rows = read(round_dir / "indicators.csv")
    parents = {r["上级"] for r in rows}
    return [r for r in rows if r["代码"] not in parents]


def points(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["分值"]) for r in rows), Decimal(0))


def applies(leaf: dict[str, str], kind: str) -> bool:
    return leaf["适用"] in (kind, "全部")


# --- headers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("round_dir", ROUNDS, ids=lambda p: p.name)
def test_every_file_has_the_documented_chinese_headers(round_dir: Path) -> None:
    assert header(round_dir / "sites.csv") == ["编号", "名称", "地区", "层级", "网址"]
    assert header(round_dir / "cases.csv") == ["编号", "标题", "申报单位", "地区", "领域", "简介", "合成"]
    assert header(round_dir / "indicators.csv") == [
        "代码", "上级", "名称", "类型", "分值", "步长", "适用", "可不适用", "说明",
    ]
    assert header(round_dir / "rules.csv") == ["规则", "值"]
    assert header(round_dir / "reviewers.csv") == ["编号", "姓名", "单位", "地区"]
    assert header(round_dir / "assignments.csv") == ["评审专家", "对象类型", "对象编号"]


# --- demo-2022 units -----------------------------------------------------------------------------------


def test_demo_has_the_64_evaluated_units() -> None:
    sites = read(DEMO / "sites.csv")
    assert len(sites) == 64
    assert len({s["编号"] for s in sites}) == 64
    provincial = [s for s in sites if s["层级"] == "省级"]
    cities = [s for s in sites if s["层级"] == "重点城市"]
    assert len(provincial) == 32 and len(cities) == 32
    assert {"北京市", "新疆维吾尔自治区", "新疆生产建设兵团"} <= {s["名称"] for s in provincial}
    assert any(s["编号"] == "S01" and s["名称"] == "北京市" and s["地区"] == "北京" for s in sites)


def test_key_cities_are_27_capitals_and_the_5_separately_planned_cities() -> None:
    sites = read(DEMO / "sites.csv")
    city_names = {s["名称"] for s in sites if s["层级"] == "重点城市"}
    planned = {"辽宁省大连市", "山东省青岛市", "浙江省宁波市", "福建省厦门市", "广东省深圳市"}
    assert planned <= city_names
    capitals = city_names - planned
    assert len(capitals) == 27
    # One capital per province or autonomous region: neither the 4 municipalities nor 兵团 have one.
    capital_regions = Counter(s["地区"] for s in sites if s["名称"] in capitals)
    provincial_regions = {s["地区"] for s in sites if s["层级"] == "省级"}
    assert set(capital_regions) == provincial_regions - {"北京", "天津", "上海", "重庆", "兵团"}
    assert max(capital_regions.values()) == 1
    assert "广东省广州市" in capitals


def test_city_names_carry_their_province_and_region() -> None:
    sites = read(DEMO / "sites.csv")
    province_of = {s["地区"]: s["名称"] for s in sites if s["层级"] == "省级"}
    for city in (s for s in sites if s["层级"] == "重点城市"):
        assert city["名称"].startswith(province_of[city["地区"]]), city
    shenzhen = next(s for s in sites if s["名称"] == "广东省深圳市")
    assert shenzhen["地区"] == "广东" and shenzhen["网址"] == "http://www.sz.gov.cn"


def test_demo_cases_are_spread_over_the_five_areas_with_known_regions() -> None:
    cases = read(DEMO / "cases.csv")
    regions = {s["地区"] for s in read(DEMO / "sites.csv")}
    assert 50 <= len(cases) <= 70
    assert len({c["编号"] for c in cases}) == len(cases)
    assert set(Counter(c["领域"] for c in cases)) == {"经济调节", "市场监管", "社会治理", "生态环境保护", "公共服务"}
    for case in cases:
        assert case["地区"] in regions, case
        assert case["申报单位"] and case["标题"] and case["简介"], case
        assert case["合成"] in ("是", "否"), case


# --- indicator systems ----------------------------------------------------------------------------------


@pytest.mark.parametrize("round_dir", ROUNDS, ids=lambda p: p.name)
def test_indicator_tree_is_well_formed(round_dir: Path) -> None:
    rows = read(round_dir / "indicators.csv")
    codes = [r["代码"] for r in rows]
    assert len(codes) == len(set(codes))
    assert all(r["上级"] == "" or r["上级"] in codes for r in rows)
    by_parent: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        by_parent[r["上级"]].append(r["代码"])
    by_code = {r["代码"]: r for r in rows}

    def leaf_points(code: str) -> Decimal:
        if code not in by_parent:
            return Decimal(by_code[code]["分值"])
        return sum((leaf_points(c) for c in by_parent[code]), Decimal(0))

    for code in by_parent.keys() - {""}:
        assert Decimal(by_code[code]["分值"]) == leaf_points(code), code


@pytest.mark.parametrize("round_dir", ROUNDS, ids=lambda p: p.name)
def test_every_leaf_step_divides_its_points(round_dir: Path) -> None:
    for leaf in leaves(round_dir):
        step, top = Decimal(leaf["步长"]), Decimal(leaf["分值"])
        assert step in (Decimal("0.5"), Decimal("1")), leaf
        assert top % step == 0, leaf
        assert leaf["类型"] in ("评分", "否决", "扣分", "加分"), leaf
        assert leaf["适用"] in ("网站", "案例", "全部"), leaf
        assert leaf["可不适用"] in ("是", "否"), leaf
        assert leaf["说明"], leaf


def test_demo_sites_score_out_of_100_plus_10_bonus() -> None:
    site_leaves = [leaf for leaf in leaves(DEMO) if applies(leaf, "网站")]
    assert points([leaf for leaf in site_leaves if leaf["类型"] != "加分"]) == 100
    bonus = [leaf for leaf in site_leaves if leaf["类型"] == "加分"]
    assert points(bonus) == 10
    top = {r["代码"]: r["名称"] for r in read(DEMO / "indicators.csv") if r["上级"] == ""}
    assert all(leaf["代码"].startswith("F") for leaf in bonus) and top["F"] == "创新实践"
    assert set(top.values()) == {"体制机制与顶层规划", "平台技术支撑", "数字化履职能力", "数字防疫", "社会满意度",
                                 "创新实践"}


def test_demo_cases_score_out_of_100_without_bonus() -> None:
    case_leaves = [leaf for leaf in leaves(DEMO) if applies(leaf, "案例")]
    assert points(case_leaves) == 100
    assert all(leaf["类型"] == "评分" for leaf in case_leaves)


def test_demo_has_about_40_leaves_including_a_score_leaf_named_interaction() -> None:
    demo_leaves = leaves(DEMO)
    assert 35 <= len(demo_leaves) <= 45
    interaction = [leaf for leaf in demo_leaves if leaf["名称"] == "互动交流"]
    assert len(interaction) == 1
    assert interaction[0]["类型"] == "评分" and applies(interaction[0], "网站")
    assert any(leaf["可不适用"] == "是" for leaf in demo_leaves)


def test_check_2019_has_veto_items_100_deduction_points_and_30_bonus() -> None:
    rows = read(CHECK / "indicators.csv")
    check_leaves = leaves(CHECK)
    assert all(leaf["适用"] == "网站" for leaf in check_leaves)
    vetoes = [leaf for leaf in check_leaves if leaf["类型"] == "否决"]
    assert len(vetoes) >= 5 and all(Decimal(v["分值"]) == 0 for v in vetoes)
    assert {"站点无法访问", "栏目不更新", "互动回应差"} <= {v["名称"] for v in vetoes}
    assert points([leaf for leaf in check_leaves if leaf["类型"] == "扣分"]) == 100
    assert points([leaf for leaf in check_leaves if leaf["类型"] == "加分"]) == 30
    assert {leaf["类型"] for leaf in check_leaves} == {"否决", "扣分", "加分"}
    groups = {r["名称"]: r["代码"] for r in rows if r["上级"] == "D"}
    assert set(groups) == {"发布解读", "办事服务", "互动交流", "功能设计"}


def test_check_2019_services_are_25_of_the_100_deduction_points_and_may_be_not_applicable() -> None:
    rows = read(CHECK / "indicators.csv")
    services = next(r["代码"] for r in rows if r["名称"] == "办事服务")
    service_leaves = [leaf for leaf in leaves(CHECK) if leaf["上级"] == services]
    assert points(service_leaves) == 25
    assert all(leaf["可不适用"] == "是" for leaf in service_leaves)
    others = [leaf for leaf in leaves(CHECK) if leaf["上级"] != services]
    assert all(leaf["可不适用"] == "否" for leaf in others)


def test_rules() -> None:
    demo = {r["规则"]: r["值"] for r in read(DEMO / "rules.csv")}
    assert demo["加分上限"] == "10" and demo["加分门槛"] == "" and demo["不适用折算"] == "是"
    assert demo["等级"] == "卓越:95;优秀:85;良好:75;发展:60;准备:0"
    check = {r["规则"]: r["值"] for r in read(CHECK / "rules.csv")}
    assert (check["及格线"], check["加分门槛"], check["加分上限"]) == ("60", "80", "30")
    assert "合格:60" in check["等级"] and check["不适用折算"] == "是"


# --- check-2019 targets -----------------------------------------------------------------------------------


def test_check_2019_is_a_round_of_sites_without_cases() -> None:
    sites = read(CHECK / "sites.csv")
    assert 10 <= len(sites) <= 14
    assert read(CHECK / "cases.csv") == []
    without_services = [s for s in sites if "无办事服务" in s["层级"]]
    assert len(without_services) == 1
    assert len(read(CHECK / "reviewers.csv")) == 3


# --- assignments ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("round_dir", ROUNDS, ids=lambda p: p.name)
def test_every_target_has_three_distinct_reviewers_without_conflict_of_interest(round_dir: Path) -> None:
    reviewers = {r["编号"]: r for r in read(round_dir / "reviewers.csv")}
    targets: dict[tuple[str, str], tuple[str, str]] = {}
    for s in read(round_dir / "sites.csv"):
        targets["网站", s["编号"]] = (s["名称"], s["地区"])
    for c in read(round_dir / "cases.csv"):
        targets["案例", c["编号"]] = (c["申报单位"], c["地区"])

    assigned: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in read(round_dir / "assignments.csv"):
        key = (a["对象类型"], a["对象编号"])
        assert key in targets, a
        assert a["评审专家"] in reviewers, a
        assigned[key].append(a["评审专家"])

    assert set(assigned) == set(targets)
    for key, who in assigned.items():
        assert len(who) == 3 and len(set(who)) == 3, (key, who)
        owner, region = targets[key]
        for reviewer_id in who:
            reviewer = reviewers[reviewer_id]
            assert reviewer["地区"] != region, (key, reviewer)
            assert reviewer["单位"] != owner, (key, reviewer)


def test_demo_workload_is_balanced_across_the_nine_reviewers() -> None:
    load = Counter(a["评审专家"] for a in read(DEMO / "assignments.csv"))
    assert len(load) == 9
    assert max(load.values()) - min(load.values()) <= 1


# --- past results ---------------------------------------------------------------------------------------


def test_2021_results_are_valid_and_complete_against_the_indicators() -> None:
    demo_leaves = {leaf["代码"]: leaf for leaf in leaves(DEMO)}
    known = {"网站": {s["编号"] for s in read(DEMO / "sites.csv")},
             "案例": {c["编号"] for c in read(DEMO / "cases.csv")}}
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in read(DEMO / "results-2021.csv"):
        kind, target, code = row["对象类型"], row["对象编号"], row["指标代码"]
        assert target in known[kind], row
        leaf = demo_leaves[code]
        assert applies(leaf, kind), row
        value = Decimal(row["得分"])
        assert 0 <= value <= Decimal(leaf["分值"]), row
        assert value % Decimal(leaf["步长"]) == 0, row
        assert code not in seen[kind, target], row
        seen[kind, target].add(code)

    site_codes = {c for c, leaf in demo_leaves.items() if applies(leaf, "网站")}
    case_codes = {c for c, leaf in demo_leaves.items() if applies(leaf, "案例")}
    assert {t for k, t in seen if k == "网站"} == known["网站"]
    assert all(codes == site_codes for (k, _), codes in seen.items() if k == "网站")
    past_cases = [t for k, t in seen if k == "案例"]
    assert 15 <= len(past_cases) <= 25
    assert all(codes == case_codes for (k, _), codes in seen.items() if k == "案例")


def test_2021_totals_look_like_a_real_round() -> None:
    demo_leaves = {leaf["代码"]: leaf for leaf in leaves(DEMO)}
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in read(DEMO / "results-2021.csv"):
        if demo_leaves[row["指标代码"]]["类型"] != "加分":
            totals[row["对象类型"], row["对象编号"]] += Decimal(row["得分"])
    site_totals = [v for (k, _), v in totals.items() if k == "网站"]
    assert min(site_totals) >= 55 and max(site_totals) <= 100
    assert len(set(site_totals)) > 20  # not one flat value


# --- the generator ----------------------------------------------------------------------------------------


def test_generator_reproduces_the_committed_csvs(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_demo", FIXTURES.parents[1] / "scripts" / "make_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    committed = sorted(p.relative_to(FIXTURES) for d in ROUNDS for p in d.glob("*.csv"))
    assert written == committed
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (FIXTURES / rel).read_bytes(), rel
