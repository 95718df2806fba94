"""workbench assign: exact counts, 回避 never broken, balanced loads, infeasibility explained, linked reviewers."""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import DEMO, write_csv

from workbench.cli.main import cli
from workbench.errors import InputRefused
from workbench.model import TargetKind
from workbench.setup.assign import (
    AssignmentInfeasible,
    AssignmentPlan,
    ReviewersNotLinked,
    link_reviewers,
    make_assignments,
    plan_assignment,
)
from workbench.setup.round import SetupFiles, init_round, read_assign_setup
from workbench.setup.tables import id_key


@dataclass
class Setup:
    """A set-up as plain rows: sites (id, name, region), cases (id, title, 申报单位, region, 领域), reviewers
    (id, org, region, capacity, 专长), declared conflicts (reviewer, kind, target id, unit)."""

    sites: list[tuple[str, str, str]] = field(default_factory=list)
    cases: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    reviewers: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    conflicts: list[tuple[str, str, str, str]] = field(default_factory=list)

    def write(self, folder: Path) -> dict[str, Path]:
        def table(name: str, header: str, rows: list[tuple[str, ...]]) -> Path:
            return write_csv(folder / f"{name}.csv", "\n".join([header, *(",".join(r) for r in rows)]))

        return {
            "sites": table("sites", "编号,名称,地区", list(self.sites)),
            "cases": table("cases", "编号,标题,申报单位,地区,领域", list(self.cases)),
            "reviewers": table("reviewers", "编号,姓名,单位,地区,容量,专长",
                               [(r[0], f"专家{r[0]}", *r[1:]) for r in self.reviewers]),
            "conflicts": table("conflicts", "评审专家,对象类型,对象编号,单位,原因",
                               [(*c, "申报") for c in self.conflicts]),
        }

    def targets(self) -> list[tuple[str, str, str, str]]:
        """(kind label, id, region, 单位) of every target, sites first."""
        return ([("网站", s[0], s[2], s[1]) for s in self.sites]
                + [("案例", c[0], c[3], c[2]) for c in self.cases])

    def allowed(self, reviewer: tuple[str, str, str, str, str], target: tuple[str, str, str, str]) -> bool:
        """回避 as the issue states it, computed here on its own."""
        rid, org, region = reviewer[0], reviewer[1], reviewer[2]
        kind, tid, t_region, t_org = target
        if region and id_key(region) == id_key(t_region):
            return False
        if org and id_key(org) == id_key(t_org):
            return False
        for c_rid, c_kind, c_tid, c_org in self.conflicts:
            if c_rid == rid and ((c_tid and (c_kind, c_tid) == (kind, tid)) or (c_org and c_org == t_org)):
                return False
        return True


def plan(setup: Setup, folder: Path, **options: object) -> AssignmentPlan:
    paths = setup.write(folder)
    data = read_assign_setup(paths["sites"], paths["cases"], paths["reviewers"], paths["conflicts"])
    return plan_assignment(data, **options)  # type: ignore[arg-type]


def exhaustive(setup: Setup, k: int) -> tuple[bool, bool]:
    """By trying every choice: whether any assignment satisfies counts, 回避 and 容量, and whether one of those
    also has max − min ≤ 1 per target kind."""
    targets = setup.targets()
    people = setup.reviewers
    options = [[combo for combo in itertools.combinations(range(len(people)), k)
                if all(setup.allowed(people[r], t) for r in combo)] for t in targets]
    caps = [int(p[3]) if p[3] else None for p in people]
    feasible = balanced = False
    for choice in itertools.product(*options):
        loads = {"网站": [0] * len(people), "案例": [0] * len(people)}
        for t, combo in zip(targets, choice, strict=True):
            for r in combo:
                loads[t[0]][r] += 1
        total = [loads["网站"][r] + loads["案例"][r] for r in range(len(people))]
        if any(c is not None and total[r] > c for r, c in enumerate(caps)):
            continue
        feasible = True
        kinds = [kind for kind in loads if any(t[0] == kind for t in targets)]
        if all(max(loads[kind]) - min(loads[kind]) <= 1 for kind in kinds):
            balanced = True
            break
    return feasible, balanced


REGIONS = ("广东", "北京", "上海", "")
ORGS = ("清华大学", "广东省人民政府", "")


@st.composite
def setups(draw: st.DrawFn, *, capacities: bool = False) -> tuple[Setup, int]:
    k = draw(st.integers(1, 2))
    s = Setup()
    for i in range(draw(st.integers(1, 4))):
        cap = str(draw(st.integers(0, 3))) if capacities and draw(st.booleans()) else ""
        s.reviewers.append((f"R{i}", draw(st.sampled_from(ORGS)), draw(st.sampled_from(REGIONS)), cap,
                            draw(st.sampled_from(("经济调节", "公共服务", "")))))
    n_sites = draw(st.integers(0, 3))
    for i in range(n_sites):
        s.sites.append((f"S{i}", draw(st.sampled_from(("广东省人民政府", "北京市", "上海市"))),
                        draw(st.sampled_from(REGIONS))))
    for i in range(draw(st.integers(0 if n_sites else 1, 5 - n_sites))):
        s.cases.append((f"C{i}", f"案例{i}", draw(st.sampled_from(("清华大学", "某厅"))),
                        draw(st.sampled_from(REGIONS)), draw(st.sampled_from(("经济调节", "公共服务")))))
    targets = s.targets()
    for _ in range(draw(st.integers(0, 3))):
        r = draw(st.sampled_from(s.reviewers))[0]
        if draw(st.booleans()):
            kind, tid, _, _ = draw(st.sampled_from(targets))
            row = (r, kind, tid, "")
        else:
            row = (r, "", "", draw(st.sampled_from(("北京市", "某厅"))))
        if row not in s.conflicts:
            s.conflicts.append(row)
    return s, k


def check_plan(setup: Setup, result: AssignmentPlan, k: int) -> dict[str, list[int]]:
    """Counts, distinct reviewers, 回避 and 容量 on the plan's rows; the loads per kind."""
    people = {p[0]: p for p in setup.reviewers}
    index = {p[0]: i for i, p in enumerate(setup.reviewers)}
    by_target: dict[tuple[str, str], list[str]] = {(t[0], t[1]): [] for t in setup.targets()}
    loads = {"网站": [0] * len(people), "案例": [0] * len(people)}
    targets = {(t[0], t[1]): t for t in setup.targets()}
    for reviewer, target in result.rows():
        label = "网站" if target.kind is TargetKind.SITE else "案例"
        assert setup.allowed(people[reviewer.id], targets[(label, target.id)]), (reviewer.id, target.id)
        by_target[(label, target.id)].append(reviewer.id)
        loads[label][index[reviewer.id]] += 1
    for key, picked in by_target.items():
        assert len(picked) == k and len(set(picked)) == k, (key, picked)
    for i, p in enumerate(setup.reviewers):
        if p[3]:
            assert loads["网站"][i] + loads["案例"][i] <= int(p[3])
    return loads


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups())
def test_no_conflict_is_ever_assigned_and_counts_and_balance_hold(case: tuple[Setup, int]) -> None:
    setup, k = case
    feasible, balanced = exhaustive(setup, k)
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = plan(setup, Path(folder), per_target=k, seed=7, allow_disconnected=True)
        except AssignmentInfeasible:
            assert not feasible, "assign said infeasible, but an assignment exists"
            return
    assert feasible
    loads = check_plan(setup, result, k)
    if balanced:
        for kind, values in loads.items():
            if any(t[0] == kind for t in setup.targets()):
                assert max(values) - min(values) <= 1, (kind, values)
        assert all(load.balanced for load in result.loads)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setups(capacities=True))
def test_assign_says_infeasible_exactly_when_an_exhaustive_search_finds_nothing(case: tuple[Setup, int]) -> None:
    setup, k = case
    feasible, _ = exhaustive(setup, k)
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = plan(setup, Path(folder), per_target=k, seed=1, allow_disconnected=True)
        except AssignmentInfeasible as exc:
            assert not feasible, f"an assignment exists, yet: {exc.message}"
            assert "差" in exc.message and "short" in exc.message
            return
    assert feasible, "assign found an assignment the exhaustive search did not"
    check_plan(setup, result, k)


def guangdong(outside: int, capacity: str = "") -> Setup:
    """Four 广东 sites, three reviewers in 广东 and `outside` outside it."""
    s = Setup(sites=[(f"S{i}", f"广东第{i}站", "广东") for i in range(4)])
    s.reviewers = [(f"G{i}", f"中山大学{i}", "广东", "", "") for i in range(3)]
    s.reviewers += [(f"X{i}", f"清华大学{i}", "北京", capacity, "") for i in range(outside)]
    return s


def test_infeasibility_names_the_region_and_the_numbers_of_the_min_cut(tmp_path: Path) -> None:
    with pytest.raises(AssignmentInfeasible) as info:
        plan(guangdong(2), tmp_path, per_target=3)
    message = info.value.message
    assert "广东：4 个网站需要 12 次评审（须来自广东以外的专家），而可评审它们的 2 位专家最多只能承担 8 次" \
        in message
    assert "4 sites need 12 reviews from outside 广东, and the 2 eligible reviewers can take 8" in message


def test_infeasibility_by_capacity_says_so(tmp_path: Path) -> None:
    with pytest.raises(AssignmentInfeasible) as info:
        plan(guangdong(4, capacity="2"), tmp_path, per_target=3)
    message = info.value.message
    assert "12 次评审" in message and "最多只能承担 8 次" in message and "容量" in message


def test_the_command_refuses_an_infeasible_set_up_and_writes_nothing(tmp_path: Path) -> None:
    paths = guangdong(2).write(tmp_path)
    out = tmp_path / "assignments.xlsx"
    result = CliRunner().invoke(cli, ["assign", "--sites", str(paths["sites"]), "--cases", str(paths["cases"]),
                                      "--reviewers", str(paths["reviewers"]), "-o", str(out)])
    assert result.exit_code == 1
    assert "广东：4 个网站需要 12 次评审" in result.output
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_unbalanced_loads_are_explained(tmp_path: Path) -> None:
    # Every site is in 北京: R1 may review none, so R2 and R3 take all.
    s = Setup(sites=[(f"S{i}", f"北京第{i}站", "北京") for i in range(6)],
              reviewers=[("R1", "北大", "北京", "", ""), ("R2", "复旦", "上海", "", ""),
                         ("R3", "中大", "广东", "", "")])
    result = plan(s, tmp_path, per_target=1, allow_disconnected=True)
    (site,) = result.loads
    assert (site.low, site.high, site.balanced) == (0, 3, False)
    assert ("北京：6 个网站需要 6 次评审（须来自北京以外的专家），而可评审它们的 2 位专家最多只能承担 4 次（均衡负载）"
            in site.reason)
    assert "at most 2 each at a balanced load" in site.reason


def test_cases_go_to_reviewers_whose_expertise_matches_their_area(tmp_path: Path) -> None:
    s = Setup(cases=[(f"C{i}", f"案例{i}", "某厅", "广东", "经济调节" if i % 2 else "公共服务") for i in range(8)])
    s.reviewers = [("R1", "甲", "北京", "", "经济调节"), ("R2", "乙", "上海", "", "经济调节、社会治理"),
                   ("R3", "丙", "浙江", "", "公共服务"), ("R4", "丁", "江苏", "", "政务公开；公共服务")]
    result = plan(s, tmp_path, per_target=1, allow_disconnected=True)
    assert result.expertise_matches == result.case_reviews == 8
    assert all(load.balanced for load in result.loads)


def test_the_same_seed_gives_the_same_file_and_another_seed_may_differ(tmp_path: Path) -> None:
    paths = {name: DEMO / f"{name}.csv" for name in ("sites", "cases", "reviewers")}

    def run(seed: int, name: str) -> bytes:
        make_assignments(paths["sites"], paths["cases"], paths["reviewers"], None, tmp_path / name, seed=seed)
        return (tmp_path / name).read_bytes()

    assert run(5, "a.csv") == run(5, "b.csv")
    assert len({run(seed, f"s{seed}.csv") for seed in range(4)}) > 1


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_init_accepts_the_file_unchanged(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"assignments{suffix}"
    args = ["assign", "--sites", str(DEMO / "sites.csv"), "--cases", str(DEMO / "cases.csv"),
            "--reviewers", str(DEMO / "reviewers.csv"), "--seed", "2", "-o", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "372 条" in result.output and "均衡 / balanced" in result.output and "连通 / connected" in result.output
    files = SetupFiles(DEMO / "indicators.csv", DEMO / "sites.csv", DEMO / "cases.csv", DEMO / "reviewers.csv",
                       out, DEMO / "rules.csv")
    summary = init_round(tmp_path / "r.db", "2022", files)
    assert summary.assignments == 372
    conn = sqlite3.connect(tmp_path / "r.db")
    per_target = conn.execute("SELECT count(*), count(DISTINCT reviewer_id) FROM assignments "
                              "GROUP BY target_kind, target_id").fetchall()
    conn.close()
    assert set(per_target) == {(3, 3)}


def test_declared_conflicts_are_kept_by_the_solver(tmp_path: Path) -> None:
    s = Setup(sites=[(f"S{i}", f"站{i}", "广东") for i in range(3)],
              cases=[("C1", "案例", "北京市大数据局", "浙江", "经济调节")],
              reviewers=[(f"R{i}", f"大学{i}", "北京", "", "") for i in range(4)],
              conflicts=[("R0", "网站", "S0", ""), ("R1", "网站", "S0", ""), ("R2", "", "", "北京市大数据局")])
    result = plan(s, tmp_path, per_target=2)
    rows = {(r.id, t.id) for r, t in result.rows()}
    assert ("R0", "S0") not in rows and ("R1", "S0") not in rows and ("R2", "C1") not in rows
    assert {r for r, t in rows if t == "S0"} == {"R2", "R3"}
    assert result.declared == 3


def test_bad_capacity_and_conflict_rows_are_refused_where_they_are(tmp_path: Path) -> None:
    s = Setup(sites=[("S1", "站", "广东")],
              reviewers=[("R1", "甲", "北京", "两个", ""), ("R2", "乙", "上海", "-1", "")],
              conflicts=[("R9", "网站", "S1", "")])
    with pytest.raises(InputRefused) as info:
        plan(s, tmp_path)
    places = [str(p).split(": ", 1)[0] for p in info.value.problems]
    assert places == ["reviewers.csv:2:5", "reviewers.csv:3:5", "conflicts.csv:2:1"]


# ---------------------------------------------------------------------------------------------
# connectivity


def test_the_repair_joins_two_parts_by_a_swap_that_keeps_every_load() -> None:
    chosen = [[0, 1], [0, 1], [2, 3], [2, 3]]
    kinds = [TargetKind.SITE] * 4
    allowed = np.ones((4, 4), dtype=bool)
    before = [sum(r in p for p in chosen) for r in range(4)]
    swaps = link_reviewers(chosen, kinds, allowed, ["R0", "R1", "R2", "R3"])
    assert swaps == 1
    assert [sum(r in p for p in chosen) for r in range(4)] == before
    assert all(len(set(p)) == 2 for p in chosen)
    linked = {0}
    for _ in range(4):
        for p in chosen:
            if linked & set(p):
                linked |= set(p)
    assert linked == {0, 1, 2, 3}


def test_the_repair_never_swaps_into_a_conflict() -> None:
    chosen = [[0, 1], [0, 1], [2, 3], [2, 3]]
    allowed = np.ones((4, 4), dtype=bool)
    allowed[0:2, 2:4] = False  # R2, R3 may not review targets 0 and 1
    allowed[2:4, 0:2] = False
    with pytest.raises(ReviewersNotLinked) as info:
        link_reviewers(chosen, [TargetKind.SITE] * 4, allowed, ["R0", "R1", "R2", "R3"])
    assert "2 个互不相连的部分" in info.value.message and "R2、R3" in info.value.message
    assert chosen == [[0, 1], [0, 1], [2, 3], [2, 3]]


def split_regions(linkable: bool) -> Setup:
    """Two 北京 and two 上海 reviewers; 上海 sites can only go to the 北京 pair and the other way round. Sites
    elsewhere (广东) let a swap link the pairs."""
    s = Setup(reviewers=[("B1", "北大", "北京", "", ""), ("B2", "清华", "北京", "", ""),
                         ("H1", "复旦", "上海", "", ""), ("H2", "交大", "上海", "", "")])
    s.sites = [("S1", "上海一", "上海"), ("S2", "上海二", "上海"), ("S3", "北京一", "北京"), ("S4", "北京二", "北京")]
    if linkable:
        s.sites += [("S5", "广东一", "广东"), ("S6", "广东二", "广东")]
    return s


def test_assign_always_links_the_reviewers_when_a_swap_can(tmp_path: Path) -> None:
    swaps = 0
    for seed in range(12):
        result = plan(split_regions(True), tmp_path, per_target=2, seed=seed)
        assert result.components == 1
        assert all(load.balanced for load in result.loads)
        swaps += result.swaps
    assert swaps > 0, "some seed should have needed the repair"


def test_assign_says_why_it_cannot_link_the_reviewers(tmp_path: Path) -> None:
    paths = split_regions(False).write(tmp_path)
    out = tmp_path / "a.csv"
    args = ["assign", "--sites", str(paths["sites"]), "--cases", str(paths["cases"]),
            "--reviewers", str(paths["reviewers"]), "--per-target", "2", "-o", str(out)]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1 and not out.exists()
    assert "评审专家关联图分成 2 个互不相连的部分" in refused.output
    allowed = CliRunner().invoke(cli, [*args, "--allow-disconnected"])
    assert allowed.exit_code == 0 and out.exists()
    assert "分成 2 部分" in allowed.output


def test_an_output_that_is_neither_xlsx_nor_csv_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "assignments.txt"
    result = CliRunner().invoke(cli, ["assign", "--sites", str(DEMO / "sites.csv"), "--cases", str(DEMO / "cases.csv"),
                                      "--reviewers", str(DEMO / "reviewers.csv"), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert ".xlsx 或 .csv" in result.output and "must end in .xlsx or .csv" in result.output
