"""Keys and signatures nobody can forge: small-order, all-zero and non-canonical Ed25519 keys are refused, and so are
the signatures libsodium refuses (S ≥ L, small-order R). verify and the real `minisign` agree on every case."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest_signing import *  # noqa: F403  (fixtures)
from conftest_signing import World
from conftest_tools import require_tool

from workbench.cli.main import cli
from workbench.errors import FailureCode, InvalidPublicKey, SignatureError
from workbench.signed.keys import (
    ED25519_L,
    ED25519_P,
    PublicKey,
    SecretKey,
    generate_secret_key,
    has_small_order,
    parse_public_key,
    public_key_line,
)
from workbench.signed.signing import sign, verify

KEY_ID = bytes.fromhex("0102030405060708")

# --- a little Edwards arithmetic, only to prove the small-order list is the right one -------------------------
_D = -121665 * pow(121666, ED25519_P - 2, ED25519_P) % ED25519_P
_SQRT_M1 = pow(2, (ED25519_P - 1) // 4, ED25519_P)
Point = tuple[int, int]


def _add(a: Point, b: Point) -> Point:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % ED25519_P
    x = (x1 * y2 + x2 * y1) * pow(1 + t, ED25519_P - 2, ED25519_P) % ED25519_P
    y = (y1 * y2 + x1 * x2) * pow(1 - t, ED25519_P - 2, ED25519_P) % ED25519_P
    return x, y


def _x_for(y: int) -> int | None:
    """An x with (x, y) on the curve, or None: x² = (y² − 1) / (d·y² + 1)."""
    w = (y * y - 1) * pow(_D * y * y + 1, ED25519_P - 2, ED25519_P) % ED25519_P
    x = pow(w, (ED25519_P + 3) // 8, ED25519_P)
    if (x * x - w) % ED25519_P:
        x = x * _SQRT_M1 % ED25519_P
    return x if (x * x - w) % ED25519_P == 0 else None


def _encode(y: int) -> bytes:
    return y.to_bytes(32, "little")


def test_the_small_order_list_is_every_point_of_order_dividing_8() -> None:
    y8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022  # as keys.py lists it
    x = _x_for(y8)
    assert x is not None
    generator: Point = (x, y8)
    multiples, point = [], generator
    for _ in range(8):
        multiples.append(point)
        point = _add(point, generator)
    assert point == generator and multiples[-1] == (0, 1)  # 8·P is the identity: P has order 8
    torsion = {y for _, y in multiples}
    assert torsion == {0, 1, ED25519_P - 1, y8, ED25519_P - y8}  # the y's of all eight small-order points
    assert all(has_small_order(_encode(y)) for y in torsion | {ED25519_P, ED25519_P + 1})
    assert not any(has_small_order(generate_secret_key().public.raw) for _ in range(20))


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (bytes(32), "all zero"),
        (_encode(1), "small-order"),  # the identity: (R = identity, S = 0) would verify for any message
        (_encode(ED25519_P - 1), "small-order"),
        (_encode(1)[:31] + b"\x80", "small-order"),  # the identity with the sign bit set
        (_encode(ED25519_P + 1), "small-order"),  # a non-canonical identity
        (_encode(ED25519_P + 3), "not canonically encoded"),
    ],
)
def test_keys_add_refuses_a_key_anyone_could_sign_with(raw: bytes, why: str) -> None:
    with pytest.raises(InvalidPublicKey, match=why):
        parse_public_key(public_key_line(raw, KEY_ID))


def test_the_cli_refuses_an_identity_key_and_the_keyring_is_unchanged(round_db: Path) -> None:
    import sqlite3

    before = sqlite3.connect(round_db).execute("SELECT count(*) FROM keys").fetchone()[0]
    result = CliRunner().invoke(cli, ["keys", "add", str(round_db), "R01", public_key_line(_encode(1), KEY_ID)])
    assert result.exit_code == 1
    assert "小阶点" in result.output and "small-order" in result.output
    assert sqlite3.connect(round_db).execute("SELECT count(*) FROM keys").fetchone()[0] == before


def _minisig(key_id: bytes, signature: bytes, comment: str, global_signature: bytes) -> str:
    b64 = base64.b64encode
    return (f"untrusted comment: forged\n{b64(b'ED' + key_id + signature).decode()}\n"
            f"trusted comment: {comment}\n{b64(global_signature).decode()}\n")


def _with_s_plus_l(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:], "little") + ED25519_L
    return signature[:32] + s.to_bytes(32, "little")


def _cases(secret: SecretKey, payload: bytes) -> dict[str, tuple[PublicKey, str]]:
    """name → (key, minisig text): one genuine signature and the forgeries libsodium refuses."""
    genuine = sign(payload, secret, trusted_comment="workbench test")
    lines = genuine.splitlines()
    signature = base64.b64decode(lines[1])[10:]
    global_signature = base64.b64decode(lines[3])
    identity = PublicKey(KEY_ID, _encode(1))
    zero_sig = _encode(1) + bytes(32)  # R = identity, S = 0
    small_r = _encode(ED25519_P - 1) + signature[32:]
    return {
        "genuine": (secret.public, genuine),
        "identity key, R = identity, S = 0": (identity, _minisig(KEY_ID, zero_sig, "forged", zero_sig)),
        "all-zero key": (PublicKey(KEY_ID, bytes(32)), _minisig(KEY_ID, zero_sig, "forged", zero_sig)),
        "S + L": (secret.public, _minisig(secret.key_id, _with_s_plus_l(signature), "workbench test",
                                          global_signature)),
        "small-order R": (secret.public, _minisig(secret.key_id, small_r, "workbench test", global_signature)),
        "global S + L": (secret.public, _minisig(secret.key_id, signature, "workbench test",
                                                 _with_s_plus_l(global_signature))),
    }


def test_verify_refuses_every_signature_libsodium_refuses() -> None:
    payload = b'{"format":"workbench-export/1"}'
    for name, (key, minisig) in _cases(generate_secret_key(), payload).items():
        if name == "genuine":
            assert verify(payload, minisig, key) == "workbench test"
            continue
        with pytest.raises(SignatureError) as refused:
            verify(payload, minisig, key)
        assert refused.value.code == FailureCode.BAD_SIGNATURE, name


def test_verify_and_minisign_agree_on_every_case(tmp_path: Path) -> None:
    minisign = require_tool("minisign")
    payload = b'{"format":"workbench-export/1","rows":[]}'
    (tmp_path / "payload.json").write_bytes(payload)
    for name, (key, minisig) in _cases(generate_secret_key(), payload).items():
        (tmp_path / "payload.json.minisig").write_text(minisig)
        line = base64.b64encode(b"Ed" + key.key_id + key.raw).decode()
        theirs = subprocess.run([minisign, "-Vm", "payload.json", "-P", line], cwd=tmp_path,
                                capture_output=True, text=True, timeout=30).returncode == 0
        try:
            verify(payload, minisig, key)
            ours = True
        except SignatureError:
            ours = False
        assert (name, ours) == (name, theirs), hashlib.sha256(minisig.encode()).hexdigest()
        assert ours == (name == "genuine")


def test_a_weak_key_already_in_an_older_keyring_refuses_what_it_signed(signed: Path, world: World) -> None:
    import sqlite3

    from workbench.signed.verify import verify_export

    with sqlite3.connect(world.round_db) as conn:  # as a keyring made before keys add refused weak keys
        conn.execute("UPDATE keys SET public_key = ? WHERE reviewer_id = 'R01'",
                     (public_key_line(_encode(1), world.secret.key_id),))
    with pytest.raises(SignatureError) as refused:
        verify_export(signed, world.round_db)
    assert refused.value.code == FailureCode.BAD_SIGNATURE
    assert "workbench keys revoke" in refused.value.message
