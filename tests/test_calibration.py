"""The calibration round (校准): every package carries the calibration targets, their exports merge, `calibration`
shows each reviewer's deviation, and nothing the round publishes changes with calibration scores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from conftest_merge import INDICATORS, PASS, REVIEWERS, VALUES, scored_exports  # the merge cycle's round
from support import write_csv

from workbench.cli.main import cli
from workbench.consolidation.calibration import NoCalibration, calibration_result
from workbench.consolidation.merge import merge_exports
from workbench.consolidation.report import side_file, write_report
from workbench.consolidation.status import round_progress, round_status
from workbench.consolidation.stored import stream_consolidation
from workbench.errors import InputRefused
from workbench.model import TargetKey, TargetKind
from workbench.review import ReviewSession
from workbench.setup.round import SetupFiles, init_round, read_assign_setup
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE, KIND_ROUND

# The calibration site: R1 scores harshly (40 % of the points below the others' middle value on every leaf).
CALIBRATION = {"A1": ("4", "8", "8.5"), "A2": ("4", "8", "8"), "B1": ("1", "3", "3")}
WILD = {"A1": ("0", "10", "0"), "A2": ("10", "0", "10"), "B1": ("5", "0", "5")}


def _round(base: Path, *, calibration: Mapping[str, tuple[str, ...]] | None, reference: str | None = None,
           ) -> dict[str, Path]:
    """A round of three reviewers and two counted sites, with the calibration site S9 (in R3's own 地区, and
    declared a conflict by R2: it goes to both anyway) when ``calibration`` gives its scores; every package
    scored, exported and merged."""
    base.mkdir(parents=True, exist_ok=True)
    sites = "编号,名称,地区,校准\nS1,广东省深圳市,广东,否\nS2,北京市,北京,\n"
    if calibration is not None:
        sites += "S9,示例市政府网站,江苏,是\n"
    files = SetupFiles(
        indicators=write_csv(base / "indicators.csv", INDICATORS),
        sites=write_csv(base / "sites.csv", sites),
        cases=write_csv(base / "cases.csv", "编号,标题\n"),
        reviewers=write_csv(base / "reviewers.csv", "编号,姓名,地区\nR1,甲,上海\nR2,乙,浙江\nR3,丙,江苏\n"),
        assignments=write_csv(base / "assignments.csv", "评审专家,对象类型,对象编号\n" + "".join(
            f"{r},网站,{s}\n" for r in REVIEWERS for s in ("S1", "S2"))),
        rules=write_csv(base / "rules.csv", "规则,值\n等级,优秀:18;良好:12;合格:0\n加分上限,5\n分歧阈值,0.4\n"),
        conflicts=write_csv(base / "conflicts.csv", "评审专家,对象类型,对象编号,原因\n" + (
            "R2,网站,S9,三年内曾任职\n" if calibration is not None else "")),
        calibration_reference=write_csv(base / "reference.csv", reference) if reference else None,
    )
    db = base / "round.db"
    init_round(db, "2022", files)
    scores = {leaf: {**by_site, **({"S9": calibration[leaf]} if calibration else {})}
              for leaf, by_site in VALUES.items()}
    out = {"db": db, **scored_exports(db, base, REVIEWERS, scores)}
    report = merge_exports(db, [out[f"{r}.xlsx"] for r in REVIEWERS])
    assert len(report.merged) == 3, [(o.path, o.status) for o in report.outcomes]
    return out


@pytest.fixture
def calibrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    return _round(tmp_path / "with", calibration=CALIBRATION)


def test_every_package_holds_the_calibration_targets_first_whatever_the_region_or_conflicts(
        calibrated: dict[str, Path]) -> None:
    for reviewer in REVIEWERS:  # R3 is of S9's 地区, R2 declared a conflict with it: both get it
        store = Store.open(calibrated[reviewer], expect=KIND_PACKAGE)
        try:
            pairs = {(s.target_id, s.indicator) for s in store.scores()}
            assert {("S9", leaf) for leaf in VALUES} <= pairs
            queue = ReviewSession(store).queue()
            assert [row.target.id for row in queue] == ["S9", "S1", "S2"]
            assert queue[0].target.calibration and not queue[1].target.calibration
        finally:
            store.close()


def test_calibration_scores_are_merged_like_any_other(calibrated: dict[str, Path]) -> None:
    store = Store.open(calibrated["db"], expect=KIND_ROUND)
    try:
        merged = {(s.reviewer_id, s.indicator): s.value for s in store.scores() if s.target_id == "S9"}
    finally:
        store.close()
    assert merged[("R1", "A1")] == Decimal("4") and merged[("R3", "A1")] == Decimal("8.5")
    assert len(merged) == 9


def test_calibration_shows_each_reviewers_deviation_and_flags_the_harsh_one(calibrated: dict[str, Path]) -> None:
    result = CliRunner().invoke(cli, ["calibration", str(calibrated["db"]), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["targets"] == [{"target_kind": "site", "target_id": "S9"}]
    reviewers = {r["reviewer"]: r for r in document["reviewers"]}
    # consensus = the middle of three (trimmed mean): A1 8, A2 8, B1 3
    assert reviewers["R1"]["severity_percent"] == "-40.0" and reviewers["R1"]["flag"] == "超出校准阈值"
    assert reviewers["R1"]["leaning"] == "偏严"
    assert reviewers["R2"]["severity_percent"] == "0.0" and reviewers["R2"]["flag"] == ""
    assert reviewers["R3"]["severity_percent"] == "1.7" and reviewers["R3"]["leaning"] == "偏松"  # +5 % on A1
    cells = {(d["reviewer"], d["indicator"]): d for d in document["deviations"]}
    assert cells[("R1", "A1")]["mean_points"] == "-4.00" and cells[("R1", "A1")]["mean_percent"] == "-40.0"
    assert cells[("R1", "B1")]["mean_points"] == "-2.00"
    assert cells[("R3", "A1")]["mean_points"] == "0.50" and cells[("R3", "A1")]["flag"] == ""

    table = CliRunner().invoke(cli, ["calibration", str(calibrated["db"])])
    assert table.exit_code == 0 and "超出阈值的评审专家 1 位：R1" in table.output
    csv = CliRunner().invoke(cli, ["calibration", str(calibrated["db"]), "--format", "csv"])
    assert csv.exit_code == 0 and "R1,A1,信息发布,1,-4.00,-40.0,超出校准阈值" in csv.output


def _published(db: Path) -> dict[str, Any]:
    """Everything the round publishes: stored consolidation and disputes, totals, ranks, alpha, status."""
    store = Store.open(db, expect=KIND_ROUND)
    try:
        summary, targets = stream_consolidation(store)
        cells = {(c.target_kind, c.target_id, c.indicator): (c.value, c.n, c.flags)
                 for t in targets for c in t.cells}
        stored = sorted(tuple(r) for r in store.conn.execute(
            "SELECT target_kind, target_id, indicator, value, exact, n, method, flags FROM consolidated"))
        disputes = sorted(tuple(r) for r in store.conn.execute("SELECT * FROM disputes"))
        status = round_status(store)
        return {
            "cells": cells, "stored": stored, "disputes": disputes,
            "totals": {k: (t.total, t.grade) for k, t in summary.totals.items()},
            "alpha": summary.agreement.alpha(), "alpha_overall": summary.agreement.alpha_overall(),
            "bias": summary.agreement.bias(),
            "status": ([(r.reviewer_id, r.assigned, r.received, r.missing) for r in status.reviewers],
                       [(t.target_id, t.assigned, t.reviews_in) for t in status.targets]),
            "progress": round_progress(store),
        }
    finally:
        store.close()


def test_results_ranks_and_alpha_are_unchanged_by_calibration_scores(
        calibrated: dict[str, Path], tmp_path: Path) -> None:
    without = _published(_round(tmp_path / "without", calibration=None)["db"])
    with_calibration = _published(calibrated["db"])
    wild = _published(_round(tmp_path / "wild", calibration=WILD)["db"])
    assert with_calibration == without == wild
    assert TargetKey(TargetKind.SITE, "S9") not in with_calibration["totals"]
    assert with_calibration["alpha_overall"] is not None


def test_the_report_shows_calibration_only_on_its_own_sheet(calibrated: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    summary = write_report(calibrated["db"], out)
    assert summary.targets == 2
    book = openpyxl.load_workbook(out, read_only=True)
    assert "校准" in book.sheetnames
    for name in ("总分排名", "指标明细", "争议复核", "缺少评分"):
        assert not any("S9" in row for row in book[name].iter_rows(values_only=True)), name
    calibration = [row for row in book["校准"].iter_rows(values_only=True)]
    assert ("R1", "甲", 3, -40, 40, "偏严", "超出校准阈值") in calibration
    assert "S9" not in side_file(out, 1).read_text(encoding="utf-8-sig")


def test_reference_scores_replace_the_consensus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    db = _round(tmp_path / "ref", calibration=CALIBRATION,
                reference="对象类型,对象编号,指标代码,得分\n网站,S9,A1,9\n")["db"]
    store = Store.open(db, expect=KIND_ROUND)
    try:
        result = calibration_result(store)
    finally:
        store.close()
    assert result.references == 1
    cells = {(d.reviewer_id, d.indicator): d for d in result.deviations}
    assert cells[("R2", "A1")].mean_points == Decimal("-1.00")  # against 9, not the panel's 8
    assert cells[("R2", "A2")].mean_points == Decimal("0.00")  # no reference: the panel's consensus


def test_a_round_without_calibration_targets_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    db = _round(tmp_path / "none", calibration=None)["db"]
    result = CliRunner().invoke(cli, ["calibration", str(db)])
    assert result.exit_code == 1 and "没有校准对象" in result.output
    store = Store.open(db, expect=KIND_ROUND)
    try:
        with pytest.raises(NoCalibration):
            calibration_result(store)
    finally:
        store.close()


def _setup(base: Path, sites: str, assignments: str, reference: str | None = None) -> SetupFiles:
    base.mkdir(parents=True, exist_ok=True)
    return SetupFiles(
        indicators=write_csv(base / "indicators.csv", INDICATORS),
        sites=write_csv(base / "sites.csv", sites),
        cases=write_csv(base / "cases.csv", "编号,标题,校准\n"),
        reviewers=write_csv(base / "reviewers.csv", "编号,姓名,地区\nR1,甲,上海\n"),
        assignments=write_csv(base / "assignments.csv", assignments),
        calibration_reference=write_csv(base / "reference.csv", reference) if reference else None,
    )


def test_init_refuses_bad_calibration_files_at_their_cells(tmp_path: Path) -> None:
    files = _setup(
        tmp_path, "编号,名称,地区,校准\nS1,甲市,广东,也许\nS2,乙市,北京,是\nS3,丙市,江苏,否\n",
        "评审专家,对象类型,对象编号\nR1,网站,S2\nR1,网站,S3\n",
        "对象类型,对象编号,指标代码,得分\n网站,S3,A1,5\n网站,S2,A1,11\n网站,S2,A,1\n网站,S2,A2,3\n网站,S2,A2,4\n")
    with pytest.raises(InputRefused) as caught:
        init_round(tmp_path / "round.db", "2022", files)
    problems = {p.where.split(": ")[0]: p.reason for p in caught.value.problems}
    assert "应为 是/否" in problems["sites.csv:2:4"]  # 也许
    assert "是校准对象" in problems["assignments.csv:2:3"]  # a calibration target is never assigned
    assert "不是校准对象" in problems["reference.csv:2:2"]  # S3 is counted
    assert "0 至 10" in problems["reference.csv:3:4"]  # 11 on a 10-point leaf
    assert "不是末级指标" in problems["reference.csv:4:3"]
    assert "重复参考分" in problems["reference.csv:6:3"]
    assert not (tmp_path / "round.db").exists()


def test_assign_leaves_calibration_targets_to_every_reviewer(tmp_path: Path) -> None:
    files = _setup(tmp_path, "编号,名称,地区,校准\nS1,甲市,广东,\nS2,乙市,北京,是\n", "评审专家,对象类型,对象编号\n")
    setup = read_assign_setup(files.sites, files.cases, files.reviewers)
    assert [row["id"].value for row in setup.sites.rows] == ["S1"]
