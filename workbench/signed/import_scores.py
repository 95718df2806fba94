"""Load values typed into a worksheet (blank or signed export) back into the reviewer's package, audited.

The same validation as the app (parse_value); all or nothing: one bad cell and nothing changes. An empty
cell never erases what the package holds, and a pair the app changed since the worksheet was exported
(its audit log says so) is a conflict, not silently overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import InputRefused, Problem, WorksheetRefused
from workbench.model import TargetKind
from workbench.signed.worksheet import (
    BLANK_FORMAT,
    BLANK_SHEET,
    COL_CODE,
    COL_EVIDENCE,
    COL_KIND,
    COL_NOTE,
    COL_TARGET,
    COL_VALUE,
    COLUMNS,
    SCORES_SHEET,
    SIGNATURE_FORMATS,
    SIGNATURE_SHEET,
    TARGET_KINDS,
    SheetData,
    cell_ref,
    cell_text,
    clean_text,
    display_name,
    join_payload,
    key_values,
    read_sheets,
)
from workbench.store.db import ScoreChange

IMPORT_REASON = "import"


@dataclass(frozen=True)
class ImportResult:
    path: Path
    rows: int
    """Data rows read from 评分表."""
    changed: int
    """Pairs whose value, note or evidence changed (each audited as reason "import")."""
    unchanged: int


def import_scores(package: Path, xlsx: Path) -> ImportResult:
    """Read 评分表 of `xlsx` and write what differs into `package`; refuse the whole file on any problem."""
    from workbench.signed.xlsxcheck import check_xlsx

    xlsx = Path(xlsx)
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    store = Store.open(package, expect=KIND_PACKAGE)
    try:
        info = check_xlsx(xlsx)
        sheets = _read(xlsx)
        exported_at = _check_nonce(store, sheets, xlsx)
        scores = next((s for s in sheets if s.name == SCORES_SHEET), None)
        if scores is None:
            raise WorksheetRefused(
                f"{display_name(xlsx)} 中没有「{SCORES_SHEET}」工作表 / has no sheet named {SCORES_SHEET}"
            )
        part = info.sheet(SCORES_SHEET)
        cell = info.sheet_facts[part.part].formula_cell if part is not None and part.part in info.sheet_facts else None
        if cell is not None:
            formula = f"{SCORES_SHEET}!{cell}"
            raise InputRefused(
                [Problem(formula, "请填写数值或文字，不要用公式 / type a value or text, not a formula")],
                f"{display_name(xlsx)}: 评分表含有公式，未作任何修改 / 评分表 holds a formula; nothing was changed",
            )
        changes, rows = _changes(store, scores, xlsx.name, exported_at)
        # One transaction, a crash leaves all or nothing; in the .wbk itself before success is reported.
        store.set_scores(changes, reason=IMPORT_REASON)
        return ImportResult(xlsx, rows, len(changes), rows - len(changes))
    finally:
        store.close()


def _read(path: Path) -> list[SheetData]:
    import python_calamine

    try:
        return read_sheets(path)
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        name = display_name(path)
        raise WorksheetRefused(f"无法读取 {name} / cannot read {name} as a workbook: {exc}") from None


def _check_nonce(store: Any, sheets: list[SheetData], path: Path) -> str:
    """Refuse a worksheet of another package; return when the worksheet was exported (UTC ISO 8601)."""
    nonce: str | None = None
    exported_at = ""
    for sheet in sheets:
        entries = key_values(sheet)
        fmt = entries.get("format", [""])[0]
        if sheet.name == BLANK_SHEET or fmt == BLANK_FORMAT:
            nonce = (entries.get("nonce") or [""])[0]
            exported_at = (entries.get("created_at") or [""])[0]
        elif sheet.name == SIGNATURE_SHEET or fmt in SIGNATURE_FORMATS:
            try:
                doc = json.loads(join_payload(fmt, entries.get("payload", [])) or b"")
                nonce, exported_at = doc["nonce"], doc["created_at"]
            except (ValueError, KeyError, TypeError):
                nonce = ""
    if nonce is None:
        raise WorksheetRefused(
            f"{display_name(path)} 不是从评审包导出的评分表（没有评审包标识）/ "
            "is not a worksheet exported from a package "
            "(it carries no package nonce); start from `workbench export --blank`"
        )
    if nonce != store.meta.get("nonce"):
        raise WorksheetRefused(
            f"{display_name(path)} 属于另一个评审包（{nonce or '无法识别'}），不是本评审包 {store.meta.get('nonce')} / "
            f"this worksheet belongs to another package ({nonce or 'unreadable'}), not to this one "
            f"({store.meta.get('nonce')}, reviewer {store.reviewer_id})"
        )
    return exported_at if isinstance(exported_at, str) else ""


def _changes(store: Any, sheet: SheetData, file_name: str, exported_at: str) -> tuple[list[ScoreChange], int]:
    from workbench.errors import InvalidScore
    from workbench.scoring.indicators import IndicatorTree, parse_value

    tree = IndicatorTree(store.indicators())
    # Pairs the app changed after the worksheet was exported (the audit log says so; imports do not count,
    # so filling a worksheet in several sittings and importing it each time is no conflict). Times have
    # whole seconds: an edit in the export's own second is taken as before it. Without an export time
    # every pair the app ever changed counts: fail safe.
    changed_in_app = {
        (r[0], r[1], r[2]) for r in store.conn.execute(
            "SELECT target_kind, target_id, indicator FROM score_events WHERE at > ? AND reason != ?",
            (exported_at, IMPORT_REASON))
    }
    current = {(s.target_kind.value, s.target_id, s.indicator): s for s in store.scores()}
    problems: list[Problem] = []
    cells = sheet.cells
    header = [cell_text(v) if isinstance(v, str) else v for v in (cells[0] if cells else [])]
    if tuple(header[:len(COLUMNS)]) != COLUMNS:
        raise InputRefused(
            [Problem(f"{SCORES_SHEET}!A1", "表头须为 / the headers must be: " + " | ".join(COLUMNS))],
            f"{file_name}: 评分表的表头与导出的不同 / 评分表 does not have the exported headers; nothing was changed",
        )
    seen: set[tuple[str, str, str]] = set()
    changes: list[ScoreChange] = []
    rows = 0
    for r in range(1, len(cells)):
        row = list(cells[r]) + [None] * (len(COLUMNS) - len(cells[r]))
        where = f"{SCORES_SHEET}!{cell_ref(r, 0)}"
        try:
            texts = [cell_text(v) for v in row[:len(COLUMNS)]]
        except ValueError as exc:
            problems.append(Problem(where, f"单元格不是文字或数字 / a cell holds {exc}"))
            continue
        if not any(texts):
            continue
        rows += 1
        kind = TARGET_KINDS.get(texts[COL_KIND] or "")
        key = (kind or "", texts[COL_TARGET] or "", texts[COL_CODE] or "")
        score = current.get(key)
        if score is None:
            problems.append(Problem(where, f"{key[1]} / {key[2]} 不是本评审包的评分项 / is not a pair of this package"))
            continue
        if key in seen:
            problems.append(Problem(where, f"{key[1]} / {key[2]} 重复出现 / appears twice"))
            continue
        seen.add(key)
        value_where = f"{SCORES_SHEET}!{cell_ref(r, COL_VALUE)}"
        value = score.value
        typed = texts[COL_VALUE]
        if typed is not None:
            try:
                value = parse_value(tree.get(key[2]), typed)
            except InvalidScore as exc:
                problems.append(Problem(value_where, exc.message))
                continue
        # Compared as the worksheet writes text, so an unchanged export imports as no change at all.
        note = texts[COL_NOTE] if texts[COL_NOTE] not in (None, clean_text(score.note)) else None
        evidence = texts[COL_EVIDENCE] if texts[COL_EVIDENCE] not in (None, clean_text(score.evidence)) else None
        if value == score.value and note is None and evidence is None:
            continue
        if key in changed_in_app:
            problems.append(Problem(
                value_where,
                f"此项在导出本表（{exported_at or '时间不明'}）后已在评审界面中修改，请重新导出后再填写 / changed in "
                f"the app since this worksheet was exported ({exported_at or 'time unknown'}); export again and "
                "re-enter it",
            ))
            continue
        changes.append(ScoreChange(TargetKind(key[0]), key[1], key[2], value, note, evidence))
    if problems:
        raise InputRefused(problems, f"{file_name}: {len(problems)} 处问题，未作任何修改 / "
                                     f"{len(problems)} problem(s) found; nothing was changed")
    return changes, rows
