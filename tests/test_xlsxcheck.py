"""check_xlsx refuses hostile or broken .xlsx files, each with its code and a sentence naming what is wrong."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from conftest_tools import convert_with_libreoffice

from workbench.errors import FailureCode, NotFound, SignatureError
from workbench.signed.xlsxcheck import DEFAULT_LIMITS, MiB, XlsxLimits, check_xlsx

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHEET = "xl/worksheets/sheet1.xml"
SHEET_RELS = "xl/worksheets/_rels/sheet1.xml.rels"
HEADERS = ["对象类型", "对象编号", "对象名称", "指标代码", "指标名称", "指标类型", "满分", "步长", "得分", "备注",
           "佐证链接", "更新时间", "版本"]


def export_row(i: int) -> list[object]:
    return ["网站", f"S{i // 120:04d}", f"广东省深圳市第{i // 120}号政府门户网站", f"A{i % 120:03d}",
            f"第{i % 120}项指标（互动交流）", "评分", 5, "0.5", str(i % 11 / 2), "备注" * (i % 3),
            f"https://www.gov.cn/evidence/{i}", "2022-05-01T08:00:00Z", i % 5 + 1]


def write_workbook(path: Path, rows: int = 20, *, write_only: bool = False, hyperlink: str | None = None) -> Path:
    """A worksheet shaped like the export: 评分表, 汇总 and a veryHidden signature sheet."""
    import openpyxl

    book = openpyxl.Workbook(write_only=write_only)
    if write_only:
        scores = book.create_sheet("评分表")
    else:
        scores = book.worksheets[0]
        scores.title = "评分表"
    scores.append(HEADERS)
    for i in range(rows):
        scores.append(export_row(i))
    if hyperlink is not None:
        scores["K2"].hyperlink = hyperlink
    summary = book.create_sheet("汇总")
    summary.append(["对象编号", "总分", "等级"])
    summary.append(["S0000", "88.5", "优秀"])
    signature = book.create_sheet("签名")
    signature.sheet_state = "veryHidden"
    signature.append(["format", "workbench-signature/1"])
    book.save(path)
    return path


@pytest.fixture(scope="session")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small openpyxl workbook (inline strings, a dimension) to derive hostile files from; read-only."""
    return write_workbook(tmp_path_factory.mktemp("xlsx") / "scores.xlsx")


@pytest.fixture(scope="session")
def export_18k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full-size reviewer export: 18,000 rows × 13 columns, written with openpyxl write-only."""
    return write_workbook(tmp_path_factory.mktemp("xlsx") / "export-18k.xlsx", 18_000, write_only=True)


def rebuild(
    src: Path,
    dest: Path,
    *,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A copy of src with some members replaced or added."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dest


def worksheet(body: str, *, head: str = "", prefix: str = "") -> bytes:
    """A worksheet part written by hand, so a test can put anything in it."""
    body = body or f"<{prefix}sheetData/>"
    xmlns = f'xmlns:{prefix[:-1]}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    return (f'<?xml version="1.0" encoding="UTF-8"?>{head}'
            f"<{prefix}worksheet {xmlns}>{body}</{prefix}worksheet>").encode()


def relationships(*rels: tuple[str, str, str | None]) -> bytes:
    items = "".join(
        f'<Relationship Id="rId{i}" Type="{DOC_RELS}/{kind}" Target="{target}"'
        + (f' TargetMode="{mode}"' if mode else "") + "/>"
        for i, (kind, target, mode) in enumerate(rels, start=1)
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">{items}</Relationships>'.encode()


def refused(path: Path, code: str, *named: str, limits: XlsxLimits = DEFAULT_LIMITS) -> str:
    """check_xlsx refuses path with code, and its message names each of `named`."""
    assert code in {c.value for c in FailureCode}
    with pytest.raises(SignatureError) as caught:
        check_xlsx(path, limits)
    message = caught.value.message
    assert caught.value.code == code, message
    for word in named:
        assert word in message, f"{word!r} not in {message!r}"
    assert "评审专家" in message and "reviewer" in message  # says what the coordinator can do
    return message


def patch_headers(data: bytes, member: str, patch: dict[tuple[str, int], bytes]) -> bytes:
    """Overwrite fields of member's local header ("local", offset) and central entry ("central", offset)."""
    out = bytearray(data)
    name = member.encode()
    headers = (("local", b"PK\x03\x04", 26, 30), ("central", b"PK\x01\x02", 28, 46))
    for where, signature, name_length_at, name_at in headers:
        at = out.find(signature)
        while at != -1:
            (length,) = struct.unpack_from("<H", out, at + name_length_at)
            if bytes(out[at + name_at: at + name_at + length]) == name:
                for (kind, offset), value in patch.items():
                    if kind == where:
                        out[at + offset: at + offset + len(value)] = value
            at = out.find(signature, at + 4)
    return bytes(out)


# --- files that must pass ---------------------------------------------------------------------------------


def test_an_openpyxl_workbook_passes_and_its_sheets_are_described(workbook: Path) -> None:
    info = check_xlsx(workbook)

    assert [(s.name, s.state, s.kind) for s in info.sheets] == [
        ("评分表", "visible", "worksheet"), ("汇总", "visible", "worksheet"), ("签名", "veryHidden", "worksheet"),
    ]
    with zipfile.ZipFile(workbook) as zf:
        assert all(s.part in zf.namelist() for s in info.sheets)
    assert info.sheet("签名") == info.sheets[2]
    assert info.sheet("没有这张表") is None


def test_a_full_size_write_only_export_passes(export_18k: Path) -> None:
    info = check_xlsx(export_18k)

    assert [(s.name, s.state) for s in info.sheets] == [
        ("评分表", "visible"), ("汇总", "visible"), ("签名", "veryHidden"),
    ]


def test_a_libreoffice_resave_of_the_export_passes(export_18k: Path, tmp_path: Path) -> None:
    resaved = convert_with_libreoffice(export_18k, tmp_path / "lo")

    info = check_xlsx(resaved)

    assert [s.name for s in info.sheets] == ["评分表", "汇总", "签名"]
    signature = info.sheet("签名")
    assert signature is not None
    assert signature.state in ("hidden", "veryHidden")  # LibreOffice writes veryHidden back as hidden


def test_a_web_hyperlink_in_a_cell_passes(tmp_path: Path) -> None:
    # Excel turns a URL typed into 佐证链接 into a hyperlink; it fetches nothing when the file opens.
    path = write_workbook(tmp_path / "linked.xlsx", hyperlink="https://www.gov.cn/zhengce/")

    assert [s.name for s in check_xlsx(path).sheets] == ["评分表", "汇总", "签名"]


def test_cells_written_without_references_pass_when_within_limits(workbook: Path, tmp_path: Path) -> None:
    rows = "".join("<row>" + "<c><v>1</v></c>" * 13 + "</row>" for _ in range(30))
    path = rebuild(workbook, tmp_path / "no-refs.xlsx", replace={SHEET: worksheet(f"<sheetData>{rows}</sheetData>")})

    assert check_xlsx(path).sheets[0].part == SHEET


def test_a_utf16_worksheet_passes(workbook: Path, tmp_path: Path) -> None:
    text = worksheet('<dimension ref="A1:M2"/><sheetData><row r="2"><c r="M2"><v>1</v></c></row></sheetData>')
    utf16 = text.decode().replace("UTF-8", "UTF-16").encode("utf-16")
    path = rebuild(workbook, tmp_path / "utf16.xlsx", replace={SHEET: utf16})

    assert check_xlsx(path).sheets[0].part == SHEET


def test_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        check_xlsx(tmp_path / "nowhere.xlsx")


# --- not an xlsx ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("对象编号,得分\nS0001,4.5\n".encode(), "CSV"),
        ("对象编号,对象名称\nS0001,广东省深圳市\n".encode("gb18030"), "CSV"),  # Excel's CSV on a Chinese Windows
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"", "空"),
    ],
    ids=["renamed-csv", "renamed-gbk-csv", "renamed-pdf", "empty"],
)
def test_a_file_that_is_not_a_zip_is_not_xlsx(tmp_path: Path, content: bytes, named: str) -> None:
    path = tmp_path / "scores.xlsx"
    path.write_bytes(content)

    refused(path, "NOT_XLSX", named)


@pytest.mark.parametrize(
    ("members", "named"),
    [
        ({"notes.txt": b"hello"}, "[Content_Types].xml"),
        ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}, ".ods"),
        ({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<x/>"}, "Word"),
    ],
    ids=["plain-zip", "ods", "docx"],
)
def test_a_zip_without_a_workbook_is_not_xlsx(tmp_path: Path, members: dict[str, bytes], named: str) -> None:
    path = tmp_path / "scores.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    refused(path, "NOT_XLSX", named)


# --- damaged zips -----------------------------------------------------------------------------------------


def test_a_truncated_file_is_corrupt(workbook: Path, tmp_path: Path) -> None:
    data = workbook.read_bytes()
    path = tmp_path / "half.xlsx"
    path.write_bytes(data[: len(data) // 2])

    refused(path, "CORRUPT_ZIP", "截断", "cut short")


def test_a_changed_byte_in_a_stored_member_fails_its_crc(workbook: Path, tmp_path: Path) -> None:
    stored = rebuild(workbook, tmp_path / "stored.xlsx", compression=zipfile.ZIP_STORED)
    data = stored.read_bytes()
    at = data.index("深圳市第0号".encode())
    path = tmp_path / "flipped.xlsx"
    path.write_bytes(data[:at] + "深圳市第9号".encode() + data[at + len("深圳市第0号".encode()):])

    refused(path, "CORRUPT_ZIP", SHEET, "CRC")


def test_a_changed_byte_in_a_compressed_member_is_corrupt(export_18k: Path, tmp_path: Path) -> None:
    data = bytearray(export_18k.read_bytes())
    with zipfile.ZipFile(export_18k) as zf:
        info = zf.getinfo(SHEET)
    data[info.header_offset + 30 + len(SHEET) + info.compress_size // 2] ^= 0x5A
    path = tmp_path / "flipped.xlsx"
    path.write_bytes(bytes(data))

    refused(path, "CORRUPT_ZIP", SHEET)


def test_a_damaged_central_directory_is_corrupt(workbook: Path, tmp_path: Path) -> None:
    data = workbook.read_bytes()
    at = data.index(b"PK\x01\x02")
    path = tmp_path / "directory.xlsx"
    path.write_bytes(data[:at] + b"PK\x01\x09" + data[at + 4:])

    refused(path, "CORRUPT_ZIP", "目录", "directory")


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_two_members_with_one_name_are_refused(workbook: Path, tmp_path: Path) -> None:
    path = rebuild(workbook, tmp_path / "twice.xlsx", add={SHEET: worksheet("")})

    refused(path, "CORRUPT_ZIP", SHEET)


def test_members_sharing_their_bytes_are_refused(workbook: Path, tmp_path: Path) -> None:
    data = workbook.read_bytes()
    with zipfile.ZipFile(workbook) as zf:
        first = zf.infolist()[0]
    path = tmp_path / "overlap.xlsx"
    path.write_bytes(patch_headers(data, SHEET, {("central", 42): struct.pack("<L", first.header_offset)}))

    refused(path, "CORRUPT_ZIP", SHEET, "overlaps")


# --- encrypted or legacy -----------------------------------------------------------------------------------


def test_an_ole_compound_file_is_legacy_or_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "scores.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504))

    refused(path, "ENCRYPTED_OR_LEGACY", ".xls", "password")


def test_a_member_flagged_as_encrypted_is_refused(workbook: Path, tmp_path: Path) -> None:
    data = workbook.read_bytes()
    path = tmp_path / "encrypted.xlsx"
    path.write_bytes(patch_headers(data, SHEET, {("local", 6): b"\x01", ("central", 8): b"\x01"}))

    refused(path, "ENCRYPTED_OR_LEGACY", SHEET, "encrypted")


# --- zip bombs ----------------------------------------------------------------------------------------------


def test_a_member_of_50_mb_of_zeros_is_a_suspected_bomb(workbook: Path, tmp_path: Path) -> None:
    path = rebuild(workbook, tmp_path / "bomb.xlsx", add={"xl/media/image1.png": bytes(50 * MiB)})

    refused(path, "ZIP_BOMB_SUSPECTED", "xl/media/image1.png", ":1")


def test_a_bomb_that_understates_its_size_is_not_unpacked_beyond_it(workbook: Path, tmp_path: Path) -> None:
    bomb = rebuild(workbook, tmp_path / "bomb.xlsx", add={"xl/media/image1.png": bytes(50 * MiB)})
    small = struct.pack("<L", 4096)
    path = tmp_path / "liar.xlsx"
    sizes = {("local", 22): small, ("central", 24): small}
    path.write_bytes(patch_headers(bomb.read_bytes(), "xl/media/image1.png", sizes))

    refused(path, "CORRUPT_ZIP", "xl/media/image1.png", "CRC")


def test_more_than_the_total_size_limit_is_a_suspected_bomb(workbook: Path) -> None:
    limits = XlsxLimits(max_total_bytes=4096)

    refused(workbook, "ZIP_BOMB_SUSPECTED", "4096 bytes", limits=limits)


def test_too_many_members_is_a_suspected_bomb(workbook: Path, tmp_path: Path) -> None:
    path = rebuild(workbook, tmp_path / "many.xlsx", add={f"xl/media/image{i}.png": b"x" for i in range(1001)})

    refused(path, "ZIP_BOMB_SUSPECTED", "1000")


# --- active content ------------------------------------------------------------------------------------------


def content_types_with(workbook: Path, override: str) -> bytes:
    with zipfile.ZipFile(workbook) as zf:
        text = zf.read("[Content_Types].xml").decode()
    return text.replace("</Types>", override + "</Types>").encode()


@pytest.mark.parametrize(
    ("part", "named"),
    [
        ("xl/vbaProject.bin", "vbaProject.bin"),
        ("xl/externalLinks/externalLink1.xml", "externalLink1.xml"),
        ("xl/embeddings/oleObject1.bin", "OLE"),
        ("xl/activeX/activeX1.xml", "ActiveX"),
        ("xl/macrosheets/sheet1.xml", "宏"),
    ],
)
def test_active_parts_are_refused(workbook: Path, tmp_path: Path, part: str, named: str) -> None:
    path = rebuild(workbook, tmp_path / "active.xlsx", add={part: b"<x/>"})

    refused(path, "ACTIVE_CONTENT", named)


def test_a_macro_enabled_workbook_is_refused_even_without_its_macros(workbook: Path, tmp_path: Path) -> None:
    types = content_types_with(
        workbook,
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/>',
    )
    path = rebuild(workbook, tmp_path / "xlsm.xlsx", replace={"[Content_Types].xml": types})

    refused(path, "ACTIVE_CONTENT", "macroEnabled")


def test_macros_under_another_name_are_refused_by_their_relationship(workbook: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(workbook) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rId99" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        'Target="notes.dat"/></Relationships>',
    )
    path = rebuild(workbook, tmp_path / "hidden-vba.xlsx", replace={"xl/_rels/workbook.xml.rels": rels.encode()},
                  add={"xl/notes.dat": b"\x00" * 64})

    refused(path, "ACTIVE_CONTENT", "VBA", "notes.dat")


def test_an_external_relationship_is_refused(workbook: Path, tmp_path: Path) -> None:
    rels = relationships(("image", "http://tracker.example/pixel.png", "External"))
    path = rebuild(workbook, tmp_path / "external.xlsx", add={SHEET_RELS: rels})

    refused(path, "ACTIVE_CONTENT", "http://tracker.example/pixel.png", SHEET_RELS)


@pytest.mark.parametrize("target", ["file:///C:/Users/reviewer/secret.txt", r"\\attacker\share\x.xlsx"])
def test_a_hyperlink_to_a_file_or_share_is_refused(workbook: Path, tmp_path: Path, target: str) -> None:
    path = rebuild(workbook, tmp_path / "unc.xlsx", add={SHEET_RELS: relationships(("hyperlink", target, "External"))})

    refused(path, "ACTIVE_CONTENT", "hyperlink", target)


def test_a_dde_formula_is_refused(workbook: Path, tmp_path: Path) -> None:
    cell = """<c r="A1"><f>cmd|' /C calc'!A0</f><v>0</v></c>"""
    sheet = worksheet(f'<sheetData><row r="1">{cell}</row></sheetData>')
    path = rebuild(workbook, tmp_path / "dde.xlsx", replace={SHEET: sheet})

    refused(path, "ACTIVE_CONTENT", "DDE", SHEET)


# --- bad XML ---------------------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + f']><sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
).encode()


def test_billion_laughs_in_the_shared_strings_is_refused(workbook: Path, tmp_path: Path) -> None:
    # openpyxl writes inline strings; Excel and LibreOffice write this part.
    path = rebuild(workbook, tmp_path / "laughs.xlsx", add={"xl/sharedStrings.xml": BILLION_LAUGHS})

    refused(path, "BAD_XML", "xl/sharedStrings.xml", "DTD")


def test_a_doctype_in_a_sheet_is_refused(workbook: Path, tmp_path: Path) -> None:
    sheet = worksheet(
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData>',
        head='<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    )
    path = rebuild(workbook, tmp_path / "xxe.xlsx", replace={SHEET: sheet})

    refused(path, "BAD_XML", SHEET, "DTD")


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"])
def test_a_doctype_in_any_other_part_is_refused(workbook: Path, tmp_path: Path, part: str) -> None:
    with zipfile.ZipFile(workbook) as zf:
        text = zf.read(part).decode()
    body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    poisoned = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>' + body
    path = rebuild(workbook, tmp_path / "dtd.xlsx", replace={part: poisoned.encode()})

    refused(path, "BAD_XML", part, "DTD")


def test_a_doctype_in_a_vml_drawing_is_refused(workbook: Path, tmp_path: Path) -> None:
    vml = b'<!DOCTYPE xml [<!ENTITY a "b">]><xml xmlns:v="urn:schemas-microsoft-com:vml">&a;</xml>'
    path = rebuild(workbook, tmp_path / "vml.xlsx", add={"xl/drawings/vmlDrawing1.vml": vml})

    refused(path, "BAD_XML", "vmlDrawing1.vml", "DTD")


def test_a_huge_dimension_claim_is_refused(workbook: Path, tmp_path: Path) -> None:
    path = rebuild(workbook, tmp_path / "dimension.xlsx",
                   replace={SHEET: worksheet('<dimension ref="A1:XFD1048576"/><sheetData/>')})

    refused(path, "BAD_XML", "dimension", "1048576 rows × 16384 columns")


@pytest.mark.parametrize(
    ("cells", "named"),
    [
        ('<row r="1"><c r="XFD1"><v>1</v></c></row>', "16384 columns"),
        ('<row r="5000000"><c r="A5000000"><v>1</v></c></row>', "5000000 rows"),
        ('<row r="1"><c r="A1"><v>1</v></c></row><row r="300000"><c r="M300000"><v>1</v></c></row>', "300000 rows"),
    ],
    ids=["far-column", "far-row", "area"],
)
def test_cells_beyond_the_limits_are_refused(workbook: Path, tmp_path: Path, cells: str, named: str) -> None:
    path = rebuild(workbook, tmp_path / "far.xlsx", replace={SHEET: worksheet(f"<sheetData>{cells}</sheetData>")})

    refused(path, "BAD_XML", SHEET, named)


LONG_SHEET = "".join(  # over 3 MiB: the scan takes it in several pieces
    f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}" t="inlineStr"><is><t>备注{i}</t></is></c></row>'
    for i in range(1, 40_001))


@pytest.mark.parametrize(
    ("late", "named"),
    [
        ("", None),
        ('<row r="40001"><c r="A2"><v>9</v></c></row>', "A2"),
        ('<row r="40001"><c r="b40001"><v>1</v></c><c r="b40001"><v>9</v></c></row>', "b40001"),
        ('<row r="40000"><c r="Z40000"><v>9</v></c></row>', "40000"),
        ('<row r="40001"><c r="C40001"><v>1</v></c><c r="B40001"><v>9</v></c><c r="C40001"><v>2</v></c></row>',
         "C40001"),
    ],
    ids=["in-order", "first-rows-cell-at-the-end", "lower-case-twice", "row-twice", "column-back-and-again"],
)
def test_a_reference_written_twice_is_found_in_any_piece_of_the_sheet(
        workbook: Path, tmp_path: Path, late: str, named: str | None) -> None:
    path = rebuild(workbook, tmp_path / "long.xlsx",
                   replace={SHEET: worksheet(f"<sheetData>{LONG_SHEET}{late}</sheetData>")})

    assert check_xlsx(path).sheet_facts[SHEET].duplicate_ref == named


def test_cells_without_references_are_counted_as_a_reader_places_them(workbook: Path, tmp_path: Path) -> None:
    # A reader puts a cell without `r` in the next column: 300 of them pass the 200-column limit.
    row = '<row r="1">' + "<c><v>1</v></c>" * 300 + "</row>"
    path = rebuild(workbook, tmp_path / "implied.xlsx", replace={SHEET: worksheet(f"<sheetData>{row}</sheetData>")})

    refused(path, "BAD_XML", SHEET, "201 columns")


def test_cells_with_a_namespace_prefix_are_counted_too(workbook: Path, tmp_path: Path) -> None:
    row = '<x:row r="1">' + '<x:c s="0"><x:v>1</x:v></x:c>' * 300 + "</x:row>"
    sheet = worksheet(f"<x:sheetData>{row}</x:sheetData>", prefix="x:")
    path = rebuild(workbook, tmp_path / "prefixed.xlsx", replace={SHEET: sheet})

    refused(path, "BAD_XML", SHEET, "201 columns")


def test_a_utf16_worksheet_is_checked_like_any_other(workbook: Path, tmp_path: Path) -> None:
    text = worksheet('<dimension ref="A1:XFD1048576"/><sheetData/>').decode().replace("UTF-8", "UTF-16")
    path = rebuild(workbook, tmp_path / "utf16.xlsx", replace={SHEET: text.encode("utf-16")})

    refused(path, "BAD_XML", "dimension")


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/styles.xml", "xl/_rels/workbook.xml.rels"])
def test_malformed_xml_is_refused(workbook: Path, tmp_path: Path, part: str) -> None:
    with zipfile.ZipFile(workbook) as zf:
        text = zf.read(part)
    path = rebuild(workbook, tmp_path / "malformed.xlsx", replace={part: text[: len(text) - 20]})

    refused(path, "BAD_XML", part, "well-formed")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-7"])
def test_an_encoding_other_than_utf8_or_utf16_is_refused(workbook: Path, tmp_path: Path, encoding: str) -> None:
    sheet = worksheet("").replace(b"UTF-8", encoding.encode())
    path = rebuild(workbook, tmp_path / "latin1.xlsx", replace={SHEET: sheet})

    refused(path, "BAD_XML", SHEET, encoding)
