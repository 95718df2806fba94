"""Key ids, minisign public key lines, and passphrase-protected secret key files."""

from __future__ import annotations

import base64
import getpass
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.errors import (
    InvalidPublicKey,
    KeyFileError,
    KeyFileExists,
    PassphraseRefused,
    WorkbenchError,
    WrongPassphrase,
)
from workbench.signed.keys import (
    SecretKey,
    format_key_id,
    generate_secret_key,
    key_id_for,
    load_secret_key,
    parse_key_id,
    parse_public_key,
    public_key_line,
    read_passphrase,
    write_secret_key,
)

CHEAP_N = 2**10  # the real cost is memory-hard on purpose; tests only need the same code path
PASSPHRASE = "正确的马电池订书钉 correct horse"


@pytest.fixture
def secret() -> SecretKey:
    return generate_secret_key()


@pytest.fixture
def key_path(tmp_path: Path, secret: SecretKey) -> Path:
    path = tmp_path / "reviewer.key"
    write_secret_key(path, secret, PASSPHRASE, scrypt_n=CHEAP_N)
    return path


def _seed(secret: SecretKey) -> bytes:
    return secret._seed


def _rewrite(path: Path, **changes: object) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


class TestKeyIds:
    def test_key_id_is_the_first_eight_bytes_of_sha256_over_the_public_key(self, secret: SecretKey) -> None:
        import hashlib

        assert secret.key_id == hashlib.sha256(secret.public.raw).digest()[:8]
        assert key_id_for(secret.public.raw) == secret.key_id

    def test_key_id_text_reads_like_minisign_prints_it(self) -> None:
        # Taken from a real `minisign -G`: its .pub said "minisign public key 3FCBFFDA801EE120" for these
        # key number bytes, because minisign prints the number as a little-endian u64.
        key_number = bytes.fromhex("20e11e80daffcb3f")
        assert format_key_id(key_number) == "3FCBFFDA801EE120"
        assert format_key_id(bytes(7) + b"\x01") == "0100000000000000"  # zero-padded to 16 digits
        assert parse_key_id(" 3fcbffda801ee120 ") == key_number

    def test_the_unpadded_key_id_older_minisign_prints_is_understood(self) -> None:
        assert parse_key_id("3C87FF9E8AD5D2B") == parse_key_id("03C87FF9E8AD5D2B")

    @pytest.mark.parametrize("text", ["3FCBFFDA801EE12G", "13FCBFFDA801EE120", "", "0x3FCB"])
    def test_a_malformed_key_id_is_refused(self, text: str) -> None:
        with pytest.raises(InvalidPublicKey):
            parse_key_id(text)


class TestPublicKeys:
    def test_the_public_key_line_is_minisign_base64_of_ed_keynum_and_key(self, secret: SecretKey) -> None:
        line = public_key_line(secret.public.raw, secret.key_id)
        assert line.startswith("RW")
        assert base64.b64decode(line) == b"Ed" + secret.key_id + secret.public.raw
        assert secret.public.line == line

    def test_parse_accepts_the_one_line_form_and_the_two_line_pub_file(self, secret: SecretKey) -> None:
        assert parse_public_key(secret.public.line) == secret.public
        assert parse_public_key(f"  {secret.public.line}\n") == secret.public
        pub_file = secret.public.file_text
        assert pub_file.splitlines()[0] == f"untrusted comment: minisign public key {secret.key_id_text}"
        assert parse_public_key(pub_file) == secret.public
        assert parse_public_key(pub_file.replace("\n", "\r\n")) == secret.public

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "hello",
            "RWQg4R6A2v/LP2lbYo0uVSwve2po6PhMfQmw1XZUG7YzevKvzsgTlQ",  # truncated
            base64.b64encode(b"ED" + bytes(40)).decode(),  # a signature's tag, not a key's
            "untrusted comment: a\nRWQ=\nRWQ=",
        ],
    )
    def test_anything_else_is_refused_with_a_key_file_error(self, text: str) -> None:
        with pytest.raises(KeyFileError) as caught:
            parse_public_key(text)
        assert isinstance(caught.value, WorkbenchError)
        assert caught.value.code == "INVALID_PUBLIC_KEY"
        assert "public key" in caught.value.message

    def test_a_minisign_secret_key_line_is_not_taken_for_a_public_key(self) -> None:
        minisign_secret_line = "RWQAAEIy" + "A" * 200 + "="
        with pytest.raises(InvalidPublicKey):
            parse_public_key(minisign_secret_line)


class TestSecretKeyFiles:
    def test_roundtrip_gives_back_the_same_key(self, key_path: Path, secret: SecretKey) -> None:
        loaded = load_secret_key(key_path, PASSPHRASE)
        assert loaded == secret
        assert loaded.sign_bytes(b"m") == secret.sign_bytes(b"m")

    def test_the_file_is_readable_by_its_owner_only_and_documents_itself(self, key_path: Path) -> None:
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        document = json.loads(key_path.read_text())
        assert document["format"] == "workbench-secret-key/1"
        assert document["kdf"]["name"] == "scrypt"
        assert document["aead"] == "chacha20-poly1305"

    def test_the_public_key_is_written_next_to_it_in_minisign_format(
        self, key_path: Path, secret: SecretKey
    ) -> None:
        pub = key_path.with_name("reviewer.key.pub")
        assert pub.read_text() == (
            f"untrusted comment: minisign public key {secret.key_id_text}\n{secret.public.line}\n"
        )
        assert parse_public_key(pub.read_text()) == secret.public

    def test_the_seed_never_appears_in_clear(self, key_path: Path, secret: SecretKey) -> None:
        seed = _seed(secret)
        content = key_path.read_bytes() + key_path.with_name("reviewer.key.pub").read_bytes()
        for form in (seed, seed.hex().encode(), seed.hex().upper().encode(), base64.b64encode(seed)):
            assert form not in content
        for shown in (repr(secret), str(secret), f"{secret}", repr([secret])):
            assert seed.hex() not in shown.lower()
            assert base64.b64encode(seed).decode() not in shown

    def test_wrong_passphrase_says_so_in_a_sentence(self, key_path: Path) -> None:
        with pytest.raises(WrongPassphrase) as caught:
            load_secret_key(key_path, "not the passphrase")
        assert caught.value.code == "WRONG_PASSPHRASE"
        assert "口令不正确" in caught.value.message
        assert "wrong passphrase" in caught.value.message
        assert str(key_path) in caught.value.message

    def test_the_passphrase_is_compared_after_unicode_normalisation(self, tmp_path: Path) -> None:
        secret = generate_secret_key()
        write_secret_key(tmp_path / "k", secret, "caf\u00e9", scrypt_n=CHEAP_N)
        assert load_secret_key(tmp_path / "k", "cafe\u0301") == secret

    def test_an_existing_key_is_never_overwritten(self, key_path: Path, secret: SecretKey) -> None:
        before = key_path.read_bytes()
        with pytest.raises(KeyFileExists) as caught:
            write_secret_key(key_path, generate_secret_key(), "other", scrypt_n=CHEAP_N)
        assert "already exists" in caught.value.message
        assert key_path.read_bytes() == before
        assert load_secret_key(key_path, PASSPHRASE) == secret

    def test_an_existing_pub_file_also_stops_the_write(self, tmp_path: Path) -> None:
        (tmp_path / "k.pub").write_text("someone else's key\n")
        with pytest.raises(KeyFileExists):
            write_secret_key(tmp_path / "k", generate_secret_key(), PASSPHRASE, scrypt_n=CHEAP_N)
        assert not (tmp_path / "k").exists()
        assert (tmp_path / "k.pub").read_text() == "someone else's key\n"

    def test_an_empty_passphrase_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(PassphraseRefused):
            write_secret_key(tmp_path / "k", generate_secret_key(), "", scrypt_n=CHEAP_N)
        assert not (tmp_path / "k").exists()

    def test_altered_ciphertext_is_reported_as_an_altered_file(self, key_path: Path) -> None:
        document = json.loads(key_path.read_text())
        ciphertext = bytearray(base64.b64decode(document["ciphertext"]))
        ciphertext[0] ^= 1
        _rewrite(key_path, ciphertext=base64.b64encode(bytes(ciphertext)).decode())
        with pytest.raises(KeyFileError) as caught:
            load_secret_key(key_path, PASSPHRASE)
        assert "altered" in caught.value.message

    def test_a_swapped_public_key_is_refused(self, key_path: Path) -> None:
        other = generate_secret_key().public
        _rewrite(key_path, public_key=other.line, key_id=other.key_id_text)
        with pytest.raises(KeyFileError):
            load_secret_key(key_path, PASSPHRASE)

    def test_a_hostile_scrypt_cost_is_refused_before_any_work(self, key_path: Path) -> None:
        document = json.loads(key_path.read_text())
        document["kdf"]["n"] = 2**30
        key_path.write_text(json.dumps(document))
        with pytest.raises(KeyFileError):
            load_secret_key(key_path, PASSPHRASE)

    @pytest.mark.parametrize("content", ["", "not json", "[]", '{"format": "other"}'])
    def test_a_file_that_is_not_a_key_file_is_refused(self, tmp_path: Path, content: str) -> None:
        path = tmp_path / "k"
        path.write_text(content)
        with pytest.raises(KeyFileError) as caught:
            load_secret_key(path, PASSPHRASE)
        assert "not a workbench secret key file" in caught.value.message

    def test_a_public_key_file_offered_as_the_secret_key_is_refused(self, key_path: Path) -> None:
        with pytest.raises(KeyFileError):
            load_secret_key(key_path.with_name("reviewer.key.pub"), PASSPHRASE)

    def test_the_default_cost_is_memory_hard(self, tmp_path: Path) -> None:
        write_secret_key(tmp_path / "k", generate_secret_key(), PASSPHRASE)
        kdf = json.loads((tmp_path / "k").read_text())["kdf"]
        assert 128 * kdf["n"] * kdf["r"] >= 64 * 1024 * 1024


class TestReadPassphrase:
    @pytest.fixture(autouse=True)
    def no_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("WORKBENCH_PASSPHRASE", raising=False)

    @pytest.fixture
    def typed(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
        answers: list[str] = []

        def fake_getpass(prompt: str = "") -> str:
            return answers.pop(0)  # an IndexError means we asked more often than expected

        monkeypatch.setattr(getpass, "getpass", fake_getpass)
        yield answers
        assert not answers, "every typed answer was read"

    def test_the_environment_variable_wins_for_scripts(
        self, monkeypatch: pytest.MonkeyPatch, typed: list[str]
    ) -> None:
        monkeypatch.setenv("WORKBENCH_PASSPHRASE", "from env")
        assert read_passphrase(confirm=True) == "from env"

    def test_an_empty_environment_variable_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("WORKBENCH_PASSPHRASE", "")
        with pytest.raises(PassphraseRefused):
            read_passphrase(confirm=False)

    def test_typed_twice_when_confirming(self, typed: list[str]) -> None:
        typed.extend(["s3cret", "s3cret"])
        assert read_passphrase(confirm=True) == "s3cret"

    def test_typed_once_when_opening(self, typed: list[str]) -> None:
        typed.append("s3cret")
        assert read_passphrase(confirm=False) == "s3cret"

    def test_a_mismatch_is_refused(self, typed: list[str]) -> None:
        typed.extend(["s3cret", "s3creT"])
        with pytest.raises(PassphraseRefused) as caught:
            read_passphrase(confirm=True)
        assert "differ" in caught.value.message

    def test_an_empty_passphrase_is_refused(self, typed: list[str]) -> None:
        typed.append("")
        with pytest.raises(PassphraseRefused):
            read_passphrase(confirm=True)

