"""The publication bundle's fixed layout: its paths, the columns of its CSV files, and reading them back strictly.

A bundle is a directory (or a zip of one) holding:

    manifest.json, manifest.json.minisig    every other file's SHA-256 and size, signed by the coordinator
    round/{indicators,rules,sites,cases,reviewers,assignments,conflicts,calibration_reference}.csv
                                            the set-up, as `workbench init` reads it
    round/packages.csv, round/package_pairs.csv, round/decisions.csv           packages issued; the coordinator's
                                                                               decisions on disputes
    keyring.csv                             reviewers' public keys, when added and revoked
    exports/<sha256>.xlsx                   every merged export, byte for byte as received
    ledger.csv                              every file the merges met, in order, refused ones with their codes
    history/rounds.csv, history/past-N.csv  past rounds' results the report compares with
    appeals/{appeals,packages,log}.csv      the appeals (申诉) against the 公示, their packages and the appeals log
    report/consolidated.xlsx, report/consolidated.reviews-N.csv   the consolidated workbook and its side file

Every CSV is UTF-8 with a BOM, written verbatim (no formula guard: `init` and `audit` must read back exactly what
the round holds; open them in a spreadsheet through its text import).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

BUNDLE_FORMAT = "workbench-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.minisig"
TRUSTED_TAG = "workbench-bundle"
REPORT = "report/consolidated.xlsx"
EXPORTS = "exports"

Spec = tuple[str, tuple[str, ...]]
"""A bundle table: its path and its header."""

ROUND_FILES: dict[str, Spec] = {
    "indicators": ("round/indicators.csv", ("代码", "上级", "名称", "类型", "分值", "步长", "适用", "可不适用", "说明",
                                            "分歧阈值", "分歧间隔", "评分细则")),
    "rules": ("round/rules.csv", ("规则", "值")),
    "sites": ("round/sites.csv", ("编号", "名称", "地区", "层级", "网址", "校准")),
    "cases": ("round/cases.csv", ("编号", "标题", "申报单位", "地区", "领域", "简介", "合成", "校准")),
    "reviewers": ("round/reviewers.csv", ("编号", "姓名", "单位", "地区")),
    "assignments": ("round/assignments.csv", ("评审专家", "对象类型", "对象编号", "利益冲突豁免")),
    "conflicts": ("round/conflicts.csv", ("评审专家", "对象类型", "对象编号", "单位", "原因")),
    "calibration_reference": ("round/calibration_reference.csv", ("对象类型", "对象编号", "指标代码", "得分")),
}
"""The set-up files, with the headers `workbench init` reads (its Chinese aliases)."""

PACKAGES: Spec = ("round/packages.csv", ("nonce", "reviewer_id", "key_id", "kind", "issued_at", "superseded_by",
                                   "indicators_hash", "targets_hash", "pairs"))
PACKAGE_PAIRS: Spec = ("round/package_pairs.csv", ("nonce", "target_kind", "target_id", "indicator"))
"""The pairs of every re-review and appeal package (a full package's are its reviewer's assignments × applicable
leaves)."""
DECISIONS: Spec = ("round/decisions.csv", ("at", "target_kind", "target_id", "indicator", "decision", "reason", "exact",
                                     "shown"))
KEYRING: Spec = ("keyring.csv", ("key_id", "reviewer_id", "public_key", "added_at", "revoked_at"))
LEDGER: Spec = ("ledger.csv", ("seq", "at", "file_name", "file_sha256", "outcome", "code", "message", "export_id",
                         "nonce", "reviewer_id", "key_id", "export_seq", "payload_sha256", "rows", "verified_at"))
APPEALS: Spec = ("appeals/appeals.csv", ("appeal_id", "target_kind", "target_id", "indicator", "appellant", "reason",
                                        "evidence", "submitted_on", "imported_at", "publication", "source"))
"""Every appeal (申诉) as imported, against the provisional publication whose manifest SHA-256 `publication` is."""
APPEAL_PACKAGES: Spec = ("appeals/packages.csv", ("nonce", "appeal_id"))
"""Which appeals each appeal package (round/packages.csv kind `appeal`) serves."""
APPEAL_LOG: Spec = ("appeals/log.csv", ("appeal_id", "decided_at", "old_value", "new_value", "reviewers", "notes",
                                        "outcome"))
"""The appeals log: each decided appeal's old and new value as shown, its reviewers, their values and notes, and
维持 or 改判; the audit derives it again from the replayed reviews."""
HISTORY: Spec = ("history/rounds.csv", ("round_id", "name", "year", "file"))
HISTORY_RESULTS = ("对象类型", "对象编号", "指标代码", "得分")
"""A past round's results file (history/past-N.csv), as `workbench import-results` reads it."""

MAX_TABLE_BYTES = 512 << 20
"""The largest bundle CSV read back (a national round's package pairs or ledger stay far below)."""


def export_path(sha256: str) -> str:
    return f"{EXPORTS}/{sha256}.xlsx"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """One table as UTF-8 CSV with a BOM (Excel opens Chinese text right), every field as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(["" if v is None else str(v) for v in row] for row in rows)


class TableError(ValueError):
    """A bundle CSV that is not as publish writes it; `where` is file:row."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


def read_csv(path: Path, name: str, header: Sequence[str]) -> list[dict[str, str]]:
    """A bundle CSV as rows keyed by its header, refused (TableError at file:row) unless it is exactly as written:
    UTF-8, this header, every row as wide as it."""
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise TableError(name, "文件过大 / the file is larger than any bundle table")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(name, f"不是 UTF-8 / not UTF-8 ({exc.reason})") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise TableError(name, f"不是有效的 CSV / not valid CSV ({exc})") from None
    if not rows or tuple(rows[0]) != tuple(header):
        raise TableError(f"{name}:1", f"表头应为 / the header should be {','.join(header)}")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise TableError(f"{name}:{number}", f"应有 {len(header)} 列 / expected {len(header)} columns, "
                                                 f"found {len(row)}")
        out.append(dict(zip(header, row, strict=True)))
    return out
