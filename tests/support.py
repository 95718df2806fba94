"""Paths and small helpers shared by test modules (a plain module: `conftest` names clash across folders)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "workbench" / "fixtures"
DEMO = FIXTURES / "demo-2022"
CHECK = FIXTURES / "check-2019"


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


#: Two sites and two reviewers of a small round, as the set-up tests write them (one from 北京, so that a
#: reviewer's 地区 conflicts with a site's).
SETUP_SITES = """
编号,名称,地区,层级,网址
S1,广东省深圳市,广东,重点城市,http://www.sz.gov.cn
S2,北京市,北京,省级,https://www.beijing.gov.cn
"""
SETUP_REVIEWERS = """
编号,姓名,单位,地区
R1,王一,清华大学,北京
R2,李二,复旦大学,上海
"""
