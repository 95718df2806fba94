"""Render rows as an aligned table (CJK-aware), JSON or CSV for the CLI, with user data made safe for each.

Names, notes and file names come from set-up files and reviewers, and any output may land on a terminal: the
control characters a terminal acts on are shown escaped in every format (`terminal_text`, `json_text`,
`csv_field`), and in CSV a text a spreadsheet would run as a formula also gets a leading `'`.
"""

from __future__ import annotations

import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

FORMATS = ("table", "json", "csv")

# C0 controls, DEL, C1 controls (ESC and CSI among them): a terminal acts on them (retitles, moves the cursor,
# clears the screen), so printed user text shows them escaped. Newline is kept only in multi-line messages.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
# What json.dumps(ensure_ascii=False) leaves raw although it is no printable text: DEL, the C1 controls, and
# U+2028/U+2029 (line breaks to JavaScript and to some terminals and editors).
_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def terminal_text(text: str, *, multiline: bool = False) -> str:
    """Text safe to print on a terminal: control characters (ESC, BEL, tab, C1 …) as `\\x1b`-style escapes;
    newlines stay when ``multiline`` (a message), else they are escaped too (a table cell, a name)."""
    pattern = _CONTROLS_BUT_NEWLINE if multiline else _CONTROLS
    return pattern.sub(_escape, text) if pattern.search(text) else text


def json_text(document: Any) -> str:
    """The document as indented JSON (Chinese as is), with nothing in it a terminal would act on. A Decimal
    is written as the number literal it reads (1.50 stays 1.50: exact, never through a binary float)."""
    numbers: list[str] = []
    mark = f"\x00{os.urandom(8).hex()}\x00"  # no text of the document holds it (a NUL and 64 random bits)

    def number(value: Any) -> Any:
        if isinstance(value, Decimal):
            numbers.append(str(value) if value.is_finite() else "null")
            return mark
        if isinstance(value, dict):
            return {k: number(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [number(v) for v in value]
        return value

    text = json.dumps(number(document), ensure_ascii=False, indent=2)  # escapes the C0 controls itself
    if numbers:
        literals = iter(numbers)
        text = re.sub(re.escape(json.dumps(mark)), lambda _: next(literals), text)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # raw only inside strings: same value



def local_time(text: str) -> str:
    """A stored UTC ISO 8601 time as a table shows it: in the local zone, `2022-06-01 17:30:00`. What is not
    such a time (empty, or text of an older version) is shown as it is. JSON, CSV and everything signed keep UTC."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


CSV_CHUNK_ROWS = 2_000


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    """CSV text, each line ending in a newline, in pieces of CSV_CHUNK_ROWS rows as ``rows`` come: for a command
    that prints more rows than it should hold. Every field is guarded by `csv_field`."""
    # csv_field lives in the core (the report's side file guards its cells the same way). Imported here, not
    # at the top: its module brings the worksheet rules, which a table or JSON lookup never needs.
    import csv

    from workbench.consolidation.csvout import csv_field

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_field(h) for h in headers])
    for n, row in enumerate(rows, 1):
        writer.writerow([csv_field(c) for c in row])
        if n % CSV_CHUNK_ROWS == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: str, keys: Sequence[str] | None = None) -> str:
    """``keys`` name the JSON fields (stable English names); headers are what a person reads."""
    if fmt == "json":
        names = list(keys or headers)
        return json_text([dict(zip(names, row, strict=True)) for row in rows])
    if fmt == "csv":
        return "".join(csv_chunks(headers, rows)).rstrip("\n")
    headers = [terminal_text(h) for h in headers]
    rows = [[terminal_text(c) for c in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))
    lines = ["  ".join(pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    lines += ["  ".join(pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
