"""The one reader of a round's `rules(key, value)` table: the scoring rules and the consolidation settings.

Keys come in English or Chinese; every value is checked here, and a bad one raises InvalidRule naming the
rule, the value (quoted, clipped) and what it must be. `check_rule` checks one row alone, so that whoever reads
a rules file can point at the row that is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple, Self

from workbench.errors import InvalidRule

#: A plain decimal of 0 or more as a person types it (no sign, no exponent), and how long one may be.
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
MAX_NUMBER_CHARS = 30
_HUNDRED = Decimal(100)
_QUOTED_CHARS = 60


def _quoted(text: str) -> str:
    """A value as a message quotes it: repr (controls and quotes escaped), clipped so that a long cell stays short."""
    return repr(text) if len(text) <= _QUOTED_CHARS else repr(text[: _QUOTED_CHARS - 1]) + "…"


def plain(value: Decimal) -> str:
    """A Decimal as people write it: no exponent, no trailing zeros (100, 0.5, 4)."""
    return format(value.normalize(), "f")


def rule_name(key: str) -> str | None:
    """The canonical name of a rule key written in English or Chinese (any width, case or spacing), or None."""
    return ALIASES.get(unicodedata.normalize("NFKC", str(key)).strip().casefold().replace(" ", ""))


def _given(rules: Mapping[str, str], names: frozenset[str]) -> dict[str, str]:
    """The rows of `rules` that name one of `names`, by canonical name; a rule given twice is refused."""
    given: dict[str, str] = {}
    for key, value in rules.items():
        name = rule_name(key)
        if name is None or name not in names:
            continue
        if name in given:
            raise InvalidRule(f"规则「{name}」重复出现 / rule {name} is given more than once")
        given[name] = "" if value is None else str(value)
    return given


def _number(key: str, text: str, *, percent: bool = False) -> Decimal | None:
    """A number of 0 or more (empty → None); with ``percent``, "40%" reads as 0.4."""
    normal = unicodedata.normalize("NFKC", text).strip()
    if not normal:
        return None
    share = percent and normal.endswith("%")
    digits = normal.rstrip("%").strip() if share else normal
    if len(digits) > MAX_NUMBER_CHARS or not NUMBER.fullmatch(digits):
        raise InvalidRule(
            f"规则「{key}」须为不小于 0 的数字，收到 {_quoted(text)} / "
            f"rule {key} must be a number of 0 or more, got {_quoted(text)}"
        )
    value = Decimal(digits)
    return value / _HUNDRED if share else value


SCORING_ALIASES: dict[str, str] = {
    "pass_mark": "pass_mark",
    "及格线": "pass_mark",
    "合格线": "pass_mark",
    "bonus_gate": "bonus_gate",
    "加分门槛": "bonus_gate",
    "bonus_cap": "bonus_cap",
    "加分上限": "bonus_cap",
    "grade_bands": "grade_bands",
    "等级": "grade_bands",
    "等级划分": "grade_bands",
    "fail_label": "fail_label",
    "不合格标签": "fail_label",
    "rescale_na": "rescale_na",
    "不适用折算": "rescale_na",
    "rank_groups": "rank_groups",
    "排名分组": "rank_groups",
}
#: What a target may be ranked within (排名分组), by the set-up column it comes from: the column's names in
#: Chinese and English → the target attribute. Sites have 层级 and 地区, cases 地区 and 领域; a kind without the
#: attribute is ranked as one group.
RANK_GROUP_COLUMNS: dict[str, str] = {
    "层级": "level", "level": "level", "地区": "region", "region": "region", "领域": "area", "area": "area",
}
TRUE_TEXTS = frozenset({"1", "true", "yes", "y", "是"})
FALSE_TEXTS = frozenset({"0", "false", "no", "n", "否"})
_BAND_SEPARATORS = re.compile(r"[;,、\n]")


def _rule_bands(text: str) -> tuple[tuple[str, Decimal], ...]:
    normal = unicodedata.normalize("NFKC", text).strip()
    bands: list[tuple[str, Decimal]] = []
    for item in _BAND_SEPARATORS.split(normal):
        item = item.strip()
        if not item:
            continue
        label, colon, bound_text = item.rpartition(":")
        label, bound_text = label.strip(), bound_text.strip()
        if not colon or not label or not NUMBER.fullmatch(bound_text) or len(bound_text) > MAX_NUMBER_CHARS:
            raise InvalidRule(
                f"规则「grade_bands」的「{item}」须写作“等级:下限”，如 卓越:95;优秀:85;准备:0 / "
                f"rule grade_bands: {_quoted(item)} must be written label:lower bound, e.g. 卓越:95;优秀:85;准备:0"
            )
        bands.append((label, Decimal(bound_text)))
    labels = [label for label, _ in bands]
    bounds = [bound for _, bound in bands]
    if len(set(labels)) != len(labels) or len(set(bounds)) != len(bounds):
        raise InvalidRule(
            f"规则「grade_bands」中的等级名称与下限都不能重复，收到 {_quoted(text)} / "
            f"rule grade_bands: labels and lower bounds must each be distinct, got {_quoted(text)}"
        )
    return tuple(bands)


def _rule_flag(key: str, text: str, default: bool) -> bool:
    normal = unicodedata.normalize("NFKC", text).strip().lower()
    if not normal:
        return default
    if normal in TRUE_TEXTS:
        return True
    if normal in FALSE_TEXTS:
        return False
    raise InvalidRule(
        f"规则「{key}」须为 是/否（1/0），收到 {_quoted(text)} / rule {key} must be yes/no (1/0), got {_quoted(text)}"
    )


def _rule_rank_groups(text: str) -> str | None:
    normal = unicodedata.normalize("NFKC", text).strip()
    if not normal:
        return None
    attribute = RANK_GROUP_COLUMNS.get(normal.casefold())
    if attribute is None:
        raise InvalidRule(
            f"规则「rank_groups」须为 层级、地区 或 领域（对象表中的列），收到 {_quoted(text)} / "
            "rule rank_groups must name a target column: 层级 (level), 地区 (region) or 领域 (area), "
            f"got {_quoted(text)}"
        )
    return attribute


# The records below are NamedTuples, not dataclasses: this module is on the lookup path (`workbench scores`), where
# importing `dataclasses` and defining each class cost ~20 ms. A record that checks its values keeps its fields
# in a base (`_RulesFields`) and checks them in its own __new__, and its `_replace` goes through that check too
# (the NamedTuple one would not).


class _RulesFields(NamedTuple):
    pass_mark: Decimal | None = None
    """Rounded base total below it → 不合格; at it the target passes."""
    bonus_gate: Decimal | None = None
    """The bonus part counts only when the rounded base total is strictly above it."""
    bonus_cap: Decimal | None = None
    """Cap on the sum of bonus leaves."""
    grade_bands: tuple[tuple[str, Decimal], ...] = ()
    """(label, inclusive lower bound), highest first."""
    fail_label: str = "不合格"
    rescale_na: bool = True
    """N/A leaves are left out and their part rescaled to its full points."""
    rank_groups: str | None = None
    """The target attribute dense ranks are computed within (level, region or area; RANK_GROUP_COLUMNS), or
    None: one ranking per target kind."""



_RULES_DEFAULT = _RulesFields()


class Rules(_RulesFields):
    """A round's scoring rules; every rule is data so that one engine serves every indicator system."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        given = _RulesFields(*args, **kwargs)
        # Whoever builds Rules directly may list bands in any order; grade_for needs highest first.
        bands = tuple(sorted(((label, Decimal(bound)) for label, bound in given.grade_bands), key=lambda b: -b[1]))
        marks: dict[str, Any] = {}
        for name in ("pass_mark", "bonus_gate", "bonus_cap"):
            value = getattr(given, name)
            if value is not None and not isinstance(value, Decimal):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise TypeError(f"Rules.{name} must be a Decimal, not {type(value).__name__}")
                marks[name] = Decimal(value)
        return super().__new__(cls, *given._replace(grade_bands=bands, **marks))

    def _replace(self, /, **changes: Any) -> Self:
        return type(self)(**{**self._asdict(), **changes})

    @classmethod
    def from_mapping(cls, rules: Mapping[str, str]) -> Rules:
        """Read the round's `rules(key, value)` rows; keys in English or Chinese, keys of other settings left alone.

        >>> Rules.from_mapping({"pass_mark": "60", "grade_bands": "卓越：95，优秀：85，准备：0"}).grade_bands[0]
        ('卓越', Decimal('95'))
        """
        given = _given(rules, frozenset(SCORING_ALIASES.values()))
        fail_label = given.get("fail_label", "").strip()
        return cls(
            pass_mark=_number("pass_mark", given.get("pass_mark", "")),
            bonus_gate=_number("bonus_gate", given.get("bonus_gate", "")),
            bonus_cap=_number("bonus_cap", given.get("bonus_cap", "")),
            grade_bands=_rule_bands(given.get("grade_bands", "")),
            fail_label=fail_label or _RULES_DEFAULT.fail_label,
            rescale_na=_rule_flag("rescale_na", given.get("rescale_na", ""), _RULES_DEFAULT.rescale_na),
            rank_groups=_rule_rank_groups(given.get("rank_groups", "")),
        )

    def to_mapping(self) -> dict[str, str]:
        """The rules as `rules(key, value)` rows; `Rules.from_mapping(r.to_mapping()) == r`."""
        out: dict[str, str] = {}
        for name in ("pass_mark", "bonus_gate", "bonus_cap"):
            value = getattr(self, name)
            if value is not None:
                out[name] = plain(value)
        if self.grade_bands:
            out["grade_bands"] = ";".join(f"{label}:{plain(bound)}" for label, bound in self.grade_bands)
        out["fail_label"] = self.fail_label
        out["rescale_na"] = "1" if self.rescale_na else "0"
        if self.rank_groups is not None:
            out["rank_groups"] = self.rank_groups
        return out


CONSOLIDATION_ALIASES: dict[str, str] = {
    "trim": "trim",
    "去掉最高最低": "trim",
    "去掉最高分和最低分": "trim",
    "min_reviews": "min_reviews",
    "最少评审数": "min_reviews",
    "disagreement_spread": "disagreement_spread",
    "分歧阈值": "disagreement_spread",
    "disagreement_gap": "disagreement_gap",
    "分歧间隔": "disagreement_gap",
    "disagreement_z": "disagreement_z",
    "稳健z阈值": "disagreement_z",
    "value_places": "value_places",
    "得分小数位": "value_places",
    "calibration_threshold": "calibration_threshold",
    "校准阈值": "calibration_threshold",
}

#: The robust z needs this many numeric values of a cell before it means anything (with 3 reviewers the ratio
#: of two gaps is all it sees: [30, 30, 30.05] would be an "outlier").
Z_MIN_VALUES = 5


def _setting_count(key: str, text: str, default: int | None) -> int | None:
    normal = unicodedata.normalize("NFKC", text).strip()
    if not normal:
        return default
    if not normal.isdigit() or len(normal) > 6:
        raise InvalidRule(
            f"规则「{key}」须为整数，收到 {_quoted(text)} / rule {key} must be a whole number, got {_quoted(text)}"
        )
    return int(normal)


def read_share(key: str, text: str) -> Decimal | None:
    """A dispute threshold as written in the rules or an indicator's column: a share of the indicator's points
    (0.4) or a percentage (40%); empty → None. InvalidRule naming ``key`` otherwise."""
    return _number(key, text, percent=True)


class Thresholds(NamedTuple):
    """When one indicator's reviews are a dispute: shares of its points (None turns a check off)."""

    spread: Decimal | None
    """分歧阈值: the values span (max − min) more than this share of the points."""
    gap: Decimal | None
    """分歧间隔: two neighbouring values (sorted) lie more than this share of the points apart: the panel splits
    into camps, e.g. [1, 1, 2] on a 2-point leaf."""


class _SettingsFields(NamedTuple):

    trim: bool = True
    """Drop exactly one highest and one lowest value when there are 3 or more (去掉一个最高分和一个最低分)."""
    min_reviews: int | None = None
    """Fewer usable reviews than this flags the cell missing (and leaves a veto undecided); None (the default):
    as many as the target's assigned reviewers."""
    spread_threshold: Decimal | None = Decimal("0.6")
    """(max − min) beyond this share of the indicator's points → disagreement; None turns it off."""
    gap_threshold: Decimal | None = Decimal("0.4")
    """A gap between neighbouring sorted values beyond this share of the points → disagreement."""
    z_threshold: Decimal | None = Decimal("3.5")
    """With Z_MIN_VALUES or more values: robust z |x − median| / (1.4826 · MAD) beyond this, and x at least the
    gap threshold's share of the points from the median → that reviewer is an outlier (a disagreement that goes
    back to them alone); None turns it off."""
    value_places: int = 2
    """Consolidated values are rounded half-up to this many places, never fewer than the step's places + 1."""
    calibration_threshold: Decimal | None = Decimal("0.1")
    """校准阈值: a reviewer whose mean deviation from the calibration consensus (or reference) is beyond this share
    of the points, harsher or more lenient, is flagged by `workbench calibration`; None turns the flag off."""
    per_indicator: tuple[tuple[str, Thresholds], ...] = ()
    """Indicator code → its own thresholds (the indicators file's 分歧阈值 / 分歧间隔 columns)."""


class ConsolidationSettings(_SettingsFields):
    """How a round turns several reviews of a cell into one value, and when it calls them disputed."""

    # No __slots__ = (): each instance keeps `_by_code` (per_indicator as a dict, for `thresholds`) beside its
    # fields; equality and hashing are the fields' alone.
    _by_code: dict[str, Thresholds]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        self = super().__new__(cls, *args, **kwargs)
        if (self.min_reviews is not None and self.min_reviews < 1) or self.value_places < 0:
            raise ValueError("min_reviews must be at least 1 (or None) and value_places at least 0")
        for name in ("spread_threshold", "gap_threshold", "z_threshold", "calibration_threshold"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Decimal) or not value.is_finite() or value < 0):
                raise ValueError(f"ConsolidationSettings.{name} must be a Decimal of 0 or more, or None")
        self._by_code = dict(self.per_indicator)
        return self

    def _replace(self, /, **changes: Any) -> Self:
        return type(self)(**{**self._asdict(), **changes})

    def thresholds(self, code: str) -> Thresholds:
        """The dispute thresholds of one indicator: its own where the indicators file sets them, else the round's."""
        own = self._by_code.get(code)
        return Thresholds(self.spread_threshold, self.gap_threshold) if own is None else own

    def with_indicator_thresholds(self, rows: Mapping[str, tuple[str, str]]) -> ConsolidationSettings:
        """These settings with the indicators' own thresholds: code → (分歧阈值 text, 分歧间隔 text), an empty text
        keeping the round's value for that check."""
        own = []
        for code, (spread_text, gap_text) in sorted(rows.items()):
            if not spread_text.strip() and not gap_text.strip():
                continue
            spread = read_share("disagreement_spread", spread_text) if spread_text.strip() else self.spread_threshold
            gap = read_share("disagreement_gap", gap_text) if gap_text.strip() else self.gap_threshold
            own.append((code, Thresholds(spread, gap)))
        return self._replace(per_indicator=tuple(own))

    @classmethod
    def from_rules(cls, rules: Mapping[str, str]) -> ConsolidationSettings:
        """Read the round's `rules(key, value)` rows; keys in English or Chinese, other rules left alone.

        An absent key keeps its default; an empty threshold turns that check off; a threshold may be
        written as a share (0.4) or a percentage (40%).
        """
        given = _given(rules, frozenset(CONSOLIDATION_ALIASES.values()))
        default = cls()
        trim = _rule_flag("trim", given.get("trim", ""), default.trim)
        thresholds: dict[str, Decimal | None] = {}
        for key, value in (("disagreement_spread", default.spread_threshold),
                           ("disagreement_gap", default.gap_threshold), ("disagreement_z", default.z_threshold),
                           ("calibration_threshold", default.calibration_threshold)):
            thresholds[key] = read_share(key, given[key]) if key in given else value
        min_reviews = _setting_count("min_reviews", given.get("min_reviews", ""), default.min_reviews)
        if min_reviews is not None and min_reviews < 1:
            raise InvalidRule("规则「min_reviews」须至少为 1 / rule min_reviews must be at least 1")
        places = _setting_count("value_places", given.get("value_places", ""), default.value_places)
        assert places is not None
        return cls(
            trim=trim,
            min_reviews=min_reviews,
            spread_threshold=thresholds["disagreement_spread"],
            gap_threshold=thresholds["disagreement_gap"],
            z_threshold=thresholds["disagreement_z"],
            value_places=places,
            calibration_threshold=thresholds["calibration_threshold"],
        )


ALIASES: dict[str, str] = {**SCORING_ALIASES, **CONSOLIDATION_ALIASES}


def read_rules(rules: Mapping[str, str]) -> tuple[Rules, ConsolidationSettings]:
    """Both halves of a round's rules table, every value checked (InvalidRule at the first bad one)."""
    return Rules.from_mapping(rules), ConsolidationSettings.from_rules(rules)


def check_rule(key: str, value: str) -> None:
    """Check one `rules(key, value)` row on its own: InvalidRule naming the rule and the value when it is not
    what its rule needs; a key that names no rule is left alone (rule_name tells those apart).

    No rule depends on another, so a table whose every row passes here passes read_rules.

    >>> check_rule("及格线", "六十")
    Traceback (most recent call last):
    ...
    workbench.errors.InvalidRule: 规则「pass_mark」须为不小于 0 的数字，收到 '六十' / ...
    """
    read_rules({key: value})
