"""workbench scores / sites / cases / indicators as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.store.db import Store


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_scores_shows_last_years_consolidated_value(built_round: Path) -> None:
    code, out, _ = run("scores", str(built_round), "深圳", "--indicator", "互动交流", "--format", "json")
    assert code == 0
    rows = json.loads(out, parse_float=Decimal)
    assert rows and all(r["target"] == "广东省深圳市" and r["target_id"] == "S64" and r["target_kind"] == "site"
                        and r["indicator"] == "C4.3" and r["indicator_name"] == "互动交流" for r in rows)
    assert {r["round"] for r in rows} == {"2021"}
    with open(Path(__file__).parent.parent / "workbench/fixtures/demo-2022/results-2021.csv", encoding="utf-8") as fh:
        expected = next(r["得分"] for r in csv.DictReader(fh) if r["对象编号"] == "S64" and r["指标代码"] == "C4.3")
    # 得分小数位 (default 2) places, at least the step's + 1: as the report shows consolidated values
    assert rows[0]["consolidated"] == Decimal(expected)
    assert f'"consolidated": {Decimal(expected):.2f}' in out  # a number, exactly as shown: 4.00, not "4.00"


@pytest.mark.parametrize("query", ["gdsz", "shenzhen", "S64", "广东省深圳市"])
def test_scores_query_by_pinyin_initials_id_and_name(built_round: Path, query: str) -> None:
    code, out, _ = run("scores", str(built_round), query, "-i", "C4.3")
    assert code == 0
    assert out.splitlines()[0] == "广东省深圳市（S64）"


def test_scores_group_indicator_means_every_leaf_beneath(built_round: Path) -> None:
    code, out, _ = run("scores", str(built_round), "北京市", "-i", "C4", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) > 1 and all(r["指标"].startswith("C4.") for r in rows)


def test_scores_no_match_exits_1_with_nearest_names(built_round: Path) -> None:
    code, _, err = run("scores", str(built_round), "qqqqxxxx")
    assert code == 1
    assert "没有与「qqqqxxxx」匹配" in err and "nearest" in err


def test_scores_filters_round_and_reviewer_in_a_package(package_path: Path) -> None:
    store = Store.open(package_path)
    first = store.scores()[0]
    store.set_score(first.target_kind, first.target_id, first.indicator, None, note="待核实")
    store.close()
    code, out, _ = run("scores", str(package_path), first.target_id, "--reviewer", "R01", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows and {r["reviewer"] for r in rows} == {"R01"} and {r["round"] for r in rows} == {"2022"}
    assert any(r["note"] == "待核实" for r in rows)
    code, out, _ = run("scores", str(package_path), first.target_id, "--round", "2021", "--format", "json")
    assert code == 0 and {r["round"] for r in json.loads(out)} <= {"2021"}


def test_listings_and_formats(built_round: Path) -> None:
    code, out, _ = run("sites", str(built_round), "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 65
    code, out, _ = run("indicators", str(built_round), "hdjl", "--format", "json")
    assert code == 0 and json.loads(out)[0]["name"] == "互动交流"
    code, out, _ = run("cases", str(built_round), "C001")
    assert code == 0 and "C001" in out.splitlines()[2]


def test_table_output_aligns_cjk_columns(built_round: Path) -> None:
    from workbench.cli.output import display_width

    _, out, _ = run("sites", str(built_round))
    lines = out.splitlines()
    region_col = display_width(lines[0].split("地区")[0])
    for line in lines[2:6]:
        third = [m.start() for m in re.finditer(r"\S+", line)][2]
        assert display_width(line[:third]) == region_col


def test_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    code, _, err = run("scores", str(junk), "深圳")
    assert code == 1 and "不是工作台数据库" in err
    code, _, err = run("sites", str(tmp_path / "missing.db"))
    assert code == 1 and "找不到文件" in err


def test_lookup_path_imports_nothing_heavy(built_round: Path) -> None:
    probe = (
        "import sys\n"
        "from workbench.cli.main import cli\n"
        "try:\n"
        f"    cli(['scores', {str(built_round)!r}, 'gdsz', '-i', 'hdjl'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = [m for m in ('textual', 'openpyxl', 'pypinyin', 'sqlite_utils') if m in sys.modules]\n"
        "    print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "广东省深圳市" in out
    assert "HEAVY []" in out


def test_every_command_has_help_with_an_example() -> None:
    for name, command in cli.commands.items():
        assert command.help, name
        if not isinstance(command, click.Group):
            assert "workbench" in command.help, f"{name} help has no example"
