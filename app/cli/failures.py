"""Error sentences for a person: what failed, where, and what to check, without internals.

Most engine errors already read as sentences and are shown as they are.  A few carry the words
of the library underneath (aiohttp's "ssl:default [Connect call failed …]", an exception class
name): for those the command line says itself which node, relay or wallet could not be reached
and what to check, from the options the user gave.  The exit code of each error is decided in
``app.cli.exit_codes``, not here.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from app.keyengine.errors import WalletRejected
from app.keyengine.network import NetworkError, NodeRejected, NodeUnreachable
from app.keyengine.wallets.jsonrpc import RpcWalletUnreachable, SignatureTimedOut
from app.walletconnect.errors import (
    PairingExpired,
    RelayRejected,
    RelayUnavailable,
    RequestExpired,
    UserRejected,
)

EMBEDDED_NODE = "the node built into xmtp-keys"
PROJECT_ID_HINT = "--project-id ID or XMTP_COMPANION_WC_PROJECT_ID"


def shown_url(url: str) -> str:
    """``url`` as it may be shown: without ``user:password@``, query or fragment."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=netloc, query="", fragment="").geturl()
    except ValueError:
        return "(an unreadable URL)"


def _node(args: argparse.Namespace | None) -> str:
    url = getattr(args, "node", None)
    return EMBEDDED_NODE if not url else f"the XMTP node at {shown_url(url)}"


def _unreachable_node(args: argparse.Namespace | None) -> str:
    if not getattr(args, "node", None):
        return (
            f"cannot reach {EMBEDDED_NODE}; check that the data directory (--data-dir) is "
            "writable, or give --node URL"
        )
    return (
        f"cannot reach {_node(args)}; check that the node is running and that --node names "
        "it (http://host:port), or leave out --node to use the node built into xmtp-keys"
    )


def _relay(args: argparse.Namespace | None) -> str:
    relay = getattr(args, "relay", None)
    return "the WalletConnect relay" + (f" at {shown_url(relay)}" if relay else "")


def describe_failure(error: BaseException, args: argparse.Namespace | None) -> str:
    """One sentence for ``error``, naming what the user gave (``args``) where that helps."""
    match error:
        case NodeUnreachable():
            return _unreachable_node(args)
        case NodeRejected():
            reason = str(error).removeprefix("the XMTP node refused the request: ")
            return f"{_node(args)} refused the request: {reason}"
        case NetworkError():
            return f"{_node(args)} did not answer as an XMTP node should: {error}"
        case RpcWalletUnreachable():
            url = getattr(args, "rpc_wallet", None)
            where = f" at {shown_url(url)}" if url else ""
            return (
                f"cannot reach the wallet{where} (--rpc-wallet); check that the wallet is "
                "running and answers JSON-RPC at that URL"
            )
        case RelayRejected():
            return (
                f"{_relay(args)} refused the connection; check the WalletConnect project id "
                f"({PROJECT_ID_HINT})"
            )
        case RelayUnavailable():
            return f"cannot reach {_relay(args)}; check the internet connection, or the --relay URL"
        case WalletRejected() | UserRejected():
            return "the wallet declined to sign; nothing was changed"
        case RequestExpired() | SignatureTimedOut():
            return "the wallet did not answer the signature request in time; nothing was changed"
        case PairingExpired():
            return "no wallet approved the pairing before it expired; run the command again"
    return str(error)
