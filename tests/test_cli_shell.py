"""The command line as a shell user meets it: JSON numbers, CSV for Excel, completion, bilingual usage errors,
totals, refusals that name the valid choices, the indicator tree, local times."""

from __future__ import annotations

import json
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.model import NA, TargetKind
from workbench.store.db import Store

README = Path(__file__).resolve().parents[1] / "README.md"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- JSON -------------------------------------------------------------------------------------------------------


def test_json_values_are_exact_numbers_and_na_stays_text(package_path: Path) -> None:
    store = Store.open(package_path)
    store.set_score(TargetKind.SITE, "S03", "A1.1", Decimal("1.5"))
    store.set_score(TargetKind.SITE, "S03", "D3", NA)
    store.close()
    code, out, _ = run("scores", str(package_path), "S03", "--round", "2022", "--format", "json")
    assert code == 0
    rows = {r["indicator"]: r for r in json.loads(out, parse_float=Decimal)}
    assert rows["A1.1"]["value"] == Decimal("1.5") and '"value": 1.5,' in out
    assert rows["D3"]["value"] == "不适用"
    assert rows["A1.2"]["value"] is None  # not scored: null, not 0
    assert rows["A1.1"]["target_id"] == "S03" and rows["A1.1"]["target"] == "河北省"
    assert rows["A1.1"]["indicator_name"] == "领导机制"


def test_a_veto_is_text_in_json(tmp_path: Path) -> None:
    from workbench.setup.demo import FIXTURES, setup_files
    from workbench.setup.package import make_package
    from workbench.setup.round import init_round

    db = tmp_path / "check.db"
    init_round(db, "2019-check", setup_files(FIXTURES / "check-2019"), year=2019)
    package = make_package(db, "R01", tmp_path / "R01.wbk").path
    store = Store.open(package)
    veto = next(i for i in store.indicators() if i.kind.value == "veto")
    first = store.scores()[0]
    store.set_score(first.target_kind, first.target_id, veto.code, Decimal(1))
    store.close()
    code, out, _ = run("scores", str(package), first.target_id, "-i", veto.code, "--format", "json")
    assert code == 0 and [r["value"] for r in json.loads(out)] == ["是"]


# --- CSV for Excel ----------------------------------------------------------------------------------------------


def test_csv_with_bom_starts_with_the_utf8_bom(built_round: Path) -> None:
    for args in (["sites", str(built_round), "--format", "csv", "--bom"],
                 ["scores", str(built_round), "S64", "--format", "csv", "--bom"],
                 ["status", str(built_round), "--format", "csv", "--bom"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes.startswith(b"\xef\xbb\xbf") and result.stdout_bytes.count(b"\xef\xbb\xbf") == 1
    plain = CliRunner().invoke(cli, ["sites", str(built_round), "--format", "csv"])
    assert not plain.stdout_bytes.startswith(b"\xef\xbb\xbf")
    table = CliRunner().invoke(cli, ["sites", str(built_round), "--bom"])
    assert not table.stdout_bytes.startswith(b"\xef\xbb\xbf")  # only a CSV gets one


def test_the_config_asks_for_a_bom_and_a_bad_value_is_refused(built_round: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    monkeypatch.setenv("WORKBENCH_CONFIG", str(config))
    config.write_text("[cli]\ncsv_bom = true\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["cases", str(built_round), "--format", "csv"]).stdout_bytes[:3] == b"\xef\xbb\xbf"
    config.write_text('[cli]\ncsv_bom = "yes"\n', encoding="utf-8")
    code, out, err = run("cases", str(built_round), "--format", "csv")
    assert code == 1 and out == "" and "csv_bom" in err and "true or false" in err


def test_a_refused_lookup_writes_no_bom(built_round: Path) -> None:
    result = CliRunner().invoke(cli, ["scores", str(built_round), "S64", "--round", "1999", "--format", "csv",
                                      "--bom"])
    assert result.exit_code == 1 and result.stdout_bytes == b""


# --- completion -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nosort -F _workbench_completion workbench"),
                                               ("zsh", "#compdef workbench"), ("fish", "complete --no-files")])
def test_completion_prints_the_script_for_each_shell(shell: str, marker: str) -> None:
    code, out, _ = run("completion", shell)
    assert code == 0 and marker in out and "_WORKBENCH_COMPLETE" in out
    assert f"workbench completion {shell}" in README.read_text(encoding="utf-8")


def test_the_bash_script_completes_commands_and_choices(tmp_path: Path) -> None:
    import shutil
    import sys

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    _, script, _ = run("completion", "bash")
    exe = Path(sys.executable).parent / "workbench"
    probe = (f'{script}\nCOMP_WORDS=(workbench compl); COMP_CWORD=1; _workbench_completion {exe}; '
             'echo "${COMPREPLY[*]}"')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.split() == ["completion"]


# --- usage errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "zh"), [
    (["init", "x.db"], "缺少选项 --round"),
    (["scores", "x.db", "q", "--format", "xml"], "'--format' 的值无效，应为以下之一"),
    (["nonsense"], "没有命令 nonsense"),
    (["scores"], "缺少参数 DB"),
    (["sites", "a", "b", "c"], "多余的参数"),
])
def test_usage_errors_are_bilingual_and_exit_2(args: list[str], zh: str, tmp_path: Path) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == ""
    line = err.strip().splitlines()[-1]
    assert line.startswith("用法错误 / usage error: ") and zh in line
    assert " / " in line.split(zh, 1)[1]  # the English follows
    assert not (tmp_path / "x.db").exists()


# --- scores: totals and refusals --------------------------------------------------------------------------------


def test_scores_totals_show_total_grade_and_rank_of_each_round(built_round: Path) -> None:
    from workbench.consolidation.report import previous_totals
    from workbench.scoring.indicators import IndicatorTree
    from workbench.scoring.rules import Rules

    store = Store.open(built_round)
    _, past = previous_totals(store, IndicatorTree(store.indicators()), Rules.from_mapping(store.rules_mapping()))
    store.close()
    sites = {k.id: v for k, v in past.items() if k.kind == TargetKind.SITE}
    expected_rank = 1 + len({v for v in sites.values() if v > sites["S64"]})
    code, out, _ = run("scores", str(built_round), "S64", "-i", "C4.3", "--totals", "--format", "json")
    assert code == 0
    totals = {t["round"]: t for t in json.loads(out, parse_float=Decimal)["totals"]}
    assert totals["2021"]["total"] == sites["S64"] and totals["2021"]["rank"] == expected_rank
    assert totals["2021"]["grade"]
    assert totals["2022"]["total"] is None and totals["2022"]["grade"] == "未评审"  # nothing merged yet
    code, table, _ = run("scores", str(built_round), "S64", "--totals")
    assert code == 0 and "总分" in table and "排名" in table and str(sites["S64"]) in table


def test_an_unknown_round_or_reviewer_is_refused_naming_the_valid_ones(built_round: Path) -> None:
    code, out, err = run("scores", str(built_round), "S64", "--round", "2020")
    assert code == 1 and out == "" and "no round '2020'" in err and "2021、2022" in err
    code, out, err = run("scores", str(built_round), "S64", "--reviewer", "R99")
    assert code == 1 and out == "" and "R99" in err and "R01、R02" in err and "R09" in err


# --- indicators -------------------------------------------------------------------------------------------------


def test_indicators_mark_groups_apart_from_leaves_in_chinese(built_round: Path) -> None:
    code, out, _ = run("indicators", str(built_round))
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert rows["A"][2] == "分组" and rows["A1"][2] == "分组"
    assert rows["A1.1"][2] == "评分" and rows["A1.1"][-1] == "A1"
    assert "score" not in out
    code, out, _ = run("indicators", str(built_round), "--format", "json")
    by_code = {d["code"]: d for d in json.loads(out, parse_float=Decimal)}
    assert by_code["A"]["leaf"] is False and by_code["A"]["kind"] == "group" and by_code["A"]["step"] is None
    assert by_code["A1.1"] == {"code": "A1.1", "name": "领导机制", "kind": "score", "leaf": True,
                               "max": Decimal(2), "step": Decimal("0.5"), "applies_to": "site", "parent": "A1"}


# --- local time -------------------------------------------------------------------------------------------------


def test_tables_show_local_time_and_csv_keeps_utc(round_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.signed.keyring import add_key
    from workbench.signed.keys import generate_secret_key

    add_key(round_db, "R01", generate_secret_key().public.line)
    store = Store.open(round_db)
    store.conn.execute("UPDATE keys SET added_at = '2022-06-01T09:30:00Z'")
    store.conn.commit()
    store.close()
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        _, table, _ = run("keys", "list", str(round_db))
        _, csv_text, _ = run("keys", "list", str(round_db), "--format", "csv")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "2022-06-01 17:30:00" in table and "09:30" not in table
    assert "2022-06-01T09:30:00Z" in csv_text
