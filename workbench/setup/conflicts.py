"""Conflicts of interest (回避): the rules every pick of reviewers keeps, and the declared ones stored in the round.

Two rules come from the set-up files themselves: a reviewer never reviews a target of their own 地区, nor one of
their own 单位 (a site's name, a case's 申报单位). The third is what experts declare (财库〔2016〕198号 §16:
employment or board seats within three years, kinship, any other relation that may affect fairness): a conflicts
file names the reviewer and either one target or a 单位, which covers every target of that 单位. All of them
compare as ids do (`id_key`: 广东 and 广东 in another width are one region). The declarations go into the round
(table `declared_conflicts`, migration 0005) for whatever later picks reviewers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from workbench.model import TargetKind
from workbench.setup.tables import id_key
from workbench.store.schema import DECLARED_CONFLICTS_TABLE


@dataclass(frozen=True)
class DeclaredConflict:
    """One declared relation: a reviewer and either one target (kind and id) or a 单位 (org)."""

    reviewer_id: str
    target_kind: TargetKind | None
    target_id: str | None
    org: str | None
    reason: str
    where: str = ""
    """The row it was declared on (conflicts.csv:3), or empty when read from the round."""


class ConflictIndex:
    """The declared conflicts of a round, to ask whether one covers a reviewer and a target."""

    def __init__(self, declared: Iterable[DeclaredConflict]) -> None:
        self.declared = list(declared)
        self._targets: dict[tuple[str, TargetKind, str], DeclaredConflict] = {}
        self._orgs: dict[tuple[str, str], DeclaredConflict] = {}
        for d in self.declared:
            if d.target_kind is not None and d.target_id is not None:
                self._targets.setdefault((d.reviewer_id, d.target_kind, d.target_id), d)
            elif d.org:
                self._orgs.setdefault((d.reviewer_id, id_key(d.org)), d)

    def __len__(self) -> int:
        return len(self.declared)

    def covering(self, reviewer_id: str, kind: TargetKind, target_id: str, target_org: str) -> DeclaredConflict | None:
        """The declaration that forbids this reviewer this target (by the target itself, or by its 单位)."""
        found = self._targets.get((reviewer_id, kind, target_id))
        if found is None and target_org:
            found = self._orgs.get((reviewer_id, id_key(target_org)))
        return found

    def orgs_of(self, reviewer_id: str) -> list[str]:
        """The 单位 (as id keys) declared against this reviewer."""
        return [org for (rid, org) in self._orgs if rid == reviewer_id]

    def targets_of(self, reviewer_id: str) -> list[tuple[TargetKind, str]]:
        return [(kind, tid) for (rid, kind, tid) in self._targets if rid == reviewer_id]


def same_region(reviewer_region: str, target_region: str) -> bool:
    return bool(reviewer_region) and id_key(reviewer_region) == id_key(target_region)


def same_org(reviewer_org: str, target_org: str) -> bool:
    return bool(reviewer_org) and id_key(reviewer_org) == id_key(target_org)


def describe(conflict: DeclaredConflict) -> str:
    """The declaration as a message quotes it: where it was declared and why."""
    place = f"{conflict.where}，" if conflict.where else ""
    return f"已申报回避（{place}原因：{conflict.reason}）/ declared conflict ({conflict.reason})"


def write_conflicts(conn: sqlite3.Connection, declared: Iterable[DeclaredConflict]) -> int:
    """Store the declarations in the round (the caller holds the transaction); returns how many."""
    conn.execute(DECLARED_CONFLICTS_TABLE)
    rows = [(d.reviewer_id, d.target_kind.value if d.target_kind else None, d.target_id, d.org, d.reason)
            for d in declared]
    conn.executemany("INSERT INTO declared_conflicts (reviewer_id, target_kind, target_id, org, reason) "
                     "VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


def round_conflicts(conn: sqlite3.Connection) -> ConflictIndex:
    """The declarations stored in a round; none for a round made before they were (no table yet)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "declared_conflicts" not in tables:
        return ConflictIndex(())
    rows = conn.execute("SELECT reviewer_id, target_kind, target_id, org, reason FROM declared_conflicts "
                        "ORDER BY rowid")
    return ConflictIndex(
        DeclaredConflict(r[0], TargetKind(r[1]) if r[1] else None, r[2], r[3], r[4]) for r in rows
    )
