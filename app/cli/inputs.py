"""Reading what the user hands the command line: artefact files (raw, base64 or hex) and keys.

An artefact arrives as raw protobuf bytes or as text (standard or URL-safe base64, with or
without padding, or hex with an optional ``0x``), possibly wrapped across lines.  Text cannot
always be told apart by looking at it (every hex string is also valid base64), so
``decodings`` returns every plausible reading, most likely first, and the caller keeps the first
one that decodes into a valid artefact.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from app.cli.output import CliError
from app.keyengine.errors import KeyEngineError
from app.keyengine.files import read_regular_file
from app.keyengine.wallets import RawKeySigner

MAX_INPUT_BYTES: Final = 4 * 1024 * 1024
"""Far above any key artefact (a bundle is a few hundred bytes); stops reading huge files."""

MAX_KEY_FILE_BYTES: Final = 4096

_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_BASE64_STANDARD: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_BASE64_URLSAFE: Final = re.compile(r"[A-Za-z0-9_-]+={0,2}")


@dataclass(frozen=True, slots=True)
class Decoding:
    """One reading of the input: how it was encoded and the bytes it stands for."""

    encoding: str
    """``"raw"``, ``"hex"``, ``"base64"`` or ``"base64url"``."""
    data: bytes


def _read_limited(stream_name: str, read: Callable[[int], bytes]) -> bytes:
    data = read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise CliError(f"{stream_name} is larger than {MAX_INPUT_BYTES} bytes: not a key artefact")
    return data


def read_input(source: str) -> bytes:
    """The bytes of file ``source``, or of standard input when ``source`` is ``-``."""
    if source == "-":
        try:
            return _read_limited("standard input", sys.stdin.buffer.read)
        except OSError as exc:
            raise CliError(f"cannot read standard input: {exc.strerror or exc}") from None
    try:
        return _read_limited(
            f"file {source}", lambda limit: read_regular_file(Path(source), limit - 1)
        )
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror or exc}") from None


def _text_of(data: bytes) -> str | None:
    """The input as text when it is printable ASCII (plus whitespace), else ``None``."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch.isspace() for ch in text):
        return text
    return None


def _from_hex(text: str) -> bytes | None:
    cleaned = text.removeprefix("0x").removeprefix("0X")
    if len(cleaned) % 2 or not _HEX.fullmatch(cleaned):
        return None
    return bytes.fromhex(cleaned)


def _from_base64(text: str, pattern: re.Pattern[str], *, urlsafe: bool) -> bytes | None:
    if not pattern.fullmatch(text):
        return None
    bare = text.rstrip("=")
    if len(bare) % 4 == 1:
        return None
    padded = bare + "=" * (-len(bare) % 4)
    if urlsafe:
        padded = padded.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def decodings(data: bytes) -> list[Decoding]:
    """Every plausible reading of ``data``, most likely first (hex, base64, then raw bytes)."""
    if not data.strip():
        raise CliError("the input is empty")
    readings: list[Decoding] = []
    text = _text_of(data)
    if text is not None:
        compact = "".join(text.split())
        for encoding, decoded in (
            ("hex", _from_hex(compact)),
            ("base64", _from_base64(compact, _BASE64_STANDARD, urlsafe=False)),
            ("base64url", _from_base64(compact, _BASE64_URLSAFE, urlsafe=True)),
        ):
            if decoded and all(decoded != seen.data for seen in readings):
                readings.append(Decoding(encoding, decoded))
    readings.append(Decoding("raw", data))
    return readings


def read_wallet_key(path: str) -> RawKeySigner:
    """A signer for the hex private key in file ``path`` (optional ``0x``, whitespace ignored).

    Error messages name the file and what is wrong with it, never its content.
    """
    try:
        raw = read_regular_file(Path(path), MAX_KEY_FILE_BYTES)
    except OSError as exc:
        raise CliError(f"cannot read wallet key file {path}: {exc.strerror or exc}") from None
    problem = f"wallet key file {path} must hold a 32-byte private key in hex"
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise CliError(problem)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CliError(problem) from None
    if not text.strip():
        raise CliError(f"wallet key file {path} is empty")
    try:
        return RawKeySigner.from_hex(text)
    except ValueError:
        raise CliError(problem) from None
    except KeyEngineError as exc:
        raise CliError(f"{problem} ({exc})") from None
