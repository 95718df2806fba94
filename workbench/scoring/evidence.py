"""What an evidence link (佐证链接) may be: the one rule the app, exports and imports share.

A link is what a coordinator can open in a browser: an http or https URL with a host. Several links may be
given, separated by whitespace. Anything else is refused with the reason, so a note typed into the wrong
field ("见截图") is not kept as a link.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LINK_CHARS = 2000  # what browsers and spreadsheet hyperlinks handle reliably
_HOST = re.compile(r"^(localhost|[0-9.]+|\[[0-9a-f:.]+\]|([\w-]+\.)+[\w-]{2,})(:\d{1,5})?$", re.IGNORECASE)


def evidence_problem(text: str) -> str:
    """Why ``text`` is not a valid evidence field ("中文 / English"), or "" when it is (empty is valid)."""
    whole = " ".join(text.split())
    for link in text.split():
        # A field without any address is shown whole ("see the screenshot"), else the one link refused.
        what = link if "://" in whole else whole
        shown = what if len(what) <= 60 else what[:57] + "…"
        if len(link) > MAX_LINK_CHARS:
            return (f"佐证链接「{shown}」超过 {MAX_LINK_CHARS} 个字符 / "
                    f"the evidence link {shown!r} is longer than {MAX_LINK_CHARS} characters")
        try:
            parts = urlsplit(link)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https"):
            return (f"「{shown}」不是网址：佐证链接须以 http:// 或 https:// 开头（文字说明请写在备注里） / "
                    f"{shown!r} is not a link: an evidence link starts with http:// or https:// "
                    "(put remarks in the note)")
        if not _HOST.match(parts.netloc.rpartition("@")[2]):
            return (f"「{shown}」不是网址：缺少有效的主机名（如 www.gov.cn） / "
                    f"{shown!r} is not a link: it has no valid host name (such as www.gov.cn)")
    return ""
