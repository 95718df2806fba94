"""One fuzzy index over sites, cases and indicators: Chinese names, pinyin, initials and codes.

Pinyin keys are computed once at build time (keys.py, which imports pypinyin) and stored; a lookup only
loads them and searches with C-level string scans and rapidfuzz, so nothing on the lookup path loads
pypinyin's dictionary. A round also stores the index laid out as ``SearchIndex.layout()`` returns it
(stored.py): a cold lookup then reads a few strings instead of splitting every entry's keys, and makes
entries only for its hits. rapidfuzz is imported only by the tiers that score (typos, nearest names).

Ranking narrows by tier before it scores, because a scorer alone prefers unrelated long strings:
exact key > key prefix > letters in order from a key's start (initials, a dropped letter) > substring >
Chinese characters in order > fuzzy (rapidfuzz over short keys). Within a tier the shorter name wins,
then the earlier entry, so callers list their most important entries first.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, AnyStr, Generic, NamedTuple

from workbench.model import TargetKind

INDICATOR_ENTRY = "indicator"  # the kind of an indicator's entry; sites and cases use their TargetKind
KINDS = (TargetKind.SITE, TargetKind.CASE, INDICATOR_ENTRY)
KEY_SEPARATOR = "\x1f"  # never inside a key: normalize() drops it with the other whitespace

_SEP = KEY_SEPARATOR
_NOT_SEP = f"[^{_SEP}]"

_TIER_SCORES = {"exact": 100.0, "prefix": 95.0, "subsequence": 90.0, "substring": 85.0, "characters": 80.0}
_FIRST_PASS = 200      # entries classified by the first scan before falling back to one scan per tier
_SUBSEQUENCE_GAP = 3   # letters skipped between two query letters: "sz" in "shenzhen", "hbsjz" in "hbssjzs"
_SUBSEQUENCE_MAX = 6   # initials are short; in a longer word the fuzzy tier places a dropped letter better
_SHORT_KEY = 16        # longest key offered to the fuzzy tier and nearest(): typos happen in what people type
_FUZZY_CUTOFF = 80.0   # QRatio below this is noise ("shenzhne"→"shenzhen" scores 88, "shenzhi"→"shenzhou" 80)
_NEAREST_CUTOFF = 30.0  # below this a suggestion shares next to nothing with the query ("!!!")
_FUZZY_MIN_QUERY = 5   # shorter queries are codes or initials, where one edit makes another valid key
_FUZZY_KEYS = 2        # corrected spellings tried per query (each may cost a scan)


class SearchEntry(NamedTuple):
    """One searchable thing; ``keys`` are the normalized strings a query is matched against."""

    kind: str  # site | case | indicator
    id: str
    name: str
    keys: tuple[str, ...]


class SearchHit(NamedTuple):
    """A result: ``how`` names the tier that matched; ``score`` (0–100) falls with rank."""

    entry: SearchEntry
    score: float
    how: str  # exact | prefix | subsequence | substring | characters | fuzzy


def normalize(text: str) -> str:
    """Lowercase, full-width → half-width, no whitespace or apostrophes (xi'an = xian)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(text.split()).replace("'", "").replace("’", "")


# ---------------------------------------------------------------------------------------------
# lookup time


def entry_from_row(row: Mapping[str, str]) -> SearchEntry:
    """The entry a ``search_keys`` row stores (no pinyin computed)."""
    keys = tuple(k for k in row["keys"].split(KEY_SEPARATOR) if k)
    return SearchEntry(row["kind"], row["id"], row["name"], keys)



def _same(text: str) -> str:
    return text


def _utf8(text: str) -> bytes:
    return text.encode()


class _Blob(Generic[AnyStr]):
    """The keys of one script (Chinese or Latin) of one kind's entries, best-ranked entry first, laid out in
    one string ``SEP key SEP key … SEP``, so that a C-level ``str.find`` or regex does the scanning.

    ``starts[i]`` is where entry i's keys begin; a match maps back to its entry by bisection. A stored index
    keeps the layout as UTF-8 bytes (``starts`` then count bytes) and searches it as it is, without decoding
    it: UTF-8 is self-synchronising, so a query found in it is found at the same keys as in the text.
    """

    __slots__ = ("enc", "ranks", "sep", "starts", "text")

    def __init__(self, ranks: Sequence[int], starts: Sequence[int], text: AnyStr, enc: Callable[[str], AnyStr]) -> None:
        self.ranks = ranks
        self.starts = starts
        self.text: AnyStr = text
        self.enc: Callable[[str], AnyStr] = enc  # a query or key as this blob holds its keys
        self.sep: AnyStr = enc(_SEP)

    @staticmethod
    def of(ranks: list[int], chunks: list[str]) -> _Blob[str]:
        """The blob of these entries' keys, each chunk ``SEP key SEP key …`` (an index made in memory)."""
        starts: list[int] = []
        pos = 0
        for chunk in chunks:
            starts.append(pos)
            pos += len(chunk)
        return _Blob(ranks, starts, "".join(chunks) + _SEP, _same)

    def owner(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def end(self, i: int) -> int:
        """Position of the separator closing entry i's last key."""
        return self.starts[i + 1] if i + 1 < len(self.starts) else len(self.text) - 1

    def tier(self, i: int, q: AnyStr) -> str:
        """How well entry i's best key matches q (q occurs in it, and is as ``enc`` made it)."""
        start, end, sep = self.starts[i], self.end(i), self.sep
        if self.text.find(sep + q + sep, start, end + 1) >= 0:
            return "exact"
        return "prefix" if self.text.find(sep + q, start, end) >= 0 else "substring"

    def match(self, pattern: str, want: int, skip: Collection[int]) -> list[int]:
        """Ranks of the first ``want`` entries (not in ``skip``) with a key matching the regex ``pattern``."""
        compiled = re.compile(self.enc(pattern))  # re caches it: one compilation per query and type
        out: list[int] = []
        pos = 0
        while len(out) < want:
            m = compiled.search(self.text, pos)
            if m is None:
                break
            i = self.owner(m.start())
            if self.ranks[i] not in skip:
                out.append(self.ranks[i])
            pos = self.end(i)
        return out

    def exact(self, key: str, want: int, skip: Collection[int]) -> list[int]:
        """Ranks of the first ``want`` entries (not in ``skip``) having ``key`` exactly."""
        needle = self.sep + self.enc(key) + self.sep
        out: list[int] = []
        pos = 0
        while len(out) < want:
            pos = self.text.find(needle, pos)
            if pos < 0:
                break
            i = self.owner(pos)
            if self.ranks[i] not in skip:
                out.append(self.ranks[i])
            pos = self.end(i)
        return out

    def first_owner(self, key: str) -> int | None:
        pos = self.text.find(self.sep + self.enc(key) + self.sep)
        return None if pos < 0 else self.ranks[self.owner(pos)]


class _Scan(Generic[AnyStr]):
    """One query's exact, prefix and substring matches in one blob, by tier.

    A first pass over the substring matches classifies up to _FIRST_PASS entries, which settles every tier
    of a rare query in one scan. A common query stops early and continues per tier on demand, where each
    continuation stops as soon as it has what was asked for.
    """

    __slots__ = ("blob", "found", "q", "stop")

    def __init__(self, blob: _Blob[AnyStr], query: str) -> None:
        q = blob.enc(query)
        self.blob: _Blob[AnyStr] = blob
        self.q: AnyStr = q
        self.found: dict[str, list[int]] = {"exact": [], "prefix": [], "substring": []}
        text, pos = blob.text, 0
        for _ in range(_FIRST_PASS):
            pos = text.find(q, pos)
            if pos < 0:
                break
            i = blob.owner(pos)
            self.found[blob.tier(i, q)].append(blob.ranks[i])
            pos = blob.end(i)
        self.stop = pos  # -1 when the first pass saw every match

    def take(self, how: str, want: int, skip: Collection[int]) -> list[int]:
        got = [r for r in self.found[how] if r not in skip][:want]
        if self.stop < 0:
            return got
        blob, q, sep = self.blob, self.q, self.blob.sep
        needle = {"exact": sep + q + sep, "prefix": sep + q, "substring": q}[how]
        pos = self.stop
        while len(got) < want:
            pos = blob.text.find(needle, pos)
            if pos < 0:
                break
            i = blob.owner(pos)
            rank = blob.ranks[i]
            if rank not in skip and (how == "exact" or blob.tier(i, q) == how):
                got.append(rank)
            pos = blob.end(i)
        return got


_SHORT_KEYS = re.compile(f"{_SEP}({_NOT_SEP}{{1,{_SHORT_KEY}}})(?={_SEP})")


def short_keys(text: str) -> list[str]:
    """A blob's distinct short keys in order of first appearance: what _Words gathers from it."""
    return list(dict.fromkeys(_SHORT_KEYS.findall(text)))


class _Words:
    """Distinct short keys of one script, in order of first appearance (best-ranked entries first), for typo
    correction and nearest(); Latin letter-only ones also by (first letter, length)."""

    __slots__ = ("_by_start_len", "all", "known")

    def __init__(self, word_lists: Iterable[Iterable[str]]) -> None:
        found: dict[str, None] = {}
        for words in word_lists:
            found.update(dict.fromkeys(words))
        self.known = found.keys()
        self.all = list(found)
        self._by_start_len: dict[tuple[str, int], list[str]] | None = None

    @property
    def by_start_len(self) -> dict[tuple[str, int], list[str]]:
        if self._by_start_len is None:
            self._by_start_len = {}
            for word in self.all:
                if word.isascii() and word.isalpha():
                    self._by_start_len.setdefault((word[0], len(word)), []).append(word)
        return self._by_start_len


class LaidOutBlob(NamedTuple):
    """One kind's keys of one script as the index lays them out (see _Blob), with its short keys."""

    kind: str
    latin: bool
    text: str
    starts: Sequence[int]
    ranks: Sequence[int]
    words: list[str]


class Layout(NamedTuple):
    """What an index is made of, to be stored and loaded again without splitting a key: its blobs in the order
    the index made them, and each entry's (kind, id) by rank beside its place in the order given."""

    blobs: list[LaidOutBlob]
    ranked: list[tuple[int, int, str, str]]  # (rank, position given, kind, id)


if TYPE_CHECKING:  # a type only: defining a Protocol costs a lookup's start-up
    from typing import Protocol

    class StoredParts(Protocol):
        """Where an index made by ``SearchIndex.stored`` reads its parts, each when first needed."""

        def blob_keys(self) -> list[tuple[str, bool]]:
            """(kind, latin) of every blob, in layout order."""
            ...

        def blob(self, kind: str, latin: bool) -> tuple[bytes, Sequence[int], Sequence[int]]:
            """(keys, starts, ranks) of one blob: its layout as UTF-8, where each entry's keys start in it (in
            bytes) and the entries' ranks."""
            ...

        def words(self, kind: str, latin: bool) -> list[str]:
            """The short keys of one blob (``short_keys`` of its text)."""
            ...

        def record(self, rank: int) -> Mapping[str, str]:
            """The ``search_keys`` row of the entry at ``rank``."""
            ...

        def records(self) -> list[Mapping[str, str]]:
            """Every entry's ``search_keys`` row in the order given."""
            ...

        def size(self) -> int:
            """How many entries the index holds."""
            ...


class SearchIndex:
    """Answers queries as you type. Build it once per database (``from_rows`` over the stored keys, or
    ``stored`` over a stored layout), then ``search`` per keystroke; ``nearest`` suggests names when a search
    found nothing."""

    def __init__(self, entries: Sequence[SearchEntry]) -> None:
        self._entries: tuple[SearchEntry, ...] | None = tuple(entries)
        self._parts: StoredParts | None = None
        self._setup([(e.kind, e.id, e.name) for e in self._entries], [_split_keys(e.keys) for e in self._entries])

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> SearchIndex:
        """An index over ``search_keys`` rows (kind, id, name, keys as ``entry_to_row`` wrote them) that never
        splits the keys: the fast way to load a large database, since entries are only made for the hits."""
        index = cls.__new__(cls)
        index._entries = None
        index._parts = None
        records, keys = [], []
        for row in rows:
            records.append((row["kind"], row["id"], row["name"]))
            keys.append(_split_row_keys(row["keys"]))
        index._setup(records, keys)
        return index

    @classmethod
    def stored(cls, parts: StoredParts) -> SearchIndex:
        """An index over a stored ``layout()``: it reads a blob when a query first needs it and an entry when it
        is a hit, so it answers exactly as the index that was laid out."""
        index = cls.__new__(cls)
        index._entries = None
        index._parts = parts
        index._size = None
        index._made = {}
        index._blobs = dict.fromkeys(parts.blob_keys())
        index._words = {}
        return index

    def _setup(self, records: list[tuple[str, str, str]], keys: list[tuple[str, str]]) -> None:
        """Rank entries (shorter name first, then the order given) and lay out each kind's keys by script."""
        self._records = records
        self._keys = keys
        self._size: int | None = len(records)
        lengths = [len(name) for _, _, name in records]
        self._order = sorted(range(len(records)), key=lengths.__getitem__)  # stable: ties keep the given order
        self._made: dict[int, SearchEntry] = {}
        chunks: dict[tuple[str, bool], tuple[list[int], list[str]]] = {}
        for rank, i in enumerate(self._order):
            kind = records[i][0]
            han, latin = keys[i]
            for script, chunk in ((False, han), (True, latin)):
                if chunk:
                    ranks, texts = chunks.setdefault((kind, script), ([], []))
                    ranks.append(rank)
                    texts.append(chunk)
        self._blobs: dict[tuple[str, bool], _Blob[Any] | None] = {
            key: _Blob.of(ranks, texts) for key, (ranks, texts) in chunks.items()
        }
        self._words: dict[bool, _Words] = {}

    def layout(self) -> Layout:
        """This index's parts, for ``SearchIndex.stored`` to answer from once they are stored."""
        if self._parts is not None:
            raise ValueError("a stored index is laid out already")
        blobs = []
        for (kind, latin), blob in self._blobs.items():
            assert blob is not None and isinstance(blob.text, str)  # an index made here holds every blob, as text
            blobs.append(LaidOutBlob(kind, latin, blob.text, blob.starts, blob.ranks, short_keys(blob.text)))
        ranked = [(rank, i, self._records[i][0], self._records[i][1]) for rank, i in enumerate(self._order)]
        return Layout(blobs, ranked)

    @property
    def entries(self) -> tuple[SearchEntry, ...]:
        """Every entry, in the order given."""
        if self._entries is None:
            if self._parts is not None:
                self._entries = tuple(entry_from_row(row) for row in self._parts.records())
            else:
                self._entries = tuple(self._make(i) for i in range(len(self._records)))
        return self._entries

    def __len__(self) -> int:
        if self._size is None:
            assert self._parts is not None  # only a stored index counts its entries when asked
            self._size = self._parts.size()
        return self._size

    def search(self, query: str, limit: int = 10, kinds: Collection[str] | None = None) -> list[SearchHit]:
        """The best ``limit`` entries for ``query``, best first; [] for an empty query or when nothing matches."""
        q = normalize(query)
        if not q or limit <= 0:
            return []
        latin = q.isascii()
        blobs = self._select(latin, kinds)
        scans = [_Scan(blob, q) for blob in blobs]
        picked: list[SearchHit] = []
        seen: set[int] = set()

        def want() -> int:
            return limit - len(picked)

        def take(how: str, ranks: Iterable[int], score: float | None = None) -> None:
            for rank in sorted(ranks)[: want()]:
                seen.add(rank)
                picked.append(SearchHit(self._entry(rank), _TIER_SCORES[how] if score is None else score, how))

        words = self._words.get(latin)
        if words is None or len(q) > _SHORT_KEY or q in words.known:  # else no key equals q: skip that scan
            take("exact", [r for scan in scans for r in scan.take("exact", want(), seen)])
        if want() > 0:
            take("prefix", [r for scan in scans for r in scan.take("prefix", want(), seen)])
        if want() > 0 and latin and q.isalpha() and 2 <= len(q) <= _SUBSEQUENCE_MAX:
            take("subsequence", [r for blob in blobs for r in blob.match(_subsequence(q), want(), seen)])
        if want() > 0:
            take("substring", [r for scan in scans for r in scan.take("substring", want(), seen)])
        if want() > 0 and not latin and len(q) >= 2:
            pattern = f"{_NOT_SEP}*?".join(re.escape(c) for c in q)
            take("characters", [r for blob in blobs for r in blob.match(pattern, want(), seen)])
        if want() > 0 and latin and _looks_like_pinyin(q):
            for word, score in self._corrections(q):
                if want() > 0:
                    # Scaled below every other tier's score, as it ranks below them.
                    take("fuzzy", [r for blob in blobs for r in blob.exact(word, want(), seen)], round(score * 0.7, 1))
        return picked

    def nearest(self, query: str, limit: int = 5, kinds: Collection[str] | None = None) -> list[SearchEntry]:
        """Best guesses for a query that ``search`` found nothing for ("did you mean …"): the entries owning
        the short keys of the query's script most like it by QRatio, however loosely."""
        q = normalize(query)
        if not q or limit <= 0:
            return []
        latin = q.isascii()
        blobs = self._select(latin, kinds)
        out: list[int] = []
        words = self._vocabulary(latin).all
        from rapidfuzz import fuzz, process  # only here and for typos: most lookups never load it

        for word, _, _ in process.extract(q, words, scorer=fuzz.QRatio, score_cutoff=_NEAREST_CUTOFF, limit=limit * 4):
            owners = [r for blob in blobs if (r := blob.first_owner(word)) is not None]
            if owners and min(owners) not in out:
                out.append(min(owners))
            if len(out) >= limit:
                break
        return [self._entry(rank) for rank in out]

    def prepare(self) -> None:
        """Build now what the fuzzy tier and nearest() otherwise build on first use (a worker may call this)."""
        self._vocabulary(True)
        self._vocabulary(False)

    # -- internals --------------------------------------------------------------------------

    def _select(self, latin: bool, kinds: Collection[str] | None) -> list[_Blob[Any]]:
        return [self._blob(key) for key in self._blobs if key[1] == latin and (kinds is None or key[0] in kinds)]

    def _blob(self, key: tuple[str, bool]) -> _Blob[Any]:
        blob = self._blobs[key]
        if blob is None:
            assert self._parts is not None  # only a stored index reads its blobs when first needed
            keys, starts, ranks = self._parts.blob(*key)
            blob = self._blobs[key] = _Blob(ranks, starts, keys, _utf8)
        return blob

    def _entry(self, rank: int) -> SearchEntry:
        if self._parts is not None:
            made = self._made.get(rank)
            if made is None:
                made = self._made[rank] = entry_from_row(self._parts.record(rank))
            return made
        i = self._order[rank]
        if self._entries is not None:
            return self._entries[i]
        made = self._made.get(i)
        if made is None:
            made = self._made[i] = self._make(i)
        return made

    def _make(self, i: int) -> SearchEntry:
        kind, id, name = self._records[i]
        han, latin = self._keys[i]
        return SearchEntry(kind, id, name, tuple(k for k in (han + latin).split(_SEP) if k))

    def _corrections(self, q: str) -> list[tuple[str, float]]:
        """Short Latin keys within typo distance of q, best first. Typos seldom hit the first letter, and
        QRatio ≥ cutoff bounds a key's length, so only keys sharing q's first letter within that window are
        scored."""
        by_start_len = self._vocabulary(True).by_start_len
        c = _FUZZY_CUTOFF / 100
        low, high = max(int(len(q) * c / (2 - c)), 1), min(int(len(q) * (2 - c) / c) + 1, _SHORT_KEY)
        choices = [w for n in range(low, high + 1) for w in by_start_len.get((q[0], n), ())]
        from rapidfuzz import fuzz, process

        found = process.extract(q, choices, scorer=fuzz.QRatio, score_cutoff=_FUZZY_CUTOFF, limit=_FUZZY_KEYS)
        return [(word, score) for word, score, _ in found]

    def _vocabulary(self, latin: bool) -> _Words:
        words = self._words.get(latin)
        if words is None:
            # Built on first use: most queries never need it.
            keys = [key for key in self._blobs if key[1] == latin]
            parts = self._parts
            if parts is not None:
                words = _Words(parts.words(*key) for key in keys)
            else:
                words = _Words(short_keys(str(self._blob(key).text)) for key in keys)
            self._words[latin] = words
        return words


def _subsequence(q: str) -> str:
    """The letters of q in order from a key's start with one run of skipped letters between two of them: the
    rest of a syllable ("sz" in "shenzhen") or one dropped initial ("hbsjz" in "hbssjzs"). Letters skipped at
    several places match nearly any long initials key (hdjl in hnsdsjglj, 海南省大数据管理局), so they do not."""
    gap = f"{_NOT_SEP}{{1,{_SUBSEQUENCE_GAP}}}?"
    head = re.escape(_SEP + q[0])
    ways = ["".join((gap if n == k else "") + re.escape(c) for n, c in enumerate(q[1:], 1)) for k in range(1, len(q))]
    return head + "(?:" + "|".join(ways) + ")"


def _looks_like_pinyin(q: str) -> bool:
    """Worth spell-correcting: letters, long enough, and vowels in most syllables. Initials (gdsz, ahhnjz) are
    not: one wrong letter there is another valid abbreviation."""
    return len(q) >= _FUZZY_MIN_QUERY and q.isalpha() and 4 * sum(q.count(v) for v in "aeiouv") >= len(q)


def _split_keys(keys: Iterable[str]) -> tuple[str, str]:
    """Keys as (Chinese keys, Latin keys), each laid out ``SEP key SEP key …`` or ""."""
    present = [k for k in keys if k]
    return "".join(_SEP + k for k in present if not k.isascii()), "".join(_SEP + k for k in present if k.isascii())


def _split_row_keys(keys: str) -> tuple[str, str]:
    """A stored keys column as (Chinese keys, Latin keys): entry_to_row marks where the Latin keys begin with
    an empty key, so one find splits a row; a column without the mark is split key by key."""
    cut = keys.find(_SEP + _SEP)
    if cut < 0:
        return _split_keys(keys.split(_SEP))
    han, latin = keys[:cut], keys[cut + 1:]
    return (_SEP + han if han else ""), (latin if len(latin) > 1 else "")
