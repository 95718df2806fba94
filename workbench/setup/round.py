"""Build a round from the coordinator's set-up files, and import past rounds' consolidated results.

Every file is validated whole: all problems are collected as file:row:column (and sites.xlsx!C3 (地区)) and
the round is refused with nothing written (the database is built in a temporary file and renamed at the end).
Ids are unique as tables.id_key compares them (S01, s01 and Ｓ01 are one id); a reference must name an id
exactly, and one that differs only in case or width is refused with the id it resembles.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Generic, TypeVar

from workbench.errors import InputRefused, InvalidRule, Problem, WorkbenchError
from workbench.model import TARGET_LABELS, Indicator, IndicatorKind, TargetKind
from workbench.scoring.indicators import IndicatorTree, parse_value
from workbench.scoring.levels import InvalidLevels, format_levels, parse_levels
from workbench.scoring.rules import ALIASES, check_rule, read_rules, read_share, rule_name
from workbench.search.index import INDICATOR_ENTRY
from workbench.setup.conflicts import ConflictIndex, DeclaredConflict, describe, write_conflicts
from workbench.setup.tables import Cell, Table, id_key, read_table, shown
from workbench.store.db import encode_value, insert_rows, transaction
from workbench.store.migrations import building
from workbench.store.schema import KIND_ROUND

KIND_WORDS = {
    "score": IndicatorKind.SCORE, "评分": IndicatorKind.SCORE, "打分": IndicatorKind.SCORE,
    "veto": IndicatorKind.VETO, "否决": IndicatorKind.VETO, "单项否决": IndicatorKind.VETO,
    "deduct": IndicatorKind.DEDUCT, "扣分": IndicatorKind.DEDUCT,
    "bonus": IndicatorKind.BONUS, "加分": IndicatorKind.BONUS,
}
APPLIES_WORDS = {
    "site": "site", "网站": "site", "case": "case", "案例": "case",
    "both": "both", "全部": "both", "通用": "both", "": "both",
}
TARGET_WORDS = {"site": TargetKind.SITE, "网站": TargetKind.SITE, "case": TargetKind.CASE, "案例": TargetKind.CASE}
TRUE_WORDS = {"是", "1", "true", "yes", "y", "√"}
FALSE_WORDS = {"否", "0", "false", "no", "n", ""}
DEFAULT_RULES = {"fail_label": "不合格", "rescale_na": "1", "trim": "1"}

V = TypeVar("V")
_INIT_STEPS = 100  # init's progress: reading and checking the files to 25, the search keys the rest


@dataclass(frozen=True)
class SetupFiles:
    indicators: Path
    sites: Path
    cases: Path
    reviewers: Path
    assignments: Path
    rules: Path | None = None
    conflicts: Path | None = None
    """Declared conflicts of interest (回避): checked against the assignments and stored in the round."""
    calibration_reference: Path | None = None
    """Reference scores for calibration targets (校准参考分): what `workbench calibration` compares with."""


@dataclass(frozen=True)
class RoundSummary:
    path: Path
    round_id: str
    indicators: int
    leaves: int
    sites: int
    cases: int
    reviewers: int
    assignments: int
    conflicts: int = 0
    calibration: int = 0
    """Calibration targets (校准), which every reviewer's package holds."""
    reference: int = 0
    """Reference scores given for them."""


class _Ids(Generic[V]):
    """The ids of one table, to resolve a reference exactly and to name the id a near miss resembles."""

    def __init__(self, items: Mapping[str, V], file: str | None) -> None:
        self.items = items
        self.file = file
        """The file the ids come from; None for this round's database."""
        self._folded: dict[str, str] | None = None  # made at the first near miss: most files have none

    def advice(self, zh: str, en: str) -> tuple[str, str]:
        """What to do about a reference to none of these ids."""
        if self.file is None:
            return ("往期结果只能导入本轮次已有的对象和指标，请改正编号",
                    "past results can only be loaded for this round's targets and indicators; correct the id")
        return f"请改正编号，或在 {self.file} 中添加该{zh}", f"correct the id, or add the {en} to {self.file}"

    def near(self, text: str) -> str | None:
        """The id that `text` equals but for case, width or invisible characters."""
        if self._folded is None:
            self._folded = {id_key(k): k for k in self.items}
        known = self._folded.get(id_key(text))
        return known if known is not None and known != text else None


def _short(where: str) -> str:
    """A cell's place as file:row:column only, to name it inside another cell's problem."""
    return where.partition(": ")[0]


class _Collector:
    """Gathers problems across all files so the coordinator sees every one at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.quiet: set[str] = set()  # cells refused as read: what they seem to hold is not judged again

    def add(self, where: str, reason: str) -> None:
        if where not in self.quiet:
            self.problems.append(Problem(where, shown(reason, limit=None)))

    def table(self, path: Path | None, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Table | None:
        if path is None:
            return None
        try:
            table = read_table(path, required, optional, collect=True)
        except InputRefused as exc:
            self.problems.extend(exc.problems)
            return None
        self.problems.extend(table.problems)
        self.quiet.update(cell.where for row in table.rows for cell in row.values() if cell.refused)
        return table

    def decimal(self, cell: Cell, label: str) -> Decimal | None:
        text = cell.value.replace("，", "").replace(",", "")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            self.add(cell.where, f"{label}「{shown(cell.value)}」不是数字 / {label} must be a number")
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            self.add(cell.where, f"{label}「{shown(cell.value)}」不是数字 / {label} must be a number")
            return None

    def boolean(self, cell: Cell, label: str) -> bool:
        word = cell.value.casefold()
        if word in TRUE_WORDS:
            return True
        if word not in FALSE_WORDS:
            self.add(cell.where, f"{label}「{shown(cell.value)}」应为 是/否 / {label} must be yes or no (是/否)")
        return False

    def unique(self, rows: Iterable[dict[str, Cell]], column: str, label: str) -> None:
        """Every id given, and no two the same id after NFKC and case folding."""
        seen: dict[str, Cell] = {}
        for row in rows:
            cell = row[column]
            if not cell.value:
                self.add(cell.where, f"{label}不能为空 / {label} is required")
                continue
            first = seen.setdefault(id_key(cell.value), cell)
            if first is cell:
                continue
            where = _short(first.where)
            if first.value == cell.value:
                self.add(cell.where, f"{label}「{shown(cell.value)}」重复（首次出现于 {where}）/ duplicate {label}")
            else:
                self.add(cell.where, (
                    f"{label}「{shown(cell.value)}」与 {where} 的「{shown(first.value)}」只有大小写、全角半角或"
                    f"不可见字符不同，会被当成同一个编号；请改用不同的编号，或写成完全相同 / "
                    f"{label} {shown(cell.value)!r} differs from {shown(first.value)!r} at {where} only in case, "
                    "width or invisible characters, which makes them the same id; make them distinct or identical"
                ))

    def find(self, cell: Cell, ids: _Ids[V], zh: str, en: str) -> V | None:
        """The row a reference names, exactly; else a problem: empty, unknown, or near an id (with that id)."""
        value = ids.items.get(cell.value) if cell.value else None
        if value is not None:
            return value
        if not cell.value:
            self.add(cell.where, f"{zh}不能为空 / {en} is required")
            return None
        near = ids.near(cell.value)
        zh_advice, en_advice = ids.advice(zh, en)
        reason = f"未知{zh}「{shown(cell.value)}」；{zh_advice} / unknown {en} {shown(cell.value)!r}; {en_advice}"
        if near is not None:
            source = ids.file or "本轮次"
            reason = (f"未知{zh}「{shown(cell.value)}」；是否是 {source} 中的「{shown(near)}」？编号须写得完全一致"
                      f"（大小写、全角半角）/ unknown {en} {shown(cell.value)!r}; did you mean {shown(near)!r} of "
                      f"{ids.file or 'this round'}? ids must be written exactly alike (case, width)")
        self.add(cell.where, reason)
        return None


def _read_indicators(c: _Collector, table: Table | None) -> list[Indicator]:
    if table is None:
        return []
    c.unique(table.rows, "code", "指标代码")
    codes = _Ids({r["code"].value: r for r in table.rows if r["code"].value}, table.name)
    parents = {r["parent"].value for r in table.rows if r["parent"].value}
    out: list[Indicator] = []
    for position, row in enumerate(table.rows):
        code, parent = row["code"].value, row["parent"].value
        if parent and parent not in codes.items:
            reason = f"上级代码「{shown(parent)}」不存在 / unknown parent code {shown(parent)!r}"
            if (near := codes.near(parent)) is not None:
                reason = (f"上级代码「{shown(parent)}」不存在；是否是「{shown(near)}」？代码须写得完全一致 / "
                          f"unknown parent code {shown(parent)!r}; did you mean {shown(near)!r}? "
                          "codes must be written exactly alike")
            c.add(row["parent"].where, reason)
        if parent and parent == code:
            c.add(row["parent"].where, f"指标「{code}」不能以自身为上级 / an indicator cannot be its own parent")
        if not row["name"].value:
            c.add(row["name"].where, "名称不能为空 / name is required")
        is_leaf = code not in parents
        kind_word = row["kind"].value.casefold()
        kind = KIND_WORDS.get(kind_word)
        if kind is None and (is_leaf or kind_word):
            c.add(row["kind"].where, f"未知的指标类型「{row['kind'].value}」（评分/否决/扣分/加分）/ "
                                     "unknown kind; use score, veto, deduct or bonus")
        applies = APPLIES_WORDS.get(row["applies_to"].value.casefold())
        if applies is None:
            c.add(row["applies_to"].where, f"适用对象「{row['applies_to'].value}」应为 网站/案例/全部 / "
                                           "applies_to must be site, case or both")
        allow_na = c.boolean(row["allow_na"], "可不适用")
        max_score: Decimal | None = Decimal(0)
        step: Decimal | None = Decimal(0)
        if is_leaf:
            max_score = (c.decimal(row["max_score"], "分值") if row["max_score"].value
                         else (Decimal(0) if kind is IndicatorKind.VETO else None))
            if row["max_score"].value == "" and kind is not IndicatorKind.VETO:
                c.add(row["max_score"].where, "分值不能为空 / max is required for a scored indicator")
            step_text = row["step"].value
            step = c.decimal(row["step"], "步长") if step_text else Decimal(1)
            if max_score is not None and step is not None:
                if kind is IndicatorKind.VETO:
                    if max_score < 0:
                        c.add(row["max_score"].where, "分值不能为负 / max must not be negative")
                elif max_score <= 0:
                    c.add(row["max_score"].where, f"分值须大于 0，收到 {max_score} / max must be greater than 0")
                elif step <= 0:
                    c.add(row["step"].where, f"步长须大于 0，收到 {step} / step must be greater than 0")
                elif max_score % step != 0:
                    c.add(row["step"].where, f"步长 {step} 不能整除分值 {max_score} / step must divide max")
        else:  # a parent: its 分值 is its leaves' sum (checked below) and is stored as written, when written
            given = c.decimal(row["max_score"], "分值") if row["max_score"].value else None
            max_score = given if given is not None else max_score
            # no leaf takes a parent's 步长, but it is the round's, and so part of its packages' indicators hash
            given = c.decimal(row["step"], "步长") if row["step"].value else None
            if given is not None and given < 0:
                c.add(row["step"].where, f"步长不能为负，收到 {given} / step must not be negative")
            elif given is not None:
                step = given
        if max_score is None or step is None or (kind is None and is_leaf):
            continue
        out.append(Indicator(
            code=code, parent=parent or None, name=row["name"].value, kind=kind or IndicatorKind.SCORE,
            max_score=max_score, step=step, applies_to=applies or "both",
            description=row["description"].value, position=position, allow_na=allow_na,
        ))
    if not _check_cycles(c, table, out):
        _check_parent_points(c, table, out)
    return out


def _read_thresholds(c: _Collector, table: Table | None) -> dict[str, tuple[str, str]]:
    """The indicators' own dispute thresholds (分歧阈值, 分歧间隔), each a share or a percentage of the points, as
    written; an empty cell keeps the round's rule."""
    out: dict[str, tuple[str, str]] = {}
    for row in table.rows if table is not None else []:
        texts = []
        for column, label in (("dispute_spread", "分歧阈值/dispute_spread"), ("dispute_gap", "分歧间隔/dispute_gap")):
            cell = row[column]
            try:
                read_share(label, cell.value)
            except InvalidRule as exc:
                c.add(cell.where, str(exc))
            texts.append(cell.value.strip())
        if any(texts):
            out[row["code"].value] = (texts[0], texts[1])
    return out


def _read_levels(c: _Collector, table: Table | None, indicators: list[Indicator]) -> dict[str, str]:
    """Each leaf's 评分细则 in canonical form (code → text); every level must be a value the leaf accepts."""
    out: dict[str, str] = {}
    if table is None:
        return out
    by_code = {i.code: i for i in indicators}
    parents = {i.parent for i in indicators if i.parent}
    for row in table.rows:
        cell = row["levels"]
        if not cell.value:
            continue
        indicator = by_code.get(row["code"].value)
        if indicator is None:
            continue  # refused already (a bad kind, 分值 or 步长): its levels cannot be judged
        if indicator.code in parents:
            c.add(cell.where, "只有末级指标评分，上级指标不能有评分细则 / only leaves are scored: a parent indicator "
                              "has no levels")
            continue
        try:
            out[indicator.code] = format_levels(parse_levels(indicator, cell.value))
        except InvalidLevels as exc:
            c.add(cell.where, f"评分细则：{exc.message}；请写成「2=建立并有效运转; 1=已建立但未见运转; 0=未建立」，"
                              "每个分值须在该指标的分值范围内并符合步长 / levels: fix them as "
                              "'2=…; 1=…; 0=…', each a value the indicator accepts (its range and step)")
    return out


def _read_calibration(c: _Collector, table: Table | None) -> list[bool]:
    """Per row of a sites or cases file: whether it is a calibration target (校准 是/否)."""
    return [c.boolean(r["calibration"], "校准") for r in (table.rows if table else [])]


def _read_reference(
    c: _Collector, table: Table | None, indicators: Table | None, tree_nodes: list[Indicator], sites: Table | None,
    cases: Table | None, calibration: Mapping[TargetKind, set[str]],
) -> list[dict[str, object]]:
    """Reference scores (校准参考分) for calibration targets: one valid value per target × applicable leaf."""
    if table is None or indicators is None or sites is None or cases is None:
        return []
    try:
        tree = IndicatorTree(tree_nodes)
    except ValueError:
        return []
    targets = {TargetKind.SITE: _Ids({r["id"].value: r for r in sites.rows}, sites.name),
               TargetKind.CASE: _Ids({r["id"].value: r for r in cases.rows}, cases.name)}
    codes = _Ids({i.code: i.code for i in tree_nodes}, indicators.name)
    seen: dict[tuple[str, str, str], str] = {}
    out: list[dict[str, object]] = []
    for row in table.rows:
        kind = _target_key(c, row["target_kind"])
        tid, code = row["target_id"].value, row["indicator"].value
        if kind is not None:
            if c.find(row["target_id"], targets[kind], TARGET_LABELS[kind], kind.value) is None:
                kind = None
            elif tid not in calibration[kind]:
                c.add(row["target_id"].where, f"「{shown(tid)}」不是校准对象；参考分只能给校准列为 是 的对象 / "
                                              f"{shown(tid)!r} is not a calibration target: reference scores are "
                                              "for targets whose 校准 is 是")
                kind = None
        value = _leaf_value(c, row, kind, tree, codes)
        if value is _REFUSED or kind is None:
            continue
        if value is None:
            c.add(row["value"].where, "参考分不能为空 / the reference score is required")
            continue
        assert isinstance(value, (Decimal, str))
        key = (kind.value, tid, code)
        if key in seen:
            c.add(row["indicator"].where, f"重复参考分（首次出现于 {_short(seen[key])}）/ duplicate reference score")
            continue
        seen[key] = row["indicator"].where
        out.append({"target_kind": kind.value, "target_id": tid, "indicator": code, "value": encode_value(value)})
    return out


_REFUSED = object()


def _leaf_value(
    c: _Collector, row: dict[str, Cell], kind: TargetKind | None, tree: IndicatorTree, codes: _Ids[str],
) -> Decimal | str | object | None:
    """The 得分 of a row naming a target and a leaf (past results, reference scores), read as the leaf reads it;
    _REFUSED, with the problem added, when the code is unknown, not a leaf, not for the target's kind (None:
    refused already), or the value invalid."""
    code = row["indicator"].value
    if c.find(row["indicator"], codes, "指标代码", "indicator code") is None:
        return _REFUSED
    if not tree.is_leaf(code):
        c.add(row["indicator"].where, f"「{code}」不是末级指标 / {code} is not a leaf indicator")
        return _REFUSED
    if kind is None:
        return _REFUSED
    ind = tree.get(code)
    if not ind.applies(kind):
        c.add(row["indicator"].where, f"指标「{code}」不适用于{kind.value} / {code} does not apply to a {kind.value}")
        return _REFUSED
    try:
        return parse_value(ind, row["value"].value)
    except WorkbenchError as exc:
        c.add(row["value"].where, exc.message)
        return _REFUSED


def _check_parent_points(c: _Collector, table: Table, indicators: list[Indicator]) -> None:
    """A parent's 分值, where given, is the sum of its leaves' (the round stores that sum): a different number
    means the file says two things, and which one is meant only its author knows."""
    try:
        tree = IndicatorTree(indicators)
    except ValueError:  # a repeated code, refused already: no sum to compare with
        return
    rows = {r["code"].value: r for r in table.rows}
    for ind in indicators:
        row = rows.get(ind.code)
        if row is None or tree.is_leaf(ind.code) or not row["max_score"].value:
            continue
        try:
            given = Decimal(row["max_score"].value)
        except ArithmeticError:
            continue  # already refused as not a number
        total = sum((leaf.max_score for leaf in _leaves_under(tree, ind.code)), Decimal(0))
        if given != total:
            c.add(row["max_score"].where,
                  f"上级指标「{shown(ind.code)}」的分值 {given} 与其末级指标分值之和 {total} 不符；请改正分值或留空"
                  f"（留空时取末级之和）/ the 分值 of parent {shown(ind.code)!r}, {given}, differs from the sum of its "
                  f"leaves, {total}: correct it, or leave it empty (the sum is then taken)")


def _check_cycles(c: _Collector, table: Table, indicators: list[Indicator]) -> bool:
    """Refuse parent chains that loop; whether any did."""
    parent_of = {i.code: i.parent for i in indicators}
    where = {r["code"].value: r["parent"].where for r in table.rows}
    found = False
    for code in parent_of:
        seen = {code}
        node = parent_of.get(code)
        while node is not None:
            if node in seen:
                c.add(where[code], f"指标「{code}」的上级形成循环 / parent chain of {code!r} forms a cycle")
                found = True
                break
            seen.add(node)
            node = parent_of.get(node)
    return found


def _read_rules(c: _Collector, table: Table | None) -> dict[str, str]:
    rules = dict(DEFAULT_RULES)
    if table is None:
        return rules
    seen: set[str] = set()
    before = len(c.problems)
    for row in table.rows:
        key_cell, value_cell = row["key"], row["rule_value"]
        key = rule_name(key_cell.value)
        if key is None:
            c.add(key_cell.where, f"未知规则「{shown(key_cell.value)}」/ unknown rule; "
                                  f"known: {', '.join(sorted(set(ALIASES.values())))}")
            continue
        if key in seen:
            c.add(key_cell.where, f"规则「{shown(key_cell.value)}」重复 / rule given twice")
        seen.add(key)
        rules[key] = value_cell.value  # empty switches a rule off (no pass mark, no disagreement check, …)
        try:
            check_rule(key, value_cell.value)
        except InvalidRule as exc:
            c.add(value_cell.where, exc.message)
    if len(c.problems) == before and not table.problems:
        try:
            read_rules(rules)
        except InvalidRule as exc:  # each row passed alone: a rule that depends on another (none yet)
            c.add(table.name, f"规则无效 / invalid rules: {exc.message}")
    return rules


def _check_reachable(
    c: _Collector, table: Table | None, rules: dict[str, str], indicators: list[Indicator], kinds: list[TargetKind]
) -> None:
    """A pass mark, bonus gate or grade band the coordinator set must be within what a target of each kind
    with targets in the round can reach: beyond it, every target fails, the bonus never counts, or a band is
    empty for good — a slip in the rules file, refused at its row."""
    if table is None:
        return
    try:
        parsed, _ = read_rules(rules)
        tree = IndicatorTree(indicators)
    except (InvalidRule, ValueError):
        return
    where = {rule_name(r["key"].value): r["rule_value"].where for r in table.rows}
    for kind in kinds:
        leaves = tree.leaves(kind)
        if not leaves:
            continue
        label = TARGET_LABELS[kind]
        base = sum((leaf.max_score for leaf in leaves if leaf.kind in (IndicatorKind.SCORE, IndicatorKind.DEDUCT)),
                   Decimal(0))
        bonus = sum((leaf.max_score for leaf in leaves if leaf.kind == IndicatorKind.BONUS), Decimal(0))
        if parsed.bonus_cap is not None:
            bonus = min(bonus, parsed.bonus_cap)
        top = base + bonus
        if parsed.pass_mark is not None and parsed.pass_mark > base and "pass_mark" in where:
            c.add(where["pass_mark"], f"及格线 {parsed.pass_mark} 高于{label}可得的最高基础分 {base}，所有{label}都将"
                                      f"不合格 / the pass mark {parsed.pass_mark} is above the highest base total a "
                                      f"{kind.value} can reach, {base}: every {kind.value} would fail")
        if parsed.bonus_gate is not None and bonus > 0 and parsed.bonus_gate >= base and "bonus_gate" in where:
            c.add(where["bonus_gate"], f"加分门槛 {parsed.bonus_gate} 不低于{label}可得的最高基础分 {base}，"
                                       f"加分永远不会计入 / the bonus gate {parsed.bonus_gate} is not below the "
                                       f"highest base total a {kind.value} can reach, {base}: no bonus would "
                                       "ever count")
        out_of_reach = [f"{name}:{bound}" for name, bound in parsed.grade_bands if bound > top]
        if out_of_reach and "grade_bands" in where:
            c.add(where["grade_bands"], f"等级 {'、'.join(out_of_reach)} 高于{label}可得的最高总分 {top}，"
                                        f"永远不会有{label}得到 / the grade band(s) {', '.join(out_of_reach)} start "
                                        f"above the highest total a {kind.value} can reach, {top}: no {kind.value} "
                                        "could ever get them")


def _target_key(c: _Collector, cell: Cell) -> TargetKind | None:
    kind = TARGET_WORDS.get(cell.value.casefold())
    if kind is None:
        c.add(cell.where, f"对象类型「{shown(cell.value)}」应为 网站 或 案例 / target_kind must be site or case")
    return kind


def _conflict(reviewer: dict[str, Cell], target: dict[str, Cell], kind: TargetKind) -> str | None:
    """A shared region or organisation, compared as ids are (广东 and 广东 in another width are one region)."""
    r_region, r_org = reviewer["region"].value, reviewer["org"].value
    t_region = target["region"].value
    t_org = target["name"].value if kind is TargetKind.SITE else target["government"].value
    if r_region and id_key(r_region) == id_key(t_region):
        return f"地区相同（{r_region}）/ same region"
    if r_org and id_key(r_org) == id_key(t_org):
        return f"单位相同（{r_org}）/ same organisation"
    return None


def _target_org(target: dict[str, Cell], kind: TargetKind) -> str:
    """The 单位 a target belongs to: a site's name, a case's 申报单位."""
    return target["name"].value if kind is TargetKind.SITE else target["government"].value


def _id_lookups(
    reviewers: Table, sites: Table, cases: Table
) -> tuple[_Ids[dict[str, Cell]], dict[TargetKind, _Ids[dict[str, Cell]]]]:
    """The reviewers and the targets by id, for the files that refer to them."""
    by_reviewer = _Ids({r["id"].value: r for r in reviewers.rows}, reviewers.name)
    targets = {
        TargetKind.SITE: _Ids({r["id"].value: r for r in sites.rows}, sites.name),
        TargetKind.CASE: _Ids({r["id"].value: r for r in cases.rows}, cases.name),
    }
    return by_reviewer, targets


def _read_conflicts(
    c: _Collector, table: Table | None, reviewers: Table | None, sites: Table | None, cases: Table | None,
) -> list[DeclaredConflict]:
    """Declared conflicts, one a row: a reviewer and either a target (对象类型 + 对象编号) or a 单位, with the
    reason. Every reference must name an id of the set-up files; a 单位 may name any unit (one that no target
    of this round belongs to forbids nothing, and is kept as declared)."""
    if table is None or reviewers is None or sites is None or cases is None:
        return []
    by_reviewer, targets = _id_lookups(reviewers, sites, cases)
    seen: dict[tuple[str, str, str], str] = {}
    out: list[DeclaredConflict] = []
    for row, row_where in zip(table.rows, table.row_wheres, strict=True):
        reviewer = c.find(row["reviewer_id"], by_reviewer, "评审专家", "reviewer")
        reason = row["reason"].value
        if not reason:
            c.add(row["reason"].where, "原因不能为空：请写明申报的关系（如三年内曾任职、亲属关系）/ "
                                       "reason is required: name the relation declared (e.g. employed there "
                                       "within three years, kinship)")
        org, kind_cell, tid_cell = row["org"], row["target_kind"], row["target_id"]
        kind: TargetKind | None = None
        if org.value and (kind_cell.value or tid_cell.value):
            c.add(org.where, "「单位」与「对象类型、对象编号」只能填一种：一行申报一个对象或一个单位 / give either "
                             "单位 (org) or 对象类型 and 对象编号 (the target), not both: one target or one unit a row")
            continue
        if org.value:
            key = ("org", id_key(org.value), "")
            where = org.where
        elif kind_cell.value or tid_cell.value:
            kind = _target_key(c, kind_cell)
            if kind is None:
                continue
            label = TARGET_LABELS[kind]
            if c.find(tid_cell, targets[kind], label, kind.value) is None:
                continue
            key = (kind.value, tid_cell.value, "")
            where = tid_cell.where
        else:
            c.add(row_where, "须填写「对象类型」和「对象编号」，或填写「单位」/ give the target (对象类型 and "
                             "对象编号) or a unit (单位) that the relation is with")
            continue
        if reviewer is None or not reason:
            continue
        key = (row["reviewer_id"].value, *key[:2])
        if key in seen:
            c.add(where, f"重复申报（首次出现于 {_short(seen[key])}）/ duplicate declaration")
            continue
        seen[key] = where
        out.append(DeclaredConflict(
            reviewer_id=row["reviewer_id"].value, target_kind=kind, target_id=tid_cell.value if kind else None,
            org=org.value or None, reason=reason, where=row_where,
        ))
    return out


def _read_assignments(
    c: _Collector,
    table: Table | None,
    reviewers: Table | None,
    sites: Table | None,
    cases: Table | None,
    declared: ConflictIndex | None = None,
    calibration: Mapping[TargetKind, set[str]] | None = None,
) -> list[dict[str, object]]:
    if table is None or reviewers is None or sites is None or cases is None:
        return []
    by_reviewer, targets = _id_lookups(reviewers, sites, cases)
    seen: dict[tuple[str, TargetKind, str], str] = {}
    out: list[dict[str, object]] = []
    for row in table.rows:
        rid, tid = row["reviewer_id"].value, row["target_id"].value
        kind = _target_key(c, row["target_kind"])
        override = c.boolean(row["coi_override"], "利益冲突豁免")
        reviewer = c.find(row["reviewer_id"], by_reviewer, "评审专家", "reviewer")
        if kind is None:
            continue
        label = "网站" if kind is TargetKind.SITE else "案例"
        target = c.find(row["target_id"], targets[kind], label, kind.value)
        if target is None:
            continue
        if calibration is not None and tid in calibration[kind]:
            c.add(row["target_id"].where, f"「{shown(tid)}」是校准对象，会自动发给每位评审专家，不能另行分配；"
                                          "请删除此行 / a calibration target goes to every reviewer by itself and "
                                          "is never assigned: remove this row")
            continue
        key = (rid, kind, tid)
        if key in seen:
            c.add(row["target_id"].where, f"重复分配（首次出现于 {_short(seen[key])}）/ duplicate assignment")
            continue
        seen[key] = row["target_id"].where
        if reviewer is not None:
            conflict = _conflict(reviewer, target, kind)
            if conflict is None and declared is not None:
                found = declared.covering(rid, kind, tid, _target_org(target, kind))
                conflict = describe(found) if found is not None else None
            if conflict and not override:
                c.add(
                    row["reviewer_id"].where,
                    f"利益冲突：{rid} 与 {tid} {conflict}；如确需分配，请在「利益冲突豁免」列填 是 / "
                    "conflict of interest; set coi_override to yes to allow it",
                )
        out.append({"reviewer_id": rid, "target_kind": kind.value, "target_id": tid, "coi_override": int(override)})
    return out


def _check_ids_and_names(c: _Collector, sites: Table | None, cases: Table | None, reviewers: Table | None) -> None:
    for table, label in ((sites, "网站编号"), (cases, "案例编号"), (reviewers, "专家编号")):
        if table is not None:
            c.unique(table.rows, "id", label)
    for table, col in ((sites, "name"), (cases, "title"), (reviewers, "name")):
        for row in table.rows if table else []:
            if not row[col].value:
                c.add(row[col].where, "名称不能为空 / name is required")


@dataclass(frozen=True)
class AssignSetup:
    """What `workbench assign` reads: the targets, the reviewers (with 容量 and 专长) and the declared conflicts,
    validated as `init` validates them."""

    sites: Table
    cases: Table
    reviewers: Table
    capacity: list[int | None]
    """Per reviewer row: the most targets (sites and cases together) the reviewer takes; None = no limit."""
    conflicts: list[DeclaredConflict]


def read_assign_setup(sites: Path, cases: Path, reviewers: Path, conflicts: Path | None = None) -> AssignSetup:
    """Read and validate the files an automatic assignment starts from, or refuse them all (InputRefused)."""
    c = _Collector()
    sites_t = c.table(sites, ("id", "name"), ("region", "level", "url", "calibration"))
    cases_t = c.table(cases, ("id", "title"), ("government", "region", "area", "summary", "synthetic", "calibration"))
    rev_t = c.table(reviewers, ("id", "name"), ("org", "region", "capacity", "expertise"))
    coi_t = c.table(conflicts, ("reviewer_id", "reason"), ("target_kind", "target_id", "org"))
    _check_ids_and_names(c, sites_t, cases_t, rev_t)
    capacity: list[int | None] = []
    for row in rev_t.rows if rev_t else []:
        cell = row["capacity"]
        number = c.decimal(cell, "容量") if cell.value else None
        if number is not None and (number < 0 or number != number.to_integral_value()):
            c.add(cell.where, f"容量「{shown(cell.value)}」应为不小于 0 的整数（该专家最多评审的对象数），"
                              "或留空表示不限 / capacity must be a whole number of targets, 0 or more, "
                              "or empty for no limit")
            number = None
        capacity.append(int(number) if number is not None else None)
    declared = _read_conflicts(c, coi_t, rev_t, sites_t, cases_t)
    site_calibration, case_calibration = _read_calibration(c, sites_t), _read_calibration(c, cases_t)
    if c.problems:
        raise InputRefused(c.problems, f"{len(c.problems)} 处问题，未写入任何内容 / "
                                       f"{len(c.problems)} problem(s); nothing was written")
    assert sites_t and cases_t and rev_t
    # Calibration targets go to every reviewer by themselves: they are not the solver's to assign.
    sites_t, cases_t = _without_calibration(sites_t, site_calibration), _without_calibration(cases_t, case_calibration)
    return AssignSetup(sites_t, cases_t, rev_t, capacity, declared)


def _without_calibration(table: Table, calibration: list[bool]) -> Table:
    kept = [(row, where) for row, where, cal in zip(table.rows, table.row_wheres, calibration, strict=True) if not cal]
    return Table(table.name, [r for r, _ in kept], [w for _, w in kept], table.problems)


def init_round(
    db_path: str | Path,
    round_id: str,
    files: SetupFiles,
    *,
    name: str = "",
    year: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RoundSummary:
    """Validate every set-up file and build the round database, or refuse it all. ``on_progress(done, total)``
    follows it: the files read and checked, then the search keys (pinyin) computed, the longest part."""
    def progress(done: int) -> None:
        if on_progress is not None:
            on_progress(done, _INIT_STEPS)

    db_path = Path(db_path)
    if db_path.exists():
        raise WorkbenchError(f"{db_path} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    if not round_id.strip():
        raise WorkbenchError("轮次编号不能为空 / --round must not be empty")
    c = _Collector()
    ind_t = c.table(files.indicators, ("code", "name", "kind", "max_score"),
                    ("parent", "step", "applies_to", "allow_na", "description", "dispute_spread", "dispute_gap",
                     "levels"))
    rules_t = c.table(files.rules, ("key", "rule_value"))
    sites_t = c.table(files.sites, ("id", "name"), ("region", "level", "url", "calibration"))
    cases_t = c.table(files.cases, ("id", "title"), ("government", "region", "area", "summary", "synthetic",
                                                     "calibration"))
    rev_t = c.table(files.reviewers, ("id", "name"), ("org", "region"))
    asg_t = c.table(files.assignments, ("reviewer_id", "target_kind", "target_id"), ("coi_override",))
    coi_t = c.table(files.conflicts, ("reviewer_id", "reason"), ("target_kind", "target_id", "org"))
    ref_t = c.table(files.calibration_reference, ("target_kind", "target_id", "indicator", "value"))
    progress(10)
    indicators = _read_indicators(c, ind_t)
    thresholds = _read_thresholds(c, ind_t)
    levels = _read_levels(c, ind_t, indicators)
    rules = _read_rules(c, rules_t)
    _check_ids_and_names(c, sites_t, cases_t, rev_t)
    cases_synthetic = [c.boolean(r["synthetic"], "合成") for r in (cases_t.rows if cases_t else [])]
    site_calibration, case_calibration = _read_calibration(c, sites_t), _read_calibration(c, cases_t)
    calibration = {
        TargetKind.SITE: {r["id"].value for r, cal in zip(sites_t.rows if sites_t else [], site_calibration,
                                                            strict=True) if cal},
        TargetKind.CASE: {r["id"].value for r, cal in zip(cases_t.rows if cases_t else [], case_calibration,
                                                            strict=True) if cal},
    }
    declared = _read_conflicts(c, coi_t, rev_t, sites_t, cases_t)
    assignments = _read_assignments(c, asg_t, rev_t, sites_t, cases_t, ConflictIndex(declared), calibration)
    reference = _read_reference(c, ref_t, ind_t, indicators, sites_t, cases_t, calibration)
    if not c.problems:
        kinds = [kind for kind, t in ((TargetKind.SITE, sites_t), (TargetKind.CASE, cases_t)) if t and t.rows]
        _check_reachable(c, rules_t, rules, indicators, kinds)
    if ind_t is not None and not c.problems and not any(
        i for i in indicators if IndicatorTree(indicators).is_leaf(i.code)
    ):
        c.add(ind_t.name, "指标体系没有可评分的末级指标 / the indicator system has no leaf indicators")
    if c.problems:
        raise InputRefused(c.problems, f"{len(c.problems)} 处问题，未写入任何内容 / "
                                       f"{len(c.problems)} problem(s); nothing was written")
    assert ind_t and sites_t and cases_t and rev_t and asg_t

    meta = {"round_id": round_id, "round_name": name, "round_year": str(year or "")}
    with building(db_path, KIND_ROUND, meta) as conn, transaction(conn):
        conn.execute("INSERT INTO rounds (id, name, year, status) VALUES (?, ?, ?, 'current')", (round_id, name, year))
        _write_indicators(conn, indicators)
        conn.executemany("UPDATE indicators SET dispute_spread = ?, dispute_gap = ? WHERE code = ?",
                         ((spread, gap, code) for code, (spread, gap) in thresholds.items()))
        conn.executemany("UPDATE indicators SET levels = ? WHERE code = ?", ((t, code) for code, t in levels.items()))
        insert_rows(conn, "rules", ({"key": k, "value": v} for k, v in sorted(rules.items())))
        insert_rows(conn, "sites", (
            {**{k: r[k].value for k in ("id", "name", "region", "level", "url")}, "calibration": int(cal)}
            for r, cal in zip(sites_t.rows, site_calibration, strict=True)
        ))
        insert_rows(conn, "cases", (
            {**{k: r[k].value for k in ("id", "title", "government", "region", "area", "summary")}, "synthetic": int(s),
             "calibration": int(cal)}
            for r, s, cal in zip(cases_t.rows, cases_synthetic, case_calibration, strict=True)
        ))
        insert_rows(conn, "calibration_reference", reference)
        insert_rows(conn, "reviewers", ({k: r[k].value for k in ("id", "name", "org", "region")} for r in rev_t.rows))
        insert_rows(conn, "assignments", assignments)
        write_conflicts(conn, declared)
        progress(25)
        write_search_keys(conn, lambda done, total: progress(25 + (_INIT_STEPS - 25) * done // max(total, 1)))
    tree = IndicatorTree(indicators)
    return RoundSummary(
        path=db_path, round_id=round_id, indicators=len(indicators), leaves=len(tree.leaves()),
        sites=len(sites_t.rows), cases=len(cases_t.rows), reviewers=len(rev_t.rows), assignments=len(assignments),
        conflicts=len(declared), calibration=sum(len(ids) for ids in calibration.values()), reference=len(reference),
    )


def _write_indicators(conn: sqlite3.Connection, indicators: list[Indicator]) -> None:
    tree = IndicatorTree(indicators)
    rows = []
    for ind in indicators:
        max_score = ind.max_score
        if not tree.is_leaf(ind.code):
            total = sum((leaf.max_score for leaf in _leaves_under(tree, ind.code)), Decimal(0))
            max_score = ind.max_score if ind.max_score == total else total  # as written ("20", not "20.0")
        rows.append({
            "code": ind.code, "parent": ind.parent, "name": ind.name, "kind": ind.kind.value,
            "max_score": str(max_score), "step": str(ind.step), "applies_to": ind.applies_to,
            "allow_na": int(ind.allow_na), "description": ind.description, "position": ind.position,
        })
    insert_rows(conn, "indicators", rows)


def _leaves_under(tree: IndicatorTree, code: str) -> list[Indicator]:
    out: list[Indicator] = []
    for child in tree.children(code):
        out.extend([child] if tree.is_leaf(child.code) else _leaves_under(tree, child.code))
    return out


def write_search_keys(conn: sqlite3.Connection, on_progress: Callable[[int, int], None] | None = None) -> None:
    """Compute pinyin search keys once, at build time, so lookups never import pypinyin."""
    from workbench.search.keys import build_entry, entry_to_row
    from workbench.search.stored import write_search_index

    names: list[tuple[str, str, str, tuple[str, ...]]] = [
        *((TargetKind.SITE, r[0], r[1], (r[2],)) for r in conn.execute("SELECT id, name, region FROM sites")),
        *((TargetKind.CASE, r[0], r[1], (r[2],)) for r in conn.execute("SELECT id, title, government FROM cases")),
        *((INDICATOR_ENTRY, r[0], r[1], ()) for r in conn.execute("SELECT code, name FROM indicators")),
    ]
    entries = []
    for n, (kind, id_, name, extra) in enumerate(names):
        entries.append(build_entry(kind, id_, name, extra))
        if on_progress is not None and n % 500 == 0:
            on_progress(n, len(names))
    insert_rows(conn, "search_keys", (entry_to_row(e) for e in entries))
    write_search_index(conn)
    if on_progress is not None:
        on_progress(len(names), len(names))


def __getattr__(name: str) -> object:
    # import_results moved to results.py (streamed); older imports from here still find it.
    if name in ("import_results", "ImportSummary"):
        from workbench.setup import results

        return getattr(results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
