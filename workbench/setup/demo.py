"""Build the demo rounds from the bundled fixtures (workbench/fixtures/) in a scratch directory: rounds, past
results, a registered demo key for every reviewer, packages; optionally the other reviewers' work simulated and
merged. A directory built before is reopened as it is (`load_demo`)."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.model import Indicator, IndicatorKind
from workbench.setup.package import make_package
from workbench.setup.results import import_results
from workbench.setup.round import RoundSummary, SetupFiles, init_round
from workbench.store.db import ScoreChange, Store
from workbench.store.schema import KIND_PACKAGE, KIND_ROUND

#: The demo set-up files, shipped inside the package (written by scripts/make_demo.py).
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

#: The passphrase of every demo key. It is printed by `workbench demo`: these keys sign nothing real.
DEMO_PASSPHRASE = "demo-passphrase"
# scrypt at 2**14 (16 MiB, a few ms): a demo key's passphrase is printed anyway, and the demo makes a dozen.
DEMO_SCRYPT_N = 2**14
#: What marks a finished demo directory (written last), and what `load_demo` reads back.
MARKER = "demo.json"
MAIN_ROUND = "2022"
SIMULATION_REASON = "demo simulation"


@dataclass
class DemoBuild:
    directory: Path
    rounds: list[RoundSummary] = field(default_factory=list)
    packages: dict[str, Path] = field(default_factory=dict)
    """Package by reviewer: the 2022 round's reviewers by id, the 2019 round's as ``2019-<id>``."""
    keys: dict[str, Path] = field(default_factory=dict)
    """The demo secret key file of each entry of ``packages``, under the same names."""
    simulated: list[str] = field(default_factory=list)
    """The reviewers whose work `simulate_reviews` filled in, exported and merged."""
    round_db: Path = Path()
    passphrase: str = DEMO_PASSPHRASE

    def describe(self) -> list[str]:
        lines = [f"演示目录 / demo directory: {self.directory}"]
        for r in self.rounds:
            lines.append(
                f"  轮次 {r.round_id}: {r.path}  （网站 {r.sites}，案例 {r.cases}，末级指标 {r.leaves}，"
                f"评审专家 {r.reviewers}）"
            )
        for reviewer, path in sorted(self.packages.items()):
            lines.append(f"  评审包 {reviewer}: {path}  密钥 / key {self.keys[reviewer]}")
        lines.append(f"  演示密钥口令 / demo key passphrase: {self.passphrase}")
        if self.simulated:
            lines.append(f"  已模拟并合并 / simulated and merged: {' '.join(self.simulated)}")
        return lines

    def export_path(self, reviewer: str) -> Path:
        """Where the app's export writes this reviewer's worksheet by default (beside the package)."""
        package = self.packages[reviewer]
        round_id = MAIN_ROUND if reviewer in self._main_reviewers() else "2019-check"
        return package.with_name(f"{package.stem}-{round_id}.xlsx")

    def _main_reviewers(self) -> list[str]:
        return [r for r in self.packages if not r.startswith("2019-")]

    def next_steps(self, reviewer: str) -> list[str]:
        """What to do after grading in the app, as commands that work on these files as printed."""
        db, exported = self.round_db, self.export_path(reviewer)
        # Whether the reviewer has finished grading is not known when this is printed: the commands allow an
        # incomplete package and round, which changes nothing once they are complete (no 未完成 banner then).
        incomplete = " --allow-incomplete"
        return [
            f"评审专家 {reviewer}：在评审界面中按 ^e 导出（密钥口令 {self.passphrase}），或 / in the app press ^e "
            f"(passphrase {self.passphrase}), or:",
            f"  WORKBENCH_PASSPHRASE={self.passphrase} workbench export {self.packages[reviewer]} -o {exported} "
            f"--key {self.keys[reviewer]}{incomplete}",
            "协调人随后 / then the coordinator:",
            f"  workbench merge {db} {exported}",
            f"  workbench status {db}",
            f"  workbench report {db} -o {self.directory / 'consolidated.xlsx'}{incomplete}",
            f"  workbench disputes {db} --list{incomplete}",
            f"  workbench disputes {db} -o {self.directory / 're-review'}{incomplete}",
            f"继续评审 / to resume later: workbench demo --dir {self.directory} --reviewer {reviewer}",
        ]

    def save(self) -> None:
        document = {
            "round_db": self.round_db.name, "passphrase": self.passphrase, "simulated": self.simulated,
            "packages": {r: p.name for r, p in self.packages.items()},
            "keys": {r: str(k.relative_to(self.directory)) for r, k in self.keys.items()},
            "rounds": [[r.round_id, r.path.name, r.sites, r.cases, r.leaves, r.reviewers] for r in self.rounds],
        }
        (self.directory / MARKER).write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")


def setup_files(folder: Path) -> SetupFiles:
    rules = folder / "rules.csv"
    return SetupFiles(
        indicators=folder / "indicators.csv", sites=folder / "sites.csv", cases=folder / "cases.csv",
        reviewers=folder / "reviewers.csv", assignments=folder / "assignments.csv",
        rules=rules if rules.exists() else None,
    )


def is_demo(directory: Path) -> bool:
    return (directory / MARKER).is_file()


def load_demo(directory: Path) -> DemoBuild:
    """A demo directory built before, to resume in: its packages keep every score given since."""
    try:
        doc = json.loads((directory / MARKER).read_text("utf-8"))
        built = DemoBuild(directory, round_db=directory / doc["round_db"], passphrase=doc["passphrase"],
                          simulated=list(doc["simulated"]))
        built.packages = {r: directory / name for r, name in doc["packages"].items()}
        built.keys = {r: directory / name for r, name in doc["keys"].items()}
        built.rounds = [RoundSummary(path=directory / name, round_id=rid, indicators=0, leaves=leaves, sites=sites,
                                     cases=cases, reviewers=reviewers, assignments=0)
                        for rid, name, sites, cases, leaves, reviewers in doc["rounds"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkbenchError(f"{directory / MARKER} 不是完整的演示记录 / is not a complete demo record ({exc}); "
                             "build a new demo in another directory") from None
    missing = [p for p in built.packages.values() if not p.is_file()]
    if missing:
        raise WorkbenchError(f"演示目录缺少评审包 / the demo directory lacks {missing[0]}; build a new demo")
    return built


def build_demo(directory: Path | None = None, fixtures: Path = FIXTURES) -> DemoBuild:
    """The 2022 digital-government round (with 2021 history) and the 2019 website-check round, with a demo key
    registered for every reviewer before their package is issued, so that the packages' exports sign."""
    if not (fixtures / "demo-2022").is_dir():
        raise WorkbenchError(
            f"找不到演示数据 {fixtures} / demo fixtures not found; reinstall the workbench package"
        )
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="workbench-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise WorkbenchError(f"{directory} 不是空目录，也不是演示目录 / is neither empty nor a demo directory; "
                             "choose another --dir")
    main = directory / "round-2022.db"
    built = DemoBuild(directory, round_db=main)
    built.rounds.append(init_round(
        main, MAIN_ROUND, setup_files(fixtures / "demo-2022"), name="2022年数字政府服务能力评估（演示）", year=2022,
    ))
    import_results(main, fixtures / "demo-2022" / "results-2021.csv", "2021", name="2021年评估（演示）")
    check = directory / "check-2019.db"
    built.rounds.append(init_round(
        check, "2019-check", setup_files(fixtures / "check-2019"), name="2019年政府网站抽查（演示）", year=2019,
    ))
    for db, prefix in ((main, ""), (check, "2019-")):
        for reviewer in _reviewer_ids(db):
            name = f"{prefix}{reviewer}"
            built.keys[name] = _demo_key(db, reviewer, directory / "keys" / f"{name}.key")
            stem = f"check-2019-{reviewer}" if prefix else reviewer
            built.packages[name] = make_package(db, reviewer, directory / f"{stem}.wbk").path
    built.save()
    return built


def _reviewer_ids(db: Path) -> list[str]:
    store = Store.open(db, expect=KIND_ROUND)
    try:
        return [r.id for r in store.reviewers()]
    finally:
        store.close()


def _demo_key(db: Path, reviewer: str, path: Path) -> Path:
    from workbench.signed.keyring import add_key
    from workbench.signed.keys import generate_secret_key, write_secret_key

    path.parent.mkdir(mode=0o700, exist_ok=True)
    secret = generate_secret_key()
    write_secret_key(path, secret, DEMO_PASSPHRASE, scrypt_n=DEMO_SCRYPT_N)
    add_key(db, reviewer, secret.public.line)
    return path


def simulate_reviews(built: DemoBuild, keep: str, *, seed: int = 2022,
                     on_progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Every 2022 reviewer but `keep` grades their whole package with plausible values (each target's level
    from its 2021 result where there is one, each reviewer's own noise, now and then a reviewer far off, so
    that disputes arise), exports it signed with their demo key and has it merged. Returns the exports."""
    from workbench.consolidation.merge import merge_exports
    from workbench.signed.export import export_package

    reviewers = [r for r in built._main_reviewers() if r != keep and r not in built.simulated]
    history = _history(built.round_db)
    exports: list[Path] = []
    for n, reviewer in enumerate(reviewers):
        package = built.packages[reviewer]
        _fill_plausibly(package, history, random.Random(f"{seed}-{reviewer}"))
        out = built.export_path(reviewer)
        exports.append(export_package(package, out, key_file=built.keys[reviewer],
                                      passphrase=built.passphrase).path)
        if on_progress is not None:
            on_progress(n + 1, len(reviewers) + 1)
    report = merge_exports(built.round_db, exports)
    if report.rejected:
        first = report.rejected[0]
        raise WorkbenchError(f"模拟导出未能合并 / a simulated export was not merged: {first.code} {first.message}")
    if on_progress is not None:
        on_progress(len(reviewers) + 1, len(reviewers) + 1)
    built.simulated += reviewers
    built.save()
    return exports


def _history(db: Path) -> dict[tuple[str, str], Decimal]:
    """Each past target's level: its 2021 share of the points it could get (0 … 1)."""
    store = Store.open(db, expect=KIND_ROUND)
    try:
        maxima = {i.code: i.max_score for i in store.indicators()}
        got: dict[tuple[str, str], list[Decimal]] = {}
        for kind, tid, code, value in store.conn.execute(
                "SELECT target_kind, target_id, indicator, value FROM consolidated WHERE round != ?", (MAIN_ROUND,)):
            try:
                share = Decimal(value) / maxima[code]
            except (ArithmeticError, KeyError, TypeError, ValueError):
                continue
            got.setdefault((kind, tid), []).append(share)
        return {key: sum(v, Decimal(0)) / len(v) for key, v in got.items()}
    finally:
        store.close()


def _fill_plausibly(package: Path, history: dict[tuple[str, str], Decimal], rng: random.Random) -> None:
    from workbench.scoring.indicators import parse_value

    store = Store.open(package, expect=KIND_PACKAGE)
    try:
        tree = {i.code: i for i in store.indicators()}
        severity = rng.gauss(0, 0.04)  # this reviewer's own leniency
        changes = []
        for score in store.scores():
            level = history.get((score.target_kind.value, score.target_id))
            if level is None:  # no history: a level of its own, the same for every reviewer of the target
                level = Decimal(random.Random(f"{score.target_kind}-{score.target_id}").uniform(0.55, 0.95))
            text = _plausible(tree[score.indicator], float(level) + severity, rng)
            changes.append(ScoreChange(score.target_kind, score.target_id, score.indicator,
                                       parse_value(tree[score.indicator], text)))
        store.set_scores(changes, reason=SIMULATION_REASON)
    finally:
        store.close()


def _plausible(ind: Indicator, level: float, rng: random.Random) -> str:
    """A value a reviewer of a target of this level might give, on the indicator's step."""
    if ind.kind is IndicatorKind.VETO:
        return "是" if rng.random() < 0.01 else "否"
    if ind.kind is IndicatorKind.BONUS:
        level = rng.uniform(0, 0.6)
    elif ind.kind is IndicatorKind.DEDUCT:
        level = rng.uniform(0, 0.3)
    elif rng.random() < 0.01:
        level = rng.uniform(0, 1)  # a reviewer who saw the target quite differently
    else:
        level = level + rng.gauss(0, 0.06)
    steps = int(ind.max_score / ind.step)
    value = ind.step * max(0, min(steps, round(level * steps)))
    return str(value)
