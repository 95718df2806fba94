"""`workbench audit`: re-derive every published number of a bundle on a machine that never saw the round database.

After unpack has checked the manifest's signature (with the coordinator's key given by the caller) and every hash,
the round is rebuilt in a scratch database from the bundle alone, with the product's own code: `init` reads the
set-up tables, `import-results` the past rounds; the keyring, the packages and the coordinator's decisions are
loaded as published. The ledger is then replayed in order: each export is verified exactly as merge verified it,
with the keyring and the packages as they stood at its verified time (a key revoked or a package superseded later
does not fail it), and ingested by the merge's own code. The report is written afresh by the report's own code and
compared, cell by cell and side-file row by row, with the published one.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import AuditCode, AuditFailure, InputRefused, SignatureError, WorkbenchError
from workbench.publish import layout
from workbench.publish.unpack import Manifest, check_manifest, materialise, safe_member_name

if TYPE_CHECKING:
    from workbench.signed.xlsxcheck import XlsxInfo, XlsxLimits

ABOUT_SHEET = "说明"
IGNORED_LABELS = frozenset({"生成时间（UTC）", "生成时间（本地）"})
"""Rows of the report's 说明 whose value is when the report was written, not a result."""
_REPLAYED = ("merged", "superseded", "conflict")


@dataclass
class AuditResult:
    manifest_sha256: str
    targets: int = 0
    values: int = 0
    exports: int = 0
    refused: int = 0
    lines: list[str] = field(default_factory=list)
    """What was checked, in order: the audit's own report."""

    @property
    def summary(self) -> str:
        return f"reproduced: {self.targets} targets, {self.values} values identical"


def audit_bundle(
    bundle: Path, coordinator_key: str, *, workers: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Reproduce a bundle or raise AuditFailure (the first difference, or the file that failed, with its code)."""
    scratch = Path(tempfile.mkdtemp(prefix="workbench-audit-"))
    try:
        root = scratch / "bundle"
        root.mkdir()
        materialise(Path(bundle), root)
        inner = [p for p in root.iterdir()]
        if not (root / layout.MANIFEST).exists() and len(inner) == 1 and (inner[0] / layout.MANIFEST).is_file():
            root = inner[0]  # a bundle directory zipped with its folder
        manifest = check_manifest(root, coordinator_key)
        result = AuditResult(manifest.sha256)
        info, software = manifest.round, manifest.data.get("software") or {}
        result.lines.append(f"bundle {bundle}: round {info.get('id')} {info.get('name', '')}, published at "
                            f"{manifest.data['published_at']} by workbench {software.get('version', '?')}, "
                            f"complete: {manifest.data['complete']}"
                            + ("" if manifest.data["complete"] else f" ({manifest.data.get('incomplete')})"))
        result.lines.append(f"manifest.json sha256 {manifest.sha256}: signature verified with the coordinator's key, "
                            f"{len(manifest.files)} files, every hash as listed")
        _hostile_checks(root, manifest)
        if on_progress:
            on_progress("rebuilding the round")
        db = scratch / "round.db"
        loaded = _rebuild(root, manifest, db)
        if on_progress:
            on_progress("replaying the ledger")
        _replay(root, db, loaded, result, workers)
        if on_progress:
            on_progress("consolidating")
        _check_appeals(root, db, manifest, result)
        _compare_report(root, scratch, db, manifest, result)
        result.lines.append(result.summary)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _hostile_checks(root: Path, manifest: Manifest) -> None:
    """The hostile-file checks on every workbook (exports again when verified, the report once the one it must
    equal is recomputed: see _report_limits); CSVs are read by strict readers."""
    from workbench.signed.xlsxcheck import check_xlsx

    for path in sorted(p for p in manifest.files if p.endswith(".xlsx") and not p.startswith(layout.EXPORTS)
                       and p != layout.REPORT):
        try:
            check_xlsx(root / path)
        except SignatureError as exc:
            raise AuditFailure(exc.code, path, exc.message) from None


def _check_report(published: Path, limits: XlsxLimits, known: frozenset[str]) -> XlsxInfo:
    """The hostile-file checks on the published report, before anything reads it, within _report_limits; the
    members byte-identical to the recomputed report's are not scanned again."""
    from workbench.signed.xlsxcheck import check_xlsx

    try:
        return check_xlsx(published, limits, known)
    except SignatureError as exc:
        raise AuditFailure(exc.code, layout.REPORT,
                           "发布的结果工作簿超出由发布包数据重算的工作簿，或含有工作簿不应有的内容 / "
                           "the published report holds more than the one recomputed from the bundle, or what no "
                           f"workbook should: {exc.message}") from None


def _report_limits(recomputed: Path, known: frozenset[str]) -> tuple[XlsxLimits, dict[str, str]]:
    """How much the published report may hold, and the recomputed report's sheets (name → part).

    As much as the report recomputed from the bundle holds (the published one, if genuine, is that report but for
    a timestamp or two), and never less than any workbook may: a national round's report holds a million-row
    sheet, far beyond a reviewer's export and so beyond the usual limits, while a bomb, or a sheet claiming more
    cells than the bundle's data can fill, is still refused."""
    import math
    import zipfile

    from workbench.signed import xlsxcheck
    from workbench.signed.xlsxcheck import XlsxLimits

    usual = xlsxcheck.DEFAULT_LIMITS
    with zipfile.ZipFile(recomputed) as archive:  # this process wrote it: nothing hostile in it
        members = archive.infolist()
    produced = sum(m.file_size for m in members)
    ratio = max((math.ceil(m.file_size / max(m.compress_size, 1)) for m in members
                 if m.file_size > usual.ratio_floor_bytes), default=0)
    unbounded = XlsxLimits(max_total_bytes=produced, max_members=len(members), max_ratio=max(ratio, 1),
                           max_cells=2**62, max_columns=2**62)
    info = xlsxcheck.check_xlsx(recomputed, unbounded, known)  # the extents of the sheets that differ
    facts = info.sheet_facts.values()
    return XlsxLimits(
        max_total_bytes=max(usual.max_total_bytes, produced + produced // 100 + 4096),
        max_members=max(usual.max_members, len(members)),
        max_ratio=max(usual.max_ratio, ratio + 1),
        ratio_floor_bytes=usual.ratio_floor_bytes,
        max_cells=max([usual.max_cells, *(f.cells for f in facts)]),
        max_columns=max([usual.max_columns, *(f.columns for f in facts)]),
    ), {sheet.name: sheet.part for sheet in info.sheets}


def _identical_parts(published: Path, recomputed: Path) -> frozenset[str]:
    """The members of the published report whose bytes, decompressed, are those of the recomputed report's member
    of that name. Each is read in bounded pieces and no further than ours, so a hostile one costs no more than
    ours; anything odd about one (a bad CRC, encryption, a name written twice) leaves it out, for the checks."""
    import zipfile
    import zlib

    same: set[str] = set()
    try:
        with zipfile.ZipFile(published) as theirs, zipfile.ZipFile(recomputed) as ours:
            listed = [info.filename for info in theirs.infolist()]
            if len(set(listed)) != len(listed):
                return frozenset()
            for info in ours.infolist():
                try:
                    other = theirs.getinfo(info.filename)
                    if other.file_size != info.file_size:
                        continue
                    with theirs.open(other) as a, ours.open(info) as b:
                        while (piece := b.read(1 << 20)) == a.read(1 << 20):
                            if not piece:
                                same.add(info.filename)
                                break
                except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError,
                        ValueError, zlib.error):
                    continue
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return frozenset()
    return frozenset(same)


def _table(root: Path, spec: tuple[str, tuple[str, ...]]) -> list[dict[str, str]]:
    path, header = spec
    try:
        return layout.read_csv(root / path, path, header)
    except FileNotFoundError:
        raise AuditFailure(AuditCode.FILE_MISSING, path, "发布包缺少此文件 / the bundle lacks this file") from None
    except layout.TableError as exc:
        raise AuditFailure(AuditCode.BAD_TABLE, exc.where, exc.reason) from None


@dataclass
class _Loaded:
    keys: list[dict[str, str]]
    packages: list[dict[str, str]]
    ledger: list[dict[str, str]]


def _rebuild(root: Path, manifest: Manifest, db: Path) -> _Loaded:
    from workbench.setup.results import import_results
    from workbench.setup.round import SetupFiles, init_round

    files = {name: root / path for name, (path, _) in layout.ROUND_FILES.items()}
    for name, (path, _) in layout.ROUND_FILES.items():
        if not files[name].is_file():
            raise AuditFailure(AuditCode.FILE_MISSING, path, "发布包缺少此文件 / the bundle lacks this file")
    info = manifest.round
    year_text = str(info.get("year", ""))
    try:
        init_round(db, info["id"], SetupFiles(
            indicators=files["indicators"], sites=files["sites"], cases=files["cases"], reviewers=files["reviewers"],
            assignments=files["assignments"], rules=files["rules"], conflicts=files["conflicts"],
            calibration_reference=files["calibration_reference"],
        ), name=str(info.get("name", "")), year=int(year_text) if year_text.isdigit() else None)
        for row in _table(root, layout.HISTORY):
            if safe_member_name(row["file"]) is None or not row["file"].startswith("history/"):
                raise AuditFailure(AuditCode.BAD_TABLE, layout.HISTORY[0], f"bad file {row['file']!r}")
            import_results(db, root / row["file"], row["round_id"], name=row["name"],
                           year=int(row["year"]) if row["year"].isdigit() else None)
    except InputRefused as exc:
        first = exc.problems[0] if exc.problems else None
        raise AuditFailure(AuditCode.BAD_TABLE, first.where if first else "round/",
                           first.reason if first else exc.message) from None
    keys = _table(root, layout.KEYRING)
    packages = _table(root, layout.PACKAGES)
    loaded = _Loaded(keys, packages, _table(root, layout.LEDGER))
    _load_round_state(root, db, loaded)
    _load_appeals(root, db, manifest)
    return loaded


def _has_appeals(manifest: Manifest) -> bool:
    """A bundle made before appeals (公示 → 申诉 → 复核) has none of their files: it holds no appeal."""
    return layout.APPEALS[0] in manifest.files


def _load_appeals(root: Path, db: Path, manifest: Manifest) -> None:
    """The appeals as imported and the appeals their packages serve, as published; their outcomes are derived."""
    from workbench.consolidation.appeals import APPEAL_COLUMNS, ensure_appeal_tables
    from workbench.store.db import Store, transaction
    from workbench.store.schema import KIND_ROUND

    if not _has_appeals(manifest):
        return
    appeals = _table(root, layout.APPEALS)
    links = _table(root, layout.APPEAL_PACKAGES)
    store = Store.open(db, expect=KIND_ROUND)
    try:
        targets = {(t.kind.value, t.id) for t in store.targets()}
        nonces = {r[0]: r[1] for r in store.conn.execute("SELECT nonce, kind FROM packages")}
        known = {a["appeal_id"] for a in appeals}
        for n, a in enumerate(appeals, start=2):
            if (a["target_kind"], a["target_id"]) not in targets:
                raise AuditFailure(AuditCode.BAD_TABLE, f"{layout.APPEALS[0]}:{n}",
                                   f"申诉的对象不在本轮次中 / the appeal's target {a['target_kind']} {a['target_id']} "
                                   "is not in the round")
        for n, link in enumerate(links, start=2):
            if nonces.get(link["nonce"]) != "appeal" or link["appeal_id"] not in known:
                raise AuditFailure(AuditCode.BAD_TABLE, f"{layout.APPEAL_PACKAGES[0]}:{n}",
                                   "不是已签发的申诉复核评审包与已受理的申诉 / not an issued appeal package and a "
                                   "published appeal")
        with transaction(store.conn):
            ensure_appeal_tables(store.conn)
            store.conn.executemany(
                f"INSERT INTO appeals (round, {', '.join(APPEAL_COLUMNS)}) VALUES (?, {', '.join('?' * 11)})",
                [(store.round_id, *(a[c] for c in layout.APPEALS[1])) for a in appeals])
            store.conn.executemany("INSERT INTO appeal_packages (nonce, appeal_id) VALUES (?, ?)",
                                   [(link["nonce"], link["appeal_id"]) for link in links])
    except WorkbenchError:
        raise
    except Exception as exc:  # a repeated appeal id or link: the tables contradict themselves
        raise AuditFailure(AuditCode.BAD_TABLE, layout.APPEALS[0], f"{type(exc).__name__}: {exc}") from None
    finally:
        store.close()


def _check_appeals(root: Path, db: Path, manifest: Manifest, result: AuditResult) -> None:
    """Every appeal within the 公示 window the final manifest names, and the appeals log as the replayed reviews
    give it, row by row."""
    from workbench.consolidation.appeal_packages import ineligible_recipients
    from workbench.consolidation.appeals import beijing_date, compute_outcomes
    from workbench.consolidation.stored import ensure_consolidated
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    if not _has_appeals(manifest):
        return
    published = _table(root, layout.APPEAL_LOG)
    window = manifest.data.get("provisional") if manifest.data.get("publication") == "final" else None
    appeals = _table(root, layout.APPEALS)
    if appeals and manifest.data.get("publication") == "final" and not window:
        raise AuditFailure(AuditCode.NOT_REPRODUCED, layout.APPEALS[0], "有申诉而清单未记录公示版 / appeals without "
                                                                        "the provisional publication they were taken "
                                                                        "against")
    if window:
        try:
            starts, until = beijing_date(str(window["published_at"])), str(window["until"])
        except (KeyError, TypeError, ValueError):
            raise AuditFailure(AuditCode.BAD_MANIFEST, layout.MANIFEST, "provisional: not a 公示 window") from None
        for n, a in enumerate(appeals, start=2):
            if a["publication"] != window.get("sha256") or not starts.isoformat() <= a["submitted_on"] <= until:
                raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{layout.APPEALS[0]}:{n}",
                                   f"申诉 {a['appeal_id']} 不是在公示期（{starts} 至 {until}）内针对公示版 "
                                   f"{window.get('sha256')} 提出的 / appeal {a['appeal_id']} was not taken within the "
                                   "公示 window against the provisional publication the manifest names")
    store = Store.open(db, expect=KIND_ROUND)
    try:
        ensure_consolidated(store)
        from workbench.consolidation.appeals import record_outcomes

        record_outcomes(store)  # the report's 申诉 sheet reads the log
        derived = compute_outcomes(store)
        barred = ineligible_recipients(store)
    finally:
        store.close()
    if barred:
        nonce, appeal_id, reviewer = barred[0]
        raise AuditFailure(AuditCode.NOT_REPRODUCED, layout.APPEAL_PACKAGES[0],
                           f"申诉 {appeal_id} 的复核评审包 {nonce} 签发给了 {reviewer}，"
                           "而该专家承担该对象或与其有利益冲突（地区、单位或申报回避）/ "
                           f"appeal {appeal_id}'s package {nonce} went to {reviewer}, who was assigned the target or "
                           "has a conflict of interest with it (region, unit or declared)")
    header = layout.APPEAL_LOG[1]
    rows = [dict(zip(header, o.row(), strict=True)) for o in sorted(derived, key=lambda o: o.appeal_id)]
    for n in range(max(len(rows), len(published))):
        mine = rows[n] if n < len(rows) else None
        theirs = published[n] if n < len(published) else None
        if mine == theirs:
            continue
        column = next((c for c in header if (mine or {}).get(c) != (theirs or {}).get(c)), header[0])
        raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{layout.APPEAL_LOG[0]}:{n + 2} ({column})",
                           f"发布的为 {_shown((theirs or {}).get(column))}，由复核评分重算得 "
                           f"{_shown((mine or {}).get(column))} / published {_shown((theirs or {}).get(column))}, "
                           f"recomputed from the re-reviews {_shown((mine or {}).get(column))}")
    result.values += sum(1 for row in rows for v in row.values() if v)
    result.lines.append(f"{layout.APPEAL_LOG[0]}: {len(rows)} decided appeal(s) of {len(appeals)} derived again "
                        "from the replayed reviews: every row identical")


def _load_round_state(root: Path, db: Path, loaded: _Loaded) -> None:
    """Keyring, packages, their pairs and the coordinator's decisions, as published (times and all)."""
    from workbench.signed.keys import format_key_id, key_id_for, parse_public_key
    from workbench.store.db import Store, transaction
    from workbench.store.schema import KIND_ROUND

    store = Store.open(db, expect=KIND_ROUND)
    try:
        reviewers = {r.id for r in store.reviewers()}
        for n, row in enumerate(loaded.keys, start=2):
            where = f"{layout.KEYRING[0]}:{n}"
            try:
                public = parse_public_key(row["public_key"])
            except WorkbenchError as exc:
                raise AuditFailure(AuditCode.BAD_TABLE, where, exc.message) from None
            if row["key_id"] != format_key_id(key_id_for(public.raw)) or row["key_id"] != public.key_id_text:
                raise AuditFailure(AuditCode.BAD_TABLE, where, "密钥编号不是由公钥计算得出的 / the key id is not "
                                                               "derived from the key")
            if row["reviewer_id"] not in reviewers:
                raise AuditFailure(AuditCode.BAD_TABLE, where, f"unknown reviewer {row['reviewer_id']!r}")
        pairs = _table(root, layout.PACKAGE_PAIRS)
        decisions = _table(root, layout.DECISIONS)
        with transaction(store.conn):
            store.conn.executemany(
                "INSERT INTO packages (nonce, round, reviewer_id, key_id, issued_at, indicators_hash, targets_hash, "
                "pairs, kind, superseded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [(p["nonce"], store.round_id, p["reviewer_id"], p["key_id"] or None, p["issued_at"],
                  p["indicators_hash"], p["targets_hash"], int(p["pairs"]) if p["pairs"].isdigit() else -1, p["kind"])
                 for p in loaded.packages])
            store.conn.executemany(
                "INSERT INTO package_pairs (nonce, target_kind, target_id, indicator) VALUES (?, ?, ?, ?)",
                [(p["nonce"], p["target_kind"], p["target_id"], p["indicator"]) for p in pairs])
            store.conn.executemany(
                "INSERT INTO dispute_decisions (at, round, target_kind, target_id, indicator, decision, reason, exact, "
                "shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(d["at"], store.round_id, d["target_kind"], d["target_id"], d["indicator"], d["decision"],
                  d["reason"], d["exact"] or None, d["shown"] or None) for d in decisions])
    except WorkbenchError:
        raise
    except Exception as exc:  # a repeated nonce or pair: the tables contradict themselves
        raise AuditFailure(AuditCode.BAD_TABLE, layout.PACKAGES[0], f"{type(exc).__name__}: {exc}") from None
    finally:
        store.close()


def _as_of(loaded: _Loaded, at: str) -> tuple[tuple[tuple[str, str, str, str, str | None], ...],
                                               tuple[tuple[str, str | None], ...]]:
    """The keyring and the packages' supersession as they stood when an export was verified at ``at``: keys added by
    then, revoked only if before then; a package superseded only by one issued before then."""
    keys = tuple((k["key_id"], k["reviewer_id"], k["public_key"], k["added_at"],
                  k["revoked_at"] if k["revoked_at"] and k["revoked_at"] < at else None)
                 for k in loaded.keys if k["added_at"] <= at)
    issued = {p["nonce"]: p["issued_at"] for p in loaded.packages}
    packages = tuple((p["nonce"], p["superseded_by"] if p["superseded_by"]
                      and issued.get(p["superseded_by"], "") < at else None) for p in loaded.packages)
    return keys, packages


def _set_state(conn: Any, state: tuple[Any, Any]) -> None:
    from workbench.store.db import transaction

    keys, packages = state
    with transaction(conn):
        conn.execute("DELETE FROM keys")
        conn.executemany("INSERT INTO keys (key_id, reviewer_id, public_key, added_at, revoked_at) "
                         "VALUES (?, ?, ?, ?, ?)", keys)
        conn.executemany("UPDATE packages SET superseded_by = ? WHERE nonce = ?",
                         [(superseded, nonce) for nonce, superseded in packages])


def _epochs(loaded: _Loaded) -> Iterator[tuple[tuple[Any, Any], list[tuple[int, dict[str, str]]]]]:
    """The replayed ledger rows in order, grouped while the keyring and packages stood the same."""
    state: tuple[Any, Any] | None = None
    group: list[tuple[int, dict[str, str]]] = []
    for n, row in enumerate(loaded.ledger, start=2):
        if row["outcome"] not in _REPLAYED:
            continue
        now = _as_of(loaded, row["verified_at"])
        if state is not None and now != state:
            yield state, group
            group = []
        state = now
        group.append((n, row))
    if state is not None:
        yield state, group


def _replay(root: Path, db: Path, loaded: _Loaded, result: AuditResult, workers: int | None) -> None:
    from workbench.consolidation.merge import _verified, ingest
    from workbench.errors import FailureCode
    from workbench.signed.verify import VerifiedExport, check_replay
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    seqs = [row["seq"] for row in loaded.ledger]
    if not all(s.isdigit() for s in seqs) or [int(s) for s in seqs] != sorted({int(s) for s in seqs}):
        raise AuditFailure(AuditCode.BAD_TABLE, layout.LEDGER[0], "ledger rows are not in order")
    result.refused = sum(1 for row in loaded.ledger if row["outcome"] == "rejected")
    store = Store.open(db, expect=KIND_ROUND)
    try:
        for state, group in _epochs(loaded):
            _set_state(store.conn, state)
            paths = []
            for n, row in group:
                where = f"{layout.LEDGER[0]}:{n}"
                if not row["file_sha256"] or not (root / layout.export_path(row["file_sha256"])).is_file():
                    raise AuditFailure(AuditCode.FILE_MISSING, layout.export_path(row["file_sha256"] or "?"),
                                       f"{where} 记录的导出不在发布包中 / the export {where} records is not in the "
                                       "bundle")
                paths.append(root / layout.export_path(row["file_sha256"]))
            count = workers if workers is not None else (min(os.cpu_count() or 1, 4) if len(paths) > 2 else 0)
            for (n, row), (_, verified) in zip(group, _verified(db, paths, count), strict=True):
                name = layout.export_path(row["file_sha256"])
                if not isinstance(verified, VerifiedExport):
                    raise AuditFailure(verified.code, name, f"（{layout.LEDGER[0]}:{n}，合并于 {row['verified_at']}）"
                                       f"{verified.message}")
                _check_entry(verified, row, f"{layout.LEDGER[0]}:{n}", name)
                replay = check_replay(store.conn, verified)
                expected = FailureCode.STALE_EXPORT if row["outcome"] == "superseded" else None
                if replay != expected:
                    raise AuditFailure(AuditCode.LEDGER_MISMATCH, name,
                                       f"重放结果为 {replay or '新导出'}，而账本记为 {row['outcome']} / it replays as "
                                       f"{replay or 'a new export'} where the ledger says {row['outcome']}")
                ingest(store, replace(verified, file_sha256=""), rows=row["outcome"] != "superseded")
                store.conn.execute("UPDATE submissions SET verified_at = ?, file_name = ?, outcome = ? "
                                   "WHERE export_id = ?", (row["verified_at"], row["file_name"],
                                                          "conflict" if row["outcome"] == "conflict" else "merged",
                                                          verified.export_id))
                result.exports += 1
                result.lines.append(f"{layout.LEDGER[0]}:{n} {name}: export {verified.export_id} of "
                                    f"{verified.reviewer_id} seq {verified.seq} verified as of "
                                    f"{row['verified_at']}, {row['outcome']}")
        _set_state(store.conn, _as_of(loaded, "9999"))
    finally:
        store.close()
    result.lines.append(f"{result.exports} exports replayed; {result.refused} refused file(s) in the ledger")


def _check_entry(verified: Any, row: dict[str, str], where: str, name: str) -> None:
    for field_name, value in (("export_id", verified.export_id), ("payload_sha256", verified.payload_sha256),
                              ("reviewer_id", verified.reviewer_id), ("key_id", verified.key_id),
                              ("nonce", verified.nonce), ("export_seq", str(verified.seq))):
        if row[field_name] != value:
            raise AuditFailure(AuditCode.LEDGER_MISMATCH, name,
                               f"{where} 的 {field_name} 为 {row[field_name]!r}，导出中为 {value!r} / the ledger's "
                               f"{field_name} is {row[field_name]!r}, the export's {value!r}")


def _compare_report(root: Path, scratch: Path, db: Path, manifest: Manifest, result: AuditResult) -> None:
    from workbench.consolidation.report import write_report

    out = scratch / "recomputed" / "consolidated.xlsx"
    out.parent.mkdir()
    try:
        summary = write_report(db, out, allow_incomplete=not manifest.data["complete"])
    except WorkbenchError as exc:
        raise AuditFailure(AuditCode.NOT_REPRODUCED, layout.REPORT,
                           f"清单称轮次已完成，重建的轮次却不能生成结果 / the manifest says the round is complete, but "
                           f"the rebuilt one is not: {exc.message}") from None
    result.targets = summary.targets
    report = root / layout.REPORT
    known = _identical_parts(report, out)
    limits, sheets = _report_limits(out, known)
    info = _check_report(report, limits, known)
    # A sheet the published workbook maps to the very part the recomputed one does, that part byte-identical:
    # the same cells (说明 is always compared, for the rows that say when each report was written).
    same = {s.name: s.part for s in info.sheets
            if s.part in known and sheets.get(s.name) == s.part and s.name != ABOUT_SHEET}
    result.values += _compare_workbooks(report, out, same)
    about = info.sheet(ABOUT_SHEET)
    _compare_parts(report, out, known, about.part if about else None, sheets.get(ABOUT_SHEET))
    published = sorted(p.name for p in (root / "report").glob("consolidated.reviews-*.csv"))
    recomputed = sorted(p.name for p in summary.side_files)
    if published != recomputed:
        raise AuditFailure(AuditCode.NOT_REPRODUCED, "report/",
                           f"side file parts: published {published}, recomputed {recomputed}")
    for part in summary.side_files:
        result.values += _compare_csv(root / "report" / part.name, part, f"report/{part.name}")
    result.lines.append(f"report/consolidated.xlsx and {len(published)} side file part(s) recomputed: every value "
                        "identical")


def _compare_workbooks(published: Path, recomputed: Path, same: Mapping[str, str]) -> int:
    """How many values the two workbooks hold alike, cell by cell; a sheet in `same` (name → part) is known to hold
    the recomputed one's cells, whose values are counted where they were written."""
    from python_calamine import CalamineWorkbook

    from workbench.signed.worksheet import cell_ref

    name = layout.REPORT
    try:
        ours = CalamineWorkbook.from_path(str(published))
    except Exception as exc:  # calamine's errors have no common base
        raise AuditFailure(AuditCode.NOT_REPRODUCED, name, f"cannot be read ({exc})") from None
    theirs = CalamineWorkbook.from_path(str(recomputed))
    if ours.sheet_names != theirs.sheet_names:
        raise AuditFailure(AuditCode.NOT_REPRODUCED, name,
                           f"sheets: published {ours.sheet_names}, recomputed {theirs.sheet_names}")
    values = 0
    for sheet in ours.sheet_names:
        if sheet in same:
            values += _values_written(recomputed, same[sheet])
            continue
        a = ours.get_sheet_by_name(sheet).to_python()
        b = theirs.get_sheet_by_name(sheet).to_python()
        for r in range(max(len(a), len(b))):
            row_a = a[r] if r < len(a) else []
            row_b = b[r] if r < len(b) else []
            if sheet == ABOUT_SHEET and row_b and row_b[0] in IGNORED_LABELS:
                continue
            if row_a == row_b:
                values += sum(1 for v in row_a if v not in ("", None))
                continue
            for c in range(max(len(row_a), len(row_b))):
                va = row_a[c] if c < len(row_a) else ""
                vb = row_b[c] if c < len(row_b) else ""
                if va != vb:
                    raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{sheet}!{cell_ref(r, c)}",
                                       f"发布的为 {_shown(va)}，重算得 {_shown(vb)} / published {_shown(va)}, "
                                       f"recomputed {_shown(vb)}")
    return values


_GENERATED_AT = re.compile(
    f"(<t>(?:{'|'.join(map(re.escape, sorted(IGNORED_LABELS)))})</t></is></c><c [^>]*><is><t>)[^<]*(</t>)".encode())
"""The values of 说明's IGNORED_LABELS rows, as the report writes them."""


def _compare_parts(published: Path, recomputed: Path, known: frozenset[str], about: str | None,
                   about_recomputed: str | None) -> None:
    """Every part of the published report byte for byte the recomputed report's, once their cells compare equal:
    the same values can be shown otherwise (a number format in xl/styles.xml, a hidden row, a conditional format
    in a sheet's part). Only docProps/core.xml (when each file was written) and, in 说明's part, the two
    generation times may differ."""
    import zipfile

    with zipfile.ZipFile(published) as theirs, zipfile.ZipFile(recomputed) as ours:
        names = {info.filename for info in theirs.infolist()}
        mine = {info.filename for info in ours.infolist()}
        if names != mine:
            name = min(names ^ mine)
            zh, en = ("发布的", "published") if name in names else ("重算的", "recomputed")
            raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{layout.REPORT} ({name})",
                               f"部件 {name} 只在{zh}工作簿中 / part {name} is only in the {en} workbook")
        for name in sorted(mine - known - {"docProps/core.xml"}):
            a, b = theirs.read(name), ours.read(name)  # within the limits check_xlsx held the published one to
            if name == about == about_recomputed:
                a, b = _GENERATED_AT.sub(rb"\1\2", a), _GENERATED_AT.sub(rb"\1\2", b)
            if a != b:
                raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{layout.REPORT} ({name})",
                                   f"部件 {name} 与重算的不同：单元格的值相同，显示方式（数字格式、样式、隐藏的行列、"
                                   f"条件格式……）却可能不同 / part {name} differs from the recomputed workbook's: the "
                                   "cells hold the same values, but how they show (number formats, styles, hidden rows "
                                   "or columns, conditional formats …) may not")


def _values_written(workbook: Path, part: str) -> int:
    """The cells with a value (not empty, not an empty text) in a worksheet part this process wrote: a number or
    boolean in <v>, a text inline in <is> (the report has no shared strings), counted in pieces cut after a cell."""
    import zipfile

    values, rest = 0, b""
    with zipfile.ZipFile(workbook) as archive, archive.open(part) as member:
        while True:
            piece = member.read(16 << 20)
            text = rest + piece
            end = text.rfind(b"</c>")
            cut = (end + 4 if end >= 0 else 0) if piece else len(text)
            whole, rest = text[:cut], text[cut:]
            values += (whole.count(b"</v>") + whole.count(b"</is>") - whole.count(b"<t></t></is>")
                       - whole.count(b'<t xml:space="preserve"></t></is>') - whole.count(b"<t/></is>"))
            if not piece:
                return values


def _shown(value: object) -> str:
    return "（空）/ (empty)" if value in ("", None) else repr(value)


def _compare_csv(published: Path, recomputed: Path, name: str) -> int:
    ours = csv.reader(io.StringIO(published.read_bytes().decode("utf-8-sig", errors="replace"), newline=""))
    theirs = csv.reader(io.StringIO(recomputed.read_bytes().decode("utf-8-sig"), newline=""))
    header: list[str] = []
    values = 0
    for n, (a, b) in enumerate(_zip_longest(ours, theirs), start=1):
        if n == 1:
            header = b or []
        if a == b:
            values += sum(1 for v in a if v) if n > 1 else 0
            continue
        for c in range(max(len(a), len(b))):
            va = a[c] if c < len(a) else ""
            vb = b[c] if c < len(b) else ""
            if va != vb:
                column = header[c] if c < len(header) else str(c + 1)
                raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{name} 第 {n} 行 / row {n} ({column})",
                                   f"发布的为 {_shown(va)}，重算得 {_shown(vb)} / published {_shown(va)}, "
                                   f"recomputed {_shown(vb)}")
        raise AuditFailure(AuditCode.NOT_REPRODUCED, f"{name} row {n}", "the rows differ")
    return values


def _zip_longest(a: Iterator[list[str]], b: Iterator[list[str]]) -> Iterator[tuple[list[str], list[str]]]:
    import itertools

    for x, y in itertools.zip_longest(a, b):
        yield (x or [], y or [])
