"""The indicator tree and the scoring rules: totals, vetoes, capped deductions, gates, bonus, bands, ranks."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple, TypeVar

from workbench.errors import InvalidScore, NotFound
from workbench.model import NA, Indicator, IndicatorKind, TargetKind
from workbench.scoring.rules import MAX_NUMBER_CHARS, NUMBER, ConsolidationSettings, Rules, plain

__all__ = [
    "PENDING_REASONS",
    "UNREVIEWED",
    "VETO_UNDECIDED",
    "IndicatorTree",
    "TotalResult",
    "compute_total",
    "consolidated_places",
    "dense_ranks",
    "exact",
    "format_consolidated",
    "format_value",
    "grade_for",
    "parse_value",
    "round_half_up",
    "step_places",
    "stored_value",
]

K = TypeVar("K", bound=Hashable)

# Ample precision for reading and rounding decimals; totals themselves are summed and rescaled as Fractions.
_CONTEXT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])
_ZERO = Decimal(0)
_ONE = Decimal(1)
_NOTHING = Fraction(0)
_DEFAULT_VALUE_PLACES = ConsolidationSettings().value_places

# Reviewers type on Chinese keyboards: full-width ASCII forms (１２．５, Ｎ／Ａ, －) and the ideographic space.
_FULL_WIDTH = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " "})
_NA_TEXTS = frozenset({"不适用", "na", "n/a"})
_VETO_YES = frozenset({"是", "y", "yes", "1"})
_VETO_NO = frozenset({"否", "n", "no", "0"})


def round_half_up(x: Decimal | Fraction | int, places: int = 1) -> Decimal:
    """Round as published results are rounded (四舍五入): 79.95 → 80.0, 0.05 → 0.1, 72.25 → 72.3.

    A Fraction is rounded exactly (2/3 → 0.7, 1199/20 = 59.95 → 60.0): the one rounding of an exact value.
    """
    with localcontext(_CONTEXT):
        if isinstance(x, Fraction):
            scaled = x * 10**places
            n, d = scaled.numerator, scaled.denominator
            q = (2 * abs(n) + d) // (2 * d)  # ⌊|x| + ½⌋: halves go away from zero
            return Decimal(-q if n < 0 else q).scaleb(-places)
        return Decimal(x).quantize(_ONE.scaleb(-places), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=4096)
def _fraction_of(value: Decimal) -> Fraction:
    return Fraction(value)


def exact(value: Decimal | Fraction | int) -> Fraction:
    """A number as an exact Fraction (Decimals convert exactly; step values repeat, so they are cached)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Decimal):
        return _fraction_of(value)
    return Fraction(value)


def step_places(step: Decimal) -> int:
    """Decimal places a value on this step needs: 0.5 → 1, 1 → 0, 0.25 → 2."""
    if not step.is_finite() or step <= 0:
        return 0
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


# ----------------------------------------------------------------------------------------------- tree


def _kind_key(target_kind: TargetKind | str | None) -> TargetKind | None:
    """A target kind as the tree keys it (stored kinds arrive as text)."""
    return None if target_kind is None else TargetKind(target_kind)


class IndicatorTree:
    """A round's indicator system as a tree by parent code; only leaves are scored."""

    def __init__(self, indicators: Iterable[Indicator]) -> None:
        self._by_code: dict[str, Indicator] = {}
        arrival: dict[str, int] = {}
        for index, indicator in enumerate(indicators):
            if indicator.code in self._by_code:
                raise ValueError(f"指标代码「{indicator.code}」重复 / indicator code {indicator.code} appears twice")
            self._by_code[indicator.code] = indicator
            arrival[indicator.code] = index

        self._children: dict[str | None, list[Indicator]] = {None: []}
        for indicator in self._by_code.values():
            parent = indicator.parent or None
            if parent is not None and parent not in self._by_code:
                raise ValueError(
                    f"指标「{indicator.code}」的上级「{parent}」不存在 / "
                    f"indicator {indicator.code} names an unknown parent {parent}"
                )
            self._children.setdefault(parent, []).append(indicator)
        for siblings in self._children.values():
            siblings.sort(key=lambda i: (i.position, arrival[i.code]))

        # Depth-first from the top level: display order, and every node's top-level part and depth.
        self._ordered: list[Indicator] = []
        self._part: dict[str, str] = {}
        stack: list[tuple[Indicator, str]] = [(top, top.code) for top in reversed(self._children[None])]
        while stack:
            node, part = stack.pop()
            self._ordered.append(node)
            self._part[node.code] = part
            stack.extend((child, part) for child in reversed(self._children.get(node.code, [])))
        if len(self._ordered) != len(self._by_code):
            stranded = sorted(set(self._by_code) - set(self._part))
            raise ValueError(
                f"指标上级关系成环：{'、'.join(stranded)} / these indicators form a parent cycle: {', '.join(stranded)}"
            )
        self._leaves_by_kind: dict[str | None, tuple[Indicator, ...]] = {}
        self._part_points_by_kind: dict[str | None, dict[str, Decimal]] = {}
        self._plans: dict[str | None, tuple[tuple[str, Indicator, int, str], ...]] = {}
        # (leaf code, a stored Decimal) → (the value as checked, the numerator and denominator it earns):
        # compute_total meets the same few values of each leaf again and again
        self._checked: dict[tuple[str, Decimal], tuple[Decimal, int, int]] = {}
        # the same for the exact Fractions of consolidated values (a past round's totals are worked out from them)
        self._checked_exact: dict[tuple[str, Fraction], tuple[Fraction, int, int]] = {}

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self._by_code)

    def nodes(self) -> list[Indicator]:
        """Every indicator, parents before their children, siblings in position order."""
        return list(self._ordered)

    def get(self, code: str) -> Indicator:
        try:
            return self._by_code[code]
        except KeyError:
            raise NotFound(f"没有代码为「{code}」的指标 / no indicator with code {code}") from None

    def children(self, code: str | None) -> list[Indicator]:
        """The direct children of `code` in position order; `None` gives the top-level parts."""
        if code is not None:
            self.get(code)
        return list(self._children.get(code, []))

    def is_leaf(self, code: str) -> bool:
        self.get(code)
        return not self._children.get(code)

    def part_of(self, code: str) -> str:
        """The top-level ancestor's code (a top-level leaf is its own part)."""
        self.get(code)
        return self._part[code]

    def path(self, code: str) -> list[Indicator]:
        """Root … node, for breadcrumbs."""
        node: Indicator | None = self.get(code)
        chain: list[Indicator] = []
        while node is not None:
            chain.append(node)
            node = self._by_code[node.parent] if node.parent else None
        return chain[::-1]

    def leaves(self, target_kind: TargetKind | str | None = None) -> list[Indicator]:
        """Scored leaves in display order; with a target kind, only those that apply to it (and whose
        ancestors apply too — a 案例-only branch does not reach a 网站)."""
        return list(self._applicable(target_kind))

    def _applicable(self, target_kind: TargetKind | str | None) -> tuple[Indicator, ...]:
        key = _kind_key(target_kind)
        cached = self._leaves_by_kind.get(key)
        if cached is None:
            cached = tuple(
                node
                for node in self._ordered
                if not self._children.get(node.code)
                and (key is None or all(step.applies(key) for step in self.path(node.code)))
            )
            self._leaves_by_kind[key] = cached
        return cached

    def _plan(self, target_kind: TargetKind | str) -> tuple[tuple[str, Indicator, int, str], ...]:
        """compute_total's walk over the applicable leaves: (code, leaf, its kind as _SCORE … _VETO, its part)."""
        key = _kind_key(target_kind)
        cached = self._plans.get(key)
        if cached is None:
            tags = {IndicatorKind.SCORE: _SCORE, IndicatorKind.DEDUCT: _DEDUCT, IndicatorKind.BONUS: _BONUS,
                    IndicatorKind.VETO: _VETO}
            cached = self._plans[key] = tuple((leaf.code, leaf, tags[leaf.kind], self._part[leaf.code])
                                              for leaf in self._applicable(key))
        return cached

    def _part_points(self, target_kind: TargetKind | str) -> dict[str, Decimal]:
        """Top-level part → the points of its applicable point leaves (vetoes and bonus leaves carry none)."""
        key = _kind_key(target_kind)
        cached = self._part_points_by_kind.get(key)
        if cached is None:
            cached = {}
            for leaf in self._applicable(key):
                if leaf.kind not in (IndicatorKind.VETO, IndicatorKind.BONUS):
                    part = self._part[leaf.code]
                    cached[part] = cached.get(part, _ZERO) + leaf.max_score
            self._part_points_by_kind[key] = cached
        return cached

    def max_total(self, target_kind: TargetKind | str, rules: Rules) -> Decimal:
        """The most a target of this kind can get: every point leaf's max plus the (capped) bonus."""
        base = _ZERO
        bonus = _ZERO
        for leaf in self._applicable(target_kind):
            if leaf.kind == IndicatorKind.BONUS:
                bonus += leaf.max_score
            elif leaf.kind != IndicatorKind.VETO:
                base += leaf.max_score
        if rules.bonus_cap is not None:
            bonus = min(bonus, rules.bonus_cap)
        return base + bonus


# ------------------------------------------------------------------------------------------- scoring


class TotalResult(NamedTuple):
    """One target's total under a round's rules.

    A NamedTuple rather than a dataclass, as the lookup path wants (see workbench.scoring.rules). Two results
    are equal when all but their `parts` are: stored totals carry their parts apart (`read_totals`)."""

    total: Decimal | None
    """Rounded half-up to one decimal, once, from the exact sum; None when vetoed."""
    grade: str
    """Band label; the fail label when vetoed or below the pass mark; "" when there are no bands."""
    vetoed: bool
    passed: bool
    """False when vetoed or below the pass mark."""
    base: Decimal
    """Rounded non-bonus total, after N/A rescaling."""
    bonus: Decimal | Fraction
    """Bonus points actually counted (0 when the gate is closed), after the cap; exact (compute_total gives a
    Fraction)."""
    scored: int
    """Applicable leaves with a value (N/A counts as scored)."""
    applicable: int
    pending: str = ""
    """Why a consolidated target has no total, grade or rank yet (PENDING_REASONS), "" when it has them."""
    parts: Mapping[str, Fraction] = MappingProxyType({})
    """Each top-level part's earned points, exact, after its N/A rescaling (the base is their sum, rounded);
    a part with no scored point leaf is absent (it earns 0)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TotalResult):
            return NotImplemented
        return self[:-1] == other[:-1]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:-1])

    @property
    def complete(self) -> bool:
        return self.scored == self.applicable

    def held(self, reason: str) -> TotalResult:
        """This result held back for ``reason`` (a PENDING_REASONS key): no total, no grade, no rank."""
        return self._replace(total=None, grade="", passed=False, pending=reason)


UNREVIEWED = "unreviewed"
VETO_UNDECIDED = "veto-undecided"
PENDING_REASONS = {
    UNREVIEWED: ("未评审", "no review merged yet"),
    VETO_UNDECIDED: ("待定", "a veto lacks the minimum number of reviews"),
}
"""Why a target's result is held back → (Chinese, English)."""


def stored_value(leaf: Indicator, raw: Decimal | Fraction | str | int | None) -> Decimal | Fraction | str | None:
    """A stored value as the engine uses it; refuses what no valid entry could have produced.

    A Fraction is an exact consolidated value and stays one; everything else becomes a Decimal (or NA).
    """
    if raw is None:
        return None
    if isinstance(raw, Decimal):  # the common case first: Fraction's isinstance goes through the ABCs
        value = raw
    elif isinstance(raw, str):
        if raw == NA:
            return NA
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            raise InvalidScore(
                f"「{leaf.name}」的存储值 {raw!r} 不是数字 / stored value {raw!r} of {leaf.code} is not a number"
            ) from None
    elif isinstance(raw, Fraction):
        return _checked_exact(leaf, raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(raw)
    else:
        raise TypeError(f"score values are Decimal, Fraction, NA or None, not {type(raw).__name__}")
    if not value.is_finite() or value < 0:
        raise InvalidScore(f"「{leaf.name}」的存储值 {raw} 无效 / stored value {raw} of {leaf.code} is invalid")
    if leaf.kind == IndicatorKind.VETO and value not in (_ZERO, _ONE):
        raise InvalidScore(
            f"「{leaf.name}」的存储值须为 1（是）或 0（否），收到 {raw} / veto {leaf.code} must be 1 or 0, got {raw}"
        )
    if leaf.kind in (IndicatorKind.SCORE, IndicatorKind.BONUS) and value > leaf.max_score:
        raise InvalidScore(
            f"「{leaf.name}」的存储值 {raw} 超过满分 {plain(leaf.max_score)} / "
            f"stored value {raw} of {leaf.code} exceeds its maximum {plain(leaf.max_score)}"
        )
    return value


def _checked_exact(leaf: Indicator, value: Fraction) -> Fraction:
    """stored_value's checks for an exact value, in integers (the consolidation produces millions of them)."""
    n, d = value.numerator, value.denominator
    if n < 0:
        raise InvalidScore(f"「{leaf.name}」的值 {value} 无效 / value {value} of {leaf.code} is invalid")
    if leaf.kind == IndicatorKind.VETO and (d != 1 or n > 1):
        raise InvalidScore(f"「{leaf.name}」的值须为 1（是）或 0（否），收到 {value} / veto {leaf.code} must be 1 or 0")
    if leaf.kind in (IndicatorKind.SCORE, IndicatorKind.BONUS):
        top = exact(leaf.max_score)
        if n * top.denominator > top.numerator * d:
            raise InvalidScore(
                f"「{leaf.name}」的值 {value} 超过满分 {plain(leaf.max_score)} / "
                f"value {value} of {leaf.code} exceeds its maximum {plain(leaf.max_score)}"
            )
    return value


_SCORE, _DEDUCT, _BONUS, _VETO = range(4)
_CHECKED_MAX = 200_000
"""Checked values a tree keeps for compute_total before it starts afresh (a bound, not a working size)."""


def compute_total(
    tree: IndicatorTree,
    target_kind: TargetKind | str,
    values: Mapping[str, Decimal | Fraction | str | None],
    rules: Rules,
) -> TotalResult:
    """A target's total so far: unscored leaves earn 0, N/A parts rescaled, then veto, pass mark, gate, bonus.

    Exact throughout: values (Decimals or the consolidation's exact Fractions) are summed and rescaled as
    fractions, and each published number is rounded half-up once — the base (which the pass mark and the bonus
    gate judge) and the total (base sum + counted bonus, rounded from the exact sum, not from the rounded
    base). Values of codes that are not applicable leaves of this target kind are ignored.
    """
    plan = tree._plan(target_kind)
    part_max = tree._part_points(target_kind)
    checked, checked_exact = tree._checked, tree._checked_exact
    if len(checked) > _CHECKED_MAX:
        checked.clear()
    if len(checked_exact) > _CHECKED_MAX:
        checked_exact.clear()
    part_na: dict[str, Decimal] = {}
    # Part → denominator → Σ numerators: exact sums without building a Fraction for every leaf.
    part_earned: dict[str, dict[int, int]] = {}
    bonus_raw = _NOTHING
    vetoed = False
    scored = 0
    for code, leaf, tag, part in plan:
        raw = values.get(code)
        if raw is None:
            continue  # unscored leaves earn nothing yet, whatever their kind
        scored += 1
        if type(raw) is Decimal and raw.is_finite():  # the common case: checked once per leaf and value
            hit = checked.get((code, raw))
            if hit is None:
                value = stored_value(leaf, raw)
                assert isinstance(value, Decimal)
                earns = min(value, leaf.max_score) if tag == _DEDUCT else value
                hit = checked[(code, raw)] = (value, *earns.as_integer_ratio())
            value, n, d = hit
        elif type(raw) is Fraction:  # an exact consolidated value: checked once per leaf and value too
            exact_hit = checked_exact.get((code, raw))
            if exact_hit is None:
                checked_value = _checked_exact(leaf, raw)
                # min(value, points) for a deduction, written out: min() of a Fraction and a Decimal has no type
                exact_earns: Fraction | Decimal = (leaf.max_score if tag == _DEDUCT and leaf.max_score < checked_value
                                                   else checked_value)
                exact_hit = checked_exact[(code, raw)] = (checked_value, *exact_earns.as_integer_ratio())
            value, n, d = exact_hit
        else:
            value = stored_value(leaf, raw)  # not None: raw is not
            n = d = 0
            if value is not None and not isinstance(value, str):
                n, d = (min(value, leaf.max_score) if tag == _DEDUCT else value).as_integer_ratio()
        if tag == _VETO:
            vetoed = vetoed or value == _ONE
            continue
        if tag == _BONUS:
            if not isinstance(value, str):
                bonus_raw += Fraction(n, d)  # N/A bonus leaves are skipped, never rescaled
            continue
        if isinstance(value, str):  # N/A
            part_na[part] = part_na.get(part, _ZERO) + leaf.max_score
            continue
        sums = part_earned.get(part)
        if sums is None:
            sums = part_earned[part] = {}
        if tag == _DEDUCT:  # earns its points less the deduction (capped at them), never below 0
            top_n, top_d = leaf.max_score.as_integer_ratio()
            sums[top_d] = sums.get(top_d, 0) + top_n
            sums[d] = sums.get(d, 0) - n
        else:
            sums[d] = sums.get(d, 0) + n

    base_raw = _NOTHING
    parts: dict[str, Fraction] = {}
    for part, sums in part_earned.items():
        earned = sum((Fraction(n, d) for d, n in sums.items()), _NOTHING)
        full, na = part_max[part], part_na.get(part, _ZERO)
        if rules.rescale_na and _ZERO < na < full:
            earned = earned * exact(full) / exact(full - na)
        parts[part] = earned
        base_raw += earned
    base = round_half_up(base_raw)
    applicable = len(plan)

    if vetoed:
        return TotalResult(None, rules.fail_label, True, False, base, _NOTHING, scored, applicable, parts=parts)
    if rules.pass_mark is not None and base < rules.pass_mark:
        return TotalResult(base, rules.fail_label, False, False, base, _NOTHING, scored, applicable, parts=parts)
    if rules.bonus_cap is not None:
        bonus_raw = min(bonus_raw, exact(rules.bonus_cap))
    counted = bonus_raw if rules.bonus_gate is None or base > rules.bonus_gate else _NOTHING
    total = round_half_up(base_raw + counted)
    return TotalResult(total, grade_for(total, rules), False, True, base, counted, scored, applicable, parts=parts)


def grade_for(total: Decimal | Fraction, rules: Rules) -> str:
    """The band of a total, judged on the total rounded to one decimal (94.95 → 95.0 → 卓越)."""
    if not rules.grade_bands:
        return ""
    rounded = round_half_up(total)
    for label, bound in rules.grade_bands:
        if rounded >= bound:
            return label
    label, bound = rules.grade_bands[-1]
    return label if bound == 0 else ""


def dense_ranks(results: Mapping[K, TotalResult]) -> dict[K, int]:
    """Dense ranks on rounded totals, highest first (80.4, 80.4 → 4, 4, next 5); vetoed units share the
    rank after the last numeric one; results held back (pending) get no rank. Returned in rank order."""
    ranked = {key: r for key, r in results.items() if not r.pending}
    totals = {key: round_half_up(r.total) for key, r in ranked.items() if r.total is not None and not r.vetoed}
    rank_of_total = {total: index + 1 for index, total in enumerate(sorted(set(totals.values()), reverse=True))}
    after_last = len(rank_of_total) + 1
    ranks = {key: rank_of_total[totals[key]] if key in totals else after_last for key in ranked}
    return dict(sorted(ranks.items(), key=lambda item: item[1]))


# ------------------------------------------------------------------------------------ entry and display


def _shown(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


def _allowed(indicator: Indicator) -> tuple[str, str]:
    """What may be entered for an indicator, in Chinese and in English."""
    step = plain(indicator.step)
    if indicator.kind == IndicatorKind.VETO:
        if indicator.allow_na:
            return "填“是”、“否”或“不适用”", "是 (yes), 否 (no) or 不适用 (N/A)"
        return "填“是”或“否”", "是 (yes) or 否 (no)"
    if indicator.kind == IndicatorKind.DEDUCT:
        zh, en = f"不小于 0、步长 {step} 的扣分数", f"points deducted, 0 or more in steps of {step}"
    else:
        top = plain(indicator.max_score)
        zh, en = f"0 至 {top} 之间、步长 {step} 的数值", f"0–{top} in steps of {step}"
    if indicator.allow_na:
        zh, en = zh + "（或“不适用”）", en + " (or N/A)"
    return zh, en


def _refused(indicator: Indicator, got: str, reason_zh: str = "", reason_en: str = "") -> InvalidScore:
    zh, en = _allowed(indicator)
    verb = "须" if indicator.kind == IndicatorKind.VETO else "须为 "
    return InvalidScore(f"「{indicator.name}」{reason_zh}{verb}{zh}，收到 {_shown(got)} / {reason_en}must be {en}")


def parse_value(indicator: Indicator, text: str) -> Decimal | str | None:
    """Strictly read what a reviewer typed or a cell held: "" → None, 不适用 → NA, 是/否 for a veto,
    else a plain non-negative number on the step (≤ max unless a deduction), quantised to the step."""
    got = text.strip()
    if not got:
        return None
    normal = got.translate(_FULL_WIDTH).strip()
    folded = normal.lower()
    if folded in _NA_TEXTS:
        if indicator.allow_na:
            return NA
        raise _refused(indicator, got, "不允许填“不适用”，", "N/A is not allowed; ")
    if indicator.kind == IndicatorKind.VETO:
        if folded in _VETO_YES:
            return Decimal(1)
        if folded in _VETO_NO:
            return Decimal(0)
        raise _refused(indicator, got)

    negative = normal.startswith("-")
    digits = normal[1:] if negative else normal
    if len(digits) > MAX_NUMBER_CHARS or not NUMBER.fullmatch(digits):
        raise _refused(indicator, got)
    with localcontext(_CONTEXT):
        value = Decimal(digits)
        if negative:
            if value > 0:
                raise _refused(indicator, got, "不能为负数，", "negative values are not allowed; ")
            raise _refused(indicator, got)
        step = indicator.step
        if step > 0 and (value / step) != (value / step).to_integral_value():
            raise _refused(indicator, got)
        if indicator.kind in (IndicatorKind.SCORE, IndicatorKind.BONUS) and value > indicator.max_score:
            raise _refused(indicator, got)
        if step > 0:
            return value.quantize(_ONE.scaleb(-step_places(step)))
        return value


def _words(value: Decimal | Fraction | str, veto: bool, english: bool) -> str | None:
    """N/A and a veto's yes/no in words; None for a number."""
    if value == NA:
        return "N/A" if english else "不适用"
    if veto and value in (_ZERO, _ONE):
        if english:
            return "yes" if value == _ONE else "no"
        return "是" if value == _ONE else "否"
    return None


def format_value(indicator: Indicator, value: Decimal | Fraction | str | None, lang: str = "zh") -> str:
    """A reviewer's own value for display and for the worksheet's 得分 column, at its step's precision.

    A Fraction is a consolidated value, which has its own rule: it is shown as `format_consolidated` shows it
    at the default 得分小数位 (callers that know the round's setting call that instead).
    """
    if isinstance(value, Fraction):
        return format_consolidated(indicator, value, _DEFAULT_VALUE_PLACES, lang)
    if isinstance(value, str) and value != NA:
        value = Decimal(value)
    return _display(indicator, value, step_places(indicator.step), lang)


def consolidated_places(indicator: Indicator, value_places: int) -> int:
    """Decimal places a consolidated value of this indicator is shown to: 得分小数位 (the `value_places`
    setting), never fewer than the step's places + 1 — so a mean between two steps stays visible."""
    return max(value_places, step_places(indicator.step) + 1)


def format_consolidated(
    indicator: Indicator, value: Fraction | Decimal | str | None, value_places: int, lang: str = "zh"
) -> str:
    """The display text of a consolidated value — the one rule wherever one is shown (scores, report, TUI).

    `value` is the exact value (a Fraction, a Decimal, or its stored text "p" / "p/q"), NA, or None (no usable
    value: shown empty). Numbers are rounded half-up (四舍五入) once, from the exact value, to
    `consolidated_places(indicator, value_places)` places: 2/3 at 得分小数位 2 on a 0.5 step → "0.67"; a veto's
    majority reads 是/否. `value_places` is the round's ConsolidationSettings.value_places. Display only:
    totals are computed from the exact value, never from this text.
    """
    if isinstance(value, str) and value != NA:
        value = Fraction(value)
    return _display(indicator, value, consolidated_places(indicator, value_places), lang)


def _display(indicator: Indicator, value: Decimal | Fraction | str | None, places: int, lang: str) -> str:
    """A parsed value as text: empty, 不适用 or 是/否 in words, else the number rounded half-up to `places`."""
    if value is None:
        return ""
    words = _words(value, indicator.kind == IndicatorKind.VETO, lang == "en")
    if words is not None:
        return words
    assert not isinstance(value, str)
    return format(round_half_up(value, places), "f")
