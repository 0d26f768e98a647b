"""The exit codes of ``xmtp-keys``: one number per kind of outcome a script may act on."""

from __future__ import annotations

from typing import Final

from app.keyengine.errors import DecryptionFailed
from app.keyengine.network_errors import NetworkError

EXIT_OK: Final = 0
EXIT_INTERNAL: Final = 1
"""A bug (an exception no one expected); the line asks to report it."""
EXIT_USAGE: Final = 2
"""Bad options or bad input (files, addresses, artefacts, keystores, wallets)."""
EXIT_UNREACHABLE: Final = 3
"""The XMTP node or the WalletConnect relay cannot be reached, or misbehaves."""
EXIT_DECLINED: Final = 4
"""The wallet (or its owner) declined or cancelled the signature."""
EXIT_LOCKED: Final = 5
"""Wrong keystore password, or keys that the wallet's signature does not open."""
EXIT_INTERRUPTED: Final = 130

EPILOG: Final = (
    "exit codes: 0 ok; 1 internal error; 2 usage or bad input; 3 node or relay unreachable "
    "or misbehaving; 4 wallet declined or cancelled; 5 wrong password or keys that do not "
    "open; 130 interrupted"
)


def exit_code_for(error: Exception) -> int:
    """The exit code of an engine error (``EXIT_USAGE`` unless a more precise one applies)."""
    from app.keyengine.wallets.jsonrpc import SignatureRejected
    from app.keyengine.wallets.keystore import WrongPassword
    from app.keyengine.wallets.walletconnect.errors import RelayUnavailable, UserRejected

    if isinstance(error, NetworkError | RelayUnavailable):
        return EXIT_UNREACHABLE
    if isinstance(error, SignatureRejected | UserRejected):
        return EXIT_DECLINED
    if isinstance(error, WrongPassword | DecryptionFailed):
        return EXIT_LOCKED
    return EXIT_USAGE
