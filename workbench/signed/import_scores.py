"""Load values typed into a worksheet (blank or signed export) back into the reviewer's package, audited; or
carry a reviewer's scores from an earlier package of theirs (the .wbk itself, or a worksheet of it) into the
package that was issued to replace it.

The same validation as the app (parse_value); all or nothing: one bad cell and nothing changes. An empty
cell never erases what the package holds, and a pair the app changed since the worksheet was exported
(its audit log says so) is a conflict, not silently overwritten. Carried from an earlier package, a pair the
new package no longer holds is listed in the result, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

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
Pair = tuple[str, str, str]  # (target_kind, target_id, indicator code)
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class ImportResult:
    path: Path
    rows: int
    """Data rows read from 评分表 (or pairs with content read from an earlier package)."""
    changed: int
    """Pairs whose value, note or evidence changed (each audited as reason "import")."""
    unchanged: int
    carried_from: str | None = None
    """The nonce of the earlier package the scores came from; None for a worksheet of this package."""
    dropped: list[Pair] = field(default_factory=list)
    """Pairs of the earlier package with a value, note or link that this package no longer holds."""


class _Entry(NamedTuple):
    """One pair as a source gives it: where it is, its key and its texts (None = empty)."""

    where: str
    value_where: str
    key: Pair
    value: str | None
    note: str | None
    evidence: str | None
    evidence_where: str


def import_scores(package: Path, xlsx: Path) -> ImportResult:
    """Read 评分表 of `xlsx` (or the scores of an earlier package file of the same reviewer and round) and
    write what differs into `package`; refuse the whole file on any problem."""
    from workbench.signed.xlsxcheck import check_xlsx
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    xlsx = Path(xlsx)
    store = Store.open(package, expect=KIND_PACKAGE)
    try:
        if _is_sqlite(xlsx):
            return _carry_package(store, xlsx)
        info = check_xlsx(xlsx)
        sheets = _read(xlsx)
        exported_at, carried_from = _check_nonce(store, sheets, xlsx)
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
        entries = _sheet_entries(scores, xlsx.name)
        return _apply(store, xlsx, entries, exported_at, carried_from)
    finally:
        store.close()


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False  # the worksheet path reports it


def _apply(store: Any, path: Path, entries: Iterable[_Entry | Problem], exported_at: str, carried_from: str | None
           ) -> ImportResult:
    changes, rows, dropped = _changes(store, entries, path.name, exported_at, carry=carried_from is not None)
    # One transaction, a crash leaves all or nothing; in the .wbk itself before success is reported.
    store.set_scores(changes, reason=IMPORT_REASON)
    return ImportResult(path, rows, len(changes), rows - len(changes) - len(dropped), carried_from, dropped)


def _carry_package(store: Any, old_path: Path) -> ImportResult:
    """The scores of an earlier package file of this reviewer and round, whether or not it was superseded."""
    from workbench.scoring.indicators import format_value
    from workbench.store.db import Store
    from workbench.store.schema import KIND_PACKAGE

    old = Store.open(old_path, expect=KIND_PACKAGE)
    try:
        if old.path.resolve() == store.path.resolve() or old.meta.get("nonce") == store.meta.get("nonce"):
            raise WorksheetRefused(f"{display_name(old_path)} 就是本评审包 / is this very package; name the earlier "
                                   "package (or a worksheet of it) to carry its scores")
        _check_same_owner(store, old.meta.get("reviewer_id", ""), old.meta.get("round_id", ""), old_path)
        if old.meta.get("issued_at", "") > store.meta.get("issued_at", ""):
            raise WorksheetRefused(
                f"{display_name(old_path)} 签发于本评审包之后（{old.meta.get('issued_at')}），参数顺序应为 新 旧 / was "
                f"issued after this package ({old.meta.get('issued_at')} > {store.meta.get('issued_at')}); the order "
                "is: workbench import-scores NEW.wbk OLD.wbk")
        indicators = {i.code: i for i in old.indicators()}
        entries = []
        for s in old.scores():
            if s.value is None and not s.note and not s.evidence:
                continue
            ind = indicators.get(s.indicator)
            value = None if s.value is None or ind is None else format_value(ind, s.value)
            where = f"{display_name(old_path)}:{s.target_kind.value}/{s.target_id}/{s.indicator}"
            entries.append(_Entry(where, where, (s.target_kind.value, s.target_id, s.indicator), value,
                                  s.note or None, s.evidence or None, where))
        nonce = old.meta.get("nonce", "")
    finally:
        old.close()
    # The earlier package's values are as old as its last change; every change made in this package counts.
    return _apply(store, old_path, entries, "", nonce)


def _check_same_owner(store: Any, reviewer_id: str, round_id: str, path: Path) -> None:
    if reviewer_id != store.reviewer_id or round_id != store.round_id:
        raise WorksheetRefused(
            f"{display_name(path)} 属于评审专家 {reviewer_id or '不明'}、轮次 {round_id or '不明'}，而本评审包属于 "
            f"{store.reviewer_id}、{store.round_id} / belongs to reviewer {reviewer_id or 'unknown'} of round "
            f"{round_id or 'unknown'}, not to this package's reviewer {store.reviewer_id} of round {store.round_id}")


def _read(path: Path) -> list[SheetData]:
    import python_calamine

    try:
        return read_sheets(path)
    except (python_calamine.CalamineError, ValueError, OSError) as exc:
        name = display_name(path)
        raise WorksheetRefused(f"无法读取 {name} / cannot read {name} as a workbook: {exc}") from None


def _check_nonce(store: Any, sheets: list[SheetData], path: Path) -> tuple[str, str | None]:
    """Refuse a worksheet of another reviewer's or round's package; return when the worksheet was exported
    (UTC ISO 8601) and, for a worksheet of an earlier package of the same reviewer and round, its nonce."""
    nonce: str | None = None
    exported_at = ""
    owner = ("", "")
    for sheet in sheets:
        entries = key_values(sheet)
        fmt = entries.get("format", [""])[0]
        if sheet.name == BLANK_SHEET or fmt == BLANK_FORMAT:
            nonce = (entries.get("nonce") or [""])[0]
            exported_at = (entries.get("created_at") or [""])[0]
            owner = ((entries.get("reviewer_id") or [""])[0], (entries.get("round_id") or [""])[0])
        elif sheet.name == SIGNATURE_SHEET or fmt in SIGNATURE_FORMATS:
            try:
                doc = json.loads(join_payload(fmt, entries.get("payload", [])) or b"")
                nonce, exported_at = doc["nonce"], doc["created_at"]
                owner = (doc["reviewer_id"], doc["round_id"])
            except (ValueError, KeyError, TypeError):
                nonce = ""
    if nonce is None:
        raise WorksheetRefused(
            f"{display_name(path)} 不是从评审包导出的评分表（没有评审包标识）/ "
            "is not a worksheet exported from a package "
            "(it carries no package nonce); start from `workbench export --blank`"
        )
    if nonce and nonce != store.meta.get("nonce") and all(owner):
        _check_same_owner(store, *owner, path)
        return (exported_at if isinstance(exported_at, str) else ""), nonce  # an earlier package's worksheet
    if nonce != store.meta.get("nonce"):
        raise WorksheetRefused(
            f"{display_name(path)} 属于另一个评审包（{nonce or '无法识别'}），不是本评审包 {store.meta.get('nonce')} / "
            f"this worksheet belongs to another package ({nonce or 'unreadable'}), not to this one "
            f"({store.meta.get('nonce')}, reviewer {store.reviewer_id})"
        )
    return (exported_at if isinstance(exported_at, str) else ""), None


def _sheet_entries(sheet: SheetData, file_name: str) -> Iterator[_Entry | Problem]:
    """The rows of 评分表 as entries (a Problem for a row that cannot be read), after checking its headers."""
    cells = sheet.cells
    header = [cell_text(v) if isinstance(v, str) else v for v in (cells[0] if cells else [])]
    if tuple(header[:len(COLUMNS)]) != COLUMNS:
        raise InputRefused(
            [Problem(f"{SCORES_SHEET}!A1", "表头须为 / the headers must be: " + " | ".join(COLUMNS))],
            f"{file_name}: 评分表的表头与导出的不同 / 评分表 does not have the exported headers; nothing was changed",
        )
    for r in range(1, len(cells)):
        row = list(cells[r]) + [None] * (len(COLUMNS) - len(cells[r]))
        where = f"{SCORES_SHEET}!{cell_ref(r, 0)}"
        try:
            texts = [cell_text(v) for v in row[:len(COLUMNS)]]
        except ValueError as exc:
            yield Problem(where, f"单元格不是文字或数字 / a cell holds {exc}")
            continue
        if not any(texts):
            continue
        kind = TARGET_KINDS.get(texts[COL_KIND] or "")
        yield _Entry(where, f"{SCORES_SHEET}!{cell_ref(r, COL_VALUE)}",
                     (kind or "", texts[COL_TARGET] or "", texts[COL_CODE] or ""),
                     texts[COL_VALUE], texts[COL_NOTE], texts[COL_EVIDENCE],
                     f"{SCORES_SHEET}!{cell_ref(r, COL_EVIDENCE)}")


def _changes(store: Any, entries: Iterable[_Entry | Problem], file_name: str, exported_at: str, *, carry: bool
             ) -> tuple[list[ScoreChange], int, list[Pair]]:
    from workbench.errors import InvalidScore
    from workbench.scoring.evidence import evidence_problem
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
    seen: set[Pair] = set()
    changes: list[ScoreChange] = []
    dropped: list[Pair] = []
    rows = 0
    for entry in entries:
        if isinstance(entry, Problem):
            problems.append(entry)
            continue
        rows += 1
        where, value_where, key = entry.where, entry.value_where, entry.key
        score = current.get(key)
        if score is None:
            if carry and all(key):  # an earlier package's pair this one no longer holds: listed, not refused
                dropped.append(key)
                continue
            problems.append(Problem(where, f"{key[1]} / {key[2]} 不是本评审包的评分项 / is not a pair of this package"))
            continue
        if key in seen:
            problems.append(Problem(where, f"{key[1]} / {key[2]} 重复出现 / appears twice"))
            continue
        seen.add(key)
        value = score.value
        typed = entry.value
        if typed is not None:
            try:
                value = parse_value(tree.get(key[2]), typed)
            except InvalidScore as exc:
                problems.append(Problem(value_where, exc.message))
                continue
        # Compared as the worksheet writes text, so an unchanged export imports as no change at all.
        note = entry.note if entry.note not in (None, score.note, clean_text(score.note)) else None
        evidence = entry.evidence if entry.evidence not in (None, score.evidence, clean_text(score.evidence)) else None
        if evidence is not None and (problem := evidence_problem(evidence)):  # the app's rule for a link
            problems.append(Problem(entry.evidence_where, problem))
            continue
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
    return changes, rows, dropped
