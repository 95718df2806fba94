"""Read a coordinator's .csv or .xlsx table into rows keyed by canonical column names.

Headers may be Chinese or English (aliases below); every cell keeps its file:row:column so that
validation can point at it.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from workbench.errors import InputRefused, Problem

#: canonical column → accepted headers (compared after NFKC, case-folding and stripping spaces)
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("代码", "指标代码", "编码", "code"),
    "parent": ("上级", "上级代码", "父级", "parent"),
    "name": ("名称", "指标名称", "网站名称", "姓名", "name"),
    "kind": ("类型", "指标类型", "kind", "type"),
    "max_score": ("分值", "满分", "max", "max_score", "points"),
    "step": ("步长", "step"),
    "applies_to": ("适用", "适用对象", "applies_to", "applies"),
    "allow_na": ("可不适用", "允许不适用", "allow_na", "na_allowed"),
    "description": ("说明", "描述", "description"),
    "id": ("编号", "id"),
    "region": ("地区", "region"),
    "level": ("层级", "级别", "level"),
    "url": ("网址", "url", "链接"),
    "title": ("标题", "案例名称", "title"),
    "government": ("申报单位", "单位名称", "government"),
    "area": ("领域", "area"),
    "summary": ("简介", "摘要", "summary"),
    "synthetic": ("合成", "示例数据", "synthetic"),
    "org": ("单位", "工作单位", "org", "organisation", "organization"),
    "reviewer_id": ("评审专家", "专家编号", "reviewer_id", "reviewer"),
    "target_kind": ("对象类型", "target_kind"),
    "target_id": ("对象编号", "target_id"),
    "coi_override": ("利益冲突豁免", "coi_override"),
    "indicator": ("指标代码", "指标", "indicator"),
    "value": ("得分", "分数", "value", "score"),
    "key": ("规则", "键", "key", "rule"),
    "rule_value": ("值", "value"),
}


def _norm_header(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold().replace(" ", "")


@dataclass(frozen=True)
class Cell:
    value: str
    where: str


@dataclass(frozen=True)
class Table:
    """Data rows (header excluded) as canonical-name → Cell, plus the file's display name."""

    name: str
    rows: list[dict[str, Cell]]
    row_wheres: list[str]


def cell_text(value: object) -> str:
    """A spreadsheet value as text: integral floats lose their '.0', everything NFC and stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return str(Decimal(repr(value)))
    return unicodedata.normalize("NFC", str(value)).strip()


def _raw_rows(path: Path) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [[cell_text(c) for c in row] for row in csv.reader(fh)]
    if suffix in (".xlsx", ".xlsm"):
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
        return [[cell_text(c) for c in row] for row in sheet.to_python(skip_empty_area=False)]
    raise InputRefused([Problem(str(path), "只接受 .csv 或 .xlsx 文件 / only .csv and .xlsx files are accepted")])


def read_table(
    path: str | Path,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    aliases: dict[str, tuple[str, ...]] | None = None,
) -> Table:
    """Read a table; unknown or missing required headers refuse the whole file."""
    path = Path(path)
    aliases = aliases or ALIASES
    display = path.name
    if not path.is_file():
        raise InputRefused([Problem(str(path), "找不到文件 / file not found")])
    try:
        raw = _raw_rows(path)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputRefused(
            [Problem(display, f"无法读取（需 UTF-8 编码）/ cannot be read (UTF-8 expected): {exc}")]
        ) from exc
    except InputRefused:
        raise
    except Exception as exc:  # calamine raises its own types for broken workbooks
        raise InputRefused([Problem(display, f"无法读取该工作簿 / cannot read this workbook: {exc}")]) from exc
    while raw and not any(raw[-1]):
        raw.pop()
    if not raw:
        raise InputRefused([Problem(f"{display}:1:1", "缺少表头行 / the header row is missing")])
    wanted = required + optional
    lookup = {_norm_header(a): canon for canon in wanted for a in aliases[canon]}
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    for col, header in enumerate(raw[0], start=1):
        if not header:
            continue
        canon = lookup.get(_norm_header(header))
        if canon is None:
            continue  # extra columns are allowed: coordinators keep their own notes
        if canon in columns:
            problems.append(Problem(f"{display}:1:{col}", f"表头「{header}」重复 / duplicate header {header!r}"))
        columns[canon] = col
    for canon in required:
        if canon not in columns:
            names = "、".join(aliases[canon])
            problems.append(Problem(
                f"{display}:1", f"缺少必需列（可用表头：{names}）/ required column {canon!r} is missing"
            ))
    if problems:
        raise InputRefused(problems)
    rows: list[dict[str, Cell]] = []
    wheres: list[str] = []
    for line, raw_row in enumerate(raw[1:], start=2):
        if not any(raw_row):
            continue
        row = {}
        for canon, col in columns.items():
            text = raw_row[col - 1] if col - 1 < len(raw_row) else ""
            row[canon] = Cell(text, f"{display}:{line}:{col}")
        for canon in wanted:
            if canon not in row:
                row[canon] = Cell("", f"{display}:{line}")
        rows.append(row)
        wheres.append(f"{display}:{line}")
    return Table(display, rows, wheres)
