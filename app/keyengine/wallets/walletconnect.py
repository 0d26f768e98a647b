"""``WalletConnectSigner``: the ``WalletSigner`` for a phone (or desktop) wallet over WalletConnect.

The protocol lives in ``app.walletconnect`` (which knows nothing of XMTP); this adapter adds the
engine's rules on top of a session:

* only XMTP texts are sent (``classify_text``), before anything touches the network;
* the text goes as ``0x`` + UTF-8 hex in ``[message, address]`` order, and the answer must
  recover (EIP-191) to the session account, else ``WrongWallet`` (a wallet that signed with
  another key, or a smart-contract account whose signatures do not ecrecover);
* a declined request is a ``WalletConnectRejected``: the engine's ``WalletRejected`` like every
  other signer's, and the package's ``UserRejected`` (with its code);
* every step is reported to ``on_event`` so a front end can say "open your wallet" with the
  exact text, and "declined" / "expired" as normal outcomes.

The wallet key never comes near this app: we only see the approved account and its signatures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Final, Self

from app.keyengine.errors import SmartContractWallet, WalletRejected, WrongWallet
from app.keyengine.keys import Signature
from app.keyengine.texts import SignaturePurpose, classify_text
from app.keyengine.wallets.base import check_signer
from app.walletconnect import connect as connecting
from app.walletconnect.client import WalletConnectClient
from app.walletconnect.constants import DEFAULT_RELAY_URL, PAIRING_TTL, PING_TIMEOUT, REQUEST_TTL
from app.walletconnect.errors import ContractSignature, RequestExpired, UserRejected
from app.walletconnect.events import Expired, Rejected, Step, WalletConnectEvent, emit
from app.walletconnect.relay_config import RelayOptions
from app.walletconnect.session import (
    DEFAULT_CHAINS,
    SIGN_METHOD,
    AppMetadata,
    Session,
    parse_signature_result,
    personal_sign_params,
    request_expiry,
)
from app.walletconnect.store import SecretStore, SessionStore

DEFAULT_METADATA: Final = AppMetadata(
    name="XMTP Key Companion",
    description="Create and unlock XMTP keys with your own wallet",
    url="https://localhost",
)
"""A desktop app has no web origin; wallets show this URL, so no real site is impersonated."""


class WalletConnectRejected(WalletRejected, UserRejected):
    """The wallet declined a signature request (``code``: its JSON-RPC error code)."""


@dataclass(frozen=True, slots=True)
class SignRequested:
    """A request is on its way: tell the user to open the wallet and show the exact text."""

    kind: ClassVar[str] = "sign_request"
    purpose: SignaturePurpose
    text: str
    address: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class Signed:
    kind: ClassVar[str] = "signed"
    purpose: SignaturePurpose
    address: str


SignerEvent = WalletConnectEvent | SignRequested | Signed
SignerEventHandler = Callable[[SignerEvent], None]


def session_store(store: SecretStore | SessionStore) -> SessionStore:
    """The WalletConnect entry of ``store`` (a keyring, or memory for one run)."""
    return store if isinstance(store, SessionStore) else SessionStore(store)


class WalletConnectSigner:
    """A wallet connected through WalletConnect v2; made by ``resume_or_pair`` (or ``connect``,
    ``resume``)."""

    def __init__(
        self,
        client: WalletConnectClient,
        *,
        on_event: SignerEventHandler | None = None,
        request_ttl: float = REQUEST_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        session = client.live_session()
        self._client = client
        self._address = session.address
        self._on_event = on_event
        self._request_ttl = request_ttl
        self._clock = clock

    def __repr__(self) -> str:
        state = "connected" if self._client.session is not None else "disconnected"
        return f"WalletConnectSigner({self._address}, {state})"

    # -- factories ----------------------------------------------------------------------------

    @classmethod
    async def resume_or_pair(
        cls,
        store: SecretStore | SessionStore,
        relay_url: str = DEFAULT_RELAY_URL,
        project_id: str | None = None,
        *,
        resume: bool = True,
        address: str | None = None,
        on_event: SignerEventHandler | None = None,
        pairing_timeout: float = PAIRING_TTL,
        renewals: int | None = None,
        request_ttl: float = REQUEST_TTL,
        metadata: AppMetadata = DEFAULT_METADATA,
        relay_options: RelayOptions | None = None,
    ) -> WalletConnectSigner:
        """The stored session of ``address`` (any if ``None``), else a newly paired wallet.

        The one way the CLI and the desktop app connect: pairing URIs are announced through
        ``on_event``; ``project_id`` falls back to ``$XMTP_COMPANION_WC_PROJECT_ID``; with
        ``resume=False`` a new wallet is always paired.
        """
        settings = connecting.ClientSettings(
            metadata=metadata,
            relay_url=relay_url,
            project_id=project_id,
            on_event=on_event,
            relay_options=relay_options,
        )
        client = await connecting.resume_or_pair(
            session_store(store),
            settings,
            resume=resume,
            address=address,
            pairing_timeout=pairing_timeout,
            renewals=renewals,
        )
        return cls(client, on_event=on_event, request_ttl=request_ttl)

    @classmethod
    async def connect(
        cls,
        store: SecretStore | SessionStore,
        relay_url: str = DEFAULT_RELAY_URL,
        project_id: str | None = None,
        metadata: AppMetadata = DEFAULT_METADATA,
        on_event: SignerEventHandler | None = None,
        pairing_timeout: float = PAIRING_TTL,
        *,
        renewals: int | None = None,
        chains: Sequence[str] = DEFAULT_CHAINS,
        request_ttl: float = REQUEST_TTL,
        clock: Callable[[], float] = time.time,
        relay_options: RelayOptions | None = None,
        propose_with_relay_method: bool = False,
    ) -> WalletConnectSigner:
        """Pair a wallet (see ``app.walletconnect.connect.pair``) and sign with it."""
        settings = connecting.ClientSettings(
            metadata,
            relay_url,
            project_id,
            chains,
            on_event,
            clock,
            relay_options,
            propose_with_relay_method,
        )
        client = await connecting.pair(
            session_store(store), settings, pairing_timeout=pairing_timeout, renewals=renewals
        )
        return cls(client, on_event=on_event, request_ttl=request_ttl, clock=clock)

    @classmethod
    async def resume(
        cls,
        store: SecretStore | SessionStore,
        relay_url: str = DEFAULT_RELAY_URL,
        project_id: str | None = None,
        metadata: AppMetadata = DEFAULT_METADATA,
        on_event: SignerEventHandler | None = None,
        *,
        address: str | None = None,
        chains: Sequence[str] = DEFAULT_CHAINS,
        request_ttl: float = REQUEST_TTL,
        clock: Callable[[], float] = time.time,
        relay_options: RelayOptions | None = None,
    ) -> WalletConnectSigner | None:
        """The stored session (of ``address`` if given), reconnected; ``None`` if there is none
        (or it expired, or the wallet deleted it while the app was closed)."""
        settings = connecting.ClientSettings(
            metadata, relay_url, project_id, chains, on_event, clock, relay_options
        )
        client = await connecting.resume_stored(session_store(store), settings, address=address)
        if client is None:
            return None
        return cls(client, on_event=on_event, request_ttl=request_ttl, clock=clock)

    # -- WalletSigner -------------------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        return self._client.session

    @property
    def client(self) -> WalletConnectClient:
        return self._client

    @property
    def address(self) -> str:
        """EIP-55 address of the account approved when this signer was made.

        Pinned for the signer's life: an XMTP identity belongs to one account, so a wallet that
        later switches the session to another account (``wc_sessionUpdate``) makes
        ``sign_personal`` refuse with ``WrongWallet`` instead of signing for someone else.
        """
        return self._address

    async def sign_personal(self, text: str) -> bytes:
        """Ask the wallet to ``personal_sign`` an XMTP text; 65 bytes with v = 27/28.

        ``UnsupportedText`` (nothing sent) for any other text; ``WalletConnectRejected``,
        ``RequestExpired``, ``SessionDeleted``/``SessionExpired``/``NoSession``; ``WrongWallet``
        when the signature is not the account's (or the wallet switched the session to another
        account); ``ProtocolViolation`` when the answer is not a signature.
        """
        request = classify_text(text)
        session = self._client.live_session()
        address = self._address
        if session.address != address:
            raise WrongWallet(
                f"the wallet now shares {session.address} instead of {address}: connect again"
            )
        expires_at = request_expiry(self._clock(), self._request_ttl)
        self._emit(SignRequested(request.purpose, request.text, address, expires_at))
        try:
            result = await self._client.request(
                SIGN_METHOD, personal_sign_params(request.text, address), ttl=self._request_ttl
            )
        except UserRejected as exc:
            self._emit(Rejected(Step.REQUEST, exc.code, str(exc)))
            raise WalletConnectRejected(str(exc), exc.code) from None
        except RequestExpired:
            self._emit(Expired(Step.REQUEST))
            raise
        try:
            answer = parse_signature_result(result)
        except ContractSignature as exc:
            raise SmartContractWallet(f"its signature has {exc.length} bytes, not 65") from None
        signature = Signature.from_wallet_bytes(answer, by_wallet=False)
        wallet_bytes = signature.to_wallet_bytes()
        check_signer(address, request, wallet_bytes)
        self._emit(Signed(request.purpose, address))
        return wallet_bytes

    # -- session control ----------------------------------------------------------------------

    async def ping(self, *, timeout: float = PING_TIMEOUT) -> bool:
        """``True`` if the wallet answered a ping within ``timeout`` seconds."""
        return await self._client.ping(timeout=timeout)

    async def disconnect(self) -> None:
        """End the session on both sides (the wallet is told; we do not wait) and close."""
        try:
            await self._client.disconnect()
        finally:
            await self._client.close()

    async def aclose(self) -> None:
        """Close the relay connection; the session stays stored for ``resume()``."""
        await self._client.close()

    async def close(self) -> None:
        """``aclose()`` under its older name."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _emit(self, event: SignerEvent) -> None:
        emit(self._on_event, event)
