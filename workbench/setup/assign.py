"""Pick the reviewers of a round automatically: exact counts, 回避 kept, loads balanced, the reviewer graph linked.

The solver is OR-Tools' min-cost flow, on a network of *classes* of targets: targets of one kind that the same
reviewers may review, with the same preference costs, are interchangeable, so each class is one node (supply
k × its targets) with an arc to every eligible reviewer of capacity = its number of targets (one review a
target). A class's flows are then dealt out to its targets wrap-around (McNaughton's rule): reviewer r's
f(r) ≤ n reviews take consecutive places of a k × n sequence, place p goes to target p mod n, so every target
gets exactly k distinct reviewers. This is exact: no feasible assignment is ever missed.

Costs, in strict priority: the load of each reviewer in each target kind is balanced first (the j-th review of
a kind costs j·B, a convex cost, so the solver minimises the sum of squared loads; B exceeds every cycle's
preference cost, so nothing else can trade against balance). Where loads with max − min ≤ 1 exist, the most
balanced vector has them (load vectors of such networks form an M-convex set, whose least-squares element is
least majorised: it minimises the largest load and maximises the smallest at once). Next, a case costs less
with a reviewer whose 专长 names its 领域; last, a small seeded random cost varies the assignment by --seed.

A reviewer's 容量 caps their total load. When no assignment exists, the minimum cut of a max-flow on the same
network says which targets cannot be served and by how much. Connectivity is checked afterwards and repaired by
swaps (see `link_reviewers`).
"""

from __future__ import annotations

import math
import os
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import WorkbenchError
from workbench.model import TARGET_LABELS, TargetKind
from workbench.setup.conflicts import ConflictIndex
from workbench.setup.round import AssignSetup, read_assign_setup
from workbench.setup.tables import id_key

KINDS = (TargetKind.SITE, TargetKind.CASE)
EXPERTISE_PENALTY = 100
"""What a case review by a reviewer whose 专长 does not name the case's 领域 costs, against 0."""
JITTER = 16
"""Seeded random costs are drawn from [0, JITTER): below the expertise penalty, so they only break ties."""
_EXPERTISE_SPLIT = re.compile(r"[、，,；;/／|｜\s]+")


class AssignmentInfeasible(WorkbenchError):
    """No assignment satisfies the rules; the message says which targets cannot be served and why."""

    code = "ASSIGNMENT_INFEASIBLE"


class ReviewersNotLinked(WorkbenchError):
    """The reviewer graph stays split: no swap that keeps every other rule can join its parts."""

    code = "REVIEWERS_NOT_LINKED"


@dataclass(frozen=True)
class Reviewer:
    id: str
    name: str
    org: str
    region: str
    capacity: int | None
    expertise: frozenset[str]
    """The 领域 this reviewer knows, as id keys."""


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    id: str
    name: str
    region: str
    org: str
    """A site's name, a case's 申报单位: the unit a reviewer of the same 单位 must not review."""
    area: str


@dataclass(frozen=True)
class KindLoad:
    """How the reviews of one target kind spread over the reviewers."""

    kind: TargetKind
    targets: int
    low: int
    high: int
    balanced: bool
    """max − min ≤ 1 over the reviewers whose 容量 does not hold them back."""
    reason: str = ""
    """Why not, when not balanced: from the minimum cut at a balanced load, or the reviewers with too few
    eligible targets."""


@dataclass(frozen=True)
class AssignmentPlan:
    per_target: int
    seed: int
    reviewers: tuple[Reviewer, ...]
    targets: tuple[Target, ...]
    chosen: tuple[tuple[int, ...], ...]
    """Per target (index into targets), the indices of its reviewers."""
    loads: tuple[KindLoad, ...]
    components: int
    """Parts of the reviewer graph (1 = connected) over the reviewers with at least one target."""
    swaps: int
    """Swaps the connectivity repair made."""
    unused: tuple[str, ...]
    """Reviewers given no target at all."""
    case_reviews: int
    expertise_matches: int
    """Case reviews by a reviewer whose 专长 names the case's 领域."""
    declared: int
    link_problem: str = ""
    """Why the graph could not be linked (only when allowed to stay split)."""

    def rows(self) -> Iterator[tuple[Reviewer, Target]]:
        """Every (reviewer, target) pair: sites then cases, in file order, reviewers in file order."""
        for t, picked in enumerate(self.chosen):
            for r in sorted(picked):
                yield self.reviewers[r], self.targets[t]


# ---------------------------------------------------------------------------------------------
# the set-up as arrays


def _reviewers(setup: AssignSetup) -> list[Reviewer]:
    return [
        Reviewer(row["id"].value, row["name"].value, row["org"].value, row["region"].value, cap,
                 frozenset(id_key(w) for w in _EXPERTISE_SPLIT.split(row["expertise"].value) if w))
        for row, cap in zip(setup.reviewers.rows, setup.capacity, strict=True)
    ]


def _targets(setup: AssignSetup) -> list[Target]:
    sites = [Target(TargetKind.SITE, r["id"].value, r["name"].value, r["region"].value, r["name"].value, "")
             for r in setup.sites.rows]
    cases = [Target(TargetKind.CASE, r["id"].value, r["title"].value, r["region"].value, r["government"].value,
                    r["area"].value) for r in setup.cases.rows]
    return sites + cases


def _codes(values: Sequence[str], table: dict[str, int], empty: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Each value's id key as an integer (shared through `table`); an empty value gets `empty`."""
    out = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        out[i] = table.setdefault(id_key(value), len(table)) if value else empty
    return out


def eligibility(reviewers: Sequence[Reviewer], targets: Sequence[Target],
                declared: ConflictIndex) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """targets × reviewers: may this reviewer review this target? Not of the same 地区, not of the same 单位, no
    declared conflict (the target itself, or its 单位)."""
    regions: dict[str, int] = {}
    orgs: dict[str, int] = {}
    t_region = _codes([t.region for t in targets], regions, -1)
    r_region = _codes([r.region for r in reviewers], regions, -2)
    t_org = _codes([t.org for t in targets], orgs, -1)
    r_org = _codes([r.org for r in reviewers], orgs, -2)
    allowed: np.ndarray[Any, np.dtype[np.bool_]] = (t_region[:, None] != r_region[None, :]) & (
        t_org[:, None] != r_org[None, :])
    index = {(t.kind, t.id): i for i, t in enumerate(targets)}
    by_org: dict[str, list[int]] = {}
    for i, t in enumerate(targets):
        if t.org:
            by_org.setdefault(id_key(t.org), []).append(i)
    for r, reviewer in enumerate(reviewers):
        for kind, tid in declared.targets_of(reviewer.id):
            if (kind, tid) in index:
                allowed[index[(kind, tid)], r] = False
        for org in declared.orgs_of(reviewer.id):
            allowed[by_org.get(org, []), r] = False
    return allowed


def expertise_match(reviewers: Sequence[Reviewer], targets: Sequence[Target]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """targets × reviewers: a case whose 领域 the reviewer's 专长 names (never a site)."""
    out = np.zeros((len(targets), len(reviewers)), dtype=bool)
    by_area: dict[str, np.ndarray[Any, np.dtype[np.bool_]]] = {}
    for t, target in enumerate(targets):
        if target.kind is TargetKind.CASE and target.area:
            key = id_key(target.area)
            if key not in by_area:
                by_area[key] = np.array([key in r.expertise for r in reviewers], dtype=bool)
            out[t] = by_area[key]
    return out


# ---------------------------------------------------------------------------------------------
# the network


@dataclass
class _Network:
    """Classes of interchangeable targets, and the node numbers of the flow network over them."""

    classes: list[list[int]]
    class_kind: list[int]
    allowed: np.ndarray[Any, np.dtype[np.bool_]]
    """classes × reviewers"""
    cost: np.ndarray[Any, np.dtype[np.int64]]
    """classes × reviewers: preference cost of one review"""
    reviewers: int
    per_target: int

    def rk(self, kind: Any, r: Any) -> Any:
        return len(self.classes) + kind * self.reviewers + r

    def rnode(self, r: Any) -> Any:
        return len(self.classes) + 2 * self.reviewers + r

    @property
    def sink(self) -> int:
        return len(self.classes) + 3 * self.reviewers

    @property
    def nodes(self) -> int:
        return self.sink + 1

    def class_arcs(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any],
                                  np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(class, reviewer, tails, heads, capacities) of every class → reviewer-kind arc."""
        c, r = np.nonzero(self.allowed)
        sizes = np.array([len(m) for m in self.classes], dtype=np.int64)
        kinds = np.array(self.class_kind, dtype=np.int64)
        return c, r, c.astype(np.int32), self.rk(kinds[c], r).astype(np.int32), sizes[c]


def _network(targets: Sequence[Target], allowed: np.ndarray[Any, np.dtype[np.bool_]],
             match: np.ndarray[Any, np.dtype[np.bool_]], per_target: int, seed: int) -> _Network:
    keys: dict[tuple[int, bytes, bytes], int] = {}
    classes: list[list[int]] = []
    kinds: list[int] = []
    for t, target in enumerate(targets):
        kind = KINDS.index(target.kind)
        key = (kind, allowed[t].tobytes(), match[t].tobytes())
        c = keys.setdefault(key, len(classes))
        if c == len(classes):
            classes.append([])
            kinds.append(kind)
        classes[c].append(t)
    first = [m[0] for m in classes]
    rng = np.random.default_rng(seed)
    jitter = rng.integers(0, JITTER, size=(len(classes), allowed.shape[1]), dtype=np.int64)
    is_case = np.array(kinds, dtype=bool)[:, None]
    cost = jitter + EXPERTISE_PENALTY * (is_case & ~match[first]).astype(np.int64)
    return _Network(classes, kinds, allowed[first], cost, allowed.shape[1], per_target)


def _solve(net: _Network, reviewers: Sequence[Reviewer]) -> np.ndarray[Any, np.dtype[np.int64]] | None:
    """The min-cost flow: classes × reviewers, reviews of each class by each reviewer; None when infeasible."""
    from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]  # ships .pyi but no py.typed

    k, R = net.per_target, net.reviewers
    sizes = [len(m) for m in net.classes]
    total = k * sum(sizes)
    per_kind = [sum(n for n, kind in zip(sizes, net.class_kind, strict=True) if kind == i) for i in range(2)]
    prefs_max = int(net.cost.max(initial=0))
    unit = net.nodes * (prefs_max + 1) + 1  # B: above any cycle's preference cost
    flow = min_cost_flow.SimpleMinCostFlow()
    c, r, tails, heads, caps = net.class_arcs()
    class_arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, net.cost[c, r])
    free = sum(1 for x in reviewers if x.capacity is None) or R
    for kind in range(2):
        n = per_kind[kind]
        if n == 0:
            continue
        steps = min(n, 3 * math.ceil(k * n / free) + 3)  # squared loads exact up to here, linear beyond
        for_r = np.arange(R, dtype=np.int32)
        j = np.arange(1, steps + 1, dtype=np.int64)
        tails_b = np.repeat(net.rk(kind, for_r), steps).astype(np.int32)
        heads_b = np.repeat(net.rnode(for_r), steps).astype(np.int32)
        flow.add_arcs_with_capacity_and_unit_cost(
            tails_b, heads_b, np.ones(R * steps, dtype=np.int64), np.tile(j * unit, R))
        if n > steps:
            flow.add_arcs_with_capacity_and_unit_cost(
                net.rk(kind, for_r).astype(np.int32), net.rnode(for_r).astype(np.int32),
                np.full(R, n - steps, dtype=np.int64), np.full(R, (steps + 1) * unit, dtype=np.int64))
    limit = np.array([x.capacity if x.capacity is not None else total for x in reviewers], dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(
        net.rnode(np.arange(R)).astype(np.int32), np.full(R, net.sink, dtype=np.int32), limit,
        np.zeros(R, dtype=np.int64))
    supplies = np.array([k * n for n in sizes] + [0] * (3 * R) + [-total], dtype=np.int64)
    flow.set_nodes_supplies(np.arange(net.nodes, dtype=np.int32), supplies)
    status = flow.solve()
    if status == flow.INFEASIBLE:
        return None
    if status != flow.OPTIMAL:
        raise WorkbenchError(f"求解器未能求解（{status.name}）/ the solver failed ({status.name})")
    out = np.zeros(net.allowed.shape, dtype=np.int64)
    out[c, r] = flow.flows(class_arcs)
    return out


@dataclass(frozen=True)
class _Cut:
    targets: list[int]
    need: int
    available: int
    eligible: int
    balanced: int
    """Reviewers held to the balanced load in the cut."""
    capped: int
    """Reviewers held by their 容量 in the cut."""


def _min_cut(net: _Network, reviewers: Sequence[Reviewer], per_kind_limit: Sequence[int | None]) -> _Cut | None:
    """The max-flow's minimum cut (source side) when some reviews cannot be placed; None when all can.
    `per_kind_limit` caps each reviewer's load of a kind (a balanced load), None for no cap."""
    from ortools.graph.python import max_flow

    k, R = net.per_target, net.reviewers
    sizes = np.array([len(m) for m in net.classes], dtype=np.int64)
    total = int(k * sizes.sum())
    source = net.nodes
    graph = max_flow.SimpleMaxFlow()
    C = len(net.classes)
    graph.add_arcs_with_capacity(np.full(C, source, dtype=np.int32), np.arange(C, dtype=np.int32), k * sizes)
    _, _, tails, heads, caps = net.class_arcs()
    graph.add_arcs_with_capacity(tails, heads, caps)
    for_r = np.arange(R)
    for kind in range(2):
        limit = per_kind_limit[kind]
        graph.add_arcs_with_capacity(net.rk(kind, for_r).astype(np.int32), net.rnode(for_r).astype(np.int32),
                                     np.full(R, total if limit is None else limit, dtype=np.int64))
    caps_r = np.array([x.capacity if x.capacity is not None else total for x in reviewers], dtype=np.int64)
    graph.add_arcs_with_capacity(net.rnode(for_r).astype(np.int32), np.full(R, net.sink, dtype=np.int32), caps_r)
    if graph.solve(source, net.sink) != graph.OPTIMAL:
        raise WorkbenchError("求解器未能求解最大流 / the solver failed on the max-flow")
    if graph.optimal_flow() >= total:
        return None
    side = np.zeros(net.nodes + 1, dtype=bool)
    side[np.array(graph.get_source_side_min_cut(), dtype=np.int64)] = True
    in_x = side[:C]
    cut_targets = sorted(t for c in np.nonzero(in_x)[0] for t in net.classes[c])
    need = k * len(cut_targets)
    available = 0
    eligible: set[int] = set()
    balanced: set[int] = set()
    capped: set[int] = set()
    cls, rev = np.nonzero(net.allowed & in_x[:, None])
    for c, r in zip(cls.tolist(), rev.tolist(), strict=True):
        eligible.add(r)
        if not side[net.rk(net.class_kind[c], r)]:
            available += len(net.classes[c])  # one review a target
    for kind in range(2):
        for r in range(R):
            if side[net.rk(kind, r)] and not side[net.rnode(r)]:
                limit = per_kind_limit[kind]
                available += total if limit is None else limit
                balanced.add(r)
    for r in range(R):
        if side[net.rnode(r)]:
            available += int(caps_r[r])
            capped.add(r)
    return _Cut(cut_targets, need, available, len(eligible), len(balanced), len(capped))


def _describe_cut(cut: _Cut, targets: Sequence[Target], *, balanced_load: str = "") -> str:
    """「广东：1,040 个对象需要 3,120 次评审（须来自广东以外的专家），而可评审它们的专家最多只能承担 2,900 次」."""
    chosen = [targets[t] for t in cut.targets]
    kinds = {t.kind for t in chosen}
    zh_noun = TARGET_LABELS[next(iter(kinds))] if len(kinds) == 1 else "对象"
    en_noun = next(iter(kinds)).value if len(kinds) == 1 else "target"
    en_nouns = en_noun + ("s" if len(chosen) != 1 else "")
    regions: dict[str, int] = {}
    for t in chosen:
        regions[t.region] = regions.get(t.region, 0) + 1
    outside_zh = outside_en = ""
    if len(chosen) == 1:
        label = f"{zh_noun} {chosen[0].id}（{chosen[0].name}）"
        label_en = f"{en_noun} {chosen[0].id} ({chosen[0].name})"
    elif len(regions) == 1 and next(iter(regions)):
        label = label_en = next(iter(regions))
    else:
        top = sorted(regions, key=lambda g: (-regions[g], g))
        names = "、".join(g or "（无地区）" for g in top[:3]) + ("等" if len(top) > 3 else "")
        label, label_en = f"{len(top)} 个地区（{names}）", f"{len(top)} regions ({names})"
    region = chosen[0].region if len(regions) == 1 else ""
    if region:
        outside_zh, outside_en = f"（须来自{region}以外的专家）", f" from outside {region}"
    held_zh, held_en = [], []
    if cut.balanced:
        held_zh.append(f"其中 {cut.balanced} 位在均衡负载下每人至多 {balanced_load} 个")
        held_en.append(f"{cut.balanced} of them at most {balanced_load} each at a balanced load")
    if cut.capped:
        held_zh.append(f"{cut.capped} 位受「容量」所限")
        held_en.append(f"{cut.capped} held by their capacity")
    if cut.eligible - cut.balanced - cut.capped > 0:
        held_zh.append(f"{cut.eligible - cut.balanced - cut.capped} 位每个对象只能评审一次")
        held_en.append(f"{cut.eligible - cut.balanced - cut.capped} once per target they may review")
    at = "（均衡负载）" if cut.balanced else ""
    at_en = " at a balanced load" if cut.balanced else ""
    short = cut.need - cut.available
    return (f"{label}：{len(chosen):,} 个{zh_noun}需要 {cut.need:,} 次评审{outside_zh}，"
            f"而可评审它们的 {cut.eligible} 位专家最多只能承担 {cut.available:,} 次{at}，"
            f"差 {short:,} 次（{'；'.join(held_zh)}）/ "
            f"{label_en}: {len(chosen):,} {en_nouns} need {cut.need:,} reviews{outside_en}, and the {cut.eligible} "
            f"eligible reviewers can take {cut.available:,}{at_en}, {short:,} short "
            f"({'; '.join(held_en)})")


# ---------------------------------------------------------------------------------------------
# from class flows to targets, loads, connectivity


def _deal(net: _Network, flows: np.ndarray[Any, np.dtype[np.int64]], seed: int) -> list[list[int]]:
    """Each class's reviews dealt to its targets wrap-around: k distinct reviewers a target."""
    rng = random.Random(seed)
    chosen: list[list[int]] = [[] for _ in range(sum(len(m) for m in net.classes))]
    for c, members in enumerate(net.classes):
        order = members[:]
        rng.shuffle(order)
        takers = [int(r) for r in np.nonzero(flows[c])[0]]
        rng.shuffle(takers)
        place = 0
        n = len(order)
        for r in takers:
            for _ in range(int(flows[c, r])):
                chosen[order[place % n]].append(r)
                place += 1
    return chosen


def _components(chosen: Sequence[Sequence[int]], reviewers: int) -> list[list[int]]:
    """The parts of the reviewer graph (reviewers linked when they share a target), over reviewers with a
    target, largest first (ties: by the first reviewer)."""
    parent = list(range(reviewers))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    used = [False] * reviewers
    for picked in chosen:
        for r in picked:
            used[r] = True
        for r in picked[1:]:
            a, b = root(picked[0]), root(r)
            if a != b:
                parent[max(a, b)] = min(a, b)
    parts: dict[int, list[int]] = {}
    for r in range(reviewers):
        if used[r]:
            parts.setdefault(root(r), []).append(r)
    return sorted(parts.values(), key=lambda p: (-len(p), p[0]))


def link_reviewers(
    chosen: list[list[int]], kinds: Sequence[TargetKind], allowed: np.ndarray[Any, np.dtype[np.bool_]],
    reviewers: Sequence[str], prefer: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> int:
    """Join the parts of the reviewer graph by swaps, in place; the number of swaps made.

    A swap takes two targets of the same kind, t1 reviewed by a (in the largest part) and t2 by b (in another
    part), with a allowed t2 and b allowed t1 and neither already on the other's target: a reviews t2 instead of
    t1, b reviews t1 instead of t2. Every target keeps its k distinct reviewers, every reviewer their load of
    each kind (so balance and 容量 hold), and 回避 holds; t1 now links b's part with a's. Swaps that keep the
    expertise matches (`prefer`) are tried first. Raises ReviewersNotLinked when no such swap exists.
    """
    swaps = 0
    while True:
        parts = _components(chosen, len(reviewers))
        if len(parts) <= 1:
            return swaps
        if any(len(p) < 2 for p in chosen):
            raise ReviewersNotLinked(
                "每个对象只有 1 位评审专家，专家之间没有共同评审的对象，无法比较评分宽严；请把 --per-target 设为 2 "
                "或以上 / with one reviewer per target no two reviewers share a target, so their severity cannot "
                "be compared: set --per-target to 2 or more")
        main = set(parts[0])
        for other in parts[1:]:
            if _swap_into(chosen, kinds, allowed, main, set(other), prefer):
                swaps += 1
                break
        else:
            names = "、".join(reviewers[r] for r in parts[1][:5]) + ("等" if len(parts[1]) > 5 else "")
            raise ReviewersNotLinked(
                f"评审专家关联图分成 {len(parts)} 个互不相连的部分（如 {names} 与其余专家没有共同评审的对象），"
                "评分宽严无法在全轮次比较；且找不到不违反回避规则、不改变负载的同类对象交换来连接它们。请增加跨地区的"
                f"评审专家，或核对回避申报 / the reviewer graph falls into {len(parts)} parts ({names} share no target "
                "with the other reviewers), so severity cannot be compared across the round, and no swap of two "
                "targets of one kind that keeps 回避 and every load joins them: add reviewers from other regions, "
                "or check the declared conflicts")


def _swap_into(chosen: list[list[int]], kinds: Sequence[TargetKind], allowed: np.ndarray[Any, np.dtype[np.bool_]],
               main: set[int], other: set[int], prefer: np.ndarray[Any, np.dtype[np.bool_]] | None) -> bool:
    """Make one swap joining `other` to `main`, keeping `main` whole; whether one was found."""
    before = len(_components(chosen, allowed.shape[1]))
    in_main = [t for t, p in enumerate(chosen) if p and p[0] in main]
    in_other = [t for t, p in enumerate(chosen) if p and p[0] in other]
    candidates: list[tuple[int, int, int, int, int]] = []
    for t2 in in_other:
        for b in chosen[t2]:
            for t1 in in_main:
                if kinds[t1] is not kinds[t2] or not allowed[t1, b] or b in chosen[t1]:
                    continue
                for a in chosen[t1]:
                    if allowed[t2, a] and a not in chosen[t2]:
                        loss = 0
                        if prefer is not None:
                            loss = int(prefer[t1, a]) + int(prefer[t2, b]) - int(prefer[t2, a]) - int(prefer[t1, b])
                        candidates.append((loss, t2, b, t1, a))
        if len(candidates) > 64:
            break
    for _, t2, b, t1, a in sorted(candidates):
        chosen[t1][chosen[t1].index(a)] = b
        chosen[t2][chosen[t2].index(b)] = a
        if len(_components(chosen, allowed.shape[1])) < before:
            return True
        chosen[t1][chosen[t1].index(b)] = a
        chosen[t2][chosen[t2].index(a)] = b
    return False


def _loads(chosen: Sequence[Sequence[int]], targets: Sequence[Target], R: int) -> dict[TargetKind, list[int]]:
    out = {kind: [0] * R for kind in KINDS}
    for t, picked in enumerate(chosen):
        for r in picked:
            out[targets[t].kind][r] += 1
    return out


def _balance(net: _Network, reviewers: Sequence[Reviewer], targets: Sequence[Target],
             loads: dict[TargetKind, list[int]], allowed: np.ndarray[Any, np.dtype[np.bool_]],
             per_target: int) -> list[KindLoad]:
    """Per kind: the spread of loads over the reviewers that their 容量 does not hold back, and, beyond 1, why."""
    total = [sum(loads[k][r] for k in KINDS) for r in range(len(reviewers))]
    free = [r for r, x in enumerate(reviewers) if x.capacity is None or total[r] < x.capacity]
    out: list[KindLoad] = []
    for i, kind in enumerate(KINDS):
        n = sum(1 for t in targets if t.kind is kind)
        if n == 0:
            continue
        values = [loads[kind][r] for r in free] or [0]
        low, high = min(values), max(values)
        if high - low <= 1:
            out.append(KindLoad(kind, n, low, high, True))
            continue
        mean = per_target * n / len(reviewers)
        limits: list[int | None] = [None, None]
        limits[i] = math.ceil(mean)
        cut = _min_cut(net, reviewers, limits)
        if cut is not None:
            reason = _describe_cut(cut, targets, balanced_load=str(math.ceil(mean)))
        else:
            columns = [t for t, x in enumerate(targets) if x.kind is kind]
            few = [(reviewers[r].id, int(allowed[columns, r].sum())) for r in free
                   if allowed[columns, r].sum() < math.floor(mean)]
            label = TARGET_LABELS[kind]
            shown = "、".join(f"{rid}（{m} 个）" for rid, m in few[:8]) + ("等" if len(few) > 8 else "")
            reason = (f"回避规则使 {len(few)} 位专家可评审的{label}少于均衡负载 {math.floor(mean)} 个：{shown} / "
                      f"the 回避 rules leave {len(few)} reviewer(s) fewer {kind.value}s to review than the balanced "
                      f"load of {math.floor(mean)}: {shown}") if few else (
                      f"回避规则使部分专家无法达到均衡负载 {math.floor(mean)} 个{label} / the 回避 rules keep some "
                      f"reviewers below the balanced load of {math.floor(mean)} {kind.value}s")
        out.append(KindLoad(kind, n, low, high, False, reason))
    return out


# ---------------------------------------------------------------------------------------------
# the command's core


def plan_assignment(setup: AssignSetup, *, per_target: int = 3, seed: int = 0,
                    allow_disconnected: bool = False) -> AssignmentPlan:
    """Solve the assignment for validated set-up files, or refuse it with the reason."""
    if per_target < 1:
        raise WorkbenchError(f"--per-target 须至少为 1，收到 {per_target} / --per-target must be 1 or more")
    reviewers = _reviewers(setup)
    targets = _targets(setup)
    declared = ConflictIndex(setup.conflicts)
    if not reviewers and targets:
        raise AssignmentInfeasible("评审专家表中没有专家 / the reviewers file lists no reviewer")
    allowed = eligibility(reviewers, targets, declared)
    match = expertise_match(reviewers, targets)
    net = _network(targets, allowed, match, per_target, seed)
    flows = _solve(net, reviewers) if targets else np.zeros((0, len(reviewers)), dtype=np.int64)
    if flows is None:
        cut = _min_cut(net, reviewers, [None, None])
        assert cut is not None, "the min-cost flow and the max-flow disagree on feasibility"
        raise AssignmentInfeasible(
            "没有满足全部规则的分配 / no assignment satisfies the rules:\n  " + _describe_cut(cut, targets)
            + "\n请增加评审专家、降低 --per-target，或核对回避申报与「容量」/ add reviewers, lower --per-target, or "
              "check the declared conflicts and the capacities")
    chosen = _deal(net, flows, seed)
    kinds = [t.kind for t in targets]
    swaps, problem = 0, ""
    try:
        swaps = link_reviewers(chosen, kinds, allowed, [r.id for r in reviewers], match)
    except ReviewersNotLinked as exc:
        if not allow_disconnected:
            raise
        problem = exc.message
    loads = _loads(chosen, targets, len(reviewers))
    case_reviews = sum(len(p) for t, p in enumerate(chosen) if targets[t].kind is TargetKind.CASE)
    matches = sum(int(match[t, r]) for t, p in enumerate(chosen) for r in p)
    return AssignmentPlan(
        per_target=per_target, seed=seed, reviewers=tuple(reviewers), targets=tuple(targets),
        chosen=tuple(tuple(sorted(p)) for p in chosen),
        loads=tuple(_balance(net, reviewers, targets, loads, allowed, per_target)),
        components=len(_components(chosen, len(reviewers))), swaps=swaps,
        unused=tuple(r.id for i, r in enumerate(reviewers) if not any(loads[k][i] for k in KINDS)),
        case_reviews=case_reviews, expertise_matches=matches, declared=len(declared), link_problem=problem,
    )


def _output_suffix(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise WorkbenchError(f"输出文件须以 .xlsx 或 .csv 结尾：{out.name} / the output must end in .xlsx or .csv")
    return suffix


def write_assignments(plan: AssignmentPlan, out: Path) -> int:
    """Write the assignments file `workbench init` reads (.xlsx, or .csv); returns its data rows.

    Columns 评审专家, 对象类型, 对象编号 are what init reads; 专家姓名 and 对象名称 are for people (init ignores
    them). Written beside `out` and renamed, so a failed write leaves no half file.
    """
    from workbench.signed.worksheet import needs_text_guard

    suffix = _output_suffix(out)
    header = ["评审专家", "对象类型", "对象编号", "专家姓名", "对象名称"]
    rows = [[r.id, TARGET_LABELS[t.kind], t.id, r.name, t.name] for r, t in plan.rows()]
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if suffix == ".csv":
            import csv

            for row in rows:
                for cell in (row[0], row[2]):
                    if needs_text_guard(cell):
                        raise WorkbenchError(
                            f"编号「{cell}」以 {cell[:1]!r} 开头，写入 CSV 后电子表格会把它当作公式；"
                            "请改用 .xlsx 输出 / "
                            f"the id {cell!r} starts with {cell[:1]!r}, which a spreadsheet runs as a formula "
                            "from a CSV: write .xlsx instead")
                row[3:] = ["'" + v if needs_text_guard(v) else v for v in row[3:]]
            with tmp.open("w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f, lineterminator="\r\n")
                writer.writerow(header)
                writer.writerows(rows)
        else:
            from openpyxl import Workbook

            from workbench.signed.export import guarded_cell

            book = Workbook(write_only=True)
            sheet = book.create_sheet("评审分配")
            sheet.append(header)
            for row in rows:
                sheet.append([guarded_cell(sheet, v) if needs_text_guard(v) else v for v in row])
            book.save(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        why = exc.strerror or exc
        raise WorkbenchError(f"无法写入 {out}（{why}）；请检查目录是否存在、是否有写权限 / cannot write {out} ({why}): "
                             "check that the folder exists and may be written") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return len(rows)


def make_assignments(sites: Path, cases: Path, reviewers: Path, conflicts: Path | None, out: Path, *,
                     per_target: int = 3, seed: int = 0, allow_disconnected: bool = False,
                     on_progress: Callable[[int, int], None] | None = None) -> AssignmentPlan:
    """Read the set-up files, solve, and write the assignments file: what `workbench assign` does.
    ``on_progress(done, 3)`` follows its three stages: read, solved, written."""
    def stage(done: int) -> None:
        if on_progress is not None:
            on_progress(done, 3)

    _output_suffix(out)
    stage(0)
    setup = read_assign_setup(sites, cases, reviewers, conflicts)
    stage(1)
    plan = plan_assignment(setup, per_target=per_target, seed=seed, allow_disconnected=allow_disconnected)
    stage(2)
    write_assignments(plan, out)
    stage(3)
    return plan
