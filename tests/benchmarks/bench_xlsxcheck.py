"""Benchmark: check_xlsx on an 18k-row export against merely reading its sheets with python-calamine.

Run from the repository root:  python tests/benchmarks/bench_xlsxcheck.py [--rows 18000] [--repeat 7] [--file X.xlsx]

Builds a worksheet shaped like the reviewer export (评分表 18,000 rows × 13 columns, 汇总, a veryHidden
signature sheet) with openpyxl write-only, or takes --file. Then times, interleaved A B A B …, check_xlsx and
calamine reading every sheet, and prints both medians. DESIGN §9 allows verify 3× calamine's read; verify
reads the sheets with calamine itself (1×) and still has signatures, the payload and the cell-by-cell
comparison to do, so the pre-check's own floor is 1× calamine. Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the benchmarks package, as pytest and mypy name it

from benchmarks.figures import ratio_figure, series
from workbench.signed.xlsxcheck import check_xlsx

FLOOR = 1.0  # check_xlsx ÷ calamine read, its share of verify's 3×
HEADERS = ["对象类型", "对象编号", "对象名称", "指标代码", "指标名称", "指标类型", "满分", "步长", "得分", "备注",
           "佐证链接", "更新时间", "版本"]


def build_export(path: Path, rows: int) -> Path:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    scores = book.create_sheet("评分表")
    scores.append(HEADERS)
    for i in range(rows):
        scores.append(["网站", f"S{i // 120:04d}", f"广东省深圳市第{i // 120}号政府门户网站", f"A{i % 120:03d}",
                       f"第{i % 120}项指标（互动交流）", "评分", 5, "0.5", str(i % 11 / 2), "备注" * (i % 3),
                       f"https://www.gov.cn/evidence/{i}", "2022-05-01T08:00:00Z", i % 5 + 1])
    summary = book.create_sheet("汇总")
    summary.append(["对象编号", "总分", "等级"])
    for t in range(rows // 120 + 1):
        summary.append([f"S{t:04d}", "88.5", "优秀"])
    signature = book.create_sheet("签名")
    signature.sheet_state = "veryHidden"
    signature.append(["format", "workbench-signature/1"])
    book.save(path)
    return path


def read_with_calamine(path: Path) -> None:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()


def seconds(action: Callable[[Path], object], path: Path) -> float:
    start = time.perf_counter()
    action(path)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=18_000)
    parser.add_argument("--repeat", type=int, default=7, help="interleaved runs of each (at least 5)")
    parser.add_argument("--file", type=Path, help="measure this .xlsx instead of a generated one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        path = args.file or build_export(Path(scratch) / "export.xlsx", args.rows)
        print(f"file: {path.name}, {path.stat().st_size / 2**20:.1f} MiB")
        check_xlsx(path)  # warm: imports, page cache
        read_with_calamine(path)
        checks: list[float] = []
        reads: list[float] = []
        for _ in range(max(args.repeat, 5)):
            checks.append(seconds(check_xlsx, path))
            reads.append(seconds(read_with_calamine, path))

    print("  " + series("check_xlsx", checks))
    print("  " + series("calamine read", reads))
    ok = ratio_figure("check_xlsx ÷ calamine read", checks, reads, FLOOR)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
