"""Typed outcomes of WalletConnect, so a front end can phrase each one without a traceback.

A declined or expired request is a normal outcome of asking a person, not a crash: callers
catch ``UserRejected`` / ``RequestExpired`` and tell the user, and only unexpected failures
(a relay that refuses us, a wallet that breaks the protocol) need more attention.
"""

from __future__ import annotations

from app.walletconnect.constants import USER_REJECTED_CODES


class WalletConnectError(Exception):
    """Base class of every error raised on purpose by the WalletConnect package.

    The package stands alone (it knows nothing of XMTP), so this derives from ``Exception``;
    the engine's WalletConnect signer turns the outcomes a person causes (declined, expired)
    into the engine's own signer errors.
    """


class EnvelopeError(WalletConnectError):
    """An envelope is malformed, of an unsupported type, or does not decrypt (tampered)."""


class InvalidPairingUri(WalletConnectError):
    """A ``wc:`` URI does not follow the pairing URI grammar (or its topic is inconsistent)."""


class ProjectIdMissing(WalletConnectError):
    """No WalletConnect project id was configured (the production relay requires one)."""


class RelayError(WalletConnectError):
    """The relay answered a request with an error, or did not answer in time."""


class RelayUnavailable(RelayError):
    """The relay cannot be reached (or the connection was closed for good)."""


class RelayRejected(RelayUnavailable):
    """The relay refused us: bad or missing project id, or an unauthorised origin (close 3000)."""


class PairingExpired(WalletConnectError):
    """The pairing URI expired before a wallet approved the session."""


class SessionRefused(WalletConnectError):
    """The wallet approved a session we cannot use (no account, wrong chain, no personal_sign)."""


class SessionDeleted(WalletConnectError):
    """The session was ended (by the wallet, or by us): connect the wallet again."""


class SessionExpired(SessionDeleted):
    """The session passed its expiry: connect the wallet again."""


class NoSession(WalletConnectError):
    """There is no live session to send a request on."""


class RequestExpired(WalletConnectError):
    """The wallet did not answer before the request expired."""


class UserRejected(WalletConnectError):
    """The wallet (or the person using it) declined, or answered with a JSON-RPC error.

    ``code`` is the wallet's JSON-RPC error code: 5000 (CAIP-25) and 4001 (EIP-1193) mean the
    person said no; anything else is a wallet that could not or would not sign.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def by_user(self) -> bool:
        """True for the codes that mean "the person declined" rather than a wallet failure."""
        return self.code in USER_REJECTED_CODES


class ProtocolViolation(WalletConnectError):
    """The wallet sent something the protocol does not allow (malformed answer or payload)."""


class ContractSignature(ProtocolViolation):
    """The wallet answered with a signature longer than 65 bytes: a smart-contract account's
    (an EIP-1271 / ERC-6492 wrapper), not the plain ECDSA signature ``personal_sign`` gives."""

    def __init__(self, length: int) -> None:
        super().__init__(f"the wallet's signature has {length} bytes, not 65")
        self.length = length
