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


async def first_target_texts(package: Path) -> tuple[str, str]:
    """Open a package in the app, enter its first target: what its header and its first indicator's detail say."""
    from textual.widgets import Static

    from workbench.tui.app import make_app, open_package
    from workbench.tui.screens.target import TargetScreen

    store = open_package(package)
    try:
        app = make_app(store, lang="zh", keymap={})
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, TargetScreen)
            return (str(app.screen.query_one("#target-header", Static).render()),
                    str(app.screen.query_one("#detail-body", Static).render()))
    finally:
        store.close()
