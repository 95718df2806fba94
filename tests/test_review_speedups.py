"""The reviewer session's speed-ups: redo, last year's value, the next unscored leaf, pinyin names, and the
rules a note and an evidence link follow."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from workbench.errors import InvalidScore, NotFound
from workbench.model import Score, TargetKey, TargetKind
from workbench.review import ReviewSession, past_entry_text
from workbench.scoring.evidence import evidence_problem
from workbench.store.db import Store

S03 = TargetKey(TargetKind.SITE, "S03")
S06 = TargetKey(TargetKind.SITE, "S06")


@pytest.fixture
def session(package_path: Path) -> Iterator[ReviewSession]:
    store = Store.open(package_path)
    s = ReviewSession(store)
    yield s
    store.close()


def cell_of(session: ReviewSession, key: TargetKey, code: str) -> Score:
    score = session.cell(key, code)
    assert score is not None, (key, code)
    return score


def reasons(session: ReviewSession) -> list[str]:
    return [r[0] for r in session.store.conn.execute("SELECT reason FROM score_events ORDER BY id")]


def test_redo_makes_an_undone_change_again_and_is_audited(session: ReviewSession) -> None:
    session.enter(S03, "A1.1", "1.5")
    session.annotate(S03, "A1.1", evidence="https://www.hebei.gov.cn/a")
    session.undo()
    session.undo()
    assert cell_of(session, S03, "A1.1").value is None and session.can_redo
    first = session.redo()
    assert first is not None and str(first.after.value) == "1.5" and first.after.evidence == ""
    second = session.redo()
    assert second is not None and second.after.evidence == "https://www.hebei.gov.cn/a"
    assert session.redo() is None
    assert reasons(session) == ["entry", "entry", "undo", "undo", "redo", "redo"]


def test_a_new_change_ends_what_could_be_redone(session: ReviewSession) -> None:
    session.enter(S03, "A1.1", "1.5")
    session.undo()
    session.enter(S03, "A1.2", "1")
    assert not session.can_redo and session.redo() is None
    assert cell_of(session, S03, "A1.1").value is None


def test_last_years_value_is_entered_and_validated_like_a_typed_one(session: ReviewSession) -> None:
    past = session.past(S03)
    assert past is not None and past.values["A1.1"] == Fraction(3, 2)
    change = session.take_past(S03, "A1.1")
    assert str(change.after.value) == "1.5" and change.reason == "entry"


def test_a_past_mean_between_two_steps_is_refused_as_if_typed(session: ReviewSession) -> None:
    leaf = session.tree.get("A1.1")  # step 0.5
    assert past_entry_text(leaf, Fraction(3, 2), 2) == "1.5"
    assert past_entry_text(leaf, Fraction(4, 3), 2) == "1.33"  # as the report shows it ...
    with pytest.raises(InvalidScore, match=r"步长 0\.5"):
        session.enter(S03, "A1.1", past_entry_text(leaf, Fraction(4, 3), 2))  # ... and refused for its step
    assert past_entry_text(leaf, "NA", 2) == "不适用"


def test_no_past_value_is_a_refusal_not_a_zero(package_path: Path) -> None:
    store = Store.open(package_path)
    try:
        store.conn.execute("DELETE FROM consolidated")
        session = ReviewSession(store)
        with pytest.raises(NotFound, match="没有往期结果"):
            session.take_past(S03, "A1.1")
        assert cell_of(session, S03, "A1.1").value is None
    finally:
        store.close()


def test_next_unscored_runs_on_through_the_queue_and_round_again(session: ReviewSession) -> None:
    order = [t.key for t in session.targets]
    leaves = [leaf.code for leaf in session.leaves(S03, session.cells(S03))]
    assert session.next_unscored(order, S03, leaves[0]) == (S03, leaves[1])
    for code in leaves[1:]:
        session.enter(S03, code, "0")
    assert session.next_unscored(order, S03, leaves[-1]) == (S06, leaves[0])  # on to the next target
    assert session.next_unscored([S03], S03, leaves[-1]) == (S03, leaves[0])  # round again to the one skipped
    session.enter(S03, leaves[0], "0")
    assert session.next_unscored([S03], S03, leaves[3]) is None  # every leaf scored


def test_names_sort_by_their_stored_pinyin(session: ReviewSession) -> None:
    keys = session.name_sort_keys()
    assert keys[S03] == "hebeisheng"
    ordered = sorted(session.targets, key=lambda t: keys[t.key])
    assert ordered[0].name == "安徽省合肥市"


@pytest.mark.parametrize("text", ["not a link", "www.gov.cn", "ftp://files.gov.cn/a", "https://", "http://x",
                                  "javascript:alert(1)", "https://www.gov.cn/a 见截图"])
def test_evidence_that_is_not_a_link_is_refused_with_the_reason(session: ReviewSession, text: str) -> None:
    with pytest.raises(InvalidScore, match="不是网址") as refused:
        session.annotate(S03, "A1.1", evidence=text)
    assert "https://" in refused.value.message or "主机名" in refused.value.message
    assert cell_of(session, S03, "A1.1").evidence == ""


@pytest.mark.parametrize("text", ["", "https://www.gov.cn/zhengce/2022-06/01/content_1.htm",
                                  "http://localhost:8080/x https://www.hebei.gov.cn/b", "HTTPS://WWW.GOV.CN",
                                  "https://政府.cn/页面"])
def test_links_and_several_links_are_accepted(text: str) -> None:
    assert evidence_problem(text) == ""


def test_a_note_keeps_its_lines(session: ReviewSession) -> None:
    change = session.annotate(S03, "A1.1", note="第一行  \r\n第二行\n")
    assert change.after.note == "第一行\n第二行"
