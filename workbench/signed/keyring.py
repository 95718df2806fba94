"""The coordinator's keyring in a round database: reviewers' public keys added, listed, rotated and revoked."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import KeyringRefused, NotFound

_MAX_PUB_FILE_BYTES = 4096


@dataclass(frozen=True)
class KeyRecord:
    """One registered public key. `current` marks the key new packages for its reviewer record."""

    key_id: str
    reviewer_id: str
    public_key: str
    added_at: str
    revoked_at: str | None
    current: bool = False

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class KeyChange:
    record: KeyRecord
    changed: bool
    """False when the keyring already said so (the same key added twice, a key revoked twice)."""
    replaced: str | None = None
    """On a rotation: the reviewer's previous current key id, which stays valid for old packages."""
    merged_exports: int = 0
    merged_rows: int = 0
    """On a revocation: how many exports signed with the key were merged before, and their rows (they stay)."""


def read_public_key_argument(text: str) -> str:
    """The public key text a user gave: a minisign line, or the path of a .pub file holding one."""
    candidate = Path(text.strip()).expanduser()
    if len(text) < 4096 and "\n" not in text:
        try:
            if candidate.is_file():
                with open(candidate, "rb") as handle:
                    data = handle.read(_MAX_PUB_FILE_BYTES + 1)
                if len(data) > _MAX_PUB_FILE_BYTES:
                    raise KeyringRefused(f"{candidate} 不是公钥文件（过大）/ is not a public key file (too large)")
                return data.decode("utf-8", errors="replace")
        except OSError:
            pass
    return text


def add_key(round_db: str | Path, reviewer_id: str, public_key_text: str) -> KeyChange:
    """Register a reviewer's public key; a second key for the same reviewer rotates to it.

    The key id must be the one this project derives from the key (first 8 bytes of SHA-256): the id a
    reviewer reads out on the phone then vouches for the key itself. Keys made by `minisign -G` carry a
    random id and are refused; reviewers make theirs with `workbench keygen`.
    """
    from workbench.signed.keys import format_key_id, key_id_for, parse_public_key
    from workbench.store.db import Store, transaction, utc_now
    from workbench.store.schema import KIND_ROUND

    public = parse_public_key(public_key_text)
    if public.key_id != key_id_for(public.raw):
        raise KeyringRefused(
            f"公钥编号 {public.key_id_text} 不是由公钥本身计算得出的（应为 {format_key_id(key_id_for(public.raw))}），"
            "请用 workbench keygen 生成密钥 / this key's id is not derived from the key itself, as "
            "`workbench keygen` derives it (a `minisign -G` key?); ask the reviewer for a key made with "
            "`workbench keygen`"
        )
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        conn = store.conn
        with transaction(conn):
            if conn.execute("SELECT 1 FROM reviewers WHERE id = ?", (reviewer_id,)).fetchone() is None:
                raise NotFound(f"未知评审专家「{reviewer_id}」/ no reviewer {reviewer_id!r} in this round")
            existing = conn.execute("SELECT * FROM keys WHERE key_id = ?", (public.key_id_text,)).fetchone()
            if existing is not None:
                if existing["reviewer_id"] != reviewer_id:
                    raise KeyringRefused(
                        f"密钥 {public.key_id_text} 已登记给评审专家 {existing['reviewer_id']}，不能再登记给 "
                        f"{reviewer_id} / key {public.key_id_text} is registered to reviewer "
                        f"{existing['reviewer_id']}; one key belongs to one reviewer"
                    )
                if existing["revoked_at"] is not None:
                    raise KeyringRefused(
                        f"密钥 {public.key_id_text} 已于 {existing['revoked_at']} 吊销，不能重新登记；"
                        "请评审专家生成新密钥 / "
                        f"key {public.key_id_text} was revoked at {existing['revoked_at']} and cannot come "
                        "back; the reviewer makes a new one with `workbench keygen`"
                    )
                return KeyChange(_records(conn, key_id=public.key_id_text)[0], changed=False)
            previous = _current_key_id(conn, reviewer_id)
            conn.execute(
                "INSERT INTO keys (key_id, reviewer_id, public_key, added_at, revoked_at) VALUES (?, ?, ?, ?, NULL)",
                (public.key_id_text, reviewer_id, public.line, utc_now()),
            )
        return KeyChange(_records(conn, key_id=public.key_id_text)[0], changed=True, replaced=previous)
    finally:
        store.close()


def list_keys(round_db: str | Path, reviewer_id: str | None = None) -> list[KeyRecord]:
    """Every key, by reviewer then age; revoked keys included."""
    from workbench.store.db import Store
    from workbench.store.schema import KIND_ROUND

    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        return _records(store.conn, reviewer_id=reviewer_id)
    finally:
        store.close()


def revoke_key(round_db: str | Path, key_id: str) -> KeyChange:
    """Mark a key revoked: nothing it signed verifies any more (REVOKED_KEY), old or new.

    Rotation is the way to retire a key that was not compromised: add the new key, and exports made
    with the old one for packages issued before stay verifiable.
    """
    from workbench.signed.keys import format_key_id, parse_key_id
    from workbench.store.db import Store, transaction, utc_now
    from workbench.store.schema import KIND_ROUND

    key_text = format_key_id(parse_key_id(key_id))
    store = Store.open(round_db, expect=KIND_ROUND)
    try:
        conn = store.conn
        with transaction(conn):
            row = conn.execute("SELECT revoked_at FROM keys WHERE key_id = ?", (key_text,)).fetchone()
            if row is None:
                raise NotFound(f"密钥环中没有密钥 {key_text} / no key {key_text} in this keyring")
            changed = row["revoked_at"] is None
            if changed:
                conn.execute("UPDATE keys SET revoked_at = ? WHERE key_id = ?", (utc_now(), key_text))
            exports, rows = conn.execute(
                "SELECT count(*), coalesce(sum(rows), 0) FROM submissions WHERE key_id = ? AND outcome = 'merged'",
                (key_text,)).fetchone()
        return KeyChange(_records(conn, key_id=key_text)[0], changed=changed, merged_exports=exports,
                         merged_rows=rows)
    finally:
        store.close()


def lookup_key(conn: sqlite3.Connection, key_id: str) -> KeyRecord | None:
    """A key by its id text (as format_key_id writes it), from an open round database."""
    records = _records(conn, key_id=key_id)
    return records[0] if records else None


def _current_key_id(conn: sqlite3.Connection, reviewer_id: str) -> str | None:
    from workbench.setup.package import active_key_id

    return active_key_id(conn, reviewer_id)


def _records(conn: sqlite3.Connection, *, key_id: str | None = None, reviewer_id: str | None = None) -> list[KeyRecord]:
    sql = "SELECT rowid, * FROM keys"
    args: tuple[str, ...] = ()
    if key_id is not None:
        sql += " WHERE key_id = ?"
        args = (key_id,)
    elif reviewer_id is not None:
        sql += " WHERE reviewer_id = ?"
        args = (reviewer_id,)
    rows = conn.execute(sql + " ORDER BY reviewer_id, added_at, rowid", args).fetchall()
    current = {r["reviewer_id"]: _current_key_id(conn, r["reviewer_id"]) for r in rows}
    return [
        KeyRecord(
            key_id=r["key_id"], reviewer_id=r["reviewer_id"], public_key=r["public_key"],
            added_at=r["added_at"], revoked_at=r["revoked_at"], current=current[r["reviewer_id"]] == r["key_id"],
        )
        for r in rows
    ]
