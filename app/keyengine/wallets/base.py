"""The signer protocol every wallet connector implements, and the one way the engine uses it.

``request_signature`` is the single path from the engine to a wallet: it tells the observer
(GUI prompt, CLI event line) what is about to be signed, asks the signer, and checks that the
signature really recovers to the signer's account before anything relies on it.

Some wallets answer a new request with the signature of the previous one (Ledger Live on iOS
did; xmtp-js asks again once).  A signature that does not recover to the account is therefore
asked for once more with the same prompt, and only then refused with ``WrongWallet``: nothing is
ever accepted or created from a signature that does not recover.  A signature longer than 65
bytes is a smart-contract wallet's wrapper (EIP-1271 / ERC-6492): ``SmartContractWallet``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from app.keyengine.crypto.ethereum import (
    address_bytes_of_public_key,
    address_of_public_key,
    to_checksum_address,
)
from app.keyengine.crypto.hashes import eip191_digest
from app.keyengine.errors import SmartContractWallet, WrongWallet
from app.keyengine.keys import Signature
from app.keyengine.texts import SignatureRequest


@runtime_checkable
class WalletSigner(Protocol):
    """An Ethereum account that can ``personal_sign`` UTF-8 text."""

    @property
    def address(self) -> str:
        """EIP-55 address of the account."""
        ...

    async def sign_personal(self, text: str) -> bytes:
        """65-byte ``r || s || v`` EIP-191 signature of ``text``."""
        ...


SignatureObserver = Callable[[SignatureRequest, str], None]
"""Called with ``(request, address)`` just before a signer is asked for a signature."""


def recover_personal_sign_address(text: str, signature: Signature) -> str:
    """EIP-55 address whose key made ``signature`` over the EIP-191 digest of ``text``."""
    return address_of_public_key(signature.recover(eip191_digest(text.encode("utf-8"))))


STALE_SIGNATURE_RETRIES: Final = 1
"""How many times a signature that does not recover is asked for again (as xmtp-js does)."""

_SIGNATURE_BYTES: Final = 65


async def request_signature(
    signer: WalletSigner,
    request: SignatureRequest,
    observer: SignatureObserver | None = None,
    *,
    verify: bool = True,
    retries: int = STALE_SIGNATURE_RETRIES,
) -> bytes:
    """Ask ``signer`` to sign ``request.text`` and return the 65 bytes with v normalised to 27/28.

    With ``verify`` (the default) a signature that recovers to another account (a stale one
    for an earlier request, another key, a tampered relay) is asked for again up to
    ``retries`` times, each time announced to the observer like the first, then refused with
    ``WrongWallet``.  Callers whose next step authenticates the signature anyway (decrypting a
    stored bundle) may skip the check and call ``check_signer`` only when that step fails.
    ``SmartContractWallet`` for a contract wallet's long signature, ``InvalidSignature`` when
    malformed.
    """
    for attempt in range(retries + 1):
        if observer is not None:
            observer(request, signer.address)
        try:
            raw = bytes(await signer.sign_personal(request.text))
            if len(raw) > _SIGNATURE_BYTES:
                raise SmartContractWallet(f"its signature has {len(raw)} bytes, not 65")
            wallet_bytes = Signature.from_wallet_bytes(raw, by_wallet=False).to_wallet_bytes()
            if verify:
                check_signer(signer.address, request, wallet_bytes)
            return wallet_bytes
        except WrongWallet as exc:
            if attempt == retries:
                if retries:
                    raise WrongWallet(
                        f"{exc} (asked {retries + 1} times; a wallet that answers with the "
                        "signature of an earlier request does this)"
                    ) from None
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def check_signer(address: str, request: SignatureRequest, wallet_signature: bytes) -> None:
    """Raise ``WrongWallet`` unless ``wallet_signature`` over the request is ``address``'s."""
    signature = Signature.from_wallet_bytes(wallet_signature, by_wallet=False)
    digest = eip191_digest(request.text.encode("utf-8"))
    recovered = address_bytes_of_public_key(signature.recover(digest))
    if recovered.hex() != address[2:].lower():
        shown = to_checksum_address("0x" + recovered.hex())
        raise WrongWallet(f"the wallet signature recovers to {shown}, not to {address}")


@runtime_checkable
class ClosableSigner(WalletSigner, Protocol):
    """A signer that holds something to release (an HTTP session, a relay connection)."""

    async def aclose(self) -> None: ...


async def close_signer(signer: WalletSigner) -> None:
    """Release what ``signer`` holds; nothing to do for signers that hold nothing (raw keys)."""
    if isinstance(signer, ClosableSigner):
        await signer.aclose()
