"""Verify a signed reviewer worksheet against the coordinator's round database, failing closed in order.

The order is DESIGN §7's: hostile-file checks, one signature sheet, payload digest, key from the keyring
(never from the file), revocation, signatures, strict canonical parse, identity, round, package, pairs,
values, replay, and last the visible cells against the signed rows. Verification never writes to the
round database; the merge ingests `VerifiedExport.cells` (the payload's rows), never the visible cells.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from workbench import collector
from workbench.errors import FailureCode, InvalidPublicKey, SignatureError
from workbench.model import TargetKind
from workbench.signed.worksheet import (
    BLANK_FORMAT,
    BLANK_SHEET,
    COL_CODE,
    COL_EVIDENCE,
    COL_IND_KIND,
    COL_IND_NAME,
    COL_KIND,
    COL_MAX,
    COL_NAME,
    COL_NOTE,
    COL_REVISION,
    COL_STEP,
    COL_TARGET,
    COL_UPDATED,
    COL_VALUE,
    COLUMNS,
    INDICATOR_LABELS,
    NUMERIC_COLUMNS,
    PAYLOAD_FORMAT,
    SCORES_SHEET,
    SIGNATURE_FORMAT_V1,
    SIGNATURE_FORMATS,
    SIGNATURE_SHEET,
    SUMMARY_SHEET,
    TARGET_KINDS,
    SheetData,
    cell_ref,
    clean_text,
    has_data,
    has_illegal_characters,
    join_payload,
    key_values,
    plain_decimal,
    read_sheets,
    same_cell,
    score_validations,
    summarise,
    summary_grid,
)

if TYPE_CHECKING:  # at run time these load lazily, inside the checks that need them
    from workbench.model import Indicator
    from workbench.scoring.indicators import IndicatorTree
    from workbench.signed.xlsxcheck import XlsxInfo
    from workbench.store.db import Store, StoredCell

MERGED_OUTCOME = "merged"  # the submissions.outcome the merge records for an ingested export
_PAYLOAD_FIELDS = frozenset({
    "format", "export_id", "reviewer_id", "key_id", "round_id", "nonce", "seq", "created_at",
    "indicators_hash", "columns", "rows",
})
_SIGNATURE_FIELDS = frozenset({"format", "minisig", "payload_sha256", "payload_chunks", "payload"})
_UTC_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?Z"
)
#: seq and 版本 are integers any JSON reader and SQLite hold exactly.
MAX_SAFE_INTEGER = 2**53 - 1


def is_utc_instant(text: str) -> bool:
    """UTC ISO 8601 as the workbench writes it, and a real instant (no month 13, no hour 99, no 30 February)."""
    return _UTC_TIME.fullmatch(text) is not None and _real_day(text[:10])


@functools.lru_cache(maxsize=4096)
def _real_day(day: str) -> bool:
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True
_SUMMARY_NUMERIC = frozenset({3, 5, 6})


class SignedRow(NamedTuple):
    """One signed (target, indicator) row, parsed: value is a Decimal, NA or None (not scored).

    A named tuple rather than a dataclass: an export holds ~18k of them and verification is timed."""

    target_kind: str
    target_id: str
    indicator: str
    value: Decimal | str | None
    note: str
    evidence: str
    updated_at: str | None
    revision: int


@dataclass(frozen=True)
class VerifiedExport:
    """An export that passed every check; `replay` is "ALREADY_MERGED" when the ledger holds it already."""

    path: Path
    export_id: str
    reviewer_id: str
    reviewer_name: str
    key_id: str
    round_id: str
    nonce: str
    package_kind: str
    seq: int
    created_at: str
    rows: tuple[SignedRow, ...]
    payload: bytes
    minisig: str
    payload_sha256: str
    replay: FailureCode | None = None
    file_sha256: str = ""
    """SHA-256 of the file's bytes as the merge read them before verifying (the merge keeps that copy)."""
    cells: tuple[StoredCell, ...] = ()
    """The signed rows as the round stores them (workbench.store.db.StoredCell), which the merge ingests."""

    @property
    def count(self) -> int:
        """How many rows it signs."""
        return len(self.cells)

    def handed_over(self) -> VerifiedExport:
        """This export as a merge's verifying process passes it on: its rows only in their stored form."""
        return replace(self, rows=())


def refused(code: FailureCode, zh: str, en: str) -> SignatureError:
    return SignatureError(code, f"{zh} / {en}")


def verify_export(path: Path, round_db: Path, *, allow_stale: bool = False) -> VerifiedExport:
    """Check everything DESIGN §7 lists, in its order; raise SignatureError(code, sentence) at the first
    failure, else return the signed content.

    With allow_stale (the merge, which orders a batch by seq itself) an export older than one already
    merged comes back with replay == FailureCode.STALE_EXPORT instead of being refused; stale_refusal gives the
    refusal when the merge decides it is one."""
    from workbench.signed.xlsxcheck import check_xlsx
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    path = Path(path)
    info = check_xlsx(path)
    # Hundreds of thousands of cells and payload values are allocated and all stay alive until the end.
    with collector.paused():
        sheets = _read(path)
        signature = _signature_sheet(sheets)
        payload, minisig, digest = _signed_payload(signature)
        store = Store.open(round_db, expect=KIND_ROUND)
        try:
            return _verify_with_round(path, info, sheets, signature, payload, minisig, digest, store, allow_stale)
        finally:
            store.close()


def _verify_with_round(
    path: Path, info: XlsxInfo, sheets: list[SheetData], signature: SheetData, payload: bytes, minisig: str,
    digest: str, store: Store, allow_stale: bool,
) -> VerifiedExport:
    from workbench.scoring.indicators import IndicatorTree
    from workbench.setup.package import indicators_hash
    from workbench.signed.keyring import lookup_key
    from workbench.signed.keys import format_key_id, parse_public_key
    from workbench.signed.signing import (
        parse_canonical,
        parse_trusted_comment,
        signature_key_id,
        verify,
    )

    key_text = format_key_id(signature_key_id(minisig))
    record = lookup_key(store.conn, key_text)
    if record is None:
        raise refused(FailureCode.UNKNOWN_KEY, f"签名所用密钥 {key_text} 不在本轮次的密钥环中",
                      f"it is signed with key {key_text}, which is not in this round's keyring "
                      "(register the reviewer's key with `workbench keys add`)")
    if record.revoked:
        raise refused(FailureCode.REVOKED_KEY,
                      f"签名所用密钥 {key_text}（评审专家 {record.reviewer_id}）已于 {record.revoked_at} 吊销",
                      f"it is signed with key {key_text} of reviewer {record.reviewer_id}, revoked at "
                      f"{record.revoked_at}; nothing signed with a revoked key is accepted")
    try:
        public_key = parse_public_key(record.public_key)
    except InvalidPublicKey:  # registered before keys add refused weak keys
        raise refused(FailureCode.BAD_SIGNATURE,
                      f"评审专家 {record.reviewer_id} 登记的密钥 {key_text} 不是可靠的 Ed25519 公钥，"
                      "任何人都可能以它签名；请吊销它（workbench keys revoke）并登记新密钥",
                      f"the key {key_text} registered for reviewer {record.reviewer_id} is not a sound Ed25519 "
                      "key, so anyone could sign with it; revoke it (workbench keys revoke) and register a new one"
                      ) from None
    trusted = parse_trusted_comment(verify(payload, minisig, public_key))
    if trusted["payload_sha256"] != digest:
        raise refused(FailureCode.BAD_SIGNATURE, "签名的可信注释描述的是另一份内容",
                      "the signature's trusted comment describes other content than the signed payload")
    doc: dict[str, Any] = parse_canonical(payload)
    rows = _payload_rows(doc, trusted)
    reviewer_id, nonce = str(doc["reviewer_id"]), str(doc["nonce"])

    if record.reviewer_id != reviewer_id or doc["key_id"] != key_text:
        raise refused(FailureCode.IDENTITY_MISMATCH,
                      f"签名密钥 {key_text} 属于评审专家 {record.reviewer_id}，而文件自称来自 {reviewer_id}",
                      f"the signing key {key_text} belongs to reviewer {record.reviewer_id}, but the export "
                      f"claims to come from {reviewer_id} (key {doc['key_id']})")
    if doc["round_id"] != store.round_id:
        raise refused(FailureCode.WRONG_ROUND, f"此文件属于轮次 {doc['round_id']}，不是本轮次 {store.round_id}",
                      f"this export belongs to round {doc['round_id']}, not to this round {store.round_id}")
    package = store.conn.execute("SELECT * FROM packages WHERE nonce = ?", (nonce,)).fetchone()
    if package is None or package["round"] != store.round_id:
        raise refused(FailureCode.UNKNOWN_PACKAGE, f"本轮次从未签发过编号为 {nonce} 的评审包",
                      f"this round never issued a package with nonce {nonce}")
    if package["reviewer_id"] != reviewer_id:
        raise refused(FailureCode.IDENTITY_MISMATCH,
                      f"评审包 {nonce} 是签发给评审专家 {package['reviewer_id']} 的，不是 {reviewer_id}",
                      f"package {nonce} was issued to reviewer {package['reviewer_id']}, not to {reviewer_id}")
    if package["key_id"] != key_text:
        raise refused(FailureCode.IDENTITY_MISMATCH,
                      f"评审包 {nonce} 签发时登记的密钥为 {package['key_id'] or '（无）'}，"
                      f"而此文件由密钥 {key_text} 签名",
                      f"package {nonce} was issued for key {package['key_id'] or '(none)'}, but this export is "
                      f"signed with key {key_text}")
    indicators = store.indicators()
    if package["superseded_by"]:
        newer = package["superseded_by"]
        raise refused(FailureCode.STALE_PACKAGE,
                      f"评审包 {nonce} 已被协调人重新签发的评审包 {newer} 取代，其导出不再接受；请评审专家在新评审包中"
                      "录入评分（可对照旧评审包或其导出逐项转录）并导出新评审包",
                      f"package {nonce} was superseded when the coordinator issued package {newer}, so its exports "
                      "are no longer accepted: the reviewer carries their scores into the new package (from the "
                      "old package or its export) and sends an export of that one")
    if not doc["indicators_hash"] == package["indicators_hash"] == indicators_hash(indicators):
        raise refused(FailureCode.STALE_PACKAGE, "评分所依据的指标体系与本轮次现行指标体系不一致",
                      "the export was scored against another indicator system than this round's current one")
    _check_pairs(store, package, rows)
    tree = IndicatorTree(indicators)
    checked = _check_values(store, tree, rows)

    verified = VerifiedExport(
        path=path, export_id=str(doc["export_id"]), reviewer_id=reviewer_id,
        reviewer_name=_reviewer_name(store.conn, reviewer_id), key_id=key_text, round_id=str(doc["round_id"]),
        nonce=nonce, package_kind=package["kind"], seq=int(doc["seq"]), created_at=str(doc["created_at"]),
        rows=checked.rows, cells=checked.cells, payload=payload, minisig=minisig, payload_sha256=digest,
    )
    replay = check_replay(store.conn, verified)
    if replay == FailureCode.SEQ_CONFLICT or (replay == FailureCode.STALE_EXPORT and not allow_stale):
        raise replay_refusal(replay, verified)
    verified = replace(verified, replay=replay)

    _check_visible(path, info, sheets, signature, rows, checked, indicators, store.rules_mapping())
    return verified


def check_replay(conn: sqlite3.Connection, verified: VerifiedExport) -> FailureCode | None:
    """The replay ledger's word on an export: None (new), "ALREADY_MERGED" (the same file again, a no-op),
    "STALE_EXPORT" (a later export of the package was merged) or "SEQ_CONFLICT" (the same seq or export id
    merged with other content)."""
    merged = conn.execute(
        "SELECT export_id, nonce, seq, payload_sha256 FROM submissions "
        "WHERE outcome = ? AND (nonce = ? OR export_id = ?)",
        (MERGED_OUTCOME, verified.nonce, verified.export_id),
    ).fetchall()
    for export_id, _, _, digest in merged:
        if export_id == verified.export_id:
            return FailureCode.ALREADY_MERGED if digest == verified.payload_sha256 else FailureCode.SEQ_CONFLICT
    if any(nonce == verified.nonce and seq == verified.seq for _, nonce, seq, _ in merged):
        return FailureCode.SEQ_CONFLICT
    if any(nonce == verified.nonce and seq > verified.seq for _, nonce, seq, _ in merged):
        return FailureCode.STALE_EXPORT
    return None


def replay_refusal(code: FailureCode, v: VerifiedExport) -> SignatureError:
    """The refusal for a replay code check_replay returned (STALE_EXPORT or SEQ_CONFLICT)."""
    if code == FailureCode.STALE_EXPORT:
        return refused(code, f"评审包 {v.nonce} 已合并过更新的导出（此文件为第 {v.seq} 次导出），此文件已过时",
                       f"a later export of package {v.nonce} has been merged already; this one (seq {v.seq}) "
                       "is out of date")
    return refused(code, f"评审包 {v.nonce} 的第 {v.seq} 次导出已以不同内容合并过",
                   f"export seq {v.seq} of package {v.nonce} was merged before with different content; "
                   "two different files claim the same place")


def stale_refusal(verified: VerifiedExport) -> SignatureError:
    """STALE_EXPORT's refusal, for a merge that verified with allow_stale=True and found nothing newer
    in its own batch."""
    return replay_refusal(FailureCode.STALE_EXPORT, verified)


def extract_payload(verified: VerifiedExport, directory: Path) -> tuple[Path, Path]:
    """Write payload.json and payload.json.minisig, so that `minisign -Vm payload.json -P <key>` checks it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload_path = directory / "payload.json"
    sig_path = directory / "payload.json.minisig"
    payload_path.write_bytes(verified.payload)
    sig_path.write_text(verified.minisig, encoding="utf-8", newline="\n")
    return payload_path, sig_path


# ------------------------------------------------------------------------------------- file structure


def _read(path: Path) -> list[SheetData]:
    import python_calamine

    try:
        return read_sheets(path)
    except python_calamine.PasswordError:
        raise refused(FailureCode.ENCRYPTED_OR_LEGACY, "文件已加密", "the file is encrypted") from None
    except python_calamine.ZipError:
        with open(path, "rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                raise refused(FailureCode.NOT_XLSX, "不是 Excel 工作簿（.xlsx）",
                              "it is not an Excel workbook (.xlsx)") from None
        raise refused(FailureCode.CORRUPT_ZIP, "文件已损坏，无法解压",
                      "the file is damaged and cannot be unpacked") from None
    except python_calamine.XmlError:
        raise refused(FailureCode.BAD_XML, "文件内部的表格数据已损坏",
                      "the workbook's sheet data is malformed") from None
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        raise refused(FailureCode.NOT_XLSX, "无法作为 Excel 工作簿读取",
                      f"it cannot be read as an Excel workbook ({exc})") from None


def _first_row(sheet: SheetData) -> tuple[object, object]:
    row = sheet.cells[0] if sheet.cells else []
    return (row[0] if row else None, row[1] if len(row) > 1 else None)


_SIGNATURE_MARKERS = [("format", fmt) for fmt in SIGNATURE_FORMATS]


def _signature_sheet(sheets: list[SheetData]) -> SheetData:
    found = [s for s in sheets if s.name.lower() == SIGNATURE_SHEET or _first_row(s) in _SIGNATURE_MARKERS]
    if len(found) > 1:
        raise refused(FailureCode.AMBIGUOUS_SIGNATURE, f"文件中有 {len(found)} 个签名表",
                      f"the file holds {len(found)} signature sheets; a signed export has exactly one")
    if not found:
        if any(s.name.lower() == BLANK_SHEET or _first_row(s) == ("format", BLANK_FORMAT) for s in sheets):
            raise refused(FailureCode.BLANK_WORKSHEET, "这是未签名的空白评分表（export --blank），不能作为评审结果提交",
                          "this is an unsigned blank worksheet (export --blank); the reviewer loads it with "
                          "`workbench import-scores` and sends a signed export instead")
        raise refused(FailureCode.UNSIGNED, "文件没有签名", "the file carries no workbench signature")
    return found[0]


def _signed_payload(sheet: SheetData) -> tuple[bytes, str, str]:
    entries = key_values(sheet)
    unknown = sorted(set(entries) - _SIGNATURE_FIELDS)
    repeated = sorted(k for k, v in entries.items() if k != "payload" and len(v) > 1)
    if unknown or repeated:
        raise refused(FailureCode.AMBIGUOUS_SIGNATURE, f"签名表含有多余的项：{'、'.join(unknown + repeated)}",
                      f"the signature sheet holds entries a workbench export never writes twice or at all: "
                      f"{', '.join(unknown + repeated)}")
    fmt = entries.get("format", [""])[0]
    if fmt not in SIGNATURE_FORMATS or len(entries["format"]) != 1:
        raise refused(FailureCode.UNSIGNED, "签名表格式无法识别，可能来自更新版本的工作台；请升级工作台后再核验",
                      "the signature sheet is of a format this version does not read; it may come from a newer "
                      "workbench: upgrade and verify again")
    missing = sorted(_SIGNATURE_FIELDS - set(entries))
    if missing:
        raise refused(FailureCode.UNSIGNED, f"签名表不完整，缺少 {'、'.join(missing)}",
                      f"the signature sheet is incomplete: {', '.join(missing)} missing")
    chunks = entries["payload"]
    digest = entries["payload_sha256"][0]
    payload = join_payload(fmt, chunks)
    if (payload is None or entries["payload_chunks"][0] != str(len(chunks))
            or hashlib.sha256(payload).hexdigest() != digest):
        if fmt == SIGNATURE_FORMAT_V1:  # the old text chunks do not survive a second LibreOffice re-save
            raise refused(FailureCode.PAYLOAD_DIGEST_MISMATCH,
                          "签名内容与其摘要不符。此文件为旧版格式（workbench-signature/1），经 LibreOffice 多次另存后"
                          "会出现这种情况；请评审专家用当前版本的工作台重新导出（workbench export）后再提交",
                          "the signed payload no longer matches its digest. The file is in the old format "
                          "(workbench-signature/1), which a second LibreOffice re-save breaks; ask the reviewer to "
                          "export again with this version (workbench export) and send that file")
        raise refused(FailureCode.PAYLOAD_DIGEST_MISMATCH, "签名内容与其摘要不符，签名内容已被改动",
                      "the signed payload no longer matches its digest: it was altered")
    return payload, entries["minisig"][0], digest


# ------------------------------------------------------------------------------------------- payload


def _payload_rows(doc: dict[str, Any], trusted: dict[str, object]) -> list[list[Any]]:
    def bad(reason: str) -> SignatureError:
        return refused(FailureCode.NON_CANONICAL_PAYLOAD, f"签名内容的结构不正确：{reason}",
                       f"the signed payload is not a workbench export: {reason}")

    if set(doc) != _PAYLOAD_FIELDS or doc["format"] != PAYLOAD_FORMAT:
        raise bad("fields or format")
    for name in _PAYLOAD_FIELDS - {"seq", "columns", "rows"}:
        if not isinstance(doc[name], str) or not doc[name]:
            raise bad(name)
    if type(doc["seq"]) is not int or not 1 <= doc["seq"] <= MAX_SAFE_INTEGER:
        raise bad("seq")
    if not is_utc_instant(doc["created_at"]):
        raise bad("created_at")
    if doc["columns"] != list(COLUMNS):
        raise bad("columns")
    rows = doc["rows"]
    if not isinstance(rows, list):
        raise bad("rows")
    texts = {str, type(None)}
    width = len(COLUMNS)
    for index, row in enumerate(rows):
        if (type(row) is not list or len(row) != width or not texts.issuperset(map(type, row[:COL_REVISION]))
                or type(row[COL_REVISION]) is not int or not 0 <= row[COL_REVISION] <= MAX_SAFE_INTEGER
                or row[COL_KIND] is None or row[COL_TARGET] is None or row[COL_CODE] is None
                # the reviewer's free text; every other text is compared with the round's own below
                or (row[COL_NOTE] is not None and has_illegal_characters(row[COL_NOTE]))
                or (row[COL_EVIDENCE] is not None and has_illegal_characters(row[COL_EVIDENCE]))):
            raise bad(f"row {index + 1}")
    signed = (trusted["export_id"], trusted["reviewer_id"], trusted["round_id"], trusted["seq"], trusted["rows"])
    if signed != (doc["export_id"], doc["reviewer_id"], doc["round_id"], doc["seq"], len(rows)):
        raise bad("its signed summary (trusted comment) says otherwise")
    return rows


def _check_pairs(store: Store, package: sqlite3.Row, rows: list[list[Any]]) -> None:
    from workbench.scoring.indicators import IndicatorTree
    from workbench.setup.package import PAIR_KINDS, assignment_pairs, package_assignments, pairs_hash

    pairs = []
    for index, row in enumerate(rows):
        kind = TARGET_KINDS.get(row[COL_KIND])
        if kind is None:
            raise refused(FailureCode.PAIRS_MISMATCH, f"第 {index + 2} 行的对象类型「{row[COL_KIND]}」无法识别",
                          f"row {index + 2} names an unknown target type {row[COL_KIND]!r}")
        pairs.append((kind, row[COL_TARGET], row[COL_CODE]))
    unique = set(pairs)
    if len(unique) == len(pairs) == package["pairs"] and pairs_hash(pairs) == package["targets_hash"]:
        return
    if package["kind"] in PAIR_KINDS:
        issued = [tuple(r) for r in store.conn.execute(
            "SELECT target_kind, target_id, indicator FROM package_pairs WHERE nonce = ?", (package["nonce"],))]
    else:
        issued = assignment_pairs(IndicatorTree(store.indicators()), package_assignments(store, package["reviewer_id"]))
    detail_zh, detail_en = (f"签名 {len(pairs)} 项，签发 {package['pairs']} 项",
                            f"{len(pairs)} signed, {package['pairs']} issued")
    if pairs_hash(issued) == package["targets_hash"]:
        extra = [p for p in pairs if p not in set(issued)]
        missing = [p for p in issued if p not in set(pairs)]
        if extra:
            detail_zh += f"；多出 {' / '.join(extra[0])}"
            detail_en += f"; not issued: {' / '.join(extra[0])}"
        if missing:
            detail_zh += f"；缺少 {' / '.join(missing[0])}"
            detail_en += f"; missing: {' / '.join(missing[0])}"
    if len(unique) != len(pairs):
        detail_zh, detail_en = detail_zh + "；有重复行", detail_en + "; some rows repeat"
    raise refused(FailureCode.PAIRS_MISMATCH, f"签名的评分项与签发的评审包不一致（{detail_zh}）",
                  f"the signed (target, indicator) pairs are not exactly the package's ({detail_en})")


@dataclass
class _Checked:
    rows: tuple[SignedRow, ...]
    cells: tuple[StoredCell, ...]
    values: list[Any]
    """Each row's parsed value, for recomputing 汇总."""
    shown: list[list[Any]]
    """Each row as calamine reads the cells written for it (numbers as floats, empty as ""), for a fast
    whole-row comparison before the cell-by-cell one."""
    numbers: set[str]
    """Every distinct text of 满分, 步长 and 得分 signed."""


def _check_values(store: Store, tree: IndicatorTree, rows: list[list[Any]]) -> _Checked:
    from workbench.errors import InvalidScore
    from workbench.scoring.indicators import format_value, parse_value
    from workbench.store.db import encode_value

    names = {(TargetKind.SITE, r[0]): r[1] for r in store.conn.execute("SELECT id, name FROM sites")}
    names.update({(TargetKind.CASE, r[0]): r[1] for r in store.conn.execute("SELECT id, title FROM cases")})
    # Rows repeat few targets, indicators and values: each is checked once.
    known_targets: set[tuple[str, str, str | None]] = set()
    facts: dict[str, tuple[Any, tuple[str | None, str, str, str], float, float]] = {}
    parsed: dict[tuple[str, str], tuple[Any, Any, str | None]] = {}  # (leaf, text) → value, as read, as stored
    times: set[str] = set()
    out: list[SignedRow] = []
    cells: list[StoredCell] = []
    values: list[Any] = []
    shown: list[list[Any]] = []
    for index, row in enumerate(rows):
        kind, target_id, code = TARGET_KINDS[row[COL_KIND]], row[COL_TARGET], row[COL_CODE]

        fact = facts.get(code)
        if fact is None:
            indicator = tree.get(code)
            fact = facts[code] = (indicator, (clean_text(indicator.name), INDICATOR_LABELS[indicator.kind],
                                              plain_decimal(indicator.max_score), plain_decimal(indicator.step)),
                                  float(indicator.max_score), float(indicator.step))
        if (row[COL_IND_NAME], row[COL_IND_KIND], row[COL_MAX], row[COL_STEP]) != fact[1]:
            raise _invalid_value(index, target_id, code, "的指标名称、类型、满分或步长与本轮次不符",
                                 "the indicator's name, kind, maximum or step differs from this round's indicator "
                                 "system")
        if (kind, target_id, row[COL_NAME]) not in known_targets:
            if row[COL_NAME] != clean_text(names.get((kind, target_id), "")):
                raise _invalid_value(index, target_id, code, "的对象名称与本轮次不符",
                                     "the target's name differs from this round's")
            known_targets.add((kind, target_id, row[COL_NAME]))
        text = row[COL_VALUE]
        value, form, stored = None, "", None
        if text is not None:
            checked = parsed.get((code, text))
            if checked is None:
                try:
                    value = parse_value(fact[0], text)
                except InvalidScore as exc:
                    raise _invalid_value(index, target_id, code, "的得分无效", exc.message) from None
                if format_value(fact[0], value) != text:
                    raise _invalid_value(index, target_id, code, f"的得分「{text}」不是规范写法",
                                         f"the value {text!r} is not written as the app writes it")
                checked = parsed[(code, text)] = (
                    value, float(text) if isinstance(value, Decimal) and text[0].isdigit() else text,
                    encode_value(value),
                )
            value, form, stored = checked
        updated = row[COL_UPDATED]
        if updated is not None and updated not in times:
            if not is_utc_instant(updated):
                raise _invalid_value(index, target_id, code, "的更新时间无效",
                                     "the update time is not a UTC ISO 8601 instant")
            times.add(updated)
        note, evidence = row[COL_NOTE] or "", row[COL_EVIDENCE] or ""
        out.append(SignedRow(kind, target_id, code, value, note, evidence, updated, row[COL_REVISION]))
        cells.append((kind, target_id, code, stored, note, evidence, updated, row[COL_REVISION]))
        values.append(value)
        shown.append([row[0], target_id, row[2], code, row[4], row[5], fact[2], fact[3], form, note, evidence,
                      updated or "", row[COL_REVISION]])
    numbers = {text for fact in facts.values() for text in fact[1][2:]} | {text for _, text in parsed}
    return _Checked(tuple(out), tuple(cells), values, shown, numbers)


def _invalid_value(index: int, target_id: object, code: object, zh: str, en: str) -> SignatureError:
    return refused(FailureCode.INVALID_VALUE, f"第 {index + 2} 行（{target_id} / {code}）{zh}",
                   f"row {index + 2} ({target_id} / {code}): {en}")


def _reviewer_name(conn: sqlite3.Connection, reviewer_id: str) -> str:
    row = conn.execute("SELECT name FROM reviewers WHERE id = ?", (reviewer_id,)).fetchone()
    return row[0] if row else ""


# ----------------------------------------------------------------------------------- visible content


# The names an export, or a spreadsheet program re-saving it, defines: print titles, print area, filter range.
_ALLOWED_NAMES = frozenset({"_xlnm.print_titles", "_xlnm.print_area", "_xlnm._filterdatabase"})
_SHEET_RANGE = r"(?:'(?:评分表|汇总)'|评分表|汇总)!\$?[A-Z]{0,3}\$?[0-9]{0,7}(?::\$?[A-Z]{0,3}\$?[0-9]{0,7})?"
_RANGES = re.compile(rf"{_SHEET_RANGE}(?:,{_SHEET_RANGE})*")


def _check_defined_names(info: XlsxInfo) -> None:
    """Only print titles, print areas and filter ranges, each a plain range of 评分表 or 汇总: any other name
    (a DDE call, a formula a cell could show) is something a signed export never holds."""
    for name, text in info.defined_names:
        if name.casefold() not in _ALLOWED_NAMES or not _RANGES.fullmatch(text.strip()):
            raise _edited(f"xl/workbook.xml 的名称「{name}」/ defined name {name!r}", f"指向 {text[:80]!r}",
                          f"refers to {text[:80]!r}, which a signed export never defines")


def _check_signature_sheet(info: XlsxInfo, signature: SheetData) -> None:
    """The signature sheet stays hidden (veryHidden as exported; a LibreOffice re-save makes it hidden) and holds
    only what the export writes there: a key in column A and its text in column B, nothing else."""
    sheet = info.sheet(signature.name)
    if sheet is None or sheet.state not in ("hidden", "veryHidden"):
        raise _edited(signature.name, "签名表不是隐藏的",
                      "is visible; a signed export keeps the signature sheet hidden")
    for r, row in enumerate(signature.cells):
        key = row[0] if row else None
        value = row[1] if len(row) > 1 else None
        extra = next((c for c, v in enumerate(row[2:], start=2) if v is not None and v != ""), None)
        if extra is None and key in (None, ""):
            extra = None if value in (None, "") else 1  # a text with no key
        elif extra is None and (key not in _SIGNATURE_FIELDS or not isinstance(value, str)):
            extra = 0  # a key the export never writes, or a value that is not text
        if extra is not None:
            raise _edited(f"{signature.name}!{cell_ref(r, extra)}", "含有签名以外的内容",
                          "holds something other than the signature")


def _edited(where: str, zh: str, en: str) -> SignatureError:
    from workbench.signed.layout import edited

    return edited(where, zh, en)


def _check_visible(
    path: Path, info: XlsxInfo, sheets: list[SheetData], signature: SheetData, rows: list[list[Any]],
    checked: _Checked, indicators: list[Indicator], rules: dict[str, str],
) -> None:
    from workbench.signed.layout import check_layout, decimals_of

    by_name = {s.name: s for s in sheets}
    scores = by_name.get(SCORES_SHEET)
    scores_part = info.sheet(SCORES_SHEET)
    if scores is None or scores_part is None:
        raise _edited(SCORES_SHEET, "工作表不存在", "is missing")
    # One reading of the parts, and nothing beyond the cells that changes what they show: no formula in any
    # sheet (the signature sheet's included), no comment, shape, format or validation the export did not write.
    check_layout(path, info, scores_part.part, len(rows),
                 decimals_of(checked.numbers),
                 score_validations([row[COL_CODE] for row in rows], {i.code: i for i in indicators}))
    _check_defined_names(info)
    _check_signature_sheet(info, signature)
    _compare(SCORES_SHEET, [list(COLUMNS), *rows], scores.cells, NUMERIC_COLUMNS, [list(COLUMNS), *checked.shown])
    summary = by_name.get(SUMMARY_SHEET)
    if summary is not None:
        grid = summary_grid(summarise(rows, indicators, rules, checked.values))
        _compare(SUMMARY_SHEET, grid, summary.cells, _SUMMARY_NUMERIC)
    for sheet in sheets:
        if sheet is signature or sheet.name in (SCORES_SHEET, SUMMARY_SHEET):
            continue
        first = has_data(sheet.cells)
        if first is not None:
            raise _edited(f"{sheet.name}!{cell_ref(*first)}", "含有签名内容以外的数据",
                          "holds data that is not part of the signed export")


def _compare(
    name: str, expected: list[list[Any]], actual: list[list[Any]], numeric: frozenset[int],
    shown: list[list[Any]] | None = None,
) -> None:
    """Cell by cell; the first difference named as sheet!cell, with what it shows and what was signed.

    `shown` (the expected rows as calamine reads them) lets a whole unchanged row pass in one comparison.
    """
    for r in range(max(len(expected), len(actual))):
        got = actual[r] if r < len(actual) else []
        if shown is not None and r < len(shown) and got == shown[r]:
            continue
        want = expected[r] if r < len(expected) else []
        for c in range(max(len(want), len(got))):
            w = want[c] if c < len(want) else None
            g = got[c] if c < len(got) else None
            if g == w and (type(g) is str or g is None):
                continue
            if not same_cell(w, g, c in numeric and r > 0):
                shown_text = "（空）/ (empty)" if g in (None, "") else repr(g)
                signed = "（空）/ (empty)" if w is None else repr(w)
                raise _edited(f"{name}!{cell_ref(r, c)}", f"显示 {shown_text}，签名内容为 {signed}",
                              f"shows {shown_text} where the signed content has {signed}")
