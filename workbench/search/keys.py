"""Build time of the search index: each entry's keys (name, full pinyin, initials, aliases), with pypinyin.

Run when a round or a package is built and stored in `search_keys`; never on the lookup path, since
importing pypinyin alone loads a large dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pypinyin import lazy_pinyin

from workbench.search.index import KEY_SEPARATOR, KINDS, SearchEntry, normalize

# Leading administrative units: a core of 2–10 characters and its suffix (longest suffixes first).
_ADMIN_UNIT = re.compile(
    r"(.{2,10}?)(特别行政区|维吾尔自治区|自治区|自治州|自治县|自治旗|地区|林区|新区|省|市|区|县|盟|旗)"
)
_GOVERNMENT_SUFFIXES = ("门户网站", "政府网站", "网站", "人民政府", "政府")
# Peeled off an autonomous unit's core: 广西壮族 → 广西, 恩施土家族苗族 → 恩施.
_ETHNIC = (
    "壮族", "回族", "蒙古族", "藏族", "苗族", "彝族", "土家族", "侗族", "布依族", "瑶族", "白族", "哈尼族",
    "傣族", "黎族", "傈僳族", "佤族", "拉祜族", "纳西族", "景颇族", "羌族", "朝鲜族", "哈萨克族", "柯尔克孜族",
    "土族", "撒拉族", "仫佬族", "毛南族", "仡佬族", "水族", "畲族", "满族", "锡伯族", "达斡尔族", "鄂温克族",
    "鄂伦春族", "裕固族", "保安族", "东乡族", "普米族", "怒族", "独龙族", "各族", "维吾尔",
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")



def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin without tones or spaces, initials), lowercase: 广东省深圳市 → (guangdongshengshenzhenshi, gdsszs).

    Characters that are not Chinese are kept whole in both; punctuation is dropped.
    """
    syllables = _syllables(text)
    return _join_pinyin(syllables, range(len(text)))


def build_entry(kind: str, id: str, name: str, extra: Iterable[str] = ()) -> SearchEntry:
    """Compute an entry's keys: name, pinyin, initials, id, and for sites and cases the name without
    its administrative suffixes (广东省深圳市 → 广东深圳, 深圳市, 深圳) with their pinyin and initials.

    ``extra`` strings (a region, a submitting government) are searchable too, with their pinyin.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown search kind {kind!r}; expected one of {', '.join(KINDS)}")
    keys: list[str] = []
    syllables = _syllables(name)

    def add(spans: list[tuple[int, int]]) -> None:
        positions = [i for a, b in spans for i in range(a, b)]
        keys.append(normalize("".join(name[i] for i in positions)))
        keys.extend(_join_pinyin(syllables, positions))

    add([(0, len(name))])
    keys.append(normalize(id))
    if kind != "indicator":
        for spans in _alias_spans(name):
            add(spans)
    for text in extra:
        if text:
            keys.append(normalize(text))
            keys.extend(_join_pinyin(_syllables(text), range(len(text))))
    distinct = [k for k in dict.fromkeys(keys) if k]
    han, latin = [k for k in distinct if not k.isascii()], [k for k in distinct if k.isascii()]
    return SearchEntry(kind, id, name, tuple(han + latin))


def entry_to_row(entry: SearchEntry) -> dict[str, str]:
    """The ``search_keys`` row of an entry: its keys joined by the unit separator in one column, Chinese keys
    first, then an empty key, then the Latin ones (so that loading splits a row by script in one find)."""
    han = [k for k in entry.keys if not k.isascii()]
    latin = [k for k in entry.keys if k.isascii()]
    keys = KEY_SEPARATOR.join([*han, "", *latin])
    return {"kind": entry.kind, "id": entry.id, "name": entry.name, "keys": keys}


def _admin_units(name: str) -> tuple[list[tuple[int, int, int]], int, int]:
    """Leading administrative units as (start, core end, end); then the rest's span, without a government suffix.

    河北省石家庄市长安区人民政府 → units 河北|省, 石家庄|市, 长安|区; rest 人民政府 is dropped.
    """
    end = len(name)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _GOVERNMENT_SUFFIXES:
            if end - len(suffix) >= 2 and name.endswith(suffix, 0, end):
                end -= len(suffix)
                stripped = True
    units: list[tuple[int, int, int]] = []
    pos = 0
    while len(units) < 4:
        m = _ADMIN_UNIT.match(name, pos, end)
        if m is None:
            break
        core_end = m.end(1)
        if m.group(2).startswith("自治"):
            core_end = _peel_ethnic(name, m.start(1), core_end)
        units.append((pos, core_end, m.end()))
        pos = m.end()
    return units, pos, end


def _peel_ethnic(name: str, start: int, end: int) -> int:
    peeled = True
    while peeled:
        peeled = False
        for ethnic in _ETHNIC:
            if end - len(ethnic) - start >= 2 and name.endswith(ethnic, start, end):
                end -= len(ethnic)
                peeled = True
    return end


def _alias_spans(name: str) -> Iterator[list[tuple[int, int]]]:
    """Spans of the aliases: the name without a government suffix, the cores of its units, and each tail."""
    units, rest, end = _admin_units(name)
    if end < len(name):
        yield [(0, end)]
    if not units:
        return
    remainder = [(rest, end)] if rest < end else []
    yield [(a, core) for a, core, _ in units] + remainder
    for i in range(1, len(units)):
        yield [(units[i][0], end)]
        yield [(a, core) for a, core, _ in units[i:]] + remainder


def _syllables(text: str) -> list[tuple[str, str]]:
    """(pinyin, initial) per character; a character that is not Chinese stands for itself in both.

    Each administrative unit is converted on its own so that phrases do not straddle units
    (石家庄市|长安区 must not read 市长 as shi zhang).
    """
    out = [(c, c) for c in text]
    units, rest, _ = _admin_units(text)
    for a, b in [(a, b) for a, _, b in units] + [(rest, len(text))]:
        for m in _HAN.finditer(text, a, b):
            run = m.group()
            readings = lazy_pinyin(run)
            if len(readings) != len(run):  # a character without a reading came back merged
                readings = [lazy_pinyin(c)[0] for c in run]
            out[m.start():m.end()] = [(r, r[:1]) for r in readings]
    return out


def _join_pinyin(syllables: list[tuple[str, str]], positions: Iterable[int]) -> tuple[str, str]:
    chosen = [syllables[i] for i in positions]
    return _letters(s for s, _ in chosen), _letters(i for _, i in chosen)


def _letters(parts: Iterable[str]) -> str:
    return "".join(c for c in normalize("".join(parts)) if c.isalnum())
