"""The merge cycle's round: three reviewers' packages scored with hand-checked VALUES, keyed and exported.

A test module takes the fixture with `from conftest_merge import *` and the constants by name."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from support import write_csv

from workbench.model import TargetKind
from workbench.setup.package import make_package
from workbench.setup.round import SetupFiles, init_round
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key
from workbench.signed.keys import generate_secret_key, write_secret_key
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE

__all__ = ["cycle"]  # and scored_exports, by name

PASS = "merge test passphrase"
REVIEWERS = ("R1", "R2", "R3")
INDICATORS = """
代码,上级,名称,类型,分值,步长,适用
A,,基础,,,,
A1,A,信息发布,评分,10,0.5,网站
A2,A,互动交流,评分,10,1,网站
B,,创新,,,,
B1,B,创新实践,加分,5,1,网站
"""
# leaf → site → (R1, R2, R3); hand-computed consolidation below
VALUES = {
    "A1": {"S1": ("8", "9", "6.5"), "S2": ("5", "5", "5")},
    "A2": {"S1": ("7", "7", "10"), "S2": ("10", "3", "10")},
    "B1": {"S1": ("3", "5", "4"), "S2": ("0", "1", "2")},
}


def middle(values: tuple[str, ...]) -> Decimal:
    """去掉一个最高分和一个最低分 with three reviews leaves the middle one."""
    return sorted(Decimal(v) for v in values)[1]


EXPECTED = {site: sum(middle(VALUES[leaf][site]) for leaf in VALUES) for site in ("S1", "S2")}


@pytest.fixture
def cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    files = SetupFiles(
        indicators=write_csv(tmp_path / "indicators.csv", INDICATORS),
        sites=write_csv(tmp_path / "sites.csv", "编号,名称,地区\nS1,广东省深圳市,广东\nS2,北京市,北京\n"),
        cases=write_csv(tmp_path / "cases.csv", "编号,标题\n"),
        reviewers=write_csv(tmp_path / "reviewers.csv", "编号,姓名,地区\nR1,甲,上海\nR2,乙,浙江\nR3,丙,江苏\n"),
        assignments=write_csv(tmp_path / "assignments.csv", "评审专家,对象类型,对象编号\n" + "".join(
            f"{r},网站,{s}\n" for r in REVIEWERS for s in ("S1", "S2"))),
        rules=write_csv(tmp_path / "rules.csv", "规则,值\n等级,优秀:18;良好:12;合格:0\n加分上限,5\n分歧阈值,0.4\n"),
    )
    db = tmp_path / "round.db"
    init_round(db, "2022", files)
    return {"db": db, **scored_exports(db, tmp_path, REVIEWERS, VALUES)}


def scored_exports(db: Path, base: Path, reviewers: tuple[str, ...],
                   values: Mapping[str, Mapping[str, tuple[str, ...]]]) -> dict[str, Path]:
    """Each reviewer keyed, packaged, scoring ``values`` (leaf → site → one value per reviewer, in order) and
    exported signed: their package, key file and export by name ("R1", "R1.key", "R1.xlsx")."""
    out: dict[str, Path] = {}
    for n, reviewer in enumerate(reviewers):
        secret = generate_secret_key()
        write_secret_key(base / f"{reviewer}.key", secret, PASS, scrypt_n=2**10)
        add_key(db, reviewer, secret.public.line)
        package = make_package(db, reviewer, base / f"{reviewer}.wbk").path
        store = Store.open(package, expect=KIND_PACKAGE)
        for leaf, by_site in values.items():
            for site, given in by_site.items():
                store.set_score(TargetKind.SITE, site, leaf, Decimal(given[n]))
        store.close()
        out[reviewer] = package
        out[f"{reviewer}.key"] = base / f"{reviewer}.key"
        out[f"{reviewer}.xlsx"] = export_package(package, base / f"{reviewer}.xlsx",
                                                 key_file=base / f"{reviewer}.key", passphrase=PASS).path
    return out
