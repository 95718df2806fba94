"""Typed, frozen records the core hands out: indicators, targets, reviewers, scores.

NamedTuples rather than dataclasses: this module is on the lookup path, where importing `dataclasses` (it
brings `inspect`) and defining each class cost about 30 ms of a 0.15 s `workbench scores`."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import NamedTuple


class IndicatorKind(enum.StrEnum):
    SCORE = "score"    # 0 … max in steps
    VETO = "veto"      # yes/no; a yes fails the target
    DEDUCT = "deduct"  # points deducted, capped at the indicator's points
    BONUS = "bonus"    # added points, capped by the round's bonus cap


class TargetKind(enum.StrEnum):
    SITE = "site"
    CASE = "case"


#: The word the worksheets, reports and set-up files use for each kind of target.
TARGET_LABELS: dict[TargetKind, str] = {TargetKind.SITE: "网站", TargetKind.CASE: "案例"}


class TargetKey(NamedTuple):
    """Which target: its kind and id. The one key for a site or a case in every subsystem."""

    kind: TargetKind
    id: str


#: Stored value of a leaf judged "not applicable" (distinct from 0 and from "not scored").
NA = "NA"


class Indicator(NamedTuple):
    code: str
    name: str
    kind: IndicatorKind
    max_score: Decimal
    step: Decimal
    parent: str | None = None
    applies_to: str = "both"  # site | case | both
    description: str = ""
    position: int = 0
    allow_na: bool = False
    levels: str = ""
    """Its 评分细则 as stored (`2=建立并有效运转; 1=…`, workbench.scoring.levels reads them); "" for none."""

    def applies(self, target_kind: TargetKind) -> bool:
        return self.applies_to in ("both", target_kind)


class Site(NamedTuple):
    id: str
    name: str
    region: str = ""
    level: str = ""
    url: str = ""
    calibration: bool = False


class Case(NamedTuple):
    id: str
    title: str
    government: str = ""
    region: str = ""
    area: str = ""
    summary: str = ""
    synthetic: bool = False
    calibration: bool = False


class Target(NamedTuple):
    """A site or a case, as the reviewer app and lookups see it."""

    kind: TargetKind
    id: str
    name: str
    region: str = ""
    detail: str = ""  # site: level; case: government
    url: str = ""
    area: str = ""
    summary: str = ""
    calibration: bool = False
    """A calibration target (校准): scored by every reviewer before the real work, never counted."""

    @property
    def key(self) -> TargetKey:
        return TargetKey(self.kind, self.id)


class Reviewer(NamedTuple):
    id: str
    name: str
    org: str = ""
    region: str = ""


class Assignment(NamedTuple):
    reviewer_id: str
    target_kind: TargetKind
    target_id: str


class Score(NamedTuple):
    """The current value of one (reviewer, target, indicator) cell.

    ``value`` is None when not yet scored, ``NA`` when not applicable, otherwise a Decimal
    (for a veto indicator 1 = hit, 0 = no hit; for a deduction, the points deducted).
    """

    round_id: str
    reviewer_id: str
    target_kind: TargetKind
    target_id: str
    indicator: str
    value: Decimal | str | None
    note: str = ""
    evidence: str = ""
    updated_at: str = ""
    revision: int = 0


class ReReviewNote(NamedTuple):
    """What a re-review package tells its reviewer about one disputed pair (the others are not named).

    A NamedTuple rather than a dataclass: this module is on the lookup path, and a dataclass costs about a
    millisecond to define."""

    reasons: tuple[str, ...]
    """disagreement | out-of-range"""
    consensus: str
    """The consolidated value as shown (得分小数位)."""
    spread: str
    """max − min of the panel's values as written ("" for a veto)."""
    others: tuple[tuple[str, str], ...]
    """(专家A, value shown) … for the other reviewers, in the order of their values."""
    own: str
    """The reviewer's own merged value as shown: keeping it on re-review needs a note."""
    appeal: str = ""
    """In an appeal package (申诉复核): the appeal(s) the pair came back for, id, appellant and reason."""
