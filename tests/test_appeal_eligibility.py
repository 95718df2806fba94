"""Property: whatever the round, an appeal goes only to reviewers who neither were assigned the target nor scored
it, nor share its 地区 or 单位, nor declared a conflict with it — and when too few remain, nothing is issued."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st
from support import write_csv

from workbench.consolidation.appeal_packages import plan_appeals
from workbench.consolidation.appeals import AppealRefused, appeal_states, ensure_appeal_tables
from workbench.setup.round import SetupFiles, init_round
from workbench.store.db import Store, transaction
from workbench.store.schema import KIND_ROUND

REGIONS = ("广东", "北京", "上海", "浙江")
ORGS = ("", "广东省深圳市", "北京市", "某大学")
SITES = (("S1", "广东省深圳市", "广东"), ("S2", "北京市", "北京"), ("S3", "上海市", "上海"))
INDICATORS = ("代码,上级,名称,类型,分值,步长,适用\nA,,基础,,,,\nA1,A,信息发布,评分,10,1,网站\n"
              "A2,A,互动交流,评分,10,1,网站\n")

class World(NamedTuple):
    reviewers: list[tuple[str, str]]
    """(地区, 单位) of R0, R1 …"""
    assigned: list[tuple[int, int]]
    declared: list[tuple[int, int, bool]]
    """(reviewer, site, by the site's 单位 rather than the site itself)"""
    appeals: list[tuple[int, str]]
    per_item: int


world = st.builds(
    World,
    reviewers=st.lists(st.tuples(st.sampled_from(REGIONS), st.sampled_from(ORGS)), min_size=3, max_size=9),
    assigned=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2)), max_size=12),
    declared=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2), st.booleans()), max_size=6),
    appeals=st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["", "A1", "A2"])), min_size=1, max_size=4),
    per_item=st.integers(1, 3),
)


def _build(base: Path, w: World) -> Path:
    people = w.reviewers
    n = len(people)
    assigned = {(r % n, s) for r, s in w.assigned}
    conflicts = []
    for r, s, by_org in w.declared:
        site = SITES[s]
        conflicts.append(f"R{r % n},,,{site[1]},亲属\n" if by_org else f"R{r % n},网站,{site[0]},,顾问\n")
    # a declared conflict is checked against the assignments at set-up: keep only the assignments it allows
    barred = {(r % n, s) for r, s, _ in w.declared}
    allowed = sorted((r, s) for r, s in assigned if (r, s) not in barred
                     and people[r][0] != SITES[s][2] and people[r][1] != SITES[s][1])
    files = SetupFiles(
        indicators=write_csv(base / "indicators.csv", INDICATORS),
        sites=write_csv(base / "sites.csv", "编号,名称,地区\n" + "".join(f"{i},{name},{region}\n"
                                                                    for i, name, region in SITES)),
        cases=write_csv(base / "cases.csv", "编号,标题\n"),
        reviewers=write_csv(base / "reviewers.csv", "编号,姓名,单位,地区\n" + "".join(
            f"R{i},专家{i},{org},{region}\n" for i, (region, org) in enumerate(people))),
        assignments=write_csv(base / "assignments.csv", "评审专家,对象类型,对象编号\n" + "".join(
            f"R{r},网站,{SITES[s][0]}\n" for r, s in allowed)),
        conflicts=write_csv(base / "conflicts.csv", "评审专家,对象类型,对象编号,单位,原因\n"
                            + "".join(dict.fromkeys(conflicts))),
    )
    db = base / "round.db"
    init_round(db, "2022", files)
    store = Store.open(db, expect=KIND_ROUND)
    try:
        with transaction(store.conn):
            ensure_appeal_tables(store.conn)
            # a reviewer who scored a site without being assigned it (an earlier appeal's re-review) is a holder too
            store.conn.executemany(
                "INSERT INTO scores (round, reviewer_id, target_kind, target_id, indicator, value) "
                "VALUES ('2022', ?, 'site', ?, 'A1', '5')", [(f"R{r}", SITES[s][0]) for r, s in allowed])
            store.conn.executemany(
                "INSERT INTO appeals (round, appeal_id, target_kind, target_id, indicator, appellant, reason, "
                "evidence, submitted_on, imported_at, publication, source) VALUES ('2022', ?, 'site', ?, ?, '某单位', "
                "'理由', '', '2023-01-05', '', '', '')",
                [(f"P{k}", SITES[s][0], code) for k, (s, code) in enumerate(w.appeals)])
    finally:
        store.close()
    return db


@settings(max_examples=40, deadline=None)
@given(w=world)
def test_no_original_and_no_conflicted_reviewer_is_chosen(w: World) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        db = _build(Path(scratch), w)
        store = Store.open(db, expect=KIND_ROUND)
        try:
            people = {r.id: r for r in store.reviewers()}
            assigned = {(a.reviewer_id, a.target_id) for a in store.assignments()}
            declared = {(r[0], r[1] or "", r[2] or "") for r in store.conn.execute(
                "SELECT reviewer_id, target_id, org FROM declared_conflicts")}
            sites = {i: (name, region) for i, name, region in SITES}
            try:
                plan = plan_appeals(store, appeal_states(store), w.per_item)
            except AppealRefused as refused:
                assert "需要" in str(refused) and "位可选" in str(refused)
                return
            for state in appeal_states(store):
                picked = plan.chosen[state.appeal.appeal_id]
                assert len(picked) == len(set(picked)) == w.per_item
                name, region = sites[state.appeal.target_id]
                for rid in picked:
                    who = people[rid]
                    assert (rid, state.appeal.target_id) not in assigned  # not an original reviewer
                    assert who.region != region and (not who.org or who.org != name)
                    assert (rid, state.appeal.target_id, "") not in declared and (rid, "", name) not in declared
        finally:
            store.close()
