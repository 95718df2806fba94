"""Declared conflicts of interest (回避): `workbench init --conflicts` checks hand-made assignments and stores them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import SETUP_REVIEWERS, SETUP_SITES, write_csv

from workbench.cli.main import cli
from workbench.errors import InputRefused
from workbench.model import TargetKind
from workbench.setup.conflicts import round_conflicts
from workbench.setup.round import SetupFiles, init_round
from workbench.store.db import Store
from workbench.store.migrations import upgrade

INDICATORS = "代码,上级,名称,类型,分值,步长,适用\nA,,信息公开,,,,\nA1,A,政策发布,评分,10,1,全部\n"
SITES = SETUP_SITES
CASES = """
编号,标题,申报单位,地区,领域,简介
C1,“粤商通”,广东省政务服务数据管理局,广东,经济调节,
C2,“浙里办”,浙江省人民政府,浙江,公共服务,
"""
REVIEWERS = SETUP_REVIEWERS
ASSIGNMENTS = """
评审专家,对象类型,对象编号
R1,网站,S1
R2,网站,S1
R2,网站,S2
R1,案例,C1
R2,案例,C2
"""
CONFLICTS = """
评审专家,对象类型,对象编号,单位,原因
R2,网站,S2,,三年内曾在该单位任职
R1,,,浙江省人民政府,亲属在该单位工作
"""


def files(tmp_path: Path, **override: str) -> SetupFiles:
    texts = {"indicators": INDICATORS, "sites": SITES, "cases": CASES, "reviewers": REVIEWERS,
             "assignments": ASSIGNMENTS, "conflicts": CONFLICTS, **override}
    paths = {name: write_csv(tmp_path / f"{name}.csv", text) for name, text in texts.items()}
    return SetupFiles(**paths)


def refusal(tmp_path: Path, **override: str) -> list[str]:
    db = tmp_path / "r.db"
    with pytest.raises(InputRefused) as info:
        init_round(db, "2022", files(tmp_path, **override))
    assert not db.exists(), "a refused round must write nothing"
    return [str(p) for p in info.value.problems]


def test_a_hand_made_assignment_against_a_declared_target_is_refused_at_its_row(tmp_path: Path) -> None:
    problems = refusal(tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith("assignments.csv:4:1:")
    assert "R2" in problems[0] and "S2" in problems[0]
    assert "conflicts.csv:2" in problems[0] and "三年内曾在该单位任职" in problems[0]
    assert "利益冲突豁免" in problems[0]


def test_a_declared_unit_covers_the_cases_it_submitted(tmp_path: Path) -> None:
    assignments = "评审专家,对象类型,对象编号\nR1,网站,S1\nR1,案例,C2\n"
    problems = refusal(tmp_path, assignments=assignments)
    assert [p.split(": ", 1)[0] for p in problems] == ["assignments.csv:3:1"]
    assert "亲属在该单位工作" in problems[0]


def test_the_override_column_allows_a_declared_conflict_and_the_round_stores_the_declarations(
    tmp_path: Path,
) -> None:
    assignments = ASSIGNMENTS.replace("评审专家,对象类型,对象编号", "评审专家,对象类型,对象编号,利益冲突豁免")
    assignments = assignments.replace("R2,网站,S2", "R2,网站,S2,是")
    summary = init_round(tmp_path / "r.db", "2022", files(tmp_path, assignments=assignments))
    assert summary.conflicts == 2 and summary.assignments == 5
    store = Store.open(tmp_path / "r.db")
    try:
        index = round_conflicts(store.conn)
        assert len(index) == 2
        s2 = index.covering("R2", TargetKind.SITE, "S2", "北京市")
        assert s2 is not None and s2.reason == "三年内曾在该单位任职"
        assert index.covering("R1", TargetKind.CASE, "C2", "浙江省人民政府") is not None
        assert index.covering("R1", TargetKind.CASE, "C1", "广东省政务服务数据管理局") is None
        override = store.conn.execute(
            "SELECT coi_override FROM assignments WHERE reviewer_id = 'R2' AND target_id = 'S2'").fetchone()[0]
        assert override == 1
    finally:
        store.close()


def test_english_headers_and_units_compared_as_ids(tmp_path: Path) -> None:
    conflicts = "reviewer_id,org,reason\nR2,北京市,former employee\n"
    problems = refusal(tmp_path, conflicts=conflicts)
    assert [p.split(": ", 1)[0] for p in problems] == ["assignments.csv:4:1"]


def test_bad_declarations_are_refused_where_they_are(tmp_path: Path) -> None:
    conflicts = """
评审专家,对象类型,对象编号,单位,原因
R9,网站,S1,,任职
R1,网站,S404,,任职
R1,网站,S1,广东省深圳市,任职
R1,,,,任职
R2,案例,C1,,
R2,网页,C1,,任职
R1,,,某大学,亲属
R1,,,某大学,亲属
"""
    problems = refusal(tmp_path, assignments="评审专家,对象类型,对象编号\nR1,网站,S1\n", conflicts=conflicts)
    places = {p.split(": ", 1)[0] for p in problems}
    assert "conflicts.csv:2:1" in places  # unknown reviewer
    assert "conflicts.csv:3:3" in places  # unknown target
    assert "conflicts.csv:4:4" in places  # a target and a unit on one row
    assert "conflicts.csv:5" in places  # neither
    assert "conflicts.csv:6:5" in places  # no reason
    assert "conflicts.csv:7:2" in places  # unknown kind
    assert "conflicts.csv:9:4" in places  # declared twice
    both = next(p for p in problems if p.startswith("conflicts.csv:4:4"))
    assert "只能填一种" in both and "not both" in both


def test_init_conflicts_on_the_command_line(tmp_path: Path) -> None:
    f = files(tmp_path)
    args = ["init", str(tmp_path / "r.db"), "--round", "2022", "--indicators", str(f.indicators),
            "--sites", str(f.sites), "--cases", str(f.cases), "--reviewers", str(f.reviewers),
            "--assignments", str(f.assignments), "--conflicts", str(f.conflicts)]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 1
    assert "assignments.csv:4:1" in refused.output and "已申报回避" in refused.output
    assert not (tmp_path / "r.db").exists()
    ok = write_csv(tmp_path / "ok.csv", "评审专家,对象类型,对象编号\nR1,网站,S1\n")
    args[args.index(str(f.assignments))] = str(ok)
    built = CliRunner().invoke(cli, args)
    assert built.exit_code == 0, built.output
    assert "申报回避 2" in built.output


def test_a_round_made_before_declared_conflicts_opens_and_migrates(tmp_path: Path) -> None:
    init_round(tmp_path / "r.db", "2022", files(tmp_path, conflicts="评审专家,对象编号,原因\n"))
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("DROP TABLE declared_conflicts")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0005_declared_conflicts'")
    conn.commit()
    conn.close()
    store = Store.open(tmp_path / "r.db")
    try:
        assert len(round_conflicts(store.conn)) == 0
        upgrade(store.conn)
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "declared_conflicts" in tables
        names = [r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
        assert names[-1] == "0005_declared_conflicts"
    finally:
        store.close()
