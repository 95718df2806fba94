"""Canonical payload, sign and verify, in minisign's format so `minisign -V` checks our exports."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from workbench.errors import FailureCode, SignatureError
from workbench.signed.keys import (
    ED25519_L,
    KEY_ID_BYTES,
    PublicKey,
    SecretKey,
    format_key_id,
    has_small_order,
    weak_public_key,
)

SIGNATURE_ALG = b"ED"  # minisign's tag for Ed25519 over BLAKE2b-512(message)
UNTRUSTED_PREFIX = "untrusted comment: "
TRUSTED_PREFIX = "trusted comment: "
DEFAULT_UNTRUSTED_COMMENT = "signature from workbench"
# minisign reads the untrusted line with a 1024-byte buffer; a longer one would break its parser.
UNTRUSTED_COMMENT_MAX_BYTES = 1000
TRUSTED_COMMENT_MAX_BYTES = 1024
_MINISIG_MAX_CHARS = 16 * 1024
_ED25519_SIGNATURE_BYTES = 64

TRUSTED_COMMENT_TAG = "workbench"
_TRUSTED_FIELDS = ("export_id", "reviewer", "round", "seq", "rows", "sha256")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def canonical_json(obj: object) -> bytes:
    """The one byte string that represents obj: sorted keys, no spaces, UTF-8, NFC text with \\n line ends.

    Floats (and Decimals) are refused with TypeError: decimals must already be strings quantised to
    their step, so that every signer writes them the same way.
    """
    return json.dumps(
        _normalise(obj),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def _plainly_canonical(obj: object, text: str) -> bool:
    """The fast path: serialising without the per-string normalisation gives the same bytes, and the
    whole text is NFC with no escaped CR, so no string could have changed under _normalise. Anything
    else takes the full walk (which may still accept it). `text` is the payload decoded."""
    if "\\r" in text or not unicodedata.is_normalized("NFC", text):
        return False
    try:
        again = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return again == text  # the same text is the same bytes (it decoded without error)


def parse_canonical(data: bytes) -> dict[str, object]:
    """Parse a signed payload, refusing anything canonical_json would not have written byte for byte."""
    try:
        text = data.decode("utf-8")
        obj = json.loads(
            text,
            object_pairs_hook=_refuse_duplicate_keys,
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
        )
    except UnicodeDecodeError:
        raise _non_canonical("它不是 UTF-8 文本 / it is not UTF-8 text") from None
    except RecursionError:
        raise _non_canonical("嵌套过深 / it is nested too deeply") from None
    except ValueError as exc:
        raise _non_canonical(str(exc)) from None
    if not isinstance(obj, dict):
        raise _non_canonical("顶层不是对象 / its top level is not a JSON object")
    if _plainly_canonical(obj, text):
        return obj
    try:
        again = canonical_json(obj)
    except (TypeError, ValueError) as exc:
        raise _non_canonical(str(exc)) from None
    if again != data:
        # Not strict: when one is a prefix of the other, they differ where the shorter one ends.
        at = next((i for i, (a, b) in enumerate(zip(again, data, strict=False)) if a != b), min(len(again), len(data)))
        raise _non_canonical(f"与规范形式在第 {at} 字节处不同 / it differs from the canonical form at byte {at}")
    return obj


def sign(
    payload: bytes,
    secret: SecretKey,
    trusted_comment: str,
    untrusted_comment: str = DEFAULT_UNTRUSTED_COMMENT,
) -> str:
    """A minisign signature (.minisig text, four lines) over payload, prehashed with BLAKE2b-512."""
    _check_comment(untrusted_comment, UNTRUSTED_COMMENT_MAX_BYTES, "untrusted")
    _check_comment(trusted_comment, TRUSTED_COMMENT_MAX_BYTES - 1, "trusted")
    signature = secret.sign_bytes(hashlib.blake2b(payload, digest_size=64).digest())
    global_signature = secret.sign_bytes(signature + trusted_comment.encode("utf-8"))
    return (
        f"{UNTRUSTED_PREFIX}{untrusted_comment}\n"
        f"{_b64(SIGNATURE_ALG + secret.key_id + signature)}\n"
        f"{TRUSTED_PREFIX}{trusted_comment}\n"
        f"{_b64(global_signature)}\n"
    )


def signature_key_id(minisig_text: str) -> bytes:
    """The key number a signature names, so a verifier can find that key in its keyring first."""
    return _parse_minisig(minisig_text).key_id


def verify(payload: bytes, minisig_text: str, public_key: PublicKey) -> str:
    """Check a minisign signature over payload and its trusted comment; return the trusted comment."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    parsed = _parse_minisig(minisig_text)
    if parsed.key_id != public_key.key_id:
        raise SignatureError(
            FailureCode.UNKNOWN_KEY,
            f"此文件由密钥 {format_key_id(parsed.key_id)} 签名，不是密钥 {public_key.key_id_text} / "
            f"signed with key {format_key_id(parsed.key_id)}, not with key {public_key.key_id_text}",
        )
    if weak_public_key(public_key.raw) is not None:
        raise SignatureError(
            FailureCode.BAD_SIGNATURE,
            "签名所用公钥不可靠（小阶点或编码不规范）/ the signing key is not a sound Ed25519 key",
        )
    signatures = (
        (parsed.signature, "签名", "signature"),
        (parsed.global_signature, "可信注释的签名", "trusted comment's signature"),
    )
    for signature, zh, en in signatures:
        if not _canonical_signature(signature):
            raise SignatureError(
                FailureCode.BAD_SIGNATURE,
                f"{zh}不是规范的 Ed25519 签名 / the {en} is not a canonical Ed25519 signature",
            )
    try:
        verifier = Ed25519PublicKey.from_public_bytes(public_key.raw)
    except ValueError:
        raise SignatureError(
            FailureCode.BAD_SIGNATURE, "公钥无效 / the public key is not a valid Ed25519 key"
        ) from None
    try:
        verifier.verify(parsed.signature, hashlib.blake2b(payload, digest_size=64).digest())
    except InvalidSignature:
        raise SignatureError(
            FailureCode.BAD_SIGNATURE, "签名与内容不符 / the signature does not match the signed content"
        ) from None
    try:
        verifier.verify(parsed.global_signature, parsed.signature + parsed.trusted_comment.encode("utf-8"))
    except InvalidSignature:
        raise SignatureError(
            FailureCode.BAD_SIGNATURE, "可信注释的签名无效 / the trusted comment's signature is not valid"
        ) from None
    return parsed.trusted_comment


def _canonical_signature(signature: bytes) -> bool:
    """What libsodium asks of a signature beyond the equation: S below the group order, R not of small order."""
    return (
        len(signature) == 64
        and int.from_bytes(signature[32:], "little") < ED25519_L
        and not has_small_order(signature[:32])
    )


def trusted_comment_for(
    export_id: str,
    reviewer_id: str,
    round_id: str,
    seq: int,
    rows: int,
    payload_sha256: str,
) -> str:
    """One line `workbench export_id=… reviewer=… round=… seq=… rows=… sha256=…`.

    Values are percent-escaped only where a space, `=`, `%` or an invisible character would make the
    line ambiguous, so Chinese ids stay readable in `minisign -V` output.
    """
    if type(seq) is not int or type(rows) is not int or seq < 0 or rows < 0:
        raise ValueError("seq and rows are non-negative integers")
    if not _SHA256_HEX.fullmatch(payload_sha256):
        raise ValueError("payload_sha256 is 64 lowercase hex digits")
    values = (export_id, reviewer_id, round_id, str(seq), str(rows), payload_sha256)
    if not all(values[:3]):
        raise ValueError("export_id, reviewer_id and round_id must not be empty")
    text = " ".join(
        [TRUSTED_COMMENT_TAG]
        + [f"{name}={_escape(value)}" for name, value in zip(_TRUSTED_FIELDS, values, strict=True)]
    )
    if len(text.encode("utf-8")) >= TRUSTED_COMMENT_MAX_BYTES:
        raise ValueError(f"a trusted comment must stay under {TRUSTED_COMMENT_MAX_BYTES} bytes")
    return text


def parse_trusted_comment(text: str) -> dict[str, object]:
    """The inverse of trusted_comment_for: keys export_id, reviewer_id, round_id, seq, rows, payload_sha256."""
    refused = SignatureError(
        FailureCode.BAD_SIGNATURE,
        f"可信注释不是工作台格式 / the trusted comment is not a workbench one: {text[:120]!r}",
    )
    tokens = text.split(" ")
    if tokens[0] != TRUSTED_COMMENT_TAG or len(tokens) != 1 + len(_TRUSTED_FIELDS):
        raise refused
    values: list[str] = []
    for name, token in zip(_TRUSTED_FIELDS, tokens[1:], strict=True):
        key, sep, escaped = token.partition("=")
        if key != name or not sep or not escaped:
            raise refused
        try:
            value = unquote_to_bytes(escaped).decode("utf-8")
        except UnicodeDecodeError:
            raise refused from None
        if _escape(value) != escaped:
            raise refused
        values.append(value)
    export_id, reviewer_id, round_id, seq, rows, payload_sha256 = values
    if not (_DECIMAL.fullmatch(seq) and _DECIMAL.fullmatch(rows) and _SHA256_HEX.fullmatch(payload_sha256)):
        raise refused
    return {
        "export_id": export_id,
        "reviewer_id": reviewer_id,
        "round_id": round_id,
        "seq": int(seq),
        "rows": int(rows),
        "payload_sha256": payload_sha256,
    }


@dataclass(frozen=True)
class _Minisig:
    key_id: bytes
    signature: bytes
    trusted_comment: str
    global_signature: bytes


def _parse_minisig(text: str) -> _Minisig:
    def malformed(reason: str) -> SignatureError:
        return SignatureError(
            FailureCode.BAD_SIGNATURE, f"签名格式不正确 / the signature is not a valid minisign signature: {reason}"
        )

    if len(text) > _MINISIG_MAX_CHARS:
        raise malformed("too long")
    # Split like minisign does (on \n, dropping \r) so a spreadsheet's CRLF does not matter.
    lines = [line.rstrip("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != 4:
        raise malformed(f"expected 4 lines, found {len(lines)}")
    untrusted, signature_line, trusted, global_line = lines
    if not untrusted.startswith(UNTRUSTED_PREFIX):
        raise malformed(f"line 1 must start with {UNTRUSTED_PREFIX!r}")
    if not trusted.startswith(TRUSTED_PREFIX):
        raise malformed(f"line 3 must start with {TRUSTED_PREFIX!r}")
    try:
        signature_blob = base64.b64decode(signature_line.strip(), validate=True)
        global_signature = base64.b64decode(global_line.strip(), validate=True)
    except binascii.Error:
        raise malformed("bad base64") from None
    if len(signature_blob) != 2 + KEY_ID_BYTES + _ED25519_SIGNATURE_BYTES:
        raise malformed("wrong signature length")
    if signature_blob[:2] != SIGNATURE_ALG:
        raise malformed(f"algorithm {signature_blob[:2]!r} is not the prehashed Ed25519 'ED'")
    if len(global_signature) != _ED25519_SIGNATURE_BYTES:
        raise malformed("wrong trusted comment signature length")
    try:
        trusted.encode("utf-8")
    except UnicodeEncodeError:
        raise malformed("the trusted comment is not valid text") from None
    return _Minisig(
        key_id=signature_blob[2 : 2 + KEY_ID_BYTES],
        signature=signature_blob[2 + KEY_ID_BYTES :],
        trusted_comment=trusted[len(TRUSTED_PREFIX) :],
        global_signature=global_signature,
    )


def _normalise(value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _normalise_text(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        raise TypeError(f"a signed payload holds no floats ({value!r}); write decimals as strings")
    if isinstance(value, dict):
        normalised: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"a signed payload's keys are text, not {type(key).__name__}")
            text_key = _normalise_text(key)
            if text_key in normalised:
                raise ValueError(f"two keys become {text_key!r} once normalised")
            normalised[text_key] = _normalise(item)
        return normalised
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    raise TypeError(f"a signed payload cannot hold {type(value).__name__} ({value!r})")


def _normalise_text(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"键重复 / duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_float(literal: str) -> object:
    raise ValueError(f"含有小数或指数形式的数 / it holds a non-integer number {literal}")


def _non_canonical(reason: str) -> SignatureError:
    return SignatureError(
        FailureCode.NON_CANONICAL_PAYLOAD, f"签名内容不是规范格式 / the signed payload is not canonical: {reason}"
    )


def _check_comment(comment: str, max_bytes: int, which: str) -> None:
    if "\n" in comment or "\r" in comment:
        raise ValueError(f"the {which} comment must be one line")
    if len(comment.encode("utf-8")) > max_bytes:
        raise ValueError(f"the {which} comment must stay within {max_bytes} bytes")


def _escape(value: str) -> str:
    out: list[str] = []
    for char in value:
        if char in "%= " or unicodedata.category(char)[0] in "CZ":
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
