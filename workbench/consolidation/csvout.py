"""CSV fields no spreadsheet runs as a formula: for the CLI's ``--format csv`` and the report's side file.

Names, notes and file names come from set-up files and reviewers. In CSV a text a spreadsheet would run as a
formula gets a leading `'`, and the control characters a terminal acts on are shown escaped, since a CSV may
be printed too. Pure text: no openpyxl, no click, so the core and the shells share one rule.
"""

from __future__ import annotations

import re

# = + - @ tab CR, OWASP's CSV-injection prefixes: the worksheet export guards the same texts.
from workbench.signed.worksheet import FORMULA_PREFIXES

__all__ = ["csv_field"]

# In a CSV field tab, newline and CR are data (CR is written as a newline): only the other C0 controls, DEL and
# the C1 controls (ESC and CSI among them) are escaped.
_CONTROLS_BUT_CSV_DATA = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A field that is exactly a plain decimal number (ASCII digits, at most a leading minus) is a number, not text.
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def csv_field(text: str) -> str:
    """A CSV field no spreadsheet runs as a formula and no terminal acts on: text starting with = + - @, tab or
    CR gets a leading `'` (a plain decimal number such as ``-3.5`` stays as it is); CR becomes a newline; the
    other control characters but tab and newline are escaped as `\\xNN`."""
    if _CONTROLS_BUT_CSV_DATA.search(text):
        text = _CONTROLS_BUT_CSV_DATA.sub(_escape, text)
    if text.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(text):
        text = "'" + text
    if "\r" in text:
        # The writer quotes a field for the line terminator's characters only (\n here): a bare CR would stay
        # unquoted, a spreadsheet would start a row there, and "a\r=cmd|…" would be a formula after all.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text
