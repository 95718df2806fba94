"""Ed25519 key files, key ids and minisign public key lines: generate, encrypt under a passphrase, load."""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import (
    InvalidPublicKey,
    KeyFileError,
    KeyFileExists,
    PassphraseRefused,
    WrongPassphrase,
)

KEY_ID_BYTES = 8
PUBLIC_KEY_ALG = b"Ed"  # minisign's algorithm tag for an Ed25519 public key

# Ed25519 (RFC 8032): the field prime and the group order.
ED25519_P = 2**255 - 19
ED25519_L = 2**252 + 27742317777372353535851937790883648493
# The y-coordinates of the eight small-order points (the sign bit of x cleared), with the non-canonical
# encodings p and p + 1 of 0 and 1: exactly the list libsodium (and so minisign) refuses as a key or an R.
_SMALL_ORDER_Y = frozenset({
    0, 1, ED25519_P - 1, ED25519_P, ED25519_P + 1,
    2707385501144840649318225287225658788936804267575313519463743609750303402022,
    55188659117513257062467267217118295137698188065244968500265048394206261417927,
})


def _encoded_y(point: bytes) -> int:
    return int.from_bytes(point, "little") & ((1 << 255) - 1)


def has_small_order(point: bytes) -> bool:
    """Whether a 32-byte Ed25519 point encoding is one of the small-order points (identity included).

    With such a key, or such an R, a signature can verify for messages nobody signed; OpenSSL accepts
    them, libsodium refuses them, and so do we.
    """
    return len(point) != 32 or _encoded_y(point) in _SMALL_ORDER_Y


def weak_public_key(raw: bytes) -> str | None:
    """Why 32 raw bytes are not a sound Ed25519 public key (all-zero, small order, non-canonical), or None."""
    if len(raw) != 32:
        return "长度不是 32 字节 / not 32 bytes long"
    if not any(raw):
        return "全为零 / all zero"
    if has_small_order(raw):
        return "是小阶点，任何人都能以它“签名” / a small-order point, with which anyone can make signatures"
    if _encoded_y(raw) >= ED25519_P:
        return "编码不规范 / not canonically encoded"
    return None
SECRET_KEY_FORMAT = "workbench-secret-key/1"
AEAD_NAME = "chacha20-poly1305"
PASSPHRASE_ENV = "WORKBENCH_PASSPHRASE"

# scrypt uses 128 * n * r bytes: 2**17 * 8 * 128 = 128 MiB, about half a second here.
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
# Bounds on what a key file may ask for, so a hostile file cannot make us allocate gigabytes.
_SCRYPT_MAX_MEMORY = 1 << 30
_MAX_KEY_FILE_BYTES = 64 * 1024

_SEED_BYTES = 32
_SALT_BYTES = 32
_NONCE_BYTES = 12
_CHECK_BYTES = 16


def key_id_for(public_key_raw: bytes) -> bytes:
    """The key id this project gives a public key: the first 8 bytes of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(public_key_raw).digest()[:KEY_ID_BYTES]


def format_key_id(key_id: bytes) -> str:
    """The key id as shown everywhere: 16 uppercase hex digits of minisign's little-endian key number.

    Current minisign prints it the same way; older releases (Debian's 0.11) drop leading zeros.
    """
    if len(key_id) != KEY_ID_BYTES:
        raise ValueError(f"a key id has {KEY_ID_BYTES} bytes, not {len(key_id)}")
    return key_id[::-1].hex().upper()


def parse_key_id(text: str) -> bytes:
    """The inverse of format_key_id; also takes the unpadded form older minisign prints."""
    cleaned = text.strip()
    if not 0 < len(cleaned) <= 2 * KEY_ID_BYTES or not all(c in "0123456789abcdefABCDEF" for c in cleaned):
        raise InvalidPublicKey(f"密钥编号应为 16 位十六进制数 / a key id is 16 hex digits: {text!r}")
    return bytes.fromhex(cleaned.zfill(2 * KEY_ID_BYTES))[::-1]


def public_key_line(public_key_raw: bytes, key_id: bytes) -> str:
    """The one-line minisign public key ("RW…"), as given to `minisign -P`."""
    if len(public_key_raw) != 32 or len(key_id) != KEY_ID_BYTES:
        raise ValueError("an Ed25519 public key has 32 bytes and a key id 8")
    return base64.b64encode(PUBLIC_KEY_ALG + key_id + public_key_raw).decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its minisign key number."""

    key_id: bytes
    raw: bytes

    @property
    def key_id_text(self) -> str:
        return format_key_id(self.key_id)

    @property
    def line(self) -> str:
        return public_key_line(self.raw, self.key_id)

    @property
    def file_text(self) -> str:
        """The two-line content of a minisign .pub file."""
        return f"untrusted comment: minisign public key {self.key_id_text}\n{self.line}\n"


def parse_public_key(text: str) -> PublicKey:
    """Read a public key from its one-line form or from a minisign .pub file's two lines.

    The key number is taken as given: keys made by `minisign -G` carry a random one, so whether it must
    equal key_id_for(raw) is the keyring's decision.
    """
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) == 2 and lines[0].startswith("untrusted comment:"):
        encoded = lines[1]
    elif len(lines) == 1:
        encoded = lines[0]
    else:
        raise InvalidPublicKey(
            "公钥应为一行 minisign 公钥，或 .pub 文件的两行 / "
            "a public key is one minisign line, or the two lines of a .pub file"
        )
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) != 2 + KEY_ID_BYTES + 32 or decoded[:2] != PUBLIC_KEY_ALG:
        raise InvalidPublicKey(
            f"不是 minisign Ed25519 公钥 / not a minisign Ed25519 public key: {_abbreviate(encoded)}"
        )
    raw = decoded[2 + KEY_ID_BYTES :]
    weakness = weak_public_key(raw)
    if weakness is not None:
        zh, _, en = weakness.partition(" / ")
        raise InvalidPublicKey(
            f"此公钥不是可靠的 Ed25519 公钥（{zh}），不能使用；请评审专家用 workbench keygen 重新生成 / "
            f"this is not a sound Ed25519 public key ({en}) and cannot be used; "
            f"ask the reviewer for a new one made with workbench keygen: {_abbreviate(encoded)}"
        )
    return PublicKey(key_id=decoded[2 : 2 + KEY_ID_BYTES], raw=raw)


@dataclass(frozen=True, repr=False)
class SecretKey:
    """An Ed25519 signing key. Its seed never appears in repr/str; sign through sign_bytes()."""

    public: PublicKey
    _seed: bytes = field(repr=False)

    @classmethod
    def from_seed(cls, seed: bytes) -> SecretKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if len(seed) != _SEED_BYTES:
            raise ValueError("an Ed25519 seed has 32 bytes")
        raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        return cls(public=PublicKey(key_id=key_id_for(raw), raw=raw), _seed=seed)

    @property
    def key_id(self) -> bytes:
        return self.public.key_id

    @property
    def key_id_text(self) -> str:
        return self.public.key_id_text

    def sign_bytes(self, message: bytes) -> bytes:
        """A raw 64-byte Ed25519 signature over message."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self._seed).sign(message)

    def __repr__(self) -> str:
        return f"SecretKey(key_id={self.key_id_text}, secret=<hidden>)"

    __str__ = __repr__


def generate_secret_key() -> SecretKey:
    """A fresh Ed25519 key from the operating system's random source."""
    return SecretKey.from_seed(os.urandom(_SEED_BYTES))


def pub_path_for(path: str | os.PathLike[str]) -> Path:
    """Where write_secret_key puts the public key: next to the secret key, with `.pub` appended."""
    secret_path = Path(path)
    return secret_path.with_name(secret_path.name + ".pub")


def write_secret_key(
    path: str | os.PathLike[str],
    secret: SecretKey,
    passphrase: str,
    *,
    scrypt_n: int = SCRYPT_N,
) -> None:
    """Encrypt secret under passphrase into a new file (mode 0600) and write its public key to `<path>.pub`.

    Neither file may exist already. scrypt_n is lowered only by tests; keep the default.
    """
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if not passphrase:
        raise PassphraseRefused("口令不能为空 / the passphrase must not be empty")
    secret_path = Path(path)
    pub_path = pub_path_for(secret_path)
    for existing in (secret_path, pub_path):
        if os.path.lexists(existing):
            raise KeyFileExists(
                f"文件已存在，不会覆盖 / {existing} already exists and will not be overwritten; "
                "choose another path or move the old key away first"
            )
    salt = os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    aead_key, check = _derive(passphrase, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
    public = secret.public
    ciphertext = ChaCha20Poly1305(aead_key).encrypt(
        nonce, secret._seed, _associated_data(public.key_id_text, public.line)
    )
    document = {
        "format": SECRET_KEY_FORMAT,
        "key_id": public.key_id_text,
        "public_key": public.line,
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "aead": AEAD_NAME,
        "passphrase_check": _b64(check),
        "nonce": _b64(nonce),
        "ciphertext": _b64(ciphertext),
    }
    _create_exclusive(secret_path, (json.dumps(document, indent=2) + "\n").encode("ascii"), 0o600)
    try:
        _create_exclusive(pub_path, public.file_text.encode("ascii"), 0o644)
    except BaseException:
        secret_path.unlink()
        raise


def load_secret_key(path: str | os.PathLike[str], passphrase: str) -> SecretKey:
    """Open a secret key file written by write_secret_key."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    secret_path = Path(path)
    not_a_key = f"不是工作台私钥文件 / {secret_path} is not a workbench secret key file"
    try:
        with open(secret_path, "rb") as handle:
            content = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"无法读取私钥文件 / cannot read secret key file {secret_path}: {exc.strerror}") from None
    if len(content) > _MAX_KEY_FILE_BYTES:
        raise KeyFileError(not_a_key)
    try:
        document = json.loads(content.decode("utf-8"))
        fields = _KeyFileFields.read(document)
    except (ValueError, KeyError, TypeError, RecursionError, InvalidPublicKey):
        raise KeyFileError(not_a_key) from None
    aead_key, check = _derive(passphrase, fields.salt, fields.n, fields.r, fields.p)
    if not hmac.compare_digest(check, fields.check):
        raise WrongPassphrase(f"口令不正确 / wrong passphrase for key file {secret_path}")
    try:
        seed = ChaCha20Poly1305(aead_key).decrypt(
            fields.nonce, fields.ciphertext, _associated_data(fields.key_id_text, fields.public.line)
        )
    except InvalidTag:
        raise KeyFileError(f"私钥文件已被改动 / secret key file {secret_path} has been altered") from None
    secret = SecretKey.from_seed(seed)
    if secret.public != fields.public:
        raise KeyFileError(
            f"私钥与文件中的公钥不符 / the secret key in {secret_path} does not match its public key"
        )
    return secret


def read_passphrase(confirm: bool) -> str:
    """The passphrase from WORKBENCH_PASSPHRASE if set (scripted use), else typed twice without echo."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        if not from_env:
            raise PassphraseRefused(f"{PASSPHRASE_ENV} 为空 / {PASSPHRASE_ENV} is set but empty")
        return from_env
    first = getpass.getpass("口令 / passphrase: ")
    if not first:
        raise PassphraseRefused("口令不能为空 / the passphrase must not be empty")
    if confirm:
        second = getpass.getpass("再输入一次口令 / passphrase again: ")
        if second != first:
            raise PassphraseRefused("两次输入的口令不一致 / the two passphrases differ")
    return first


@dataclass(frozen=True)
class _KeyFileFields:
    key_id_text: str
    public: PublicKey
    n: int
    r: int
    p: int
    salt: bytes
    check: bytes
    nonce: bytes
    ciphertext: bytes

    @classmethod
    def read(cls, document: object) -> _KeyFileFields:
        """Every field checked for type and size; raises ValueError/KeyError/TypeError otherwise."""
        if not isinstance(document, dict) or document["format"] != SECRET_KEY_FORMAT:
            raise ValueError("format")
        if document["aead"] != AEAD_NAME:
            raise ValueError("aead")
        kdf = document["kdf"]
        if not isinstance(kdf, dict) or kdf["name"] != "scrypt":
            raise ValueError("kdf")
        n, r, p = kdf["n"], kdf["r"], kdf["p"]
        if not all(type(v) is int and v > 0 for v in (n, r, p)):
            raise ValueError("kdf parameters")
        if n < 2 or n & (n - 1) or 128 * n * r * p > _SCRYPT_MAX_MEMORY:
            raise ValueError("kdf cost")
        public = parse_public_key(_text(document["public_key"]))
        key_id_text = _text(document["key_id"])
        if key_id_text != public.key_id_text or public.key_id != key_id_for(public.raw):
            raise ValueError("key id")
        fields = cls(
            key_id_text=key_id_text,
            public=public,
            n=n,
            r=r,
            p=p,
            salt=_unb64(kdf["salt"]),
            check=_unb64(document["passphrase_check"]),
            nonce=_unb64(document["nonce"]),
            ciphertext=_unb64(document["ciphertext"]),
        )
        if (
            len(fields.salt) < 16
            or len(fields.check) != _CHECK_BYTES
            or len(fields.nonce) != _NONCE_BYTES
            or len(fields.ciphertext) != _SEED_BYTES + 16
        ):
            raise ValueError("sizes")
        return fields


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    """The AEAD key and a passphrase check, both from one scrypt run.

    The check lets a wrong passphrase be told apart from an altered file; it reveals no more than the
    AEAD tag already does to someone testing passphrases.
    """
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    # NFC so the same passphrase typed on differently-normalising systems opens the file.
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    derived = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(secret)
    return derived[:32], hashlib.sha256(derived[32:]).digest()[:_CHECK_BYTES]


def _associated_data(key_id_text: str, public_line: str) -> bytes:
    return f"{SECRET_KEY_FORMAT}\n{key_id_text}\n{public_line}".encode("ascii")


def _create_exclusive(path: Path, content: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileExists(
            f"文件已存在，不会覆盖 / {path} already exists and will not be overwritten"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # the umask may have narrowed it; make the mode exact
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)  # never leave a half-written key behind
        raise


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object) -> bytes:
    return base64.b64decode(_text(value), validate=True)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _abbreviate(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
