"""What ``xmtp-keys`` exit codes mean, and the one table from error type to exit code.

A script tells outcomes apart by the code alone: a negative verdict (1) is a finished check,
bad input (2) is fixed by the caller, an unreachable node or relay (3) may work on a retry, a
declined signature (4) is the person's choice, and a wrong password or keys that do not open
(5) need another secret or another wallet.  Every error type is mapped here and nowhere else:
``exit_code_of`` walks the error's class hierarchy, so a subclass inherits its family's code
unless it has a line of its own.
"""

from __future__ import annotations

from typing import Final

from app.cli.output import CliError, KeysDoNotOpen
from app.keyengine.errors import DecryptionFailed, KeyEngineError, WalletRejected, WrongWallet
from app.keyengine.network import NetworkError
from app.keyengine.wallets.jsonrpc import RpcWalletUnreachable, SignatureTimedOut
from app.keyengine.wallets.keystore import WrongPassword
from app.walletconnect.errors import (
    PairingExpired,
    RelayError,
    RelayRejected,
    RequestExpired,
    SessionDeleted,
    UserRejected,
    WalletConnectError,
)

EXIT_OK: Final = 0
EXIT_NEGATIVE: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNREACHABLE: Final = 3
EXIT_DECLINED: Final = 4
EXIT_LOCKED: Final = 5
EXIT_INTERNAL: Final = 70
"""``EX_SOFTWARE`` of sysexits.h: a bug, never an outcome a script should branch on."""
EXIT_INTERRUPTED: Final = 130
"""128 + SIGINT, as shells report a command stopped with Ctrl+C."""

EXIT_CODE_OF_ERROR: Final[dict[type[BaseException], int]] = {
    # 2: usage or bad input (files, addresses, artefacts, options)
    CliError: EXIT_USAGE,
    KeyEngineError: EXIT_USAGE,
    WalletConnectError: EXIT_USAGE,
    OSError: EXIT_USAGE,
    ValueError: EXIT_USAGE,
    RelayRejected: EXIT_USAGE,  # a missing or wrong project id: the caller's configuration
    # 3: the node, the relay or the wallet's server cannot be reached (or misbehaves)
    NetworkError: EXIT_UNREACHABLE,
    RpcWalletUnreachable: EXIT_UNREACHABLE,
    RelayError: EXIT_UNREACHABLE,
    # 4: the wallet declined, or the signature was cancelled or never given
    WalletRejected: EXIT_DECLINED,
    UserRejected: EXIT_DECLINED,
    RequestExpired: EXIT_DECLINED,
    SignatureTimedOut: EXIT_DECLINED,
    PairingExpired: EXIT_DECLINED,
    SessionDeleted: EXIT_DECLINED,
    # 5: a wrong password, or keys that do not open with this wallet
    WrongPassword: EXIT_LOCKED,
    DecryptionFailed: EXIT_LOCKED,
    WrongWallet: EXIT_LOCKED,
    KeysDoNotOpen: EXIT_LOCKED,
}
"""Error type → exit code; the most specific class in an error's MRO decides."""

EXIT_CODES_HELP: Final = """\
exit codes:
  0    success
  1    a negative verdict: lookup found no keys or invalid ones, inspect found bad signatures
  2    usage or bad input
  3    the XMTP node, the WalletConnect relay or the JSON-RPC wallet could not be reached
  4    the wallet declined, or the signature was cancelled
  5    wrong password, or keys that do not open with this wallet
  70   internal error (please report it)
  130  interrupted (Ctrl+C)"""
"""The list ``--help`` ends with (the README's "Command line" section repeats it)."""


def exit_code_of(error: BaseException) -> int | None:
    """The exit code for ``error``; ``None`` for an error no table line covers (a bug)."""
    for cls in type(error).__mro__:
        code = EXIT_CODE_OF_ERROR.get(cls)
        if code is not None:
            return code
    return None
