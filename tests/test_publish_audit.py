"""Publishing a round as a signed bundle and auditing it from the bundle alone: the whole cycle, tampering, minisign."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest_merge import PASS
from conftest_publish import *  # noqa: F403  (the coordinator, cycle and merged fixtures)
from conftest_publish import published, resign, rewrite_members
from conftest_tools import require_tool

from workbench.errors import AuditCode, AuditFailure
from workbench.publish.audit import audit_bundle
from workbench.signed.keys import generate_secret_key, write_secret_key


def test_the_full_cycle_audits_without_the_round_database(
    merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
) -> None:
    bundle = published(merged, coordinator, tmp_path)
    merged["db"].unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{merged['db']}{suffix}").unlink(missing_ok=True)
    result = audit_bundle(bundle, coordinator[1], workers=0)
    assert result.targets == 2
    assert result.exports == 3
    assert result.values > 50
    assert result.summary == f"reproduced: 2 targets, {result.values} values identical"
    # every value of the published report and its side file, as a reader of them counts it
    assert result.values == workbook_values(bundle / "report" / "consolidated.xlsx") + sum(
        1 for part in (bundle / "report").glob("consolidated.reviews-*.csv")
        for row in list(csv.reader(part.open(encoding="utf-8-sig")))[1:] for v in row if v)


def workbook_values(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    from workbench.publish.audit import IGNORED_LABELS

    book = CalamineWorkbook.from_path(str(path))
    return sum(1 for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
               if not (name == "说明" and row and row[0] in IGNORED_LABELS) for v in row if v not in ("", None))



def failure(bundle: Path, key_line: str) -> AuditFailure:
    with pytest.raises(AuditFailure) as caught:
        audit_bundle(bundle, key_line, workers=0)
    return caught.value


def an_export(bundle: Path) -> Path:
    return sorted((bundle / "exports").iterdir())[0]


def edit_cell(path: Path, sheet: str, ref: str, value: object) -> None:
    from openpyxl import load_workbook

    book = load_workbook(path)
    book[sheet][ref].value = value
    book.save(path)


class TestTampering:
    """Each change to a published bundle is caught and named, whether the manifest was left as signed or signed again
    by a coordinator covering their tracks."""

    def test_a_changed_export_fails_its_hash(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                            tmp_path: Path) -> None:
        bundle = published(merged, coordinator, tmp_path)
        export = an_export(bundle)
        edit_cell(export, "评分表", "I2", 0)
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.HASH_MISMATCH, f"exports/{export.name}")

    def test_a_changed_export_signed_again_fails_verification_naming_the_cell(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        export = an_export(bundle)
        edit_cell(export, "评分表", "I2", 0)
        renamed = export.with_name(hashlib.sha256(export.read_bytes()).hexdigest() + ".xlsx")
        export.rename(renamed)
        ledger = bundle / "ledger.csv"
        ledger.write_text(ledger.read_text(encoding="utf-8-sig").replace(export.stem, renamed.stem),
                          encoding="utf-8-sig")
        resign(bundle, coordinator[0])
        caught = failure(bundle, coordinator[1])
        assert caught.code == "EDITED_AFTER_SIGNING"
        assert caught.where == f"exports/{renamed.name}"
        assert "评分表!I2" in caught.reason

    @pytest.mark.parametrize("edit", ["openpyxl", "bytes"])
    def test_a_changed_report_cell_is_named_with_both_values(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, edit: str
    ) -> None:
        """Saved again by openpyxl (every part rewritten), or that cell's bytes alone changed (every other part as
        the recomputed report has it)."""
        bundle = published(merged, coordinator, tmp_path)
        report = bundle / "report" / "consolidated.xlsx"
        ref, total = first_total(report)
        if edit == "openpyxl":
            edit_cell(report, "总分排名", ref, 99.5)
        else:
            edit_cell_bytes(report, "总分排名", ref, b"99.5")
        assert failure(bundle, coordinator[1]).code == AuditCode.HASH_MISMATCH
        resign(bundle, coordinator[0])
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.NOT_REPRODUCED, f"总分排名!{ref}")
        assert f"published 99.5, recomputed {total}" in caught.reason

    @pytest.mark.parametrize(("part", "old", "new"), [
        ("xl/styles.xml", b'formatCode="0.0"', b'formatCode="&quot;95.5&quot;"'),  # every 0.0 cell shows 95.5
        ("总分排名", b'<row r="3"', b'<row r="3" hidden="1"'),  # the first target's row hidden
    ])
    def test_a_report_showing_its_same_values_otherwise_is_caught(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path, part: str, old: bytes,
        new: bytes
    ) -> None:
        from workbench.signed.xlsxcheck import check_xlsx

        bundle = published(merged, coordinator, tmp_path)
        report = bundle / "report" / "consolidated.xlsx"
        sheet = check_xlsx(report).sheet(part)
        name = sheet.part if sheet is not None else part
        replaced = []

        def change(member: str, data: bytes) -> bytes:
            if member == name:
                replaced.append(data.count(old))
                return data.replace(old, new, 1)
            return data

        rewrite_members(report, change)
        assert replaced and replaced[0] >= 1
        resign(bundle, coordinator[0])
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.NOT_REPRODUCED, f"report/consolidated.xlsx ({name})")
        assert "how they show" in caught.reason

    def test_the_reports_generation_times_may_differ(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        """A report written at another time and in another time zone than the audit's: 说明's two times differ."""
        from workbench.signed.xlsxcheck import check_xlsx

        bundle = published(merged, coordinator, tmp_path)
        report = bundle / "report" / "consolidated.xlsx"
        about = check_xlsx(report).sheet("说明")
        assert about is not None
        times = re.compile("(生成时间（(UTC|本地)）</t></is></c><c [^>]*><is><t>)[^<]*".encode())
        changed = []

        def change(member: str, data: bytes) -> bytes:
            if member != about.part:
                return data
            data, n = times.subn(lambda m: m.group(1) + (b"2020-01-01T00:00:00Z" if m.group(2) == b"UTC"
                                                          else b"2020-01-01 08:00 CST"), data)
            changed.append(n)
            return data

        rewrite_members(report, change)
        assert changed == [2]
        resign(bundle, coordinator[0])
        assert audit_bundle(bundle, coordinator[1], workers=0).targets == 2

    def test_report_sheets_pointed_at_each_others_parts_are_caught(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        """Each part byte for byte the recomputed one, but the workbook's relationships swap two sheets' parts."""
        from workbench.signed.xlsxcheck import check_xlsx

        bundle = published(merged, coordinator, tmp_path)
        report = bundle / "report" / "consolidated.xlsx"
        first, second = check_xlsx(report).sheets[:2]
        a, b = (s.part.removeprefix("xl/").encode() for s in (first, second))
        rewrite_members(report, lambda name, data: data.replace(a, b"@").replace(b, a).replace(b"@", b)
                        if name == "xl/_rels/workbook.xml.rels" else data)
        resign(bundle, coordinator[0])
        caught = failure(bundle, coordinator[1])
        assert caught.code == AuditCode.NOT_REPRODUCED
        assert caught.where.split("!")[0] == first.name

    def test_a_changed_side_file_row_is_named(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                             tmp_path: Path) -> None:
        bundle = published(merged, coordinator, tmp_path)
        side = bundle / "report" / "consolidated.reviews-1.csv"
        lines = side.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        fields = lines[3].rstrip("\r\n").split(",")
        fields[-1] = "0.00"
        lines[3] = ",".join(fields) + "\r\n"
        side.write_text("".join(lines), encoding="utf-8-sig")
        resign(bundle, coordinator[0])
        caught = failure(bundle, coordinator[1])
        assert caught.code == AuditCode.NOT_REPRODUCED
        assert caught.where.startswith("report/consolidated.reviews-1.csv 第 4 行 / row 4 (汇总得分)")

    def test_a_removed_export_is_named(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                      tmp_path: Path) -> None:
        bundle = published(merged, coordinator, tmp_path)
        export = an_export(bundle)
        export.unlink()
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.FILE_MISSING, f"exports/{export.name}")
        resign(bundle, coordinator[0])  # left out of the manifest too: the ledger still names it
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.FILE_MISSING, f"exports/{export.name}")
        assert "ledger.csv:" in caught.reason

    def test_an_added_file_is_named(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                   tmp_path: Path) -> None:
        bundle = published(merged, coordinator, tmp_path)
        shutil.copy(an_export(bundle), bundle / "exports" / "extra.xlsx")
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.FILE_UNLISTED, "exports/extra.xlsx")

    def test_a_changed_manifest_fails_its_signature(self, merged: dict[str, Path], coordinator: tuple[Path, str],
                                                   tmp_path: Path) -> None:
        bundle = published(merged, coordinator, tmp_path)
        manifest = bundle / "manifest.json"
        manifest.write_text(manifest.read_text(encoding="utf-8").replace('"complete": true', '"complete": false'),
                            encoding="utf-8")
        caught = failure(bundle, coordinator[1])
        assert (caught.code, caught.where) == (AuditCode.MANIFEST_SIGNATURE, "manifest.json.minisig")

    def test_a_manifest_signed_again_with_another_key_is_refused(
        self, merged: dict[str, Path], coordinator: tuple[Path, str], tmp_path: Path
    ) -> None:
        bundle = published(merged, coordinator, tmp_path)
        other = generate_secret_key()
        write_secret_key(tmp_path / "other.key", other, PASS, scrypt_n=2**10)
        resign(bundle, tmp_path / "other.key")
        caught = failure(bundle, coordinator[1])
        assert caught.code == AuditCode.MANIFEST_SIGNATURE
        assert other.key_id_text in caught.reason
        # the bundle checks out only with the key it was signed with, which the auditor must get elsewhere
        assert audit_bundle(bundle, other.public.line, workers=0).exports == 3


def first_total(report: Path) -> tuple[str, object]:
    """The first target's 总分 cell of the published report (found by its header) and its value."""
    from openpyxl import load_workbook

    sheet = load_workbook(report)["总分排名"]
    for row in sheet.iter_rows(max_row=5):
        for cell in row:
            if cell.value == "总分":
                below = sheet.cell(row=cell.row + 1, column=cell.column)
                return below.coordinate, below.value
    raise AssertionError("no 总分 column")


def edit_cell_bytes(path: Path, sheet_name: str, ref: str, number: bytes) -> None:
    """A number cell's value changed in its worksheet part's bytes, every other part left byte for byte."""
    from workbench.signed.xlsxcheck import check_xlsx

    sheet = check_xlsx(path).sheet(sheet_name)
    assert sheet is not None
    cell = re.compile(rb'(<c r="' + ref.encode() + rb'"[^>]*><v>)[^<]*(</v>)')
    edited = []

    def change(name: str, data: bytes) -> bytes:
        if name != sheet.part:
            return data
        data, n = cell.subn(rb"\g<1>" + number + rb"\g<2>", data)
        edited.append(n)
        return data

    rewrite_members(path, change)
    assert edited == [1]


def test_minisign_verifies_the_manifest(merged: dict[str, Path], coordinator: tuple[Path, str],
                                        tmp_path: Path) -> None:
    minisign = require_tool("minisign")
    bundle = published(merged, coordinator, tmp_path)
    done = subprocess.run([minisign, "-Vm", str(bundle / "manifest.json"), "-P", coordinator[1]],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Signature and comment signature verified" in done.stdout
    digest = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    assert f"sha256={digest}" in done.stdout
    manifest = bundle / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"complete": true', b'"complete": false'))
    tampered = subprocess.run([minisign, "-Vm", str(manifest), "-P", coordinator[1]], capture_output=True,
                              text=True, check=False)
    assert tampered.returncode != 0
