"""workbench init / import-results / package: building rounds and refusing bad set-up files whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import CHECK, DEMO, SETUP_REVIEWERS, SETUP_SITES, write_csv

from workbench.cli.main import cli
from workbench.errors import InputRefused, WorkbenchError
from workbench.setup.demo import setup_files
from workbench.setup.package import make_package
from workbench.setup.results import import_results
from workbench.setup.round import SetupFiles, init_round
from workbench.store.db import Store

INDICATORS = """
代码,上级,名称,类型,分值,步长,适用,可不适用,说明
A,,信息公开,,,,,,
A1,A,政策发布,评分,10,0.5,网站,否,
A2,A,互动交流,评分,10,1,全部,是,
B,,创新,,,,,,
B1,B,创新实践,加分,5,1,全部,否,
"""
SITES = SETUP_SITES
CASES = "编号,标题,申报单位,地区,领域,简介\n"
REVIEWERS = SETUP_REVIEWERS
ASSIGNMENTS = """
评审专家,对象类型,对象编号
R1,网站,S1
R2,网站,S1
R2,网站,S2
"""


def small_files(tmp_path: Path, **override: str) -> SetupFiles:
    texts = {"indicators": INDICATORS, "sites": SITES, "cases": CASES, "reviewers": REVIEWERS,
             "assignments": ASSIGNMENTS, **override}
    paths = {name: write_csv(tmp_path / f"{name}.csv", text) for name, text in texts.items()}
    return SetupFiles(**paths)


def refusal(tmp_path: Path, **override: str) -> list[str]:
    db = tmp_path / "r.db"
    with pytest.raises(InputRefused) as info:
        init_round(db, "2022", small_files(tmp_path, **override))
    assert not db.exists(), "a refused round must write nothing"
    assert not list(tmp_path.glob("*.tmp")), "no temporary file may be left behind"
    return [str(p) for p in info.value.problems]


def test_demo_round_builds_with_every_target(tmp_path: Path) -> None:
    summary = init_round(tmp_path / "r.db", "2022", setup_files(DEMO), name="演示", year=2022)
    assert (summary.sites, summary.cases, summary.reviewers) == (64, 60, 9)
    assert summary.assignments == (64 + 60) * 3
    store = Store.open(tmp_path / "r.db")
    assert store.kind == "round" and store.round_id == "2022"
    assert store.conn.execute("SELECT count(*) FROM search_keys").fetchone()[0] == 64 + 60 + summary.indicators


def test_small_round_and_a_file_without_data_rows(tmp_path: Path) -> None:
    summary = init_round(tmp_path / "r.db", "R", small_files(tmp_path))
    assert (summary.sites, summary.cases, summary.leaves) == (2, 0, 3)


def test_every_indicator_problem_is_listed_with_its_place(tmp_path: Path) -> None:
    bad = """
代码,上级,名称,类型,分值,步长,适用,可不适用,说明
A,,信息公开,,,,,,
A1,X,政策发布,评分,10,0.5,网站,否,
A1,A,重复,评分,10,1,网站,否,
A2,A,零分,评分,0,1,网站,否,
A3,A,步长,评分,10,3,网站,否,
A4,A,类型,打勾,10,1,网站,否,
"""
    problems = refusal(tmp_path, indicators=bad)
    assert any(p.startswith("indicators.csv:3:2:") and "X" in p for p in problems)
    assert any(p.startswith("indicators.csv:4:1:") and "重复" in p for p in problems)
    assert any(p.startswith("indicators.csv:5:5:") and "大于 0" in p for p in problems)
    assert any(p.startswith("indicators.csv:6:6:") and "整除" in p for p in problems)
    assert any(p.startswith("indicators.csv:7:4:") and "打勾" in p for p in problems)


def test_assignment_problems_and_conflict_of_interest(tmp_path: Path) -> None:
    bad = """
评审专家,对象类型,对象编号
R9,网站,S1
R1,网站,S404
R1,网页,S1
R1,网站,S2
"""
    problems = refusal(tmp_path, assignments=bad)
    assert any(p.startswith("assignments.csv:2:1:") and "R9" in p for p in problems)
    assert any(p.startswith("assignments.csv:3:3:") and "S404" in p for p in problems)
    assert any(p.startswith("assignments.csv:4:2:") for p in problems)
    assert any(p.startswith("assignments.csv:5:1:") and "利益冲突" in p for p in problems)


def test_conflict_of_interest_can_be_overridden_explicitly(tmp_path: Path) -> None:
    ok = "评审专家,对象类型,对象编号,利益冲突豁免\nR1,网站,S2,是\n"
    summary = init_round(tmp_path / "r.db", "R", small_files(tmp_path, assignments=ok))
    assert summary.assignments == 1


def test_missing_column_and_duplicate_ids_in_several_files(tmp_path: Path) -> None:
    problems = refusal(
        tmp_path,
        sites="编号,名称\nS1,甲\nS1,乙\n",
        reviewers="编号,单位\nR1,清华\n",
    )
    assert any(p.startswith("sites.csv:3:1:") and "重复" in p for p in problems)
    assert any(p.startswith("reviewers.csv:1:") and "姓名" in p for p in problems)


def test_english_headers_in_an_xlsx_file(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.worksheets[0]
    sheet.append(["id", "name", "region", "level", "url"])
    sheet.append([1001, "广东省深圳市", "广东", "city", "http://www.sz.gov.cn"])
    book.save(tmp_path / "sites.xlsx")
    files = small_files(tmp_path, assignments="reviewer_id,target_kind,target_id\nR1,site,1001\n")
    files = SetupFiles(**{**files.__dict__, "sites": tmp_path / "sites.xlsx"})
    init_round(tmp_path / "r.db", "R", files)
    store = Store.open(tmp_path / "r.db")
    assert [(s.id, s.name) for s in store.sites()] == [("1001", "广东省深圳市")]


def test_cli_init_refusal_exits_1_and_lists_problems(tmp_path: Path) -> None:
    files = small_files(tmp_path, indicators=INDICATORS.replace("10,0.5", "10,0.3"))
    args = ["init", str(tmp_path / "r.db"), "--round", "2022"]
    for name in ("indicators", "sites", "cases", "reviewers", "assignments"):
        args += [f"--{name}", str(getattr(files, name))]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "indicators.csv:3:6:" in result.output
    assert not (tmp_path / "r.db").exists()


def test_init_refuses_to_overwrite(round_db: Path) -> None:
    with pytest.raises(WorkbenchError, match="已存在"):
        init_round(round_db, "2022", setup_files(DEMO))


def test_check_round_has_no_cases(tmp_path: Path) -> None:
    summary = init_round(tmp_path / "c.db", "2019", setup_files(CHECK))
    assert summary.cases == 0 and summary.sites >= 10


def test_import_results_refuses_bad_rows_whole(round_db: Path, tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "r2020.csv", """
对象类型,对象编号,指标代码,得分
网站,S01,ZZZ,1
网站,S999,A1.1,1
网站,S01,A1.1,99
网站,S01,A1.1,1
""")
    before = round_db.read_bytes()
    with pytest.raises(InputRefused) as info:
        import_results(round_db, bad, "2020")
    text = str(info.value)
    assert "r2020.csv:2:3:" in text and "r2020.csv:3:2:" in text and "r2020.csv:4:4:" in text
    assert round_db.read_bytes() == before


def test_import_results_twice_needs_replace(round_db: Path) -> None:
    with pytest.raises(WorkbenchError, match="--replace"):
        import_results(round_db, DEMO / "results-2021.csv", "2021")
    summary = import_results(round_db, DEMO / "results-2021.csv", "2021", replace=True)
    assert summary.targets >= 64


def test_package_holds_only_that_reviewers_work(round_db: Path, tmp_path: Path) -> None:
    info = make_package(round_db, "R01", tmp_path / "R01.wbk")
    assert not Path(str(info.path) + "-wal").exists()
    pkg = Store.open(info.path, expect="package")
    assigned = {(a.target_kind.value, a.target_id) for a in Store.open(round_db).assignments("R01")}
    in_pkg = {(r[0], r[1]) for r in pkg.conn.execute("SELECT DISTINCT target_kind, target_id FROM scores")}
    assert in_pkg == assigned
    assert [r.id for r in pkg.reviewers()] == ["R01"]
    assert len(pkg.sites()) + len(pkg.cases()) == len(assigned)
    assert pkg.meta["nonce"] == info.nonce and pkg.reviewer_id == "R01"
    assert all(s.value is None for s in pkg.scores())
    past = {r[0] for r in pkg.conn.execute("SELECT DISTINCT round FROM consolidated")}
    assert past == {"2021"}
    ledger = sqlite3.connect(round_db).execute("SELECT reviewer_id, pairs, key_id FROM packages").fetchall()
    assert ledger == [("R01", info.pairs, None)]
    assert sqlite3.connect(info.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_package_refuses_unknown_reviewer_and_round_expected(round_db: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="R99"):
        make_package(round_db, "R99", tmp_path / "x.wbk")
    info = make_package(round_db, "R02", tmp_path / "R02.wbk")
    with pytest.raises(WorkbenchError, match="评审包"):
        make_package(info.path, "R02", tmp_path / "y.wbk")


def test_rules_are_validated_and_an_empty_value_switches_a_rule_off(tmp_path: Path) -> None:
    from workbench.scoring.rules import ConsolidationSettings

    rules = write_csv(tmp_path / "rules.csv", "规则,值\n分歧阈值,很大\n")
    files = SetupFiles(**{**small_files(tmp_path).__dict__, "rules": rules})
    with pytest.raises(InputRefused, match=r"rules\.csv"):
        init_round(tmp_path / "r.db", "R", files)
    write_csv(rules, "规则,值\n分歧阈值,\n及格线,8\n")
    init_round(tmp_path / "r.db", "R", files)
    settings = ConsolidationSettings.from_rules(Store.open(tmp_path / "r.db").rules_mapping())
    assert settings.spread_threshold is None


def test_a_parent_points_that_contradict_its_leaves_are_refused_at_their_cell(tmp_path: Path) -> None:
    bad = """
代码,上级,名称,类型,分值,步长,适用,可不适用,说明
A,,信息公开,,90,,,,
A1,A,政策发布,评分,60,1,网站,否,
A2,A,互动交流,评分,40,1,网站,否,
"""
    problems = refusal(tmp_path, indicators=bad)
    assert any(p.startswith("indicators.csv:2:5:") and "90" in p and "100" in p for p in problems), problems


@pytest.mark.parametrize(("rule", "row", "said"), [
    ("及格线,60", "及格线 60", "every site would fail"),
    ("加分门槛,20", "加分门槛 20", "no bonus would ever count"),
    ("等级,卓越:95;合格:0", "卓越:95", "no site could ever get them"),
])
def test_rules_beyond_what_a_target_can_reach_are_refused_at_their_row(
    tmp_path: Path, rule: str, row: str, said: str
) -> None:
    """The small system's sites reach a base of 20 (and 25 with their bonus): one round graded every target 不合格."""
    rules = write_csv(tmp_path / "rules.csv", f"规则,值\n{rule}\n")
    files = SetupFiles(**{**small_files(tmp_path).__dict__, "rules": rules})
    with pytest.raises(InputRefused) as refused:
        init_round(tmp_path / "r.db", "R", files)
    (problem,) = refused.value.problems
    assert str(problem).startswith("rules.csv:2:2:") and row in str(problem) and said in str(problem)
    assert not (tmp_path / "r.db").exists()
