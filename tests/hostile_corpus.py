"""A corpus of hostile variants of a signed export, each built from the signed file at the zip/XML level.

Every variant keeps the workbench_signature sheet and its payload as signed, so that verification gets as far
as its last step, the comparison of the visible cells with the signed rows; what changes is how a reader shows
评分表. `VARIANTS` lists each variant with what verify_export must say of it: a FailureCode, or "accept" for
what a coordinator's tools do to an honest file (re-saves, column widths, print settings).

A build is `build(source, dest)`: it reads the signed export at `source` and writes the variant to `dest`.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from workbench.errors import FailureCode

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DRAWING_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
RICHDATA_NS = "http://schemas.microsoft.com/office/spreadsheetml/2017/richdata"

CT_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_METADATA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
CT_RICH_VALUE = "application/vnd.ms-excel.rdrichvalue+xml"
CT_RICH_STRUCTURE = "application/vnd.ms-excel.rdrichvaluestructure+xml"

CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"
WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
STYLES = "xl/styles.xml"
SHARED_STRINGS = "xl/sharedStrings.xml"
SCORES_PART = "xl/worksheets/sheet1.xml"  # 评分表, in an export and in a LibreOffice re-save alike
SCORES_RELS = "xl/worksheets/_rels/sheet1.xml.rels"
FORGED_PART = "xl/worksheets/sheet9.xml"
SCORES_SHEET = "评分表"

#: What verify_export must say of a variant.
Expected = FailureCode | Literal["accept"]
EDITED = FailureCode.EDITED_AFTER_SIGNING
Build = Callable[[Path, Path], None]

#: Texts an attacker puts where a coordinator reads them.
FORGED_NOTE = "实际得分为 2 分，以此为准"


@dataclass(frozen=True)
class Variant:
    """One variant: its name (a test id), what verify_export must say, and how to build it.

    `shown_differently` marks a display trick that LibreOffice really falls for: it shows 评分表 other than the
    signed rows (the file is an attack that works, not merely a broken file)."""

    name: str
    expected: Expected
    build: Build
    shown_differently: bool = False


# ------------------------------------------------------------------------------------------- the zip level


class Parts:
    """An .xlsx's members in their order, edited in memory and written back as a new zip."""

    def __init__(self, source: Path | bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            self.members: dict[str, bytes] = {info.filename: archive.read(info) for info in archive.infolist()}

    def text(self, name: str) -> str:
        return self.members[name].decode("utf-8")

    def set_text(self, name: str, text: str) -> None:
        self.members[name] = text.encode("utf-8")

    def sub(self, name: str, pattern: str, replacement: str | Callable[[re.Match[str]], str], count: int = 1) -> None:
        """Replace `count` matches (0: all) of a regular expression in a member; it must match."""
        text, done = re.subn(pattern, replacement, self.text(name), count=count, flags=re.DOTALL)
        if not done:
            raise AssertionError(f"{pattern!r} not found in {name}")
        self.set_text(name, text)

    def insert_before(self, name: str, marker: str, text: str) -> None:
        """Insert text before the first occurrence of marker (a literal) in a member; it must occur."""
        content = self.text(name)
        at = content.find(marker)
        if at < 0:
            raise AssertionError(f"{marker!r} not found in {name}")
        self.set_text(name, content[:at] + text + content[at:])

    def add_override(self, part: str, content_type: str) -> None:
        self.insert_before(CONTENT_TYPES, "</Types>", f'<Override PartName="/{part}" ContentType="{content_type}"/>')

    def add_default(self, extension: str, content_type: str) -> None:
        if f'Extension="{extension}"' not in self.text(CONTENT_TYPES):
            self.insert_before(CONTENT_TYPES, "</Types>",
                               f'<Default Extension="{extension}" ContentType="{content_type}"/>')

    def add_relationship(self, rels: str, rel_id: str, kind: str, target: str) -> None:
        """A relationship of type REL_NS/kind (or a full type URI); creates the .rels part when missing."""
        uri = kind if "://" in kind else f"{REL_NS}/{kind}"
        if rels not in self.members:
            self.set_text(rels, f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                f'<Relationships xmlns="{PKG_REL_NS}"></Relationships>')
        self.insert_before(rels, "</Relationships>", f'<Relationship Id="{rel_id}" Type="{uri}" Target="{target}"/>')

    def write(self, dest: Path) -> None:
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.members.items():
                archive.writestr(name, data)


def zip_edit(edit: Callable[[Parts], None], *, resaved: int = 0) -> Build:
    """A build that edits the members of the export (after `resaved` LibreOffice re-saves) and writes them."""

    def build(source: Path, dest: Path) -> None:
        parts = Parts(libreoffice_resaved(source, resaved) if resaved else source)
        edit(parts)
        parts.write(dest)

    return build


def cell_pattern(ref: str) -> str:
    """A regular expression for the cell element `ref` (unprefixed), with its content."""
    return rf'<c r="{ref}"(?=[\s>/])[^>]*?(?:/>|>.*?</c>)'


def cell_xml(parts: Parts, ref: str, part: str = SCORES_PART) -> str:
    found = re.search(cell_pattern(ref), parts.text(part), flags=re.DOTALL)
    if found is None:
        raise AssertionError(f"no cell {ref} in {part}")
    return found.group()


def number_of(cell: str) -> str:
    found = re.search(r"<v>([^<]*)</v>", cell)
    if found is None or (" t=" in cell and 't="n"' not in cell):
        raise AssertionError(f"not a number cell: {cell}")
    return found.group(1)


def other_number(text: str) -> str:
    """A score other than `text`, for a forged cell."""
    return "0" if text != "0" else "1"


def forged_cell(cell: str) -> str:
    """The same number cell holding another number."""
    value = number_of(cell)
    return cell.replace(f"<v>{value}</v>", f"<v>{other_number(value)}</v>")


def first_score_cell(parts: Parts, value: str | None = None) -> str:
    """The reference of the first 得分 cell holding a number (`value` when given), in row 2 onwards."""
    for found in re.finditer(r'<c r="(I\d+)"[^>]*?t="n"[^>]*><v>([^<]*)</v></c>', parts.text(SCORES_PART)):
        if found.group(1) != "I1" and (value is None or found.group(2) == value):
            return found.group(1)
    raise AssertionError(f"no 得分 cell holding {value!r}")


def forge_copy_of_scores(parts: Parts, part: str = FORGED_PART) -> None:
    """A copy of 评分表's part whose first 得分 cell holds another number, registered as a worksheet."""
    ref = first_score_cell(parts)
    original = cell_xml(parts, ref)
    parts.set_text(part, parts.text(SCORES_PART).replace(original, forged_cell(original), 1))
    parts.add_override(part, CT_WORKSHEET)


def count_of(xml: str, element: str) -> int:
    """The count attribute of the first `element` (e.g. cellXfs in styles.xml)."""
    found = re.search(rf'<{element} count="(\d+)"', xml)
    if found is None:
        raise AssertionError(f"no <{element} count=…>")
    return int(found.group(1))


def set_attribute(parts: Parts, name: str, element: str, attribute: str) -> None:
    """Add `attribute` (e.g. 'showZeros="0"') right after the tag name of the first `element`."""
    parts.sub(name, rf"<{element}(?=[\s>/])", f"<{element} {attribute}")


# ------------------------------------------------------------------------------------------- LibreOffice

_RESAVED: dict[str, bytes] = {}


def libreoffice_resaved(source: Path, times: int = 1) -> bytes:
    """The export re-saved `times` times by LibreOffice (`soffice --convert-to xlsx`), each re-save cached by
    the digest of its input: one soffice run per distinct file in the whole session."""
    from conftest_tools import convert_with_libreoffice

    data = source.read_bytes()
    for _ in range(times):
        digest = hashlib.sha256(data).hexdigest()
        if digest not in _RESAVED:
            work = Path(tempfile.mkdtemp(prefix="workbench-resave-"))
            try:
                (work / "in").mkdir()
                (work / "in" / "export.xlsx").write_bytes(data)
                _RESAVED[digest] = convert_with_libreoffice(work / "in" / "export.xlsx", work / "out").read_bytes()
            finally:
                shutil.rmtree(work, ignore_errors=True)
        data = _RESAVED[digest]
    return data


def libreoffice_build(times: int) -> Build:
    def build(source: Path, dest: Path) -> None:
        dest.write_bytes(libreoffice_resaved(source, times))

    return build


# ------------------------------------------------------------------------------------------- openpyxl


def openpyxl_edit(edit: Callable[[Any], None], *, resaved: int = 0) -> Build:
    """A build that loads the export (after `resaved` LibreOffice re-saves) with openpyxl, applies
    `edit(workbook)` and saves: what a coordinator's script or a user's edit does."""

    def build(source: Path, dest: Path) -> None:
        import openpyxl

        workbook = openpyxl.load_workbook(io.BytesIO(libreoffice_resaved(source, resaved)) if resaved else source)
        edit(workbook)
        workbook.save(dest)

    return build


def on_scores(edit: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda workbook: edit(workbook[SCORES_SHEET])


def _nothing(workbook: Any) -> None:
    pass


def _column_widths(sheet: Any) -> None:
    sheet.column_dimensions["C"].width = 40
    sheet.column_dimensions["J"].width = 60
    sheet.column_dimensions["I"].width = 12


def _freeze(sheet: Any) -> None:
    sheet.freeze_panes = "D2"


def _autofilter(sheet: Any) -> None:
    sheet.auto_filter.ref = "A1:F200"


def _print_settings(sheet: Any) -> None:
    sheet.page_setup.orientation = "portrait"
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_title_rows = "1:1"
    sheet.print_title_cols = "A:C"


def _zoom(sheet: Any) -> None:
    sheet.sheet_view.zoomScale = 85


def _comment(sheet: Any) -> None:
    from openpyxl.comments import Comment

    sheet["I2"].comment = Comment(FORGED_NOTE, "协调人")


# ---------------------------------------------------------------------------- 1. relationship namespaces


def _namespace_trick(strict_first: bool) -> Callable[[Parts], None]:
    """r: bound to ISO strict, t: to transitional; 评分表 has t:id="rId1" (its part) and r:id="rId9" (a forged
    copy), in either order. LibreOffice takes the first of the two, calamine the last: each order fools one."""

    def edit(parts: Parts) -> None:
        forge_copy_of_scores(parts)
        parts.add_relationship(WORKBOOK_RELS, "rId9", "worksheet", "/" + FORGED_PART)
        parts.sub(WORKBOOK, f'xmlns:r="{REL_NS}"', f'xmlns:r="{STRICT_REL_NS}" xmlns:t="{REL_NS}"')
        parts.sub(WORKBOOK, r' r:id="', ' t:id="', count=0)  # every sheet still reaches its part, transitionally
        both = ' r:id="rId9" t:id="rId1"' if strict_first else ' t:id="rId1" r:id="rId9"'
        parts.sub(WORKBOOK, rf'(<sheet name="{SCORES_SHEET}"[^>]*?) t:id="rId1"', rf"\1{both}")

    return edit


# ---------------------------------------------------------------------------- 2, 3. another shared strings

SHARED_STRINGS_2 = "xl/sharedStrings2.xml"


def _shared_index(parts: Parts, text: str) -> int:
    items = re.findall(r"<si>.*?</si>", parts.text(SHARED_STRINGS), flags=re.DOTALL)
    for index, item in enumerate(items):
        if "".join(re.findall(r"<t[^>]*>([^<]*)</t>", item)) == text:
            return index
    raise AssertionError(f"{text!r} is not a shared string")


def _replace_shared(xml: str, index: int, text: str) -> str:
    items = list(re.finditer(r"<si>.*?</si>", xml, flags=re.DOTALL))
    item = items[index]
    return xml[:item.start()] + f'<si><t xml:space="preserve">{text}</t></si>' + xml[item.end():]


def _whole_score_cell(parts: Parts) -> tuple[str, str]:
    """The first 得分 cell, and its number, of an indicator whose step is 1: its signed text is the number as
    a cell shows it ("2", where a step of 0.5 signs "2.0"), so the same text as a string cell matches it."""
    xml = parts.text(SCORES_PART)
    for row in re.finditer(r'<row r="(\d+)".*?</row>', xml, flags=re.DOTALL):
        step = re.search(rf'<c r="H{row.group(1)}"[^>]*t="n"><v>([^<]*)</v>', row.group())
        score = re.search(rf'<c r="I{row.group(1)}"[^>]*t="n"><v>([^<]*)</v>', row.group())
        if step is not None and score is not None and step.group(1) == "1":
            return f"I{row.group(1)}", score.group(1)
    raise AssertionError("no 得分 cell of an indicator with step 1")


def _other_shared_strings(content_types: bool, score_as_text: bool = False) -> Callable[[Parts], None]:
    """From a LibreOffice re-save: the sharedStrings relationship points at a copy whose texts differ (a 备注;
    with score_as_text also a 得分 cell held as a shared string: its signed text in the original part,
    another score in the copy)."""

    def edit(parts: Parts) -> None:
        original = parts.text(SHARED_STRINGS)
        copy = _replace_shared(original, _shared_index(parts, "正常备注"), FORGED_NOTE)
        if score_as_text:
            ref, value = _whole_score_cell(parts)
            count = len(re.findall(r"<si>", original))
            item = '<si><t xml:space="preserve">{}</t></si></sst>'
            parts.set_text(SHARED_STRINGS, original.replace("</sst>", item.format(value)))
            copy = copy.replace("</sst>", item.format(other_number(value)))
            parts.sub(SCORES_PART, cell_pattern(ref),
                      lambda m: re.sub(r' t="n"><v>[^<]*</v>', f' t="s"><v>{count}</v>', m.group()))
        parts.set_text(SHARED_STRINGS_2, copy)
        parts.sub(WORKBOOK_RELS, r'Target="sharedStrings\.xml"', 'Target="sharedStrings2.xml"')
        if content_types:
            parts.add_override(SHARED_STRINGS_2, CT_SHARED_STRINGS)

    return edit


# ---------------------------------------------------------------------------- 4. another styles part


def _other_styles(parts: Parts) -> None:
    """The styles relationship points at styles2.xml. Both parts gain a cell format for the first 得分 cell:
    General in styles.xml, 满分 in styles2.xml."""
    styles = parts.text(STYLES)
    xfs = count_of(styles, "cellXfs")
    for name, number_format in ((STYLES, 0), ("xl/styles2.xml", 165)):
        text = styles.replace(f'<cellXfs count="{xfs}">', f'<cellXfs count="{xfs + 1}">', 1)
        text = text.replace("</cellXfs>", f'<xf numFmtId="{number_format}" fontId="0" fillId="0" borderId="0" '
                            'applyNumberFormat="1" xfId="0"/></cellXfs>', 1)
        parts.set_text(name, text.replace('<numFmts count="1">', '<numFmts count="2"><numFmt numFmtId="165" '
                                          'formatCode="&quot;满分&quot;" />', 1))
    parts.add_override("xl/styles2.xml", CT_STYLES)
    parts.sub(WORKBOOK_RELS, r'Target="styles\.xml"', 'Target="styles2.xml"')
    ref = first_score_cell(parts)
    parts.sub(SCORES_PART, rf'<c r="{ref}"(?=[\s>/])', f'<c r="{ref}" s="{xfs}"')


# ---------------------------------------------------------------------------- 5. duplicate cells and rows


def _duplicate_cell(after: bool) -> Callable[[Parts], None]:
    def edit(parts: Parts) -> None:
        ref = first_score_cell(parts)
        cell = cell_xml(parts, ref)
        twice = cell + forged_cell(cell) if after else forged_cell(cell) + cell
        parts.set_text(SCORES_PART, parts.text(SCORES_PART).replace(cell, twice, 1))

    return edit


def _duplicate_row(after: bool) -> Callable[[Parts], None]:
    """A second <row> of the first data row's number, holding only its 得分 cell, forged."""

    def edit(parts: Parts) -> None:
        ref = first_score_cell(parts)
        row = ref[1:]
        forged = f'<row r="{row}">{forged_cell(cell_xml(parts, ref))}</row>'
        parts.sub(SCORES_PART, rf'<row r="{row}"[^>]*>.*?</row>',
                  lambda m: m.group() + forged if after else forged + m.group())

    return edit


# ---------------------------------------------------------------------------- 6. custom number formats


def _number_format(code: str, value: str | None = None) -> Callable[[Parts], None]:
    """A custom number format (XML-escaped `code`) applied to the first 得分 cell (holding `value`)."""

    def edit(parts: Parts) -> None:
        styles = parts.text(STYLES)
        formats, xfs = count_of(styles, "numFmts"), count_of(styles, "cellXfs")
        styles = styles.replace(f'<numFmts count="{formats}">',
                                f'<numFmts count="{formats + 1}"><numFmt numFmtId="180" formatCode="{code}"/>', 1)
        styles = styles.replace(f'<cellXfs count="{xfs}">', f'<cellXfs count="{xfs + 1}">', 1)
        styles = styles.replace("</cellXfs>", '<xf numFmtId="180" fontId="0" fillId="0" borderId="0" '
                                'applyNumberFormat="1" xfId="0"/></cellXfs>', 1)
        parts.set_text(STYLES, styles)
        ref = first_score_cell(parts, value)
        parts.sub(SCORES_PART, rf'<c r="{ref}"(?=[\s>/])', f'<c r="{ref}" s="{xfs}"')

    return edit


# ---------------------------------------------------------------------------- 7, 8. sheet view, conditional format


def _show_zeros(parts: Parts) -> None:
    set_attribute(parts, SCORES_PART, "sheetView", 'showZeros="0"')


def _conditional_format(parts: Parts) -> None:
    """Every 得分 of 0 or more shown as 满分, through a conditional format's differential format."""
    parts.insert_before(STYLES, "<tableStyles", '<dxfs count="1"><dxf><numFmt numFmtId="181" '
                        'formatCode="&quot;满分&quot;"/></dxf></dxfs>')
    parts.insert_before(SCORES_PART, "<dataValidations", '<conditionalFormatting sqref="I2:I2000"><cfRule '
                        'type="cellIs" dxfId="0" priority="1" operator="greaterThanOrEqual"><formula>0</formula>'
                        "</cfRule></conditionalFormatting>")


# ---------------------------------------------------------------------------- 10. drawings


def _png() -> bytes:
    """A small opaque PNG (8×8, white), written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\xff\xff" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _anchor(body: str) -> str:
    """A two-cell anchor over the first data row's 得分 and 备注 (I2:J2)."""
    return ('<xdr:twoCellAnchor editAs="oneCell"><xdr:from><xdr:col>8</xdr:col><xdr:colOff>0</xdr:colOff>'
            "<xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>10</xdr:col>"
            f"<xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>{body}"
            "<xdr:clientData/></xdr:twoCellAnchor>")


_TEXT_BOX = (
    '<xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="2" name="文本框 1"/><xdr:cNvSpPr txBox="1"/>'
    '</xdr:nvSpPr><xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:solidFill><a:srgbClr val="FFFFFF"/>'
    f'</a:solidFill></xdr:spPr><xdr:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>0</a:t></a:r></a:p><a:p><a:r>'
    f"<a:t>{FORGED_NOTE}</a:t></a:r></a:p></xdr:txBody></xdr:sp>"
)
_PICTURE = (
    '<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="3" name="图片 1"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/>'
    '</xdr:cNvPicPr></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch>'
    '</xdr:blipFill><xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic>'
)


def _drawing(body: str, picture: bool) -> Callable[[Parts], None]:
    def edit(parts: Parts) -> None:
        drawing = "xl/drawings/drawing1.xml"
        parts.set_text(drawing, f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr '
                                f'xmlns:xdr="{DRAWING_NS}" xmlns:a="{A_NS}" xmlns:r="{REL_NS}">{_anchor(body)}'
                                "</xdr:wsDr>")
        parts.add_override(drawing, CT_DRAWING)
        if picture:
            parts.members["xl/media/image1.png"] = _png()
            parts.add_default("png", "image/png")
            parts.add_relationship("xl/drawings/_rels/drawing1.xml.rels", "rId1", "image", "../media/image1.png")
        parts.add_relationship(SCORES_RELS, "rId1", "drawing", "../drawings/drawing1.xml")
        parts.sub(SCORES_PART, f'<worksheet xmlns="{MAIN_NS}"', f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"')
        parts.insert_before(SCORES_PART, "</worksheet>", '<drawing r:id="rId1"/>')

    return edit


# ---------------------------------------------------------------------------- 11. data validations


def _validation_prompt(parts: Parts) -> None:
    parts.sub(SCORES_PART, r'(<dataValidation [^>]*?)prompt="[^"]*"', r'\1prompt="实际得分为 2 分"')


def _extra_validation(parts: Parts) -> None:
    parts.sub(SCORES_PART, r'<dataValidations count="1">', '<dataValidations count="2">')
    parts.insert_before(SCORES_PART, "</dataValidations>",
                        '<dataValidation type="list" allowBlank="1" showInputMessage="1" sqref="J2:J2000" '
                        'promptTitle="复核意见" prompt="实际得分为 2 分，以此为准"><formula1>"已复核,未复核"'
                        "</formula1></dataValidation>")


# ---------------------------------------------------------------------------- 12. the signature sheet shown


def _signature_visible(parts: Parts) -> None:
    parts.sub(WORKBOOK, r'(<sheet name="workbench_signature"[^>]*?)state="veryHidden"', r'\1state="visible"')


def _signature_state_dropped(parts: Parts) -> None:
    parts.sub(WORKBOOK, r'(<sheet name="workbench_signature"[^>]*?) state="veryHidden"', r"\1")


# ---------------------------------------------------------------------------- 13. rich values, phonetic runs


def _rich_value(parts: Parts) -> None:
    """The first 得分 cell keeps its number but carries vm="1": Excel shows the rich value (an entity whose
    display string is a forged score) in its place."""
    parts.set_text("xl/metadata.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<metadata xmlns="{MAIN_NS}" '
        f'xmlns:xlrd="{RICHDATA_NS}"><metadataTypes count="1"><metadataType name="XLRICHVALUE" '
        'minSupportedVersion="120000" copy="1" pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" '
        'clearFormats="1" clearComments="1" assign="1" coerce="1"/></metadataTypes><futureMetadata name="XLRICHVALUE" '
        'count="1"><bk><extLst><ext uri="{3e2802c4-a4d2-4d8b-9148-e3be6c30e623}"><xlrd:rvb i="0"/></ext></extLst>'
        '</bk></futureMetadata><valueMetadata count="1"><bk><rc t="1" v="0"/></bk></valueMetadata></metadata>'))
    parts.set_text("xl/richData/rdrichvaluestructure.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<rvStructures xmlns="{RICHDATA_NS}" count="1">'
        '<s t="_entity"><k n="_DisplayString" t="s"/><k n="得分"/></s></rvStructures>'))
    parts.set_text("xl/richData/rdrichvalue.xml", (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<rvData xmlns="{RICHDATA_NS}" count="1">'
        '<rv s="0"><v>0</v><v>0</v></rv></rvData>'))
    parts.add_override("xl/metadata.xml", CT_METADATA)
    parts.add_override("xl/richData/rdrichvalue.xml", CT_RICH_VALUE)
    parts.add_override("xl/richData/rdrichvaluestructure.xml", CT_RICH_STRUCTURE)
    parts.add_relationship(WORKBOOK_RELS, "rId90", "sheetMetadata", "metadata.xml")
    parts.add_relationship(WORKBOOK_RELS, "rId91", "http://schemas.microsoft.com/office/2017/06/relationships/"
                           "rdRichValue", "richData/rdrichvalue.xml")
    parts.add_relationship(WORKBOOK_RELS, "rId92", "http://schemas.microsoft.com/office/2017/06/relationships/"
                           "rdRichValueStructure", "richData/rdrichvaluestructure.xml")
    ref = first_score_cell(parts)
    parts.sub(SCORES_PART, rf'<c r="{ref}"(?=[\s>/])', f'<c r="{ref}" vm="1"')


def _phonetic_run(parts: Parts) -> None:
    """From a LibreOffice re-save: a 备注 shared string gains a phonetic run (shown above it with ph="1")."""
    index = _shared_index(parts, "正常备注")
    items = list(re.finditer(r"<si>.*?</si>", parts.text(SHARED_STRINGS), flags=re.DOTALL))
    xml = parts.text(SHARED_STRINGS)
    item = items[index]
    forged = ('<si><t xml:space="preserve">正常备注</t><rPh sb="0" eb="4"><t>实际得分为 2 分</t></rPh>'
              '<phoneticPr fontId="0" type="noConversion"/></si>')
    parts.set_text(SHARED_STRINGS, xml[:item.start()] + forged + xml[item.end():])
    found = re.search(rf'<c r="(J\d+)"[^>]*t="s"><v>{index}</v></c>', parts.text(SCORES_PART))
    assert found is not None, "no 备注 cell holds 正常备注"
    parts.sub(SCORES_PART, rf'<c r="{found.group(1)}"(?=[\s>/])', f'<c r="{found.group(1)}" ph="1"')


# ---------------------------------------------------------------------------- 14. a prefixed cell


def _prefixed_cell(after: bool) -> Callable[[Parts], None]:
    """An <x:c> (x bound to the main namespace) for the same reference, with a forged value, next to the real
    cell: to a namespace-aware reader the sheet holds I2 twice (openpyxl, calamine and LibreOffice all show the
    later one), a reader matching the literal tag "c" sees the unprefixed one only."""

    def edit(parts: Parts) -> None:
        ref = first_score_cell(parts)
        cell = cell_xml(parts, ref)
        forged = forged_cell(cell).replace("<c ", f'<x:c xmlns:x="{MAIN_NS}" ', 1).replace("</c>", "</x:c>")
        parts.set_text(SCORES_PART, parts.text(SCORES_PART).replace(cell, cell + forged if after else forged + cell, 1))

    return edit


def _foreign_prefixed_cell(parts: Parts) -> None:
    """The first 得分 cell forged, followed by the signed cell as an <x:c> in a namespace that is not
    SpreadsheetML: a reader matching local names takes the second, a namespace-aware one sees only the first."""
    ref = first_score_cell(parts)
    cell = cell_xml(parts, ref)
    signed = cell.replace("<c ", '<x:c xmlns:x="urn:example:not-spreadsheetml" ', 1).replace("</c>", "</x:c>")
    parts.set_text(SCORES_PART, parts.text(SCORES_PART).replace(cell, forged_cell(cell) + signed, 1))


# ---------------------------------------------------------------------------- 15. another workbook part


def _other_workbook_chosen(parts: Parts) -> None:
    """_rels/.rels names xl/workbook2.xml as the document: a copy of the workbook whose 评分表 is a forged part."""
    forge_copy_of_scores(parts)
    parts.set_text("xl/workbook2.xml", parts.text(WORKBOOK))
    rels = parts.text(WORKBOOK_RELS).replace('Target="/xl/worksheets/sheet1.xml"', f'Target="/{FORGED_PART}"')
    parts.set_text("xl/_rels/workbook2.xml.rels", rels)
    parts.sub(ROOT_RELS, r'Target="xl/workbook\.xml"', 'Target="xl/workbook2.xml"')
    parts.sub(CONTENT_TYPES, r'(<Override PartName="/xl/workbook\.xml" ContentType=")[^"]*"', r'\1application/xml"')
    parts.add_override("xl/workbook2.xml", CT_WORKBOOK)


def _second_workbook_content_type(parts: Parts) -> None:
    """A second part, a workbook whose 评分表 is forged, also has the workbook's main content type."""
    forge_copy_of_scores(parts)
    parts.set_text("xl/workbook2.xml", parts.text(WORKBOOK))
    rels = parts.text(WORKBOOK_RELS).replace('Target="/xl/worksheets/sheet1.xml"', f'Target="/{FORGED_PART}"')
    parts.set_text("xl/_rels/workbook2.xml.rels", rels)
    parts.add_override("xl/workbook2.xml", CT_WORKBOOK)


# ---------------------------------------------------------------------------- 16. relationship targets


def _percent_encoded_target(parts: Parts) -> None:
    """评分表's target is worksheets/sheet%31.xml: a member of that literal name holds the signed cells, while
    sheet1.xml — the part the target names once percent-decoded — holds a forged copy."""
    literal = "xl/worksheets/sheet%31.xml"
    parts.set_text(literal, parts.text(SCORES_PART))
    parts.add_override(literal, CT_WORKSHEET)
    forge_copy_of_scores(parts, "xl/worksheets/forged.xml")
    parts.members[SCORES_PART] = parts.members.pop("xl/worksheets/forged.xml")
    parts.sub(CONTENT_TYPES, r'<Override PartName="/xl/worksheets/forged\.xml"[^>]*/>', "")
    parts.sub(WORKBOOK_RELS, r'Target="/xl/worksheets/sheet1\.xml"', 'Target="worksheets/sheet%31.xml"')


def _backslash_target(parts: Parts) -> None:
    """评分表's target is worksheets\\sheet1.xml: a member of that literal name holds the signed cells, while
    sheet1.xml — the part a reader turning backslashes into slashes opens — holds a forged copy."""
    literal = "xl/worksheets\\sheet1.xml"
    parts.set_text(literal, parts.text(SCORES_PART))
    forge_copy_of_scores(parts, "xl/worksheets/forged.xml")
    parts.members[SCORES_PART] = parts.members.pop("xl/worksheets/forged.xml")
    parts.sub(CONTENT_TYPES, r'<Override PartName="/xl/worksheets/forged\.xml"[^>]*/>', "")
    parts.sub(WORKBOOK_RELS, r'Target="/xl/worksheets/sheet1\.xml"', r'Target="worksheets\\sheet1.xml"')


def _two_sheets_one_part(parts: Parts) -> None:
    """A fourth, visible sheet 评分表（定稿） showing 评分表's part again."""
    parts.sub(WORKBOOK, r"</sheets>",
              '<sheet name="评分表（定稿）" sheetId="4" state="visible" r:id="rId1" /></sheets>')


def _duplicate_rel_ids(forged_first: bool) -> Callable[[Parts], None]:
    """workbook.xml.rels holds two relationships rId1: the signed 评分表 and a forged copy."""

    def edit(parts: Parts) -> None:
        forge_copy_of_scores(parts)
        real = re.search(r'<Relationship [^>]*Id="rId1" />', parts.text(WORKBOOK_RELS))
        assert real is not None
        forged = f'<Relationship Type="{REL_NS}/worksheet" Target="/{FORGED_PART}" Id="rId1" />'
        parts.sub(WORKBOOK_RELS, re.escape(real.group()),
                  (forged + real.group()) if forged_first else (real.group() + forged))

    return edit


# ---------------------------------------------------------------------------- 17. more ways to read a part twice


def _repeated_override(parts: Parts) -> None:
    """A second Override for 评分表's part, giving it another content type: readers may take either."""
    parts.add_override(SCORES_PART, CT_SHARED_STRINGS)


def _note_text(parts: Parts, wrap: Callable[[str], str]) -> None:
    """The first plain 备注 text (column J, row 2 onwards) rewritten by `wrap`."""
    parts.sub(SCORES_PART, r'(<c r="J(?!1")\d+"[^>]*><is><t>)([^<]+)(</t>)',
              lambda m: m.group(1) + wrap(m.group(2)) + m.group(3))


def _cdata_note(parts: Parts) -> None:
    _note_text(parts, lambda text: f"<![CDATA[{text}]]>")


def _comment_in_note(parts: Parts) -> None:
    _note_text(parts, lambda text: f"{text[:1]}<!-- {FORGED_NOTE} -->{text[1:]}")


def _orphan_worksheet(parts: Parts) -> None:
    """A forged copy of 评分表 typed as a worksheet in [Content_Types].xml, listed by no sheet."""
    forge_copy_of_scores(parts)


def _processing_instruction(parts: Parts) -> None:
    parts.insert_before(SCORES_PART, "</sheetData>", "<?workbench forged?>")


def _prefixed_root(parts: Parts) -> None:
    """The root element under a prefix: the cells, unprefixed, then belong to no namespace."""
    parts.sub(SCORES_PART, f'<worksheet xmlns="{MAIN_NS}"', f'<x:worksheet xmlns:x="{MAIN_NS}"')
    parts.sub(SCORES_PART, "</worksheet>", "</x:worksheet>")


def _namespace_in_cells(parts: Parts) -> None:
    parts.sub(SCORES_PART, r'<row r="2"', '<row xmlns:q="urn:forged" r="2"')


def _style(parts: Parts, num_fmt_id: int) -> int:
    """A new cell style (xf) with a built-in number format; its index."""
    styles = parts.text(STYLES)
    xfs = count_of(styles, "cellXfs")
    styles = styles.replace(f'<cellXfs count="{xfs}">', f'<cellXfs count="{xfs + 1}">', 1)
    styles = styles.replace("</cellXfs>", f'<xf numFmtId="{num_fmt_id}" fontId="0" fillId="0" borderId="0" '
                            'applyNumberFormat="1" xfId="0"/></cellXfs>', 1)
    parts.set_text(STYLES, styles)
    return xfs


def _rounding_format(parts: Parts) -> None:
    """Built-in format 1 ("0") on a 得分 of x.5: it shows a whole number the reviewer never signed."""
    style = _style(parts, 1)
    found = re.search(r'<c r="(I\d+)"([^>]*?)t="n"([^>]*)><v>\d+\.5</v>', parts.text(SCORES_PART))
    assert found is not None, "no 得分 of x.5"
    ref = found.group(1)
    parts.sub(SCORES_PART, rf'<c r="{ref}"( s="\d+")?', f'<c r="{ref}" s="{style}"')


def _rounding_default_style(parts: Parts) -> None:
    """The default style (xf 0, every cell that names none) shows whole numbers."""
    parts.sub(STYLES, r'(<cellXfs count="\d+">\s*<xf )numFmtId="\d+"', r'\1numFmtId="1"')


def _hyperlink_tooltip(parts: Parts) -> None:
    parts.insert_before(SCORES_PART, "<dataValidations", '<hyperlinks><hyperlink ref="I2" location="A1" '
                        f'tooltip="{FORGED_NOTE}" display="{FORGED_NOTE}"/></hyperlinks>')


def _printer_settings(parts: Parts) -> None:
    """What Excel adds on a print-settings edit: a printerSettings part, related from the sheet's pageSetup."""
    parts.members["xl/printerSettings/printerSettings1.bin"] = bytes(range(256)) * 4
    parts.add_default("bin", "application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings")
    parts.add_relationship(SCORES_RELS, "rId1", "printerSettings", "../printerSettings/printerSettings1.bin")
    parts.sub(SCORES_PART, f'<worksheet xmlns="{MAIN_NS}"', f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"')
    parts.sub(SCORES_PART, r"<pageSetup ", '<pageSetup r:id="rId1" ')


# ------------------------------------------------------------------------------------------- the registry

VARIANTS: list[Variant] = [
    # 1. relationship ids in two namespaces: readers take whichever comes first, or last
    Variant("strict r:id before transitional t:id", EDITED, zip_edit(_namespace_trick(strict_first=True)),
            shown_differently=True),
    Variant("transitional t:id before strict r:id", EDITED, zip_edit(_namespace_trick(strict_first=False))),
    # 2, 3. another shared strings part
    Variant("sharedStrings2, content types agree", EDITED, zip_edit(_other_shared_strings(True), resaved=1),
            shown_differently=True),
    Variant("sharedStrings2, content types disagree", EDITED, zip_edit(_other_shared_strings(False), resaved=1),
            shown_differently=True),
    Variant("sharedStrings2 with a 得分 string, content types agree", EDITED,
            zip_edit(_other_shared_strings(True, score_as_text=True), resaved=1), shown_differently=True),
    Variant("sharedStrings2 with a 得分 string, content types disagree", EDITED,
            zip_edit(_other_shared_strings(False, score_as_text=True), resaved=1), shown_differently=True),
    # 4. another styles part
    Variant("styles2 formats a 得分 cell", EDITED, zip_edit(_other_styles), shown_differently=True),
    # 5. duplicate cells and rows
    Variant("duplicate cell after the original", EDITED, zip_edit(_duplicate_cell(after=True)), shown_differently=True),
    Variant("duplicate cell before the original", EDITED, zip_edit(_duplicate_cell(after=False))),
    Variant("duplicate row after the original", EDITED, zip_edit(_duplicate_row(after=True)), shown_differently=True),
    Variant("duplicate row before the original", EDITED, zip_edit(_duplicate_row(after=False))),
    # 6. custom number formats on a 得分 cell
    Variant('number format "满分"', EDITED, zip_edit(_number_format("&quot;满分&quot;")), shown_differently=True),
    Variant('number format 0"分"', EDITED, zip_edit(_number_format("0&quot;分&quot;")), shown_differently=True),
    Variant('number format [=0]"未评"', EDITED, zip_edit(_number_format("[=0]&quot;未评&quot;", "0")),
            shown_differently=True),
    # 7, 8. how the sheet shows its numbers (LibreOffice's CSV export applies neither a view option nor a
    # conditional format: see test_libreoffice_hides_zeros_as_the_sheet_view_says)
    Variant('showZeros="0"', EDITED, zip_edit(_show_zeros)),
    Variant("conditional format with a number format", EDITED, zip_edit(_conditional_format)),
    # 9. a comment
    Variant("cell comment", EDITED, openpyxl_edit(on_scores(_comment))),
    # 10. drawings
    Variant("text box over 得分", EDITED, zip_edit(_drawing(_TEXT_BOX, picture=False))),
    Variant("picture over 得分", EDITED, zip_edit(_drawing(_PICTURE, picture=True))),
    # 11. data validations
    Variant("validation prompt changed", EDITED, zip_edit(_validation_prompt)),
    Variant("extra validation", EDITED, zip_edit(_extra_validation)),
    # 12. the signature sheet shown
    Variant("signature sheet visible", EDITED, zip_edit(_signature_visible)),
    Variant("signature sheet state dropped", EDITED, zip_edit(_signature_state_dropped)),
    # 13. rich values, phonetic runs
    Variant("rich value cell (vm=1)", EDITED, zip_edit(_rich_value)),
    Variant("phonetic run shown", EDITED, zip_edit(_phonetic_run, resaved=1)),
    # 14. prefixed cells
    Variant("prefixed cell after the real one", EDITED, zip_edit(_prefixed_cell(after=True)), shown_differently=True),
    Variant("prefixed cell before the real one", EDITED, zip_edit(_prefixed_cell(after=False))),
    Variant("signed cell prefixed in a foreign namespace", EDITED, zip_edit(_foreign_prefixed_cell),
            shown_differently=True),
    # 15. another workbook part
    Variant("_rels/.rels chooses workbook2", EDITED, zip_edit(_other_workbook_chosen), shown_differently=True),
    Variant("second part with the workbook content type", EDITED, zip_edit(_second_workbook_content_type)),
    # 16. relationship targets and ids
    Variant("percent-encoded target", EDITED, zip_edit(_percent_encoded_target)),
    Variant("backslash in a target", EDITED, zip_edit(_backslash_target)),
    Variant("two sheets, one part", EDITED, zip_edit(_two_sheets_one_part)),
    Variant("duplicate rel id, forged first", EDITED, zip_edit(_duplicate_rel_ids(forged_first=True)),
            shown_differently=True),
    Variant("duplicate rel id, forged last", EDITED, zip_edit(_duplicate_rel_ids(forged_first=False))),
    # 17. more ways to read a part twice, or to show what was not signed
    Variant("a repeated content-type override", EDITED, zip_edit(_repeated_override)),
    Variant("CDATA in a note", EDITED, zip_edit(_cdata_note)),
    Variant("an XML comment in a note", EDITED, zip_edit(_comment_in_note)),
    Variant("a worksheet part no sheet lists", EDITED, zip_edit(_orphan_worksheet)),
    Variant("a processing instruction in the cells", EDITED, zip_edit(_processing_instruction)),
    Variant("a prefixed root element", EDITED, zip_edit(_prefixed_root)),
    Variant("a namespace declared among the cells", EDITED, zip_edit(_namespace_in_cells)),
    Variant('format "0" on a 得分 of x.5', EDITED, zip_edit(_rounding_format), shown_differently=True),
    Variant('format "0" as the default style', EDITED, zip_edit(_rounding_default_style)),
    Variant("a hyperlink tooltip on 得分", EDITED, zip_edit(_hyperlink_tooltip)),
    # A-D. what a coordinator's tools do to an honest file
    Variant("Excel printer settings", "accept", zip_edit(_printer_settings)),
    Variant("openpyxl re-save", "accept", openpyxl_edit(_nothing)),
    Variant("openpyxl column widths", "accept", openpyxl_edit(on_scores(_column_widths))),
    Variant("openpyxl freeze panes moved", "accept", openpyxl_edit(on_scores(_freeze))),
    Variant("openpyxl autofilter range", "accept", openpyxl_edit(on_scores(_autofilter))),
    Variant("openpyxl print settings", "accept", openpyxl_edit(on_scores(_print_settings))),
    Variant("openpyxl zoom", "accept", openpyxl_edit(on_scores(_zoom))),
    Variant("LibreOffice re-save", "accept", libreoffice_build(1)),
    Variant("LibreOffice re-save twice", "accept", libreoffice_build(2)),
    Variant("LibreOffice re-save three times", "accept", libreoffice_build(3)),
    Variant("LibreOffice then openpyxl re-save", "accept", openpyxl_edit(_nothing, resaved=1)),
]


def named(name: str) -> Variant:
    return next(v for v in VARIANTS if v.name == name)
