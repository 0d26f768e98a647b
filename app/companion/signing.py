"""``PromptingSigner``: every wallet signature goes through a prompt the person sees first.

The engine builds the exact text; ``classify_text`` turns it back into the ``SignatureRequest``
value (and refuses anything that is not an XMTP identity text); the prompt renders that value;
only then, and only with that same text, is the real signer asked.

* For signers that live in this process (keystore, raw key) the prompt *is* the approval:
  Reject raises ``SignatureDeclined``.
* For wallets elsewhere (JSON-RPC, WalletConnect) the prompt says "approve in your wallet",
  shows the same text for comparison, and its Cancel cancels the waiting request
  (``SigningCancelled``).

No Qt here: the prompt is a protocol; the Qt dialog implements it in ``views.sign_dialog``.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from app.keyengine.errors import KeyEngineError
from app.keyengine.texts import SignatureRequest, classify_text
from app.keyengine.wallets.base import WalletSigner
from app.keyengine.wallets.closing import close_signer


class SignatureDeclined(KeyEngineError):
    """The person rejected a signature request in the app's prompt."""


class SigningCancelled(KeyEngineError):
    """The person stopped waiting for their wallet to answer a signature request."""


class SignerKind(enum.Enum):
    KEYSTORE = "keystore"
    RAW_KEY = "rawkey"
    JSON_RPC = "jsonrpc"
    WALLETCONNECT = "walletconnect"

    @property
    def approves_in_app(self) -> bool:
        """True when the app's prompt is the approval (the key is held by this process)."""
        return self in (SignerKind.KEYSTORE, SignerKind.RAW_KEY)


class Outcome(enum.Enum):
    SIGNED = "signed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SignatureRecord:
    """One signature request and how it ended (kept in the activity log; no secret)."""

    purpose: str
    text: str
    address: str
    signer: str
    outcome: Outcome
    time: float
    detail: str = ""


class WalletWait(Protocol):
    """A visible "approve in your wallet" prompt; ``cancelled`` completes if the person gives up."""

    @property
    def cancelled(self) -> Awaitable[None]: ...

    def close(self) -> None: ...


class SignaturePrompter(Protocol):
    """What the GUI provides: an approval prompt and a waiting prompt."""

    async def approve(self, request: SignatureRequest, address: str, kind: SignerKind) -> bool:
        """Show ``request`` and return True on Approve, False on Reject."""
        ...

    def waiting(self, request: SignatureRequest, address: str, kind: SignerKind) -> WalletWait:
        """Show ``request`` while a wallet elsewhere is asked; closed by the caller."""
        ...


Recorder = Callable[[SignatureRecord], None]


class PromptingSigner:
    """Wraps a ``WalletSigner`` so that every signature is shown (and, locally, approved) first."""

    def __init__(
        self,
        inner: WalletSigner,
        kind: SignerKind,
        prompter: SignaturePrompter,
        record: Recorder | None = None,
    ) -> None:
        self.inner = inner
        self.kind = kind
        self._prompter = prompter
        self._record = record

    @property
    def address(self) -> str:
        return self.inner.address

    def __repr__(self) -> str:
        return f"PromptingSigner({self.kind.value}, {self.inner.address})"

    def _log(self, request: SignatureRequest, outcome: Outcome, detail: str = "") -> None:
        if self._record is not None:
            self._record(
                SignatureRecord(
                    request.purpose.value,
                    request.text,
                    self.address,
                    self.kind.value,
                    outcome,
                    time.time(),
                    detail,
                )
            )

    async def sign_personal(self, text: str) -> bytes:
        request = classify_text(text)
        try:
            if self.kind.approves_in_app:
                signature = await self._sign_local(request)
            else:
                signature = await self._sign_remote(request)
        except SignatureDeclined as exc:
            self._log(request, Outcome.DECLINED, str(exc))
            raise
        except (SigningCancelled, asyncio.CancelledError):
            self._log(request, Outcome.CANCELLED)
            raise
        except Exception as exc:
            self._log(request, Outcome.FAILED, type(exc).__name__)
            raise
        self._log(request, Outcome.SIGNED)
        return signature

    async def _sign_local(self, request: SignatureRequest) -> bytes:
        if not await self._prompter.approve(request, self.address, self.kind):
            raise SignatureDeclined("you declined the signature request")
        # Only the text the person saw (rebuilt from the classified value) goes to the key.
        return await self.inner.sign_personal(request.text)

    async def _sign_remote(self, request: SignatureRequest) -> bytes:
        wait = self._prompter.waiting(request, self.address, self.kind)
        signing = asyncio.ensure_future(self.inner.sign_personal(request.text))
        given_up = asyncio.ensure_future(wait.cancelled)
        try:
            done, _ = await asyncio.wait({signing, given_up}, return_when=asyncio.FIRST_COMPLETED)
            if signing in done:
                return signing.result()
            signing.cancel()
            raise SigningCancelled("you stopped waiting for the wallet")
        finally:
            for task in (signing, given_up):
                if not task.done():
                    task.cancel()
            wait.close()

    async def aclose(self) -> None:
        """Release what the wrapped signer holds (HTTP sessions, relay connections)."""
        await close_signer(self.inner)
