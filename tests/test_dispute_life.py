"""The life of a dispute and the guardrails: listed, sent, re-reviewed or accepted; nothing read from an
incomplete round unless asked for, and then marked 未完成."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest_merge import *  # noqa: F403  (the cycle fixture)
from conftest_merge import PASS, REVIEWERS

from workbench.cli.main import cli
from workbench.consolidation.merge import merge_exports
from workbench.model import TargetKind
from workbench.signed.export import export_package
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def merged(cycle: dict[str, Path]) -> Path:
    db = cycle["db"]
    assert not merge_exports(db, [cycle[f"{r}.xlsx"] for r in REVIEWERS]).rejected
    return db


def listed(db: Path, *extra: str) -> list[dict[str, object]]:
    code, out = run("disputes", str(db), "--list", "--format", "json", *extra)
    assert code == 0, out
    items: list[dict[str, object]] = json.loads(out)
    return items


def status_disputes(db: Path) -> dict[str, int]:
    code, out = run("status", str(db), "--format", "json")
    assert code == 0, out
    counts: dict[str, int] = json.loads(out)["disputes"]
    return counts


# ---------------------------------------------------------------------------------------------- the list


def test_list_shows_each_reviewers_value_the_consensus_and_the_reason(cycle: dict[str, Path]) -> None:
    db = merged(cycle)
    (item,) = listed(db)
    assert (item["target_id"], item["indicator"], item["status"]) == ("S2", "A2", "open")
    assert item["values"] == {"R1": 10, "R2": 3, "R3": 10}  # JSON numbers
    assert item["consensus"] == 10
    assert '"consensus": 10.00,' in run("disputes", str(db), "--list", "--format", "json")[1]  # 得分小数位 2
    assert (item["reasons"], item["recipients"]) == (["disagreement"], ["R2"])
    code, table = run("disputes", str(db), "--list")
    assert code == 0 and "R1=10; R2=3; R3=10" in table and "评分分歧" in table and "待复核" in table
    code, csv_text = run("disputes", str(db), "--list", "--format", "csv")
    assert code == 0 and csv_text.splitlines()[1].startswith("site,S2,北京市,A2,")
    assert status_disputes(db) == {"open": 1, "not_sent": 1, "sent": 0, "re_reviewed": 0, "accepted": 0}


# ------------------------------------------------------------------------------------- sent, re-reviewed


def test_a_dispute_is_sent_once_and_closed_when_its_re_review_is_merged(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = merged(cycle)
    code, out = run("disputes", str(db), "-o", str(tmp_path / "re"))
    assert code == 0, out
    assert "  网站 S2 A2" in out  # what was sent, item by item
    (package,) = sorted((tmp_path / "re").glob("*.wbk"))
    assert [i["status"] for i in listed(db)] == ["sent"]
    assert status_disputes(db)["sent"] == 1
    # Issuing again sends nothing twice.
    code, out = run("disputes", str(db), "-o", str(tmp_path / "again"))
    assert code == 0 and "nothing to send back" in out and not (tmp_path / "again").exists()
    # The reviewer keeps their value on re-review, saying why; once merged, the dispute is closed all the same.
    store = Store.open(package, expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S2", "A2", note="维持原评分")
    store.close()
    export = export_package(package, tmp_path / "R2-re.xlsx", key_file=cycle["R2.key"], passphrase=PASS).path
    assert merge_exports(db, [export]).merged
    assert listed(db) == []
    assert [i["status"] for i in listed(db, "--all")] == ["re-reviewed"]
    assert status_disputes(db) == {"open": 0, "not_sent": 0, "sent": 0, "re_reviewed": 1, "accepted": 0}
    # 争议复核 in the report: each reviewer's values, the consensus and the outcome.
    code, out = run("report", str(db), "-o", str(tmp_path / "r.xlsx"))
    assert code == 0, out
    rows = list(openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["争议复核"].iter_rows(values_only=True))
    assert rows[1][:2] == ("R2", "网站") and rows[1][7:11] == ("R1=10; R2=3; R3=10", "10.00", "7", "已复核")


# ----------------------------------------------------------------------------------------------- accepted


def test_accepting_a_value_closes_the_dispute_with_its_reason_kept(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = merged(cycle)
    code, out = run("disputes", str(db), "--accept", "S2", "A2", "--reason", "专家组会议确认")
    assert code == 0, out
    assert "S2 A2" in out and "10.00" in out
    assert listed(db) == []
    (closed,) = listed(db, "--all")
    assert (closed["status"], closed["accepted_reason"]) == ("accepted", "专家组会议确认")
    code, out = run("disputes", str(db), "-o", str(tmp_path / "re"))
    assert code == 0 and "nothing to send back" in out
    row = sqlite3.connect(db).execute("SELECT target_id, indicator, reason, exact, shown FROM dispute_decisions")
    assert list(row) == [("S2", "A2", "专家组会议确认", "10", "10.00")]
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM dispute_decisions")


def test_an_accepted_value_that_later_changes_opens_the_dispute_again(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = merged(cycle)
    assert run("disputes", str(db), "--accept", "S2", "A2", "--reason", "ok")[0] == 0
    # R1 lowers S2/A2 to 4 in a later export of their full package: [4, 3, 10] has a new consensus of 4.
    store = Store.open(cycle["R1"], expect=KIND_PACKAGE)
    store.set_score(TargetKind.SITE, "S2", "A2", Decimal(4))
    store.close()
    later = export_package(cycle["R1"], tmp_path / "R1-2.xlsx", key_file=cycle["R1.key"], passphrase=PASS).path
    assert merge_exports(db, [later]).merged
    (item,) = listed(db)
    assert (item["status"], item["consensus"]) == ("open", 4)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["S2", "A2"], "--reason"),  # a reason is required
        (["S1", "A1"], "not disputed"),
        (["S9", "A2"], "not disputed"),
    ],
)
def test_accept_refuses_what_it_cannot_do_and_changes_nothing(
    cycle: dict[str, Path], args: list[str], says: str
) -> None:
    db = merged(cycle)
    code, out = run("disputes", str(db), "--accept", *args)
    assert code == 1 and says in out
    assert sqlite3.connect(db).execute("SELECT count(*) FROM dispute_decisions").fetchone() == (0,)
    assert [i["status"] for i in listed(db)] == ["open"]


def test_an_accepted_dispute_cannot_be_accepted_twice(cycle: dict[str, Path]) -> None:
    db = merged(cycle)
    assert run("disputes", str(db), "--accept", "S2", "A2", "--reason", "ok")[0] == 0
    code, out = run("disputes", str(db), "--accept", "S2", "A2", "--reason", "again")
    assert code == 1 and "already accepted" in out


# ---------------------------------------------------------------------------------------------- guardrails


def test_nothing_merged_report_and_disputes_refuse_and_say_what_is_missing(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    db = cycle["db"]
    for args in (["report", str(db), "-o", str(tmp_path / "r.xlsx")], ["disputes", str(db), "-o", str(tmp_path / "d")],
                 ["disputes", str(db), "--list"]):
        code, out = run(*args)
        assert code == 1, out
        assert "0 export(s) merged; 2 of 2 target(s) and 3 reviewer(s) still short of reviews" in out
        assert "--allow-incomplete" in out
    assert not (tmp_path / "r.xlsx").exists() and not (tmp_path / "d").exists()


def test_a_round_short_of_reviews_is_refused_until_allowed_and_then_marked(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    db = cycle["db"]
    assert merge_exports(db, [cycle["R1.xlsx"], cycle["R2.xlsx"]]).merged
    code, out = run("report", str(db), "-o", str(tmp_path / "r.xlsx"))
    assert code == 1 and "2 export(s) merged; 2 of 2 target(s) and 1 reviewer(s) still short" in out
    code, out = run("report", str(db), "-o", str(tmp_path / "r.xlsx"), "--allow-incomplete")
    assert code == 0 and "incomplete" in out
    book = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    first = [row for row in book["总分排名"].iter_rows(values_only=True)]
    assert str(first[0][0]).startswith("未完成") and "2 of 2 target(s)" in str(first[0][0])
    assert first[1][0] == "排名"
    about = [row for row in book["说明"].iter_rows(values_only=True)]
    assert str(about[0][0]).startswith("未完成")
    # What is missing, grouped per reviewer and target, for chasing it up.
    chase = [row for row in book["缺少评分"].iter_rows(min_row=2, values_only=True)]
    assert chase == [("R3", "丙", "网站", "S1", "广东省深圳市", 3, "A1 A2 B1"),
                     ("R3", "丙", "网站", "S2", "北京市", 3, "A1 A2 B1")]


def test_an_unreviewed_target_shows_a_dash_and_no_rank_not_zero(cycle: dict[str, Path], tmp_path: Path) -> None:
    db = cycle["db"]
    # Only S1 is reviewed: R1..R3 export their packages with S2 blank.
    for reviewer in REVIEWERS:
        store = Store.open(cycle[reviewer], expect=KIND_PACKAGE)
        for leaf in ("A1", "A2", "B1"):
            store.set_score(TargetKind.SITE, "S2", leaf, None)
        store.close()
        export = export_package(cycle[reviewer], tmp_path / f"{reviewer}-2.xlsx", key_file=cycle[f"{reviewer}.key"],
                                passphrase=PASS, allow_incomplete=True).path
        assert merge_exports(db, [export]).merged
    code, out = run("report", str(db), "-o", str(tmp_path / "r.xlsx"), "--allow-incomplete")
    assert code == 0, out
    rows = {row[2]: row for row in openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["总分排名"]
            .iter_rows(min_row=3, values_only=True)}
    assert (rows["S2"][0], rows["S2"][5], rows["S2"][6]) == ("—", "—", "未评审")
    assert rows["S1"][0] == 1 and rows["S1"][5] == 19


def test_a_round_made_before_disputes_were_stored_migrates_and_lists_them(cycle: dict[str, Path]) -> None:
    db = merged(cycle)
    with sqlite3.connect(db) as conn:  # the round as the previous version left it
        conn.execute("DROP TABLE disputes")
        conn.execute("DROP TRIGGER dispute_decisions_no_delete")
        conn.execute("DROP TRIGGER dispute_decisions_no_update")
        conn.execute("DROP TABLE dispute_decisions")
        conn.execute("ALTER TABLE indicators DROP COLUMN dispute_spread")
        conn.execute("ALTER TABLE indicators DROP COLUMN dispute_gap")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_dispute_life_and_thresholds'")
    conn.close()
    # status only reads: it says the stored consolidation is out of date rather than redo it
    code, out = run("status", str(db))
    assert code == 0 and "the stored consolidation is out of date" in out
    (item,) = listed(db)
    assert (item["target_id"], item["indicator"], item["recipients"]) == ("S2", "A2", ["R2"])
    assert status_disputes(db)["open"] == 1
    assert "out of date" not in run("status", str(db))[1]


def test_an_indicator_threshold_in_the_indicators_file_is_checked_located_and_stored(tmp_path: Path) -> None:
    from support import write_csv

    from workbench.errors import InputRefused
    from workbench.setup.round import SetupFiles, init_round

    def files(threshold: str) -> SetupFiles:
        folder = tmp_path / threshold.replace("%", "pct")
        folder.mkdir()
        return SetupFiles(
            indicators=write_csv(folder / "indicators.csv",
                                 f"代码,名称,类型,分值,步长,分歧阈值\nA1,甲,评分,10,1,{threshold}\nA2,乙,评分,10,1,\n"),
            sites=write_csv(folder / "sites.csv", "编号,名称\nS1,某市\n"),
            cases=write_csv(folder / "cases.csv", "编号,标题\n"),
            reviewers=write_csv(folder / "reviewers.csv", "编号,姓名\nR1,甲\nR2,乙\nR3,丙\n"),
            assignments=write_csv(folder / "assignments.csv", "评审专家,对象类型,对象编号\nR1,网站,S1\nR2,网站,S1\n"
                                  "R3,网站,S1\n"),
            rules=None,
        )

    with pytest.raises(InputRefused, match=r"indicators.csv:2:6"):
        init_round(tmp_path / "bad.db", "2022", files("很大"))
    db = tmp_path / "round.db"
    init_round(db, "2022", files("10%"))
    store = Store.open(db)
    assert store.indicator_thresholds() == {"A1": ("10%", "")}
    store.close()


def test_the_report_ranks_within_each_ranking_group_and_gives_each_group_its_table(
    cycle: dict[str, Path], tmp_path: Path
) -> None:
    db = merged(cycle)
    with sqlite3.connect(db) as conn:  # S1 a key city, S2 a provincial-level unit, ranked apart
        conn.execute("UPDATE sites SET level = CASE id WHEN 'S1' THEN '重点城市' ELSE '省级' END")
        conn.execute("INSERT INTO rules (key, value) VALUES ('排名分组', '层级')")
    conn.close()
    code, out = run("report", str(db), "-o", str(tmp_path / "r.xlsx"))
    assert code == 0, out
    book = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    ranked = list(book["总分排名"].iter_rows(values_only=True))
    assert ranked[0][:3] == ("排名", "类型", "排名分组")
    assert {row[3]: (row[0], row[2]) for row in ranked[1:]} == {"S1": (1, "重点城市"), "S2": (1, "省级")}
    assert book.sheetnames[1] == "分组排名"
    tables = [row for row in book["分组排名"].iter_rows(values_only=True) if any(v is not None for v in row)]
    assert [row[0] for row in tables if str(row[0]).startswith("网站")] == ["网站 · 省级", "网站 · 重点城市"]
    assert (1, "S2", "北京市", "北京", 16, "良好") in [tuple(row[:6]) for row in tables]
