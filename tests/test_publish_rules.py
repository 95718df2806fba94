"""When publish refuses, what merge keeps as evidence, a revocation after the merge, bundles as hostile input."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_merge import PASS, REVIEWERS, VALUES
from conftest_publish import *  # noqa: F403  (the coordinator, cycle and merged fixtures)
from conftest_publish import published, resign, rewrite_members, settle

from workbench.cli.main import cli
from workbench.consolidation.merge import merge_exports
from workbench.errors import AuditCode, AuditFailure, FailureCode, SignatureError
from workbench.model import TargetKind
from workbench.publish.audit import audit_bundle
from workbench.publish.bundle import PublishRefused, publish
from workbench.setup.package import make_package
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key, revoke_key
from workbench.signed.keys import generate_secret_key, write_secret_key
from workbench.signed.verify import verify_export
from workbench.store.db import Store
from workbench.store.schema import KIND_PACKAGE


class TestWhenPublishRefuses:
    def test_while_a_review_is_missing_and_with_allow_incomplete_the_manifest_says_so(
        self, cycle: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        merge_exports(cycle["db"], [cycle["R1.xlsx"], cycle["R2.xlsx"]], workers=0)
        with pytest.raises(PublishRefused, match="still short of reviews"):
            publish(cycle["db"], coordinator[0], tmp_path / "bundle", passphrase=PASS)
        assert not (tmp_path / "bundle").exists()
        bundle = published(cycle, coordinator, tmp_path, allow_incomplete=True)
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["complete"] is False
        assert manifest["incomplete"]["targets_short"] == 2
        assert manifest["incomplete"]["reviewers_short"] == 1
        assert manifest["incomplete"]["exports_merged"] == 2
        assert audit_bundle(bundle, coordinator[1], workers=0).exports == 2

    def test_while_a_dispute_is_open(self, cycle: dict[str, Path], coordinator: tuple[Path, str],
                                     tmp_path: Path) -> None:
        merge_exports(cycle["db"], [cycle[f"{r}.xlsx"] for r in REVIEWERS], workers=0)
        with pytest.raises(PublishRefused, match="1 open dispute"):
            publish(cycle["db"], coordinator[0], tmp_path / "bundle", passphrase=PASS)
        settle(cycle["db"])
        assert published(cycle, coordinator, tmp_path).is_dir()

    def test_with_a_reviewers_key_and_over_an_existing_path(self, merged: dict[str, Path],
                                                           coordinator: tuple[Path, str], tmp_path: Path) -> None:
        with pytest.raises(PublishRefused, match="reviewer R1's signing key"):
            publish(merged["db"], merged["R1.key"], tmp_path / "bundle", passphrase=PASS)
        (tmp_path / "bundle.results.html").write_text("mine")
        with pytest.raises(PublishRefused, match="already exists"):
            publish(merged["db"], coordinator[0], tmp_path / "bundle", passphrase=PASS)
        assert (tmp_path / "bundle.results.html").read_text() == "mine"
        assert not (tmp_path / "bundle").exists()


def test_a_crash_midway_leaves_no_bundle(merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import workbench.consolidation.report as report

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_report", crash)
    with pytest.raises(KeyboardInterrupt):
        publish(merged["db"], coordinator[0], tmp_path / "bundle.zip", passphrase=PASS, as_zip=True)
    assert sorted(p.name for p in tmp_path.iterdir() if "bundle" in p.name) == []


def test_no_secret_key_enters_the_bundle(merged: dict[str, Path], coordinator: tuple[Path, str],
                                         tmp_path: Path) -> None:
    bundle = published(merged, coordinator, tmp_path)
    secrets = [coordinator[0].read_bytes(), *(merged[f"{r}.key"].read_bytes() for r in REVIEWERS)]
    for path in bundle.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"workbench-secret-key" not in data, path
            assert not any(secret in data for secret in secrets), path


class TestEvidence:
    def test_merge_keeps_each_export_byte_for_byte_and_records_refused_files(self, cycle: dict[str, Path],
                                                                              tmp_path: Path) -> None:
        junk = tmp_path / "junk.xlsx"
        junk.write_bytes(b"not a workbook")
        merge_exports(cycle["db"], [cycle["R1.xlsx"], junk, cycle["R1.xlsx"]], workers=0)
        conn = sqlite3.connect(cycle["db"])
        data = cycle["R1.xlsx"].read_bytes()
        kept = conn.execute("SELECT content FROM evidence WHERE sha256 = ?",
                            (hashlib.sha256(data).hexdigest(),)).fetchone()
        assert kept is not None and bytes(kept[0]) == data
        ledger = conn.execute("SELECT file_name, outcome, code, message FROM merge_ledger ORDER BY id").fetchall()
        assert [row[:3] for row in ledger] == [("R1.xlsx", "merged", ""), ("junk.xlsx", "rejected", "NOT_XLSX"),
                                                ("R1.xlsx", "already-merged", "ALREADY_MERGED")]
        assert "renamed to .xlsx" in ledger[1][3]
        conn.close()

    def test_the_bundle_ledger_holds_the_refused_file_and_audit_counts_it(
        self, cycle: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        junk = tmp_path / "junk.xlsx"
        junk.write_bytes(b"not a workbook")
        merge_exports(cycle["db"], [junk, *(cycle[f"{r}.xlsx"] for r in REVIEWERS)], workers=0)
        settle(cycle["db"])
        bundle = published(cycle, coordinator, tmp_path)
        rows = (bundle / "ledger.csv").read_text(encoding="utf-8-sig").splitlines()
        assert rows[1].split(",")[2:6] == ["junk.xlsx", hashlib.sha256(b"not a workbook").hexdigest(), "rejected",
                                           "NOT_XLSX"]
        assert audit_bundle(bundle, coordinator[1], workers=0).refused == 1

    def test_an_export_merged_by_an_earlier_version_gets_its_copy_when_merged_again(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        conn = sqlite3.connect(merged["db"])
        with conn:  # what migration 0008 leaves for an export merged before it: no copy
            conn.execute("UPDATE submissions SET file_sha256 = NULL WHERE reviewer_id = 'R2'")
        conn.close()
        with pytest.raises(PublishRefused, match=r"1 merged export\(s\) have no kept copy .*R2.xlsx"):
            publish(merged["db"], coordinator[0], tmp_path / "bundle", passphrase=PASS)
        report = merge_exports(merged["db"], [merged["R2.xlsx"]], workers=0)
        assert [o.status for o in report.outcomes] == ["already-merged"]
        bundle = published(merged, coordinator, tmp_path)
        assert audit_bundle(bundle, coordinator[1], workers=0).exports == 3


    def test_a_round_made_before_the_evidence_migrates_with_its_ledger_in_merge_order(
        self, cycle: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        merge_exports(cycle["db"], [cycle["R2.xlsx"], cycle["R1.xlsx"]], workers=0)
        conn = sqlite3.connect(cycle["db"])  # as the round stood before migration 0008
        with conn:
            conn.execute("DROP TABLE merge_ledger")
            conn.execute("DROP TABLE evidence")
            conn.execute("ALTER TABLE submissions DROP COLUMN file_sha256")
            conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0008_merge_evidence'")
        conn.close()
        merge_exports(cycle["db"], [cycle["R3.xlsx"]], workers=0)
        conn = sqlite3.connect(cycle["db"])
        ledger = conn.execute("SELECT file_name, outcome, file_sha256 IS NULL FROM merge_ledger ORDER BY id").fetchall()
        conn.close()
        assert ledger == [("R2.xlsx", "merged", 1), ("R1.xlsx", "merged", 1), ("R3.xlsx", "merged", 0)]
        settle(cycle["db"])
        with pytest.raises(PublishRefused, match=r"2 merged export\(s\) have no kept copy"):
            publish(cycle["db"], coordinator[0], tmp_path / "bundle", passphrase=PASS)


def test_a_revocation_after_the_merge_is_still_audited_as_it_was(
    merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
) -> None:
    db = merged["db"]
    time.sleep(1.1)  # the revocation comes strictly after R1's export was verified
    store = Store.open(db)
    old_key = store.conn.execute("SELECT key_id FROM keys WHERE reviewer_id = 'R1'").fetchone()[0]
    store.close()
    revoke_key(db, old_key)
    with pytest.raises(PublishRefused, match=f"reviewer R1's key {old_key}"):
        publish(db, coordinator[0], tmp_path / "bundle", passphrase=PASS)
    # R1's new key, a new package for it (superseding the first), its export merged: it replaces the rows
    secret = generate_secret_key()
    write_secret_key(tmp_path / "R1-new.key", secret, PASS, scrypt_n=2**10)
    add_key(db, "R1", secret.public.line)
    package = make_package(db, "R1", tmp_path / "R1-new.wbk").path
    store = Store.open(package, expect=KIND_PACKAGE)
    for leaf, by_site in VALUES.items():
        for site, values in by_site.items():
            store.set_score(TargetKind.SITE, site, leaf, Decimal(values[0]))
    store.close()
    again = export_package(package, tmp_path / "R1-new.xlsx", key_file=tmp_path / "R1-new.key", passphrase=PASS)
    assert [o.status for o in merge_exports(db, [again.path], workers=0).outcomes] == ["merged"]
    bundle = published(merged, coordinator, tmp_path)
    with pytest.raises(SignatureError) as refused:  # today's keyring refuses R1's first export …
        verify_export(merged["R1.xlsx"], db)
    assert refused.value.code == FailureCode.REVOKED_KEY
    result = audit_bundle(bundle, coordinator[1], workers=0)  # … which was verified before the revocation
    assert result.exports == 4
    assert any("verified as of" in line and "R1 seq 1" in line for line in result.lines)


class TestHostileBundles:
    def zipped(self, bundle: Path, out: Path, extra: dict[str, bytes]) -> Path:
        with zipfile.ZipFile(out, "w") as archive:
            for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
                archive.write(path, path.relative_to(bundle).as_posix())
            for name, data in extra.items():
                archive.writestr(name, data)
        return out

    def test_a_zip_bundle_audits(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                 tmp_path: Path) -> None:
        out = tmp_path / "bundle.zip"
        publish(merged["db"], coordinator[0], out, passphrase=PASS, as_zip=True)
        assert zipfile.is_zipfile(out)
        assert (tmp_path / "bundle.results.html").is_file() and (tmp_path / "bundle.results.xlsx").is_file()
        assert audit_bundle(out, coordinator[1], workers=0).exports == 3

    @pytest.mark.parametrize("name", ["../escaped.csv", "/tmp/escaped-absolute.csv", "round/../../escaped.csv",
                                      "C:/escaped.csv", "round\\..\\escaped.csv"])
    def test_zip_members_leaving_the_scratch_directory_are_refused(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, name: str
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        hostile = self.zipped(bundle, tmp_path / "hostile.zip", {name: b"x"})
        with pytest.raises(AuditFailure) as caught:
            audit_bundle(hostile, coordinator[1], workers=0)
        assert (caught.value.code, caught.value.where) == (AuditCode.UNSAFE_BUNDLE, name)
        assert not (tmp_path / "escaped.csv").exists() and not Path("/tmp/escaped-absolute.csv").exists()

    def test_a_link_in_a_bundle_directory_is_refused(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                                    tmp_path: Path) -> None:
        bundle = published(merged, coordinator, tmp_path)
        os.symlink("/etc/passwd", bundle / "round" / "notes.csv")
        with pytest.raises(AuditFailure) as caught:
            audit_bundle(bundle, coordinator[1], workers=0)
        assert (caught.value.code, caught.value.where) == (AuditCode.UNSAFE_BUNDLE, "round/notes.csv")

    def test_a_report_with_active_content_fails_the_hostile_file_check(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        report = bundle / "report" / "consolidated.xlsx"
        with zipfile.ZipFile(report, "a") as archive:
            archive.writestr("xl/vbaProject.bin", b"macro")
        resign(bundle, coordinator[0])
        with pytest.raises(AuditFailure) as caught:
            audit_bundle(bundle, coordinator[1], workers=0)
        assert (caught.value.code, caught.value.where) == (FailureCode.ACTIVE_CONTENT, "report/consolidated.xlsx")

    @pytest.fixture
    def small_limits(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Usual workbook limits that even this round's report passes, as a national round's passes the real ones
        (its 逐条评分 alone unpacks to hundreds of MB); exports keep the real ones."""
        from workbench.signed import xlsxcheck

        monkeypatch.setattr(xlsxcheck, "DEFAULT_LIMITS", xlsxcheck.XlsxLimits(
            max_total_bytes=1024, max_members=2, max_ratio=2, ratio_floor_bytes=1024, max_cells=4, max_columns=1))

    def test_a_report_beyond_the_usual_workbook_limits_audits_when_the_round_fills_it(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, small_limits: None
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        assert audit_bundle(bundle, coordinator[1], workers=0).exports == 3

    def test_a_report_unpacking_to_more_than_the_recomputed_one_is_refused(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, small_limits: None
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        report = bundle / "report" / "consolidated.xlsx"
        size = sum(i.file_size for i in zipfile.ZipFile(report).infolist())
        rewrite_members(report, lambda name, data: data + b" " * size if name == "xl/styles.xml" else data)
        resign(bundle, coordinator[0])
        with pytest.raises(AuditFailure) as caught:
            audit_bundle(bundle, coordinator[1], workers=0)
        assert (caught.value.code, caught.value.where) == (FailureCode.ZIP_BOMB_SUSPECTED, "report/consolidated.xlsx")
        assert "recomputed" in caught.value.message

    def test_a_report_sheet_reaching_more_cells_than_the_recomputed_one_is_refused(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, small_limits: None
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        far = b'<row r="99999"><c r="Z99999" t="n"><v>1</v></c></row></sheetData>'
        rewrite_members(bundle / "report" / "consolidated.xlsx", lambda name, data: data.replace(
            b"</sheetData>", far, 1) if name == "xl/worksheets/sheet1.xml" else data)
        resign(bundle, coordinator[0])
        with pytest.raises(AuditFailure) as caught:
            audit_bundle(bundle, coordinator[1], workers=0)
        assert (caught.value.code, caught.value.where) == (FailureCode.BAD_XML, "report/consolidated.xlsx")
        assert "99999" in caught.value.message


def test_the_commands(merged: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", PASS)
    runner = CliRunner()
    made = runner.invoke(cli, ["keygen", "--coordinator", "-o", str(tmp_path / "coord.key")])
    assert made.exit_code == 0, made.output
    assert "coordinator's publishing key" in made.output
    line = made.output.strip().splitlines()[-1]
    out = tmp_path / "bundle"
    done = runner.invoke(cli, ["publish", str(merged["db"]), "--key", str(tmp_path / "coord.key"), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert f"minisign -Vm {out}/manifest.json -P {line}" in done.output
    done = runner.invoke(cli, ["audit", str(out), "--coordinator-key", line, "-o", str(tmp_path / "a.txt")])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("reproduced: 2 targets, ")
    assert "values identical" in (tmp_path / "a.txt").read_text(encoding="utf-8")
    (out / "keyring.csv").write_text("changed", encoding="utf-8")
    done = runner.invoke(cli, ["audit", str(out), "--coordinator-key", line])
    assert done.exit_code == 1
    assert "HASH_MISMATCH" in done.output and "keyring.csv" in done.output


def test_the_results_page_ranks_each_group_and_says_how_to_check(
    merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
) -> None:
    from python_calamine import CalamineWorkbook

    bundle = published(merged, coordinator, tmp_path)
    digest = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    page = (tmp_path / "bundle.results.html").read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    assert digest in page and f"minisign -Vm bundle/manifest.json -P {coordinator[1]}" in page
    assert page.index("广东省深圳市") < page.index("北京市")  # S1 (19.0) ranks before S2 (16.0)
    sheet = CalamineWorkbook.from_path(str(tmp_path / "bundle.results.xlsx")).get_sheet_by_name("评估结果").to_python()
    rows = [r for r in sheet if r and r[0] in (1, 2, 1.0, 2.0)]
    assert [(r[1], r[4], r[5]) for r in rows] == [("S1", 19.0, "优秀"), ("S2", 16.0, "良好")]
    assert any(digest in str(r[0]) for r in sheet if r)
    listed = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert not any("results" in f["path"] for f in listed)  # beside the bundle, not in its manifest


def test_init_keeps_a_parents_points_and_step_as_written(tmp_path: Path) -> None:
    """A parent's 分值 "20" over leaves of 10.5 and 9.5 stays "20" (not the sum's "20.0"), and its 步长 is kept: both
    enter the indicators hash every export is bound to, so a round rebuilt from its published tables verifies them."""
    from support import write_csv

    from workbench.setup.round import SetupFiles, init_round

    files = SetupFiles(
        indicators=write_csv(tmp_path / "i.csv", "代码,上级,名称,类型,分值,步长\nA,,基础,,20,1\n"
                                                 "A1,A,甲,评分,10.5,0.5\nA2,A,乙,评分,9.5,0.5\nB,,其他,,,\nB1,B,丙,评分,5,1\n"),
        sites=write_csv(tmp_path / "s.csv", "编号,名称\nS1,北京市\n"),
        cases=write_csv(tmp_path / "c.csv", "编号,标题\n"),
        reviewers=write_csv(tmp_path / "r.csv", "编号,姓名\nR1,甲\n"),
        assignments=write_csv(tmp_path / "a.csv", "评审专家,对象类型,对象编号\nR1,网站,S1\n"),
    )
    init_round(tmp_path / "r.db", "2022", files)
    conn = sqlite3.connect(tmp_path / "r.db")
    stored = conn.execute("SELECT code, max_score, step FROM indicators WHERE parent IS NULL ORDER BY code").fetchall()
    conn.close()
    assert stored == [("A", "20", "1"), ("B", "5", "0")]


def test_a_file_changed_between_verification_and_its_copy_is_not_merged(
    cycle: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.consolidation.evidence as evidence

    monkeypatch.setattr(evidence, "file_sha256", lambda path: "0" * 64)  # the bytes hashed before verifying differ
    report = merge_exports(cycle["db"], [cycle["R1.xlsx"]], workers=0)
    assert [(o.status, o.code) for o in report.outcomes] == [("rejected", "EVIDENCE_CHANGED")]
    conn = sqlite3.connect(cycle["db"])
    assert conn.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM scores WHERE value IS NOT NULL").fetchone()[0] == 0
    assert conn.execute("SELECT outcome, code FROM merge_ledger").fetchall() == [("rejected", "EVIDENCE_CHANGED")]
    conn.close()


def test_a_bundle_zipped_with_its_folder_audits(merged: dict[str, Path], coordinator: tuple[Path, str],
                                                tmp_path: Path) -> None:
    bundle = published(merged, coordinator, tmp_path)
    out = tmp_path / "folder.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
            archive.write(path, "bundle/" + path.relative_to(bundle).as_posix())
    assert audit_bundle(out, coordinator[1], workers=0).exports == 3
