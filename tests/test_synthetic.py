"""The synthetic benchmark round generator: a small round is a valid, deterministic workbench round."""

from __future__ import annotations

import itertools
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pytest
from benchmarks.synthetic import SMALL, ensure_round, make_round
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.model import NA
from workbench.scoring.indicators import IndicatorTree, format_value, parse_value
from workbench.store.db import Store, decode_value, encode_value
from workbench.store.schema import KIND_ROUND


@pytest.fixture(scope="module")
def small_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_round(tmp_path_factory.mktemp("synthetic") / "small.db", SMALL)


@pytest.fixture
def store(small_round: Path) -> Iterator[Store]:
    s = Store.open(small_round, expect=KIND_ROUND)
    yield s
    s.close()


def test_small_round_has_the_requested_shape(store: Store) -> None:
    tree = IndicatorTree(store.indicators())
    assert len(tree.leaves()) == SMALL.leaves
    assert len(store.sites()) == SMALL.sites
    assert len(store.cases()) == SMALL.cases
    assert len(store.reviewers()) == SMALL.reviewers
    assert len(store.past_round_ids()) == SMALL.past_rounds
    for kind in ("site", "case"):
        assert sum(leaf.max_score for leaf in tree.leaves(kind)) == 100


def test_ids_and_names_are_unique(store: Store) -> None:
    for table, column in (("sites", "id"), ("sites", "name"), ("cases", "id"), ("cases", "title"),
                          ("reviewers", "id"), ("indicators", "code"), ("indicators", "name")):
        values = [r[0] for r in store.conn.execute(f"SELECT {column} FROM {table}")]
        assert len(values) == len(set(values)), f"{table}.{column} repeats"


def test_every_target_has_three_distinct_reviewers_without_conflicts(store: Store) -> None:
    reviewers = {r.id: r for r in store.reviewers()}
    targets = {("site", s.id): s.region for s in store.sites()} | {("case", c.id): c.region for c in store.cases()}
    by_target: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in store.assignments():
        by_target[(a.target_kind.value, a.target_id)].append(a.reviewer_id)
    assert set(by_target) == set(targets)
    for target, ids in by_target.items():
        assert len(set(ids)) == SMALL.reviews == len(ids), target
        assert all(reviewers[r].region != targets[target] for r in ids), f"conflict of interest on {target}"
    loads: dict[str, int] = defaultdict(int)
    for ids in by_target.values():
        for r in ids:
            loads[r] += 1
    assert max(loads.values()) - min(loads.values()) <= 1, "assignments are not balanced"


def test_every_stored_value_is_valid_for_its_indicator(store: Store) -> None:
    tree = IndicatorTree(store.indicators())
    rows = store.conn.execute(
        "SELECT indicator, target_kind, value, 'score' FROM scores WHERE value IS NOT NULL "
        "UNION ALL SELECT indicator, target_kind, value, method FROM consolidated WHERE value IS NOT NULL"
    ).fetchall()
    assert {r[3] for r in rows} >= {"score", "imported", "trimmed-mean"}
    for indicator, kind, text, source in rows:
        leaf = tree.get(indicator)
        assert tree.is_leaf(indicator) and leaf.applies(kind), (indicator, kind)
        value = decode_value(text)
        if source in ("score", "imported"):
            # Exactly what the store writes when a reviewer types the value, and it reads back the same.
            assert encode_value(parse_value(leaf, text)) == text, (source, indicator, text)
            assert parse_value(leaf, format_value(leaf, value)) == value, (source, indicator, text)
        elif value == NA:
            assert leaf.allow_na and source == "majority", (source, indicator)
        else:  # the merge's consolidated value: a (trimmed) mean to two places
            assert isinstance(value, Decimal) and 0 <= value <= leaf.max_score, (source, indicator, text)
            assert value == value.quantize(Decimal("0.01")) and source in ("trimmed-mean", "mean"), (source, text)


def test_every_assigned_pair_has_a_score_row(store: Store) -> None:
    tree = IndicatorTree(store.indicators())
    expected = sum(len(tree.leaves(a.target_kind)) for a in store.assignments())
    assert store.conn.execute("SELECT count(*) FROM scores").fetchone()[0] == expected
    unscored = store.conn.execute("SELECT count(*) FROM scores WHERE value IS NULL").fetchone()[0]
    assert 0 < unscored < expected / 10


def test_workbench_scores_finds_a_generated_site(small_round: Path, store: Store) -> None:
    site = next(s for s in store.sites() if s.id > "S00064")  # after the 64 real units: a generated name
    result = CliRunner().invoke(cli, ["scores", str(small_round), site.name, "--indicator", "互动交流"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{site.name}（{site.id}）"
    assert all("互动交流" in line for line in lines[3:])
    years = {line.split()[0] for line in lines[3:]}
    assert years == {"2022", *store.past_round_ids()}


def test_the_same_seed_gives_the_same_round(small_round: Path, tmp_path: Path) -> None:
    again = make_round(tmp_path / "again.db", **asdict(SMALL))

    def dump(path: Path) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(path)
        rows = [row for table in ("indicators", "rules", "sites", "cases", "reviewers", "assignments", "scores",
                                  "consolidated", "search_keys")
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]
        conn.close()
        return rows

    assert dump(again) == dump(small_round)


def test_report_disputes_stand_beside_their_cells(small_round: Path, tmp_path: Path) -> None:
    """争议复核 streams its rows beside dispute_items' cells: on a round with disputes on sites and cases and
    on many indicators, every row carries its own cell's values, consensus and status, as `disputes --list`
    shows them; and the rows are what the round stores, sites first, each cell's reviewers in id order."""
    import openpyxl

    from workbench.consolidation.disputes import list_disputes
    from workbench.consolidation.report import write_report
    from workbench.consolidation.stored import recompute_consolidated

    db = tmp_path / "round.db"
    with sqlite3.connect(small_round) as source, sqlite3.connect(db) as copy:
        source.backup(copy)
    s = Store.open(db, expect=KIND_ROUND)
    recompute_consolidated(s)
    s.conn.commit()
    stored = s.conn.execute("SELECT count(*) FROM disputes WHERE reason != 'missing'").fetchone()[0]
    sent = sorted(tuple(r) for r in s.conn.execute(
        "SELECT target_id, indicator, reviewer_id FROM disputes WHERE reason != 'missing'"))
    s.close()
    items = {(i.target_id, i.indicator): i for i in list_disputes(db, every=True)}
    assert len({i.target_kind for i in items.values()}) == 2 and len({code for _, code in items}) >= 3
    write_report(db, tmp_path / "r.xlsx", allow_incomplete=True)
    rows = list(openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["争议复核"].iter_rows(values_only=True))
    assert len(rows) - 1 == stored
    shown = [(str(row[2]), str(row[4]), str(row[0])) for row in rows[1:]]
    assert sorted(shown) == sent  # every stored (cell, reviewer) once
    for (*cell, person), (*next_cell, next_person) in itertools.pairwise(shown):
        assert cell != next_cell or person < next_person
    labels = [row[1] for row in rows[1:]]
    assert labels == sorted(labels, key=lambda label: label != "网站")
    for reviewer, _, target_id, _, code, _, _, values, consensus, _, status, *_ in rows[1:]:
        item = items[(str(target_id), str(code))]
        assert reviewer in item.recipients
        assert values == "; ".join(f"{r}={v}" for r, v in item.values)
        assert (consensus, status) == (item.consensus, {"open": "待复核"}[item.status])
