"""The hostile corpus (tests/hostile_corpus.py) against verify_export, and against three real readers.

Every variant keeps the signature as signed, so verification reaches its last step, the visible cells. A refused
variant must be refused with its FailureCode. An accepted one must be shown identically by openpyxl,
python-calamine and LibreOffice — as the signed rows say, header included. A display trick must really fool
LibreOffice: it opens the file and shows 评分表 other than the signed rows.

LibreOffice starts in seconds, so it runs once for the whole module: one soffice call turns every file the
three-reader tests need into CSV, cells as shown.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import World, signed_parts
from conftest_tools import require_tool
from hostile_corpus import SCORES_PART, SCORES_SHEET, VARIANTS, Parts, Variant, libreoffice_resaved, named

from workbench.errors import SignatureError
from workbench.signed.verify import verify_export
from workbench.signed.worksheet import COLUMNS, NUMERIC_COLUMNS, SIGNATURE_SHEET, key_values, read_sheets

ACCEPTED = [v for v in VARIANTS if v.expected == "accept"]
SHOWN_DIFFERENTLY = [v for v in VARIANTS if v.shown_differently]
AS_EXPORTED = "as exported"  # the signed export itself, the three readers' control case

# Text CSV, UTF-8 (76), from line 1; token 9 true: cells as shown (formatted); token 12 -1: every sheet, each to
# <stem>-<sheet>.csv (LibreOffice 7.2 and later).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"
SOFFICE_LOCK = Path("/tmp/workbench-soffice.lock")

Grid = list[list[str]]


# ------------------------------------------------------------------------------------ each reader, as text


def shown_text(value: object) -> str:
    """A cell value as the sheet shows it in General format: 2.0 and 2 are "2", 0.5 is "0.5", empty is ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def grid(rows: list[list[Any]] | list[tuple[Any, ...]]) -> Grid:
    """Rows as text, each padded or cut to the 13 columns (what lies beyond must be empty), trailing empty
    rows dropped."""
    out: Grid = []
    for row in rows:
        cells = [shown_text(v) for v in row]
        assert not any(cells[len(COLUMNS):]), f"a cell beyond column {len(COLUMNS)}: {cells}"
        out.append((cells + [""] * len(COLUMNS))[:len(COLUMNS)])
    while out and not any(out[-1]):
        out.pop()
    return out


def signed_grid(path: Path) -> Grid:
    """The signed rows as 评分表 must show them, under the header: a numeric column's number in General
    format ("2.0" is shown 2), every other text as it is."""

    def shown_signed(column: int, value: object) -> str:
        if column in NUMERIC_COLUMNS and isinstance(value, str):
            try:
                number = Decimal(value)
            except InvalidOperation:
                return value
            return format(number.normalize(), "f") if number.is_finite() else value
        return shown_text(value)

    rows = signed_parts(path)[0]["rows"]
    return [list(COLUMNS), *([shown_signed(c, v) for c, v in enumerate(row)] for row in rows)]


def openpyxl_grid(path: Path) -> Grid:
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    try:
        return grid(list(workbook[SCORES_SHEET].iter_rows(values_only=True)))
    finally:
        workbook.close()


def calamine_grid(path: Path) -> Grid:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    try:
        return grid(workbook.get_sheet_by_name(SCORES_SHEET).to_python())
    finally:
        workbook.close()


def libreoffice_csv(sources: list[Path], outdir: Path) -> dict[Path, Grid]:
    """评分表 of every source as LibreOffice shows it, from one soffice run (a fresh profile, one at a time)."""
    soffice = require_tool("soffice", "libreoffice-calc-nogui")
    outdir.mkdir(parents=True, exist_ok=True)
    with open(SOFFICE_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        profile = tempfile.mkdtemp(prefix="lo-profile-", dir="/tmp")
        try:
            done = subprocess.run(
                [soffice, "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", CSV_FILTER,
                 "--outdir", str(outdir), *map(str, sources)],
                capture_output=True, text=True, timeout=300,
            )
        finally:
            shutil.rmtree(profile, ignore_errors=True)
    shown: dict[Path, Grid] = {}
    for source in sources:
        result = outdir / f"{source.stem}-{SCORES_SHEET}.csv"
        if done.returncode != 0 or not result.is_file():
            pytest.fail(f"LibreOffice wrote no {result.name}: {done.stdout}{done.stderr}", pytrace=False)
        with open(result, encoding="utf-8", newline="") as handle:
            shown[source] = grid(list(csv.reader(handle)))
    return shown


def first_difference(want: Grid, got: Grid) -> str | None:
    """Where two grids first differ, as sheet!cell with both texts; None when they are equal."""
    for r in range(max(len(want), len(got))):
        w = want[r] if r < len(want) else None
        g = got[r] if r < len(got) else None
        if w is None or g is None:
            return f"row {r + 1}: {'missing' if g is None else 'extra'} ({w or g})"
        for c, (wc, gc) in enumerate(zip(w, g, strict=True)):
            if wc != gc:
                return f"{SCORES_SHEET}!{chr(65 + c)}{r + 1}: shows {gc!r}, signed {wc!r}"
    return None


# ------------------------------------------------------------------------------------ the corpus, built once

_BUILT: dict[tuple[str, str], bytes] = {}


def build(variant: Variant, source: Path, dest: Path) -> Path:
    """The variant of `source` written to `dest`; built once per variant and source content in the session
    (the refusal tests and the three-reader tests build the same files)."""
    key = (variant.name, hashlib.sha256(source.read_bytes()).hexdigest())
    if key not in _BUILT:
        variant.build(source, dest)
        _BUILT[key] = dest.read_bytes()
    else:
        dest.write_bytes(_BUILT[key])
    return dest


@dataclass(frozen=True)
class Shown:
    """The signed rows, and 评分表 as each reader shows it, for every file of the three-reader tests."""

    signed: Grid
    files: dict[str, Path]
    libreoffice: dict[str, Grid]


@pytest.fixture(scope="session")
def shown(signed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Shown:
    base = tmp_path_factory.mktemp("corpus")
    export = base / "export.xlsx"
    shutil.copyfile(signed_template, export)
    files = {AS_EXPORTED: export}
    for index, variant in enumerate([*ACCEPTED, *SHOWN_DIFFERENTLY]):
        files[variant.name] = build(variant, export, base / f"variant-{index:02d}.xlsx")
    by_path = libreoffice_csv(list(files.values()), base / "csv")
    return Shown(signed_grid(export), files, {name: by_path[path] for name, path in files.items()})


# ------------------------------------------------------------------------------------ the tests


def variant_ids(variants: list[Variant]) -> list[str]:
    return [v.name for v in variants]


def signature_entries(path: Path) -> dict[str, list[str]]:
    sheet = next(s for s in read_sheets(path) if s.name == SIGNATURE_SHEET)
    return key_values(sheet)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_ids(VARIANTS))
def test_verify_refuses_or_accepts_each_variant_as_the_corpus_says(
    variant: Variant, signed: Path, world: World, tmp_path: Path
) -> None:
    path = build(variant, signed, tmp_path / "variant.xlsx")
    # The signature is as signed: verification reaches the visible cells, and only they can refuse the file.
    assert signature_entries(path) == signature_entries(signed)
    if variant.expected == "accept":
        verified = verify_export(path, world.round_db)
        assert len(verified.rows) == len(signed_parts(signed)[0]["rows"])
    else:
        with pytest.raises(SignatureError) as caught:
            verify_export(path, world.round_db)
        assert caught.value.code == variant.expected, caught.value.message


@pytest.mark.parametrize("name", [AS_EXPORTED, *variant_ids(ACCEPTED)])
def test_three_readers_show_an_accepted_file_as_signed(name: str, shown: Shown) -> None:
    path = shown.files[name]
    for reader, got in (("openpyxl", openpyxl_grid(path)), ("python-calamine", calamine_grid(path)),
                        ("LibreOffice", shown.libreoffice[name])):
        difference = first_difference(shown.signed, got)
        assert difference is None, f"{reader}: {difference}"


@pytest.mark.parametrize("variant", SHOWN_DIFFERENTLY, ids=variant_ids(SHOWN_DIFFERENTLY))
def test_libreoffice_falls_for_a_display_trick(variant: Variant, shown: Shown) -> None:
    got = shown.libreoffice[variant.name]
    # It opens as a worksheet of this export — header and every row there — and yet shows another content.
    assert got[0] == shown.signed[0] and len(got) == len(shown.signed), "LibreOffice did not read 评分表 whole"
    assert first_difference(shown.signed, got) is not None, "LibreOffice shows exactly the signed rows"


def test_libreoffice_hides_zeros_as_the_sheet_view_says(signed_template: Path, tmp_path: Path) -> None:
    """showZeros is a view option, which LibreOffice's CSV export does not apply: the proof that LibreOffice
    falls for it is that it takes it into 评分表's view (and keeps it when re-saving), where every 0 signed
    shows blank — as not scored."""
    zeros = [row for row in signed_grid(signed_template)[1:] if row[8] == "0"]
    assert zeros, "the export holds no 得分 of 0 for the trick to hide"
    hiding = build(named('showZeros="0"'), signed_template, tmp_path / "hiding.xlsx")
    views = {
        name: re.findall(r"<sheetView [^>]*>", Parts(libreoffice_resaved(path)).text(SCORES_PART))
        for name, path in (("export", signed_template), ("variant", hiding))
    }
    assert views["export"] and all('showZeros="true"' in v for v in views["export"]), views["export"]
    assert views["variant"] and all('showZeros="false"' in v for v in views["variant"]), views["variant"]
