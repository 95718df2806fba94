"""`workbench demo`: a demo whose packages sign, whose printed next commands work as printed, and that resumes."""

from __future__ import annotations

import random
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.setup.demo import DEMO_PASSPHRASE, _fill_plausibly, _history
from workbench.store.db import Store


@pytest.fixture(scope="module")
def simulated_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(directory), "--simulate", "--no-open"])
    assert result.exit_code == 0, result.output
    return directory, result.output


@pytest.fixture
def simulated(simulated_template: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A private copy of the simulated demo (its printed paths rewritten to the copy)."""
    source, output = simulated_template
    directory = tmp_path / "demo"
    shutil.copytree(source, directory)
    return directory, output.replace(str(source), str(directory))


def _commands(output: str) -> list[list[str]]:
    """The `workbench …` lines the demo printed after 下一步 (their environment prefix set apart)."""
    commands = []
    for line in output.split("下一步 / next:", 1)[1].splitlines():
        words = shlex.split(line.strip()) if " workbench " in f" {line} " else []
        while words and "=" in words[0]:
            words.pop(0)  # an environment prefix (the test sets it)
        if words and words[0] == "workbench":
            commands.append(words[1:])
    return commands


def test_every_demo_package_records_its_registered_demo_key(simulated: tuple[Path, str]) -> None:
    directory, output = simulated
    assert f"demo key passphrase: {DEMO_PASSPHRASE}" in output
    store = Store.open(directory / "round-2022.db", expect="round")
    registered = {r[0]: r[1] for r in store.conn.execute("SELECT reviewer_id, key_id FROM keys")}
    store.close()
    assert len(registered) == 9
    for reviewer, key_id in registered.items():
        package = Store.open(directory / f"{reviewer}.wbk", expect="package")
        assert package.meta["key_id"] == key_id
        package.close()
        assert (directory / "keys" / f"{reviewer}.key").is_file()


def test_the_printed_next_commands_complete_the_cycle(simulated: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    directory, output = simulated
    assert "simulated and merged: R02 R03 R04 R05 R06 R07 R08 R09" in output
    _fill_plausibly(directory / "R01.wbk", _history(directory / "round-2022.db"), random.Random(1))
    export_line = next(line for line in output.splitlines() if "workbench export" in line)
    assert export_line.strip().startswith(f"WORKBENCH_PASSPHRASE={DEMO_PASSPHRASE} workbench export")
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", DEMO_PASSPHRASE)
    runner = CliRunner()
    commands = _commands(output)
    assert [c[0] for c in commands] == ["export", "merge", "status", "report", "disputes", "disputes", "review"]
    commands = commands[:-1]  # the last opens the app
    results = []
    for command in commands:
        result = runner.invoke(cli, command)
        assert result.exit_code == 0, (command, result.output)
        results.append(result.output)
    assert "1 merged, 0 rejected" in results[1]
    assert "open disputes" in results[2]
    assert (directory / "consolidated.xlsx").is_file() and "（未完成" not in results[3]
    assert "评分分歧" in results[4]
    assert list((directory / "re-review").glob("*-复核.wbk"))


def test_the_printed_commands_work_before_the_reviewer_has_finished(
    simulated: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, output = simulated  # R01 has graded nothing yet: the commands still work as printed
    monkeypatch.setenv("WORKBENCH_PASSPHRASE", DEMO_PASSPHRASE)
    runner = CliRunner()
    results = [runner.invoke(cli, command) for command in _commands(output)[:-1]]
    assert [r.exit_code for r in results] == [0] * len(results), [r.output for r in results]
    assert "（未完成" in results[3].output  # the report says the round is not complete


def test_the_demo_resumes_in_its_directory_keeping_the_scores(simulated: tuple[Path, str]) -> None:
    directory, _ = simulated
    _fill_plausibly(directory / "R01.wbk", _history(directory / "round-2022.db"), random.Random(1))
    result = CliRunner().invoke(cli, ["demo", "--dir", str(directory), "--no-open"])
    assert result.exit_code == 0, result.output
    assert "resuming the demo" in result.output
    assert f"workbench demo --dir {directory} --reviewer R01" in result.output
    store = Store.open(directory / "R01.wbk", expect="package")
    assert all(s.value is not None for s in store.scores())
    store.close()


def test_a_directory_that_is_neither_empty_nor_a_demo_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path), "--no-open"])
    assert result.exit_code == 1
    assert "neither empty nor a demo directory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_without_simulation_the_printed_commands_allow_an_incomplete_round(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "d"), "--no-open"])
    assert result.exit_code == 0, result.output
    report = next(c for c in _commands(result.output) if c[0] == "report")
    assert report[-1] == "--allow-incomplete"
