"""Scoring levels (评分细则): the descriptor an indicator attaches to each of its score values.

Written in the indicators file as `2=建立并有效运转; 1=已建立但未见运转; 0=未建立` (pairs separated by ; ； or a line
break, value and descriptor by = or ＝). Each value must be one the indicator accepts (its range and step, 是/否
for a veto); stored in `indicators.levels` in the canonical form `format_levels` writes, and read back by
`read_levels`, which trusts it (init checked it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from workbench.errors import WorkbenchError
from workbench.model import NA, Indicator, IndicatorKind
from workbench.scoring.indicators import format_value, parse_value

_PAIRS = re.compile(r"[;；\n\r]+")
_EQUALS = re.compile(r"[=＝]")
MAX_LEVELS = 9
"""alt+1 … alt+9 pick them in the app."""


class Level(NamedTuple):
    """One score level: the value as the indicator shows it (2, 0.5, 是) and what it means."""

    value: Decimal
    text: str
    """The value as shown (format_value): what a reviewer types and the worksheet's list offers."""
    descriptor: str


class InvalidLevels(WorkbenchError):
    """A 评分细则 cell that cannot be read, or names a value the indicator does not accept."""


def parse_levels(indicator: Indicator, text: str) -> tuple[Level, ...]:
    """The levels written in a 评分细则 cell, in their order; InvalidLevels naming every problem."""
    levels: list[Level] = []
    problems: list[str] = []
    seen: dict[Decimal, str] = {}
    for part in (p.strip() for p in _PAIRS.split(text)):
        if not part:
            continue
        found = _EQUALS.search(part)
        if found is None:
            problems.append(f"「{part}」缺少“=”（应写成 分值=说明）/ {part!r} lacks '=' (write value=descriptor)")
            continue
        raw, descriptor = part[:found.start()].strip(), part[found.end():].strip()
        if not descriptor:
            problems.append(f"分值 {raw} 没有说明 / level {raw!r} has no descriptor")
            continue
        try:
            value = parse_value(indicator, raw)
        except WorkbenchError as exc:
            problems.append(f"分值 {raw}：{exc.message}")
            continue
        if value is None or value == NA or not isinstance(value, Decimal):
            problems.append(f"「{raw}」不是分值；不适用由“可不适用”列决定 / {raw!r} is not a score level "
                            "(N/A is the allow_na column's)")
            continue
        if indicator.kind == IndicatorKind.DEDUCT and value > indicator.max_score:
            problems.append(f"分值 {raw} 超过满分 {indicator.max_score} / level {raw} is above the points, "
                            f"{indicator.max_score}")
            continue
        if value in seen:
            problems.append(f"分值 {raw} 重复（与「{seen[value]}」相同）/ level {raw} is given twice")
            continue
        seen[value] = raw
        levels.append(Level(value, format_value(indicator, value), descriptor))
    if not levels and not problems:
        return ()
    if len(levels) > MAX_LEVELS:
        problems.append(f"最多 {MAX_LEVELS} 个分值档次，收到 {len(levels)} 个 / at most {MAX_LEVELS} levels, "
                        f"got {len(levels)}")
    if problems:
        raise InvalidLevels("；".join(problems))
    return tuple(levels)


def format_levels(levels: Sequence[Level]) -> str:
    """The canonical text stored in `indicators.levels`: `2=建立并有效运转; 1=已建立但未见运转`."""
    return "; ".join(f"{level.text}={level.descriptor}" for level in levels)


def read_levels(indicator: Indicator) -> tuple[Level, ...]:
    """The indicator's stored levels (init checked them); a stored text it does not accept gives none."""
    if not indicator.levels:
        return ()
    try:
        return parse_levels(indicator, indicator.levels)
    except InvalidLevels:
        return ()  # the package file is the reviewer's: an edited text shows no levels rather than wrong ones


def level_of(levels: Sequence[Level], value: Decimal | str | None) -> Level | None:
    """The level a value is, if any."""
    if not isinstance(value, Decimal):
        return None
    return next((level for level in levels if level.value == value), None)


def covers_every_value(indicator: Indicator, levels: Sequence[Level]) -> bool:
    """Whether every value the indicator accepts (N/A aside) is a level: the worksheet then offers a list."""
    if not levels:
        return False
    if indicator.kind == IndicatorKind.VETO:
        return {level.value for level in levels} == {Decimal(0), Decimal(1)}
    if indicator.kind == IndicatorKind.DEDUCT or indicator.step <= 0:
        return False  # a deduction may exceed its points; no step: any number
    count = indicator.max_score / indicator.step + 1
    return Decimal(len(levels)) == count
