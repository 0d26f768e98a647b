"""A signer unlocked from an Ethereum V3 keystore file (scrypt or pbkdf2), and creating one.

The key derivation is slow on purpose (scrypt n=262144 takes most of a second), so it always
runs in a worker thread: a GUI event loop keeps running while a keystore is unlocked or
created.  Passwords are used once and never kept; the private key lives only inside the signer
and appears in no repr, message, exception or log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.ethereum import address_of_public_key, to_checksum_address
from app.keyengine.errors import KeyEngineError
from app.keyengine.files import fsync_directory, write_private_file
from app.keyengine.wallets.raw_key import RawKeySigner

KdfName = Literal["scrypt", "pbkdf2"]

MAX_KEYSTORE_BYTES: Final = 64 * 1024
"""A V3 keystore is about 500 bytes; larger files are not keystores."""

MAX_SCRYPT_MEMORY: Final = 1 << 30
"""scrypt uses 128·r·n bytes; 1 GiB allows n up to 2**20 with r=8 (geth's "standard" is 2**18)."""

MAX_SCRYPT_WORK: Final = (1 << 20) * 8 * 4
"""Upper bound of n·r·p, so a hostile file cannot keep a worker busy for minutes."""

MAX_PBKDF2_ROUNDS: Final = 10_000_000
"""eth-account's default is 1,000,000 and geth's 262,144."""


class KeystoreError(KeyEngineError):
    """A keystore file cannot be read, unlocked or written."""


class WrongPassword(KeystoreError):
    """The password does not unlock the keystore (or its checksum was altered)."""


class CorruptKeystore(KeystoreError):
    """The file is not a well-formed V3 keystore, or its content is damaged."""


class UnsupportedKeystore(KeystoreError):
    """A well-formed keystore of a kind this app does not handle (version, cipher)."""


class UnsupportedKdf(UnsupportedKeystore):
    """The keystore's key derivation function or its parameters are not supported."""


class KeystoreExists(KeystoreError):
    """Creating a keystore would overwrite an existing file."""


class KeystoreSigner:
    """Signs XMTP texts with the key of an unlocked keystore; refuses every other text."""

    __slots__ = ("_path", "_signer")

    def __init__(self, signer: RawKeySigner, path: Path) -> None:
        self._signer = signer
        self._path = path

    @classmethod
    async def unlock(cls, path: str | os.PathLike[str], password: str) -> KeystoreSigner:
        """Read and decrypt the keystore at ``path`` without blocking the event loop.

        Raises ``WrongPassword``, ``CorruptKeystore``, ``UnsupportedKdf`` /
        ``UnsupportedKeystore`` or ``KeystoreError`` (unreadable file).
        """
        file = Path(path)
        keystore = _parse_keystore(await asyncio.to_thread(_read_keystore_file, file), file)
        signer = await asyncio.to_thread(_decrypt_keystore, keystore, password, file)
        del password
        return cls(signer, file)

    @property
    def address(self) -> str:
        return self._signer.address

    @property
    def path(self) -> Path:
        """The keystore file this signer was unlocked from."""
        return self._path

    def __repr__(self) -> str:
        return f"KeystoreSigner(address={self._signer.address})"

    async def sign_personal(self, text: str) -> bytes:
        return self._signer.sign_personal_sync(text)


async def create_keystore(
    path: str | os.PathLike[str],
    password: str,
    *,
    kdf: KdfName = "scrypt",
    iterations: int | None = None,
) -> str:
    """Create a new wallet key and write it only as an encrypted V3 keystore at ``path``.

    Returns the new account's EIP-55 address.  The file is created owner-only (0600) and
    atomically, and never replaces an existing file (``KeystoreExists``).  ``iterations`` is
    the KDF work factor (scrypt ``n`` or pbkdf2 rounds; eth-account's defaults when ``None``).
    Encryption runs in a worker thread.
    """
    file = Path(path)
    if kdf not in ("scrypt", "pbkdf2"):
        raise UnsupportedKdf(f"cannot create a keystore with key derivation {kdf!r}")
    if not password:
        raise KeystoreError("a keystore needs a non-empty password")
    if file.exists() or file.is_symlink():
        raise KeystoreExists(f"{file} already exists; refusing to overwrite it")
    address, document = await asyncio.to_thread(_new_encrypted_key, password, kdf, iterations)
    del password
    await asyncio.to_thread(_write_new_file, file, document)
    return address


@dataclass(frozen=True, slots=True)
class KeystoreFile:
    """What an Ethereum keystore says about itself before any password: enough to name it."""

    address: str | None
    """The EIP-55 address the file names (not proven until it is unlocked); ``None`` if none."""
    kdf: str
    problem: str | None
    """Why this app cannot unlock it (unsupported or damaged), ``None`` when it can try."""


def describe_keystore(data: bytes, name: str) -> KeystoreFile | None:
    """``data`` as an Ethereum keystore (``name``: the file, for messages), else ``None``.

    A JSON object with a ``crypto`` section holding a ``ciphertext`` counts as a keystore; its
    structure is then checked as ``KeystoreSigner.unlock`` would, without deriving any key.
    """
    if len(data) > MAX_KEYSTORE_BYTES:
        return None
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    crypto = document.get("crypto", document.get("Crypto")) if isinstance(document, dict) else None
    if not isinstance(crypto, dict) or "ciphertext" not in crypto:
        return None
    problem = None
    try:
        _parse_keystore(data, Path(name))
    except KeystoreError as exc:
        problem = str(exc)
    address = document.get("address")
    shown = None
    if isinstance(address, str):
        with contextlib.suppress(ValueError, KeyEngineError):
            shown = to_checksum_address("0x" + address.removeprefix("0x"))
    return KeystoreFile(shown, str(crypto.get("kdf", "unknown"))[:20], problem)


# --- reading ---------------------------------------------------------------------------------


def _read_keystore_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEYSTORE_BYTES + 1)
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEYSTORE_BYTES:
        raise CorruptKeystore(f"{path} is too large to be a keystore file")
    return data


def _hex_field(container: dict[str, Any], name: str, path: Path, length: int | None) -> bytes:
    value = container.get(name)
    if not isinstance(value, str):
        raise CorruptKeystore(f"keystore {path} has no {name!r} in hex")
    try:
        data = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise CorruptKeystore(f"keystore {path}: {name!r} is not hex") from None
    if length is not None and len(data) != length:
        raise CorruptKeystore(
            f"keystore {path}: {name!r} has {len(data)} bytes instead of {length} "
            "(the file is truncated or damaged)"
        )
    return data


def _int_field(params: dict[str, Any], name: str, path: Path) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CorruptKeystore(f"keystore {path}: KDF parameter {name!r} is not a positive integer")
    return value


def _check_kdf(crypto: dict[str, Any], path: Path) -> None:
    kdf = crypto.get("kdf")
    params = crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise CorruptKeystore(f"keystore {path} has no KDF parameters")
    _hex_field(params, "salt", path, None)
    if _int_field(params, "dklen", path) != 32:
        raise UnsupportedKdf(f"keystore {path}: only 32-byte derived keys are supported")
    if kdf == "scrypt":
        n, r, p = (_int_field(params, name, path) for name in ("n", "r", "p"))
        if n < 2 or n & (n - 1):
            raise CorruptKeystore(f"keystore {path}: scrypt n={n} is not a power of two")
        if 128 * n * r > MAX_SCRYPT_MEMORY or n * r * p > MAX_SCRYPT_WORK:
            raise UnsupportedKdf(
                f"keystore {path} asks for scrypt n={n}, r={r}, p={p}: more memory or work "
                "than this app allows"
            )
    elif kdf == "pbkdf2":
        if params.get("prf") != "hmac-sha256":
            raise UnsupportedKdf(f"keystore {path}: pbkdf2 is supported with hmac-sha256 only")
        if _int_field(params, "c", path) > MAX_PBKDF2_ROUNDS:
            raise UnsupportedKdf(
                f"keystore {path} asks for more than {MAX_PBKDF2_ROUNDS} pbkdf2 rounds"
            )
    else:
        shown = kdf if isinstance(kdf, str) else type(kdf).__name__
        raise UnsupportedKdf(
            f"keystore {path} uses key derivation {shown[:40]!r}; only scrypt and pbkdf2 are "
            "supported"
        )


def _parse_keystore(data: bytes, path: Path) -> dict[str, Any]:
    """The keystore as a dict once its structure is checked (before any costly derivation)."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CorruptKeystore(f"{path} is not a keystore file (not valid JSON)") from None
    if not isinstance(document, dict):
        raise CorruptKeystore(f"{path} is not a keystore file (not a JSON object)")
    version = document.get("version")
    if version != 3:
        raise UnsupportedKeystore(
            f"keystore {path} is not a version 3 Ethereum keystore (version {version!r:.20})"
        )
    crypto = document.get("crypto", document.get("Crypto"))
    if not isinstance(crypto, dict):
        raise CorruptKeystore(f"keystore {path} has no 'crypto' section")
    if crypto.get("cipher") != "aes-128-ctr":
        raise UnsupportedKeystore(f"keystore {path}: only the aes-128-ctr cipher is supported")
    cipherparams = crypto.get("cipherparams")
    if not isinstance(cipherparams, dict):
        raise CorruptKeystore(f"keystore {path} has no cipher parameters")
    _hex_field(cipherparams, "iv", path, 16)
    _hex_field(crypto, "ciphertext", path, 32)
    _hex_field(crypto, "mac", path, 32)
    _check_kdf(crypto, path)
    address = document.get("address")
    if address is not None:
        _hex_field(document, "address", path, 20)
    normalised = dict(document)
    normalised.pop("Crypto", None)
    normalised["crypto"] = crypto
    return normalised


def _decrypt_once(keystore: dict[str, Any], password: str) -> bytes | None:
    """The private key, or ``None`` when the MAC does not match (wrong password)."""
    from eth_account import Account

    try:
        return bytes(Account.decrypt(keystore, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            return None
        raise CorruptKeystore("the keystore's parameters are invalid") from None
    except (KeyError, TypeError, AssertionError, OverflowError):
        raise CorruptKeystore("the keystore's parameters are invalid") from None


def _decrypt_keystore(keystore: dict[str, Any], password: str, path: Path) -> RawKeySigner:
    try:
        key = _decrypt_once(keystore, password)
        if key is None:
            # ethers normalises passwords to NFKC before deriving the key; geth does not.
            normalised = unicodedata.normalize("NFKC", password)
            if normalised != password:
                key = _decrypt_once(keystore, normalised)
    except CorruptKeystore as exc:
        raise CorruptKeystore(f"keystore {path}: {exc}") from None
    del password
    if key is None:
        raise WrongPassword(
            f"wrong password for keystore {path} (or the file's checksum was altered)"
        )
    try:
        signer = RawKeySigner(key)
    except KeyEngineError:
        raise CorruptKeystore(
            f"keystore {path} decrypted to an invalid private key (the file is damaged)"
        ) from None
    finally:
        del key
    expected = keystore.get("address")
    if isinstance(expected, str):
        if expected.lower().removeprefix("0x") != signer.address[2:].lower():
            raise CorruptKeystore(
                f"keystore {path} says it holds account 0x{expected.removeprefix('0x')} but "
                f"its key is for {signer.address}"
            )
    return signer


# --- writing ---------------------------------------------------------------------------------


def _new_encrypted_key(password: str, kdf: KdfName, iterations: int | None) -> tuple[str, bytes]:
    from eth_account import Account

    key = secp256k1.generate_private_key()
    try:
        address = address_of_public_key(secp256k1.public_key_of(key))
        try:
            document = Account.encrypt(key, password, kdf=kdf, iterations=iterations)
        except (ValueError, TypeError):
            raise KeystoreError(f"cannot encrypt a keystore with {kdf} ({iterations=})") from None
    finally:
        del key
    return address, json.dumps(document).encode("utf-8")


def _write_new_file(path: Path, data: bytes) -> None:
    """Write ``data`` to the *new* file ``path``: 0600, atomic, never replacing a file.

    The data first goes to a private temporary name (``write_private_file``: 0600 from the
    first byte, fsynced), then is hard-linked to ``path``, which fails if ``path`` appeared in
    the meantime.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.new")
    try:
        write_private_file(temp, data)
        try:
            os.link(temp, path)
        except FileExistsError:
            raise KeystoreExists(f"{path} already exists; refusing to overwrite it") from None
        except OSError:
            # A file system without hard links: check again, then rename.
            if path.exists() or path.is_symlink():
                raise KeystoreExists(f"{path} already exists; refusing to overwrite it") from None
            os.replace(temp, path)
        fsync_directory(path.parent)
    except OSError as exc:
        raise KeystoreError(f"cannot write keystore {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
