"""One fuzzy index over sites, cases and indicators: Chinese names, pinyin, initials and codes.

Pinyin keys are computed once at build time (keys.py, which imports pypinyin) and stored; a lookup only
loads them (``SearchIndex.from_rows``) and searches with C-level string scans and rapidfuzz, so nothing
on the lookup path loads pypinyin's dictionary.

Ranking narrows by tier before it scores, because a scorer alone prefers unrelated long strings:
exact key > key prefix > letters in order from a key's start (initials, a dropped letter) > substring >
Chinese characters in order > fuzzy (rapidfuzz over short keys). Within a tier the shorter name wins,
then the earlier entry, so callers list their most important entries first.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

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


@dataclass(frozen=True)
class SearchEntry:
    """One searchable thing; ``keys`` are the normalized strings a query is matched against."""

    kind: str  # site | case | indicator
    id: str
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class SearchHit:
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



class _Blob:
    """The keys of one script (Chinese or Latin) of one kind's entries, best-ranked entry first, laid out in
    one string ``SEP key SEP key … SEP``, so that a C-level ``str.find`` or regex does the scanning.

    ``starts[i]`` is where entry i's keys begin; a match maps back to its entry by bisection.
    """

    __slots__ = ("ranks", "starts", "text")

    def __init__(self, ranks: list[int], chunks: list[str]) -> None:
        self.ranks = ranks
        starts: list[int] = []
        pos = 0
        for chunk in chunks:
            starts.append(pos)
            pos += len(chunk)
        self.starts = starts
        self.text = "".join(chunks) + _SEP

    def owner(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def end(self, i: int) -> int:
        """Position of the separator closing entry i's last key."""
        return self.starts[i + 1] if i + 1 < len(self.starts) else len(self.text) - 1

    def tier(self, i: int, q: str) -> str:
        """How well entry i's best key matches q (q occurs in it)."""
        start, end = self.starts[i], self.end(i)
        if self.text.find(_SEP + q + _SEP, start, end + 1) >= 0:
            return "exact"
        return "prefix" if self.text.find(_SEP + q, start, end) >= 0 else "substring"

    def match(self, pattern: re.Pattern[str], want: int, skip: Collection[int]) -> list[int]:
        """Ranks of the first ``want`` entries (not in ``skip``) with a key matching ``pattern``."""
        out: list[int] = []
        pos = 0
        while len(out) < want:
            m = pattern.search(self.text, pos)
            if m is None:
                break
            i = self.owner(m.start())
            if self.ranks[i] not in skip:
                out.append(self.ranks[i])
            pos = self.end(i)
        return out

    def exact(self, key: str, want: int, skip: Collection[int]) -> list[int]:
        """Ranks of the first ``want`` entries (not in ``skip``) having ``key`` exactly."""
        out: list[int] = []
        pos = 0
        while len(out) < want:
            pos = self.text.find(_SEP + key + _SEP, pos)
            if pos < 0:
                break
            i = self.owner(pos)
            if self.ranks[i] not in skip:
                out.append(self.ranks[i])
            pos = self.end(i)
        return out

    def first_owner(self, key: str) -> int | None:
        pos = self.text.find(_SEP + key + _SEP)
        return None if pos < 0 else self.ranks[self.owner(pos)]


class _Scan:
    """One query's exact, prefix and substring matches in one blob, by tier.

    A first pass over the substring matches classifies up to _FIRST_PASS entries, which settles every tier
    of a rare query in one scan. A common query stops early and continues per tier on demand, where each
    continuation stops as soon as it has what was asked for.
    """

    __slots__ = ("blob", "found", "q", "stop")

    def __init__(self, blob: _Blob, q: str) -> None:
        self.blob, self.q = blob, q
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
        blob, q = self.blob, self.q
        needle = {"exact": _SEP + q + _SEP, "prefix": _SEP + q, "substring": q}[how]
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


class _Words:
    """Distinct short keys of one script, in order of first appearance (best-ranked entries first), for typo
    correction and nearest(); Latin letter-only ones also by (first letter, length)."""

    __slots__ = ("all", "by_start_len", "known")

    def __init__(self, texts: Iterable[str]) -> None:
        pattern = re.compile(f"{_SEP}({_NOT_SEP}{{1,{_SHORT_KEY}}})(?={_SEP})")
        found: dict[str, None] = {}
        for text in texts:
            found.update(dict.fromkeys(pattern.findall(text)))
        self.known = found.keys()
        self.all = list(found)
        self.by_start_len: dict[tuple[str, int], list[str]] = {}
        for word in self.all:
            if word.isascii() and word.isalpha():
                self.by_start_len.setdefault((word[0], len(word)), []).append(word)


class SearchIndex:
    """Answers queries as you type. Build it once per database (``from_rows`` over the stored keys), then
    ``search`` per keystroke; ``nearest`` suggests names when a search found nothing."""

    def __init__(self, entries: Sequence[SearchEntry]) -> None:
        self._entries: tuple[SearchEntry, ...] | None = tuple(entries)
        self._setup([(e.kind, e.id, e.name) for e in self._entries], [_split_keys(e.keys) for e in self._entries])

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> SearchIndex:
        """An index over ``search_keys`` rows (kind, id, name, keys as ``entry_to_row`` wrote them) that never
        splits the keys: the fast way to load a large database, since entries are only made for the hits."""
        index = cls.__new__(cls)
        index._entries = None
        records, keys = [], []
        for row in rows:
            records.append((row["kind"], row["id"], row["name"]))
            keys.append(_split_row_keys(row["keys"]))
        index._setup(records, keys)
        return index

    def _setup(self, records: list[tuple[str, str, str]], keys: list[tuple[str, str]]) -> None:
        """Rank entries (shorter name first, then the order given) and lay out each kind's keys by script."""
        self._records = records
        self._keys = keys
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
        self._blobs = {key: _Blob(ranks, texts) for key, (ranks, texts) in chunks.items()}
        self._words: dict[bool, _Words] = {}

    @property
    def entries(self) -> tuple[SearchEntry, ...]:
        """Every entry, in the order given."""
        if self._entries is None:
            self._entries = tuple(self._make(i) for i in range(len(self._records)))
        return self._entries

    def __len__(self) -> int:
        return len(self._records)

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
            gap = f"{_NOT_SEP}{{0,{_SUBSEQUENCE_GAP}}}?"
            pattern = re.compile(re.escape(_SEP + q[0]) + "".join(gap + re.escape(c) for c in q[1:]))
            take("subsequence", [r for blob in blobs for r in blob.match(pattern, want(), seen)])
        if want() > 0:
            take("substring", [r for scan in scans for r in scan.take("substring", want(), seen)])
        if want() > 0 and not latin and len(q) >= 2:
            pattern = re.compile(f"{_NOT_SEP}*?".join(re.escape(c) for c in q))
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

    def _select(self, latin: bool, kinds: Collection[str] | None) -> list[_Blob]:
        return [b for (kind, script), b in self._blobs.items() if script == latin and (kinds is None or kind in kinds)]

    def _entry(self, rank: int) -> SearchEntry:
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
        found = process.extract(q, choices, scorer=fuzz.QRatio, score_cutoff=_FUZZY_CUTOFF, limit=_FUZZY_KEYS)
        return [(word, score) for word, score, _ in found]

    def _vocabulary(self, latin: bool) -> _Words:
        words = self._words.get(latin)
        if words is None:
            # Built on first use: most queries never need it.
            words = self._words[latin] = _Words(b.text for (_, script), b in self._blobs.items() if script == latin)
        return words


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
