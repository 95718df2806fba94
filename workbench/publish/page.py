"""The public results page beside a bundle: the ranked table per ranking group, the round, the manifest's SHA-256
and how to check it, as a workbook and as one self-contained HTML page (no scripts, no outside resources).

Not listed in the manifest: it is a summary for readers, written after the bundle, and names the manifest it
summarises by its hash.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from workbench.model import TARGET_LABELS, Target, TargetKind
from workbench.store.db import Store


@dataclass(frozen=True)
class RankedRow:
    rank: int | None
    target_id: str
    name: str
    region: str
    total: Decimal | None
    grade: str


def ranked_groups(store: Store) -> dict[tuple[TargetKind, str], list[RankedRow]]:
    """Per target kind and ranking group (排名分组), the targets in rank order, as the report ranks them."""
    from workbench.consolidation.consolidate import rank_group_of, rank_targets
    from workbench.consolidation.stored import stream_consolidation
    from workbench.scoring.indicators import PENDING_REASONS

    names = {t.key: t for t in store.targets()}
    summary, targets = stream_consolidation(store, agreement=False)
    for _ in targets:
        pass
    groups = {key: rank_group_of(summary.rules, key.kind, _attributes(t)) for key, t in names.items()}
    ranks = rank_targets(summary.totals, groups if summary.rules.rank_groups else None)
    out: dict[tuple[TargetKind, str], list[RankedRow]] = defaultdict(list)
    unranked = len(summary.totals) + 1
    for key in sorted(summary.totals, key=lambda k: (k.kind != TargetKind.SITE, groups.get(k, ""),
                                                     ranks.get(k, unranked), k.id)):
        total = summary.totals[key]
        t = names.get(key)
        grade = PENDING_REASONS[total.pending][0] if total.pending else total.grade
        out[(key.kind, groups.get(key, ""))].append(RankedRow(
            ranks.get(key), key.id, t.name if t else "", t.region if t else "",
            None if total.pending else total.total, grade or ""))
    return dict(out)


def _attributes(target: Target) -> dict[str, str]:
    if target.kind == TargetKind.SITE:
        return {"region": target.region, "level": target.detail}
    return {"region": target.region, "area": target.area}


def _title(kind: TargetKind, group: str) -> str:
    return f"{TARGET_LABELS[kind]} · {group}" if group else TARGET_LABELS[kind]


def write_results_page(
    store: Store, paths: tuple[Path, Path], *, manifest_sha256: str, coordinator_key: str, bundle_name: str,
    published_at: str, complete: bool,
) -> tuple[Path, ...]:
    """Write the page as xlsx and html (each under a temporary name, renamed when complete)."""
    groups = ranked_groups(store)
    folder = bundle_name[:-4] if bundle_name.lower().endswith(".zip") else bundle_name
    unpack = f"unzip {bundle_name} -d {folder} && " if folder != bundle_name else ""
    how = [
        f"清单 manifest.json 的 SHA-256 / the manifest's SHA-256: {manifest_sha256}",
        f"协调人公钥 / coordinator's public key: {coordinator_key}",
        f"核验签名 / check the signature:  {unpack}minisign -Vm {folder}/manifest.json -P {coordinator_key}",
        f"复核全部结果 / re-derive every number:  workbench audit {bundle_name} --coordinator-key {coordinator_key}",
    ]
    named = f"{store.round_name}（{store.round_id}）" if store.round_name else f"轮次 {store.round_id} "
    heading = f"{named}评估结果 / results"
    status = "" if complete else "未完成 / INCOMPLETE：发布时尚有缺少的评分或未结争议，见 manifest.json"
    xlsx, page = paths
    _write_xlsx(xlsx, heading, status, published_at, how, groups)
    _atomic_text(page, _html(heading, status, published_at, how, groups))
    return xlsx, page


def _write_xlsx(path: Path, heading: str, status: str, published_at: str, how: list[str],
                groups: dict[tuple[TargetKind, str], list[RankedRow]]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from workbench.signed.export import guarded_cell
    from workbench.signed.worksheet import clean_text, needs_text_guard

    book = Workbook(write_only=True)
    sheet = book.create_sheet("评估结果")
    for column, width in zip("ABCDEF", (6, 12, 36, 12, 8, 10), strict=True):
        sheet.column_dimensions[column].width = width
    bold = Font(bold=True)

    def text(value: str, font: Any = None) -> Any:
        value = clean_text(value) or ""
        cell = guarded_cell(sheet, value) if needs_text_guard(value) else WriteOnlyCell(sheet, value=value)
        if font is not None:
            cell.font = font
        return cell

    sheet.append([text(heading, Font(bold=True, size=14))])
    if status:
        sheet.append([text(status, Font(bold=True, color="C00000"))])
    sheet.append([text(f"发布时间（UTC）/ published at: {published_at}")])
    for line in how:
        sheet.append([text(line)])
    for (kind, group), rows in groups.items():
        sheet.append([])
        sheet.append([text(_title(kind, group), bold)])
        sheet.append([text(h, bold) for h in ("排名", "编号", "名称", "地区", "总分", "等级")])
        for row in rows:
            total = WriteOnlyCell(sheet, value=float(row.total) if row.total is not None else "—")
            total.number_format = "0.0"
            sheet.append([row.rank if row.rank is not None else "—", text(row.target_id), text(row.name),
                          text(row.region), total, text(row.grade)])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        book.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_STYLE = """body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;max-width:60em;
padding:0 1em;color:#222}h1{font-size:1.5em}table{border-collapse:collapse;margin:0 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}td.n{text-align:right}th{background:#f2f2f2}
.warn{color:#c00000;font-weight:bold}code{word-break:break-all;background:#f6f6f6;padding:0 .2em}"""


def _html(heading: str, status: str, published_at: str, how: list[str],
          groups: dict[tuple[TargetKind, str], list[RankedRow]]) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
             f"<title>{e(heading)}</title><style>{_STYLE}</style></head><body>", f"<h1>{e(heading)}</h1>"]
    if status:
        parts.append(f'<p class="warn">{e(status)}</p>')
    parts.append(f"<p>发布时间（UTC）/ published at: {e(published_at)}</p>")
    for (kind, group), rows in groups.items():
        parts.append(f"<h2>{e(_title(kind, group))}</h2><table><thead><tr><th>排名</th><th>编号</th><th>名称</th>"
                     "<th>地区</th><th>总分</th><th>等级</th></tr></thead><tbody>")
        for row in rows:
            total = "—" if row.total is None else f"{row.total:.1f}"
            rank = "—" if row.rank is None else str(row.rank)
            parts.append(f'<tr><td class="n">{rank}</td><td>{e(row.target_id)}</td><td>{e(row.name)}</td>'
                         f'<td>{e(row.region)}</td><td class="n">{e(total)}</td><td>{e(row.grade)}</td></tr>')
        parts.append("</tbody></table>")
    parts.append("<h2>如何核验 / how to check these results</h2><ul>")
    parts += [f"<li><code>{e(line)}</code></li>" for line in how]
    parts.append("</ul></body></html>\n")
    return "\n".join(parts)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
