"""Long work on a round: import-results streamed (every problem placed, nothing written), package --all, what a
package carries of the past, progress bars on a terminal only, keygen asking again."""

from __future__ import annotations

import csv
import os
import pty
import select
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.setup import results
from workbench.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
RESULTS_2021 = ROOT / "workbench" / "fixtures" / "demo-2022" / "results-2021.csv"
WORKBENCH = Path(sys.executable).parent / "workbench"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def rows_2021() -> list[list[str]]:
    with open(RESULTS_2021, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def consolidated(db: Path, round_id: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT * FROM consolidated WHERE round = ? ORDER BY 2, 3, 4", (round_id,)).fetchall()
    finally:
        conn.close()


# --- import-results, streamed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [20_000, 7])  # duplicates within one batch and across batches
def test_every_bad_row_is_placed_and_a_replaced_round_stays_as_it_was(
    round_db: Path, tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "BATCH", batch)
    before = consolidated(round_db, "2021")
    rows = rows_2021()
    bad = write(tmp_path / "bad.csv", [*rows, rows[5], ["网站", "S99", "A1.1", "1"], ["网站", "S01", "A1.1", "7"],
                                       ["网站", "S01", "A1.1\u200b", "1"], ["网站", "S02", "A1", "1"], rows[9]])
    code, out, err = run("import-results", str(round_db), str(bad), "--round", "2021", "--replace")
    assert code == 1 and out == ""
    n = len(rows)
    assert f"bad.csv:{n + 1}:3: bad.csv!C{n + 1} (指标代码): 重复结果（首次出现于 bad.csv:6:3）" in err
    assert f"bad.csv:{n + 6}:3: bad.csv!C{n + 6} (指标代码): 重复结果（首次出现于 bad.csv:10:3）" in err
    assert f"bad.csv:{n + 2}:2: bad.csv!B{n + 2} (对象编号): 未知网站「S99」" in err
    assert f"bad.csv:{n + 3}:4: bad.csv!D{n + 3} (得分)" in err and "收到 7" in err
    assert f"bad.csv:{n + 4}:3" in err and "U+200B" in err
    assert f"bad.csv:{n + 5}:3" in err and "不是末级指标" in err
    assert "6 处问题" in err
    assert consolidated(round_db, "2021") == before  # the earlier import is untouched


def test_a_streamed_import_equals_the_file(round_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "BATCH", 100)
    code, out, _ = run("import-results", str(round_db), str(RESULTS_2021), "--round", "2020")
    assert code == 0 and "2404 条结果" in out
    assert [r[1:5] for r in consolidated(round_db, "2020")] == [r[1:5] for r in consolidated(round_db, "2021")]


def test_a_gbk_csv_is_refused_naming_the_line(round_db: Path, tmp_path: Path) -> None:
    rows = [*rows_2021()[:3], ["网站", "S01", "A1.1", "1"]]
    rows[2][3] = "不适用"
    path = write(tmp_path / "gbk.csv", rows, encoding="gbk")
    code, _, err = run("import-results", str(round_db), str(path), "--round", "2020")
    assert code == 1 and "not UTF-8" in err and "gbk.csv" in err
    assert consolidated(round_db, "2020") == []


def test_an_error_value_and_an_empty_file_are_refused(round_db: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "na.csv", [rows_2021()[0], ["网站", "S01", "A1.1", "#N/A"]])
    code, _, err = run("import-results", str(round_db), str(path), "--round", "2020")
    assert code == 1 and "na.csv:2:4" in err and "#N/A" in err
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    code, _, err = run("import-results", str(round_db), str(tmp_path / "empty.csv"), "--round", "2020")
    assert code == 1 and "header row is missing" in err


# --- package --all and history --------------------------------------------------------------------------------


def test_package_all_issues_every_reviewer_in_one_pass(round_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "packages"
    code, text, _ = run("package", str(round_db), "--all", "-o", str(out))
    assert code == 0, text
    names = sorted(p.name for p in out.glob("*.wbk"))
    assert names == [f"R0{i}.wbk" for i in range(1, 10)] and "9 packages written" in text
    store = Store.open(round_db)
    nonces = {r[0]: r[1] for r in store.conn.execute("SELECT reviewer_id, nonce FROM packages")}
    store.close()
    for name in names:
        package = Store.open(out / name, expect="package")
        assert package.meta["nonce"] == nonces[package.reviewer_id or ""]
        package.close()
    code, _, err = run("package", str(round_db), "--all", "-o", str(out))
    assert code == 1 and "already exist, nothing was written" in err
    code, _, err = run("package", str(round_db), "-o", str(tmp_path / "x.wbk"))
    assert code == 2 and "--reviewer ID or --all" in err


def test_a_package_carries_the_last_rounds_results_unless_told(round_db: Path, tmp_path: Path) -> None:
    assert run("import-results", str(round_db), str(RESULTS_2021), "--round", "2019")[0] == 0

    def past(package: Path) -> set[str]:
        conn = sqlite3.connect(package)
        try:
            return {r[0] for r in conn.execute("SELECT DISTINCT round FROM consolidated")}
        finally:
            conn.close()

    for history, expected in (([], {"2021"}), (["--history", "all"], {"2019", "2021"}), (["--history", "0"], set())):
        out = tmp_path / f"R01-{len(expected)}.wbk"
        code, text, _ = run("package", str(round_db), "--reviewer", "R01", "-o", str(out), *history)
        assert code == 0, text
        assert past(out) == expected
    code, _, err = run("package", str(round_db), "--reviewer", "R01", "-o", str(tmp_path / "y.wbk"), "--history",
                       "-1")
    assert code == 2 and "--history" in err and not (tmp_path / "y.wbk").exists()


# --- progress bars --------------------------------------------------------------------------------------------


def _on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the workbench with stderr on a pseudo-terminal; (exit code, what the terminal showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(WORKBENCH), *args], stdout=subprocess.DEVNULL, stderr=follower, stdin=follower)
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(timeout=120), shown.decode("utf-8", "replace")


def test_long_commands_show_progress_on_a_terminal_only(round_db: Path, tmp_path: Path) -> None:
    code, shown = _on_a_terminal(["import-results", str(round_db), str(RESULTS_2021), "--round", "2020"])
    assert code == 0 and "导入往期结果 / importing" in shown and "100%" in shown
    code, shown = _on_a_terminal(["package", str(round_db), "--all", "-o", str(tmp_path / "p")])
    assert code == 0 and "评审包 / packages" in shown
    piped = subprocess.run([str(WORKBENCH), "import-results", str(round_db), str(RESULTS_2021), "--round", "2019"],
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == ""


# --- keygen ---------------------------------------------------------------------------------------------------


def test_keygen_asks_again_when_the_passphrases_differ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    typed = iter(["one", "two", "same", "same"])
    monkeypatch.delenv("WORKBENCH_PASSPHRASE", raising=False)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    code, out, err = run("keygen", "-o", str(tmp_path / "k.key"))
    assert code == 0, err
    assert "the two passphrases differ" in err and "try again (1/3)" in err
    assert (tmp_path / "k.key").is_file() and "key id" in out


def test_keygen_gives_up_after_three_mismatches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    typed = iter(["a", "b", "c", "d", "e", "f"])
    monkeypatch.delenv("WORKBENCH_PASSPHRASE", raising=False)
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(typed))
    code, _, err = run("keygen", "-o", str(tmp_path / "k.key"))
    assert code == 1 and "differ" in err and not (tmp_path / "k.key").exists()


def test_a_file_of_bad_rows_lists_the_first_thousand(round_db: Path, tmp_path: Path) -> None:
    rows = [rows_2021()[0], *(["网站", f"X{n}", "A1.1", "1"] for n in range(1500))]
    code, _, err = run("import-results", str(round_db), str(write(tmp_path / "bad.csv", rows)), "--round", "2020")
    assert code == 1 and "only the first 1000 are listed" in err
    assert err.count("未知网站") == 1000 and consolidated(round_db, "2020") == []
