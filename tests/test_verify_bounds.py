"""Attacks by a reviewer holding their own key: numbers no reader holds exactly, impossible times, control characters;
and a batch that goes on when one file meets an error nobody expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import World, resign

from workbench.cli.main import cli
from workbench.consolidation import merge
from workbench.consolidation.merge import merge_exports
from workbench.errors import FailureCode, SignatureError
from workbench.signed.verify import VerifiedExport, verify_export
from workbench.signed.worksheet import COL_NOTE, COL_REVISION, COL_UPDATED


def refusal(path: Path, world: World) -> str:
    with pytest.raises(SignatureError) as caught:
        verify_export(path, world.round_db)
    return caught.value.code


def first_row(column: int, value: object) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        doc["rows"][0][column] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda doc: doc.update(seq=2**63), FailureCode.NON_CANONICAL_PAYLOAD),
        (lambda doc: doc.update(seq=2**53), FailureCode.NON_CANONICAL_PAYLOAD),
        (lambda doc: doc.update(created_at="2022-13-45T99:99:99Z"), FailureCode.NON_CANONICAL_PAYLOAD),
        (first_row(COL_REVISION, 10**30), FailureCode.NON_CANONICAL_PAYLOAD),
        (first_row(COL_REVISION, 2**53), FailureCode.NON_CANONICAL_PAYLOAD),
        (first_row(COL_NOTE, "实际得分\x00为 2 分"), FailureCode.NON_CANONICAL_PAYLOAD),
        (first_row(COL_NOTE, "换页\x0c"), FailureCode.NON_CANONICAL_PAYLOAD),
        (first_row(COL_UPDATED, "2022-13-45T99:99:99Z"), FailureCode.INVALID_VALUE),
        (first_row(COL_UPDATED, "2022-02-30T10:00:00Z"), FailureCode.INVALID_VALUE),
    ],
    ids=["seq 2^63", "seq 2^53", "created_at month 13", "版本 10^30", "版本 2^53", "NUL in a note", "form feed",
         "更新时间 month 13", "更新时间 30 February"],
)
def test_an_owner_signed_export_out_of_bounds_is_refused(
    signed: Path, world: World, mutate: Any, code: FailureCode
) -> None:
    assert refusal(resign(signed, world.secret, mutate), world) == code


def test_the_largest_exact_numbers_pass_the_bounds_check(signed: Path, world: World) -> None:
    def mutate(doc: dict[str, Any]) -> None:
        doc["seq"] = 2**53 - 1
        doc["rows"][0][COL_REVISION] = 2**53 - 1

    path = resign(signed, world.secret, mutate)
    with pytest.raises(SignatureError) as caught:  # the visible 版本 cell still says what was exported
        verify_export(path, world.round_db)
    assert caught.value.code == FailureCode.EDITED_AFTER_SIGNING


def test_a_batch_with_an_out_of_bounds_export_merges_the_rest(signed: Path, world: World, tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    good.write_bytes(signed.read_bytes())
    huge = resign(signed, world.secret, lambda doc: doc.update(seq=2**63))
    result = CliRunner().invoke(cli, ["merge", str(world.round_db), str(huge), str(good)])
    assert result.exit_code == 1
    assert "NON_CANONICAL_PAYLOAD" in result.output and "Traceback" not in result.output
    assert "1 merged, 1 rejected" in result.output


def test_an_unexpected_error_in_one_file_is_reported_against_it_and_the_batch_goes_on(
    signed: Path, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(signed.read_bytes())
    real = verify_export

    def flaky(path: Path, round_db: Path, *, allow_stale: bool = False) -> VerifiedExport:
        if path.name == broken.name:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real(path, round_db, allow_stale=allow_stale)

    monkeypatch.setattr(merge, "verify_export", flaky)
    report = merge_exports(world.round_db, [broken, signed], workers=0)
    assert [(o.path.name, o.status, o.code) for o in report.outcomes] == [
        ("broken.xlsx", "rejected", FailureCode.UNEXPECTED_ERROR), (signed.name, "merged", ""),
    ]
    message = report.outcomes[0].message
    assert "OverflowError" in message and "nothing of this file was merged" in message
