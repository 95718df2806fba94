"""The search index a round stores beside its search keys: laid out once at build time, read per lookup.

`search_keys` stays the source: `search_index` holds each kind's keys of one script laid out as the index
searches them, in UTF-8 (searched as bytes, never decoded), with where each entry's keys start and its rank;
`search_ranks` names the entry at each rank.
Triggers empty both whenever a row of `search_keys` is written, so a stored index never answers for keys
that have changed since: the lookup then reads the keys themselves, as it did before there was a stored
index (and as it does in a package or a round made before it, until `upgrade` lays it out).
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections.abc import Mapping, Sequence

from workbench.search.index import KINDS, SearchIndex

# The order an index ranks ties in (the order given): the search_keys primary key, as its index reads it.
KEYS_SQL = "SELECT kind, id, name, keys FROM search_keys WHERE kind IN ({marks}) ORDER BY kind, id"

SEARCH_INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_index (kind TEXT NOT NULL, latin INTEGER NOT NULL, position INTEGER NOT NULL,
    keys BLOB NOT NULL, starts BLOB NOT NULL, ranks BLOB NOT NULL, words TEXT NOT NULL, PRIMARY KEY (kind, latin));
CREATE TABLE IF NOT EXISTS search_ranks (rank INTEGER PRIMARY KEY, position INTEGER NOT NULL, kind TEXT NOT NULL,
    id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS search_keys_inserted AFTER INSERT ON search_keys
    BEGIN DELETE FROM search_index; DELETE FROM search_ranks; END;
CREATE TRIGGER IF NOT EXISTS search_keys_updated AFTER UPDATE ON search_keys
    BEGIN DELETE FROM search_index; DELETE FROM search_ranks; END;
CREATE TRIGGER IF NOT EXISTS search_keys_deleted AFTER DELETE ON search_keys
    BEGIN DELETE FROM search_index; DELETE FROM search_ranks; END;
"""

_SEP = "\x1f"  # between the short keys of a blob (KEY_SEPARATOR: never inside a key)


def create_search_index(conn: sqlite3.Connection) -> None:
    """The tables and triggers of a stored index, where missing (statement by statement: executescript would
    commit the caller's transaction)."""
    pending = ""
    for line in SEARCH_INDEX_SCHEMA.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            conn.execute(pending)
            pending = ""


def keys_sql(kinds: Sequence[str]) -> str:
    return KEYS_SQL.format(marks=", ".join("?" for _ in kinds))


def write_search_index(conn: sqlite3.Connection) -> None:
    """Lay out the index of every row of `search_keys` and store it (inside the caller's transaction)."""
    conn.execute("DELETE FROM search_index")
    conn.execute("DELETE FROM search_ranks")
    conn.row_factory, factory = sqlite3.Row, conn.row_factory
    try:
        layout = SearchIndex.from_rows(conn.execute(keys_sql(KINDS), KINDS)).layout()
    finally:
        conn.row_factory = factory
    conn.executemany(
        "INSERT INTO search_index (kind, latin, position, keys, starts, ranks, words) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(b.kind, int(b.latin), n, b.text.encode(), _pack(_byte_starts(b.text, b.starts)), _pack(b.ranks),
          _SEP.join(b.words)) for n, b in enumerate(layout.blobs)],
    )
    conn.executemany("INSERT INTO search_ranks (rank, position, kind, id) VALUES (?, ?, ?, ?)", layout.ranked)


def stored_index(conn: sqlite3.Connection, kinds: Sequence[str] = KINDS, *, eager: bool = False) -> SearchIndex | None:
    """The stored index over `kinds`, or None when the database holds none (or none for its current keys).

    Lazy (the default) it reads from `conn` as queries need it, so `conn` must stay open while it is used; eager
    it reads everything now and never touches `conn` again.
    """
    marks = ", ".join("?" for _ in kinds)
    try:
        keys = [(r[0], bool(r[1])) for r in conn.execute(
            f"SELECT kind, latin FROM search_index WHERE kind IN ({marks}) ORDER BY position", tuple(kinds))]
        laid_out = conn.execute("SELECT 1 FROM search_ranks LIMIT 1").fetchone() is not None
    except sqlite3.OperationalError:  # made before the index was stored, and not upgraded since
        return None
    if not laid_out and conn.execute("SELECT 1 FROM search_keys LIMIT 1").fetchone() is not None:
        return None  # keys written since the index was laid out (the triggers emptied it)
    parts = _Parts(conn, keys, tuple(kinds))
    index = SearchIndex.stored(parts)
    if eager:
        parts.read_all()
    return index


class _Parts:
    """The stored index's parts, read from the database when the index first needs each (see StoredParts)."""

    def __init__(self, conn: sqlite3.Connection, keys: list[tuple[str, bool]], kinds: tuple[str, ...]) -> None:
        self.conn = conn
        self.keys = keys
        self.kinds = kinds
        self._blobs: dict[tuple[str, bool], tuple[bytes, Sequence[int], Sequence[int]]] = {}
        self._words: dict[tuple[str, bool], list[str]] = {}
        self._records: dict[int, Mapping[str, str]] | None = None
        self._given: list[Mapping[str, str]] | None = None

    def blob_keys(self) -> list[tuple[str, bool]]:
        return self.keys

    def blob(self, kind: str, latin: bool) -> tuple[bytes, Sequence[int], Sequence[int]]:
        got = self._blobs.get((kind, latin))
        if got is None:
            keys, starts, ranks = self.conn.execute(
                "SELECT keys, starts, ranks FROM search_index WHERE kind = ? AND latin = ?", (kind, int(latin))
            ).fetchone()
            got = self._blobs[(kind, latin)] = (keys, _unpack(starts), _unpack(ranks))
        return got

    def words(self, kind: str, latin: bool) -> list[str]:
        got = self._words.get((kind, latin))
        if got is None:
            text = self.conn.execute("SELECT words FROM search_index WHERE kind = ? AND latin = ?",
                                     (kind, int(latin))).fetchone()[0]
            got = self._words[(kind, latin)] = text.split(_SEP) if text else []
        return got

    def record(self, rank: int) -> Mapping[str, str]:
        if self._records is not None:
            return self._records[rank]
        row = self.conn.execute(
            "SELECT k.kind, k.id, k.name, k.keys FROM search_ranks r JOIN search_keys k ON k.kind = r.kind "
            "AND k.id = r.id WHERE r.rank = ?", (rank,)).fetchone()
        return {"kind": row[0], "id": row[1], "name": row[2], "keys": row[3]}

    def records(self) -> list[Mapping[str, str]]:
        if self._given is None:
            self._read_records()
        assert self._given is not None
        return self._given

    def size(self) -> int:
        if self._given is not None:
            return len(self._given)
        marks = ", ".join("?" for _ in self.kinds)
        return int(self.conn.execute(f"SELECT count(*) FROM search_ranks WHERE kind IN ({marks})",
                                     self.kinds).fetchone()[0])

    def read_all(self) -> None:
        for key in self.keys:
            self.blob(*key)
            self.words(*key)
        self._read_records()

    def _read_records(self) -> None:
        kinds = self.kinds
        marks = ", ".join("?" for _ in kinds)
        rows = self.conn.execute(
            "SELECT r.rank, k.kind, k.id, k.name, k.keys FROM search_ranks r JOIN search_keys k ON k.kind = r.kind "
            f"AND k.id = r.id WHERE r.kind IN ({marks}) ORDER BY r.position", tuple(kinds))
        given = [(rank, {"kind": kind, "id": id, "name": name, "keys": keys}) for rank, kind, id, name, keys in rows]
        self._records = dict(given)
        self._given = [row for _, row in given]


def _byte_starts(text: str, starts: Sequence[int]) -> Sequence[int]:
    """Where each entry's keys start in the UTF-8 of ``text``, from where they start in ``text``."""
    if text.isascii():
        return starts
    out: list[int] = []
    chars = octets = 0
    for start in starts:
        octets += len(text[chars:start].encode())
        chars = start
        out.append(octets)
    return out


def _pack(numbers: Sequence[int]) -> bytes:
    packed = array("i", numbers)
    if sys.byteorder == "big":  # stored little-endian, whichever machine wrote the file
        packed.byteswap()
    return packed.tobytes()


def _unpack(data: bytes) -> array[int]:
    numbers = array("i")
    numbers.frombytes(data)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers
