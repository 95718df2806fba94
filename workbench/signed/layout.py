"""What a signed worksheet may hold besides its cells: one reading of its parts, nothing that changes what a cell shows.

check_xlsx vets any workbook against hostile files and gathers facts; these rules apply only to a signed export,
after its signature verified. Excel, LibreOffice, openpyxl and calamine resolve a workbook's parts in different
ways (calamine takes xl/sharedStrings.xml and xl/styles.xml by name, openpyxl takes the shared strings that
[Content_Types].xml names, LibreOffice follows the relationships), so a workbook is accepted only when every
way leads to the same parts. Beyond the cells, it may hold only what the export writes and what a spreadsheet
program adds on a re-save or on edits that do not touch the data (widths, panes, filters, print settings,
zoom): an empty drawing part, printer settings, document properties.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import FailureCode, SignatureError
from workbench.signed.worksheet import VALIDATION, ValidationSpec

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from workbench.signed.xlsxcheck import XlsxInfo

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_ID = f"{{{_REL}}}id"
_WORKBOOK = "xl/workbook.xml"
_SHARED_STRINGS = "xl/sharedStrings.xml"  # where calamine reads them, whatever the relationships say
_STYLES = "xl/styles.xml"  # where calamine and openpyxl read them
_CT = "application/vnd.openxmlformats-officedocument."
_WORKBOOK_TYPE = _CT + "spreadsheetml.sheet.main+xml"
_SHARED_STRINGS_TYPE = _CT + "spreadsheetml.sharedStrings+xml"
_STYLES_TYPE = _CT + "spreadsheetml.styles+xml"
_WORKSHEET_TYPE = _CT + "spreadsheetml.worksheet+xml"
_DRAWING_TYPE = _CT + "drawing+xml"

# Every part of a signed worksheet has one of these content types (by where it may be, when that matters).
_ALLOWED_TYPES = frozenset({
    "application/vnd.openxmlformats-package.relationships+xml",
    _WORKBOOK_TYPE, _WORKSHEET_TYPE, _STYLES_TYPE, _SHARED_STRINGS_TYPE, _DRAWING_TYPE,
    _CT + "theme+xml",
    "application/vnd.openxmlformats-package.core-properties+xml",
    _CT + "extended-properties+xml",
    _CT + "custom-properties+xml",
    _CT + "spreadsheetml.printerSettings",  # Excel, after a print-settings edit
})
_ALLOWED_ELSEWHERE = (  # (folder, content type prefix): parts no reader shows
    ("docProps/", "image/"),  # a thumbnail
    ("customXml/", "application/"),  # document-management metadata
)
# Relationship types (the Type URI's last segment) allowed, by the kind of part that holds them.
_PACKAGE_RELS = frozenset({"officedocument", "metadata/core-properties", "extended-properties", "custom-properties",
                           "metadata/thumbnail"})
_WORKBOOK_RELS = frozenset({"worksheet", "styles", "sharedstrings", "theme", "customxml"})
_SHEET_RELS = frozenset({"drawing", "printersettings"})

# What each byte-scan marker of a worksheet or shared-strings part means to a coordinator.
_MARKERS: dict[str, tuple[str, str]] = {
    "strict": ("使用了 ISO 严格（Strict）格式的命名空间", "uses the ISO strict namespaces"),
    "cdata": ("含有 CDATA 段", "holds a CDATA section"),
    "comment": ("含有 XML 注释", "holds an XML comment"),
    "phonetic": ("含有拼音/注音文字（rPh）", "holds phonetic text (rPh)"),
    "processing": ("含有 XML 处理指令", "holds an XML processing instruction"),
    "prefixed": ("含有带命名空间前缀的单元格元素", "holds cell elements with a namespace prefix"),
    "root": ("的根元素不是标准的工作表元素", "does not have a plain <worksheet> root in the spreadsheet namespace"),
    "namespaces": ("在单元格数据中另行声明了命名空间", "declares namespaces within its cell data"),
    "sheetData": ("含有多个单元格数据区（sheetData）", "holds more than one cell-data block (sheetData)"),
    "conditionalFormatting": ("含有条件格式", "holds conditional formatting"),
    "hyperlink": ("含有超链接（及其提示文字）", "holds hyperlinks (and their tooltips)"),
    "picture": ("含有背景图片", "holds a background picture"),
    "legacyDrawing": ("含有批注或 VML 图形", "holds comments or VML shapes"),
    "x14:dataValidation": ("含有扩展数据验证", "holds extended data validation"),
    "tableParts": ("含有表格（Table）", "holds tables"),
    "oleObjects": ("含有嵌入对象", "holds embedded objects"),
    "controls": ("含有控件", "holds controls"),
    "showZeros": ("设置为不显示零值（showZeros=0），0 分会显示为空白",
                  "hides zero values (showZeros=0), so a 0 shows as not scored"),
    "dataValidations": ("含有过长的数据验证", "holds an overlong data validation"),
}
_SHEET_MARKERS_ALLOWED = frozenset({"drawing"})  # a <drawing> is allowed when its part is empty

# Number formats that show a number as it is: General, text, and plain decimals (#,##0.00 and the like).
_SAFE_BUILTIN_FORMATS = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 49: "@"}
_PLAIN_DECIMAL = re.compile(r"(?:#,##)?0(?:\.(0+))?")


def edited(where: str, zh: str, en: str) -> SignatureError:
    """EDITED_AFTER_SIGNING, naming where (a part, or sheet!cell) and what is wrong there."""
    return SignatureError(FailureCode.EDITED_AFTER_SIGNING,
                          f"{where} {zh}，文件在签名后被改动过 / {where} {en}: the worksheet was changed after it "
                          "was signed; ask the reviewer to send the file as exported")


def check_layout(path: Path, info: XlsxInfo, scores_part: str, rows: int, decimals: int,
                 validations: Sequence[ValidationSpec] | None = None) -> None:
    """Refuse a signed worksheet that can be read more than one way or shows something other than its cells.

    scores_part is 评分表's worksheet part, rows the signed row count, decimals the most decimal places of any
    number signed in 评分表 (a format on a number column must show them all), validations those the export
    writes on 得分 (worksheet.score_validations; by default the general one over I2:I{rows+1})."""
    if validations is None:
        validations = (ValidationSpec(VALIDATION.type, VALIDATION.formula, VALIDATION.prompt_title,
                                      VALIDATION.prompt, tuple(range(2, rows + 2))),) if rows else ()
    _check_names(info)
    _check_package(info)
    sheet_parts = _check_sheets(info)
    _check_content_types(info)
    _check_relationships(info, sheet_parts)
    for part in sorted(sheet_parts):
        _check_sheet_facts(info, part, scores_part, rows, validations)
    for part, markers in info.text_markers.items():
        if markers:
            name = sorted(markers)[0]
            zh, en = _MARKERS[name]
            raise edited(part, zh, en)
    with zipfile.ZipFile(path) as archive:
        for name in info.members:
            if info.content_type(name) == _DRAWING_TYPE:
                _check_empty_drawing(name, _parse(archive, name))
        if _STYLES in info.members:
            short = _check_styles(_parse(archive, _STYLES), decimals)
            if short:  # styles that would round a signed number: 评分表 must use none of them
                _check_unused(archive.read(scores_part), short)


def _check_names(info: XlsxInfo) -> None:
    """Part names as every reader spells them: no backslash, no percent-escape, no empty or dot segment."""
    for name in info.members:
        if "\\" in name or "%" in name or name.startswith("/") or any(
                segment in ("", ".", "..") for segment in name.rstrip("/").split("/")):
            raise edited(f"压缩包成员 {name!r} / zip member {name!r}", "的名称可被不同软件解读为不同的部件",
                         "is named so that programs may take it for different parts")
    if info.utf16_parts:
        raise edited(info.utf16_parts[0], "采用 UTF-16 编码（导出的工作簿全部为 UTF-8）",
                     "is in UTF-16, where an exported workbook is UTF-8 throughout")


def _check_package(info: XlsxInfo) -> None:
    """One workbook part, the same for the package relationships, the content types and every reader."""
    documents = [r for r in info.relationships.get("_rels/.rels", ()) if r.type.endswith("/officeDocument")]
    if len(documents) != 1 or documents[0].part != _WORKBOOK or documents[0].external:
        raise edited("_rels/.rels", f"指向的主文档不是唯一的 {_WORKBOOK}",
                     f"does not name {_WORKBOOK} as the one main document")
    for name in info.members:
        content_type = info.content_type(name).lower()
        if name != _WORKBOOK and content_type.endswith(".main+xml"):
            raise edited("[Content_Types].xml", f"把 {name} 也标为工作簿主文档",
                         f"gives {name} a workbook's content type as well")
    if info.content_type(_WORKBOOK) != _WORKBOOK_TYPE:
        raise edited("[Content_Types].xml", f"没有把 {_WORKBOOK} 标为工作簿",
                     f"does not type {_WORKBOOK} as a workbook")
    strict = sorted(ns for ns in info.workbook_namespaces if "purl.oclc.org" in ns)
    if strict:
        raise edited(_WORKBOOK, f"使用了 ISO 严格格式的命名空间 {strict[0]}",
                     f"uses the ISO strict namespace {strict[0]}")


def _check_sheets(info: XlsxInfo) -> set[str]:
    """Each sheet names its part by one relationship id, in the one relationships namespace; one sheet a part."""
    parts: Counter[str] = Counter()
    for sheet in info.sheets:
        if sheet.id_attributes != (_SHEET_ID,):
            raise edited(f"{_WORKBOOK}「{sheet.name}」/ sheet {sheet.name!r} in {_WORKBOOK}",
                         "用多个或非标准的关系属性指向其工作表部件，不同软件会读到不同的工作表",
                         "names its part by several or non-standard relationship attributes, so programs may "
                         "read different sheets")
        if sheet.kind != "worksheet":
            raise edited(f"「{sheet.name}」/ sheet {sheet.name!r}", "是图表工作表", "is a chart sheet")
        parts[sheet.part] += 1
    shared = [part for part, count in parts.items() if count > 1]
    if shared:
        raise edited(shared[0], "被多个工作表同时引用", "is the part of more than one sheet")
    orphans = [n for n in info.members if info.content_type(n) == _WORKSHEET_TYPE and n not in parts]
    if orphans:
        raise edited(orphans[0], "是未列入工作簿的工作表部件", "is a worksheet part the workbook does not list")
    return set(parts)


def _check_content_types(info: XlsxInfo) -> None:
    if info.repeated_content_types:
        raise edited("[Content_Types].xml", f"对 {info.repeated_content_types[0]} 给出了多个内容类型",
                     f"gives {info.repeated_content_types[0]} more than one content type")
    for name in info.members:
        content_type = info.content_type(name)
        if content_type in _ALLOWED_TYPES or name == "[Content_Types].xml":
            continue
        if any(name.startswith(folder) and content_type.startswith(prefix) for folder, prefix in _ALLOWED_ELSEWHERE):
            continue
        raise edited(name, f"（{content_type or '无内容类型'}）不是签名工作表可含的内容："
                     "不接受批注、图形、图片、图表等",
                     f"({content_type or 'no content type'}) is nothing a signed worksheet holds: comments, "
                     "shapes, pictures, charts and the like are refused")
    for part, content_type in ((_SHARED_STRINGS, _SHARED_STRINGS_TYPE), (_STYLES, _STYLES_TYPE)):
        others = [n for n in info.members if info.content_type(n) == content_type and n != part]
        if others:
            raise edited("[Content_Types].xml", f"把 {others[0]} 标为 {part} 那样的部件",
                         f"types {others[0]} as a {posixpath.basename(part)} part")
        if part in info.members and info.content_type(part) != content_type:
            raise edited("[Content_Types].xml", f"给 {part} 标了别的内容类型", f"gives {part} another content type")


def _check_relationships(info: XlsxInfo, sheet_parts: set[str]) -> None:
    members = set(info.members)
    for rels_part, relationships in info.relationships.items():
        ids = Counter(r.id for r in relationships)
        repeated = [i for i, count in ids.items() if count > 1]
        if repeated:
            raise edited(rels_part, f"中关系编号 {repeated[0]} 出现多次", f"repeats the relationship id {repeated[0]}")
        source = _source_of(rels_part)
        if source == "":
            allowed = _PACKAGE_RELS
        elif source == _WORKBOOK:
            allowed = _WORKBOOK_RELS
        elif source in sheet_parts:
            allowed = _SHEET_RELS
        elif source in members and info.content_type(source) == _DRAWING_TYPE:
            allowed = frozenset()
        else:
            continue  # the relationships of a part no reader shows (document properties, customXml items)
        for rel in relationships:
            kind = _rel_kind(rel.type)
            if kind not in allowed or rel.external:
                raise edited(rels_part, f"含有签名工作表不会有的关系 {kind}（{rel.target[:80]}）",
                             f"holds a relationship a signed worksheet never has: {kind} ({rel.target[:80]})")
            if "%" in rel.target or "\\" in rel.target or rel.part not in members:
                raise edited(rels_part, f"的关系 {rel.id} 指向 {rel.target[:80]!r}，不同软件会解读为不同的部件或找不到",
                             f"has relationship {rel.id} point at {rel.target[:80]!r}, which programs may resolve "
                             "to different parts or to none")
            if source == _WORKBOOK and any(s in (".", "..", "") for s in rel.target.lstrip("/").split("/")):
                raise edited(rels_part, f"的关系 {rel.id} 的目标 {rel.target[:80]!r} 含有 . 或 .. 段",
                             f"has relationship {rel.id} target {rel.target[:80]!r}, with . or .. segments")
    workbook_rels = info.relationships.get("xl/_rels/workbook.xml.rels", ())
    for kind, part in (("sharedstrings", _SHARED_STRINGS), ("styles", _STYLES)):
        targets = [r.part for r in workbook_rels if _rel_kind(r.type) == kind]
        if len(targets) > 1 or (targets and targets[0] != part) or (part in members) != bool(targets):
            raise edited("xl/_rels/workbook.xml.rels", f"对 {posixpath.basename(part)} 的引用与 {part} 不一致",
                         f"does not refer to {part} as the one {posixpath.basename(part)} part, so programs "
                         "may read different texts or formats")


def _check_sheet_facts(info: XlsxInfo, part: str, scores_part: str, rows: int,
                       validations: Sequence[ValidationSpec]) -> None:
    facts = info.sheet_facts[part]
    name = next(s.name for s in info.sheets if s.part == part)
    for marker in sorted(facts.markers - _SHEET_MARKERS_ALLOWED):
        zh, en = _MARKERS[marker]
        raise edited(f"「{name}」/ sheet {name!r}", zh, en)
    if facts.formula_cell is not None:
        raise edited(f"{name}!{facts.formula_cell}", "含有公式", "holds a formula (a signed worksheet holds none)")
    if facts.duplicate_ref is not None:
        raise edited(f"{name}!{facts.duplicate_ref}", "被写了两次，不同软件会显示不同的那一个",
                     "is written twice, and programs may show either")
    if facts.main_namespace_uses != 1:
        raise edited(f"「{name}」/ sheet {name!r}", "多次声明或未声明表格命名空间",
                     "binds the spreadsheet namespace more than once, or not as its default")
    _check_validations(name, facts.data_validations, rows if part == scores_part else None, validations)


_SQREF = re.compile(r"I([0-9]{1,7})(?::I([0-9]{1,7}))?")


def _sqref_rows(sqref: str, rows: int) -> frozenset[int] | None:
    """The 得分 rows a validation's sqref covers (I-column ranges within the signed rows), or None."""
    covered: set[int] = set()
    for part in sqref.split():
        found = _SQREF.fullmatch(part)
        if found is None:
            return None
        first, last = int(found.group(1)), int(found.group(2) or found.group(1))
        if not 2 <= first <= last <= rows + 1:
            return None
        covered.update(range(first, last + 1))
    return frozenset(covered)


def _check_validations(name: str, xml: bytes, rows: int | None, expected: Sequence[ValidationSpec]) -> None:
    """评分表 holds the export's validations on 得分, each exactly as written (or fewer, as a re-save may drop
    them): its input message and error texts show on the sheet, so any other would be text the reviewer never
    signed. Other sheets hold none."""
    if not xml:
        return
    root = _parse_bytes(f"「{name}」/ sheet {name!r}", xml)
    validations = [e for e in root if _local(e.tag) == "dataValidation"]
    if not validations:
        return
    unmatched = {spec.rows: spec for spec in expected}
    ok = rows is not None and len(validations) <= len(expected)
    for validation in validations if ok else ():
        covered = _sqref_rows(validation.get("sqref", ""), rows or 0)
        spec = unmatched.pop(tuple(sorted(covered)), None) if covered else None
        formulas = [e.text or "" for e in validation if _local(e.tag) == "formula1"]
        if spec is None or not (
                all(validation.get(k, "") == v for k, v in (
                    ("type", spec.type), ("promptTitle", spec.prompt_title), ("prompt", spec.prompt),
                    ("errorTitle", spec.error_title), ("error", spec.error)))
                and len(formulas) == 1 and formulas[0] in spec.formulas()):
            ok = False
            break
    if not ok:
        raise edited(f"「{name}」/ sheet {name!r}", "的数据验证（选中单元格时显示的提示）不是导出时写入的",
                     "holds data validation (text shown when a cell is selected) other than the export wrote")


def _check_empty_drawing(name: str, root: Element) -> None:
    if len(root):
        raise edited(name, "含有图形、文本框或图片", "holds shapes, text boxes or pictures")


def _check_styles(root: Element, decimals: int) -> dict[int, str]:
    """Every style shows a number as it is, if perhaps with fewer decimals: those styles (index → format) are
    returned, and 评分表 may use none of them."""
    codes = dict(_SAFE_BUILTIN_FORMATS)
    for group in root:
        tag = _local(group.tag)
        if tag == "numFmts":
            for fmt in group:
                if fmt.get("numFmtId", "").isdigit():
                    codes[int(fmt.get("numFmtId", ""))] = fmt.get("formatCode", "")
        elif tag == "dxfs" and any(_local(e.tag) == "numFmt" for dxf in group for e in dxf):
            raise edited(_STYLES, "含有改变数字显示的差异格式",
                         "holds differential formats that change how numbers show")

    def xfs(tag: str) -> list[Element]:
        return [xf for group in root if _local(group.tag) == tag for xf in group if _local(xf.tag) == "xf"]

    def format_of(xf: Element, zh: str, en: str) -> str:
        fmt_id = xf.get("numFmtId", "0")
        code = codes.get(int(fmt_id)) if fmt_id.isdigit() else None
        if code is None or not _shows_as_is(code):
            raise edited(_STYLES, f"的{zh}使用数字格式 {code or fmt_id!r}，会改变单元格显示的内容",
                         f"{en} uses the number format {code or fmt_id!r}, which changes what a cell shows")
        return code

    # Every cell format, and each named style one of them is based on (the unused named styles a program
    # defines, such as 百分比 or 货币, show nothing).
    named = xfs("cellStyleXfs")
    short: dict[int, str] = {}
    for index, xf in enumerate(xfs("cellXfs")):
        code = format_of(xf, f"样式 {index}", f"style {index}")
        parent = xf.get("xfId", "0")
        if parent.isdigit() and int(parent) < len(named):
            format_of(named[int(parent)], f"样式 {index} 所基于的单元格样式",
                      f"the named style that style {index} is based on")
        places = _PLAIN_DECIMAL.fullmatch(code)
        if places is not None and len(places.group(1) or "") < decimals:
            short[index] = code
    if 0 in short:  # the style of every cell that names none
        raise edited(_STYLES, f"的默认样式（{short[0]}）把评分表中的分值显示为更少的小数位",
                     f"the default style ({short[0]}) shows 评分表's numbers with fewer decimals than were signed")
    return short


def _check_unused(sheet: bytes, short: dict[int, str]) -> None:
    for style, code in short.items():
        if re.search(rb"""\ss\s*=\s*["']0*%d["']""" % style, sheet):
            raise edited("「评分表」/ sheet '评分表'", f"使用样式 {style}（{code}），会把签名的分值显示为更少的小数位",
                         f"uses style {style} ({code}), which shows signed numbers with fewer decimals")


def _shows_as_is(code: str) -> bool:
    return code in ("General", "@") or _PLAIN_DECIMAL.fullmatch(code) is not None


def decimals_of(texts: Iterable[str | None]) -> int:
    """The most decimal places among numeric texts (满分, 步长, 得分 as signed)."""
    most = 0
    for text in texts:
        if text and text[0].isdigit() and "." in text:
            exponent = Decimal(text).as_tuple().exponent
            most = max(most, -exponent if isinstance(exponent, int) else 0)
    return most


def _source_of(rels_part: str) -> str:
    """"xl/_rels/workbook.xml.rels" → "xl/workbook.xml"; "_rels/.rels" → "" (the package)."""
    folder, _, file = rels_part.rpartition("_rels/")
    return folder + file.removesuffix(".rels")


def _rel_kind(type_uri: str) -> str:
    for prefix in (_REL + "/", _PACKAGE_REL + "/"):
        if type_uri.startswith(prefix):
            return type_uri[len(prefix):].lower()
    return type_uri.rstrip("/").rsplit("/", 1)[-1].lower() or "?"


def _parse(archive: zipfile.ZipFile, name: str) -> Element:
    with archive.open(name) as member:
        data = member.read(16 << 20)  # check_xlsx bounded every part already; styles and drawings are small
    return _parse_bytes(name, data)


def _parse_bytes(where: str, data: bytes) -> Element:
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeElementTree

    try:
        root: Element = SafeElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, SafeElementTree.ParseError):
        raise edited(where, "含有无法解读的 XML", "holds XML that cannot be read") from None
    return root


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
