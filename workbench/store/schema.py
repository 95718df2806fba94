"""The schema of round databases and reviewer packages, as plain data (no sqlite-utils: the lookup path reads it)."""

from __future__ import annotations

SCHEMA_VERSION = "1"
KIND_ROUND = "round"
KIND_PACKAGE = "package"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE rounds (id TEXT PRIMARY KEY, name TEXT, year INTEGER, status TEXT NOT NULL);
CREATE TABLE indicators (
    code TEXT PRIMARY KEY, parent TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
    max_score TEXT NOT NULL, step TEXT NOT NULL, applies_to TEXT NOT NULL DEFAULT 'both',
    allow_na INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL);
CREATE TABLE rules (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL DEFAULT '',
    level TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '');
CREATE TABLE cases (id TEXT PRIMARY KEY, title TEXT NOT NULL, government TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '', area TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '',
    synthetic INTEGER NOT NULL DEFAULT 0);
CREATE TABLE reviewers (id TEXT PRIMARY KEY, name TEXT NOT NULL, org TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '');
CREATE TABLE keys (key_id TEXT PRIMARY KEY, reviewer_id TEXT NOT NULL, public_key TEXT NOT NULL,
    added_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE packages (nonce TEXT PRIMARY KEY, round TEXT NOT NULL, reviewer_id TEXT NOT NULL,
    key_id TEXT, issued_at TEXT NOT NULL, indicators_hash TEXT NOT NULL, targets_hash TEXT NOT NULL,
    pairs INTEGER NOT NULL, kind TEXT NOT NULL DEFAULT 'full', superseded_by TEXT);
CREATE TABLE package_pairs (nonce TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL,
    indicator TEXT NOT NULL, PRIMARY KEY (nonce, target_kind, target_id, indicator));
CREATE TABLE assignments (reviewer_id TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL,
    coi_override INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (reviewer_id, target_kind, target_id));
CREATE INDEX assignments_target ON assignments (target_kind, target_id);
CREATE TABLE scores (round TEXT NOT NULL, reviewer_id TEXT NOT NULL, target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL, indicator TEXT NOT NULL, value TEXT, note TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '', updated_at TEXT, revision INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (round, reviewer_id, target_kind, target_id, indicator));
CREATE INDEX scores_target ON scores (target_kind, target_id, indicator);
CREATE TABLE score_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, round TEXT NOT NULL,
    reviewer_id TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL,
    indicator TEXT NOT NULL, old_value TEXT, new_value TEXT, old_note TEXT, new_note TEXT,
    old_evidence TEXT, new_evidence TEXT, reason TEXT NOT NULL);
CREATE TRIGGER score_events_no_update BEFORE UPDATE ON score_events
    BEGIN SELECT RAISE(ABORT, 'score_events is append-only'); END;
CREATE TRIGGER score_events_no_delete BEFORE DELETE ON score_events
    BEGIN SELECT RAISE(ABORT, 'score_events is append-only'); END;
CREATE TABLE submissions (export_id TEXT PRIMARY KEY, nonce TEXT NOT NULL, reviewer_id TEXT NOT NULL,
    key_id TEXT NOT NULL, seq INTEGER NOT NULL, payload_sha256 TEXT NOT NULL, rows INTEGER NOT NULL,
    file_name TEXT NOT NULL, created_at TEXT, verified_at TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX submissions_nonce ON submissions (nonce, seq);
CREATE TABLE consolidated (round TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL,
    indicator TEXT NOT NULL, value TEXT, n INTEGER NOT NULL DEFAULT 0, method TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT '', exact TEXT, PRIMARY KEY (round, target_kind, target_id, indicator));
CREATE INDEX consolidated_target ON consolidated (target_kind, target_id);
CREATE TABLE search_keys (kind TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, keys TEXT NOT NULL,
    PRIMARY KEY (kind, id));
"""

SCHEMA_TABLES = (
    "meta", "rounds", "indicators", "rules", "sites", "cases", "reviewers", "keys", "packages",
    "package_pairs", "assignments", "scores", "score_events", "submissions", "consolidated",
    "search_keys",
)

DECLARED_CONFLICTS_TABLE = """CREATE TABLE IF NOT EXISTS declared_conflicts (
    reviewer_id TEXT NOT NULL, target_kind TEXT, target_id TEXT, org TEXT, reason TEXT NOT NULL,
    CHECK ((target_kind IS NULL AND target_id IS NULL) <> (org IS NULL)))"""
"""Conflicts of interest the reviewers declared (回避, workbench.setup.conflicts): one target, or a 单位 covering
every target of it. Made by migration 0005 rather than SCHEMA, so that a round made before opens as it is
(Store.open asks for SCHEMA_TABLES only) and readers take a missing table for no declarations."""

DISPUTE_TABLES = (
    """CREATE TABLE IF NOT EXISTS disputes (round TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL,
    indicator TEXT NOT NULL, reviewer_id TEXT NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (round, target_kind, target_id, indicator, reviewer_id))""",
    """CREATE TABLE IF NOT EXISTS dispute_decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    round TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL, indicator TEXT NOT NULL,
    decision TEXT NOT NULL, reason TEXT NOT NULL, exact TEXT, shown TEXT)""",
    """CREATE TRIGGER IF NOT EXISTS dispute_decisions_no_update BEFORE UPDATE ON dispute_decisions
    BEGIN SELECT RAISE(ABORT, 'dispute_decisions is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS dispute_decisions_no_delete BEFORE DELETE ON dispute_decisions
    BEGIN SELECT RAISE(ABORT, 'dispute_decisions is append-only'); END""",
)
"""The stored disputes (who gets which cell back and why, rewritten with `consolidated`) and the coordinator's
decisions on them (append-only: an accepted consolidated value, its reason, when). Made by migration 0004."""

REREVIEW_NOTES_TABLE = """CREATE TABLE IF NOT EXISTS rereview_notes (target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL, indicator TEXT NOT NULL, reasons TEXT NOT NULL, consensus TEXT NOT NULL,
    spread TEXT NOT NULL, others TEXT NOT NULL, own TEXT NOT NULL, PRIMARY KEY (target_kind, target_id, indicator))"""
"""In a re-review package: per disputed pair why it came back, the consensus, the spread, the other reviewers'
values (a JSON list of [专家A, value] pairs, not named) and the reviewer's own. Made by migration 0007."""

TOTALS_TABLE = """CREATE TABLE IF NOT EXISTS totals (round TEXT NOT NULL, target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL, total TEXT, grade TEXT NOT NULL, vetoed INTEGER NOT NULL, passed INTEGER NOT NULL,
    base TEXT NOT NULL, bonus TEXT NOT NULL, scored INTEGER NOT NULL, applicable INTEGER NOT NULL,
    pending TEXT NOT NULL, parts TEXT NOT NULL, PRIMARY KEY (round, target_kind, target_id))"""
"""Each consolidated target's total as the consolidation computed it, written with `consolidated`: `total` and
`base` as rounded once (Decimal text; `total` NULL when vetoed or held back), `bonus` the counted bonus exact
("p" or "p/q"), `pending` why the target is held back ("" when it is not), and `parts` the subtotal of each
top-level part with point leaves, "code=value" joined by ";" (rounded as the base is). The report and the
CLI read it instead of recomputing the round. Made by migration 0012."""

CONSOLIDATED_STATS_COLUMNS = ("mean", "median", "low", "high")
"""Columns migration 0012 adds to `consolidated`, over a cell's usable numeric values, as Decimal text (NULL
without numeric values): the mean to 15 significant digits (what a spreadsheet cell holds), and the median,
the lowest and the highest value exact."""

CALIBRATION_REFERENCE_TABLE = """CREATE TABLE IF NOT EXISTS calibration_reference (target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL, indicator TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (target_kind, target_id, indicator))"""
"""The coordinator's reference scores for calibration targets (init --calibration-reference), stored as values
are; where a cell has one, reviewers' calibration scores are compared with it instead of with their consensus.
Made by migration 0009, which also adds `sites.calibration`, `cases.calibration` (0/1: a calibration target,
scored by every reviewer and never counted) and `indicators.levels` (评分细则, workbench.scoring.levels)."""

INDICATOR_THRESHOLD_COLUMNS = ("dispute_spread", "dispute_gap")
"""Columns migration 0004 adds to `indicators`: an indicator's own 分歧阈值 and 分歧间隔 as written in the
indicators file ("" = the round's rule)."""

CONSOLIDATED_EXACT = "CASE WHEN exact IS NOT NULL THEN exact WHEN method = 'imported' THEN value END"
"""SQL for a `consolidated` row's exact value, to select wherever a number is computed from the table.

The columns: `value` is the display text (the exact value rounded half-up to 得分小数位, as every earlier
version stored it), `exact` the exact value as text: an integer "p" or a reduced fraction "p/q" (what
`str(Fraction)` writes and `Fraction(text)` reads), "NA", or NULL. An imported past result is the published
number itself, exact as given, so its `value` serves when `exact` was not written. NULL from this expression
with a non-NULL `value` means the row was rounded by an earlier version and not yet recomputed: the round is
then marked stale (STALE_KEY) and its next consolidation rewrites it.
"""

STALE_KEY = "consolidation_stale_since"
"""meta key set by every ingest (and by the migration that added `exact`), cleared by the re-consolidation
that follows: while it is set, the next merge re-consolidates the whole round."""

EVIDENCE_TABLES = (
    """CREATE TABLE IF NOT EXISTS evidence (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, content BLOB NOT NULL,
    kept_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS merge_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
    file_name TEXT NOT NULL, file_sha256 TEXT, outcome TEXT NOT NULL, code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '', export_id TEXT, reviewer_id TEXT NOT NULL DEFAULT '', seq INTEGER)""",
    """CREATE TRIGGER IF NOT EXISTS merge_ledger_no_update BEFORE UPDATE ON merge_ledger
    BEGIN SELECT RAISE(ABORT, 'merge_ledger is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS merge_ledger_no_delete BEFORE DELETE ON merge_ledger
    BEGIN SELECT RAISE(ABORT, 'merge_ledger is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS evidence_no_delete BEFORE DELETE ON evidence
    BEGIN SELECT RAISE(ABORT, 'evidence is kept for good'); END""",
)
"""The merge's evidence (migration 0008): `evidence` holds every ingested export byte for byte, by the SHA-256 of
its bytes, in the round itself (written in the ingest's own transaction, so a file is never merged without its
copy); `merge_ledger` is every file a merge met, in order, with its outcome (merged, superseded, already-merged,
rejected, or conflict for a round of an earlier version), and for a rejected file its failure code and sentence.
`submissions.file_sha256` names the kept copy of an ingested export (NULL for one merged by an earlier version
until its file is merged again)."""

APPEAL_TABLES = (
    """CREATE TABLE IF NOT EXISTS publications (id INTEGER PRIMARY KEY AUTOINCREMENT, round TEXT NOT NULL,
    at TEXT NOT NULL, kind TEXT NOT NULL, until TEXT, manifest_sha256 TEXT NOT NULL, bundle TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS appeals (round TEXT NOT NULL, appeal_id TEXT NOT NULL, target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL, indicator TEXT NOT NULL, appellant TEXT NOT NULL, reason TEXT NOT NULL,
    evidence TEXT NOT NULL, submitted_on TEXT NOT NULL, imported_at TEXT NOT NULL, publication TEXT NOT NULL,
    source TEXT NOT NULL, PRIMARY KEY (round, appeal_id))""",
    """CREATE TRIGGER IF NOT EXISTS appeals_no_update BEFORE UPDATE ON appeals
    BEGIN SELECT RAISE(ABORT, 'appeals are kept as received'); END""",
    """CREATE TRIGGER IF NOT EXISTS appeals_no_delete BEFORE DELETE ON appeals
    BEGIN SELECT RAISE(ABORT, 'appeals are kept as received'); END""",
    """CREATE TABLE IF NOT EXISTS appeal_packages (nonce TEXT NOT NULL, appeal_id TEXT NOT NULL,
    PRIMARY KEY (nonce, appeal_id))""",
    """CREATE TABLE IF NOT EXISTS appeal_outcomes (round TEXT NOT NULL, appeal_id TEXT NOT NULL,
    decided_at TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT NULL, reviewers TEXT NOT NULL,
    notes TEXT NOT NULL, outcome TEXT NOT NULL, PRIMARY KEY (round, appeal_id))""",
)
"""公示 → 申诉 → 复核 (migration 0013, workbench.consolidation.appeals): `publications` every bundle published from
the round (kind provisional with the last day of its window `until`, or final) with its manifest's SHA-256;
`appeals` every appeal as imported (append-only: `indicator` "" = the whole target, `submitted_on` the 北京时间
date it counts as submitted, `publication` the provisional manifest's SHA-256 it was taken against, `source`
file:row); `appeal_packages` which appeals each appeal package (packages.kind 'appeal') serves; `appeal_outcomes`
the appeals log, rewritten by every merge from the round's reviews: the published (old) and the re-consolidated
(new) value as shown, the appeal reviewers, their values and notes, and 维持 or 改判."""

APPEAL_NOTE_COLUMNS = ("appeal",)
"""Column migration 0013 adds to `rereview_notes`: in an appeal package, the appeal(s) a pair came back for (id,
appellant and reason), which the app shows above the pair."""
