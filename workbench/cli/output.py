"""Render rows as an aligned table (CJK-aware), JSON or CSV for the CLI."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence

FORMATS = ("table", "json", "csv")


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], fmt: str, keys: Sequence[str] | None = None) -> str:
    """``keys`` name the JSON fields (stable English names); headers are what a person reads."""
    if fmt == "json":
        names = list(keys or headers)
        return json.dumps([dict(zip(names, row, strict=True)) for row in rows], ensure_ascii=False, indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    widths = [display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))
    lines = ["  ".join(pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    lines += ["  ".join(pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
