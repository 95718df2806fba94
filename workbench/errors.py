"""Every exception the core raises, one type per kind of failure, each with a stable code and a human sentence;
and the closed list of failure codes of a signed export."""

from __future__ import annotations

import enum
from typing import NamedTuple


class WorkbenchError(Exception):
    """Base of every refusal the core raises; the CLI maps it to exit code 1."""

    code = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Problem(NamedTuple):
    """One problem in an input file, located as file:row:column (or sheet!cell)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class InputRefused(WorkbenchError):
    """A set-up or results file was refused whole; lists every problem found."""

    code = "INPUT_REFUSED"

    def __init__(self, problems: list[Problem], summary: str = "") -> None:
        self.problems = problems
        head = summary or f"{len(problems)} problem(s) found; nothing was written"
        super().__init__(head + "\n" + "\n".join(str(p) for p in problems))


class NotAPackage(WorkbenchError):
    code = "NOT_A_PACKAGE"


class NotFound(WorkbenchError):
    code = "NOT_FOUND"


class InvalidRule(WorkbenchError, ValueError):
    """A row of the round's rules is not what its rule needs: a bad number, flag or grade band, or a repeat."""

    code = "INVALID_RULE"


class InvalidScore(WorkbenchError):
    """A value the reviewer typed is out of range, off step, negative or of the wrong kind."""

    code = "INVALID_SCORE"


class FailureCode(enum.StrEnum):
    """Why verify or merge refused an export: the closed list of DESIGN §7, each with a sentence for the
    coordinator where it is raised. ``ALREADY_MERGED`` is the one verdict that is not a failure: merging a
    file merged before is a no-op."""

    NOT_XLSX = "NOT_XLSX"
    CORRUPT_ZIP = "CORRUPT_ZIP"
    ENCRYPTED_OR_LEGACY = "ENCRYPTED_OR_LEGACY"
    ZIP_BOMB_SUSPECTED = "ZIP_BOMB_SUSPECTED"
    ACTIVE_CONTENT = "ACTIVE_CONTENT"
    BAD_XML = "BAD_XML"
    UNSIGNED = "UNSIGNED"
    BLANK_WORKSHEET = "BLANK_WORKSHEET"
    AMBIGUOUS_SIGNATURE = "AMBIGUOUS_SIGNATURE"
    PAYLOAD_DIGEST_MISMATCH = "PAYLOAD_DIGEST_MISMATCH"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    REVOKED_KEY = "REVOKED_KEY"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    NON_CANONICAL_PAYLOAD = "NON_CANONICAL_PAYLOAD"
    IDENTITY_MISMATCH = "IDENTITY_MISMATCH"
    WRONG_ROUND = "WRONG_ROUND"
    UNKNOWN_PACKAGE = "UNKNOWN_PACKAGE"
    STALE_PACKAGE = "STALE_PACKAGE"
    PAIRS_MISMATCH = "PAIRS_MISMATCH"
    INVALID_VALUE = "INVALID_VALUE"
    STALE_EXPORT = "STALE_EXPORT"
    SEQ_CONFLICT = "SEQ_CONFLICT"
    EDITED_AFTER_SIGNING = "EDITED_AFTER_SIGNING"
    UNEXPECTED_ERROR = "UNEXPECTED_ERROR"
    NOT_A_FILE = "NOT_A_FILE"
    ALREADY_MERGED = "ALREADY_MERGED"


class WalNotFolded(WorkbenchError):
    """A committed change could not be copied from the WAL into the database file itself (a reader held it)."""

    code = "WAL_NOT_FOLDED"


class SignatureError(WorkbenchError):
    """An export's signature or signed payload was refused, with its FailureCode."""

    code = "BAD_SIGNATURE"

    def __init__(self, code: FailureCode, message: str) -> None:
        super().__init__(message)
        self.code = FailureCode(code)  # a code outside the closed list is a bug: ValueError


# keys and keyring


class KeyFileError(WorkbenchError):
    """A key file or public key is not what it claims to be: unreadable, malformed or altered."""

    code = "BAD_KEY_FILE"


class InvalidPublicKey(KeyFileError):
    """Text offered as a public key is not a minisign Ed25519 public key."""

    code = "INVALID_PUBLIC_KEY"


class KeyFileExists(KeyFileError):
    """Writing a key would replace an existing file; a secret key is never overwritten."""

    code = "KEY_FILE_EXISTS"


class WrongPassphrase(WorkbenchError):
    """The passphrase does not open this secret key file (a caller may ask again)."""

    code = "WRONG_PASSPHRASE"


class PassphraseRefused(WorkbenchError):
    """An empty passphrase, or the confirmation did not match."""

    code = "PASSPHRASE_REFUSED"


class KeyringRefused(WorkbenchError):
    """A key cannot be added or revoked: taken by another reviewer, revoked before, or not self-consistent."""

    code = "KEYRING_REFUSED"


# export and re-import


class ExportRefused(WorkbenchError):
    """The package cannot be exported as asked; nothing was written."""

    code = "EXPORT_REFUSED"


class NoRegisteredKey(ExportRefused):
    code = "NO_KEY_REGISTERED"


class WrongKey(ExportRefused):
    code = "WRONG_KEY"


class UnscoredIndicators(ExportRefused):
    """Some pairs have no value yet; `unscored` lists them as (target label, target id, name, code, name)."""

    code = "UNSCORED_INDICATORS"

    def __init__(self, message: str, unscored: list[tuple[str, str, str, str, str]]) -> None:
        super().__init__(message)
        self.unscored = unscored


class WorksheetRefused(WorkbenchError):
    """The file is not a worksheet of this package (another package's, or not a workbench worksheet)."""

    code = "WORKSHEET_REFUSED"


class XmlDeclarationForbidden(Exception):
    """Internal signal of the hostile-file check: a DTD, an entity declaration or an external reference,
    met while streaming an XML part (turned into a SignatureError by whoever catches it)."""


# publication bundles


class AuditCode(enum.StrEnum):
    """Why `workbench audit` did not reproduce a bundle (an export that fails verification is named with its own
    FailureCode instead)."""

    UNSAFE_BUNDLE = "UNSAFE_BUNDLE"
    """Not a directory or a zip; a zip member with an absolute or `..` path, a link, a device; an encrypted or
    oversized member."""
    BAD_MANIFEST = "BAD_MANIFEST"
    MANIFEST_SIGNATURE = "MANIFEST_SIGNATURE"
    """The manifest's signature is not the coordinator's: changed, or re-signed with another key."""
    FILE_MISSING = "FILE_MISSING"
    FILE_UNLISTED = "FILE_UNLISTED"
    HASH_MISMATCH = "HASH_MISMATCH"
    BAD_TABLE = "BAD_TABLE"
    """A bundle table (CSV) that is not as publish writes it, or a set-up table `init` refuses."""
    LEDGER_MISMATCH = "LEDGER_MISMATCH"
    """An export verifies but is not what the ledger says of it, or replays otherwise than recorded."""
    NOT_REPRODUCED = "NOT_REPRODUCED"
    """A published number differs from the one recomputed."""


class AuditFailure(WorkbenchError):
    """A bundle `workbench audit` could not reproduce: the code, the file (or sheet!cell) and a sentence."""

    def __init__(self, code: str, where: str, message: str) -> None:
        super().__init__(f"{code}: {where}: {message}")
        self.code = code
        self.where = where
        self.reason = message
