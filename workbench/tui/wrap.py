"""Line breaking for Chinese text mixed with Latin words, as Chinese typesetting does it (禁则).

Rich breaks only at spaces and cuts a run of CJK characters anywhere, so a line of the detail pane could start
with "。" or end with "“". Here a line may break between any two CJK characters, never inside a Latin word or
number (unless the word is longer than a line), never before closing punctuation and never after opening
punctuation: a character that would break a rule is carried to the next line with its neighbour.
"""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.text import Text

NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉”’…·～%,.;:?!)]}>—")
"""Closing punctuation: never the first character of a line."""
NO_LINE_END = frozenset("（《「『【〔〈“‘([{<")
"""Opening punctuation: never the last character of a line."""

# A Latin word or number (with what sticks to it, such as a URL's punctuation), a run of spaces, or one
# other character (a CJK character or a punctuation mark).
_TOKEN = re.compile(r"[A-Za-z0-9_\-./:%@#?&=+~]+|[ \t]+|.", re.DOTALL)


def _tokens(line: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _TOKEN.finditer(line)]


def break_points(line: str, width: int) -> list[int]:
    """Offsets in ``line`` (no newline in it) where it is broken to fit ``width`` cells."""
    if width <= 0 or cell_len(line) <= width:
        return []
    breaks: list[int] = []
    tokens = _tokens(line)
    start, used, i = 0, 0, 0
    while i < len(tokens):
        a, b = tokens[i]
        size = cell_len(line[a:b])
        if used + size <= width or a == start:
            if size > width and a == start:  # a word longer than a line: cut it at the width
                cut = a
                while cut < b and cell_len(line[a:cut + 1]) <= width:
                    cut += 1
                cut = max(cut, a + 1)
                breaks.append(cut)
                tokens[i] = (cut, b)
                start, used = cut, 0
                continue
            used += size
            i += 1
            continue
        # tokens[i] does not fit: break before it, moving back over what the rules forbid at a line's edge.
        j = i
        while j > 0 and tokens[j - 1][0] > start and (
            line[tokens[j][0]] in NO_LINE_START or line[tokens[j - 1][1] - 1] in NO_LINE_END
        ):
            j -= 1
        if j == 0 or tokens[j][0] <= start:  # nothing to carry over: break where it overflows
            j = i
        cut = tokens[j][0]
        breaks.append(cut)
        # Spaces at a break are not carried to the next line.
        while j < len(tokens) and line[tokens[j][0]] in " \t":
            j += 1
        start = tokens[j][0] if j < len(tokens) else len(line)
        used, i = 0, j
    return breaks


def wrap(text: Text, width: int) -> Text:
    """``text`` with line breaks inserted so that no line is wider than ``width`` cells (styles kept)."""
    out = Text(end="", justify=text.justify, no_wrap=True)
    for n, line in enumerate(text.split("\n", allow_blank=True)):
        if n:
            out.append("\n")
        plain = line.plain
        offset = 0
        for cut in break_points(plain, width):
            piece = line[offset:cut]
            piece.rstrip()  # in place
            out.append_text(piece)
            out.append("\n")
            offset = cut
            while offset < len(plain) and plain[offset] in " \t":
                offset += 1
        out.append_text(line[offset:])
    return out
