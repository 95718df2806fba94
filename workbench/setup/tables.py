"""Read a coordinator's .csv or .xlsx table into rows keyed by canonical column names, refusing what would be misread.

Headers may be Chinese or English (aliases below). Every cell keeps its place, as file:row:column and as the
Excel reference with its header (`sites.xlsx:3:3: sites.xlsx!C3 (地区)`), so that validation can point at it.
An .xlsx passes the hostile-file check before any library reads it. In the columns read, a cell that a
spreadsheet shows otherwise than it stores is refused where it is: a formula, an error value, a TRUE/FALSE
outside the yes/no columns, a date, a cell covered by a merged range, invisible or control characters.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from xml.parsers import expat

from workbench.errors import FailureCode, InputRefused, Problem, SignatureError
from workbench.signed.worksheet import cell_ref, display_name

if TYPE_CHECKING:
    from workbench.signed.xlsxcheck import XlsxInfo

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
    "dispute_spread": ("分歧阈值", "dispute_spread", "disagreement_spread"),
    "dispute_gap": ("分歧间隔", "dispute_gap", "disagreement_gap"),
    "levels": ("评分细则", "细则", "levels", "score_levels"),
    "calibration": ("校准", "校准对象", "calibration"),
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
    "reason": ("原因", "回避原因", "关系", "reason", "relation"),
    "capacity": ("容量", "最多评审", "capacity"),
    "expertise": ("专长", "研究专长", "expertise"),
    "indicator": ("指标代码", "指标", "indicator"),
    "value": ("得分", "分数", "value", "score"),
    "key": ("规则", "键", "key", "rule"),
    "rule_value": ("值", "value"),
}

#: Columns that hold ids, or references to them (compared as id_key: NFKC, case-folded).
ID_COLUMNS = frozenset({"code", "parent", "id", "reviewer_id", "target_id", "indicator"})
#: Yes/no columns, where a TRUE/FALSE cell means what it says; the rules' value column reads it as the text
#: a spreadsheet shows (TRUE/FALSE), so that a flag rule takes it and a number rule refuses it.
BOOLEAN_COLUMNS = frozenset({"allow_na", "coi_override", "synthetic", "calibration", "rule_value"})
#: Free text, where tab and line breaks are allowed (grade bands may be written one per line).
FREE_TEXT_COLUMNS = frozenset({"description", "summary", "levels", "rule_value"})

#: The error values a spreadsheet shows in a cell (Excel's, including the dynamic-array ones).
ERROR_VALUES = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!",
    "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#EXTERNAL!", "#PYTHON!",
})
MAX_CSV_BYTES = 64 << 20  # set-up tables are a few hundred KiB; a bigger "csv" is not one
MAX_SHEET_XML_BYTES = 200 << 20  # as check_xlsx's total; the sheet is read again only for what calamine hides

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_INVISIBLE = re.compile(f"[{_ZERO_WIDTH}{_BIDI}]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")  # C0 (tab and line breaks included), DEL, C1
_LINE_CONTROLS = "\t\n\r"
_SHOWN = re.compile(f"[{_ZERO_WIDTH}{_BIDI}\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MERGE_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})(?::([A-Za-z]{1,3})([0-9]{1,7}))?")
_CELL_PARTS = re.compile(r"([A-Za-z]{0,3})([0-9]{0,7})")

DATE_COLUMNS = frozenset({"submitted_at"})
"""Columns where a spreadsheet date cell is what is meant: read as its ISO date (the reader judges the text)."""

#: What a coordinator does about each refusal of the hostile-file check (its own advice is for reviewers).
_XLSX_ADVICE: dict[FailureCode, tuple[str, str]] = {
    FailureCode.NOT_XLSX: (
        "请在 Excel 或 WPS 中打开，另存为「Excel 工作簿 (.xlsx)」或「CSV UTF-8 (.csv)」后重试",
        "open it in Excel or WPS and save it as “Excel Workbook (.xlsx)” or “CSV UTF-8 (.csv)”, then try again",
    ),
    FailureCode.CORRUPT_ZIP: (
        "文件已损坏；请从原始文件重新复制，或在 Excel 或 WPS 中重新保存",
        "the file is damaged; copy it again from the original, or save it again in Excel or WPS",
    ),
    FailureCode.ENCRYPTED_OR_LEGACY: (
        "请取消文件密码，并另存为「Excel 工作簿 (.xlsx)」",
        "remove the password and save it as “Excel Workbook (.xlsx)”",
    ),
    FailureCode.ZIP_BOMB_SUSPECTED: (
        "这样的文件读取时会耗尽内存，疑似恶意构造，未予读取；请把数据复制到新建的工作簿，另存为 .xlsx 或 .csv",
        "reading such a file would exhaust memory and it looks crafted, so it was not read; "
        "copy the data into a new workbook and save it as .xlsx or .csv",
    ),
    FailureCode.ACTIVE_CONTENT: (
        "请删除宏、外部链接、嵌入对象和控件，或把数据复制到新建的工作簿，另存为 .xlsx",
        "remove the macros, external links, embedded objects and controls, "
        "or copy the data into a new workbook and save it as .xlsx",
    ),
    FailureCode.BAD_XML: (
        "请在 Excel 或 WPS 中重新保存为 .xlsx，或另存为「CSV UTF-8 (.csv)」",
        "save it again in Excel or WPS as .xlsx, or as “CSV UTF-8 (.csv)”",
    ),
}
_GENERIC_ADVICE = ("请在 Excel 或 WPS 中重新保存后重试", "save it again in Excel or WPS and try again")


def _norm_header(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold().replace(" ", "")


def id_key(text: str) -> str:
    """The form under which two ids are the same id: NFKC, case-folded, without invisible characters.

    >>> id_key("Ｓ01") == id_key("s01") == id_key("S01\\u200b")
    True
    """
    folded = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).casefold()
    return unicodedata.normalize("NFKC", folded)


def shown(text: str, limit: int | None = 80) -> str:
    """File text as a message may quote it: controls and invisible characters escaped (a bidi control would
    reorder the message itself), long text clipped to `limit` characters."""
    if _SHOWN.search(text):
        text = _SHOWN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Cell:
    value: str
    where: str
    refused: bool = False
    """Already reported as read (a formula, a merged cell …): what it seems to hold is not to be judged again."""


@dataclass(frozen=True)
class Table:
    """Data rows (header excluded) as canonical-name → Cell, plus the file's display name."""

    name: str
    rows: list[dict[str, Cell]]
    row_wheres: list[str]
    problems: tuple[Problem, ...] = ()
    """Cells refused as read (only with read_table(collect=True)); the caller must report them."""


@dataclass
class _Sheet:
    """A table's cells as text, 1-based row × column, with what a spreadsheet shows otherwise than it stores."""

    texts: list[list[str]]
    kinds: dict[tuple[int, int], str] = field(default_factory=dict)
    """(row, column) → "formula", "error", "boolean" or "date"."""
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    """Merged ranges as (first row, first column, last row, last column)."""


def cell_text(value: object) -> str:
    """A spreadsheet value as text: integral floats lose their '.0', TRUE/FALSE as shown, everything NFC and
    stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return str(Decimal(repr(value)))
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _value_kind(value: object) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return "date"
    return None


def _refuse_file(display: str, zh: str, en: str) -> InputRefused:
    return InputRefused([Problem(display, f"{zh} / {en}")])


def _read_csv(path: Path, display: str) -> _Sheet:
    if path.stat().st_size > MAX_CSV_BYTES:
        limit = f"{MAX_CSV_BYTES >> 20} MiB" if MAX_CSV_BYTES >= 1 << 20 else f"{MAX_CSV_BYTES} bytes"
        raise _refuse_file(display, f"文件超过 {limit}，不像是设置表格；请检查是否选错了文件",
                           f"the file is larger than {limit}, which no set-up table is; "
                           "check that it is the right file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            zh = "文件是 UTF-16 编码（Excel 的「Unicode 文本」），不是 UTF-8"
            en = "the file is UTF-16 (Excel's “Unicode Text”), not UTF-8"
        else:
            line = data.count(b"\n", 0, exc.start) + 1
            zh = f"第 {line} 行不是 UTF-8 编码（Excel 的「CSV（逗号分隔）」会存成 GBK）"
            en = f"line {line} is not UTF-8 (Excel's “CSV (Comma delimited)” saves GBK)"
        raise _refuse_file(display, f"{zh}；请另存为「CSV UTF-8（逗号分隔）」或 .xlsx",
                           f"{en}; save it as “CSV UTF-8 (Comma delimited)” or as .xlsx") from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _refuse_file(
            display, f"不是有效的 CSV 文件（{exc}）；请在 Excel 或 WPS 中另存为「CSV UTF-8（逗号分隔）」",
            f"not a valid CSV file ({exc}); save it from Excel or WPS as “CSV UTF-8 (Comma delimited)”",
        ) from exc
    return _Sheet([[cell_text(c) for c in row] for row in rows])


def _read_xlsx(path: Path, display: str) -> _Sheet:
    """Run the hostile-file check, then read the first sheet with calamine and, from its XML, what calamine
    hides: formulas, error values (read as empty) and merged ranges."""
    from workbench.signed.xlsxcheck import check_xlsx

    try:
        info = check_xlsx(path)
    except SignatureError as exc:
        raise InputRefused([Problem(display, _setup_refusal(exc, display))]) from None
    first = info.sheets[0]
    if first.kind != "worksheet":
        raise _refuse_file(display, f"第一个工作表「{shown(first.name)}」是图表，不是表格；工作台只读取第一个工作表",
                           f"the first sheet {shown(first.name)!r} is a chart, not a table; "
                           "the workbench reads the first sheet only")
    if first.state != "visible":
        raise _refuse_file(
            display,
            f"第一个工作表「{shown(first.name)}」是隐藏的，而工作台只读取第一个工作表；请取消隐藏，或把数据移到第一个工作表",
            f"the first sheet {shown(first.name)!r} is hidden, and the workbench reads the first sheet only; "
            "unhide it or move the data to the first sheet",
        )
    try:
        cells = _calamine_cells(path, first.name)
        sheet = _Sheet([])
        for r, row in enumerate(cells, start=1):
            sheet.texts.append([cell_text(v) for v in row])
            for c, value in enumerate(row, start=1):
                kind = _value_kind(value)
                if kind is not None:
                    sheet.kinds[(r, c)] = kind
        _scan_sheet_xml(path, first.part, info, sheet)
    except InputRefused:
        raise
    except Exception as exc:  # calamine raises its own types for broken workbooks
        raise _refuse_file(display, f"无法读取该工作簿（{shown(str(exc), 200)}）；{_GENERIC_ADVICE[0]}",
                           f"cannot read this workbook ({shown(str(exc), 200)}); {_GENERIC_ADVICE[1]}") from exc
    return sheet


def _setup_refusal(exc: SignatureError, display: str) -> str:
    """The hostile-file check's reason with a coordinator's advice in place of the reviewer's."""
    from workbench.signed.xlsxcheck import _ADVICE

    code = FailureCode(exc.code)
    zh_advice, en_advice = _XLSX_ADVICE.get(code, _GENERIC_ADVICE)
    reviewer_advice = _ADVICE.get(code)
    message = exc.message
    if reviewer_advice is not None:  # "{name}：{zh}。{advice}。 / {name}: {en}; {advice}."
        head, middle, tail = f"{display}：", f"。{reviewer_advice[0]}。 / {display}: ", f"; {reviewer_advice[1]}."
        if message.startswith(head) and message.endswith(tail) and middle in message:
            zh, en = message[len(head):-len(tail)].split(middle, 1)
            return f"{zh}；{zh_advice} / {en}; {en_advice}"
    return f"{message}（{zh_advice} / {en_advice}）"


def _calamine_cells(path: Path, sheet_name: str) -> Sequence[Sequence[object]]:
    from python_calamine import CalamineWorkbook

    try:
        str(path).encode("utf-8")
        book = CalamineWorkbook.from_path(str(path))
    except UnicodeEncodeError:  # calamine cannot open a name that is not UTF-8: hand it the bytes
        book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    try:
        return book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    finally:
        book.close()


def _scan_sheet_xml(path: Path, part: str, info: XlsxInfo, sheet: _Sheet) -> None:
    """Add formulas, error values and merged ranges from the worksheet's XML, placing cells as calamine does
    (a cell without `r` takes the next column). Bounded: the part is read in chunks, and check_xlsx has
    already held it to its limits."""
    row_index = col_index = 0  # row_index zero-based; col_index the last column placed, 1-based
    current: tuple[int, int] | None = None
    error: list[str] | None = None
    in_value = False
    formulas = 0

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row_index, col_index, current, error, in_value, formulas
        local = name.rpartition(":")[2]
        if local == "row":
            if "r" in attrs and attrs["r"].isdigit():
                row_index = int(attrs["r"]) - 1
        elif local == "c":
            row, column = row_index + 1, col_index + 1
            letters, digits = _cell_parts(attrs.get("r", ""))
            if letters:
                column = _column_number(letters)
            if digits:
                row = int(digits)
            col_index = column
            current = (row, column) if row >= 1 and column >= 1 else None  # A0 is no cell: calamine skips it
            error = [] if attrs.get("t") == "e" and current is not None else None
        elif local == "f" and current is not None:
            sheet.kinds[current] = "formula"
            formulas += 1
        elif local == "v" and error is not None:
            in_value = True
        elif local == "mergeCell":
            found = _MERGE_REF.fullmatch(attrs.get("ref", "").strip())
            if found:
                first = (int(found.group(2)), _column_number(found.group(1)))
                last = (int(found.group(4)), _column_number(found.group(3))) if found.group(3) else first
                area = (min(first[0], last[0]), min(first[1], last[1]), max(first[0], last[0]), max(first[1], last[1]))
                if area[0] >= 1 and area[1] >= 1:
                    sheet.merges.append(area)

    def end(name: str) -> None:
        nonlocal row_index, col_index, current, error, in_value
        local = name.rpartition(":")[2]
        if local == "v":
            in_value = False
        elif local == "c":
            if error is not None and current is not None:
                _put_text(sheet, current, "".join(error).strip() or "#N/A")
                sheet.kinds.setdefault(current, "error")
            current, error = None, None
        elif local == "row":
            row_index, col_index = row_index + 1, 0

    def text(data: str) -> None:
        if in_value and error is not None:
            error.append(data)

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = _forbidden  # check_xlsx refused these already; never expanded here
    parser.EntityDeclHandler = _forbidden
    read = 0
    with zipfile.ZipFile(path) as zf, zf.open(part) as member:
        while chunk := member.read(1 << 20):
            read += len(chunk)
            if read > MAX_SHEET_XML_BYTES:
                raise ValueError(f"{part} unpacks to more than {MAX_SHEET_XML_BYTES >> 20} MiB")
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    facts = info.sheet_facts.get(part)
    if facts is not None and facts.formula_cell is not None and formulas == 0:
        # check_xlsx saw a formula this reading did not place: refuse at its cell rather than guess
        letters, digits = _cell_parts(facts.formula_cell)
        sheet.kinds[(int(digits or 1), _column_number(letters or "A"))] = "formula"


def _forbidden(*_: object) -> NoReturn:
    raise ValueError("a DTD or entity declaration in the sheet")


def _cell_parts(ref: str) -> tuple[str, str]:
    """The column letters and row digits of a reference such as C3 (either may be empty)."""
    found = _CELL_PARTS.fullmatch(ref.strip())
    return (found.group(1), found.group(2)) if found else ("", "")


def _put_text(sheet: _Sheet, at: tuple[int, int], text: str) -> None:
    row, column = at
    while len(sheet.texts) < row:
        sheet.texts.append([])
    cells = sheet.texts[row - 1]
    cells.extend([""] * (column - len(cells)))
    cells[column - 1] = text


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


class _Places:
    """Where each cell of one file is: `sites.xlsx:3:3: sites.xlsx!C3 (地区)`."""

    def __init__(self, display: str, header: list[str]) -> None:
        self.display = display
        self.header = header

    def cell(self, row: int, column: int) -> str:
        ref = f"{self.display}!{cell_ref(row - 1, column - 1)}"
        name = self.header[column - 1] if column - 1 < len(self.header) else ""
        place = f"{self.display}:{row}:{column}: {ref}"
        return f"{place} ({shown(name, 30)})" if name else place

    def row(self, row: int) -> str:
        return f"{self.display}:{row}"


_KIND_REASONS: dict[str, tuple[str, str]] = {
    "formula": (
        "单元格含有公式；工作台不计算公式，只读取数值或文字。请把公式换成它的值"
        "（复制后「选择性粘贴 → 数值」）",
        "the cell holds a formula; the workbench does not calculate, it reads values and text. "
        "Replace the formula by its value (copy, then Paste Special → Values)",
    ),
    "boolean": (
        "单元格是逻辑值 {text}（Excel 会把输入的 TRUE/FALSE 变成逻辑值），这一列不接受；"
        "请填写数字或文字，或先把单元格设为「文本」格式再输入",
        "the cell holds the logical value {text} (Excel turns a typed TRUE/FALSE into one), which this column does "
        "not take; type a number or text, or format the cell as Text first",
    ),
    "date": (
        "单元格是日期或时间 {text}（Excel 会把 3-1、1/2 之类的输入自动变成日期）；"
        "请把这一列设为「文本」格式后重新输入",
        "the cell holds the date or time {text} (Excel turns input like 3-1 or 1/2 into a date); "
        "format the column as Text and type the value again",
    ),
    "error": (
        "单元格是错误值 {text}，不是数据；请改正产生它的公式或内容，填入实际的值",
        "the cell holds the error value {text}, not data; fix what produced it and type the actual value",
    ),
}


def _text_problem(text: str, canon: str | None) -> str | None:
    """Why a cell's text is refused (invisible or control characters, an error value), or None."""
    if text in ERROR_VALUES:
        zh, en = _KIND_REASONS["error"]
        return f"{zh.format(text=text)} / {en.format(text=text)}"
    allowed = _LINE_CONTROLS if canon in FREE_TEXT_COLUMNS else ""
    for at, ch in enumerate(text, start=1):
        if ch in allowed:
            continue
        code = f"U+{ord(ch):04X}"
        if _INVISIBLE.match(ch):
            what_zh = "零宽字符" if ch in _ZERO_WIDTH else "双向文字控制符"
            name = unicodedata.name(ch, code)
            return (f"第 {at} 个字符是看不见的{what_zh} {code}（{name}），会让相同的文字被当成不同的；"
                    "请删除它（常随从网页或聊天软件复制的文字带入） / "
                    f"character {at} is the invisible {code} {name}, which makes equal-looking text differ; "
                    "delete it (it often comes with text copied from web pages or chat apps)")
        if _CONTROLS.match(ch):
            zh_what = "换行或制表符" if ch in _LINE_CONTROLS else "控制字符"
            en_what = "a line break or tab" if ch in _LINE_CONTROLS else "a control character"
            return (f"第 {at} 个字符是{zh_what} {code}，这一列不接受；请删除它 / "
                    f"character {at} is {en_what} ({code}), which this column does not take; delete it")
    return None


def read_table(
    path: str | Path,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    aliases: dict[str, tuple[str, ...]] | None = None,
    *,
    collect: bool = False,
) -> Table:
    """Read a table; an unreadable file or missing required headers refuse the whole file (InputRefused).

    Cells refused as read (see the module's docstring) refuse it too, all listed; with `collect`, they are
    returned in Table.problems instead, their cells marked `refused`, so that the caller can go on judging the
    rest and report everything at once.
    """
    path = Path(path)
    aliases = aliases or ALIASES
    display = display_name(path)
    if not path.exists():
        raise InputRefused([Problem(display, "找不到文件 / file not found")])
    if not path.is_file():  # a directory, a FIFO or a device: never opened (reading a FIFO would block)
        raise _refuse_file(display, "不是普通文件（而是目录、设备或管道）；请给出表格文件的路径",
                           "not a regular file (a directory, a device or a pipe); give the path of a table file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            sheet = _read_csv(path, display)
        elif suffix in (".xlsx", ".xlsm"):
            sheet = _read_xlsx(path, display)
        else:
            raise _refuse_file(display, "只接受 .csv 或 .xlsx 文件", "only .csv and .xlsx files are accepted")
    except OSError as exc:
        raise _refuse_file(display, f"无法读取（{exc.strerror or exc}）；请检查文件权限，或关闭正在打开它的程序",
                           f"cannot be read ({exc.strerror or exc}); check its permissions, "
                           "or close the program that holds it open") from exc
    raw = sheet.texts
    while raw and not any(raw[-1]):
        raw.pop()
    if not raw:
        raise InputRefused([Problem(f"{display}:1:1", "缺少表头行 / the header row is missing")])
    places = _Places(display, raw[0])
    wanted = required + optional
    columns = _header_columns(places, raw[0], sheet.kinds, required, optional, aliases)
    problems: list[Problem] = []
    column_of = {col: canon for canon, col in columns.items()}
    marked = {r for r, c in sheet.kinds if c in column_of}  # rows with, say, a formula whose value reads empty
    last = max(len(raw), max(marked, default=0))
    covered, merge_problems = _merged(sheet, places, column_of, last)
    problems.extend(merge_problems)
    rows: list[dict[str, Cell]] = []
    wheres: list[str] = []
    for line in range(2, last + 1):
        raw_row = raw[line - 1] if line - 1 < len(raw) else []
        if not any(raw_row) and line not in marked:
            continue
        row = {}
        for canon, col in columns.items():
            text = raw_row[col - 1] if col - 1 < len(raw_row) else ""
            where = places.cell(line, col)
            reason = _cell_problem(sheet.kinds.get((line, col)), text, canon)
            if reason is not None:
                problems.append(Problem(where, reason))
            row[canon] = Cell(text, where, refused=reason is not None or (line, col) in covered)
        for canon in wanted:
            if canon not in row:
                row[canon] = Cell("", places.row(line))
        rows.append(row)
        wheres.append(places.row(line))
    if problems and not collect:
        raise InputRefused(problems)
    return Table(display, rows, wheres, tuple(problems))


def _header_columns(
    places: _Places, header_row: list[str], kinds: dict[tuple[int, int], str], required: tuple[str, ...],
    optional: tuple[str, ...], aliases: dict[str, tuple[str, ...]],
) -> dict[str, int]:
    """Canonical column → its 1-based column number; refuses the file (every problem listed) when a header is
    unreadable, given twice, or a required one is missing."""
    lookup = {_norm_header(a): canon for canon in required + optional for a in aliases[canon]}
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    for col, header in enumerate(header_row, start=1):
        kind = kinds.get((1, col))
        if kind is not None:
            problems.append(Problem(places.cell(1, col), _kind_reason(kind, header)))
            continue
        if not header:
            continue
        reason = _text_problem(header, None)
        if reason is not None:  # a header that only looks like 地区 would be skipped as a note column
            problems.append(Problem(places.cell(1, col), f"表头{reason}"))
            continue
        canon = lookup.get(_norm_header(header))
        if canon is None:
            continue  # extra columns are allowed: coordinators keep their own notes
        if canon in columns:
            problems.append(Problem(places.cell(1, col), f"表头「{shown(header)}」重复 / duplicate header {header!r}"))
        columns[canon] = col
    for canon in required:
        if canon not in columns:
            names = "、".join(aliases[canon])
            problems.append(Problem(
                places.row(1), f"缺少必需列（可用表头：{names}）/ required column {canon!r} is missing"
            ))
    if problems:
        raise InputRefused(problems)
    return columns


#: A CSV that import-results streams (past results of a national round: 1.7 million rows are ~60 MB).
MAX_STREAMED_CSV_BYTES = 2 << 30
# Any character _text_problem may refuse outside the free-text columns: one C-speed search before the loop.
_SUSPECT = re.compile(f"[{_ZERO_WIDTH}{_BIDI}\x00-\x1f\x7f-\x9f]")
_CHECKED_TEXTS = 200_000  # distinct (column, text) checks remembered: ids, codes and values repeat


class CsvStream:
    """A CSV table read row by row, with the checks read_table makes on its cells (CSV cells have no formula,
    date or merge to judge: their text only), so that memory stays flat however many rows it has.

    `rows()` yields (line, texts in the order of `wanted`) for every non-empty row; a row with a refused cell is
    reported in `problems` and not yielded (nothing in it is judged again). Places are formatted only for a
    problem."""

    def __init__(self, path: str | Path, required: tuple[str, ...], optional: tuple[str, ...] = (),
                 aliases: dict[str, tuple[str, ...]] | None = None) -> None:
        self.path = Path(path)
        self.name = display_name(self.path)
        aliases = aliases or ALIASES
        self.wanted = required + optional
        self.problems: list[Problem] = []
        self.limit = 1000
        """Problems after which `rows()` stops reading."""
        self._checked: dict[tuple[str, str], tuple[str, str | None]] = {}
        if not self.path.exists():
            raise InputRefused([Problem(self.name, "找不到文件 / file not found")])
        if not self.path.is_file():
            raise _refuse_file(self.name, "不是普通文件（而是目录、设备或管道）；请给出表格文件的路径",
                               "not a regular file (a directory, a device or a pipe); give the path of a table file")
        if self.path.stat().st_size > MAX_STREAMED_CSV_BYTES:
            raise _refuse_file(self.name, f"文件超过 {MAX_STREAMED_CSV_BYTES >> 30} GiB；请检查是否选错了文件",
                               f"the file is larger than {MAX_STREAMED_CSV_BYTES >> 30} GiB; check that it is the "
                               "right file")
        self._raw: io.BufferedReader | None = None
        with self._reader() as reader:
            header = next(reader, None)
        header = [cell_text(c) for c in header or []]
        if not any(header):
            raise InputRefused([Problem(f"{self.name}:1:1", "缺少表头行 / the header row is missing")])
        self.places = _Places(self.name, header)
        self.columns = _header_columns(self.places, header, {}, required, optional, aliases)
        self._order = [self.columns.get(canon, 0) - 1 for canon in self.wanted]

    def where(self, line: int, canon: str) -> str:
        col = self.columns.get(canon)
        return self.places.cell(line, col) if col is not None else self.places.row(line)

    def position(self) -> int:
        """Bytes read so far by `rows()` (read ahead by a buffer: for a progress bar)."""
        raw = self._raw
        return raw.tell() if raw is not None and not raw.closed else 0

    @contextmanager
    def _reader(self) -> Iterator[Iterator[list[str]]]:
        try:
            with open(self.path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
                self._raw = raw
                yield self._checked_rows(csv.reader(handle))
        except OSError as exc:
            raise _refuse_file(self.name, f"无法读取（{exc.strerror or exc}）",
                               f"cannot be read ({exc.strerror or exc})") from exc

    def _checked_rows(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        line = 0
        try:
            for line, row in enumerate(reader, start=1):  # noqa: B007 (line is read after the loop)
                yield row
        except UnicodeDecodeError as exc:
            zh = f"第 {line + 1} 行附近不是 UTF-8 编码（Excel 的「CSV（逗号分隔）」会存成 GBK）"
            en = f"near line {line + 1} the file is not UTF-8 (Excel's “CSV (Comma delimited)” saves GBK)"
            raise _refuse_file(self.name, f"{zh}；请另存为「CSV UTF-8（逗号分隔）」或 .xlsx",
                               f"{en}; save it as “CSV UTF-8 (Comma delimited)” or as .xlsx") from exc
        except csv.Error as exc:
            raise _refuse_file(self.name, f"第 {line + 1} 行不是有效的 CSV（{exc}）",
                               f"line {line + 1} is not valid CSV ({exc})") from exc

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        order = self._order
        width = len(order)
        direct = order == list(range(width))  # the columns are the file's first ones, in order: no reordering
        with self._reader() as reader:
            next(reader, None)
            for line, raw in enumerate(reader, start=2):
                texts = raw if direct and len(raw) == width else [raw[i] if 0 <= i < len(raw) else "" for i in order]
                joined = ",".join(texts)
                # Nearly every row of a results file: printable (so no control, invisible or other separator
                # character), no space (nothing to strip), no error value (#N/A …), already NFC: nothing to judge.
                if (joined.isprintable() and " " not in joined and "#" not in joined
                        and (joined.isascii() or unicodedata.is_normalized("NFC", joined))):
                    if len(joined) >= width:  # some field is not empty (the commas alone are width - 1)
                        yield line, texts
                    continue
                if not any(texts):
                    continue
                checked = self._cells(line, texts)
                if checked is not None:
                    yield line, checked
                elif len(self.problems) >= self.limit:
                    return  # enough to show: the rest of the file is not read

    def _cells(self, line: int, texts: list[str]) -> list[str] | None:
        """The row's texts normalised as read_table's are, or None with its refused cells reported."""
        out = list(texts)
        refused = False
        for n, text in enumerate(texts):
            if text.isascii() and text.isprintable() and text == text.strip() and text[:1] != "#":
                continue
            canon = self.wanted[n]
            got = self._checked.get((canon, text))
            if got is None:
                clean = cell_text(text)
                suspect = _SUSPECT.search(clean) is not None or clean in ERROR_VALUES
                got = (clean, _text_problem(clean, canon) if suspect else None)
                if len(self._checked) < _CHECKED_TEXTS:
                    self._checked[(canon, text)] = got
            clean, reason = got
            if reason is not None:
                self.problems.append(Problem(self.where(line, canon), reason))
                refused = True
            out[n] = clean
        return None if refused else out  # a refused row: its other cells are not judged either


def _kind_reason(kind: str, text: str) -> str:
    zh, en = _KIND_REASONS[kind]
    return f"{zh.format(text=shown(text))} / {en.format(text=shown(text))}"


def _cell_problem(kind: str | None, text: str, canon: str) -> str | None:
    if kind == "boolean" and canon in BOOLEAN_COLUMNS:
        kind = None  # TRUE/FALSE reads as yes/no here (TRUE_WORDS/FALSE_WORDS, or a flag rule)
    if kind == "date" and canon in DATE_COLUMNS:
        kind = None  # a date is what the column holds: its ISO text is judged by whoever reads it
    if kind is not None:
        return _kind_reason(kind, text)
    return _text_problem(text, canon)


def _merged(
    sheet: _Sheet, places: _Places, column_of: dict[int, str], last_row: int,
) -> tuple[set[tuple[int, int]], list[Problem]]:
    """The cells a merged range covers in the columns read (all but its top-left cell, which holds the value),
    and one problem per such range, at the first of them."""
    covered: set[tuple[int, int]] = set()
    problems: list[Problem] = []
    for top, left, bottom, right in sheet.merges:
        read = _read_columns(column_of, left, right)
        span = f"{cell_ref(top - 1, left - 1)}:{cell_ref(bottom - 1, right - 1)}"
        if top == 1 and read and (bottom, right) != (top, left):  # which column would a merged header name?
            problems.append(Problem(places.cell(1, left), (
                f"表头单元格被合并（{span}）：看不出它是哪一列的表头；请取消合并，每列一个表头 / "
                f"the header cells {span} are merged, which leaves it unclear which column the header names; "
                "unmerge them, one header a column"
            )))
            covered.update((r, c) for r in range(2, min(bottom, last_row) + 1) for c in read)
            continue
        cells = [(r, c) for r in range(top, min(bottom, last_row) + 1) for c in read if (r, c) != (top, left)]
        if not cells:
            continue
        covered.update(cells)
        first = cell_ref(top - 1, left - 1)
        problems.append(Problem(places.cell(*cells[0]), (
            f"该单元格属于合并单元格 {span}：Excel 显示的是 {first} 的内容，文件中这里却是空的；"
            "请取消合并，并在每个单元格中填写完整的值 / "
            f"the cell is part of the merged range {span}: Excel shows what {first} holds, but the file holds "
            "nothing here; unmerge the range and fill in every cell"
        )))
    return covered, problems


def _read_columns(column_of: dict[int, str], left: int, right: int) -> list[int]:
    return sorted(c for c in column_of if left <= c <= right)
