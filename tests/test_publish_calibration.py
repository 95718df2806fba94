"""A published round with calibration targets (校准), their reference scores and scoring levels (评分细则): the
bundle's set-up files carry them, `workbench init` reads them back, and the audit reproduces the results."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest_merge import PASS
from conftest_publish import coordinator, settle  # noqa: F401  (the coordinator fixture)
from test_calibration import CALIBRATION, _round

from workbench.publish.audit import audit_bundle
from workbench.publish.bundle import publish
from workbench.store.db import Store
from workbench.store.schema import KIND_ROUND

REFERENCE = "对象类型,对象编号,指标代码,得分\n网站,S9,A1,8\n网站,S9,A2,7\n"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_a_calibration_round_is_published_with_its_targets_and_reference_and_audits(
    tmp_path: Path, coordinator: tuple[Path, str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    made = _round(tmp_path / "round", calibration=CALIBRATION, reference=REFERENCE)
    settle(made["db"])
    bundle = tmp_path / "bundle"
    publish(made["db"], coordinator[0], bundle, passphrase=PASS)
    sites = {r["编号"]: r["校准"] for r in _rows(bundle / "round" / "sites.csv")}
    assert sites == {"S1": "0", "S2": "0", "S9": "1"}
    assert [(r["对象编号"], r["指标代码"], r["得分"]) for r in _rows(bundle / "round" / "calibration_reference.csv")] \
        == [("S9", "A1", "8.0"), ("S9", "A2", "7")]
    shutil.rmtree(tmp_path / "round")  # the audit never sees the round database
    result = audit_bundle(bundle, coordinator[1], workers=0)
    assert result.targets == 2 and result.values > 0  # the calibration site is not a ranked target


def test_the_bundle_keeps_each_indicators_levels_for_init(tmp_path: Path) -> None:
    from support import write_csv

    from workbench.publish.bundle import _write_round
    from workbench.setup.round import SetupFiles, init_round

    base = tmp_path / "setup"
    base.mkdir()
    files = SetupFiles(
        indicators=write_csv(base / "indicators.csv", "代码,上级,名称,类型,分值,步长,评分细则\nA,,组织,评分,,,\n"
                             "A1,A,机制,评分,2,1,2=建立并有效运转; 1=已建立但未见运转; 0=未建立\n"),
        sites=write_csv(base / "sites.csv", "编号,名称\nS1,某市\n"),
        cases=write_csv(base / "cases.csv", "编号,标题\n"),
        reviewers=write_csv(base / "reviewers.csv", "编号,姓名\nR1,甲\n"),
        assignments=write_csv(base / "assignments.csv", "评审专家,对象类型,对象编号\nR1,网站,S1\n"),
    )
    init_round(tmp_path / "a.db", "2022", files)
    store = Store.open(tmp_path / "a.db", expect=KIND_ROUND)
    try:
        _write_round(store, tmp_path / "bundle")
        levels = {i.code: i.levels for i in store.indicators()}
    finally:
        store.close()
    round_dir = tmp_path / "bundle" / "round"
    init_round(tmp_path / "b.db", "2022", SetupFiles(
        indicators=round_dir / "indicators.csv", sites=round_dir / "sites.csv", cases=round_dir / "cases.csv",
        reviewers=round_dir / "reviewers.csv", assignments=round_dir / "assignments.csv",
        rules=round_dir / "rules.csv", conflicts=round_dir / "conflicts.csv",
        calibration_reference=round_dir / "calibration_reference.csv"))
    again = Store.open(tmp_path / "b.db", expect=KIND_ROUND)
    try:
        assert {i.code: i.levels for i in again.indicators()} == levels
        assert levels["A1"].startswith("2=建立并有效运转")
    finally:
        again.close()
