"""The life of an appeal (申诉) against the provisional publication (公示), and the appeals log its re-review fills.

An appeal names a target and one of its leaves, or the whole target (every applicable leaf). It is

- open (待复核) until appeal packages are issued for it (workbench.consolidation.appeal_packages), then
- sent (复核中) until every appeal package issued for it has a merged export, then
- decided (已复核): the appeals log holds its outcome. The appeal reviewers were not assigned the target and
  never scored its pairs; their reviews are added to the cells' reviews (`appeal_panels`, which the
  consolidation counts) and the cells re-consolidated over all of them.

The log is a function of the round's reviews, so that the audit re-derives it: the old value is the cell's
consolidation without any appeal reviewer (what the 公示 published, unless other exports were merged after it),
the new value the consolidation with them, both as shown (得分小数位; a whole-target appeal compares the total
and grade). 维持 (rejected) when the value shown is unchanged, 改判 (upheld) when it changed.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from workbench.consolidation.consolidate import CellKey, Review, TargetConsolidation, iter_consolidation
from workbench.consolidation.stored import round_rules
from workbench.errors import WorkbenchError
from workbench.model import TARGET_LABELS, TargetKey, TargetKind
from workbench.scoring.indicators import PENDING_REASONS, IndicatorTree, TotalResult, format_consolidated, format_value
from workbench.store.db import Store, decode_value, transaction
from workbench.store.schema import APPEAL_TABLES

OPEN = "open"
SENT = "sent"
DECIDED = "decided"
STATUS_LABELS = {OPEN: "待复核", SENT: "复核中", DECIDED: "已复核"}
UPHELD = "改判"
REJECTED = "维持"
OUTCOME_WORDS = {UPHELD: "upheld", REJECTED: "rejected"}
PROVISIONAL = "provisional"
FINAL = "final"
BEIJING = timezone(timedelta(hours=8))
"""Dates of the 公示 window and of appeals are calendar dates in 北京时间 (UTC+8), whatever the machine's zone."""


def beijing_date(utc_text: str) -> date:
    """The 北京时间 calendar date of a stored UTC ISO 8601 time."""
    return datetime.fromisoformat(utc_text.replace("Z", "+00:00")).astimezone(BEIJING).date()


def today_in_beijing() -> date:
    return datetime.now(UTC).astimezone(BEIJING).date()


@dataclass(frozen=True)
class Publication:
    at: str
    kind: str
    until: str | None
    manifest_sha256: str
    bundle: str

    @property
    def starts(self) -> date:
        return beijing_date(self.at)


@dataclass(frozen=True)
class Appeal:
    appeal_id: str
    target_kind: TargetKind
    target_id: str
    indicator: str
    """"" = the whole target."""
    appellant: str
    reason: str
    evidence: str
    submitted_on: str
    imported_at: str
    publication: str
    source: str

    @property
    def target(self) -> TargetKey:
        return TargetKey(self.target_kind, self.target_id)

    def describe(self) -> str:
        what = self.indicator or "整体 / whole target"
        return f"申诉 {self.appeal_id}（{TARGET_LABELS[self.target_kind]} {self.target_id} {what}）"


@dataclass(frozen=True)
class Outcome:
    """One row of the appeals log."""

    appeal_id: str
    decided_at: str
    old_value: str
    new_value: str
    reviewers: str
    notes: str
    outcome: str

    def row(self) -> tuple[str, ...]:
        return (self.appeal_id, self.decided_at, self.old_value, self.new_value, self.reviewers, self.notes,
                self.outcome)


LOG_COLUMNS = ("appeal_id", "decided_at", "old_value", "new_value", "reviewers", "notes", "outcome")
APPEAL_COLUMNS = ("appeal_id", "target_kind", "target_id", "indicator", "appellant", "reason", "evidence",
                  "submitted_on", "imported_at", "publication", "source")


@dataclass(frozen=True)
class AppealState:
    appeal: Appeal
    status: str
    recipients: tuple[str, ...]
    outcome: Outcome | None

    @property
    def is_open(self) -> bool:
        return self.status in (OPEN, SENT)


def has_appeal_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'appeals'").fetchone() is not None


def ensure_appeal_tables(conn: sqlite3.Connection) -> None:
    for statement in APPEAL_TABLES:
        conn.execute(statement)


def publications(store: Store) -> list[Publication]:
    if not has_appeal_tables(store.conn):
        return []
    return [Publication(*r) for r in store.conn.execute(
        "SELECT at, kind, until, manifest_sha256, bundle FROM publications WHERE round = ? ORDER BY id",
        (store.round_id,))]


def provisional_publication(store: Store) -> Publication | None:
    """The newest provisional publication (公示) not followed by a final one; None when there is none."""
    current = None
    for publication in publications(store):
        current = publication if publication.kind == PROVISIONAL else None
    return current


def last_provisional(store: Store) -> Publication | None:
    """The newest provisional publication, followed by a final one or not (what a final bundle names)."""
    found = [p for p in publications(store) if p.kind == PROVISIONAL]
    return found[-1] if found else None


def record_publication(store: Store, publication: Publication) -> None:
    with transaction(store.conn):
        ensure_appeal_tables(store.conn)
        store.conn.execute(
            "INSERT INTO publications (round, at, kind, until, manifest_sha256, bundle) VALUES (?, ?, ?, ?, ?, ?)",
            (store.round_id, publication.at, publication.kind, publication.until, publication.manifest_sha256,
             publication.bundle))


def read_appeals(store: Store) -> list[Appeal]:
    if not has_appeal_tables(store.conn):
        return []
    return [Appeal(r[0], TargetKind(r[1]), *r[2:]) for r in store.conn.execute(
        f"SELECT {', '.join(APPEAL_COLUMNS)} FROM appeals WHERE round = ? ORDER BY rowid", (store.round_id,))]


def appeal_pairs(tree: IndicatorTree, appeal: Appeal) -> list[tuple[str, str, str]]:
    """The (target, indicator) pairs an appeal sends back: its leaf, or every leaf applying to the target."""
    codes = [appeal.indicator] if appeal.indicator else [leaf.code for leaf in tree.leaves(appeal.target_kind)]
    return [(appeal.target_kind.value, appeal.target_id, code) for code in codes]


def appeal_panels(conn: sqlite3.Connection) -> dict[CellKey, set[str]]:
    """Per (target kind, target id, indicator): the reviewers issued an appeal package holding it, whose reviews
    count in that cell beside the assigned reviewers'."""
    if not has_appeal_tables(conn):
        return {}
    panels: dict[CellKey, set[str]] = defaultdict(set)
    for kind, target_id, code, reviewer in conn.execute(
            "SELECT pp.target_kind, pp.target_id, pp.indicator, p.reviewer_id FROM package_pairs pp "
            "JOIN packages p ON p.nonce = pp.nonce WHERE p.kind = 'appeal'"):
        panels[(kind, target_id, code)].add(reviewer)
    return dict(panels)


def _packages_of(store: Store) -> dict[str, list[tuple[str, str, str | None]]]:
    """appeal id → its packages as (nonce, reviewer, latest verified_at of a merged export or None)."""
    out: dict[str, list[tuple[str, str, str | None]]] = defaultdict(list)
    for appeal_id, nonce, reviewer, merged_at in store.conn.execute(
            "SELECT ap.appeal_id, ap.nonce, p.reviewer_id, (SELECT max(s.verified_at) FROM submissions s "
            "WHERE s.nonce = ap.nonce AND s.outcome = 'merged') FROM appeal_packages ap "
            "JOIN packages p ON p.nonce = ap.nonce ORDER BY p.rowid"):
        out[appeal_id].append((nonce, reviewer, merged_at))
    return out


def appeal_states(store: Store) -> list[AppealState]:
    """Every appeal of the round in the order imported, with its status and its logged outcome."""
    appeals = read_appeals(store)
    if not appeals:
        return []
    packages = _packages_of(store)
    logged = {r[0]: Outcome(*r) for r in store.conn.execute(
        f"SELECT {', '.join(LOG_COLUMNS)} FROM appeal_outcomes WHERE round = ?", (store.round_id,))}
    out = []
    for appeal in appeals:
        issued = packages.get(appeal.appeal_id, [])
        if not issued:
            status = OPEN
        elif all(merged for _, _, merged in issued):
            status = DECIDED
        else:
            status = SENT
        recipients = tuple(sorted({reviewer for _, reviewer, _ in issued}))
        out.append(AppealState(appeal, status, recipients, logged.get(appeal.appeal_id) if status == DECIDED
                               else None))
    return out


def count_open_appeals(store: Store) -> tuple[int, int, int]:
    """(open, sent, decided) appeals."""
    states = appeal_states(store)
    return (sum(s.status == OPEN for s in states), sum(s.status == SENT for s in states),
            sum(s.status == DECIDED for s in states))


def _target_reviews(store: Store, target: TargetKey) -> list[Review]:
    return [(r[0], r[1], r[2], r[3], decode_value(r[4])) for r in store.conn.execute(
        "SELECT target_kind, target_id, indicator, reviewer_id, value FROM scores WHERE round = ? AND target_kind = ? "
        "AND target_id = ? ORDER BY indicator, reviewer_id", (store.round_id, target.kind.value, target.id))]


def _total_text(total: TotalResult) -> str:
    if total.pending:
        return PENDING_REASONS[total.pending][0]
    if total.total is None:
        return total.grade
    return f"{total.total}（{total.grade}）" if total.grade else str(total.total)


def compute_outcomes(store: Store) -> list[Outcome]:
    """The appeals log as the round's reviews give it now: a row for every appeal whose appeal packages have all
    been merged (see the module's docstring)."""
    states = [s for s in appeal_states(store) if s.status == DECIDED]
    if not states:
        return []
    tree, rules, settings = round_rules(store)
    panels = appeal_panels(store.conn)
    packages = _packages_of(store)
    assigned: dict[TargetKey, set[str]] = defaultdict(set)
    for a in store.assignments():
        assigned[TargetKey(a.target_kind, a.target_id)].add(a.reviewer_id)
    cache: dict[TargetKey, tuple[TargetConsolidation, TargetConsolidation, list[Review]]] = {}

    def consolidated(target: TargetKey) -> tuple[TargetConsolidation, TargetConsolidation, list[Review]]:
        if target not in cache:
            reviews = _target_reviews(store, target)
            panel = {(target.kind.value, target.id): assigned.get(target, set())}
            before = next(iter_consolidation(tree, rules, settings, iter(reviews), panel))
            after = next(iter_consolidation(tree, rules, settings, iter(reviews), panel, added=panels))
            cache[target] = (before, after, reviews)
        return cache[target]

    notes = {(r[0], r[1], r[2], r[3]): r[4] for r in store.conn.execute(
        "SELECT reviewer_id, target_kind, target_id, indicator, note FROM scores WHERE round = ? AND note != ''",
        (store.round_id,))}
    out = []
    for state in states:
        appeal = state.appeal
        before, after, reviews = consolidated(appeal.target)
        if appeal.indicator:
            leaf = tree.get(appeal.indicator)
            old_cell = next(c for c in before.cells if c.indicator == appeal.indicator)
            new_cell = next(c for c in after.cells if c.indicator == appeal.indicator)
            old = format_consolidated(leaf, old_cell.value, settings.value_places)
            new = format_consolidated(leaf, new_cell.value, settings.value_places)
        else:
            old, new = _total_text(before.total), _total_text(after.total)
        pairs = {code for _, _, code in appeal_pairs(tree, appeal)}
        said = []
        for kind, target_id, code, reviewer, value in reviews:
            if reviewer not in state.recipients or code not in pairs:
                continue
            shown = "—" if value is None else format_value(tree.get(code), value)
            note = notes.get((reviewer, kind, target_id, code), "")
            said.append(f"{reviewer}{'' if appeal.indicator else ' ' + code} {shown}" + (f"：{note}" if note else ""))
        decided = max(merged or "" for _, _, merged in packages.get(appeal.appeal_id, []))
        out.append(Outcome(appeal.appeal_id, decided, old or "—", new or "—", " ".join(state.recipients),
                           _joined(said), REJECTED if old == new else UPHELD))
    return out


NOTES_LIMIT = 30_000
"""Characters of a log row's notes: a spreadsheet cell holds 32,767 (a whole-target appeal of a national system
with long notes would pass it); what is left out is counted."""


def _joined(said: list[str]) -> str:
    text, kept = "", 0
    for item in said:
        if len(text) + len(item) + 1 > NOTES_LIMIT:
            return f"{text}；……另有 {len(said) - kept} 条 / {len(said) - kept} more"
        text, kept = f"{text}；{item}" if text else item, kept + 1
    return text


def record_outcomes(store: Store) -> int:
    """Rewrite the appeals log from the round's reviews (a merge calls it after re-consolidating); returns the
    number of decided appeals."""
    if not has_appeal_tables(store.conn) or store.conn.execute(
            "SELECT 1 FROM appeals WHERE round = ? LIMIT 1", (store.round_id,)).fetchone() is None:
        return 0
    rows = compute_outcomes(store)
    with transaction(store.conn):
        store.conn.execute("DELETE FROM appeal_outcomes WHERE round = ?", (store.round_id,))
        store.conn.executemany(
            f"INSERT INTO appeal_outcomes (round, {', '.join(LOG_COLUMNS)}) VALUES (?, {', '.join('?' * 7)})",
            [(store.round_id, *o.row()) for o in rows])
    return len(rows)


def iter_log(store: Store) -> Iterator[Outcome]:
    if not has_appeal_tables(store.conn):
        return
    for r in store.conn.execute(f"SELECT {', '.join(LOG_COLUMNS)} FROM appeal_outcomes WHERE round = ? "
                                "ORDER BY appeal_id", (store.round_id,)):
        yield Outcome(*r)


class AppealRefused(WorkbenchError):
    """An appeal command refused as asked; nothing was written."""

    code = "APPEAL_REFUSED"
