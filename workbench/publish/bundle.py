"""`workbench publish`: the signed publication bundle, from which anyone can re-derive every published number.

The bundle is built in a hidden temporary directory beside its final name and renamed into place complete (a zip
is written to a temporary file and renamed), so a crash leaves nothing under the final name. Only public material
goes in: set-up tables, public keys, the exports as received, the ledger, past results and the report; the
coordinator's secret key is read to sign the manifest and never written anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.publish import layout
from workbench.store.db import Store, decode_value, utc_now


class PublishRefused(WorkbenchError):
    """The round cannot be published as asked; nothing was written."""

    code = "PUBLISH_REFUSED"


@dataclass(frozen=True)
class PublishSummary:
    path: Path
    manifest_sha256: str
    files: int
    exports: int
    ledger: int
    complete: bool
    coordinator_key: str
    """The coordinator's public key line, for `minisign -P` and `workbench audit --coordinator-key`."""
    page: tuple[Path, ...]
    """The results page beside the bundle (xlsx, html)."""
    provisional_until: str | None = None
    """The last day of the 公示 window for a provisional publication; None for a final one."""
    appeals: int = 0


def page_paths(out: Path) -> tuple[Path, Path]:
    """The public results page beside the bundle: BUNDLE.results.xlsx and BUNDLE.results.html (a .zip's stem)."""
    stem = out.name[:-4] if out.suffix.lower() == ".zip" else out.name
    return out.with_name(f"{stem}.results.xlsx"), out.with_name(f"{stem}.results.html")


def publish(
    round_db: Path, key_file: Path, out: Path, *, passphrase: str, as_zip: bool = False,
    allow_incomplete: bool = False, provisional_until: date | None = None,
) -> PublishSummary:
    """Check that the round may be published, write the bundle and the results page; PublishRefused otherwise.

    With ``provisional_until`` it is the provisional publication (公示): appeals are taken against it until that
    day (北京时间, included), and the round records it. A final publication is refused while appeals are open
    (unless ``allow_incomplete``) and names the provisional manifest's SHA-256."""
    from workbench.consolidation.appeals import (
        FINAL,
        PROVISIONAL,
        Publication,
        read_appeals,
        record_outcomes,
        record_publication,
        today_in_beijing,
    )
    from workbench.consolidation.stored import ensure_consolidated
    from workbench.signed.keys import load_secret_key
    from workbench.store.migrations import upgrade
    from workbench.store.schema import KIND_ROUND

    out = Path(out)
    for path in (out, *page_paths(out)):
        if os.path.lexists(path):
            raise PublishRefused(f"{path} 已存在，不会覆盖 / already exists; choose another path or remove it first")
    secret = load_secret_key(key_file, passphrase)
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        upgrade(store.conn)
        ensure_consolidated(store)
        record_outcomes(store)  # the appeals log as the reviews give it (a merge wrote it; a migration may not have)
        if provisional_until is not None and provisional_until < today_in_beijing():
            raise PublishRefused(
                f"公示截止日期 {provisional_until} 已过（今天是 {today_in_beijing()}，北京时间）；"
                "请给出今天或以后的日期 / "
                f"the 公示 window would end on {provisional_until}, before today ({today_in_beijing()}, Beijing "
                "time): give today or a later day")
        if provisional_until is not None and read_appeals(store):
            raise PublishRefused(
                "本轮次已受理针对公示版的申诉，不能再次公示（申诉只针对一份公示版）；请处理完申诉后正式发布 / "
                "the round holds appeals taken against its provisional publication, so it cannot be published "
                "provisionally again (appeals are taken against one 公示): settle them and publish the final results")
        _check_key(store, secret.key_id_text)
        _check_evidence(store)
        _check_revoked(store)
        state = _completeness(store, final=provisional_until is None)
        if not state["complete"] and not allow_incomplete:
            raise PublishRefused(
                f"轮次尚不能{'公示' if provisional_until else '正式发布'}：{state['zh']}。请先补齐评分、处理争议"
                "（workbench disputes）与申诉（workbench appeals），或加 --allow-incomplete 发布并在清单中注明 / "
                f"the round is not ready for publication: {state['en']}. Merge the missing reviews, settle the "
                "disputes (workbench disputes) and the appeals (workbench appeals) first, or pass "
                "--allow-incomplete to publish it with the manifest saying so")
        tmp = out.with_name(f".{out.name}.publish-{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            before = _round_state(store)
            _write_contents(store, tmp, allow_incomplete)
            if _round_state(store) != before:  # a merge, a package or a decision landed while the files were written
                raise PublishRefused("发布期间轮次有变动（合并、签发评审包、密钥或争议决定），未写出发布包；"
                                     "请再发布一次 / the round changed while the bundle was written (a merge, a "
                                     "package, a key or a decision on a dispute), so nothing was published; "
                                     "publish again")
            manifest = _manifest(store, tmp, state, secret.key_id_text, provisional_until)
            manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
            digest = hashlib.sha256(manifest_bytes).hexdigest()
            (tmp / layout.MANIFEST).write_bytes(manifest_bytes)
            (tmp / layout.SIGNATURE).write_text(sign_manifest(manifest_bytes, secret, manifest["published_at"]),
                                                encoding="utf-8", newline="\n")
            _sync_tree(tmp)
            if as_zip:
                _zip_into_place(tmp, out)
            else:
                try:
                    os.rename(tmp, out)
                except OSError:  # another publish got there first
                    raise PublishRefused(f"{out} 已存在，不会覆盖 / already exists; choose another path") from None
                _sync_dir(out.parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        from workbench.publish.page import write_results_page

        record_publication(store, Publication(
            manifest["published_at"], PROVISIONAL if provisional_until else FINAL,
            provisional_until.isoformat() if provisional_until else None, digest, out.name))
        pages = write_results_page(store, page_paths(out), manifest_sha256=digest,
                                   coordinator_key=secret.public.line, bundle_name=out.name,
                                   published_at=manifest["published_at"], complete=state["complete"])
        return PublishSummary(out, digest, len(manifest["files"]) + 2, manifest["counts"]["exports"],
                              manifest["counts"]["ledger"], bool(state["complete"]), secret.public.line, pages,
                              provisional_until.isoformat() if provisional_until else None,
                              manifest["appeals"]["total"])
    finally:
        store.close()


def sign_manifest(manifest: bytes, secret: Any, published_at: str) -> str:
    """The manifest's minisign signature; its trusted comment names the bundle format and the manifest's SHA-256."""
    from workbench.signed.signing import sign

    digest = hashlib.sha256(manifest).hexdigest()
    return sign(manifest, secret, f"{layout.TRUSTED_TAG} format={layout.BUNDLE_FORMAT} published_at={published_at} "
                                  f"sha256={digest}", untrusted_comment="workbench publication bundle manifest")


# --------------------------------------------------------------------------------------------- the checks


def _check_key(store: Store, key_id: str) -> None:
    row = store.conn.execute("SELECT reviewer_id FROM keys WHERE key_id = ?", (key_id,)).fetchone()
    if row is not None:
        raise PublishRefused(
            f"密钥 {key_id} 是评审专家 {row[0]} 的签名密钥，不能用来发布；请用 workbench keygen -o coord.key 生成协调人"
            f"自己的密钥 / key {key_id} is reviewer {row[0]}'s signing key; publish with a coordinator key of your "
            "own (workbench keygen -o coord.key)")


def _check_evidence(store: Store) -> None:
    missing = store.conn.execute(
        "SELECT s.file_name FROM submissions s LEFT JOIN evidence e ON e.sha256 = s.file_sha256 "
        "WHERE e.sha256 IS NULL ORDER BY s.rowid").fetchall()
    if missing:
        names = "、".join(r[0] for r in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise PublishRefused(
            f"{len(missing)} 份已合并的导出没有留存副本（由早期版本合并：{names}）；请把这些文件再合并一次"
            f"（workbench merge ROUND.db 文件…，不会重复计入），副本即会留存 / {len(missing)} merged export(s) have no "
            f"kept copy (merged by an earlier version: {names}); merge those files again (workbench merge ROUND.db "
            "FILE…; nothing is counted twice) and their copies are kept")


def _check_revoked(store: Store) -> None:
    """Refused while any current score came from an export signed with a key revoked since: a pair of such an
    export stands until a later export of the same reviewer, signed with a key still valid, carried it again."""
    from workbench.scoring.indicators import IndicatorTree
    from workbench.setup.package import PAIR_KINDS, assignment_pairs

    conn = store.conn
    merged = conn.execute(
        "SELECT s.rowid, s.export_id, s.reviewer_id, s.key_id, k.revoked_at, p.kind, p.nonce FROM submissions s "
        "JOIN packages p ON p.nonce = s.nonce LEFT JOIN keys k ON k.key_id = s.key_id "
        "WHERE s.outcome = 'merged' ORDER BY s.rowid").fetchall()
    if not any(r[4] for r in merged):
        return
    tree = IndicatorTree(store.indicators())
    full: dict[str, set[tuple[str, ...]]] = {}

    def pairs(reviewer_id: str, kind: str, nonce: str) -> set[tuple[str, ...]]:
        if kind not in PAIR_KINDS:
            if reviewer_id not in full:
                full[reviewer_id] = set(assignment_pairs(tree, store.assignments(reviewer_id)))
            return full[reviewer_id]
        return {tuple(r) for r in conn.execute(
            "SELECT target_kind, target_id, indicator FROM package_pairs WHERE nonce = ?", (nonce,))}

    standing: dict[str, tuple[tuple[str, str, str], set[tuple[str, ...]]]] = {}
    for _, export_id, reviewer_id, key_id, revoked_at, kind, nonce in merged:
        carried = pairs(reviewer_id, kind, nonce)
        for other_id, (who, left) in list(standing.items()):
            if who[0] == reviewer_id and revoked_at is None:
                left.difference_update(carried)
                if not left:
                    del standing[other_id]
        if revoked_at is not None:
            standing[export_id] = ((reviewer_id, key_id, revoked_at), set(carried))
    if not standing:
        return
    export_id, ((reviewer_id, key_id, revoked_at), left) = max(standing.items(), key=lambda item: len(item[1][1]))
    total = sum(len(item[1]) for item in standing.values())
    raise PublishRefused(
        f"{total} 项评分来自用已吊销密钥签名的导出（评审专家 {reviewer_id} 的密钥 {key_id}，{revoked_at} 吊销；"
        f"导出 {export_id} 有 {len(left)} 项）。请登记该专家的新密钥（workbench keys add），签发新评审包"
        "（workbench package），合并其导出以取代这些评分后再发布 / "
        f"{total} score(s) come from exports signed with a key revoked since "
        f"(reviewer {reviewer_id}'s key {key_id}, revoked at {revoked_at}; export {export_id} holds {len(left)}). "
        "Register the reviewer's new key (workbench keys add), issue a new package (workbench package) and merge its "
        "export, which replaces those scores, then publish")


def _round_state(store: Store) -> tuple[object, ...]:
    """What the bundle's files are written from, in counts: unchanged from start to end, they agree."""
    return tuple(store.conn.execute(
        "SELECT (SELECT max(id) FROM merge_ledger), (SELECT count(*) FROM submissions), (SELECT count(*) FROM "
        "packages), (SELECT max(id) FROM dispute_decisions), (SELECT count(*) FROM keys), (SELECT count(revoked_at) "
        "FROM keys), (SELECT count(*) FROM rounds), (SELECT count(*) FROM appeals), (SELECT count(*) FROM "
        "appeal_packages)").fetchone())


def _completeness(store: Store, *, final: bool) -> dict[str, Any]:
    """What the round lacks; a final publication also waits for every appeal (申诉) to be decided."""
    from workbench.consolidation.appeals import count_open_appeals
    from workbench.consolidation.disputes import count_disputes
    from workbench.consolidation.status import round_progress

    progress = round_progress(store)
    disputes = count_disputes(store)
    open_disputes = disputes.open + disputes.sent
    waiting, sent, _ = count_open_appeals(store)
    open_appeals = waiting + sent if final else 0
    zh, en = progress.describe()
    return {
        "complete": progress.complete and open_disputes == 0 and open_appeals == 0,
        "exports_merged": progress.exports_merged, "targets": progress.targets,
        "targets_short": progress.targets_short, "reviewers_short": progress.reviewers_short,
        "open_disputes": open_disputes, "open_appeals": open_appeals,
        "zh": f"{zh}；未结争议 {open_disputes} 项" + (f"；未结申诉 {open_appeals} 项" if open_appeals else ""),
        "en": f"{en}; {open_disputes} open dispute(s)" + (f"; {open_appeals} open appeal(s)" if open_appeals else ""),
    }


# ------------------------------------------------------------------------------------------- the contents


def _write_contents(store: Store, root: Path, allow_incomplete: bool) -> None:
    from workbench.consolidation.evidence import evidence_bytes
    from workbench.consolidation.report import write_report

    conn = store.conn
    _write_round(store, root)
    path, header = layout.PACKAGES
    layout.write_csv(root / path, header, conn.execute(
        "SELECT nonce, reviewer_id, key_id, kind, issued_at, superseded_by, indicators_hash, targets_hash, pairs "
        "FROM packages ORDER BY rowid"))
    path, header = layout.PACKAGE_PAIRS
    layout.write_csv(root / path, header, conn.execute(
        "SELECT pp.nonce, pp.target_kind, pp.target_id, pp.indicator FROM package_pairs pp "
        "JOIN packages p ON p.nonce = pp.nonce ORDER BY p.rowid, pp.target_kind, pp.target_id, pp.indicator"))
    path, header = layout.DECISIONS
    layout.write_csv(root / path, header, conn.execute(
        "SELECT at, target_kind, target_id, indicator, decision, reason, exact, shown FROM dispute_decisions "
        "WHERE round = ? ORDER BY id", (store.round_id,)))
    path, header = layout.KEYRING
    layout.write_csv(root / path, header, conn.execute(
        "SELECT key_id, reviewer_id, public_key, added_at, revoked_at FROM keys ORDER BY added_at, rowid"))
    path, header = layout.LEDGER
    layout.write_csv(root / path, header, conn.execute(
        "SELECT m.id, m.at, m.file_name, CASE WHEN s.export_id IS NOT NULL THEN s.file_sha256 ELSE m.file_sha256 END, "
        "m.outcome, m.code, m.message, m.export_id, s.nonce, m.reviewer_id, s.key_id, m.seq, s.payload_sha256, s.rows, "
        "s.verified_at FROM merge_ledger m LEFT JOIN submissions s ON s.export_id = m.export_id "
        "AND m.outcome IN ('merged', 'superseded', 'conflict') ORDER BY m.id"))
    (root / layout.EXPORTS).mkdir()
    for (digest,) in conn.execute("SELECT DISTINCT file_sha256 FROM submissions WHERE file_sha256 IS NOT NULL"):
        data = evidence_bytes(conn, digest)
        assert data is not None  # checked by _check_evidence
        (root / layout.export_path(digest)).write_bytes(data)
    _write_history(store, root)
    _write_appeals(store, root)
    (root / layout.REPORT).parent.mkdir()
    write_report(store.path, root / layout.REPORT, allow_incomplete=allow_incomplete)


def _write_round(store: Store, root: Path) -> None:
    conn = store.conn
    thresholds = store.indicator_thresholds()
    files = layout.ROUND_FILES

    def write(name: str, rows: Any) -> None:
        path, header = files[name]
        layout.write_csv(root / path, header, rows)

    write("indicators", ([i.code, i.parent or "", i.name, i.kind.value, i.max_score, i.step, i.applies_to,
                          int(i.allow_na), i.description, *thresholds.get(i.code, ("", "")), i.levels]
                         for i in store.indicators()))
    write("rules", conn.execute("SELECT key, value FROM rules ORDER BY key"))
    write("sites", conn.execute("SELECT id, name, region, level, url, calibration FROM sites ORDER BY rowid"))
    write("cases", conn.execute("SELECT id, title, government, region, area, summary, synthetic, calibration "
                                "FROM cases ORDER BY rowid"))
    write("reviewers", conn.execute("SELECT id, name, org, region FROM reviewers ORDER BY rowid"))
    write("assignments", conn.execute("SELECT reviewer_id, target_kind, target_id, coi_override FROM assignments "
                                      "ORDER BY rowid"))
    has_conflicts = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'declared_conflicts'").fetchone()
    write("conflicts", conn.execute("SELECT reviewer_id, target_kind, target_id, org, reason FROM declared_conflicts "
                                    "ORDER BY rowid") if has_conflicts else [])
    kinds = {i.code: i.kind.value for i in store.indicators()}
    write("calibration_reference", (
        (kind, target_id, code, history_text(kinds.get(code, ""), value)) for kind, target_id, code, value in
        conn.execute("SELECT target_kind, target_id, indicator, value FROM calibration_reference ORDER BY rowid")))


def history_text(kind: str, value: str | None) -> str:
    """A past result as `import-results` reads it: 不适用, 是/否 for a veto, else the number as stored."""
    decoded = decode_value(value)
    if decoded is None:
        return ""
    if isinstance(decoded, str):
        return "不适用"
    if kind == "veto":
        return "是" if decoded else "否"
    return str(decoded)


def _write_appeals(store: Store, root: Path) -> None:
    from workbench.consolidation.appeals import APPEAL_COLUMNS, iter_log

    path, header = layout.APPEALS
    layout.write_csv(root / path, header, store.conn.execute(
        f"SELECT {', '.join(APPEAL_COLUMNS)} FROM appeals WHERE round = ? ORDER BY rowid", (store.round_id,)))
    path, header = layout.APPEAL_PACKAGES
    layout.write_csv(root / path, header, store.conn.execute(
        "SELECT ap.nonce, ap.appeal_id FROM appeal_packages ap JOIN packages p ON p.nonce = ap.nonce "
        "ORDER BY p.rowid, ap.appeal_id"))
    path, header = layout.APPEAL_LOG
    layout.write_csv(root / path, header, (o.row() for o in iter_log(store)))


def _write_history(store: Store, root: Path) -> None:
    kinds = {i.code: i.kind.value for i in store.indicators()}
    rounds = store.conn.execute("SELECT id, name, year FROM rounds WHERE status = 'past' ORDER BY year, id").fetchall()
    listing = []
    for n, (round_id, name, year) in enumerate(rounds, start=1):
        file = f"history/past-{n}.csv"
        listing.append((round_id, name or "", "" if year is None else year, file))
        layout.write_csv(root / file, layout.HISTORY_RESULTS, (
            (kind, target_id, code, history_text(kinds.get(code, ""), value))
            for kind, target_id, code, value in store.conn.execute(
                "SELECT target_kind, target_id, indicator, value FROM consolidated WHERE round = ? "
                "ORDER BY target_kind, target_id, indicator", (round_id,))))
    path, header = layout.HISTORY
    layout.write_csv(root / path, header, listing)


def _manifest(store: Store, root: Path, state: dict[str, Any], key_id: str, until: date | None) -> dict[str, Any]:
    import workbench
    from workbench.consolidation.appeals import REJECTED, UPHELD, appeal_states, last_provisional

    files: list[dict[str, Any]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data_digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                data_digest.update(chunk)
        files.append({"path": path.relative_to(root).as_posix(), "sha256": data_digest.hexdigest(),
                      "size": path.stat().st_size})
    counts = {
        "exports": sum(1 for f in files if f["path"].startswith(layout.EXPORTS + "/")),
        "ledger": store.conn.execute("SELECT count(*) FROM merge_ledger").fetchone()[0],
        "targets": state["targets"],
    }
    appeals = appeal_states(store)
    outcomes = [s.outcome.outcome for s in appeals if s.outcome is not None]
    earlier = last_provisional(store)
    return {
        "bundle_format": layout.BUNDLE_FORMAT,
        "round": {"id": store.round_id, "name": store.round_name, "year": store.meta.get("round_year", "")},
        "published_at": utc_now(),
        "software": {"name": "workbench", "version": workbench.__version__},
        "coordinator_key_id": key_id,
        "rules": store.rules_mapping(),
        "complete": bool(state["complete"]),
        "incomplete": None if state["complete"] else {
            k: state[k] for k in ("exports_merged", "targets", "targets_short", "reviewers_short", "open_disputes",
                                  "open_appeals")},
        "publication": "provisional" if until else "final",
        "provisional": {"until": until.isoformat(), "appeals": "appeals/appeals.csv"} if until else (
            None if earlier is None else {"sha256": earlier.manifest_sha256, "published_at": earlier.at,
                                          "until": earlier.until, "bundle": earlier.bundle}),
        "appeals": {"total": len(appeals), "open": sum(1 for s in appeals if s.is_open),
                    "upheld": outcomes.count(UPHELD), "rejected": outcomes.count(REJECTED)},
        "counts": counts,
        "files": files,
    }


# ------------------------------------------------------------------------------------- durable, atomic


def _sync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        _sync_dir(directory)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _zip_into_place(root: Path, out: Path) -> None:
    tmp = out.with_name(f".{out.name}.publish-{os.getpid()}.zip.tmp")
    try:
        with zipfile.ZipFile(tmp, "x") as archive:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                name = path.relative_to(root).as_posix()
                kind = zipfile.ZIP_STORED if name.endswith(".xlsx") else zipfile.ZIP_DEFLATED
                archive.write(path, name, compress_type=kind)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if os.path.lexists(out):
            raise PublishRefused(f"{out} 已存在，不会覆盖 / already exists; choose another path or remove it first")
        os.replace(tmp, out)
        _sync_dir(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
