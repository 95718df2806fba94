"""The coordinator's keyring: keys bound to reviewers, rotation, revocation, and what packages record."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workbench.errors import InvalidPublicKey, KeyringRefused, NotFound
from workbench.setup.package import make_package
from workbench.signed.keyring import (
    add_key,
    list_keys,
    read_public_key_argument,
    revoke_key,
)
from workbench.signed.keys import generate_secret_key, public_key_line
from workbench.store.db import Store


def test_added_key_is_listed_as_current_and_recorded_by_new_packages(round_db: Path, tmp_path: Path) -> None:
    secret = generate_secret_key()
    change = add_key(round_db, "R07", secret.public.line)
    assert change.changed and change.replaced is None
    [record] = list_keys(round_db)
    assert (record.key_id, record.reviewer_id, record.public_key) == (secret.key_id_text, "R07", secret.public.line)
    assert record.current and not record.revoked
    info = make_package(round_db, "R07", tmp_path / "R07.wbk")
    assert info.key_id == secret.key_id_text
    package = Store.open(info.path, expect="package")
    assert package.meta["key_id"] == secret.key_id_text
    package.close()


def test_second_key_rotates_and_the_old_one_stays_valid(round_db: Path, tmp_path: Path) -> None:
    old, new = generate_secret_key(), generate_secret_key()
    add_key(round_db, "R07", old.public.line)
    before = make_package(round_db, "R07", tmp_path / "before.wbk")
    change = add_key(round_db, "R07", new.public.line)
    assert change.replaced == old.key_id_text
    after = make_package(round_db, "R07", tmp_path / "after.wbk")
    assert (before.key_id, after.key_id) == (old.key_id_text, new.key_id_text)
    records = {r.key_id: r for r in list_keys(round_db, "R07")}
    assert not records[old.key_id_text].revoked and not records[old.key_id_text].current
    assert records[new.key_id_text].current


def test_adding_the_same_key_again_changes_nothing(round_db: Path) -> None:
    secret = generate_secret_key()
    add_key(round_db, "R07", secret.public.line)
    again = add_key(round_db, "R07", secret.public.line)
    assert not again.changed
    assert len(list_keys(round_db)) == 1


def test_a_key_registered_to_another_reviewer_is_refused(round_db: Path) -> None:
    secret = generate_secret_key()
    add_key(round_db, "R01", secret.public.line)
    with pytest.raises(KeyringRefused, match="R01"):
        add_key(round_db, "R02", secret.public.line)
    assert [r.reviewer_id for r in list_keys(round_db)] == ["R01"]


def test_a_key_whose_id_is_not_derived_from_it_is_refused(round_db: Path) -> None:
    # What `minisign -G` makes: a random key number, so the id read out on the phone proves nothing.
    raw = generate_secret_key().public.raw
    line = public_key_line(raw, os.urandom(8))
    with pytest.raises(KeyringRefused, match="keygen"):
        add_key(round_db, "R01", line)
    assert list_keys(round_db) == []


def test_unknown_reviewer_and_malformed_key_are_refused(round_db: Path) -> None:
    with pytest.raises(NotFound, match="R99"):
        add_key(round_db, "R99", generate_secret_key().public.line)
    with pytest.raises(InvalidPublicKey):
        add_key(round_db, "R01", "RWnot-a-key")
    assert list_keys(round_db) == []


def test_revoked_key_is_marked_and_cannot_come_back(round_db: Path) -> None:
    secret = generate_secret_key()
    add_key(round_db, "R03", secret.public.line)
    change = revoke_key(round_db, secret.key_id_text.lower())
    assert change.changed and change.record.revoked_at is not None
    assert not revoke_key(round_db, secret.key_id_text).changed
    with pytest.raises(KeyringRefused, match="revoked"):
        add_key(round_db, "R03", secret.public.line)
    [record] = list_keys(round_db)
    assert record.revoked and not record.current


def test_revoking_an_unknown_key_is_refused(round_db: Path) -> None:
    with pytest.raises(NotFound, match="0000000000000001"):
        revoke_key(round_db, "0000000000000001")


def test_public_key_argument_may_be_a_pub_file(tmp_path: Path) -> None:
    secret = generate_secret_key()
    pub = tmp_path / "zhang.key.pub"
    pub.write_text(secret.public.file_text)
    assert read_public_key_argument(str(pub)) == secret.public.file_text
    assert read_public_key_argument(secret.public.line) == secret.public.line


def test_the_keyring_refuses_a_package_file(package_path: Path) -> None:
    from workbench.errors import NotAPackage

    with pytest.raises(NotAPackage):
        add_key(package_path, "R01", generate_secret_key().public.line)
