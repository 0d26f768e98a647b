"""Every failure as a plain sentence with a way forward (never a traceback).

``explain`` maps the engine's typed errors (``KeyEngineError`` subclasses) and the few
non-engine ones a front end meets (``OSError`` on files, ``ValueError`` on typed addresses) to a
title, a message and what to do next.  The engine's own message is kept as the detail: it names
the file, URL or address involved and never holds key material.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from app.companion.qt import translate
from app.companion.signing import SignatureDeclined, SigningCancelled
from app.keyengine import errors as engine
from app.keyengine.network import (
    NetworkError,
    NodeMisbehaving,
    NodeRejected,
    NodeUnreachable,
    Unauthenticated,
)
from app.keyengine.vault import DamagedKeyringEntry, VaultError
from app.keyengine.wallets import jsonrpc, keystore
from app.walletconnect import errors as wc

_CTX = "Errors"


@dataclass(frozen=True, slots=True)
class Explanation:
    title: str
    message: str
    hint: str = ""
    detail: str = ""
    quiet: bool = False
    """True for outcomes the person chose (declined, cancelled): shown inline, no dialog."""


def _t(text: str) -> str:
    return translate(_CTX, text)


# (error type, title, message, hint, quiet) — the first matching row wins, so subclasses first.
_TABLE: tuple[tuple[type[BaseException], str, str, str, bool], ...] = (
    (
        SignatureDeclined,
        "You declined",
        "You declined the signature, so nothing was changed.",
        "Start again whenever you are ready.",
        True,
    ),
    (
        SigningCancelled,
        "Cancelled",
        "You stopped waiting for your wallet; nothing was changed.",
        "Start again when your wallet is at hand.",
        True,
    ),
    (
        engine.WalletRejected,
        "You declined",
        "Your wallet declined the signature, so nothing was changed.",
        "Start again and approve the request in your wallet.",
        True,
    ),
    (
        keystore.WrongPassword,
        "Wrong password",
        "That password does not unlock this keystore file.",
        "Check the password (it is case-sensitive) and try again.",
        False,
    ),
    (
        keystore.KeystoreExists,
        "File already exists",
        "A file with that name already exists and was left untouched.",
        "Choose another file name for the new keystore.",
        False,
    ),
    (
        keystore.CorruptKeystore,
        "Not a usable keystore",
        "This file is not a valid Ethereum keystore, or it is damaged.",
        "Choose the keystore (UTC--… JSON) file your wallet exported.",
        False,
    ),
    (
        keystore.KdfTooCostly,
        "Keystore too costly to open",
        "This keystore asks for far more memory or time to unlock than standard wallets use, "
        "so it was not opened.",
        "Export the account again from your wallet with its standard settings.",
        False,
    ),
    (
        keystore.UnsupportedKeystore,
        "Unsupported keystore",
        "This keystore uses a format or setting this app does not support.",
        "Export the account again from your wallet as a standard V3 keystore.",
        False,
    ),
    (
        keystore.KeystoreError,
        "Keystore problem",
        "The keystore file could not be used.",
        "Check that the file exists and that you may read it.",
        False,
    ),
    (
        jsonrpc.RpcWalletUnreachable,
        "Wallet not reachable",
        "Nothing answers at the wallet URL.",
        "Start your wallet (or its local RPC server) and check the URL.",
        False,
    ),
    (
        jsonrpc.AccountNotAvailable,
        "Account not available",
        "The wallet does not offer the account this app needs.",
        "Unlock the wallet and allow this app to use the account, then try again.",
        False,
    ),
    (
        jsonrpc.RpcWalletError,
        "Wallet error",
        "The wallet could not complete the request.",
        "Check the wallet, then try again.",
        False,
    ),
    (
        wc.UserRejected,
        "You declined",
        "Your wallet declined the request, so nothing was changed.",
        "Start again and approve the request in your wallet.",
        True,
    ),
    (
        wc.PairingExpired,
        "Pairing expired",
        "The QR code expired before a wallet connected.",
        "Start WalletConnect again and scan the new code.",
        False,
    ),
    (
        wc.RequestExpired,
        "Request expired",
        "Your wallet did not answer in time.",
        "Start again and approve the request in your wallet promptly.",
        False,
    ),
    (
        wc.RelayRejected,
        "Relay refused the app",
        "The WalletConnect relay refused this app.",
        "Check the WalletConnect project id in Settings.",
        False,
    ),
    (
        wc.ProjectIdMissing,
        "Project id needed",
        "WalletConnect needs a project id.",
        "Enter your WalletConnect project id in Settings.",
        False,
    ),
    (
        wc.RelayUnavailable,
        "Relay not reachable",
        "The WalletConnect relay cannot be reached.",
        "Check your internet connection and the relay URL in Settings.",
        False,
    ),
    (
        wc.SessionDeleted,
        "Wallet disconnected",
        "The WalletConnect session has ended.",
        "Connect your wallet again from the Connect screen.",
        False,
    ),
    (
        wc.WalletConnectError,
        "WalletConnect problem",
        "The WalletConnect wallet could not complete the request.",
        "Try again, or connect the wallet again.",
        False,
    ),
    (
        NodeUnreachable,
        "Node not reachable",
        "The XMTP node cannot be reached right now. Anything already changed is kept on this "
        "machine and will be sent when the node is back.",
        "Check the node in Settings (or your connection), then try again.",
        False,
    ),
    (
        Unauthenticated,
        "Node refused the request",
        "The XMTP node did not accept this app's credentials.",
        "Try again; if it persists, check the node in Settings.",
        False,
    ),
    (
        NodeRejected,
        "Node refused the request",
        "The XMTP node refused the request.",
        "Try again later, or choose another node in Settings.",
        False,
    ),
    (
        NodeMisbehaving,
        "Node misbehaving",
        "The XMTP node answered with something malformed, too large or without end, so this "
        "app stopped listening to it. Nothing was changed.",
        "Choose another node in Settings, or tell the node's operator.",
        False,
    ),
    (
        NetworkError,
        "Network problem",
        "Talking to the XMTP node failed.",
        "Check the node in Settings, then try again.",
        False,
    ),
    (
        DamagedKeyringEntry,
        "Damaged key store entry",
        "The keys this machine kept for the wallet are damaged and cannot be used.",
        "Connect the wallet again: its keys are unlocked from the node and saved anew.",
        False,
    ),
    (
        VaultError,
        "Cannot use the key store",
        "The keys could not be read from or saved to this machine's key store.",
        "Unlock your OS keyring, or turn off “Remember keys” in Settings.",
        False,
    ),
    (
        engine.JournalError,
        "Cannot use the data folder",
        "The work still to publish could not be read from or saved to this machine's data folder.",
        "Check that the data folder is yours, writable and not full, then try again.",
        False,
    ),
    (
        engine.SmartContractWallet,
        "Smart-contract wallet",
        "This account is a smart-contract wallet; XMTP v2 identities need an ordinary account.",
        "Connect an ordinary account (one with its own private key) instead.",
        False,
    ),
    (
        engine.WrongWallet,
        "Different wallet",
        "These keys belong to another wallet than the one connected.",
        "Connect the wallet that created these keys.",
        False,
    ),
    (
        engine.DecryptionFailed,
        "Keys do not open",
        "Your wallet's signature does not open these stored keys.",
        "Make sure you connected the same wallet (and account) that created them.",
        False,
    ),
    (
        engine.UnsupportedText,
        "Refused to sign",
        "The app refused to sign a text that is not an XMTP identity text.",
        "Nothing was signed. Please report this: it should never happen.",
        False,
    ),
    (
        engine.InvalidBundle,
        "Not an XMTP key file",
        "The data is not a valid XMTP key bundle.",
        "Choose a backup file exported by this app or by xmtp-keys.",
        False,
    ),
    (
        engine.KeyEngineError,
        "Something did not check out",
        "The keys or signatures involved did not pass a check.",
        "Nothing was changed. Try again, or look at the details below.",
        False,
    ),
)


def explain(error: BaseException) -> Explanation:
    if isinstance(error, asyncio.CancelledError):
        return Explanation(_t("Cancelled"), _t("You cancelled; nothing was changed."), quiet=True)
    detail = str(error)
    for kind, title, message, hint, quiet in _TABLE:
        if isinstance(error, kind):
            return Explanation(_t(title), _t(message), _t(hint), detail, quiet)
    if isinstance(error, FileNotFoundError):
        return Explanation(
            _t("File not found"),
            _t("The file does not exist."),
            _t("Choose the file again."),
            detail,
        )
    if isinstance(error, PermissionError):
        return Explanation(
            _t("Not allowed"),
            _t("You may not read or write that file."),
            _t("Choose a file in a folder you own."),
            detail,
        )
    if isinstance(error, OSError):
        return Explanation(
            _t("File problem"),
            _t("The file could not be read or written."),
            _t("Check the disk and the file name, then try again."),
            error.strerror or detail,
        )
    if isinstance(error, ValueError):
        return Explanation(
            _t("Not valid"),
            _t("What you entered is not valid."),
            _t("Check it and try again."),
            detail,
        )
    return Explanation(
        _t("Unexpected problem"),
        _t("Something unexpected went wrong; nothing was changed."),
        _t("Try again. If it happens again, please report it with the details."),
        f"{type(error).__name__}: {detail}",
    )
