"""A signer unlocked from an Ethereum V3 keystore file (scrypt or pbkdf2), and creating one.

The key derivation is slow on purpose (scrypt n=262144 takes most of a second).  Unlocking
checks the file's structure and its KDF cost (``kdf.cost_problem``: at most four times the
standard geth/ethers parameters) before any work, then derives the key in a child process that
is killed when the unlock is cancelled (``kdf.derive_key``), and checks the MAC and decrypts
(AES-128-CTR) here, as the Web3 Secret Storage definition says.  Creating a keystore runs in a
worker thread.  Either way a GUI event loop keeps running.  Passwords are used once and never
kept; the private key lives only inside the signer and appears in no repr, message, exception
or log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from app.keyengine import json_input
from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.ethereum import address_of_public_key, to_checksum_address
from app.keyengine.crypto.hashes import keccak256
from app.keyengine.errors import KeyEngineError
from app.keyengine.files import fsync_directory, read_regular_file, write_private_file
from app.keyengine.wallets.kdf import KdfParams, cost_problem, derive_key
from app.keyengine.wallets.raw_key import RawKeySigner

KdfName = Literal["scrypt", "pbkdf2"]

MAX_KEYSTORE_BYTES: Final = 64 * 1024
"""A V3 keystore is about 500 bytes; larger files are not keystores."""


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


class KdfTooCostly(UnsupportedKdf):
    """The keystore asks for more KDF memory or time than the stated multiple of the standard."""


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
        signer = await _decrypt_keystore(keystore, password, file)
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
        data = read_regular_file(path, MAX_KEYSTORE_BYTES)
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


def _check_kdf(crypto: dict[str, Any], path: Path) -> KdfParams:
    """The KDF parameters once checked for shape and cost (before any derivation)."""
    kdf = crypto.get("kdf")
    params = crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise CorruptKeystore(f"keystore {path} has no KDF parameters")
    salt = _hex_field(params, "salt", path, None)
    if _int_field(params, "dklen", path) != 32:
        raise UnsupportedKdf(f"keystore {path}: only 32-byte derived keys are supported")
    if kdf == "scrypt":
        n, r, p = (_int_field(params, name, path) for name in ("n", "r", "p"))
        if n < 2 or n & (n - 1):
            raise CorruptKeystore(f"keystore {path}: scrypt n={n} is not a power of two")
        checked = KdfParams("scrypt", salt, 32, n=n, r=r, p=p)
    elif kdf == "pbkdf2":
        if params.get("prf") != "hmac-sha256":
            raise UnsupportedKdf(f"keystore {path}: pbkdf2 is supported with hmac-sha256 only")
        checked = KdfParams("pbkdf2", salt, 32, rounds=_int_field(params, "c", path))
    else:
        shown = kdf if isinstance(kdf, str) else type(kdf).__name__
        raise UnsupportedKdf(
            f"keystore {path} uses key derivation {shown[:40]!r}; only scrypt and pbkdf2 are "
            "supported"
        )
    problem = cost_problem(checked)
    if problem is not None:
        raise KdfTooCostly(f"keystore {path} refused before unlocking: {problem}")
    return checked


@dataclass(frozen=True, slots=True)
class _Keystore:
    """The parts of a checked V3 keystore that unlocking needs."""

    kdf: KdfParams
    iv: bytes
    ciphertext: bytes = field(repr=False)
    mac: bytes
    address: str | None


def _parse_keystore(data: bytes, path: Path) -> _Keystore:
    """The keystore's parts once its structure and KDF cost are checked (before any work)."""
    try:
        document = json_input.loads(data)
    except (json_input.JsonTooDeep, RecursionError):
        raise CorruptKeystore(f"{path} is not a keystore file (JSON nested too deeply)") from None
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
    iv = _hex_field(cipherparams, "iv", path, 16)
    ciphertext = _hex_field(crypto, "ciphertext", path, 32)
    mac = _hex_field(crypto, "mac", path, 32)
    kdf = _check_kdf(crypto, path)
    address = document.get("address")
    if address is not None:
        address = "0x" + _hex_field(document, "address", path, 20).hex()
    return _Keystore(kdf, iv, ciphertext, mac, address)


async def _private_key(keystore: _Keystore, password: str, path: Path) -> bytes | None:
    """The private key, or ``None`` when the MAC does not match (wrong password)."""
    try:
        derived = await derive_key(keystore.kdf, password.encode("utf-8"))
    except ValueError:
        raise CorruptKeystore(f"keystore {path}: its KDF parameters are invalid") from None
    expected = keccak256(derived[16:32] + keystore.ciphertext)
    if not hmac.compare_digest(expected, keystore.mac):
        return None
    decryptor = Cipher(algorithms.AES(derived[:16]), modes.CTR(keystore.iv)).decryptor()
    del derived
    return decryptor.update(keystore.ciphertext) + decryptor.finalize()


async def _decrypt_keystore(keystore: _Keystore, password: str, path: Path) -> RawKeySigner:
    key = await _private_key(keystore, password, path)
    if key is None:
        # ethers normalises passwords to NFKC before deriving the key; geth does not.
        normalised = unicodedata.normalize("NFKC", password)
        if normalised != password:
            key = await _private_key(keystore, normalised, path)
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
    if keystore.address is not None and keystore.address != signer.address.lower():
        raise CorruptKeystore(
            f"keystore {path} says it holds account {keystore.address} but its key is for "
            f"{signer.address}"
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
