"""The reviewer worksheet: write 评分表, 汇总 and the signature sheet (openpyxl write-only), signed over content.

`export_package` is the one function the CLI and the TUI call. Every refusal (no registered key, another
key, unscored indicators, an unreadable key, a wrong passphrase) happens before any file is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import (
    ExportRefused,
    NoRegisteredKey,
    UnscoredIndicators,
    WorkbenchError,
    WrongKey,
)
from workbench.model import TARGET_LABELS, TargetKind
from workbench.signed.worksheet import (
    BLANK_FORMAT,
    BLANK_SHEET,
    COL_CODE,
    COL_EVIDENCE,
    COL_MAX,
    COL_NOTE,
    COL_REVISION,
    COL_STEP,
    COL_VALUE,
    COLUMNS,
    ERROR_TEXTS,
    FORMULA_PREFIXES,
    INDICATOR_LABELS,
    PAYLOAD_FORMAT,
    SCORES_SHEET,
    SIGNATURE_FORMAT,
    SIGNATURE_SHEET,
    SUMMARY_SHEET,
    Row,
    clean_text,
    display_name,
    needs_text_guard,
    payload_chunks,
    plain_decimal,
    score_validations,
    shown_number,
    summarise,
    summary_grid,
)

if TYPE_CHECKING:  # at run time these load lazily, inside the functions that need them
    from workbench.model import Indicator
    from workbench.signed.keys import SecretKey
    from workbench.store.db import Store

KEY_FILE_ENV = "WORKBENCH_KEY"
MAX_CELL_CHARS = 32_767  # Excel cuts longer text on opening
UNSCORED_SHOWN = 30

_SCORE_WIDTHS = (8, 10, 26, 10, 24, 8, 6, 6, 8, 36, 36, 21, 6)
_SUMMARY_WIDTHS = (8, 10, 30, 8, 8, 6, 6)
@dataclass(frozen=True)
class ExportResult:
    path: Path
    signed: bool
    rows: int
    unscored: int
    targets: int
    nonce: str
    reviewer_id: str
    round_id: str
    seq: int | None = None
    export_id: str | None = None
    key_id: str | None = None
    payload_sha256: str | None = None
    warning: str | None = None
    """Set when the package is a copy taken while the app had it open: the last change may be missing."""


def default_key_file() -> Path:
    """$WORKBENCH_KEY, else $XDG_CONFIG_HOME/workbench/workbench.key (~/.config/workbench/workbench.key)."""
    from_env = os.environ.get(KEY_FILE_ENV)
    if from_env:
        return Path(from_env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "workbench" / "workbench.key"


def key_file_key_id(path: Path) -> str:
    """The key id a secret key file declares, read without its passphrase (the file's AEAD binds it)."""
    from workbench.errors import KeyFileError
    from workbench.signed.keys import (
        _MAX_KEY_FILE_BYTES,
        SECRET_KEY_FORMAT,
        parse_public_key,
    )

    try:
        with open(path, "rb") as handle:
            content = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(
            f"找不到私钥文件 {path}；请先运行 workbench keygen，或用 --key 指定 / no secret key file at {path}; "
            "run `workbench keygen` first or pass --key FILE"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"无法读取私钥文件 / cannot read secret key file {path}: {exc.strerror}") from None
    try:
        document = json.loads(content.decode("utf-8"))
        if document["format"] != SECRET_KEY_FORMAT:
            raise ValueError("format")
        return parse_public_key(document["public_key"]).key_id_text
    except (ValueError, KeyError, TypeError, RecursionError, WorkbenchError):
        raise KeyFileError(f"不是工作台私钥文件 / {path} is not a workbench secret key file") from None


@dataclass
class _Snapshot:
    """A package's worksheet content, read inside one transaction."""

    meta: dict[str, str]
    rows: list[Row]
    values: list[Any]
    """Each row's value as stored (Decimal, NA or None), for 汇总."""
    indicators: list[Indicator]
    rules: dict[str, str]
    unscored: list[tuple[str, str, str, str, str]] = field(default_factory=list)


def check_export(
    package: Path, *, key_file: Path | None, allow_incomplete: bool = False, blank: bool = False
) -> None:
    """Every refusal export_package would make before asking for a passphrase; raises, or returns None."""
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    store = Store.open(package, expect=KIND_PACKAGE)
    try:
        meta = dict(store.meta)
        if not blank:
            _check_key(meta, key_file or default_key_file())
        snapshot = _read_snapshot(store)
        if not blank and not allow_incomplete:
            _refuse_unscored(snapshot)
        if not blank:
            _refuse_kept_without_note(store)
    finally:
        store.close()


def export_package(
    package: Path,
    out: Path,
    *,
    key_file: Path | None,
    passphrase: str | None,
    allow_incomplete: bool = False,
    blank: bool = False,
) -> ExportResult:
    """Write the package's worksheet to `out`: signed (seq + 1, audited in the package), or with `blank`
    unsigned, carrying the package nonce, for a reviewer who fills it in and imports it back."""
    from workbench.errors import PassphraseRefused
    from workbench.signed.keys import load_secret_key
    from workbench.store.db import Store, utc_now
    from workbench.store.schema import KIND_PACKAGE

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise ExportRefused(f"输出文件须以 .xlsx 结尾 / the output file must end in .xlsx: {out}")
    if not out.parent.is_dir():
        raise ExportRefused(f"目录不存在 / no such directory: {out.parent}")
    key_path = key_file or default_key_file()
    store = Store.open(package, expect=KIND_PACKAGE)  # its one write is folded (and synced) before it returns
    remove_leftovers(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        meta = dict(store.meta)
        if not blank:
            _check_key(meta, key_path)
        # The rows signed and the seq bumped belong to one state; the seq is in the .wbk itself on return.
        with store.writing():
            snapshot = _read_snapshot(store)
            if not blank and not allow_incomplete:
                _refuse_unscored(snapshot)
            if not blank:
                _refuse_kept_without_note(store)
            summary = summarise(snapshot.rows, snapshot.indicators, snapshot.rules, snapshot.values)
            common: dict[str, Any] = {"meta": meta, "rows": len(snapshot.rows),
                                      "unscored": len(snapshot.unscored), "targets": len(summary)}
            if blank:
                marker = _blank_marker(meta, utc_now())
                _write_workbook(tmp, snapshot.rows, summary_grid(summary), BLANK_SHEET, marker, locked=False,
                                indicators=snapshot.indicators)
                os.replace(tmp, out)
                return _result(out, False, **common, warning=store.unclean_warning)
            if passphrase is None:
                raise PassphraseRefused("需要口令才能签名 / a passphrase is needed to sign the export")
            secret = load_secret_key(key_path, passphrase)
            if secret.key_id_text != meta.get("key_id"):
                raise WrongKey(_wrong_key_message(meta["key_id"], secret.key_id_text))
            seq = int(_meta_value(store, "export_seq") or "0") + 1
            export_id = str(uuid.uuid4())
            created_at = utc_now()
            payload, minisig, digest = _sign_payload(snapshot, secret, export_id, seq, created_at)
            hidden_rows = signature_rows(payload, minisig, digest)
            _write_workbook(tmp, snapshot.rows, summary_grid(summary), SIGNATURE_SHEET, hidden_rows,
                            locked=True, indicators=snapshot.indicators)
            audit = {"export_id": export_id, "created_at": created_at, "key_id": secret.key_id_text,
                     "rows": len(snapshot.rows), "payload_sha256": digest, "file": display_name(out)}
            store.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('export_seq', ?)", (str(seq),))
            store.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                (f"export:{seq:06d}", json.dumps(audit, ensure_ascii=False, sort_keys=True)),
            )
        os.replace(tmp, out)
        return _result(out, True, **common, seq=seq, export_id=export_id, key_id=secret.key_id_text,
                       payload_sha256=digest, warning=store.unclean_warning)
    finally:
        tmp.unlink(missing_ok=True)
        store.close()


def guarded_cell(sheet: Any, text: str) -> Any:
    """A write-only string cell for text a spreadsheet would take as a formula or an error value: typed as a
    string and shown with a quote prefix, so that no reader ever evaluates it. Only such texts are wrapped:
    wrapping every cell would make writing a worksheet much slower."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def remove_leftovers(out: Path) -> None:
    """Remove the temporary files an export to `out` killed midway left beside it (a live export's are kept)."""
    for leftover in out.parent.glob(f".{glob_escape(out.name)}.*.tmp"):
        pid = leftover.name[len(out.name) + 2:-len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of this very process id, from an earlier run
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _result(out: Path, signed: bool, *, meta: dict[str, str], rows: int, unscored: int, targets: int,
            **signed_fields: Any) -> ExportResult:
    return ExportResult(path=out, signed=signed, rows=rows, unscored=unscored, targets=targets,
                        nonce=meta["nonce"], reviewer_id=meta["reviewer_id"], round_id=meta["round_id"],
                        **signed_fields)


def _meta_value(store: Store, key: str) -> str | None:
    row = store.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _check_key(meta: dict[str, str], key_path: Path) -> None:
    recorded = meta.get("key_id") or ""
    if not recorded:
        raise NoRegisteredKey(
            "此评审包签发时尚未登记您的公钥，无法签名导出。请把 workbench keygen 输出的公钥发给协调人，"
            "待其执行 workbench keys add 后重新签发评审包 / this package was issued before your public key was "
            "registered, so an export of it cannot be signed: send the public key line from `workbench keygen` "
            "to the coordinator and ask for a package issued after `workbench keys add`"
        )
    held = key_file_key_id(key_path)
    if held != recorded:
        raise WrongKey(_wrong_key_message(recorded, held))


def _wrong_key_message(recorded: str, held: str) -> str:
    return (
        f"此评审包登记的密钥为 {recorded}，而所用私钥为 {held}；未写入任何文件 / this package was issued for key "
        f"{recorded}, but the key file holds key {held}; nothing was written. Use the key you registered (--key), "
        "or ask the coordinator for a package issued after registering this key"
    )


def _refuse_unscored(snapshot: _Snapshot) -> None:
    if not snapshot.unscored:
        return
    shown = [
        f"{label} {tid} {name}：{code} {ind}" for label, tid, name, code, ind in snapshot.unscored[:UNSCORED_SHOWN]
    ]
    more = len(snapshot.unscored) - len(shown)
    lines = "\n  ".join(shown) + (f"\n  …… 另有 {more} 项 / and {more} more" if more else "")
    raise UnscoredIndicators(
        f"尚有 {len(snapshot.unscored)} 项未评分，未写入任何文件（确需导出未完成的评分，请加 --allow-incomplete）/ "
        f"{len(snapshot.unscored)} indicator(s) are not scored yet; nothing was written "
        f"(use --allow-incomplete to export anyway):\n  {lines}",
        list(snapshot.unscored),
    )


def _refuse_kept_without_note(store: Store) -> None:
    """On re-review, a reviewer who keeps the value they gave says why: a kept value needs a note."""
    from workbench.scoring.indicators import IndicatorTree, format_value
    from workbench.store.db import decode_value

    notes = store.rereview_notes()
    if not notes:
        return
    tree = IndicatorTree(store.indicators())
    kept = []
    for kind, target_id, code, stored, note in store.conn.execute(
        "SELECT target_kind, target_id, indicator, value, note FROM scores ORDER BY target_kind DESC, target_id"
    ):
        told = notes.get((kind, target_id, code))
        if told is None or note.strip() or stored is None:
            continue
        if format_value(tree.get(code), decode_value(stored)) == told.own:
            kept.append(f"{TARGET_LABELS[kind]} {target_id}：{code} {tree.get(code).name}（{told.own}）")
    if kept:
        lines = "\n  ".join(kept[:UNSCORED_SHOWN]) + (
            f"\n  …… 另有 {len(kept) - UNSCORED_SHOWN} 项 / and {len(kept) - UNSCORED_SHOWN} more"
            if len(kept) > UNSCORED_SHOWN else "")
        raise ExportRefused(
            f"复核时保留原评分的 {len(kept)} 项须填写备注说明理由（m 键），未写入任何文件 / {len(kept)} re-reviewed "
            f"item(s) keep the value given before: add a note saying why (key m); nothing was written:\n  {lines}"
        )


def _read_snapshot(store: Store) -> _Snapshot:
    """The package's rows in worksheet order: sites then cases, by id, leaves in the tree's order."""
    from workbench.scoring.indicators import IndicatorTree, format_value
    from workbench.store.db import decode_value

    meta = {r[0]: r[1] for r in store.conn.execute("SELECT key, value FROM meta")}
    indicators = store.indicators()
    tree = IndicatorTree(indicators)
    order = {node.code: index for index, node in enumerate(tree.nodes())}
    names = {(TargetKind.SITE, r[0]): r[1] for r in store.conn.execute("SELECT id, name FROM sites")}
    names.update({(TargetKind.CASE, r[0]): r[1] for r in store.conn.execute("SELECT id, title FROM cases")})
    fetched = store.conn.execute(
        "SELECT target_kind, target_id, indicator, value, note, evidence, updated_at, revision FROM scores "
        "WHERE round = ? AND reviewer_id = ?",
        (meta["round_id"], meta["reviewer_id"]),
    ).fetchall()
    fetched.sort(key=lambda r: (r[0] != TargetKind.SITE, r[1], order.get(r[2], len(order))))
    # An 18k-row package repeats few targets, indicators and values: each is worked out once.
    targets: dict[tuple[str, str], tuple[str, str | None, str | None]] = {}
    static: dict[str, tuple[Any, ...]] = {}
    shown: dict[tuple[str, str | None], tuple[Any, str | None]] = {}
    rows: list[Row] = []
    values: list[Any] = []
    unscored: list[tuple[str, str, str, str, str]] = []
    for kind, target_id, code, stored, note, evidence, updated_at, revision in fetched:
        target = targets.get((kind, target_id))
        if target is None:
            target = targets[(kind, target_id)] = (
                TARGET_LABELS[kind], clean_text(target_id), clean_text(names.get((kind, target_id), "")))
            _check_length(target[2], kind, target_id, code)
        ind = static.get(code)
        if ind is None:
            indicator = tree.get(code)
            ind = static[code] = (indicator, clean_text(code), clean_text(indicator.name),
                                  INDICATOR_LABELS[indicator.kind], plain_decimal(indicator.max_score),
                                  plain_decimal(indicator.step))
        value = shown.get((code, stored))
        if value is None:
            try:
                decoded = decode_value(stored)
                value = shown[(code, stored)] = (decoded, format_value(ind[0], decoded) or None)
            except (ArithmeticError, ValueError):
                raise ExportRefused(
                    f"评审包中 {kind} {target_id} / {code} 的得分 {stored!r} 无效 / the package holds an invalid "
                    f"value {stored!r} for {kind} {target_id} / {code}"
                ) from None
        note_text = clean_text(note) if note else None
        evidence_text = clean_text(evidence) if evidence else None
        if note_text is not None or evidence_text is not None:
            _check_length(note_text, kind, target_id, code)
            _check_length(evidence_text, kind, target_id, code)
        rows.append([target[0], target[1], target[2], ind[1], ind[2], ind[3], ind[4], ind[5], value[1], note_text,
                     evidence_text, clean_text(updated_at) if updated_at else None, int(revision)])
        values.append(value[0])
        if value[1] is None:
            unscored.append((target[0], target_id, target[2] or "", code, ind[2] or ""))
    return _Snapshot(meta, rows, values, indicators, store.rules_mapping(), unscored)


def _check_length(text: str | None, kind: str, target_id: str, code: str) -> None:
    if text is not None and len(text) > MAX_CELL_CHARS:
        raise ExportRefused(
            f"{kind} {target_id} / {code} 的文字超过 {MAX_CELL_CHARS} 字，表格无法容纳 / a text of "
            f"{kind} {target_id} / {code} is longer than a spreadsheet cell holds ({MAX_CELL_CHARS})"
        )


def _sign_payload(
    snapshot: _Snapshot, secret: SecretKey, export_id: str, seq: int, created_at: str
) -> tuple[bytes, str, str]:
    from workbench.setup.package import indicators_hash
    from workbench.signed.signing import sign, trusted_comment_for

    meta = snapshot.meta
    document = {
        "format": PAYLOAD_FORMAT,
        "export_id": export_id,
        "reviewer_id": meta["reviewer_id"],
        "key_id": secret.key_id_text,
        "round_id": meta["round_id"],
        "nonce": meta["nonce"],
        "seq": seq,
        "created_at": created_at,
        "indicators_hash": indicators_hash(snapshot.indicators),
        "columns": list(COLUMNS),
        "rows": snapshot.rows,
    }
    # Every text went through clean_text (NFC, \n line ends) and the rows hold only str, None and int, so
    # signing.canonical_json would return exactly these bytes; its normalising walk over 230k values is
    # skipped for speed. The verifier's strict parse_canonical would refuse any difference.
    payload = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         allow_nan=False).encode("utf-8")
    digest = hashlib.sha256(payload).hexdigest()
    comment = trusted_comment_for(export_id, meta["reviewer_id"], meta["round_id"], seq, len(snapshot.rows), digest)
    minisig = sign(payload, secret, comment, untrusted_comment=f"workbench export seq {seq}")
    return payload, minisig, digest


def signature_rows(payload: bytes, minisig: str, digest: str) -> list[list[str]]:
    """The signature sheet's key/value rows for a signed payload."""
    chunks = payload_chunks(payload)
    return [["format", SIGNATURE_FORMAT], ["minisig", minisig], ["payload_sha256", digest],
            ["payload_chunks", str(len(chunks))], *(["payload", chunk] for chunk in chunks)]


def _blank_marker(meta: dict[str, str], created_at: str) -> list[list[str]]:
    return [["format", BLANK_FORMAT], ["nonce", meta["nonce"]], ["round_id", meta["round_id"]],
            ["reviewer_id", meta["reviewer_id"]], ["created_at", created_at]]


def _write_workbook(
    path: Path,
    rows: Sequence[Row],
    summary: Sequence[Sequence[object]],
    hidden_name: str,
    hidden_rows: Sequence[Sequence[str]],
    *,
    locked: bool,
    indicators: Sequence[Indicator] = (),
) -> None:
    """评分表 (frozen header, widths, validation on 得分, convenience protection), 汇总, and a veryHidden
    sheet of key/value text. With locked=False 得分/备注/佐证链接 stay editable under the protection."""
    from openpyxl import Workbook
    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SCORES_SHEET)
    _layout(sheet, _SCORE_WIDTHS, len(rows) + 1)
    # 得分's validations: the general one, and one per indicator with scoring levels (评分细则), whose input
    # message lists them (a dropdown of them where every value is a level); verify expects exactly these.
    for spec in score_validations([row[COL_CODE] for row in rows], {i.code: i for i in indicators}):
        validation = DataValidation(
            type=spec.type, formula1=spec.formula, allow_blank=True, showErrorMessage=True,
            showInputMessage=True, errorTitle=spec.error_title, error=spec.error,
            promptTitle=spec.prompt_title, prompt=spec.prompt, sqref=spec.sqref,
        )
        sheet.data_validations.append(validation)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    sheet.append([_header(WriteOnlyCell(sheet, h), header_font, header_fill) for h in COLUMNS])
    visible = _Visible(sheet)
    unlocked = Protection(locked=False)
    for row in rows:
        cells = visible(row)
        if not locked:  # the blank worksheet: what a reviewer fills in stays editable
            for col in (COL_VALUE, COL_NOTE, COL_EVIDENCE):
                cell = cells[col] if isinstance(cells[col], Cell) else WriteOnlyCell(sheet, cells[col])
                cell.protection = unlocked
                cells[col] = cell
        sheet.append(cells)

    summary_sheet = workbook.create_sheet(SUMMARY_SHEET)
    _layout(summary_sheet, _SUMMARY_WIDTHS, len(summary) - 2)
    for index, line in enumerate(summary):
        if index == 0:
            summary_sheet.append(
                [_header(WriteOnlyCell(summary_sheet, str(h)), header_font, header_fill) for h in line]
            )
        elif index == len(summary) - 1:
            note = WriteOnlyCell(summary_sheet, str(line[0]))
            note.alignment = Alignment(wrap_text=False)
            note.font = Font(italic=True, color="666666")
            summary_sheet.append([note])
        else:
            cells = [visible.guard(c) if isinstance(c, str) else c for c in line]
            if len(cells) > 3 and cells[3] is not None:  # totals to one decimal, as published
                cells[3] = WriteOnlyCell(summary_sheet, cells[3])
                cells[3].number_format = "0.0"
            summary_sheet.append(cells)

    hidden = workbook.create_sheet(hidden_name)
    hidden.sheet_state = "veryHidden"
    for key, value in hidden_rows:
        hidden.append([_as_text(WriteOnlyCell(hidden, key)), _as_text(WriteOnlyCell(hidden, value))])
    workbook.save(path)


def _layout(sheet: Any, widths: Sequence[int], last_row: int) -> None:
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    # A convenience against slips, not security: filtering and resizing stay allowed.
    sheet.protection.sheet = True
    sheet.protection.autoFilter = False
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{max(last_row, 1)}"


def _header(cell: Any, font: Any, fill: Any) -> Any:
    cell.font = font
    cell.fill = fill
    return cell


def _as_text(cell: Any) -> Any:
    cell.data_type = "s"  # never a formula or an error value, whatever the text starts with
    return cell


class _Visible:
    """Payload rows as the cells written: numbers for 满分/步长/numeric 得分 (converted once per distinct text),
    and only the texts a spreadsheet would take for a formula wrapped as string cells with a quote prefix
    (wrapping every cell would make the export much slower)."""

    _TEXT_COLUMNS = tuple(c for c in range(len(COLUMNS)) if c not in (COL_MAX, COL_STEP, COL_VALUE, COL_REVISION))

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self.numbers: dict[str, Any] = {}

    def guard(self, text: str) -> Any:
        return guarded_cell(self.sheet, text) if needs_text_guard(text) else text

    def number(self, text: str | None) -> Any:
        if text is None:
            return None
        shown = self.numbers.get(text)
        if shown is None:
            shown = self.numbers[text] = shown_number(text)
        return self.guard(shown) if isinstance(shown, str) else shown

    def __call__(self, row: Row) -> list[Any]:
        cells = list(row)
        cells[COL_MAX] = self.number(row[COL_MAX])
        cells[COL_STEP] = self.number(row[COL_STEP])
        cells[COL_VALUE] = self.number(row[COL_VALUE])
        for col in self._TEXT_COLUMNS:
            text = cells[col]
            if text is not None and text[0] in _GUARD_FIRST:
                cells[col] = self.guard(text)
        return cells


_GUARD_FIRST = frozenset(c[0] for c in (*FORMULA_PREFIXES, *ERROR_TEXTS))
