"""Canonical payloads and minisign-format signatures, checked against the real minisign tool too."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from conftest_tools import require_tool

from workbench.errors import FailureCode, SignatureError
from workbench.signed.keys import (
    SecretKey,
    generate_secret_key,
    parse_public_key,
    write_secret_key,
)
from workbench.signed.signing import (
    canonical_json,
    parse_canonical,
    parse_trusted_comment,
    sign,
    signature_key_id,
    trusted_comment_for,
    verify,
)

PAYLOAD_OBJECT: dict[str, object] = {
    "format": "workbench-export/1",
    "reviewer_id": "R07",
    "rows": [["网站", "S001", "广东省深圳市", "1.1", "3.5", None, "首页\n栏目"]],
    "seq": 3,
}


@pytest.fixture(scope="module")
def secret() -> SecretKey:
    return generate_secret_key()


@pytest.fixture
def payload() -> bytes:
    return canonical_json(PAYLOAD_OBJECT)


@pytest.fixture
def comment(payload: bytes) -> str:
    return trusted_comment_for(
        export_id="6f1c2a9e-4b7d-4c55-9a43-0d2f0e9b8c11",
        reviewer_id="R07",
        round_id="2022",
        seq=3,
        rows=1,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
    )


def _flip_base64_byte(line: str, index: int) -> str:
    raw = bytearray(base64.b64decode(line))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _replace_line(minisig: str, number: int, new: str) -> str:
    lines = minisig.split("\n")
    lines[number] = new
    return "\n".join(lines)


class TestCanonicalJson:
    def test_key_order_does_not_matter_and_nothing_is_padded(self) -> None:
        assert canonical_json({"b": 1, "a": {"d": None, "c": True}}) == b'{"a":{"c":true,"d":null},"b":1}'
        assert canonical_json({"a": {"c": True, "d": None}, "b": 1}) == canonical_json(
            {"b": 1, "a": {"d": None, "c": True}}
        )

    def test_non_ascii_text_is_kept_as_utf8(self) -> None:
        assert canonical_json({"名称": "深圳"}) == '{"名称":"深圳"}'.encode()

    def test_text_is_nfc_with_unix_line_ends(self) -> None:
        decomposed = "Cafe\u0301"
        assert canonical_json([decomposed]) == canonical_json(["Caf\u00e9"]) == '["Café"]'.encode()
        assert canonical_json(["a\r\nb\rc\nd"]) == b'["a\\nb\\nc\\nd"]'
        assert canonical_json({"Cafe\u0301": 1}) == '{"Café":1}'.encode()

    def test_tuples_are_lists(self) -> None:
        assert canonical_json({"pair": ("S001", "1.1")}) == b'{"pair":["S001","1.1"]}'

    @pytest.mark.parametrize("value", [1.5, 0.0, float("nan"), Decimal("1.5"), {"deep": [1, 2.0]}])
    def test_floats_and_decimals_are_refused(self, value: object) -> None:
        with pytest.raises(TypeError):
            canonical_json({"v": value})

    def test_non_text_keys_are_refused(self) -> None:
        with pytest.raises(TypeError):
            canonical_json({1: "a"})

    def test_keys_that_collide_once_normalised_are_refused(self) -> None:
        with pytest.raises(ValueError):
            canonical_json({"Cafe\u0301": 1, "Caf\u00e9": 2})


class TestParseCanonical:
    def test_gives_back_what_was_serialised(self, payload: bytes) -> None:
        assert parse_canonical(payload) == PAYLOAD_OBJECT
        assert canonical_json(parse_canonical(payload)) == payload

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(json.dumps(PAYLOAD_OBJECT, ensure_ascii=False, indent=1).encode(), id="whitespace"),
            pytest.param(b'{"a":1} ', id="trailing-space"),
            pytest.param(b'{"b":1,"a":2}', id="reordered-keys"),
            pytest.param(b'{"a":1,"a":1}', id="duplicate-key"),
            pytest.param(b'{"a":1.5}', id="float"),
            pytest.param(b'{"a":1e3}', id="exponent"),
            pytest.param(b'{"a":NaN}', id="nan"),
            pytest.param(b'{"a":-0}', id="negative-zero"),
            pytest.param(b'{"a":"\\u6df1"}', id="escaped-non-ascii"),
            pytest.param('{"a":"Cafe\u0301"}'.encode(), id="not-nfc"),
            pytest.param(b'{"a":"x\\r\\ny"}', id="crlf-in-text"),
            pytest.param(b"\xef\xbb\xbf{}", id="bom"),
            pytest.param(b'{"a":"\xff"}', id="not-utf8"),
            pytest.param(b"[1,2]", id="not-an-object"),
            pytest.param(b"", id="empty"),
        ],
    )
    def test_anything_not_byte_for_byte_canonical_is_refused(self, data: bytes) -> None:
        with pytest.raises(SignatureError) as caught:
            parse_canonical(data)
        assert caught.value.code == "NON_CANONICAL_PAYLOAD"
        assert "not canonical" in caught.value.message


class TestSignAndVerify:
    def test_a_signature_verifies_and_returns_its_trusted_comment(
        self, payload: bytes, secret: SecretKey, comment: str
    ) -> None:
        minisig = sign(payload, secret, comment)
        assert verify(payload, minisig, secret.public) == comment

    def test_the_signature_has_minisigns_four_lines(self, payload: bytes, secret: SecretKey, comment: str) -> None:
        minisig = sign(payload, secret, comment, untrusted_comment="R07 2022")
        lines = minisig.split("\n")
        assert lines[0] == "untrusted comment: R07 2022"
        assert lines[2] == f"trusted comment: {comment}"
        assert lines[4:] == [""]
        blob = base64.b64decode(lines[1])
        assert blob[:2] == b"ED" and blob[2:10] == secret.key_id and len(blob) == 74
        assert len(base64.b64decode(lines[3])) == 64
        assert signature_key_id(minisig) == secret.key_id

    def test_a_signature_stored_with_crlf_line_ends_still_verifies(
        self, payload: bytes, secret: SecretKey, comment: str
    ) -> None:
        minisig = sign(payload, secret, comment).replace("\n", "\r\n")
        assert verify(payload, minisig, secret.public) == comment

    def test_a_changed_payload_is_refused(self, payload: bytes, secret: SecretKey, comment: str) -> None:
        minisig = sign(payload, secret, comment)
        altered = payload.replace(b"3.5", b"4.5")
        with pytest.raises(SignatureError) as caught:
            verify(altered, minisig, secret.public)
        assert caught.value.code == "BAD_SIGNATURE"
        assert "does not match" in caught.value.message

    def test_a_changed_trusted_comment_is_refused(self, payload: bytes, secret: SecretKey, comment: str) -> None:
        minisig = sign(payload, secret, comment)
        altered = minisig.replace("seq=3", "seq=9")
        assert altered != minisig
        with pytest.raises(SignatureError) as caught:
            verify(payload, altered, secret.public)
        assert caught.value.code == "BAD_SIGNATURE"
        assert "trusted comment" in caught.value.message

    @pytest.mark.parametrize(("line", "index"), [(1, 10), (1, 73), (3, 0)])
    def test_a_changed_signature_is_refused(
        self, payload: bytes, secret: SecretKey, comment: str, line: int, index: int
    ) -> None:
        minisig = sign(payload, secret, comment)
        altered = _replace_line(minisig, line, _flip_base64_byte(minisig.split("\n")[line], index))
        with pytest.raises(SignatureError) as caught:
            verify(payload, altered, secret.public)
        assert caught.value.code == "BAD_SIGNATURE"

    def test_the_untrusted_comment_is_not_covered(self, payload: bytes, secret: SecretKey, comment: str) -> None:
        minisig = sign(payload, secret, comment)
        relabelled = _replace_line(minisig, 0, "untrusted comment: anything")
        assert verify(payload, relabelled, secret.public) == comment

    def test_a_signature_by_another_key_names_that_key(self, payload: bytes, comment: str) -> None:
        signer, registered = generate_secret_key(), generate_secret_key()
        minisig = sign(payload, signer, comment)
        with pytest.raises(SignatureError) as caught:
            verify(payload, minisig, registered.public)
        assert caught.value.code == "UNKNOWN_KEY"
        assert signer.key_id_text in caught.value.message
        assert registered.key_id_text in caught.value.message

    def test_another_key_under_the_same_key_number_is_a_bad_signature(
        self, payload: bytes, secret: SecretKey, comment: str
    ) -> None:
        impostor = SecretKey(public=secret.public, _seed=bytes(32))
        with pytest.raises(SignatureError) as caught:
            verify(payload, sign(payload, impostor, comment), secret.public)
        assert caught.value.code == "BAD_SIGNATURE"

    @pytest.mark.parametrize(
        "minisig",
        [
            "",
            "untrusted comment: x\nAAAA\ntrusted comment: y\n",
            "untrusted comment: x\n!!!!\ntrusted comment: y\nAAAA\n",
            "comment: x\n{sig}\ntrusted comment: y\n{glob}\n",
            "untrusted comment: x\n{sig}\ncomment: y\n{glob}\n",
            "untrusted comment: x\n{legacy}\ntrusted comment: y\n{glob}\n",
            "untrusted comment: x\n{sig}\ntrusted comment: y\n{glob}\nextra\n",
        ],
    )
    def test_malformed_signatures_are_refused(self, payload: bytes, secret: SecretKey, minisig: str) -> None:
        text = minisig.format(
            sig=base64.b64encode(b"ED" + secret.key_id + bytes(64)).decode(),
            legacy=base64.b64encode(b"Ed" + secret.key_id + bytes(64)).decode(),
            glob=base64.b64encode(bytes(64)).decode(),
        )
        with pytest.raises(SignatureError) as caught:
            verify(payload, text, secret.public)
        assert caught.value.code == "BAD_SIGNATURE"

    def test_comments_must_be_one_short_line(self, payload: bytes, secret: SecretKey) -> None:
        with pytest.raises(ValueError):
            sign(payload, secret, "two\nlines")
        with pytest.raises(ValueError):
            sign(payload, secret, "ok", untrusted_comment="two\rlines")
        with pytest.raises(ValueError):
            sign(payload, secret, "x" * 1024)

    def test_signature_errors_only_carry_known_codes(self) -> None:
        assert SignatureError(FailureCode.REVOKED_KEY, "…").code == "REVOKED_KEY"
        with pytest.raises(ValueError):
            SignatureError("SOMETHING_ELSE", "…")  # type: ignore[arg-type]


class TestTrustedComment:
    def test_layout_is_one_stable_line(self) -> None:
        text = trusted_comment_for("e1", "R07", "2022", 3, 18000, "ab" * 32)
        assert text == f"workbench export_id=e1 reviewer=R07 round=2022 seq=3 rows=18000 sha256={'ab' * 32}"

    @pytest.mark.parametrize("awkward", ["评审 专家", "a=b", "100%", "tab\there", "深圳"])
    def test_any_id_survives_the_roundtrip(self, awkward: str) -> None:
        fields: dict[str, object] = {
            "export_id": "e1",
            "reviewer_id": awkward,
            "round_id": awkward,
            "seq": 0,
            "rows": 7,
            "payload_sha256": "0" * 64,
        }
        text = trusted_comment_for(**fields)  # type: ignore[arg-type]
        assert "\t" not in text and len(text.split(" ")) == 7
        assert parse_trusted_comment(text) == fields

    def test_chinese_ids_stay_readable(self) -> None:
        assert "round=2022年网站" in trusted_comment_for("e1", "R07", "2022年网站", 1, 1, "0" * 64)

    @pytest.mark.parametrize(
        "text",
        [
            "timestamp:1700000000\tfile:payload.json",
            "workbench export_id=e1 reviewer=R07 round=2022 seq=3 rows=1",
            "workbench export_id=e1 round=2022 reviewer=R07 seq=3 rows=1 sha256=" + "0" * 64,
            "workbench export_id=e1 reviewer=R07 round=2022 seq=03 rows=1 sha256=" + "0" * 64,
            "workbench export_id=e1 reviewer=R%2f07 round=2022 seq=3 rows=1 sha256=" + "0" * 64,
            "workbench export_id=e1 reviewer= round=2022 seq=3 rows=1 sha256=" + "0" * 64,
        ],
    )
    def test_other_comments_are_refused(self, text: str) -> None:
        with pytest.raises(SignatureError) as caught:
            parse_trusted_comment(text)
        assert caught.value.code == "BAD_SIGNATURE"

    def test_bad_values_are_refused_when_writing(self) -> None:
        with pytest.raises(ValueError):
            trusted_comment_for("e1", "R07", "2022", -1, 1, "0" * 64)
        with pytest.raises(ValueError):
            trusted_comment_for("e1", "R07", "2022", 1, 1, "ABC")
        with pytest.raises(ValueError):
            trusted_comment_for("e1", "R07" * 400, "2022", 1, 1, "0" * 64)


class TestMinisignInterop:
    """The real `minisign` (Debian package) checks what we sign, and we check what it signs."""

    def _run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [require_tool("minisign"), *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_minisign_verifies_our_signature_and_shows_the_trusted_comment(
        self, tmp_path: Path, payload: bytes, secret: SecretKey, comment: str
    ) -> None:
        (tmp_path / "payload.json").write_bytes(payload)
        (tmp_path / "payload.json.minisig").write_text(sign(payload, secret, comment))
        done = self._run("-Vm", "payload.json", "-P", secret.public.line, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"Trusted comment: {comment}" in done.stdout
        quiet = self._run("-Q", "-Vm", "payload.json", "-P", secret.public.line, cwd=tmp_path)
        assert quiet.stdout.strip() == comment

    def test_minisign_refuses_our_signature_over_a_changed_payload(
        self, tmp_path: Path, payload: bytes, secret: SecretKey, comment: str
    ) -> None:
        (tmp_path / "payload.json").write_bytes(payload.replace(b"3.5", b"4.5"))
        (tmp_path / "payload.json.minisig").write_text(sign(payload, secret, comment))
        done = self._run("-Vm", "payload.json", "-P", secret.public.line, cwd=tmp_path)
        assert done.returncode != 0
        assert "Trusted comment" not in done.stdout

    def test_minisign_reads_the_pub_file_we_write_and_a_chinese_trusted_comment(
        self, tmp_path: Path, payload: bytes
    ) -> None:
        secret = generate_secret_key()
        write_secret_key(tmp_path / "reviewer.key", secret, "pass", scrypt_n=2**10)
        chinese = trusted_comment_for("e1", "R07", "2022年网站", 1, 1, hashlib.sha256(payload).hexdigest())
        (tmp_path / "payload.json").write_bytes(payload)
        (tmp_path / "sig").write_text(sign(payload, secret, chinese))
        done = self._run("-V", "-m", "payload.json", "-x", "sig", "-p", "reviewer.key.pub", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"Trusted comment: {chinese}" in done.stdout

    def test_we_verify_what_minisign_signs_and_read_its_key_ids_alike(
        self, tmp_path: Path, payload: bytes
    ) -> None:
        generated = self._run("-G", "-W", "-p", "m.pub", "-s", "m.key", cwd=tmp_path)
        assert generated.returncode == 0, generated.stderr
        (tmp_path / "payload.json").write_bytes(payload)
        signed = self._run(
            "-S", "-s", "m.key", "-m", "payload.json", "-t", "signed by minisign 中文", cwd=tmp_path
        )
        assert signed.returncode == 0, signed.stderr

        pub_text = (tmp_path / "m.pub").read_text()
        public = parse_public_key(pub_text)
        # Debian's minisign 0.11 prints the key number without leading zeros; newer ones pad to 16.
        printed = pub_text.splitlines()[0].removeprefix("untrusted comment: minisign public key ")
        assert printed.zfill(16) == public.key_id_text
        minisig = (tmp_path / "payload.json.minisig").read_text()
        assert signature_key_id(minisig) == public.key_id
        assert verify(payload, minisig, public) == "signed by minisign 中文"
        with pytest.raises(SignatureError):
            verify(payload + b" ", minisig, public)
