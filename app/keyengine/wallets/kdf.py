"""Keystore key derivation (scrypt, pbkdf2) with a cost ceiling, in a process that can be killed.

A keystore file states its own KDF cost, so a hostile one can ask for a week of work or more
memory than the machine has.  ``cost_problem`` refuses, before any work, whatever exceeds
``COST_MULTIPLE`` times the standard parameters of geth and eth-account keystores, per parameter
and in total.  The derivation itself runs in a child process (``multiprocessing`` "spawn": no
state of this process is copied) that is killed when the awaiting task is cancelled, so
Ctrl-C or a Cancel button stops an unlock at once instead of waiting for the KDF to end.
The password goes to the child through a pipe and the derived key comes back the same way;
neither ever touches a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Final

COST_MULTIPLE: Final = 4
"""How far above the standard parameters a keystore may go."""

STANDARD_SCRYPT_N: Final = 1 << 18
"""geth's ``StandardScryptN`` (eth-account's default too); ethers uses 2**17."""
STANDARD_SCRYPT_R: Final = 8
STANDARD_SCRYPT_P: Final = 6
"""The largest ``p`` of a standard keystore: geth's light keystores (n=4096, p=6)."""
STANDARD_SCRYPT_WORK: Final = STANDARD_SCRYPT_N * STANDARD_SCRYPT_R * 1
"""n·r·p of geth's standard keystore (p=1): the time it takes, in units of scrypt blocks."""
STANDARD_PBKDF2_ROUNDS: Final = 1_000_000
"""eth-account's default for pbkdf2 keystores (geth writes only scrypt)."""

MAX_SCRYPT_N: Final = COST_MULTIPLE * STANDARD_SCRYPT_N
MAX_SCRYPT_R: Final = COST_MULTIPLE * STANDARD_SCRYPT_R
MAX_SCRYPT_P: Final = COST_MULTIPLE * STANDARD_SCRYPT_P
MAX_SCRYPT_WORK: Final = COST_MULTIPLE * STANDARD_SCRYPT_WORK
MAX_SCRYPT_MEMORY: Final = COST_MULTIPLE * 128 * STANDARD_SCRYPT_R * STANDARD_SCRYPT_N
"""1 GiB: four times the 256 MiB (128·r·n) of geth's standard keystore."""
MAX_PBKDF2_ROUNDS: Final = COST_MULTIPLE * STANDARD_PBKDF2_ROUNDS

_START_METHOD: Final = "spawn"


@dataclass(frozen=True, slots=True)
class KdfParams:
    """What the derivation needs from a keystore's ``kdfparams`` (already type-checked)."""

    kdf: str
    """``"scrypt"`` or ``"pbkdf2"`` (hmac-sha256)."""
    salt: bytes = field(repr=False)
    dklen: int
    n: int = 0
    r: int = 0
    p: int = 0
    rounds: int = 0


def scrypt_memory(n: int, r: int, p: int) -> int:
    """Bytes scrypt needs: the n·128·r-byte table plus the p·128·r-byte working blocks."""
    return 128 * r * (n + p + 2)


def cost_problem(params: KdfParams) -> str | None:
    """Why ``params`` cost too much, in words for the user; ``None`` when they are acceptable."""
    limit = f"more than {COST_MULTIPLE}× the standard cost of geth/ethers keystores"
    if params.kdf == "scrypt":
        n, r, p = params.n, params.r, params.p
        if (
            n > MAX_SCRYPT_N
            or r > MAX_SCRYPT_R
            or p > MAX_SCRYPT_P
            or n * r * p > MAX_SCRYPT_WORK
            or 128 * r * n > MAX_SCRYPT_MEMORY
        ):
            return (
                f"scrypt n={n}, r={r}, p={p} is {limit} (allowed: n ≤ {MAX_SCRYPT_N}, "
                f"r ≤ {MAX_SCRYPT_R}, p ≤ {MAX_SCRYPT_P}, n·r·p ≤ {MAX_SCRYPT_WORK}, "
                f"memory ≤ {MAX_SCRYPT_MEMORY >> 20} MiB)"
            )
    elif params.rounds > MAX_PBKDF2_ROUNDS:
        return f"pbkdf2 with {params.rounds} rounds is {limit} (allowed: ≤ {MAX_PBKDF2_ROUNDS})"
    return None


def derive_now(params: KdfParams, password: bytes) -> bytes:
    """The derived key, computed here (OpenSSL through ``hashlib``).  Check the cost first."""
    if params.kdf == "scrypt":
        return hashlib.scrypt(
            password,
            salt=params.salt,
            n=params.n,
            r=params.r,
            p=params.p,
            maxmem=scrypt_memory(params.n, params.r, params.p) + (1 << 20),
            dklen=params.dklen,
        )
    return hashlib.pbkdf2_hmac("sha256", password, params.salt, params.rounds, params.dklen)


def _child(params: KdfParams, password: bytes, sender: Connection) -> None:
    """Entry point of the derivation process: derive, send the key back, exit."""
    # Ctrl-C reaches the whole terminal process group; the parent decides (and kills us).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sender.send(derive_now(params, password))
    except (ValueError, MemoryError) as exc:
        sender.send(f"{type(exc).__name__}: {exc}")
    finally:
        sender.close()


def _receive(receiver: Connection) -> bytes | str | None:
    """What the child sent (key or error text), or ``None`` if it died first."""
    try:
        result: bytes | str = receiver.recv()
        return result
    except (EOFError, OSError):
        return None
    finally:
        receiver.close()


async def derive_key(params: KdfParams, password: bytes) -> bytes:
    """The derived key, computed in a child process that is killed if this task is cancelled.

    Raises ``ValueError`` when the derivation fails (parameters OpenSSL refuses, or the child
    died).  The caller must have checked ``cost_problem`` first.
    """
    context = multiprocessing.get_context(_START_METHOD)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(params, password, sender), daemon=True)
    try:
        process.start()
    except BaseException:
        receiver.close()
        raise
    finally:
        sender.close()
    try:
        result = await asyncio.to_thread(_receive, receiver)
    finally:
        if process.is_alive():
            process.kill()
        process.join(timeout=2)  # at once: it has sent its result, or it was just killed
    if isinstance(result, bytes):
        return result
    raise ValueError(result or "the key derivation process ended without a result")
