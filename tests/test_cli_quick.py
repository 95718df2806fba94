"""A plain lookup command line runs without click and answers exactly as the click command does; any other goes to
click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.cli.quick import _parse


def through_entry_point(*args: str) -> tuple[int, str, str]:
    """`workbench ARGS` as the console script runs it, and whether click was loaded."""
    probe = (
        "import sys\nfrom workbench.cli.main import main\n"
        f"sys.argv = ['workbench', *{list(args)!r}]\n"
        "try:\n    main()\n    code = 0\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
        "sys.stdout.flush()\nprint('CLICK', 'click' in sys.modules, file=sys.stderr)\nsys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr


LOOKUPS = [
    ("scores", "{db}", "深圳", "--indicator", "互动交流"),
    ("scores", "{db}", "gdsz", "-i", "C4.3", "--format", "json"),
    ("scores", "{db}", "--format=csv", "北京市", "-i", "C4"),
    ("scores", "{db}", "S64", "--round", "2021", "--reviewer", "R01"),
    ("scores", "{db}", "qqqqxxxx"),
    ("scores", "{missing}", "深圳"),
    ("sites", "{db}"),
    ("sites", "{db}", "gd", "--format", "csv"),
    ("cases", "{db}", "C001"),
    ("indicators", "{db}", "hdjl", "--format", "json"),
    ("indicators", "{db}", "qqqqxxxx"),
]


@pytest.mark.parametrize("template", LOOKUPS, ids=[" ".join(t) for t in LOOKUPS])
def test_a_plain_lookup_runs_without_click_and_prints_what_the_command_prints(
    built_round: Path, tmp_path: Path, template: tuple[str, ...]
) -> None:
    args = [a.format(db=built_round, missing=tmp_path / "missing.db") for a in template]
    code, out, err = through_entry_point(*args)
    assert err.endswith("CLICK False\n"), err
    clicked = CliRunner().invoke(cli, args)
    assert (code, out, err.removesuffix("CLICK False\n")) == (clicked.exit_code, clicked.stdout, clicked.stderr)


@pytest.mark.parametrize("args", [
    [],
    ["scores"],
    ["scores", "{db}"],
    ["scores", "{db}", "深圳", "extra"],
    ["scores", "{db}", "深圳", "--help"],
    ["scores", "{db}", "深圳", "-h"],
    ["scores", "{db}", "深圳", "--format", "xml"],
    ["scores", "{db}", "深圳", "-i"],
    ["scores", "{db}", "深圳", "-i", "-5"],
    ["scores", "{db}", "深圳", "-i=C4"],
    ["scores", "{db}", "深圳", "--unknown", "x"],
    ["scores", "{db}", "--", "深圳"],
    ["sites", "{dir}"],
    ["sites", "{db}", "gd", "--indicator", "x"],
    ["keys", "list", "{db}"],
    ["merge", "{db}"],
])
def test_anything_but_a_plain_lookup_is_left_to_click(built_round: Path, tmp_path: Path, args: list[str]) -> None:
    assert _parse([a.format(db=built_round, dir=tmp_path) for a in args]) is None


def test_what_click_refuses_is_refused_as_click_does(built_round: Path, tmp_path: Path) -> None:
    for args in (["scores", str(built_round), "深圳", "--format", "xml"], ["sites", str(tmp_path)]):
        code, _, err = through_entry_point(*args)
        assert code == 2 and "CLICK True" in err
