"""Refuse hostile .xlsx files (zip tricks, macros, external links, DTDs, huge sheets) before any library reads them."""

from __future__ import annotations

import codecs
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn
from xml.parsers import expat

from workbench.errors import (
    FailureCode,
    NotFound,
    SignatureError,
    XmlDeclarationForbidden,
)
from workbench.signed.worksheet import display_name

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

MiB = 1 << 20
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # legacy .xls, and Excel's password-encrypted .xlsx
SHEET_STATES = ("visible", "hidden", "veryHidden")


@dataclass(frozen=True)
class XlsxLimits:
    """How much a workbook may hold before it is treated as a decompression or allocation bomb."""

    max_total_bytes: int = 200 * MiB  # all members, uncompressed
    max_members: int = 1000
    max_ratio: int = 100  # uncompressed : compressed, for members above ratio_floor_bytes
    ratio_floor_bytes: int = MiB  # real sheet XML compresses 10–25×
    max_cells: int = 2_000_000  # rows × columns a sheet claims or reaches
    max_columns: int = 200  # a worksheet of this project has 13


DEFAULT_LIMITS = XlsxLimits()


@dataclass(frozen=True)
class SheetInfo:
    """One sheet as the workbook lists it, in tab order."""

    name: str
    part: str  # zip member, e.g. "xl/worksheets/sheet1.xml"
    state: str  # one of SHEET_STATES
    kind: str  # "worksheet" or "chartsheet"
    id_attributes: tuple[str, ...] = ()
    """Every attribute of its <sheet> element named id, in any namespace or none ({namespace}id)."""


class Relationship(NamedTuple):
    """One relationship as its .rels part states it, and the part it resolves to (internal targets)."""

    id: str
    type: str  # the full Type URI
    target: str  # as written
    external: bool
    part: str  # resolved, normalised zip member name; "" when external


@dataclass
class SheetFacts:
    """What the byte scan of one worksheet found, for a verifier's stricter rules (check_xlsx judges none)."""

    markers: set[str] = field(default_factory=set)
    """Constructs found, by name (see _SHEET_MARKERS): "conditionalFormatting", "hyperlink", "cdata" …"""
    formula_cell: str | None = None
    """The cell reference of the first <f> element, "?" when it has none."""
    duplicate_ref: str | None = None
    """A cell or row reference written twice."""
    main_namespace_uses: int = 0
    """How often the SpreadsheetML namespace URI is written: 1 when only the root binds it."""
    foreign_prefixes: tuple[bytes, ...] = ()
    """Namespace prefixes the root element binds (the SpreadsheetML namespace is its default)."""
    data_validations: bytes = b""
    """The <dataValidations> element as written."""
    cells: int = 0
    """The most cells (rows × columns) its references or a <dimension> reach, as the limits count them."""
    columns: int = 0
    """The furthest column they reach."""


@dataclass(frozen=True)
class XlsxInfo:
    """What check_xlsx learned, so a verifier need not parse the workbook's structure again."""

    sheets: tuple[SheetInfo, ...]
    defined_names: tuple[tuple[str, str], ...] = ()
    """(name, what it refers to) of every definedName in the workbook, in order."""
    members: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    """[Content_Types].xml: extension (lower case) → content type."""
    overrides: dict[str, str] = field(default_factory=dict)
    """[Content_Types].xml: part name (lower case, no leading /) → content type."""
    repeated_content_types: tuple[str, ...] = ()
    """Extensions or part names [Content_Types].xml gives more than once."""
    relationships: dict[str, tuple[Relationship, ...]] = field(default_factory=dict)
    """.rels part → its relationships, in order, repeated ids included."""
    workbook_namespaces: frozenset[str] = frozenset()
    """Every namespace of an element or attribute in xl/workbook.xml."""
    utf16_parts: tuple[str, ...] = ()
    sheet_facts: dict[str, SheetFacts] = field(default_factory=dict)
    """Worksheet part → what its scan found."""
    text_markers: dict[str, set[str]] = field(default_factory=dict)
    """Shared-strings part → constructs found in it (the same names as SheetFacts.markers)."""

    def sheet(self, name: str) -> SheetInfo | None:
        return next((s for s in self.sheets if s.name == name), None)

    def content_type(self, name: str) -> str:
        override = self.overrides.get(name.lower())
        return override if override is not None else self.defaults.get(name.rpartition(".")[2].lower(), "")


def check_xlsx(path: Path, limits: XlsxLimits = DEFAULT_LIMITS, known: frozenset[str] = frozenset()) -> XlsxInfo:
    """Refuse a hostile or broken .xlsx with a SignatureError (with its FailureCode); else describe it.

    Every member is decompressed once, in bounded chunks, so each CRC is tested and the size limits hold
    on the bytes actually produced, not on what the zip declares. External hyperlinks to http(s) or
    mailto targets pass (Excel makes one of a typed URL, and nothing is fetched on opening); every other
    external relationship is refused. Worksheets are scanned, not parsed: one that is not well-formed
    XML is left for calamine to refuse.

    `known` names members the caller has read already and found byte for byte those of a workbook it wrote
    itself (an audit's recomputed report): every check of the container and the structure still runs, but such
    a member is not scanned or consumed again, and it has no SheetFacts.
    """
    path = Path(path)
    if not path.exists():
        raise NotFound(f"找不到文件 {display_name(path)} / file not found: {display_name(path)}")
    if not path.is_file():  # a directory, a FIFO or a device: never opened (reading a FIFO would block)
        raise SignatureError(
            FailureCode.NOT_A_FILE,
            f"{display_name(path)} 不是普通文件（而是目录、设备或管道），不是工作簿 / "
            f"{display_name(path)} is not a regular file (a directory, a device or a pipe), so not a workbook",
        )
    return _Check(path, limits, known).run()


_ADVICE: dict[FailureCode, tuple[str, str]] = {
    FailureCode.NOT_XLSX: ("请让评审专家用工作台重新导出 .xlsx 文件", "ask the reviewer to export the .xlsx again"),
    FailureCode.CORRUPT_ZIP: (
        "文件已损坏，可能在传输中被截断或改动；请让评审专家重新发送或重新导出",
        "the file was damaged, perhaps cut short or altered on the way; ask the reviewer to send or export it again",
    ),
    FailureCode.ENCRYPTED_OR_LEGACY: (
        "请让评审专家取消文件密码并另存为「Excel 工作簿 (.xlsx)」，或重新导出",
        "ask the reviewer to remove the password and save as “Excel Workbook (.xlsx)”, or to export again",
    ),
    FailureCode.ZIP_BOMB_SUSPECTED: (
        "这样的文件解压后会耗尽内存，疑似恶意构造，未予读取；请让评审专家重新导出",
        "such a file would exhaust memory when unpacked and looks crafted, so it was not read; "
        "ask the reviewer to export again",
    ),
    FailureCode.ACTIVE_CONTENT: (
        "工作台不接受含宏、外部链接、嵌入对象或控件的文件；"
        "请让评审专家重新导出，导出后不要再加入这些内容",
        "the workbench accepts no macros, external links, embedded objects or controls; "
        "ask the reviewer to export again and add none of these afterwards",
    ),
    FailureCode.BAD_XML: (
        "文件内部的 XML 不合规或被改动过，未予读取；请让评审专家重新导出",
        "the XML inside the file is invalid or was tampered with, so it was not read; ask the reviewer to export again",
    ),
}

# Every refusal: its code, then what is wrong in Chinese and in English ({…} filled in by name).
_REASONS: dict[str, tuple[FailureCode, str, str]] = {
    "empty": (FailureCode.NOT_XLSX, "文件是空的（0 字节）", "the file is empty (0 bytes)"),
    "pdf": (FailureCode.NOT_XLSX, "这是 PDF 文件，不是 Excel 工作簿", "it is a PDF file, not an Excel workbook"),
    "html": (FailureCode.NOT_XLSX, "这是网页或 XML 文本（可能是「另存为网页」的结果），不是 .xlsx 工作簿",
             "it is an HTML or XML text file (saved as a web page, perhaps), not an .xlsx workbook"),
    "text": (FailureCode.NOT_XLSX, "这是文本文件（如 CSV），只是扩展名被改成了 .xlsx",
             "it is a text file (a CSV, say) renamed to .xlsx"),
    "not_zip": (FailureCode.NOT_XLSX, "它不是 zip 格式，不可能是 .xlsx 工作簿",
                "it is not a zip archive, so not an .xlsx workbook"),
    "word": (FailureCode.NOT_XLSX, "这是 Word 文档，不是 Excel 工作簿", "it is a Word document, not an Excel workbook"),
    "powerpoint": (FailureCode.NOT_XLSX, "这是 PowerPoint 文件，不是 Excel 工作簿",
                   "it is a PowerPoint file, not an Excel workbook"),
    "xlsb": (FailureCode.NOT_XLSX, "这是二进制工作簿（.xlsb），不是 .xlsx",
             "it is a binary workbook (.xlsb), not an .xlsx"),
    "ods": (FailureCode.NOT_XLSX, "这是 OpenDocument 表格（.ods），不是 .xlsx",
            "it is an OpenDocument spreadsheet (.ods), not an .xlsx"),
    "no_parts": (FailureCode.NOT_XLSX, "这是 zip 压缩包，但缺少 Excel 工作簿必有的 {missing}",
                 "it is a zip archive without {missing}, which every Excel workbook has"),
    "not_workbook": (FailureCode.NOT_XLSX, "{part} 不是工作簿", "its {part} is not a workbook"),
    "no_workbook_rels": (FailureCode.NOT_XLSX, "缺少 {part}", "{part} is missing"),
    "no_sheets": (FailureCode.NOT_XLSX, "工作簿中没有任何工作表", "the workbook has no sheets"),
    "missing_sheet": (FailureCode.NOT_XLSX, "工作表「{name}」指向的 {part} 不存在或不是工作表",
                      "sheet {name!r} points to {part}, which is missing or not a sheet"),
    "ole": (FailureCode.ENCRYPTED_OR_LEGACY, "这是旧版 .xls 文件，或设有打开密码的加密 Excel 文件，无法检查其内容",
            "it is a legacy .xls file or a password-encrypted Excel file, whose content cannot be checked"),
    "encrypted_member": (FailureCode.ENCRYPTED_OR_LEGACY, "压缩包成员 {part} 被加密了",
                         "its zip member {part} is encrypted"),
    "no_directory": (FailureCode.CORRUPT_ZIP, "找不到压缩包的目录，文件可能被截断了",
                     "its zip directory is missing, so the file was probably cut short"),
    "bad_directory": (FailureCode.CORRUPT_ZIP, "压缩包目录已损坏（{detail}）",
                      "its zip directory is damaged ({detail})"),
    "duplicate": (FailureCode.CORRUPT_ZIP, "压缩包中有两个同名成员 {part}，不同软件会读到不同的内容",
                  "its zip holds two members named {part}, which programs may read differently"),
    "method": (FailureCode.CORRUPT_ZIP, "成员 {part} 使用了电子表格从不使用的压缩方式 {method}",
               "its member {part} uses compression method {method}, which spreadsheets never use"),
    "overlap": (FailureCode.CORRUPT_ZIP, "成员 {part} 与 {other} 的数据重叠",
                "its member {part} overlaps the data of {other}"),
    "bad_header": (FailureCode.CORRUPT_ZIP, "成员 {part} 的文件头已损坏", "the header of its member {part} is damaged"),
    "damaged": (FailureCode.CORRUPT_ZIP, "成员 {part} 已损坏（{detail_zh}）",
                "its member {part} is damaged ({detail_en})"),
    "claimed_members": (FailureCode.ZIP_BOMB_SUSPECTED, "压缩包目录声称有 {count} 个成员（上限 {limit}）",
                        "its zip directory claims {count} members (the limit is {limit})"),
    "big_directory": (FailureCode.ZIP_BOMB_SUSPECTED, "压缩包目录长达 {size}（上限 {limit}）",
                      "its zip directory is {size} long (the limit is {limit})"),
    "members": (FailureCode.ZIP_BOMB_SUSPECTED, "压缩包有 {count} 个成员（上限 {limit}）",
                "its zip holds {count} members (the limit is {limit})"),
    "total": (FailureCode.ZIP_BOMB_SUSPECTED, "解压后共 {size}（上限 {limit}）",
              "it unpacks to {size} (the limit is {limit})"),
    "unpacked": (FailureCode.ZIP_BOMB_SUSPECTED, "解压到 {part} 时已超过 {limit}",
                 "it unpacked to more than {limit} by {part}"),
    "big_part": (FailureCode.ZIP_BOMB_SUSPECTED, "{part} 解压后有 {size}（上限 {limit}）",
                 "{part} unpacks to {size} (the limit is {limit})"),
    "ratio": (FailureCode.ZIP_BOMB_SUSPECTED, "成员 {part} 的压缩比为 {ratio}:1（上限 {limit}:1）",
              "its member {part} is compressed {ratio}:1 (the limit is {limit}:1)"),
    "active_part": (FailureCode.ACTIVE_CONTENT, "文件含有{what_zh}（{where}）", "it holds {what_en} ({where})"),
    "active_rel": (FailureCode.ACTIVE_CONTENT, "{part} 引用了{what_zh}（{target}）",
                   "{part} refers to {what_en} ({target})"),
    "external": (FailureCode.ACTIVE_CONTENT,
                 "{part} 含有指向文件之外的引用（{kind}: {target}），打开时可能自动访问该地址",
                 "{part} holds an external reference ({kind}: {target}) that may be fetched on opening"),
    "dde": (FailureCode.ACTIVE_CONTENT, "工作表 {part} 中的公式像是 DDE 调用（{formula}）",
            "worksheet {part} has a formula that looks like a DDE call ({formula})"),
    "dtd": (FailureCode.BAD_XML,
            "{part} 含有 DTD 或实体声明（<!DOCTYPE …>/<!ENTITY …>），可被用来耗尽内存或读取本机文件",
            "{part} holds a DTD or entity declaration (<!DOCTYPE …>/<!ENTITY …>), "
            "which can exhaust memory or read local files"),
    "malformed": (FailureCode.BAD_XML, "{part} 不是格式正确的 XML（{detail}）",
                  "{part} is not well-formed XML ({detail})"),
    "encoding": (FailureCode.BAD_XML, "{part} 的编码不是带字节顺序标记的 UTF-8/UTF-16",
                 "{part} is not encoded in UTF-8, or in UTF-16 with a byte order mark"),
    "declared_encoding": (FailureCode.BAD_XML, "{part} 声明了 UTF-8/UTF-16 以外的编码 {encoding!r}",
                          "{part} declares the encoding {encoding!r}; only UTF-8 and UTF-16 are accepted"),
    "sheet_name": (FailureCode.BAD_XML, "工作簿中的工作表名「{name}」为空或重复",
                   "the workbook has an empty or repeated sheet name {name!r}"),
    "sheet_state": (FailureCode.BAD_XML, "工作表「{name}」的状态 {state!r} 无效",
                    "sheet {name!r} has the invalid state {state!r}"),
    "sheet_rel": (FailureCode.BAD_XML, "工作表「{name}」引用的关系 {rel!r} 不存在",
                  "sheet {name!r} refers to a relationship {rel!r} that does not exist"),
    "cells": (FailureCode.BAD_XML, "工作表 {part} 的单元格达 {rows} 行 × {columns} 列"
              "（上限 {max_columns} 列、{max_cells} 个单元格），读取时会耗尽内存",
              "worksheet {part} has cells reaching {rows} rows × {columns} columns (the limits are {max_columns} "
              "columns and {max_cells} cells), which would exhaust memory when read"),
    "dimension": (FailureCode.BAD_XML, "工作表 {part} 的尺寸声明 <dimension ref> 达 {rows} 行 × {columns} 列"
                  "（上限 {max_columns} 列、{max_cells} 个单元格）",
                  "worksheet {part} claims (<dimension ref>) {rows} rows × {columns} columns (the limits are "
                  "{max_columns} columns and {max_cells} cells)"),
    "long_tag": (FailureCode.BAD_XML, "工作表 {part} 中有超过 {limit} 的单个标记或文本",
                 "worksheet {part} holds a tag or text longer than {limit}"),
    "empty_sheet": (FailureCode.BAD_XML, "工作表 {part} 是空的", "worksheet {part} is empty"),
}

# What makes a part active, found in lower-cased part names, content types and relationship types.
_ACTIVE_PART_NAMES: tuple[tuple[str, str, str], ...] = (
    ("vbaproject", "VBA 宏", "VBA macros"),
    ("vbadata", "VBA 宏", "VBA macros"),
    ("xl/macrosheets/", "Excel 4.0 宏表", "Excel 4.0 macro sheets"),
    ("xl/dialogsheets/", "宏对话框表", "macro dialog sheets"),
    ("xl/externallinks/", "外部链接", "external links"),
    ("xl/embeddings/", "嵌入的 OLE 对象", "embedded OLE objects"),
    ("xl/activex/", "ActiveX 控件", "ActiveX controls"),
    ("xl/ctrlprops/", "表单控件", "form controls"),
    ("xl/connections.xml", "外部数据连接", "external data connections"),
    ("xl/querytables/", "外部数据查询", "external data queries"),
    ("attachedtoolbars", "宏工具栏", "macro toolbars"),
    ("customui/", "可调用宏的自定义功能区", "a custom ribbon that can call macros"),
    ("xl/webextensions/", "Office 网络加载项", "Office web add-ins"),
)
_ACTIVE_CONTENT_TYPES: tuple[tuple[str, str, str], ...] = (
    ("macroenabled", "启用宏的工作簿（.xlsm/.xltm）", "a macro-enabled workbook (.xlsm/.xltm)"),
    ("vbaproject", "VBA 宏", "VBA macros"),
    ("macrosheet", "Excel 4.0 宏表", "Excel 4.0 macro sheets"),
    ("dialogsheet", "宏对话框表", "macro dialog sheets"),
    ("externallink", "外部链接", "external links"),
    ("activex", "ActiveX 控件", "ActiveX controls"),
    ("oleobject", "OLE 对象", "OLE objects"),
    ("controlproperties", "表单控件", "form controls"),
    ("connections+xml", "外部数据连接", "external data connections"),
    ("querytable", "外部数据查询", "external data queries"),
)
_ACTIVE_REL_TYPES: dict[str, tuple[str, str]] = {  # by the last segment of a relationship's Type
    "vbaproject": ("VBA 宏", "VBA macros"),
    "xlmacrosheet": ("Excel 4.0 宏表", "Excel 4.0 macro sheets"),
    "xlintlmacrosheet": ("Excel 4.0 宏表", "Excel 4.0 macro sheets"),
    "dialogsheet": ("宏对话框表", "macro dialog sheets"),
    "externallink": ("外部链接", "external links"),
    "externallinkpath": ("外部链接", "external links"),
    "oleobject": ("OLE 对象", "OLE objects"),
    "package": ("嵌入的文件", "embedded files"),
    "control": ("ActiveX 控件", "ActiveX controls"),
    "activexcontrolbinary": ("ActiveX 控件", "ActiveX controls"),
    "ctrlprop": ("表单控件", "form controls"),
    "connections": ("外部数据连接", "external data connections"),
    "querytable": ("外部数据查询", "external data queries"),
    "attachedtoolbars": ("宏工具栏", "macro toolbars"),
    "extensibility": ("可调用宏的自定义功能区", "a custom ribbon that can call macros"),
    "webextension": ("Office 网络加载项", "Office web add-ins"),
    "webextensiontaskpanes": ("Office 网络加载项", "Office web add-ins"),
}
_SAFE_HYPERLINK_SCHEMES = ("http://", "https://", "mailto:")

_CONTENT_TYPES = "[Content_Types].xml"
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # ISO strict
)
_REL_ID_ATTRS = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)
_SHEET_KINDS = ("worksheet", "chartsheet")
_WORKSHEET_CONTENT_TYPE = "spreadsheetml.worksheet+xml"

_CHUNK = MiB
_MAX_STRUCTURE_PART = 16 * MiB  # content types, relationships, workbook.xml
_MAX_PENDING_TAG = 4 * MiB  # Excel caps a cell at 32,767 characters; nothing legitimate comes near
_EOCD = struct.Struct("<4s4H2LH")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_STORED, _DEFLATED = 0, 8
_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional and strong encryption

# A worksheet is scanned with byte searches: parsing it, even with bare expat, costs about as much as
# calamine's whole read. Every spreadsheet program writes a cell as `<c r="A1" …`, and then the furthest
# reference is where a reader allocates to. A cell written any other way (no `r`, `r` not first, a namespace
# prefix) sends the sheet to an exact second pass that places rows and cells as calamine does.
_ANY_REF = re.compile(rb" r=[\"']([^\"'<]*)")  # every attribute named r: cells' and rows' references
_UNUSUAL_CELL = re.compile(rb'<c(?! r=")(?=[\s/>])')
_PREFIXED_CELL = re.compile(rb":(?:c|row)[\s/>]")
_DIMENSION = re.compile(
    rb"<(?:[\w.-]+:)?dimension(?:\s+(?!ref\s*=)[^\s=>/<]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*+\s+ref\s*=\s*[\"']([^\"'<]*)"
)
_DDE_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f[\s>][^<]*(?:\||&#)")
_DIGIT_BYTES = b"0123456789"
_LETTER_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NOT_DIGITS = bytes(b for b in range(256) if b not in _DIGIT_BYTES)
_NOT_LETTERS = bytes(b for b in range(256) if b not in _LETTER_BYTES)
_LETTERS = re.compile(rb"[A-Za-z]+")
_DIGITS = re.compile(rb"[0-9]+")
_DECLARED_ENCODING = re.compile(rb"<\?xml\s[^?>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_DTD_MARKERS = (b"<!doctype", b"<!entity", b"<!element", b"<!attlist")
# Constructs a verifier may refuse in a signed worksheet, found by byte search (names → needle). None of them
# is refused here: set-up spreadsheets may hold them all.
_TEXT_MARKERS: tuple[tuple[str, bytes], ...] = (
    ("strict", b"purl.oclc.org/ooxml"),  # the ISO strict namespaces
    ("cdata", b"<![CDATA["),
    ("comment", b"<!--"),
    ("phonetic", b"<rPh"),
)
_SHEET_MARKERS: tuple[tuple[str, bytes], ...] = (  # looked for outside <sheetData> (CDATA, comments: everywhere)
    ("strict", b"purl.oclc.org/ooxml"),
    ("phonetic", b"<rPh"),
    ("conditionalFormatting", b"onditionalFormatting"),
    ("hyperlink", b"<hyperlink"),
    ("picture", b"<picture"),
    ("legacyDrawing", b"legacyDrawing"),
    ("drawing", b"<drawing"),
    ("x14:dataValidation", b"x14:dataValidation"),
    ("tableParts", b"<tablePart"),
    ("oleObjects", b"<oleObject"),
    ("controls", b"<control"),
)
_PREFIXED_ELEMENT = re.compile(rb"<[\w.-]+:(?:c|row|v|is|t|r|sheetData|worksheet|sst|si)[\s/>]")
_MAIN_NS_BYTES = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROOT_PREFIX = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")
_ROOT_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*[\s/>]")
_FORMULA_ELEMENT = re.compile(rb"<(?:[A-Za-z0-9_]+:)?f[\s>/]")
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3}[0-9]{1,7})"')
_HIDDEN_ZEROS = re.compile(rb"showZeros\s*=\s*[\"'](?:0|false)[\"']")
_MAX_VALIDATIONS = MiB
_SHARED_STRINGS_TYPE = "spreadsheetml.sharedstrings+xml"


class _Check:
    """One run of check_xlsx over one file."""

    def __init__(self, path: Path, limits: XlsxLimits, known: frozenset[str] = frozenset()) -> None:
        self.path = path
        self.limits = limits
        self.known = known
        self.spent = 0  # uncompressed bytes produced so far
        self.utf16: set[str] = set()
        self.facts: dict[str, SheetFacts] = {}
        self.text_markers: dict[str, set[str]] = {}

    def refuse(self, reason: str, **values: object) -> SignatureError:
        code, zh, en = _REASONS[reason]
        zh_advice, en_advice = _ADVICE[code]
        name = display_name(self.path)
        return SignatureError(
            code, f"{name}：{zh.format(**values)}。{zh_advice}。 / {name}: {en.format(**values)}; {en_advice}."
        )

    def run(self) -> XlsxInfo:
        self.check_file()
        try:
            zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise self.refuse("bad_directory", detail=_clip(str(exc))) from None
        with zf:
            infos = zf.infolist()
            self.check_members(zf, infos)
            names = {info.filename for info in infos}
            self.check_part_names(names)
            structure = self.read_structure(zf, {info.filename: info for info in infos})
            sheets = self.sheets(structure, names)
            assert structure.workbook is not None
            defined = tuple(
                (element.get("name", ""), element.text or "")
                for group in structure.workbook if _local(group.tag) == "definedNames"
                for element in group if _local(element.tag) == "definedName"
            )
            worksheets = {s.part for s in sheets if s.kind == "worksheet"}
            worksheets |= {n for n in names if _WORKSHEET_CONTENT_TYPE in structure.content_type(n)}
            for info in infos:
                if info.filename not in structure.parsed and info.filename not in self.known:
                    self.scan_member(zf, info, structure.content_type(info.filename), worksheets)
        namespaces = {_namespace(e.tag) for e in structure.workbook.iter()}
        namespaces |= {_namespace(a) for e in structure.workbook.iter() for a in e.attrib}
        return XlsxInfo(
            sheets=tuple(sheets), defined_names=defined, members=tuple(info.filename for info in infos),
            defaults=structure.defaults, overrides=structure.overrides,
            repeated_content_types=tuple(structure.repeated), relationships=structure.raw_rels,
            workbook_namespaces=frozenset(namespaces - {""}), utf16_parts=tuple(sorted(self.utf16)),
            sheet_facts=self.facts, text_markers=self.text_markers,
        )

    # --- the file and its zip container -------------------------------------------------------------

    def check_file(self) -> None:
        with open(self.path, "rb") as fh:
            head = fh.read(512)
            size = fh.seek(0, 2)
            tail_size = min(size, _EOCD.size + 0xFFFF)  # the end record, after at most a 64 KiB comment
            fh.seek(size - tail_size)
            tail = fh.read(tail_size)
        if size == 0:
            raise self.refuse("empty")
        if head.startswith(OLE_SIGNATURE):
            raise self.refuse("ole")
        if not head.startswith(b"PK"):
            raise self.refuse(_non_zip_kind(head))
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _EOCD.size:
            raise self.refuse("no_directory")
        entries, directory_size = _EOCD.unpack_from(tail, at)[4:6]
        # Checked before zipfile reads the directory, which it would do at whatever length (0xFFFF… is zip64).
        if entries != 0xFFFF and entries > self.limits.max_members:
            raise self.refuse("claimed_members", count=entries, limit=self.limits.max_members)
        if directory_size != 0xFFFFFFFF and directory_size > (self.limits.max_members + 64) * 1024:
            limit = _size((self.limits.max_members + 64) * 1024)
            raise self.refuse("big_directory", size=_size(directory_size), limit=limit)

    def check_members(self, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
        limits = self.limits
        if len(infos) > limits.max_members:
            raise self.refuse("members", count=len(infos), limit=limits.max_members)
        seen: set[str] = set()
        for info in infos:
            if info.flag_bits & _ENCRYPTED_FLAGS:
                raise self.refuse("encrypted_member", part=info.filename)
            if info.filename.casefold() in seen:  # two readers may each pick a different one
                raise self.refuse("duplicate", part=info.filename)
            seen.add(info.filename.casefold())
            if info.compress_type not in (_STORED, _DEFLATED):
                raise self.refuse("method", part=info.filename, method=info.compress_type)
            self.check_ratio(info.filename, info.file_size, info.compress_size)
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_total_bytes:
            raise self.refuse("total", size=_size(declared), limit=_size(limits.max_total_bytes))
        self.check_no_overlap(zf, infos)

    def check_ratio(self, part: str, produced: int, compressed: int) -> None:
        limits = self.limits
        if produced > limits.ratio_floor_bytes and produced > limits.max_ratio * max(compressed, 1):
            raise self.refuse("ratio", part=part, ratio=produced // max(compressed, 1), limit=limits.max_ratio)

    def check_no_overlap(self, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
        """Members sharing bytes are how the densest zip bombs are built; no spreadsheet writes them."""
        assert zf.fp is not None
        end, previous = 0, ""
        for info in sorted(infos, key=lambda i: i.header_offset):
            if info.header_offset < end:
                raise self.refuse("overlap", part=info.filename, other=previous)
            zf.fp.seek(info.header_offset)
            header = zf.fp.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
                raise self.refuse("bad_header", part=info.filename)
            name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
            end = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length + info.compress_size
            previous = info.filename

    def check_part_names(self, names: set[str]) -> None:
        if _CONTENT_TYPES not in names or _WORKBOOK not in names:
            if "word/document.xml" in names:
                raise self.refuse("word")
            if "ppt/presentation.xml" in names:
                raise self.refuse("powerpoint")
            if "xl/workbook.bin" in names:
                raise self.refuse("xlsb")
            if "mimetype" in names and "content.xml" in names:
                raise self.refuse("ods")
            raise self.refuse("no_parts", missing=", ".join(n for n in (_CONTENT_TYPES, _WORKBOOK) if n not in names))
        for name in sorted(names):
            for marker, zh, en in _ACTIVE_PART_NAMES:
                if marker in name.lower():
                    raise self.refuse("active_part", what_zh=zh, what_en=en, where=name)

    # --- decompressing, bounded ---------------------------------------------------------------------

    def chunks(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, count: bool = True) -> Iterator[bytes]:
        """The member's bytes in chunks; the limits hold on what is produced; the CRC is tested at its end."""
        produced = 0
        try:
            with zf.open(info) as member:
                while chunk := member.read(_CHUNK):
                    produced += len(chunk)
                    self.check_ratio(info.filename, produced, info.compress_size)
                    if count:
                        self.spent += len(chunk)
                        if self.spent > self.limits.max_total_bytes:
                            limit = _size(self.limits.max_total_bytes)
                            raise self.refuse("unpacked", part=info.filename, limit=limit)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            detail = _clip(str(exc) or type(exc).__name__)
            if "CRC" in detail:
                zh, en = "CRC 校验失败，内容与压缩时不同", "bad CRC-32: its content differs from what was compressed"
            else:
                zh = en = detail
            raise self.refuse("damaged", part=info.filename, detail_zh=zh, detail_en=en) from None

    def consume(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, feed: Callable[[bytes], None]) -> int:
        """Feed the member to `feed` chunk by chunk; its size.

        A refusal met on the way is raised after the rest of the member is read: a damaged member
        decompresses into garbage, and its CRC, tested at its end, then tells what really happened.
        """
        chunks = self.chunks(zf, info)
        size = 0
        try:
            for chunk in chunks:
                size += len(chunk)
                feed(chunk)
        except (SignatureError, XmlDeclarationForbidden, expat.ExpatError):
            for _ in chunks:
                pass
            raise
        return size

    # --- structure: content types, relationships, the workbook's sheets -----------------------------

    def read_structure(self, zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo]) -> _Structure:
        structure = _Structure()
        extensions = {n.rpartition(".")[2].lower() for n in by_name}
        for child in self.parse_whole(zf, by_name[_CONTENT_TYPES], structure):
            content_type = child.get("ContentType", "")
            if _local(child.tag) == "Default":
                extension = child.get("Extension", "").lower()
                if extension in structure.defaults:
                    structure.repeated.append(f"*.{extension}")
                structure.defaults[extension] = content_type
                if extension not in extensions:
                    continue  # a default that no part uses activates nothing
                where = f"*.{extension}"
            elif _local(child.tag) == "Override":
                where = child.get("PartName", "").lstrip("/")
                if where.lower() in structure.overrides:
                    structure.repeated.append(where)
                structure.overrides[where.lower()] = content_type
            else:
                continue
            for marker, zh, en in _ACTIVE_CONTENT_TYPES:
                if marker in content_type.lower():
                    raise self.refuse("active_part", what_zh=zh, what_en=en, where=f"{where}: {content_type}")
        for name, info in by_name.items():
            if name.endswith(".rels"):
                raw = self.relationships(name, self.parse_whole(zf, info, structure))
                structure.raw_rels[name] = tuple(raw)
                structure.rels[name] = {r.id: (r.type.rstrip("/").rsplit("/", 1)[-1].lower(), r.part)
                                        for r in raw if not r.external}
        structure.workbook = self.parse_whole(zf, by_name[_WORKBOOK], structure)
        return structure

    def parse_whole(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, structure: _Structure) -> Element:
        """A small structural part, through defusedxml (no DTD, no entities, nothing external)."""
        from defusedxml import DefusedXmlException
        from defusedxml import ElementTree as SafeElementTree

        if info.file_size > _MAX_STRUCTURE_PART:  # read whole, unlike every other part
            limit = _size(_MAX_STRUCTURE_PART)
            raise self.refuse("big_part", part=info.filename, size=_size(info.file_size), limit=limit)
        data = b"".join(self.chunks(zf, info))  # never longer than declared: zipfile stops there
        structure.parsed.add(info.filename)
        self.check_encoding(info.filename, data[:1024])
        try:
            root: Element = SafeElementTree.fromstring(
                data, forbid_dtd=True, forbid_entities=True, forbid_external=True
            )
        except DefusedXmlException:
            raise self.refuse("dtd", part=info.filename) from None
        except SafeElementTree.ParseError as exc:
            raise self.refuse("malformed", part=info.filename, detail=exc) from None
        return root

    def relationships(self, part: str, root: Element) -> list[Relationship]:
        """The part's relationships in order; refuses active types and external targets but web links."""
        source_dir = posixpath.dirname(posixpath.dirname(part))  # "xl/_rels/workbook.xml.rels" → "xl"
        result: list[Relationship] = []
        for rel in root:
            if _local(rel.tag) != "Relationship":
                continue
            target = rel.get("Target", "")
            kind = rel.get("Type", "").rstrip("/").rsplit("/", 1)[-1].lower()
            if kind in _ACTIVE_REL_TYPES:
                zh, en = _ACTIVE_REL_TYPES[kind]
                raise self.refuse("active_rel", part=part, what_zh=zh, what_en=en, target=_clip(target))
            if rel.get("TargetMode", "Internal") != "Internal":
                if kind == "hyperlink" and target.lower().startswith(_SAFE_HYPERLINK_SCHEMES):
                    result.append(Relationship(rel.get("Id", ""), rel.get("Type", ""), target, True, ""))
                    continue
                raise self.refuse("external", part=part, kind=kind, target=_clip(target))
            joined = target.lstrip("/") if target.startswith("/") else posixpath.join(source_dir, target)
            result.append(Relationship(rel.get("Id", ""), rel.get("Type", ""), target, False,
                                       posixpath.normpath(joined)))
        return result

    def sheets(self, structure: _Structure, names: set[str]) -> list[SheetInfo]:
        root = structure.workbook
        assert root is not None
        if _local(root.tag) != "workbook" or _namespace(root.tag) not in _MAIN_NS:
            raise self.refuse("not_workbook", part=_WORKBOOK)
        if _WORKBOOK_RELS not in structure.rels:
            raise self.refuse("no_workbook_rels", part=_WORKBOOK_RELS)
        rels = structure.rels[_WORKBOOK_RELS]
        by_folded = {n.casefold(): n for n in names}  # part names are case-insensitive (OPC)
        sheets: list[SheetInfo] = []
        seen: set[str] = set()
        for element in (e for group in root if _local(group.tag) == "sheets" for e in group):
            if _local(element.tag) != "sheet":
                continue
            name, state = element.get("name", ""), element.get("state", "visible")
            rel_id = next((element.get(a) for a in _REL_ID_ATTRS if element.get(a) is not None), None)
            id_attributes = tuple(a for a in element.attrib if a == "id" or a.endswith("}id"))
            if not name or name.casefold() in seen:  # Excel's rule: names differ regardless of case
                raise self.refuse("sheet_name", name=name)
            seen.add(name.casefold())
            if state not in SHEET_STATES:
                raise self.refuse("sheet_state", name=name, state=state)
            if rel_id is None or rel_id not in rels:
                raise self.refuse("sheet_rel", name=name, rel=rel_id)
            kind, part = rels[rel_id]
            actual = part if part in names else by_folded.get(part.casefold())
            if kind not in _SHEET_KINDS or actual is None:
                raise self.refuse("missing_sheet", name=name, part=part)
            sheets.append(SheetInfo(name=name, part=actual, state=state, kind=kind, id_attributes=id_attributes))
        if not sheets:
            raise self.refuse("no_sheets")
        return sheets

    # --- every other member -------------------------------------------------------------------------

    def scan_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, content_type: str, worksheets: set[str]) -> None:
        name = info.filename.lower()
        if info.filename in worksheets:
            self.scan_worksheet(zf, info)
        elif name.endswith(".vml") or "vmldrawing" in content_type.lower():
            self.scan_vml(zf, info)
        elif name.endswith((".xml", ".rels")) or content_type.lower().endswith("xml"):
            markers = None
            if _SHARED_STRINGS_TYPE in content_type.lower() or name.endswith("sharedstrings.xml"):
                markers = self.text_markers.setdefault(info.filename, set())
            self.parse_streaming(zf, info, markers)
        else:
            self.consume(zf, info, lambda chunk: None)

    def parse_streaming(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, markers: set[str] | None = None) -> None:
        """Any other XML part, through expat with defusedxml's three guards, never whole in memory; with
        `markers`, the constructs of _TEXT_MARKERS found in it are added there."""
        parser = _guarded_expat()
        first = True
        carry = b""
        namespaces = 0

        def feed(chunk: bytes) -> None:
            nonlocal first, carry, namespaces
            if first:
                first = False
                self.check_encoding(info.filename, chunk[:1024])
            if markers is not None:
                text = carry + chunk
                _find_markers(text, _TEXT_MARKERS, markers)
                namespaces += chunk.count(b"xmlns")
                if _PREFIXED_ELEMENT.search(text):
                    markers.add("prefixed")
                if b"<?" in (text[5:] if len(carry) == 0 else text):
                    markers.add("processing")
                carry = chunk[-64:]
            parser.Parse(chunk, False)

        try:
            self.consume(zf, info, feed)
            parser.Parse(b"", True)
        except XmlDeclarationForbidden:
            raise self.refuse("dtd", part=info.filename) from None
        except expat.ExpatError as exc:
            raise self.refuse("malformed", part=info.filename, detail=exc) from None
        if markers is not None and namespaces > 1:
            markers.add("namespaces")

    def scan_worksheet(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        sheet = _SheetScan(self, info.filename)
        self.facts[info.filename] = sheet.facts
        if self.consume(zf, info, self.utf8_feed(info.filename, sheet.feed)) == 0:
            raise self.refuse("empty_sheet", part=info.filename)
        sheet.finish()
        if sheet.needs_exact_pass:
            _exact_extent(self, zf, info, sheet.facts)

    def scan_vml(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        """VML (comment boxes) is not read by calamine, and Excel's is not always well-formed: scan only."""
        carry = b""

        def feed(text: bytes) -> None:
            nonlocal carry
            text = carry + text.lower()
            if any(marker in text for marker in _DTD_MARKERS):
                raise self.refuse("dtd", part=info.filename)
            carry = text[-16:]

        self.consume(zf, info, self.utf8_feed(info.filename, feed))

    def utf8_feed(self, part: str, feed: Callable[[bytes], None]) -> Callable[[bytes], None]:
        """Wrap feed so that it always gets UTF-8, whatever of UTF-8 or UTF-16 the part is in."""
        decoder: codecs.IncrementalDecoder | None = None
        first = True

        def wrapped(chunk: bytes) -> None:
            nonlocal first, decoder
            if first:
                first = False
                if self.check_encoding(part, chunk[:1024]) == "utf-16":
                    decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
            feed(decoder.decode(chunk).encode("utf-8") if decoder else chunk)

        return wrapped

    def check_encoding(self, part: str, head: bytes) -> str:
        """'utf-8' or 'utf-16'; anything else is refused, so that every reader decodes the part alike."""
        allowed: tuple[str, ...]
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.utf16.add(part)
            encoding, allowed = "utf-16", ("utf-16", "utf-16le", "utf-16be")
            head = head[: len(head) // 2 * 2].decode("utf-16", errors="replace").encode("utf-8")
        else:
            encoding, allowed = "utf-8", ("utf-8",)
            head = head.removeprefix(codecs.BOM_UTF8)
            if b"\x00" in head[:4]:  # UTF-16 without its mark, or UCS-4
                raise self.refuse("encoding", part=part)
        declared = _DECLARED_ENCODING.match(head)
        if declared and declared.group(1).decode("ascii", "replace").lower() not in allowed:
            raise self.refuse("declared_encoding", part=part, encoding=declared.group(1).decode("ascii", "replace"))
        return encoding

    def check_extent(self, part: str, rows: int, columns: int, reason: str = "cells") -> None:
        limits = self.limits
        cells = rows * max(columns, 1)
        if columns > limits.max_columns or cells > limits.max_cells:
            raise self.refuse(reason, part=part, rows=rows, columns=columns,
                              max_columns=limits.max_columns, max_cells=limits.max_cells)
        facts = self.facts.get(part)
        if facts is not None:
            facts.cells, facts.columns = max(facts.cells, cells), max(facts.columns, columns)


class _Structure:
    """The parts read whole: content types, every relationship part, the workbook."""

    def __init__(self) -> None:
        self.defaults: dict[str, str] = {}
        self.overrides: dict[str, str] = {}
        self.repeated: list[str] = []
        self.rels: dict[str, dict[str, tuple[str, str]]] = {}
        self.raw_rels: dict[str, tuple[Relationship, ...]] = {}
        self.workbook: Element | None = None
        self.parsed: set[str] = set()

    def content_type(self, name: str) -> str:
        override = self.overrides.get(name.lower())
        return override if override is not None else self.defaults.get(name.rsplit(".", 1)[-1].lower(), "")


class _SheetScan:
    """Finds DTDs, DDE formulas and the furthest row and column of a worksheet, one chunk at a time."""

    def __init__(self, check: _Check, part: str) -> None:
        self.check = check
        self.part = part
        self.pending = b""
        self.rows = 0
        self.columns = 0
        self.needs_exact_pass = False
        self.facts = SheetFacts()
        # While every reference is canonical and each comes after the one before (as every spreadsheet program
        # writes them), none can repeat: only the last one's key is kept. Else, from the first piece that is
        # not, the set of all of them.
        self.last_key = 0
        self.refs: set[bytes] | None = None
        self.pieces: list[list[bytes]] = []  # the references of each piece, to name a repeated one
        self.first = True
        self.first_tag = True
        self.in_sheet_data = False
        self.sheet_data_seen = 0
        self.validations: bytes | None = None  # a <dataValidations> element being collected

    def feed(self, data: bytes) -> None:
        buffer = self.pending + data
        cut = buffer.rfind(b"<")  # cut before the last "<", so that no tag is split between two scans
        if cut < 0:
            self.pending = b""
            return
        self.pending = buffer[cut:]
        if len(self.pending) > _MAX_PENDING_TAG:
            raise self.check.refuse("long_tag", part=self.part, limit=_size(_MAX_PENDING_TAG))
        self.scan(buffer[:cut])

    def finish(self) -> None:
        self.scan(self.pending)
        self.pending = b""

    def scan(self, text: bytes) -> None:
        check = self.check
        # One-byte tests first: they run at memchr speed, and "!", ":" or "|" are rare in a worksheet.
        if b"!" in text:
            at = text.find(b"<!")
            while at >= 0:
                if text.startswith(b"<!--", at):
                    self.facts.markers.add("comment")
                elif text.startswith(b"<![CDATA[", at):
                    self.facts.markers.add("cdata")
                else:
                    raise check.refuse("dtd", part=self.part)
                at = text.find(b"<!", at + 2)
        refs = _ANY_REF.findall(text)
        if refs:
            extent = _ordered_extent(refs, self.last_key) if self.refs is None else None
            if extent is None:  # the general way; from here on every reference is kept, to find a repeat
                if self.refs is None:
                    self.refs = set().union(*self.pieces)
                joined = b" ".join(refs)
                self.columns = max(self.columns, _max_column(joined.translate(None, _DIGIT_BYTES)))
                self.rows = max(self.rows, _max_row(joined.translate(None, _LETTER_BYTES)))
            else:
                rows, columns, self.last_key = extent
                self.rows, self.columns = max(self.rows, rows), max(self.columns, columns)
            check.check_extent(self.part, self.rows, self.columns)
        if not self.needs_exact_pass:
            self.needs_exact_pass = bool(_UNUSUAL_CELL.search(text) or (b":" in text and _PREFIXED_CELL.search(text)))
        if b"dimension" in text:
            for ref in _DIMENSION.findall(text):
                check.check_extent(self.part, *_area(ref), reason="dimension")
        if (b"|" in text or (b"#" in text and b"&#" in text)) and (found := _DDE_FORMULA.search(text)):
            raise check.refuse("dde", part=self.part, formula=_clip(found.group().decode("utf-8", "replace")))
        self.gather(text, refs)

    def gather(self, text: bytes, refs: list[bytes]) -> None:
        """Record the SheetFacts of this piece of the worksheet (whole tags only).

        Most of a worksheet is its <sheetData>, where only a few constructs can hide: the rest of the
        markers are looked for outside it, so that the scan stays close to memchr speed."""
        facts = self.facts
        markers = facts.markers
        outside, inside = self.split(text)
        for piece in outside:
            _find_markers(piece, _SHEET_MARKERS, markers)
            if b"showZeros" in piece and _HIDDEN_ZEROS.search(piece):
                markers.add("showZeros")
            if self.validations is not None or b"<dataValidations" in piece:
                self.collect_validations(piece)
        for piece in inside:
            if b"xmlns" in piece:
                markers.add("namespaces")
            if b"<rPh" in piece:
                markers.add("phonetic")
        if b"?" in text and b"<?" in (text[5:] if self.first else text):  # "?" alone: memchr speed
            markers.add("processing")
        self.first = False
        facts.main_namespace_uses += text.count(_MAIN_NS_BYTES)
        if self.first_tag:
            self.root(text)
        for piece in inside:  # a cell element under a prefix the root binds: calamine reads it, others do not
            if any(b"<" + prefix + b":" in piece for prefix in facts.foreign_prefixes):
                markers.add("prefixed")
        if refs and facts.duplicate_ref is None:
            self.pieces.append(refs)
            if self.refs is not None:  # not all in order: a reference may repeat
                before = len(self.refs)
                self.refs.update(refs)
                if len(self.refs) - before < len(refs):  # some reference was there already: which, exactly
                    facts.duplicate_ref = _first_repeat(self.pieces).decode("ascii", "replace")
        # A prefixed formula, <x:f>, needs a prefix the root binds.
        if facts.formula_cell is None and (b"<f" in text or (facts.foreign_prefixes and b":f" in text)):
            at = _formula_element(text)
            if at is not None:
                start = max(text.rfind(b"<c ", 0, at), text.rfind(b":c ", 0, at))
                ref = _CELL_REF.search(text, start, at) if start >= 0 else None
                facts.formula_cell = ref.group(1).decode() if ref else "?"

    def root(self, text: bytes) -> None:
        """The root element: an unprefixed <worksheet> whose default namespace is SpreadsheetML's."""
        at = text.find(b"<", text.find(b"?>") + 2 if text.lstrip(codecs.BOM_UTF8).startswith(b"<?") else 0)
        while text.startswith((b"<!--", b"<?"), at):
            at = text.find(b"<", at + 2)
        tag = _ROOT_ELEMENT.match(text, at) if at >= 0 else None
        if tag is None:
            return  # not in this piece yet
        self.first_tag = False
        end = text.find(b">", at)
        start_tag = text[at:end if end >= 0 else len(text)]
        if not start_tag.startswith(b"<worksheet") or b'xmlns="' + _MAIN_NS_BYTES + b'"' not in start_tag:
            self.facts.markers.add("root")
        self.facts.foreign_prefixes = tuple(_ROOT_PREFIX.findall(start_tag))

    def split(self, text: bytes) -> tuple[list[bytes], list[bytes]]:
        """The pieces of text outside and inside <sheetData>; a second <sheetData> is marked."""
        outside: list[bytes] = []
        inside: list[bytes] = []
        at = 0
        while at < len(text):
            if self.in_sheet_data:
                end = text.find(b"</sheetData", at)
                inside.append(text[at:] if end < 0 else text[at:end])
                if end < 0:
                    break
                self.in_sheet_data, at = False, end
                continue
            start = text.find(b"<sheetData", at)
            if start < 0:
                outside.append(text[at:])
                break
            close = text.find(b">", start)
            outside.append(text[at:start])
            self.sheet_data_seen += 1
            if self.sheet_data_seen > 1:
                self.facts.markers.add("sheetData")
            self.in_sheet_data = close < 0 or text[close - 1:close] != b"/"
            at = len(text) if close < 0 else close + 1
        return outside, inside

    def collect_validations(self, text: bytes) -> None:
        if self.validations is None:
            start = text.find(b"<dataValidations")
            close = text.find(b">", start)
            if close >= 0 and text[close - 1:close] == b"/":  # <dataValidations …/>: nothing inside
                self.facts.data_validations += text[start:close + 1]
                return
            self.validations, text = b"", text[start:]
        end = text.find(b"</dataValidations>")
        self.validations += text if end < 0 else text[:end + len(b"</dataValidations>")]
        if end >= 0 or len(self.validations) > _MAX_VALIDATIONS:
            if end < 0:
                self.facts.markers.add("dataValidations")  # too long to be what an export writes
            self.facts.data_validations += self.validations
            self.validations = None


def _exact_extent(check: _Check, zf: zipfile.ZipFile, info: zipfile.ZipInfo, facts: SheetFacts) -> None:
    """Place rows and cells as calamine does (a cell without `r` takes the next column): exact, but slow.
    Records a cell placed twice."""
    row_index = col_index = 0  # zero-based, like calamine's
    rows = columns = 0
    placed: set[tuple[int, int]] = set()

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row_index, col_index, rows, columns
        local = name.rpartition(":")[2]
        if local == "row" and "r" in attrs:
            row_index = _row_number(attrs["r"].encode()) - 1
        elif local == "c":
            row, column = row_index + 1, col_index + 1
            if "r" in attrs:
                ref = attrs["r"].encode()
                if letters := _LETTERS.match(ref):
                    column = _column_number(letters.group())
                if digits := _DIGITS.search(ref):
                    row = _row_number(digits.group())
            col_index = column
            if (row, column) in placed and facts.duplicate_ref is None:
                facts.duplicate_ref = f"{_column_letters(column)}{row}"
            placed.add((row, column))
            if row > rows or column > columns:
                rows, columns = max(rows, row), max(columns, column)
                check.check_extent(info.filename, rows, columns)

    def end(name: str) -> None:
        nonlocal row_index, col_index
        if name.rpartition(":")[2] == "row":
            row_index, col_index = row_index + 1, 0

    parser = _guarded_expat()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        for chunk in check.chunks(zf, info, count=False):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except XmlDeclarationForbidden:
        raise check.refuse("dtd", part=info.filename) from None
    except expat.ExpatError as exc:
        raise check.refuse("malformed", part=info.filename, detail=exc) from None


def _find_markers(text: bytes, table: tuple[tuple[str, bytes], ...], found: set[str]) -> None:
    for name, needle in table:
        if name not in found and needle in text:
            found.add(name)


def _formula_element(xml: bytes) -> int | None:
    """Where the first <f> element (possibly prefixed) starts, not confusing it with <formula1> and the like;
    memchr-fast candidates first."""
    for needle, back in ((b"<f", 0), (b":f", 40)):
        at = xml.find(needle)
        while at >= 0:
            match = _FORMULA_ELEMENT.match(xml, xml.rfind(b"<", max(0, at - back), at + 1))
            if match is not None and match.end() - 2 <= at + len(needle):
                return match.start()
            at = xml.find(needle, at + 2)
    return None


def _first_repeat(pieces: list[list[bytes]]) -> bytes:
    """The first reference of the last piece written before, in it or in an earlier piece."""
    seen: set[bytes] = set().union(*pieces[:-1])
    for ref in pieces[-1]:
        if ref in seen:
            return ref
        seen.add(ref)
    return b"?"


def _column_letters(column: int) -> str:
    letters = ""
    while column > 0:
        column, rem = divmod(column - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _guarded_expat() -> expat.XMLParserType:
    """An expat parser refusing what defusedxml refuses with forbid_dtd, forbid_entities, forbid_external.

    defusedxml's own parsers call back into Python for every element and would triple this pass.
    """

    def forbid(*_: object) -> NoReturn:
        raise XmlDeclarationForbidden

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    return parser


_REF_WIDTH = 11  # a canonical reference is at most XFD1048576, 10 characters: an 11th means a longer one


def _ordered_extent(refs: list[bytes], after: int) -> tuple[int, int, int] | None:
    """The furthest row and column of references, and the key (row, column) of the last one, when each is
    canonical (A to Z at most three times, then digits without a leading zero; or digits alone, a row's) and each
    comes strictly after the one before, the first after key `after`; else None.

    Column by column over all the references at once (numpy): a worksheet has a few hundred thousand."""
    import numpy as np

    count = len(refs)
    # Fixed width, padded with NUL bytes; a longer reference shows in the last column.
    columns = np.array(refs, dtype=f"S{_REF_WIDTH}").view(np.uint8).reshape(count, _REF_WIDTH).T.copy()
    if columns[-1].any():
        return None
    rows = np.zeros(count, np.int64)
    cols = np.zeros(count, np.int64)
    state = np.zeros(count, np.int8)  # 0 in the letters, 1 in the digits, 2 in the padding
    bad = np.zeros(count, np.bool_)
    for j in range(_REF_WIDTH - 1):
        if not columns[j:].any():  # padding only, from here on
            break
        c = columns[j]
        letter = (c >= 65) & (c <= 90)
        digit = (c >= 48) & (c <= 57)
        pad = c == 0
        bad |= letter & (state != 0) if j < 3 else letter
        bad |= ~(letter | digit | pad) | (digit & (state == 2)) | (pad & (state == 0)) | ((c == 48) & (state == 0))
        state[digit] = 1
        state[pad] = 2
        rows = np.where(digit, rows * 10 + (c - 48), rows)
        cols = np.where(letter, cols * 26 + (c - 64), cols)
    if bad.any() or not state.all():  # a stray character, a leading zero, no digit
        return None
    keys = rows * (1 << 15) + cols  # a column of at most three letters is below 2**15
    if keys[0] <= after or bool((keys[1:] <= keys[:-1]).any()):
        return None
    return int(rows.max()), int(cols.max()), int(keys[-1])


def _max_column(letters: bytes) -> int:
    """The furthest of space-separated column letters."""
    return max((_column_number(token) for token in set(letters.split())), default=0)


def _max_row(digits: bytes) -> int:
    """The largest of space-separated row numbers, without converting each one."""
    tokens = set(digits.split())
    if not tokens:
        return 0
    if digits.translate(None, _DIGIT_BYTES + b" ") or digits.startswith(b"0") or b" 0" in digits:
        return max(_row_number(token) for token in tokens)  # stray characters or leading zeros: the slow way
    return _row_number(max(tokens, key=lambda token: (len(token), token)))


def _column_number(token: bytes) -> int:
    letters = token.translate(None, _NOT_LETTERS).upper()
    if len(letters) > 4:
        return 1 << 30
    number = 0
    for byte in letters:
        number = number * 26 + byte - 64
    return number


def _row_number(token: bytes) -> int:
    digits = token.translate(None, _NOT_DIGITS).lstrip(b"0")
    return int(digits) if 0 < len(digits) <= 10 else (1 << 40 if digits else 0)


def _area(ref: bytes) -> tuple[int, int]:
    """(rows, columns) to the furthest corner of a range such as A1:M18001, as a reader allocates it."""
    rows = max((_row_number(s) for s in _DIGITS.findall(ref)), default=0)
    return rows, max((_column_number(s) for s in _LETTERS.findall(ref)), default=0)


def _non_zip_kind(head: bytes) -> str:
    """The reason to give for a file that is not a zip, after what it looks like."""
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.lstrip().lower().startswith((b"<html", b"<!doctype html", b"<?xml")):
        return "html"
    sample = head.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in sample:
        return "not_zip"
    for encoding in ("utf-8", "gb18030"):  # a CSV saved by Excel in China is GB18030 (GBK)
        try:
            sample.decode(encoding)
            return "text"
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 4:  # only a character cut at the end of the sample
                return "text"
    return "not_zip"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _clip(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(size: int) -> str:
    return f"{size / MiB:.0f} MiB" if size >= MiB else f"{size} bytes"
