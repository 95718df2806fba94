"""Build the demo rounds from the bundled fixtures (workbench/fixtures/) in a scratch directory: rounds, past
results, packages."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.setup.package import make_package
from workbench.setup.round import RoundSummary, SetupFiles, import_results, init_round
from workbench.store.db import Store
from workbench.store.schema import KIND_ROUND

#: The demo set-up files, shipped inside the package (written by scripts/make_demo.py).
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass
class DemoBuild:
    directory: Path
    rounds: list[RoundSummary] = field(default_factory=list)
    packages: dict[str, Path] = field(default_factory=dict)

    def describe(self) -> list[str]:
        lines = [f"演示目录 / demo directory: {self.directory}"]
        for r in self.rounds:
            lines.append(
                f"  轮次 {r.round_id}: {r.path}  （网站 {r.sites}，案例 {r.cases}，末级指标 {r.leaves}，"
                f"评审专家 {r.reviewers}）"
            )
        for reviewer, path in sorted(self.packages.items()):
            lines.append(f"  评审包 {reviewer}: {path}")
        return lines


def setup_files(folder: Path) -> SetupFiles:
    rules = folder / "rules.csv"
    return SetupFiles(
        indicators=folder / "indicators.csv", sites=folder / "sites.csv", cases=folder / "cases.csv",
        reviewers=folder / "reviewers.csv", assignments=folder / "assignments.csv",
        rules=rules if rules.exists() else None,
    )


def build_demo(directory: Path | None = None, fixtures: Path = FIXTURES) -> DemoBuild:
    """The 2022 digital-government round (with 2021 history) and the 2019 website-check round."""
    if not (fixtures / "demo-2022").is_dir():
        raise WorkbenchError(
            f"找不到演示数据 {fixtures} / demo fixtures not found; reinstall the workbench package"
        )
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="workbench-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    built = DemoBuild(directory)
    main = directory / "round-2022.db"
    built.rounds.append(init_round(
        main, "2022", setup_files(fixtures / "demo-2022"), name="2022年数字政府服务能力评估（演示）", year=2022,
    ))
    import_results(main, fixtures / "demo-2022" / "results-2021.csv", "2021", name="2021年评估（演示）")
    check = directory / "check-2019.db"
    built.rounds.append(init_round(
        check, "2019-check", setup_files(fixtures / "check-2019"), name="2019年政府网站抽查（演示）", year=2019,
    ))
    store = Store.open(main, expect=KIND_ROUND)
    reviewers = [r.id for r in store.reviewers()]
    store.close()
    for reviewer in reviewers:
        built.packages[reviewer] = make_package(main, reviewer, directory / f"{reviewer}.wbk").path
    store = Store.open(check, expect=KIND_ROUND)
    check_reviewers = [r.id for r in store.reviewers()]
    store.close()
    for reviewer in check_reviewers:
        built.packages[f"2019-{reviewer}"] = make_package(
            check, reviewer, directory / f"check-2019-{reviewer}.wbk"
        ).path
    return built
