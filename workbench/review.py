"""The reviewer's session over one package: queue rows, a target's cells, confirmed entries, undo, score log.

The reviewer app is a shell over this module: it never runs SQL itself. Start-up cost matters here (the
queue is the first thing a reviewer sees): the queue comes from one SQL pass over the package's scores,
totals are computed only for targets that have values (and, on request, only for the first screenful at
first), and nothing heavy is imported.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from workbench.errors import InvalidScore, NotFound, WorkbenchError
from workbench.model import NA, Indicator, ReReviewNote, Score, Target, TargetKey, TargetKind
from workbench.scoring.evidence import evidence_problem
from workbench.scoring.indicators import (
    IndicatorTree,
    TotalResult,
    compute_total,
    format_consolidated,
    parse_value,
    stored_value,
)
from workbench.scoring.rules import ConsolidationSettings, Rules
from workbench.store.db import KEEP, Keep, Store, decode_value, encode_value

#: Environment variable naming the opt-in score log (one JSON line per committed change).
SCORE_LOG_ENV = "WORKBENCH_SCORE_LOG"

class Status(enum.StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    PROBLEM = "problem"


@dataclass(frozen=True)
class QueueRow:
    """One assigned target as the queue shows it."""

    target: Target
    scored: int
    """Applicable leaves with a value (N/A counts as scored)."""
    applicable: int
    result: TotalResult | None
    """None when nothing is scored yet or a stored value is invalid."""
    problem: str = ""
    """Why the target has problems (a stored value no valid entry could have produced), or ""."""
    values: Mapping[str, Decimal | str | None] | None = field(default=None, repr=False, compare=False)
    """The scored values, kept while the total is still to be computed (see ReviewSession.queue)."""
    updated_at: str = ""
    """When the reviewer last changed one of its cells (stored UTC ISO 8601), or "" if never."""

    @property
    def total_pending(self) -> bool:
        return self.values is not None

    @property
    def key(self) -> TargetKey:
        return self.target.key

    @property
    def status(self) -> Status:
        if self.problem:
            return Status.PROBLEM
        if self.scored == 0:
            return Status.TODO
        if self.scored < self.applicable:
            return Status.IN_PROGRESS
        return Status.DONE


@dataclass(frozen=True)
class Change:
    """One committed change of a cell: what it was and what it became."""

    before: Score
    after: Score
    reason: str

    @property
    def key(self) -> TargetKey:
        return TargetKey(self.after.target_kind, self.after.target_id)


@dataclass(frozen=True)
class PastResult:
    """A target's result in the newest past round: per-leaf values and the total under this round's rules."""

    round_id: str
    values: Mapping[str, Fraction | str | None]
    """Exact consolidated values (shown with format_consolidated to `places`, as the report shows them)."""
    result: TotalResult | None
    places: int = 2
    """The round's 得分小数位."""


def local_time(stored: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC ISO 8601 time ("…Z") shown in the reviewer's local zone; "" stays ""."""
    if not stored:
        return ""
    try:
        moment = datetime.fromisoformat(stored.replace("Z", "+00:00"))
    except ValueError:
        return stored
    return moment.astimezone().strftime(fmt)


def past_entry_text(indicator: Indicator, value: Fraction | str, places: int) -> str:
    """A past consolidated value as a reviewer would type it: exact where it has a finite decimal (1/2 → 0.5),
    else as the report shows it (so an entry refuses it for its step, as it would refuse it typed)."""
    if isinstance(value, str) and value != NA:
        value = Fraction(value)
    if value == NA:
        return "不适用"
    if indicator.kind.value == "veto":
        return "是" if value == 1 else "否"
    assert isinstance(value, Fraction)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        return format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return format_consolidated(indicator, value, places)


def name_pinyin(keys: str) -> str:
    """The full pinyin of a name from its stored ``search_keys`` column: the first Latin key (build_entry puts
    the name's pinyin before its initials and aliases)."""
    return next((k for k in keys.split("\x1f") if k and k.isascii()), "")


def _stored_problem(leaf: Indicator, value: Decimal | str | None) -> str:
    """Why a stored value could not have come from a valid entry (the package file is the reviewer's and
    could have been edited), or ""; the engine's own check first, so that the queue's status is final
    before any total is computed."""
    try:
        stored_value(leaf, value)
    except InvalidScore as exc:
        return exc.message
    if isinstance(value, Decimal) and leaf.step > 0 and value.is_finite():
        try:
            if value % leaf.step != 0:
                return (f"「{leaf.name}」的存储值 {value} 不在步长 {leaf.step} 上 / "
                        f"stored value {value} of {leaf.code} is off step")
        except InvalidOperation:
            return f"「{leaf.name}」的存储值 {value} 无效 / stored value {value} of {leaf.code} is invalid"
    if value == NA and not leaf.allow_na:
        return f"「{leaf.name}」不允许“不适用” / N/A is not allowed for {leaf.code}"
    return ""


class ScoreLog:
    """The opt-in log a crash test reads: one JSON line per committed change, fsynced after the commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def record(self, score: Score) -> None:
        line = json.dumps({
            "target_kind": score.target_kind.value, "target_id": score.target_id, "indicator": score.indicator,
            "value": encode_value(score.value), "note": score.note, "evidence": score.evidence,
            "revision": score.revision,
        }, ensure_ascii=False)
        os.write(self._fd, (line + "\n").encode())
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


class ReviewSession:
    """A reviewer's work on an open package: reads for the screens, audited writes, an undo stack."""

    def __init__(self, store: Store, *, score_log: Path | None = None) -> None:
        if store.reviewer_id is None:
            raise WorkbenchError(f"{store.path} 没有评审专家信息 / names no reviewer")
        self.store = store
        self.tree = IndicatorTree(store.indicators())
        self.rules = Rules.from_mapping(store.rules_mapping())
        self.value_places = ConsolidationSettings.from_rules(store.rules_mapping()).value_places
        kind = store.meta.get("package_kind")
        self.is_rereview = kind in ("re-review", "appeal")
        self.is_appeal = kind == "appeal"
        """An appeal re-review (申诉复核): pairs a unit appealed, sent to a reviewer who never scored them."""
        self._notes = store.rereview_notes()
        # Calibration targets (校准) first: a reviewer scores them before the real work.
        self.targets: list[Target] = sorted(store.targets(), key=lambda t: not t.calibration)
        self._by_key: dict[TargetKey, Target] = {t.key: t for t in self.targets}
        past = store.past_round_ids()
        self.past_round: str | None = past[0] if past else None
        self._undo: list[Change] = []
        self._redo: list[Change] = []
        """Changes undone since the last new change, newest last: redo puts them back."""
        log = score_log if score_log is not None else os.environ.get(SCORE_LOG_ENV) or None
        self._log = ScoreLog(Path(log)) if log else None

    # reads ------------------------------------------------------------------------------------
    def rereview_note(self, key: TargetKey, code: str) -> ReReviewNote | None:
        """Why a pair of a re-review package came back, and what the others gave; None elsewhere."""
        return self._notes.get((key.kind.value, key.id, code))

    @property
    def reviewer_id(self) -> str:
        assert self.store.reviewer_id is not None
        return self.store.reviewer_id

    def target(self, key: TargetKey) -> Target:
        try:
            return self._by_key[key]
        except KeyError:
            raise NotFound(f"{key.kind} {key.id} 不在本评审包中 / is not part of this package") from None

    def leaves(self, key: TargetKey, cells: Mapping[str, Score]) -> list[Indicator]:
        """The leaves this package scores the target on, in display order (a re-review package holds a few)."""
        return [leaf for leaf in self.tree.leaves(key.kind) if leaf.code in cells]

    def queue(self, *, totals_for: int | None = None) -> list[QueueRow]:
        """Every assigned target with its progress, status and total, from one pass over the package's scores.

        With `totals_for`, only the first that many targets get their total now (what the queue shows on
        its first screen); the others come back with `total_pending` for `with_totals` to finish.
        """
        # One row per target: its pair count and its scored "code<US>value" items (NULL values drop out).
        rows = self.store.conn.execute(
            "SELECT target_kind, target_id, count(*), group_concat(indicator || char(31) || value, char(30)), "
            "max(CASE WHEN revision > 0 THEN updated_at END) "
            "FROM scores WHERE round = ? AND reviewer_id = ? GROUP BY target_kind, target_id",
            (self.store.round_id, self.reviewer_id),
        )
        tree = self.tree
        # A package repeats few distinct (indicator, value) pairs: decode and check each once.
        seen: dict[str, tuple[str, Decimal | str | None, str]] = {}
        found: dict[TargetKey, tuple[int, dict[str, Decimal | str | None], str]] = {}
        updated: dict[TargetKey, str] = {}
        for kind, tid, pairs, items, last in rows:
            if last:
                updated[TargetKey(TargetKind(kind), tid)] = last
            values: dict[str, Decimal | str | None] = {}
            problem = ""
            for item in items.split("\x1e") if items else ():
                known = seen.get(item)
                if known is None:
                    code, _, text = item.partition("\x1f")
                    value = decode_value(text)
                    known = (code, value, _stored_problem(tree.get(code), value) if code in tree else "")
                    seen[item] = known
                values[known[0]] = known[1]
                problem = problem or known[2]
            found[TargetKey(TargetKind(kind), tid)] = (pairs, values, problem)
        out: list[QueueRow] = []
        for target in self.targets:
            key = (target.kind.value, target.id)
            if key not in found:
                continue
            pairs, values, problem = found[key]
            scored = len(values)
            if totals_for is not None and len(out) >= totals_for and scored and not problem:
                row = QueueRow(target, scored, pairs, None, values=values)
            else:
                row = self._row(target, values, pairs, problem)
            last = updated.get(target.key)
            out.append(replace(row, updated_at=last) if last else row)
        return out

    def with_totals(self, rows: list[QueueRow]) -> list[QueueRow]:
        """The rows with every pending total computed."""
        return [
            replace(self._row(r.target, r.values, r.applicable, r.problem), updated_at=r.updated_at)
            if r.values is not None else r for r in rows
        ]

    def queue_row(self, key: TargetKey) -> QueueRow:
        cells = self.cells(key)
        values = {c: s.value for c, s in cells.items()}
        problems = (_stored_problem(self.tree.get(c), v) for c, v in values.items() if c in self.tree)
        problem = next((p for p in problems if p), "")
        last = max((s.updated_at for s in cells.values() if s.revision), default="")
        return replace(self._row(self.target(key), values, len(cells), problem), updated_at=last)

    def _row(self, target: Target, values: Mapping[str, Decimal | str | None], pairs: int, problem: str) -> QueueRow:
        scored = sum(1 for v in values.values() if v is not None)
        if not scored:
            return QueueRow(target, 0, pairs, None)
        if problem:
            return QueueRow(target, scored, pairs, None, problem)
        try:
            result = compute_total(self.tree, target.kind, values, self.rules)
        except InvalidScore as exc:
            return QueueRow(target, scored, pairs, None, exc.message)
        return QueueRow(target, scored, pairs, result)

    def cells(self, key: TargetKey) -> dict[str, Score]:
        """The target's current cells by indicator code."""
        rows = self.store.conn.execute(
            "SELECT indicator, value, note, evidence, updated_at, revision FROM scores "
            "WHERE round = ? AND reviewer_id = ? AND target_kind = ? AND target_id = ?",
            (self.store.round_id, self.reviewer_id, key.kind, key.id),
        )
        kind = key.kind
        return {
            r[0]: Score(self.store.round_id, self.reviewer_id, kind, key.id, r[0], decode_value(r[1]),
                        r[2], r[3], r[4] or "", r[5])
            for r in rows
        }

    def total(self, key: TargetKey, cells: Mapping[str, Score]) -> TotalResult:
        return compute_total(self.tree, key.kind, {c: s.value for c, s in cells.items()}, self.rules)

    def past(self, key: TargetKey) -> PastResult | None:
        """The target's values and total in the newest past round, or None without history."""
        if self.past_round is None:
            return None
        values = self.store.consolidated_values(self.past_round, key.kind, key.id)
        if not values:
            return None
        try:
            result: TotalResult | None = compute_total(self.tree, key.kind, values, self.rules)
        except InvalidScore:
            result = None  # the past round used values this round's system does not accept
        return PastResult(self.past_round, values, result, self.value_places)

    # writes -----------------------------------------------------------------------------------
    def enter(self, key: TargetKey, code: str, text: str) -> Change:
        """Strictly parse what the reviewer typed and commit it; InvalidScore (nothing saved) when refused."""
        indicator = self._leaf(key, code)
        value = parse_value(indicator, text)
        return self._write(key, code, value=value, reason="entry")

    def mark_not_applicable(self, key: TargetKey, code: str) -> Change:
        return self.enter(key, code, "不适用")

    def clear(self, key: TargetKey, code: str) -> Change:
        self._leaf(key, code)
        return self._write(key, code, value=None, reason="entry")

    def annotate(self, key: TargetKey, code: str, *, note: str | None = None, evidence: str | None = None) -> Change:
        """Set the note and/or evidence links of a cell (kept as typed, stripped); a note keeps its line breaks.
        Evidence that is not http(s) links is refused (InvalidScore, nothing saved)."""
        self._leaf(key, code)
        if evidence is not None and (problem := evidence_problem(evidence)):
            raise InvalidScore(problem)
        if note is not None:
            note = "\n".join(line.rstrip() for line in note.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        return self._write(
            key, code, note=None if note is None else note.strip(),
            evidence=None if evidence is None else evidence.strip(), reason="entry",
        )

    def take_past(self, key: TargetKey, code: str) -> Change:
        """Enter the newest past round's consolidated value of a leaf as if the reviewer had typed it, so it is
        validated like any entry (a past mean between two steps is refused); NotFound when there is none."""
        indicator = self._leaf(key, code)
        past = self.past(key)
        value = past.values.get(code) if past is not None else None
        if value is None:
            raise NotFound(f"「{indicator.name}」没有往期结果可沿用 / {code} has no past value to take")
        return self.enter(key, code, past_entry_text(indicator, value, self.value_places))

    def undo(self) -> Change | None:
        """Put back the cell the last change of this session touched; the undo is itself audited."""
        return self._replay(self._undo, self._redo, "undo")

    def redo(self) -> Change | None:
        """Make again the change the last undo took back (audited as "redo"); None when nothing was undone."""
        return self._replay(self._redo, self._undo, "redo")

    def _replay(self, source: list[Change], target: list[Change], reason: str) -> Change | None:
        if not source:
            return None
        last = source.pop()
        state = last.before if reason == "undo" else last.after
        written = self.store.set_score(
            state.target_kind, state.target_id, state.indicator, state.value, note=state.note,
            evidence=state.evidence, reason=reason,
        )
        if self._log is not None:
            self._log.record(written.after)
        target.append(last)
        return Change(written.before, written.after, reason)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def next_unscored(self, order: list[TargetKey], key: TargetKey, code: str | None) -> tuple[TargetKey, str] | None:
        """The first unscored leaf after (key, code), through the rest of this target, then the targets after
        it in ``order``, then round again from the first; None when every leaf of every target is scored."""
        if key not in order:
            order = [*order, key]
        start = order.index(key)
        for step in range(len(order) + 1):
            target = order[(start + step) % len(order)]
            cells = self.cells(target)
            codes = [leaf.code for leaf in self.leaves(target, cells)]
            if step == 0 and code in codes:
                codes = codes[codes.index(code) + 1:]
            elif step == len(order):  # back at the start: the leaves before where we began
                codes = codes[: codes.index(code)] if code in codes else codes
            for candidate in codes:
                if cells[candidate].value is None:
                    return target, candidate
        return None

    def name_sort_keys(self) -> dict[TargetKey, str]:
        """Each target's name as pinyin (from the stored search keys), for sorting by name as people read it;
        a target without stored keys sorts by its name."""
        rows = self.store.conn.execute("SELECT kind, id, keys FROM search_keys WHERE kind IN ('site', 'case')")
        found = {TargetKey(TargetKind(kind), tid): name_pinyin(keys) for kind, tid, keys in rows}
        return {t.key: found.get(t.key) or t.name for t in self.targets}

    def _leaf(self, key: TargetKey, code: str) -> Indicator:
        indicator = self.tree.get(code)
        if not self.tree.is_leaf(code) or not indicator.applies(key.kind):
            raise NotFound(f"「{indicator.name}」不是本对象的评分项 / {code} is not scored for this target")
        return indicator

    def cell(self, key: TargetKey, code: str) -> Score | None:
        row = self.store.conn.execute(
            "SELECT value, note, evidence, updated_at, revision FROM scores WHERE round = ? AND reviewer_id = ? "
            "AND target_kind = ? AND target_id = ? AND indicator = ?",
            (self.store.round_id, self.reviewer_id, key.kind, key.id, code),
        ).fetchone()
        if row is None:
            return None
        return Score(self.store.round_id, self.reviewer_id, key.kind, key.id, code, decode_value(row[0]),
                     row[1], row[2], row[3] or "", row[4])

    def _write(
        self, key: TargetKey, code: str, *, value: Decimal | str | Keep | None = KEEP, note: str | None = None,
        evidence: str | None = None, reason: str,
    ) -> Change:
        before, after = self.store.set_score(key.kind, key.id, code, value, note=note, evidence=evidence, reason=reason)
        change = Change(before, after, reason)
        if after.revision != before.revision:
            self._undo.append(change)
            self._redo.clear()  # a new change ends the line of changes that could be redone
            if self._log is not None:
                self._log.record(after)
        return change

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

