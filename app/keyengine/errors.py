"""Typed errors of the key engine.

Every parse, verification or decryption failure is one of these, so callers (CLI, GUI,
network code) can tell a user what went wrong without ever showing a traceback.  Messages never
contain private key material: only public keys, addresses and lengths.
"""

from __future__ import annotations


class KeyEngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidKey(KeyEngineError):
    """A key is malformed: wrong length, wrong prefix byte, not on the curve, or zero."""


class InvalidSignature(KeyEngineError):
    """A signature is malformed (length, recovery id) or of the wrong kind."""


class BadSignature(KeyEngineError):
    """A well-formed signature does not verify against the key or text it should."""


class InvalidBundle(KeyEngineError):
    """Bytes that should hold a key, bundle or contact do not decode into a valid one."""


class DecryptionFailed(KeyEngineError):
    """AEAD decryption failed: wrong secret, wrong associated data, or tampered ciphertext."""


class WrongWallet(KeyEngineError):
    """A wallet signature recovers to an account other than the expected one."""


class InvalidToken(KeyEngineError):
    """A network authentication token is malformed or does not validate."""


class TokenExpired(InvalidToken):
    """A network authentication token is older than allowed (or from the future)."""


class InvalidInvitation(KeyEngineError):
    """A sealed invitation cannot be decoded, opened or trusted."""


class InvalidMessage(KeyEngineError):
    """A conversation message cannot be decoded, decrypted or verified."""


class NoMatchingPreKey(KeyEngineError):
    """None of our private pre-keys (current or historical) matches the one a peer used."""


class JournalError(KeyEngineError):
    """The journal of work still to publish could not be read or written (see ``journal``)."""


class UnsupportedText(KeyEngineError):
    """A signer was asked to sign a text that is not one of the XMTP texts."""


class WalletRejected(KeyEngineError):
    """A wallet outside this process (JSON-RPC, WalletConnect) declined to sign.

    Every signer raises a subclass of this one when the person using the wallet said no (or the
    wallet refused the request), so flows and front ends handle a rejection the same way
    whichever wallet it came from.  Nothing was signed.
    """


class SmartContractWallet(KeyEngineError):
    """The account is a smart contract: it cannot make the plain ECDSA signature v2 needs.

    XMTP v2 recovers an ordinary (EOA) address from a 65-byte signature; a contract wallet
    answers with an EIP-1271 / ERC-6492 wrapper (longer than 65 bytes) or has code on chain.
    """

    EXPLANATION = (
        "this account is a smart-contract wallet; XMTP v2 identities need an ordinary account"
    )

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{self.EXPLANATION} ({detail})" if detail else self.EXPLANATION)
