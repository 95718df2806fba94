"""Benchmark: signed export of an 18k-row package and its verification, as ratios against their floors.

Run from the repository root:  python tests/benchmarks/bench_export.py [--runs 5] [--dir bench-out/export]

- export: `export_package` (read the package, sign, write 评分表/汇总/signature) against writing the very same
  cells with plain openpyxl write-only; floor ≤ 1.25× (DESIGN §9).
- verify: `verify_export` (hostile-file checks, signature, every check of DESIGN §7) against merely reading
  the file's sheets with python-calamine; floor ≤ 3×.

Each figure is the median of --runs interleaved runs (A B A B …). The key file is written with a cheap
scrypt cost so that the ratio measures the export, not the deliberately memory-hard passphrase check; the
real unlock time is printed beside it. The package: ~150 targets × 120 leaves from
tests/benchmarks/synthetic.py (1,500 sites, 30 reviewers, 3 reviews each). Exit status 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the benchmarks package, as pytest and mypy name it

from benchmarks.figures import ratio_figure, series
from benchmarks.synthetic import make_round
from workbench.setup.package import make_package
from workbench.signed.export import export_package
from workbench.signed.keyring import add_key
from workbench.signed.keys import (
    SCRYPT_N,
    generate_secret_key,
    load_secret_key,
    write_secret_key,
)
from workbench.signed.verify import verify_export
from workbench.store.db import Store, transaction
from workbench.store.schema import KIND_ROUND

EXPORT_FLOOR = 1.25
VERIFY_FLOOR = 3.0
PASSPHRASE = "bench"
SITES, REVIEWERS, REVIEWS, LEAVES = 1_500, 30, 3, 120


def build(work: Path) -> tuple[Path, Path, Path]:
    """The round, a key registered for its busiest reviewer, and that reviewer's scored package."""
    round_db = make_round(work / "round.db", sites=SITES, cases=0, leaves=LEAVES, reviewers=REVIEWERS,
                          reviews=REVIEWS, past_rounds=0)
    store = Store.open(round_db, expect=KIND_ROUND)
    reviewer = store.conn.execute(
        "SELECT reviewer_id FROM assignments GROUP BY reviewer_id ORDER BY count(*) DESC, reviewer_id LIMIT 1"
    ).fetchone()[0]
    store.close()
    secret = generate_secret_key()
    key = work / "reviewer.key"
    write_secret_key(key, secret, PASSPHRASE, scrypt_n=2**10)
    add_key(round_db, reviewer, secret.public.line)
    package = make_package(round_db, reviewer, work / "package.wbk").path
    # The reviewer's work as the round holds it (values, notes, times, revisions), plus a few awkward notes.
    source = Store.open(round_db, expect=KIND_ROUND)
    rows = source.conn.execute(
        "SELECT value, note, updated_at, revision, target_kind, target_id, indicator FROM scores WHERE reviewer_id = ?",
        (reviewer,)).fetchall()
    source.close()
    target = Store.open(package, expect="package")
    with transaction(target.conn):
        target.conn.executemany(
            "UPDATE scores SET value = ?, note = ?, updated_at = ?, revision = ? "
            "WHERE target_kind = ? AND target_id = ? AND indicator = ?", [tuple(r) for r in rows])
        target.conn.execute("UPDATE scores SET note = '=HYPERLINK(\"x\")', evidence = 'https://www.gov.cn/' "
                            "WHERE rowid % 97 = 0")
    count = target.conn.execute("SELECT count(*) FROM scores").fetchone()[0]
    target.close()
    print(f"package: reviewer {reviewer}, {count:,} rows", file=sys.stderr)
    return round_db, package, key


def plain_write(cells: dict[str, list[list[Any]]], out: Path) -> None:
    """The same cells, plain openpyxl write-only: no styles, validation, signing or database."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for name, rows in cells.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(out)


def calamine_read(path: Path) -> None:
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    for name in workbook.sheet_names:
        workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    workbook.close()


def sheet_cells(path: Path) -> dict[str, list[list[Any]]]:
    import python_calamine

    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    return {name: [[v if v != "" else None for v in row] for row in workbook.get_sheet_by_name(name).to_python()]
            for name in workbook.sheet_names}


def interleaved(runs: int, a: Callable[[], object], b: Callable[[], object]) -> tuple[list[float], list[float]]:
    times_a: list[float] = []
    times_b: list[float] = []
    for i in range(runs):
        for fn, times in ((a, times_a), (b, times_b)) if i % 2 == 0 else ((b, times_b), (a, times_a)):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return times_a, times_b


def report(name: str, measured: list[float], baseline: list[float], baseline_name: str, floor: float) -> bool:
    print("  " + series(name, measured) + "; " + series(baseline_name, baseline))
    return ratio_figure(f"{name} ÷ {baseline_name}", measured, baseline, floor)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per figure (at least 5)")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-export-"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    round_db, package, key = build(work)

    signed = work / "signed.xlsx"
    export_package(package, signed, key_file=key, passphrase=PASSPHRASE, allow_incomplete=True)
    cells = sheet_cells(signed)
    rows = len(cells["评分表"]) - 1

    def signed_export() -> None:
        export_package(package, signed, key_file=key, passphrase=PASSPHRASE, allow_incomplete=True)

    export_time, plain_time = interleaved(args.runs, signed_export, lambda: plain_write(cells, work / "plain.xlsx"))
    verify_time, read_time = interleaved(args.runs, lambda: verify_export(signed, round_db),
                                         lambda: calamine_read(signed))

    real_key = work / "real.key"
    write_secret_key(real_key, generate_secret_key(), PASSPHRASE)
    started = time.perf_counter()
    load_secret_key(real_key, PASSPHRASE)
    unlock = time.perf_counter() - started

    print(f"signed export of {rows:,} rows, median of {args.runs} interleaved runs ({work})")
    ok = report("signed export", export_time, plain_time, "plain openpyxl write", EXPORT_FLOOR)
    ok &= report("verify", verify_time, read_time, "calamine read", VERIFY_FLOOR)
    with_unlock = (statistics.median(export_time) + unlock) / statistics.median(plain_time)
    print(f"(unlocking a real key file, scrypt n=2^{SCRYPT_N.bit_length() - 1}: {unlock:.3f} s once per export, "
          f"by design; with it the export ratio would be {with_unlock:.2f}×)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
