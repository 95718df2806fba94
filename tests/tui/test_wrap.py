"""Chinese line breaking in the detail pane: no line starts with closing punctuation or ends with opening
punctuation, Latin words and links are not split unless longer than a line, and no line is too wide."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.text import Text

from workbench.tui.wrap import NO_LINE_END, NO_LINE_START, wrap

TEXT = ("建立数字政府建设领导协调机制并有效运转。统一身份认证 https://www.gov.cn/zhengce/abc 覆盖“一网通办”"
        "全部事项，支持 OAuth 2.0 登录（含电子证照）。")


@pytest.mark.parametrize("width", [10, 13, 20, 38, 41])
def test_lines_fit_and_keep_the_punctuation_rules(width: int) -> None:
    lines = wrap(Text(TEXT), width).plain.split("\n")
    assert all(cell_len(line) <= width for line in lines)
    assert all(line and line[0] not in NO_LINE_START for line in lines)
    assert all(line[-1] not in NO_LINE_END for line in lines)
    assert "".join(lines).replace(" ", "") == TEXT.replace(" ", "")  # nothing lost but the spaces at breaks


def test_a_full_stop_is_carried_with_the_character_before_it() -> None:
    # 19 characters fill 38 cells exactly; Rich would put "。" alone on the next line.
    wrapped = wrap(Text("建立数字政府建设领导协调机制并有效运转。"), 38).plain
    assert wrapped == "建立数字政府建设领导协调机制并有效运\n转。"


def test_latin_words_and_links_stay_whole() -> None:
    lines = wrap(Text(TEXT), 41).plain.split("\n")
    assert any("https://www.gov.cn/zhengce/abc" in line for line in lines)
    assert any("OAuth" in line for line in lines)


def test_styles_survive_the_breaks() -> None:
    text = Text("当前 ")
    text.append("扣2", style="magenta")
    text.append("。" * 3)
    wrapped = wrap(text, 6)
    assert any(span.style == "magenta" for span in wrapped.spans)
