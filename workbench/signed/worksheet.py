"""The reviewer worksheet's layout, shared by export, verify and import: sheets, columns, cell texts, 汇总."""

from __future__ import annotations

import base64
import io
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from workbench.model import TARGET_LABELS, Indicator, IndicatorKind, TargetKind

if TYPE_CHECKING:
    from workbench.scoring.levels import Level

SCORES_SHEET = "评分表"
SUMMARY_SHEET = "汇总"
SIGNATURE_SHEET = "workbench_signature"
BLANK_SHEET = "workbench_blank"

PAYLOAD_FORMAT = "workbench-export/1"
SIGNATURE_FORMAT = "workbench-signature/2"
"""The payload in base64 chunks: ASCII only, so that no office suite stores a chunk as rich text (LibreOffice
splits mixed Chinese and Latin text into font runs and, on its second re-save, adds a line break to each)."""
SIGNATURE_FORMAT_V1 = "workbench-signature/1"
"""Written before: the payload as UTF-8 text in chunks of 30,000 characters. Still read."""
SIGNATURE_FORMATS = (SIGNATURE_FORMAT, SIGNATURE_FORMAT_V1)
BLANK_FORMAT = "workbench-blank/1"
CHUNK_CHARS = 8_000  # base64 characters a cell; far below Excel's 32,767

# DESIGN §7: these headers, in this order, whatever the UI language.
COLUMNS: tuple[str, ...] = (
    "对象类型", "对象编号", "对象名称", "指标代码", "指标名称", "指标类型",
    "满分", "步长", "得分", "备注", "佐证链接", "更新时间", "版本",
)
COL_KIND, COL_TARGET, COL_NAME, COL_CODE, COL_IND_NAME, COL_IND_KIND = range(6)
COL_MAX, COL_STEP, COL_VALUE, COL_NOTE, COL_EVIDENCE, COL_UPDATED, COL_REVISION = range(6, 13)
# Columns whose visible cell is a number when the signed text is one.
NUMERIC_COLUMNS = frozenset({COL_MAX, COL_STEP, COL_VALUE, COL_REVISION})



@dataclass(frozen=True)
class ScoreValidation:
    """The data validation the export puts on 得分 (column I), and the only one a signed worksheet may hold:
    its texts show when a cell is selected or refused, so any other would be text the reviewer never signed."""

    type: Literal["custom"] = "custom"
    formula: str = (
        'OR(I2="",I2="不适用",AND(F2="否决",OR(I2="是",I2="否")),'
        'AND(F2<>"否决",ISNUMBER(I2),I2>=0,OR(F2="扣分",I2<=G2),IF(H2>0,MOD(ROUND(I2/H2,6),1)=0,TRUE)))'
    )
    error_title: str = "得分无效"
    error: str = ("得分须为 0 至满分、步长整数倍的数值（扣分项为扣分数，可超过满分按满分计）；"
                  "否决项填“是”或“否”；不适用填“不适用”。")
    prompt_title: str = "得分"
    prompt: str = "留空 = 未评分；不适用 = N/A；否决项填 是/否"

    def sqref(self, rows: int) -> str:
        return f"I2:I{rows + 1}"

    def formulas(self) -> tuple[str, str]:
        """The formula as written, and as LibreOffice writes it back (TRUE as 1)."""
        return self.formula, self.formula.replace(",TRUE)", ",1)")


VALIDATION = ScoreValidation()

LEVELS_PROMPT_TITLE = "评分细则"
MAX_PROMPT = 255  # Excel refuses a longer input message
MAX_PROMPT_TITLE = 32
_ROW_REFS = re.compile(r"(?<![A-Z0-9$])([FGHI])2(?![0-9])")


@dataclass(frozen=True)
class ValidationSpec:
    """One data validation on 得分 as the export writes it, and as verify expects to find it."""

    type: Literal["custom", "list"]
    formula: str
    """formula1 as written, relative to the first cell of `rows`."""
    prompt_title: str
    prompt: str
    rows: tuple[int, ...]
    """Sheet rows (from 2) of the 得分 cells it covers, ascending."""
    error_title: str = VALIDATION.error_title
    error: str = VALIDATION.error

    @property
    def sqref(self) -> str:
        """The rows as I-column ranges, consecutive rows joined (I2:I9 I14)."""
        parts: list[str] = []
        start = previous = self.rows[0]
        for row in (*self.rows[1:], None):
            if row is not None and row == previous + 1:
                previous = row
                continue
            parts.append(f"I{start}" if start == previous else f"I{start}:I{previous}")
            if row is not None:
                start = previous = row
        return " ".join(parts)

    def formulas(self) -> tuple[str, ...]:
        """formula1 as written, and as LibreOffice writes it back (TRUE as 1)."""
        return self.formula, self.formula.replace(",TRUE)", ",1)")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score_validations(codes: Sequence[str | None], indicators: Mapping[str, Indicator]) -> tuple[ValidationSpec, ...]:
    """The validations on 得分 for rows holding these indicator codes (row i of `codes` is sheet row i + 2).

    Rows of an indicator without levels share the one general validation (VALIDATION). An indicator with
    scoring levels (评分细则) has its own, whose input message lists them: a list of its values when every value it
    accepts is a level (its dropdown offers them, and 不适用 where allowed), else the general rule's formula."""
    from workbench.scoring.levels import covers_every_value, read_levels

    plain_rows: list[int] = []
    by_code: dict[str, list[int]] = {}
    levels: dict[str, tuple[Level, ...]] = {}
    for index, code in enumerate(codes):
        indicator = indicators.get(code or "")
        found = levels.get(code or "")
        if found is None and indicator is not None:
            found = levels[indicator.code] = read_levels(indicator)
        if found:
            by_code.setdefault(code or "", []).append(index + 2)
        else:
            plain_rows.append(index + 2)
    out: list[ValidationSpec] = []
    if plain_rows:
        out.append(ValidationSpec(VALIDATION.type, VALIDATION.formula, VALIDATION.prompt_title, VALIDATION.prompt,
                                  tuple(plain_rows)))
    for code, rows in by_code.items():
        indicator, found = indicators[code], levels[code]
        prompt = "；".join(f"{level.text} = {level.descriptor}" for level in found)
        prompt += "；不适用 = N/A" if indicator.allow_na else ""
        prompt = _clip(prompt + "；留空 = 未评分", MAX_PROMPT)
        title = _clip(f"{LEVELS_PROMPT_TITLE} {code}", MAX_PROMPT_TITLE)
        if covers_every_value(indicator, found):
            values = [level.text for level in found] + (["不适用"] if indicator.allow_na else [])
            out.append(ValidationSpec("list", '"' + ",".join(values) + '"', title, prompt, tuple(rows)))
        else:
            formula = _ROW_REFS.sub(rf"\g<1>{rows[0]}", VALIDATION.formula)
            out.append(ValidationSpec(VALIDATION.type, formula, title, prompt, tuple(rows)))
    return tuple(out)

SUMMARY_COLUMNS: tuple[str, ...] = ("对象类型", "对象编号", "对象名称", "总分", "等级", "已评", "应评")
SUMMARY_NOTE = (
    "本表由评分表计算得出，仅供查看；核验与合并时重新计算，不以本表为准。"
    " / Recomputed from 评分表 for reading only; verification and merging recompute it and never trust it."
)

TARGET_KINDS = {label: kind for kind, label in TARGET_LABELS.items()}
INDICATOR_LABELS = {
    IndicatorKind.SCORE: "评分", IndicatorKind.VETO: "否决",
    IndicatorKind.DEDUCT: "扣分", IndicatorKind.BONUS: "加分",
}

# Characters XML 1.0 cannot carry; a spreadsheet cannot hold them, so the worksheet and payload drop them.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A spreadsheet would read a text starting with these as a formula (or an error value): written as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ERROR_TEXTS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})

Row = list[Any]  # one payload row: 13 values, text or None, 版本 an int


def clean_text(text: str | None) -> str | None:
    """Text as the worksheet and the payload both hold it: NFC, `\\n` line ends, no XML-illegal
    characters; empty is None."""
    if text is None:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if not (text.isascii() or unicodedata.is_normalized("NFC", text)):
        text = unicodedata.normalize("NFC", text)
    return text or None


def has_illegal_characters(text: str) -> bool:
    """True for text holding what clean_text removes (NUL and the other C0 controls but tab and newline, and
    the XML-illegal noncharacters): no honest export carries them."""
    return _ILLEGAL.search(text) is not None


def needs_text_guard(text: str) -> bool:
    """True for reviewer text a spreadsheet would otherwise take as a formula or an error value."""
    return text.startswith(FORMULA_PREFIXES) or text in ERROR_TEXTS


def plain_decimal(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 100, 0.5."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def number_text(value: float | int) -> str:
    """A number read from a cell as the shortest decimal text that round-trips (1.5, 2, 0.1)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return plain_decimal(Decimal(repr(value)))


def cell_text(value: object) -> str | None:
    """A cell read by calamine as text for parsing what a reviewer typed; None when empty.

    Raises ValueError for booleans, dates and anything else that is neither text nor a number.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        raise ValueError("a TRUE/FALSE value")
    if isinstance(value, (int, float)):
        return number_text(value)
    raise ValueError(f"a {type(value).__name__} value")


def same_cell(expected: object, actual: object, numeric: bool) -> bool:
    """Whether a cell read back holds the value written (after a spreadsheet may have re-saved it).

    Text must match exactly (after NFC and line-end normalisation); a number cell may stand for a
    numeric text when both are the same decimal number.
    """
    if actual == "":
        actual = None
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(actual, bool):
        return False
    if isinstance(actual, str):
        return clean_text(actual) == (expected if isinstance(expected, str) else str(expected))
    if not numeric or not isinstance(actual, (int, float)):
        return False
    try:
        return Decimal(repr(actual)) == Decimal(str(expected))
    except InvalidOperation:
        return False


def cell_ref(row: int, col: int) -> str:
    """0-based row and column as an A1 reference."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def shown_number(text: str) -> float | int | str:
    """A numeric payload text as the number written into its visible cell; other text as is.

    A float, not a Decimal: openpyxl writes both as "%.16g" of the float, but takes a Decimal through a
    slow type lookup, and an 18k-row export writes ~50k of them. Short decimals round-trip exactly."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return int(value) if value == value.to_integral_value() and "." not in text else float(value)


# ------------------------------------------------------------------------------------------------ 汇总


@dataclass(frozen=True)
class SummaryRow:
    target_kind: TargetKind
    target_id: str
    name: str
    total: Decimal | None
    grade: str | None
    scored: int
    rows: int

    def cells(self) -> list[object]:
        return [TARGET_LABELS[self.target_kind], self.target_id, self.name, self.total, self.grade,
                self.scored, self.rows]


def summarise(
    rows: Sequence[Row], indicators: Iterable[Any], rules_mapping: dict[str, str],
    values: Sequence[Any] | None = None,
) -> list[SummaryRow]:
    """Per target, in worksheet order: total and grade (when every applicable leaf is in the sheet), and
    how many of its rows are scored. `values` are the rows' parsed values when the caller has them;
    otherwise the payload texts are parsed (assumed valid)."""
    from workbench.scoring.indicators import IndicatorTree, compute_total, parse_value
    from workbench.scoring.rules import Rules

    tree = IndicatorTree(indicators)
    rules = Rules.from_mapping(rules_mapping)
    if values is None:
        parsed: dict[tuple[str, str], Any] = {}
        values = []
        for row in rows:
            text = row[COL_VALUE]
            if text is not None and (row[COL_CODE], text) not in parsed:
                parsed[(row[COL_CODE], text)] = parse_value(tree.get(row[COL_CODE]), text)
            values.append(None if text is None else parsed[(row[COL_CODE], text)])
    # By the rows' own (type, id) texts, each target's kind looked up once: a sheet has ~100 rows per target.
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    first_rows: dict[tuple[str, str], Row] = {}
    counts: dict[tuple[str, str], int] = {}
    for row, value in zip(rows, values, strict=True):
        key = (row[COL_KIND], row[COL_TARGET])
        target_values = grouped.get(key)
        if target_values is None:
            target_values = grouped[key] = {}
            first_rows[key] = row
            counts[key] = 0
        target_values[row[COL_CODE]] = value
        counts[key] += 1
    leaves = {kind: {leaf.code for leaf in tree.leaves(kind)} for kind in TARGET_LABELS}
    out: list[SummaryRow] = []
    for key, target_values in grouped.items():
        kind, target_id = TARGET_KINDS[key[0]], key[1]
        scored = sum(v is not None for v in target_values.values())
        total: Decimal | None = None
        grade: str | None = None
        if leaves[kind] <= target_values.keys():
            result = compute_total(tree, kind, target_values, rules)
            total, grade = result.total, result.grade or None
        out.append(SummaryRow(kind, target_id, first_rows[key][COL_NAME] or "", total, grade, scored,
                              counts[key]))
    return out


def summary_grid(summary: Sequence[SummaryRow]) -> list[list[object]]:
    """The 汇总 sheet's cells: header, one row per target, an empty row, the note."""
    return [list(SUMMARY_COLUMNS), *(s.cells() for s in summary), [], [SUMMARY_NOTE]]


# --------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class SheetData:
    name: str
    visible: bool
    cells: list[list[Any]]


def display_name(path: Path) -> str:
    """A file's name as a person can read it: as it is when it is text; a name that is not UTF-8 (what unzip
    leaves of a zip made on Chinese Windows) decoded as GBK where that works, else with its bytes escaped."""
    name = path.name
    if _is_text(name):
        return name
    raw = os.fsencode(name)
    try:
        return raw.decode("gbk")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="backslashreplace")


def _is_text(name: str) -> bool:
    """False for a file name that carries undecodable bytes (os.fsdecode keeps them as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_sheets(path: Path) -> list[SheetData]:
    """Every sheet's cells from A1 (calamine), with whether a person sees the sheet."""
    import python_calamine

    if _is_text(str(path)):
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    else:  # calamine cannot open a name that is not UTF-8: hand it the bytes instead
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    try:
        out = []
        for meta in workbook.sheets_metadata:
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                out.append(SheetData(meta.name, meta.visible == python_calamine.SheetVisibleEnum.Visible, [["?"]]))
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            cells = sheet.to_python(skip_empty_area=False)
            out.append(SheetData(meta.name, meta.visible == python_calamine.SheetVisibleEnum.Visible, cells))
        return out
    finally:
        workbook.close()


def payload_chunks(payload: bytes) -> list[str]:
    """The signed payload as the signature sheet holds it (SIGNATURE_FORMAT): base64, CHUNK_CHARS a cell."""
    text = base64.b64encode(payload).decode("ascii")
    return [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


def join_payload(fmt: str, chunks: Sequence[str]) -> bytes | None:
    """The payload bytes from a signature sheet's chunks in either format; None when they are not base64."""
    if fmt == SIGNATURE_FORMAT_V1:
        return "".join(chunks).encode("utf-8", "surrogatepass")
    text = "".join(chunks)
    if not text.isascii():
        return None
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error: a character outside the alphabet, or bad padding
        return None


def key_values(sheet: SheetData) -> dict[str, list[str]]:
    """A two-column marker or signature sheet as key → every value given for it (strings only)."""
    out: dict[str, list[str]] = {}
    for row in sheet.cells:
        key = row[0] if row else None
        if not isinstance(key, str) or not key:
            continue
        value = row[1] if len(row) > 1 else ""
        out.setdefault(key, []).append(value if isinstance(value, str) else str(value))
    return out


def has_data(cells: Sequence[Sequence[Any]]) -> tuple[int, int] | None:
    """The first non-empty cell (row, col), or None."""
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            if value is not None and value != "":
                return r, c
    return None
