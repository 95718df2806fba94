"""Fuzzy search: Chinese, pinyin, initials and codes find the right site, case or indicator first."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest

from scripts.synthetic import synthetic_site_names
from workbench.search.index import KEY_SEPARATOR, SearchIndex, entry_from_row
from workbench.search.keys import build_entry, entry_to_row, pinyin_keys

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "workbench" / "fixtures" / "demo-2022"
QUERIES = Path(__file__).resolve().parent / "data" / "search_queries.csv"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def small() -> SearchIndex:
    """A handful of entries, the most important listed first as a round lists them."""
    return SearchIndex([
        build_entry("site", "S01", "北京市", ("北京",)),
        build_entry("site", "S19", "广东省", ("广东",)),
        build_entry("site", "S64", "广东省深圳市", ("广东",)),
        build_entry("site", "X1", "广东省深圳市南山区人民政府", ("广东",)),
        build_entry("site", "X2", "江苏省苏州市教育局", ("江苏",)),
        build_entry("site", "X3", "河北省石家庄市长安区人民政府", ("河北",)),
        build_entry("site", "S32", "新疆生产建设兵团", ("兵团",)),
        build_entry("case", "C052", "“秒批”无人干预自动审批", ("广东省深圳市政务服务数据管理局",)),
        build_entry("case", "C099", "政民互动平台建设", ("浙江省人民政府",)),
        build_entry("indicator", "C4.3", "互动交流"),
        build_entry("indicator", "C4.4", "政务公开"),
    ])


def names(index: SearchIndex, query: str, kinds: Collection[str] | None = None) -> list[str]:
    return [hit.entry.name for hit in index.search(query, kinds=kinds)]


# --- keys built once, at set-up ---------------------------------------------------------------


def test_importing_search_does_not_load_pypinyin() -> None:
    code = "import workbench.search.index, sys; assert 'pypinyin' not in sys.modules, 'pypinyin was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_a_lookup_from_stored_rows_never_loads_pypinyin() -> None:
    row = entry_to_row(build_entry("site", "S64", "广东省深圳市", ("广东",)))
    code = (
        "import sys; from workbench.search.index import SearchIndex; "
        f"index = SearchIndex.from_rows([{row!r}]); "
        "assert [h.entry.id for h in index.search('gdsz')] == ['S64']; "
        "assert [e.id for e in index.nearest('shanzhan')] == ['S64']; "
        "assert 'pypinyin' not in sys.modules, 'pypinyin was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_pinyin_keys_are_toneless_full_pinyin_and_initials() -> None:
    assert pinyin_keys("广东省深圳市") == ("guangdongshengshenzhenshi", "gdsszs")
    assert pinyin_keys("12345热线") == ("12345rexian", "12345rx")
    assert pinyin_keys("“互联网+监管”") == ("hulianwangjianguan", "hlwjg")


def test_pinyin_of_a_district_is_read_within_its_own_unit() -> None:
    # Read as one phrase, 石家庄市长安区 contains 市长 (mayor) and 长 would come out as zhang.
    full, initials = pinyin_keys("河北省石家庄市长安区")
    assert full == "hebeishengshijiazhuangshichanganqu"
    assert initials == "hbssjzscaq"


@pytest.mark.parametrize(
    ("name", "aliases"),
    [
        ("广东省深圳市", {"广东深圳", "gdsz", "深圳市", "深圳", "shenzhen", "sz"}),
        ("北京市", {"北京", "beijing", "bj"}),
        ("广西壮族自治区", {"广西", "guangxi", "gx"}),
        ("新疆维吾尔自治区乌鲁木齐市", {"新疆乌鲁木齐", "乌鲁木齐", "wulumuqi"}),
        ("河北省石家庄市长安区人民政府", {"河北省石家庄市长安区", "长安区", "长安", "changan", "sjzca"}),
        ("江苏省苏州市教育局", {"苏州市教育局", "苏州教育局", "szjyj"}),
    ],
)
def test_site_keys_include_the_name_without_administrative_suffixes(name: str, aliases: set[str]) -> None:
    entry = build_entry("site", "X", name)
    assert aliases <= set(entry.keys)


def test_keys_hold_name_pinyin_initials_id_and_extras_normalized() -> None:
    entry = build_entry("case", "C052", "“秒批”无人干预自动审批", ("广东省深圳市政务服务数据管理局",))
    assert {"“秒批”无人干预自动审批", "miaopiwurenganyuzidongshenpi", "mpwrgyzdsp", "c052"} <= set(entry.keys)
    assert {"广东省深圳市政务服务数据管理局", "gdsszszwfwsjglj"} <= set(entry.keys)
    assert all(k == k.lower() and k.strip() and KEY_SEPARATOR not in k for k in entry.keys)


def test_indicator_names_get_no_place_name_aliases() -> None:
    # 政务公开专区 ends in 区 but is not a district: no alias 政务公开专.
    assert "政务公开专" not in build_entry("indicator", "X", "政务公开专区").keys


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown search kind"):
        build_entry("reviewer", "R01", "张明远")


def test_entry_survives_its_stored_row() -> None:
    entry = build_entry("site", "S64", "广东省深圳市", ("广东",))
    row = entry_to_row(entry)
    assert set(row) == {"kind", "id", "name", "keys"}
    assert entry_from_row(row) == entry


def test_an_index_from_stored_rows_answers_like_one_from_entries(small: SearchIndex) -> None:
    rows = [entry_to_row(e) for e in small.entries]
    loaded = SearchIndex.from_rows(rows)
    assert loaded.entries == small.entries
    for query in ("gdsz", "shenzhen", "深圳", "互动", "c4.3", "shenzen", "兵团"):
        assert loaded.search(query) == small.search(query)


def test_rows_whose_keys_are_joined_in_any_order_are_still_searchable() -> None:
    # A keys column written without the Chinese-then-Latin mark (by hand, or by another tool).
    row = {"kind": "site", "id": "S64", "name": "广东省深圳市", "keys": "shenzhen\x1f广东省深圳市\x1fgdsz\x1f深圳"}
    index = SearchIndex.from_rows([row])
    for query in ("shenzhen", "gdsz", "深圳", "广东省深圳市"):
        assert [h.entry.id for h in index.search(query)] == ["S64"], query


# --- ranking ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["gdsz", "shenzhen", "深圳", "sz", "Shen Zhen", "ＧＤＳＺ", "s64"])
def test_shenzhen_comes_first(small: SearchIndex, query: str) -> None:
    assert names(small, query)[0] == "广东省深圳市"


@pytest.mark.parametrize("query", ["gdsz", "shenzhen", "深圳"])
def test_the_city_comes_before_its_district_that_matches_as_well(small: SearchIndex, query: str) -> None:
    assert names(small, query)[:2] == ["广东省深圳市", "广东省深圳市南山区人民政府"]


def test_an_exact_alias_beats_a_longer_key_that_merely_starts_with_it(small: SearchIndex) -> None:
    hits = small.search("guangdong")
    assert [h.entry.name for h in hits][:3] == ["广东省", "广东省深圳市", "广东省深圳市南山区人民政府"]
    assert hits[0].how == "exact"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_initials_in_order_find_a_name(small: SearchIndex) -> None:
    hits = small.search("sjca")  # 石家庄长安 typed loosely
    assert hits[0].entry.name == "河北省石家庄市长安区人民政府"
    assert hits[0].how == "subsequence"


def test_chinese_characters_in_order_find_a_name(small: SearchIndex) -> None:
    assert names(small, "石家庄长安区")[0] == "河北省石家庄市长安区人民政府"
    assert names(small, "兵团") == ["新疆生产建设兵团"]


def test_a_chinese_substring_ranks_the_shorter_name_first(small: SearchIndex) -> None:
    assert names(small, "互动") == ["互动交流", "政民互动平台建设"]


@pytest.mark.parametrize("typo", ["shenzen", "shenzhne", "shenzehn"])
def test_a_misspelt_place_name_still_finds_it(small: SearchIndex, typo: str) -> None:
    assert "广东省深圳市" in names(small, typo)[:3]


def test_codes_find_their_indicator(small: SearchIndex) -> None:
    assert names(small, "C4.3")[0] == "互动交流"
    assert names(small, "hdjl") == ["互动交流"]


def test_kinds_filter_keeps_only_those_kinds(small: SearchIndex) -> None:
    assert names(small, "互动", kinds=["indicator"]) == ["互动交流"]
    assert names(small, "互动", kinds=["case"]) == ["政民互动平台建设"]
    assert {h.entry.kind for h in small.search("sz", kinds=("site", "case"))} == {"site", "case"}
    assert small.search("互动", kinds=["reviewer"]) == []


def test_limit_caps_the_results(small: SearchIndex) -> None:
    assert len(small.search("s", limit=3)) == 3
    assert small.search("s", limit=0) == []


@pytest.mark.parametrize("query", ["", "   ", "\u3000", "!!!", "\x1f", "qqqqqq", "乙乙乙"])
def test_empty_or_garbage_queries_find_nothing(small: SearchIndex, query: str) -> None:
    assert small.search(query) == []


def test_nearest_suggests_names_for_a_query_that_found_nothing(small: SearchIndex) -> None:
    assert small.search("shanzhan") == []
    assert small.nearest("shanzhan", limit=3)[0].name == "广东省深圳市"
    assert small.search("深川") == []
    assert "广东省深圳市" in [e.name for e in small.nearest("深川")]


def test_nearest_respects_kinds_and_offers_nothing_for_nothing(small: SearchIndex) -> None:
    assert all(e.kind == "indicator" for e in small.nearest("hudongjiaoluu", kinds=["indicator"]))
    assert small.nearest("hudongjiaoluu", kinds=["indicator"])[0].name == "互动交流"
    assert small.nearest("") == []
    assert small.nearest("!!!") == []


def test_an_empty_index_answers_nothing() -> None:
    index = SearchIndex([])
    assert len(index) == 0
    assert index.search("深圳") == []
    assert index.nearest("shenzhen") == []


# --- the demo round -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> SearchIndex:
    """The demo round's entries, built as the round's set-up builds them."""
    entries = [build_entry("site", r["编号"], r["名称"], (r["地区"],)) for r in read_csv(DEMO / "sites.csv")]
    entries += [build_entry("case", r["编号"], r["标题"], (r["申报单位"],)) for r in read_csv(DEMO / "cases.csv")]
    entries += [build_entry("indicator", r["代码"], r["名称"]) for r in read_csv(DEMO / "indicators.csv")]
    return SearchIndex.from_rows([entry_to_row(e) for e in entries])


@pytest.mark.parametrize("row", read_csv(QUERIES), ids=lambda row: row["query"])
def test_demo_queries_find_their_expected_result(demo: SearchIndex, row: dict[str, str]) -> None:
    hits = demo.search(row["query"], limit=10)
    found = [h.entry for h in hits]
    wanted = [
        n for n, e in enumerate(found, 1)
        if e.kind == row["expected_kind"] and row["expected_id_or_name"] in (e.id, e.name)
    ]
    assert wanted, f"{row['expected_id_or_name']} not found; got {[e.name for e in found]}"
    assert wanted[0] <= int(row["max_rank"]), f"rank {wanted[0]}; got {[e.name for e in found]}"


# --- synthetic names for large rounds -----------------------------------------------------------


def test_synthetic_names_are_unique_repeatable_and_carry_their_province() -> None:
    names = synthetic_site_names(2000, seed=3)
    assert names == synthetic_site_names(2000, seed=3)
    assert names != synthetic_site_names(2000, seed=4)
    assert len({name for name, _ in names}) == 2000
    assert all(name.startswith(region) for name, region in names)
    assert any(name.endswith("人民政府") for name, _ in names)
    assert any(name.endswith("局") for name, _ in names)


def test_synthetic_names_refuse_impossible_counts() -> None:
    assert synthetic_site_names(0) == []
    with pytest.raises(ValueError):
        synthetic_site_names(-1)
    with pytest.raises(ValueError, match="unique"):
        synthetic_site_names(100_000_000)


def test_synthetic_names_search_like_real_ones() -> None:
    generated = enumerate(synthetic_site_names(300))
    synthetic = [build_entry("site", f"X{n}", name, (region,)) for n, (name, region) in generated]
    index = SearchIndex([build_entry("site", "S64", "广东省深圳市", ("广东",)), *synthetic])
    assert index.search("gdsz")[0].entry.id == "S64"
    some = synthetic[123]
    assert index.search(some.name)[0].entry == some


def test_initials_skipping_letters_in_several_places_are_no_match() -> None:
    """hdjl is 互动交流's initials; 海南省大数据管理局 (hnsdsjglj) holds h…d…j…l only by skipping letters at three
    places, which matched nearly any long name."""
    index = SearchIndex([
        build_entry("case", "C059", "“海易办”政务服务平台", ("海南省大数据管理局",)),
        build_entry("indicator", "C4.3", "互动交流"),
        build_entry("site", "S64", "广东省深圳市", ("广东",)),
        build_entry("site", "S33", "河北省石家庄市", ("河北",)),
    ])
    assert names(index, "hdjl") == ["互动交流"]
    assert names(index, "hsdgl") == []  # 海南省大数据管理局's initials with letters skipped at two places
    assert names(index, "hnsdgl")[0] == "“海易办”政务服务平台"  # one run skipped (sj): still found
    assert "广东省深圳市" in names(index, "sz")  # the rest of a syllable: one run of skipped letters
    assert names(index, "hbsjz")[0] == "河北省石家庄市"  # one dropped initial (省)
