"""公示 → 申诉 → 复核: a provisional publication, appeals in (good and bad rows), appeal packages to eligible reviewers
only, signed exports, merge, outcomes, the final publication and its audit — and what a cheat would try."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_merge import PASS, REVIEWERS, VALUES, scored_exports
from conftest_publish import coordinator, resign, settle
from conftest_signing import resign as forge
from support import first_target_texts, write_csv

from workbench.cli.main import cli
from workbench.consolidation.appeal_intake import import_appeals
from workbench.consolidation.appeal_packages import issue_appeal_packages
from workbench.consolidation.appeals import AppealRefused, appeal_states
from workbench.consolidation.merge import merge_exports
from workbench.errors import AuditFailure, InputRefused, WorkbenchError
from workbench.model import TargetKind
from workbench.publish.audit import audit_bundle
from workbench.publish.bundle import PublishRefused, publish
from workbench.setup.package import make_package
from workbench.setup.round import SetupFiles, init_round
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key
from workbench.signed.keys import generate_secret_key, load_secret_key, write_secret_key
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE, KIND_ROUND

__all__ = ["coordinator"]

OTHERS = ("R4", "R5", "R6", "R7", "R8", "R9")
"""Reviewers assigned nothing: R4 is of 广东 (S1's region), R5 of the unit 北京市 (S2 itself), R6 declared a
conflict with S1; R7, R8 and R9 are free of both sites."""
UNTIL = date.today() + timedelta(days=30)
HEADER = "申诉编号,对象类型,对象编号,指标代码,申诉单位,理由,佐证链接"


@pytest.fixture
def appeal_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The merge cycle's round, with six more reviewers (keyed, assigned nothing), a declared conflict and a case
    whose id is a site's too; merged and settled."""
    from conftest_merge import INDICATORS

    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    files = SetupFiles(
        indicators=write_csv(tmp_path / "indicators.csv", INDICATORS),
        sites=write_csv(tmp_path / "sites.csv", "编号,名称,地区\nS1,广东省深圳市,广东\nS2,北京市,北京\n"),
        cases=write_csv(tmp_path / "cases.csv", "编号,标题,申报单位,地区\nS1,一网通办,上海市,上海\n"),
        reviewers=write_csv(tmp_path / "reviewers.csv", "编号,姓名,单位,地区\nR1,甲,,上海\nR2,乙,,浙江\nR3,丙,,江苏\n"
                            "R4,丁,,广东\nR5,戊,北京市,天津\nR6,己,,湖南\nR7,庚,,湖北\nR8,辛,,四川\nR9,壬,,云南\n"),
        assignments=write_csv(tmp_path / "assignments.csv", "评审专家,对象类型,对象编号\n" + "".join(
            f"{r},网站,{s}\n" for r in REVIEWERS for s in ("S1", "S2"))),
        rules=write_csv(tmp_path / "rules.csv", "规则,值\n等级,优秀:18;良好:12;合格:0\n加分上限,5\n分歧阈值,0.4\n"),
        conflicts=write_csv(tmp_path / "conflicts.csv",
                            "评审专家,对象类型,对象编号,单位,原因\nR6,网站,S1,,近三年曾任顾问\n"),
    )
    db = tmp_path / "round.db"
    init_round(db, "2022", files)
    out = {"db": db, **scored_exports(db, tmp_path, REVIEWERS, VALUES)}
    for reviewer in OTHERS:
        secret = generate_secret_key()
        write_secret_key(tmp_path / f"{reviewer}.key", secret, PASS, scrypt_n=2**10)
        add_key(db, reviewer, secret.public.line)
        out[f"{reviewer}.key"] = tmp_path / f"{reviewer}.key"
    report = merge_exports(db, [out[f"{r}.xlsx"] for r in REVIEWERS], workers=0)
    assert len(report.merged) == 3
    settle(db)
    return out


def provisional(world: dict[str, Path], key: Path, tmp_path: Path) -> Path:
    out = tmp_path / "公示"
    publish(world["db"], key, out, passphrase=PASS, provisional_until=UNTIL)
    return out


def workbook(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """An appeals file as a coordinator's Excel saves it."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def good_appeals(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "appeals.csv", HEADER + "\n"
                     "A1,网站,S1,A2,广东省深圳市人民政府办公厅,=1+1 互动交流栏目答复及时，评分偏低,https://www.sz.gov.cn/hd\n"
                     "A2,网站,S2,,北京市人民政府办公厅,整体评分有误,\n")


def test_no_appeal_is_taken_before_the_provisional_publication(appeal_round: dict[str, Path],
                                                               tmp_path: Path) -> None:
    with pytest.raises(AppealRefused, match="--provisional --until"):
        import_appeals(appeal_round["db"], good_appeals(tmp_path))


def test_the_provisional_manifest_says_so_and_records_the_window(
        appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
    bundle = provisional(appeal_round, coordinator[0], tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["publication"] == "provisional"
    assert manifest["provisional"]["until"] == UNTIL.isoformat()
    assert audit_bundle(bundle, coordinator[1], workers=0).targets == 2


class TestAppealsIn:
    def test_bad_rows_are_each_located_and_nothing_is_imported(
            self, appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
        provisional(appeal_round, coordinator[0], tmp_path)
        bad = write_csv(tmp_path / "bad.csv", HEADER + ",提交日期\n"
                        "B1,网站,S9,,某单位,理由,,\n"          # 2: not in the round
                        "B2,,S1,,某单位,理由,,\n"              # 3: no kind, and S1 is a site and a case
                        "B3,网站,S1,A2,某单位,理由,,01/05/2023\n"  # 4: a date not year first
                        "B4,网站,S1,A2,某单位,理由,,\n"
                        "B4,网站,S1,A1,某单位,另一个理由,,\n"   # 6: the same id, other content
                        "B5,案例,S1,A2,某单位,理由,,\n"         # 7: A2 is a site's indicator
                        "B6,网站,S2,A9,,理由,,\n"              # 8: unknown indicator, no appellant
                        "B7,网站,S2,,某单位,理由,,2020-01-01\n"  # 9: before the 公示 began
                        "B8,案例,S1,,某单位,理由,,\n")           # 10: no indicator applies to a case here
        with pytest.raises(InputRefused) as refused:
            import_appeals(appeal_round["db"], bad)
        where = {p.where.partition(": ")[0]: p.reason for p in refused.value.problems}
        assert "没有编号为「S9」" in where["bad.csv:2:3"]
        assert "网站、案例" in where["bad.csv:3:2"]
        assert "2023-01-05" in where["bad.csv:4:8"]
        assert "bad.csv:5" in where["bad.csv:6:1"]
        assert "不是案例的末级评分指标" in where["bad.csv:7:4"]
        assert "A9" in where["bad.csv:8:4"] and "申诉单位" in where["bad.csv:8:5"]
        assert "早于公示开始" in where["bad.csv:9:8"]
        assert "没有适用于案例的评分指标" in where["bad.csv:10:3"]
        store = Store.open(appeal_round["db"], expect=KIND_ROUND)
        try:
            assert appeal_states(store) == []
        finally:
            store.close()

    def test_the_same_row_again_is_a_no_op_and_a_changed_one_is_refused(
            self, appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
        provisional(appeal_round, coordinator[0], tmp_path)
        first = import_appeals(appeal_round["db"], good_appeals(tmp_path))
        with pytest.raises(PublishRefused, match="cannot be published provisionally again"):
            publish(appeal_round["db"], coordinator[0], tmp_path / "again", passphrase=PASS, provisional_until=UNTIL)
        again = import_appeals(appeal_round["db"], good_appeals(tmp_path))
        assert (first.added, first.unchanged, again.added, again.unchanged) == (2, 0, 0, 2)
        changed = write_csv(tmp_path / "changed.csv", HEADER + "\nA2,网站,S2,A1,北京市人民政府办公厅,整体评分有误,\n")
        with pytest.raises(InputRefused, match=r"changed.csv:2:1.*A2.*indicator"):
            import_appeals(appeal_round["db"], changed)

    def test_an_appeal_after_the_window_is_refused_with_the_window(
            self, appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
        provisional(appeal_round, coordinator[0], tmp_path)
        with pytest.raises(InputRefused, match=f"已过公示期.*{UNTIL.isoformat()}"):
            import_appeals(appeal_round["db"], good_appeals(tmp_path), today=UNTIL + timedelta(days=1))
        dated = write_csv(tmp_path / "dated.csv",
                          HEADER + f",提交日期\nA3,网站,S1,,某单位,理由,,{UNTIL:%Y年%m月%d日}\n")
        assert import_appeals(dated.parent / "round.db", dated, today=UNTIL + timedelta(days=3)).added == 1

    def test_an_xlsx_date_cell_is_the_day_submitted(
            self, appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
        provisional(appeal_round, coordinator[0], tmp_path)
        dated = workbook(tmp_path / "dated.xlsx", [
            ["appeal_id", "target_kind", "target_id", "indicator", "appellant", "reason", "submitted_at"],
            ["A1", "site", "S1", "A2", "某单位", "理由", UNTIL],
            ["A2", "site", "S2", "", "某单位", "理由", UNTIL + timedelta(days=1)]])
        with pytest.raises(InputRefused) as late:
            import_appeals(appeal_round["db"], dated, today=UNTIL + timedelta(days=2))
        assert [p.where.partition(": ")[0] for p in late.value.problems] == ["dated.xlsx:3:7"]
        assert "已过公示期" in late.value.problems[0].reason

    def test_an_xlsx_formula_is_refused_where_it_is(
            self, appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
        provisional(appeal_round, coordinator[0], tmp_path)
        formula = workbook(tmp_path / "formula.xlsx", [
            HEADER.split(","), ["A1", "网站", "S1", "A2", "某单位", '=HYPERLINK("http://evil.example","点击")', ""]])
        with pytest.raises(InputRefused, match=r"formula.xlsx:2:6"):
            import_appeals(appeal_round["db"], formula)


def fill(package: Path, value: str, note: str) -> None:
    store = Store.open(package, expect=KIND_PACKAGE)
    try:
        for score in store.scores():
            given = value if score.indicator == "A2" and score.target_id == "S1" else {
                "A1": "5", "A2": "10", "B1": "1"}[score.indicator]
            store.set_score(TargetKind(score.target_kind), score.target_id, score.indicator, Decimal(given),
                            note=note)
    finally:
        store.close()


def test_the_whole_cycle_from_the_provisional_publication_to_an_audited_final_one(
        appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
    db = appeal_round["db"]
    first = provisional(appeal_round, coordinator[0], tmp_path)
    import_appeals(db, good_appeals(tmp_path))

    # Too many reviewers asked for: the numbers, and nothing issued.
    with pytest.raises(AppealRefused, match=r"申诉 A1.*共 9 位评审专家，3 位评过或承担该项，2 位有利益冲突") as short:
        issue_appeal_packages(db, tmp_path / "none", per_item=5)
    assert "same region 1, same unit 0, declared 1" in str(short.value)
    assert not (tmp_path / "none").exists()

    issued = issue_appeal_packages(db, tmp_path / "appeal-packages")
    chosen = {info.reviewer_id: ids for info, ids, _ in issued}
    assert chosen == {"R5": ("A1",), "R7": ("A1",), "R4": ("A2",), "R6": ("A2",)}

    runner = CliRunner()
    blocked = runner.invoke(cli, ["publish", str(db), "--key", str(coordinator[0]), "-o", str(tmp_path / "early")])
    assert blocked.exit_code == 1 and "未结申诉 2 项" in blocked.output

    exports = {}
    for info, _, _ in issued:
        fill(info.path, "10", f"{info.reviewer_id} 复核：栏目答复及时")
        exports[info.reviewer_id] = export_package(info.path, tmp_path / f"{info.reviewer_id}-appeal.xlsx",
                                                   key_file=appeal_round[f"{info.reviewer_id}.key"],
                                                   passphrase=PASS).path
    # R7 signs R5's appeal export with their own key (naming it): refused, and nothing of it counts.
    r7 = load_secret_key(appeal_round["R7.key"], PASS)
    forged = forge(Path(shutil.copy(exports["R5"], tmp_path / "forged.xlsx")), r7,
                   lambda doc: doc.update(key_id=r7.key_id_text))
    forged_report = merge_exports(db, [forged], workers=0)
    assert [o.code for o in forged_report.rejected] in (["IDENTITY_MISMATCH"], ["BAD_SIGNATURE"])

    report = merge_exports(db, list(exports.values()), workers=0)
    assert len(report.merged) == 4
    again = merge_exports(db, [exports["R5"]], workers=0)
    assert [o.status for o in again.outcomes] == ["already-merged"]

    listed = json.loads(runner.invoke(cli, ["appeals", str(db), "--list", "--format", "json"]).output)
    by_id = {a["appeal_id"]: a for a in listed}
    # S1 A2: 7, 7, 10 → 7; with R5 and R7's 10 and 10: (7 + 10 + 10) / 3 = 9 → 改判
    assert (by_id["A1"]["old_value"], by_id["A1"]["new_value"], by_id["A1"]["outcome"]) == ("7.00", "9.00", "upheld")
    assert by_id["A1"]["reviewers"] == ["R5", "R7"] and "R5 10：R5 复核：栏目答复及时" in by_id["A1"]["notes"]
    # S2 as a whole: the appeal reviewers gave the consensus on every leaf → the total stands → 维持
    assert by_id["A2"]["outcome"] == "rejected" and by_id["A2"]["old_value"] == by_id["A2"]["new_value"]
    status = runner.invoke(cli, ["status", str(db)])
    assert "未结申诉 0" in status.output

    # An appeal reviewer's export signed with another reviewer's key is refused before a file is written.
    with pytest.raises(WorkbenchError, match="nothing was written"):
        export_package(issued[0][0].path, tmp_path / "wrong-key.xlsx", key_file=appeal_round["R7.key"],
                       passphrase=PASS)

    final = tmp_path / "final"
    publish(db, coordinator[0], final, passphrase=PASS)
    manifest = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
    first_digest = hashlib.sha256((first / "manifest.json").read_bytes()).hexdigest()
    assert manifest["publication"] == "final" and manifest["provisional"]["sha256"] == first_digest
    assert manifest["appeals"] == {"total": 2, "open": 0, "upheld": 1, "rejected": 1}
    result = audit_bundle(final, coordinator[1], workers=0)
    assert any("2 decided appeal(s) of 2" in line for line in result.lines)
    late = write_csv(tmp_path / "late.csv", HEADER + "\nA9,网站,S1,,某单位,理由,\n")
    with pytest.raises(AppealRefused, match="正式发布"):
        import_appeals(db, late)

    from openpyxl import load_workbook

    sheet = load_workbook(final / "report" / "consolidated.xlsx")["申诉"]
    a1 = next(row for row in sheet.iter_rows() if row[0].value == "A1")
    assert a1[14].value == "改判 / upheld"
    assert str(a1[7].value).startswith("=1+1") and a1[7].data_type == "s"  # the unit's text, never a formula


def test_an_edited_appeals_log_fails_the_audit(appeal_round: dict[str, Path], coordinator: tuple[Path, str],
                                               tmp_path: Path) -> None:
    db = appeal_round["db"]
    provisional(appeal_round, coordinator[0], tmp_path)
    import_appeals(db, good_appeals(tmp_path))
    for info, _, _ in issue_appeal_packages(db, tmp_path / "appeal-packages"):
        fill(info.path, "10", "")
        merge_exports(db, [export_package(info.path, tmp_path / f"{info.reviewer_id}.xlsx",
                                          key_file=appeal_round[f"{info.reviewer_id}.key"], passphrase=PASS).path],
                      workers=0)
    final = tmp_path / "final"
    publish(db, coordinator[0], final, passphrase=PASS)
    log = final / "appeals" / "log.csv"
    log.write_text(log.read_text(encoding="utf-8-sig").replace("改判", "维持"), encoding="utf-8-sig")
    with pytest.raises(AuditFailure) as changed:
        audit_bundle(final, coordinator[1], workers=0)
    assert changed.value.code == "HASH_MISMATCH"
    resign(final, coordinator[0])  # a coordinator who signs the edit: the re-reviews say otherwise
    with pytest.raises(AuditFailure) as signed:
        audit_bundle(final, coordinator[1], workers=0)
    assert signed.value.code == "NOT_REPRODUCED" and "appeals/log.csv:2 (outcome)" in signed.value.where


def test_a_round_made_before_appeals_opens_and_migrates(appeal_round: dict[str, Path], tmp_path: Path) -> None:
    import sqlite3

    db = appeal_round["db"]
    conn = sqlite3.connect(db)
    for table in ("appeal_outcomes", "appeal_packages", "appeals", "publications"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0013_appeals'")
    conn.commit()
    conn.close()
    runner = CliRunner()
    assert runner.invoke(cli, ["status", str(db)]).exit_code == 0
    refused = runner.invoke(cli, ["appeals", str(db), str(good_appeals(tmp_path))])
    assert refused.exit_code == 1 and "--provisional" in refused.output
    assert make_package(db, "R7", tmp_path / "late.wbk", pairs=[("site", "S1", "A1")], kind="appeal").pairs == 1


async def test_the_app_shows_an_appeal_package_with_the_appeal_and_the_published_value(
        appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
    provisional(appeal_round, coordinator[0], tmp_path)
    import_appeals(appeal_round["db"], good_appeals(tmp_path))
    issued = issue_appeal_packages(appeal_round["db"], tmp_path / "appeal-packages", per_item=1)
    header, detail = await first_target_texts(next(info.path for info, ids, _ in issued if ids == ("A1",)))
    assert "申诉复核" in header and "独立评审" in header
    assert "公示值 7.00" in detail
    assert "申诉 A1（广东省深圳市人民政府办公厅）：=1+1 互动交流栏目答复及时" in detail.replace("\n", "")
    assert "R1" not in detail  # the original reviewers stay unnamed


def test_the_command_line_imports_issues_and_lists(appeal_round: dict[str, Path], coordinator: tuple[Path, str],
                                                   tmp_path: Path) -> None:
    db, runner = str(appeal_round["db"]), CliRunner()
    early = runner.invoke(cli, ["appeals", db, str(good_appeals(tmp_path))])
    assert early.exit_code == 1 and "尚未公示" in early.output
    odd = runner.invoke(cli, ["publish", db, "--key", str(coordinator[0]), "--provisional", "--until", "10/01/2023",
                              "-o", str(tmp_path / "b")])
    assert odd.exit_code == 2 and "2023-01-10" in odd.output
    made = runner.invoke(cli, ["publish", db, "--key", str(coordinator[0]), "--provisional", "--until",
                               UNTIL.isoformat(), "-o", str(tmp_path / "公示")])
    assert made.exit_code == 0, made.output
    assert f"公示期至 {UNTIL.isoformat()}" in made.output
    taken = runner.invoke(cli, ["appeals", db, str(good_appeals(tmp_path))])
    assert taken.exit_code == 0 and "已导入申诉 2 项" in taken.output
    status = runner.invoke(cli, ["status", db, "--format", "json"])
    assert json.loads(status.output)["appeals"]["open"] == 2
    out = tmp_path / "packages"
    issued = runner.invoke(cli, ["appeals", db, "--issue", "-o", str(out), "--per-item", "1"])
    assert issued.exit_code == 0, issued.output
    assert sorted(p.name for p in out.glob("*.wbk")) == ["R4-申诉复核.wbk", "R5-申诉复核.wbk"]
    listed = runner.invoke(cli, ["appeals", db, "--list"])
    assert "复核中" in listed.output and "A1" in listed.output
    assert runner.invoke(cli, ["appeals", db, "--issue"]).exit_code == 2
    none = runner.invoke(cli, ["appeals", db, "--issue", "-o", str(tmp_path / "more"), "--per-item", "0"])
    assert none.exit_code == 1 and "--per-item" in none.output


def test_a_log_rows_notes_stay_within_a_spreadsheet_cell() -> None:
    from workbench.consolidation.appeals import NOTES_LIMIT, _joined

    said = [f"R{n} A{n} 5：" + "栏目长期未更新" * 60 for n in range(200)]
    text = _joined(said)
    assert len(text) < 32_767 and len(text) <= NOTES_LIMIT + 40
    assert text.startswith(said[0]) and text.endswith("more")
    assert _joined(said[:3]) == "；".join(said[:3])


def test_an_appeal_package_slipped_to_a_conflicted_reviewer_fails_the_audit(
        appeal_round: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path) -> None:
    db = appeal_round["db"]
    provisional(appeal_round, coordinator[0], tmp_path)
    import_appeals(db, write_csv(tmp_path / "one.csv", HEADER + "\nA1,网站,S1,A2,某单位,理由,\n"))
    # A coordinator who bypasses `appeals --issue`: R4 is of 广东, S1's region.
    info = make_package(db, "R4", tmp_path / "R4-申诉复核.wbk", pairs=[("site", "S1", "A2")], kind="appeal")
    store = Store.open(db, expect=KIND_ROUND)
    try:
        with store.conn:
            store.conn.execute("INSERT INTO appeal_packages (nonce, appeal_id) VALUES (?, 'A1')", (info.nonce,))
    finally:
        store.close()
    fill(info.path, "10", "")
    merge_exports(db, [export_package(info.path, tmp_path / "R4.xlsx", key_file=appeal_round["R4.key"],
                                      passphrase=PASS).path], workers=0)
    publish(db, coordinator[0], tmp_path / "final", passphrase=PASS)
    with pytest.raises(AuditFailure) as refused:
        audit_bundle(tmp_path / "final", coordinator[1], workers=0)
    assert refused.value.where == "appeals/packages.csv" and "R4" in refused.value.reason
