"""`workbench appeals ROUND.db FILE`: take in the evaluated units' appeals (申诉) against the provisional publication.

The file is read by `init`'s table reader (headers in Chinese or English, every problem located as file:row:column,
a formula or an error value refused where it is) and taken whole or not at all. An appeal counts as submitted on
its 提交日期 (a date cell, or text such as 2023-01-05, 2023/1/5 or 2023年1月5日: year first), or, when the
column is absent or the cell empty, on the day of the import; dates are 北京时间 calendar dates. It is taken
when that day lies within the 公示 window: from the provisional publication's day to its --until day, both
included, and not after the day of the import. A row already imported (the same 申诉编号 with the same content) is
a no-op; the same 申诉编号 with other content is refused, since an appeal is kept as it was received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from workbench.consolidation.appeals import (
    Appeal,
    AppealRefused,
    Publication,
    ensure_appeal_tables,
    provisional_publication,
    publications,
    read_appeals,
    today_in_beijing,
)
from workbench.errors import InputRefused, Problem
from workbench.model import TARGET_LABELS, TargetKind
from workbench.scoring.indicators import IndicatorTree
from workbench.setup.tables import ALIASES, Cell, read_table, shown
from workbench.store.db import Store, transaction, utc_now
from workbench.store.migrations import upgrade
from workbench.store.schema import KIND_ROUND

REQUIRED = ("appeal_id", "target_kind", "target_id", "appellant", "description")
OPTIONAL = ("indicator", "evidence", "submitted_at")
APPEAL_ALIASES = {
    **ALIASES,
    "appeal_id": ("申诉编号", "appeal_id"),
    "appellant": ("申诉单位", "appellant"),
    # the reason is read as free text (line breaks kept), as a description is
    "description": ("理由", "申诉理由", "reason"),
    "evidence": ("佐证链接", "佐证材料", "evidence"),
    "submitted_at": ("提交日期", "申诉日期", "submitted_at", "date"),
}
"""The appeals file's headers → its columns (documented in the README)."""
TARGET_WORDS = {"site": TargetKind.SITE, "网站": TargetKind.SITE, "case": TargetKind.CASE, "案例": TargetKind.CASE}
_DATE = re.compile(r"(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?(?:[T ]00:00(?::00)?)?")
_COMPARED = ("target_kind", "target_id", "indicator", "appellant", "reason", "evidence")


@dataclass(frozen=True)
class IntakeSummary:
    file: str
    added: int
    unchanged: int
    publication: Publication


def parse_date(text: str) -> date | None:
    """A year-first date (2023-01-05, 2023/1/5, 2023.1.5, 2023年1月5日, or a date cell's ISO text); None otherwise."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def import_appeals(round_db: Path, path: Path, *, today: date | None = None) -> IntakeSummary:
    """Import an appeals file into the round; InputRefused (every problem located) or AppealRefused otherwise,
    with nothing written. ``today`` is the day of the import (北京时间; a test pins it)."""
    today = today or today_in_beijing()
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        upgrade(store.conn)
        publication = provisional_publication(store)
        if publication is None:
            final = any(p.kind == "final" for p in publications(store))
            if final:
                raise AppealRefused(
                    "轮次已正式发布，公示期已结束，不再受理申诉 / the round's final results are published: the 公示 "
                    "period is over and no appeal is taken any more")
            raise AppealRefused(
                "轮次尚未公示，还不能受理申诉；请先发布公示版：workbench publish ROUND.db --key coord.key "
                "--provisional --until 截止日期 -o 公示包 / the round has no provisional publication yet, so no appeal "
                "can be taken: publish the 公示 first (workbench publish ROUND.db --key coord.key --provisional "
                "--until DATE -o BUNDLE)")
        table = read_table(path, REQUIRED, OPTIONAL, APPEAL_ALIASES, collect=True)
        problems = list(table.problems)
        quiet = {cell.where for row in table.rows for cell in row.values() if cell.refused}
        known = {a.appeal_id: a for a in read_appeals(store)}
        tree = IndicatorTree(store.indicators())
        targets = {(t.kind, t.id): t for t in store.targets()}
        until = date.fromisoformat(publication.until or "")
        starts = publication.starts
        added: list[Appeal] = []
        seen: dict[str, tuple[tuple[str, ...], str]] = {}
        unchanged = 0

        def refuse(cell: Cell, reason: str) -> None:
            if cell.where not in quiet:
                problems.append(Problem(cell.where, shown(reason, limit=None)))

        for row, where in zip(table.rows, table.row_wheres, strict=True):
            before = len(problems)
            appeal_id = row["appeal_id"].value
            if not appeal_id:
                refuse(row["appeal_id"], "申诉编号为空 / appeal_id is empty")
            kind = TARGET_WORDS.get(row["target_kind"].value.casefold())
            target_id = row["target_id"].value
            if kind is None:
                both = [TARGET_LABELS[k] for k in TargetKind if (k, target_id) in targets]
                hint = (f"；编号 {target_id} 是{'、'.join(both)}" if both else "")
                refuse(row["target_kind"], f"对象类型「{row['target_kind'].value}」应为 网站 或 案例{hint} / "
                                           "target_kind must be site (网站) or case (案例)")
            elif (kind, target_id) not in targets:
                other = next((k for k in TargetKind if k != kind and (k, target_id) in targets), None)
                hint_zh = (f"；本轮有编号为 {target_id} 的{TARGET_LABELS[other]}，"
                           f"对象类型是否应为{TARGET_LABELS[other]}？") if other else "；请核对编号"
                hint_en = f"; the round has a {other.value} {target_id}: should target_kind be {other.value}?" \
                    if other else "; check the id"
                refuse(row["target_id"], f"本轮次没有编号为「{target_id}」的{TARGET_LABELS[kind]}，不受理对它的申诉"
                                         f"{hint_zh} / the round has no {kind.value} {target_id!r}, so an appeal "
                                         f"against it is refused{hint_en}")
            elif targets[(kind, target_id)].calibration:
                refuse(row["target_id"], f"{target_id} 是校准对象，不计入任何结果，不能申诉 / {target_id} is a "
                                         "calibration target, which counts in no result: it cannot be appealed")
            code = row["indicator"].value
            if not code and kind is not None and (kind, target_id) in targets and not tree.leaves(kind):
                refuse(row["target_id"], f"没有适用于{TARGET_LABELS[kind]}的评分指标，{target_id} 没有可申诉的得分 / "
                                         f"no scored indicator applies to a {kind.value}: {target_id} has no result "
                                         "to appeal")
            if code and kind is not None:
                if code not in tree:
                    refuse(row["indicator"], f"未知指标代码「{code}」；留空表示对整个对象申诉 / unknown indicator "
                                             f"{code!r}; leave it empty to appeal the whole target")
                elif not tree.get(code).applies(kind) or code not in {leaf.code for leaf in tree.leaves(kind)}:
                    refuse(row["indicator"], f"指标「{code}」不是{TARGET_LABELS[kind]}的末级评分指标；"
                                             f"请填末级指标代码，或留空对整个对象申诉 / {code} is not a scored "
                                             f"leaf of a {kind.value}: "
                                             "give a leaf's code, or leave it empty to appeal the whole target")
            for column, label in (("appellant", "申诉单位 / appellant"), ("description", "理由 / reason")):
                if not row[column].value:
                    refuse(row[column], f"{label} 为空，必须填写 / is empty and must be given")
            given_date = row["submitted_at"].value
            submitted = today
            if given_date:
                parsed = parse_date(given_date)
                if parsed is None:
                    refuse(row["submitted_at"], f"提交日期「{given_date}」无法识别；请写作 2023-01-05（年-月-日）/ "
                                                f"submitted_at {given_date!r} is not a date: write it year first, "
                                                "as 2023-01-05")
                else:
                    submitted = parsed
            content = (kind.value if kind else "", target_id, code, row["appellant"].value,
                       row["description"].value, row["evidence"].value)
            if len(problems) > before:
                continue
            if appeal_id in seen:
                if seen[appeal_id][0] != content:
                    refuse(row["appeal_id"], f"申诉编号 {appeal_id} 在 {seen[appeal_id][1]} 已出现，内容不同；"
                                             f"每个申诉编号只能对应一项申诉 / appeal_id {appeal_id} is given on "
                                             f"{seen[appeal_id][1]} "
                                             "with other content: one appeal_id names one appeal")
                continue
            seen[appeal_id] = (content, where)
            old = known.get(appeal_id)
            if old is not None:
                stored = (old.target_kind.value, old.target_id, old.indicator, old.appellant, old.reason, old.evidence)
                same_day = not given_date or submitted.isoformat() == old.submitted_on
                if stored == content and same_day:
                    unchanged += 1
                    continue
                differs = [name for name, a, b in zip(_COMPARED, stored, content, strict=True) if a != b] or [
                    "submitted_at"]
                refuse(row["appeal_id"], f"申诉编号 {appeal_id} 已于 {old.imported_at} 导入（{old.source}），"
                                         f"此行内容不同（{', '.join(differs)}）；已受理的申诉不能修改，"
                                         "新的申诉请用新的申诉编号 / "
                                         f"appeal {appeal_id} was imported at {old.imported_at} ({old.source}) and "
                                         f"this row differs ({', '.join(differs)}): an appeal is kept as received; "
                                         "give a new appeal_id to a new appeal")
                continue
            cell = row["submitted_at"] if given_date else row["appeal_id"]
            if submitted > today:
                refuse(cell, f"提交日期 {submitted} 晚于今天（{today}）/ submitted_at {submitted} is after today "
                             f"({today})")
            elif submitted < starts:
                refuse(cell, f"提交日期 {submitted} 早于公示开始（{starts}），申诉只针对公示结果 / submitted_at "
                             f"{submitted} is before the 公示 began ({starts}): appeals are taken against it only")
            elif submitted > until:
                refuse(cell, f"申诉提交于 {submitted}，已过公示期（{starts} 至 {until}，含首尾两天），不予受理 / "
                             f"submitted on {submitted}, after the 公示 window ({starts} to {until}, both "
                             "included): the appeal is refused")
            if len(problems) > before:
                continue
            assert kind is not None
            added.append(Appeal(appeal_id, kind, target_id, code, row["appellant"].value, row["description"].value,
                                row["evidence"].value, submitted.isoformat(), "", publication.manifest_sha256,
                                where.partition(": ")[0]))
        if problems:
            raise InputRefused(problems, f"{len(problems)} 处问题，未导入任何申诉 / {len(problems)} problem(s); no "
                                         "appeal was imported")
        now = utc_now()
        with transaction(store.conn):
            ensure_appeal_tables(store.conn)
            store.conn.executemany(
                "INSERT INTO appeals (round, appeal_id, target_kind, target_id, indicator, appellant, reason, "
                "evidence, submitted_on, imported_at, publication, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(store.round_id, a.appeal_id, a.target_kind.value, a.target_id, a.indicator, a.appellant, a.reason,
                  a.evidence, a.submitted_on, now, a.publication, a.source) for a in added])
        return IntakeSummary(table.name, len(added), unchanged, publication)
    finally:
        store.close()
