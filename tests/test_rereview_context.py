"""A re-review package says why: the reason, the consensus, the spread and the others' values (not named); the
app shows them, and keeping a value takes a note."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_merge import *  # noqa: F403  (the cycle fixture)
from conftest_merge import PASS, REVIEWERS
from support import first_target_texts

from workbench.cli.main import cli
from workbench.consolidation.merge import merge_exports
from workbench.errors import ExportRefused
from workbench.model import ReReviewNote, TargetKind
from workbench.signed.export import export_package
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE


@pytest.fixture
def rereview(cycle: dict[str, Path], tmp_path: Path) -> Path:
    """R2's re-review package of S2/A2 ([10, 3, 10] on 10 points: R2's 3 stands apart)."""
    assert not merge_exports(cycle["db"], [cycle[f"{r}.xlsx"] for r in REVIEWERS]).rejected
    result = CliRunner().invoke(cli, ["disputes", str(cycle["db"]), "-o", str(tmp_path / "re")])
    assert result.exit_code == 0, result.output
    (package,) = sorted((tmp_path / "re").glob("*.wbk"))
    return package


def test_the_package_carries_the_reason_the_consensus_and_the_others_values_unnamed(rereview: Path) -> None:
    store = Store.open(rereview, expect=KIND_PACKAGE)
    try:
        notes = store.rereview_notes()
    finally:
        store.close()
    assert notes == {("site", "S2", "A2"): ReReviewNote(
        reasons=("disagreement",), consensus="10.00", spread="7", others=(("专家A", "10"), ("专家B", "10")), own="3")}


def test_keeping_a_value_on_re_review_needs_a_note(rereview: Path, cycle: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ExportRefused, match=r"S2：A2 互动交流（3）"):
        export_package(rereview, tmp_path / "kept.xlsx", key_file=cycle["R2.key"], passphrase=PASS)
    assert not (tmp_path / "kept.xlsx").exists()
    store = Store.open(rereview, expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S2", "A2", note="网站互动栏目多数留言超期未回复，维持 3 分")
    store.close()
    export = export_package(rereview, tmp_path / "kept.xlsx", key_file=cycle["R2.key"], passphrase=PASS).path
    assert merge_exports(cycle["db"], [export]).merged


def test_a_changed_value_needs_no_note(rereview: Path, cycle: dict[str, Path], tmp_path: Path) -> None:
    store = Store.open(rereview, expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S2", "A2", Decimal(9))
    store.close()
    assert export_package(rereview, tmp_path / "changed.xlsx", key_file=cycle["R2.key"], passphrase=PASS).signed


async def test_the_app_shows_the_re_review_banner_and_the_others_values(rereview: Path) -> None:
    header, detail = await first_target_texts(rereview)
    assert "复核" in header and "保留原评分须填写备注" in header
    assert "评分分歧 · 汇总 10.00 · 极差 7" in detail
    assert "专家A 10 · 专家B 10 · 你 3" in detail
    assert "R1" not in detail and "R3" not in detail
