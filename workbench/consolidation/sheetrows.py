"""Data rows of a write-only openpyxl sheet, serialised straight to SpreadsheetML and spliced into the saved
workbook: the report's tables run to millions of cells, and openpyxl spends ~25 µs on each (an element tree
per cell); this writes the same XML — inline strings, numbers, the style ids openpyxl assigned — at a tenth of
that.

A sheet's header rows still go through openpyxl (``sheet.append``); the rows after them go to a `RowStream`,
which writes them to a temporary file. `save` saves the workbook and then copies it once, putting each
stream's rows before its sheet's ``</sheetData>``. Nothing may be appended to the sheet through openpyxl once
its stream has rows: `save` checks that the sheet's last openpyxl row is the one before the stream's first.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from workbench.signed.worksheet import clean_text, has_illegal_characters, needs_text_guard

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_LAST_ROW = re.compile(rb'<row r="(\d+)"')
_CHUNK = 1 << 20
STRING_CACHE = 200_000


class Styled(NamedTuple):
    """A number written with a cell style (its id in the workbook's style table): its number format."""

    value: Any
    style: int


def _column_letters(count: int) -> list[str]:
    from openpyxl.utils import get_column_letter

    return [get_column_letter(n) for n in range(1, count + 1)]


def _text(value: str) -> str:
    """An inline-string cell's content, as openpyxl writes it: escaped, and whitespace at either end kept."""
    escaped = value.translate(_ESCAPES)
    if value[0].isspace() or value[-1].isspace():
        return f'<is><t xml:space="preserve">{escaped}</t></is>'
    return f"<is><t>{escaped}</t></is>"


def _number(value: Any) -> str | None:
    """A number's text in a <v>, or None when ``value`` is not a number."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is Decimal:
        return format(value, "f")
    if kind is float:
        return repr(value)
    return None  # bool among them: no table of the report has one


class RowStream:
    """The data rows of one sheet from row ``first_row`` on, written as SpreadsheetML to a temporary file."""

    def __init__(self, sheet: Any, first_row: int, columns: int) -> None:
        self.sheet = sheet
        self.first_row = first_row
        self.next_row = first_row
        self._letters = _column_letters(columns)
        self._styles: dict[tuple[str, bool], int] = {}
        self._strings: dict[str, str] = {"": ""}  # a text → its cell after the reference (see _string)
        handle, name = tempfile.mkstemp(prefix="workbench-rows-", suffix=".xml")
        self.path = Path(name)
        self._out = os.fdopen(handle, "w", encoding="utf-8")
        self._quoted = self.style_id("General", quote=True)

    def style_id(self, number_format: str, *, quote: bool = False) -> int:
        """The workbook's style id for cells with ``number_format`` (and a quote prefix when ``quote``):
        registered through an openpyxl cell, so that openpyxl writes it into the styles part on save."""
        key = (number_format, quote)
        found = self._styles.get(key)
        if found is None:
            from openpyxl.cell import WriteOnlyCell

            cell = WriteOnlyCell(self.sheet)
            cell.number_format = number_format
            if quote:
                cell.quotePrefix = True
            found = self._styles[key] = int(cell.style_id)
        return found

    def append(self, values: list[Any]) -> None:
        """One row: None and "" leave their cell empty; a str is an inline string (characters no worksheet can
        hold dropped, and a text a spreadsheet would take for a formula or an error value quote-prefixed, as
        `guarded_cell` does); an int, Decimal or float is a number; `Styled` carries its style id."""
        row = self.next_row
        self.next_row += 1
        cells = [f'<row r="{row}">']
        add = cells.append
        strings = self._strings
        for letter, value in zip(self._letters, values, strict=False):
            kind = type(value)
            if kind is str:
                cell = strings.get(value)
                if cell is None:
                    cell = self._string(value)
                if cell:
                    add(f'<c r="{letter}{row}"{cell}')
                continue
            if value is None:
                continue
            style = ""
            if kind is Styled:  # a number with its format (_Table.number wraps numbers only)
                style = f' s="{value.style}"'
                value = value.value
            number = _number(value)
            if number is None:  # anything else is a mistake: openpyxl too refuses what it cannot type
                raise TypeError(f"no cell for {type(value).__name__} value {value!r}")
            add(f'<c r="{letter}{row}"{style} t="n"><v>{number}</v></c>')
        add("</row>")
        self._out.write("".join(cells))

    def _string(self, value: str) -> str:
        """A text cell after its reference: its style and inline string ("" for nothing to show), remembered
        for the texts that repeat row after row (ids, names, codes) up to STRING_CACHE of them."""
        text = clean_text(value) if has_illegal_characters(value) else value
        if not text:
            cell = ""
        else:
            style = f' s="{self._quoted}"' if needs_text_guard(text) else ""
            cell = f'{style} t="inlineStr">{_text(text)}</c>'
        if len(self._strings) < STRING_CACHE:
            self._strings[value] = cell
        return cell

    @property
    def rows(self) -> int:
        return self.next_row - self.first_row

    def close(self) -> None:
        if not self._out.closed:
            self._out.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def save(book: Any, out: Path, streams: list[RowStream]) -> None:
    """Save ``book`` to ``out`` with each stream's rows in its sheet. The streams' files are removed."""
    try:
        for stream in streams:
            stream.close()
        if not any(stream.rows for stream in streams):
            book.save(out)
            return
        saved = out.with_name(f".{out.name}.openpyxl")
        book.save(saved)
        try:
            by_part = {stream.sheet.path.lstrip("/"): stream for stream in streams if stream.rows}
            with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "x", zipfile.ZIP_DEFLATED,
                                                                   compresslevel=1) as target:
                for info in source.infolist():
                    spliced = by_part.get(info.filename)
                    if spliced is None:
                        target.writestr(info, source.read(info), zipfile.ZIP_DEFLATED, 6)
                    else:
                        _splice(source.read(info), spliced, target, info.filename)
        except BaseException:
            out.unlink(missing_ok=True)  # no workbook copied halfway
            raise
        finally:
            saved.unlink(missing_ok=True)
    finally:
        for stream in streams:
            stream.discard()


def _splice(part: bytes, stream: RowStream, target: zipfile.ZipFile, name: str) -> None:
    end = part.rfind(b"</sheetData>")
    head, tail = part[:max(end, 0)], part[max(end, 0):]
    rows = _LAST_ROW.findall(head) if end >= 0 else []
    if not rows or int(rows[-1]) != stream.first_row - 1:
        raise RuntimeError(f"{name}: rows were appended through openpyxl after its row stream began")
    with target.open(name, "w", force_zip64=True) as part_out:  # deflated at the target's level
        part_out.write(head)
        with stream.path.open("rb") as rows_in:
            shutil.copyfileobj(rows_in, part_out, _CHUNK)
        part_out.write(tail)
