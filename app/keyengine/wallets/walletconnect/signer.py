"""``WalletConnectSigner``: the ``WalletSigner`` the engine uses for a phone (or desktop) wallet.

The wallet key never comes near this app: we only see the account the wallet approved and the
signatures it returns.  The signer adds the engine's rules on top of the protocol client:

* only XMTP texts are sent (``classify_text``), before anything touches the network;
* the text goes as ``0x`` + UTF-8 hex in ``[message, address]`` order, and the answer must
  recover (EIP-191) to the session account, else ``WrongWallet`` (a wallet that signed with
  another key, or a smart-contract account whose signatures do not ecrecover);
* every step is reported to ``on_event`` so a front end can say "open your wallet" with the
  exact text, and "declined" / "expired" as normal outcomes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from app.keyengine.errors import WrongWallet
from app.keyengine.keys import Signature
from app.keyengine.texts import classify_text
from app.keyengine.vault import SecretStore
from app.keyengine.wallets.base import check_signer
from app.keyengine.wallets.walletconnect.client import WalletConnectClient
from app.keyengine.wallets.walletconnect.errors import (
    PairingExpired,
    RequestExpired,
    UserRejected,
)
from app.keyengine.wallets.walletconnect.events import (
    EventHandler,
    Expired,
    PairingUriReady,
    Rejected,
    Signed,
    SignRequested,
    WalletConnectEvent,
    emit,
)
from app.keyengine.wallets.walletconnect.relay import (
    DEFAULT_RELAY_URL,
    RelayOptions,
    resolve_project_id,
)
from app.keyengine.wallets.walletconnect.session import (
    DEFAULT_CHAINS,
    DEFAULT_METADATA,
    REQUEST_TTL,
    SIGN_METHOD,
    AppMetadata,
    Session,
    parse_signature_result,
    personal_sign_params,
    request_expiry,
)
from app.keyengine.wallets.walletconnect.store import SessionStore
from app.keyengine.wallets.walletconnect.uri import PAIRING_TTL


def _session_store(store: SecretStore | SessionStore, clock: Callable[[], float]) -> SessionStore:
    return store if isinstance(store, SessionStore) else SessionStore(store, clock=clock)


class WalletConnectSigner:
    """A wallet connected through WalletConnect v2; create with ``connect()`` or ``resume()``."""

    def __init__(
        self,
        client: WalletConnectClient,
        *,
        on_event: EventHandler | None = None,
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
    async def connect(
        cls,
        store: SecretStore | SessionStore,
        relay_url: str = DEFAULT_RELAY_URL,
        project_id: str | None = None,
        metadata: AppMetadata = DEFAULT_METADATA,
        on_event: EventHandler | None = None,
        pairing_timeout: float = PAIRING_TTL,
        *,
        renewals: int | None = None,
        chains: Sequence[str] = DEFAULT_CHAINS,
        request_ttl: float = REQUEST_TTL,
        clock: Callable[[], float] = time.time,
        relay_options: RelayOptions | None = None,
        propose_with_relay_method: bool = False,
    ) -> WalletConnectSigner:
        """Pair a wallet: emit ``pairing_uri`` events and wait until one approves.

        Each URI is valid ``pairing_timeout`` seconds; when it expires a fresh one is made and
        announced (``renewal`` counts them) until a wallet connects, the task is cancelled, or
        ``renewals`` new URIs were shown (then ``PairingExpired``).  ``UserRejected`` when the
        wallet declines, ``SessionRefused`` when it offers no usable account.  ``project_id``
        falls back to ``$XMTP_COMPANION_WC_PROJECT_ID`` (``ProjectIdMissing`` if neither).
        """
        client = WalletConnectClient(
            _session_store(store, clock),
            project_id=resolve_project_id(project_id),
            relay_url=relay_url,
            metadata=metadata,
            chains=chains,
            on_event=on_event,
            clock=clock,
            relay_options=relay_options,
            propose_with_relay_method=propose_with_relay_method,
        )
        try:
            await client.start()
            renewal = 0
            while True:
                proposal = await client.propose(ttl=pairing_timeout)
                emit(on_event, PairingUriReady(proposal.uri, proposal.expires_at, renewal))
                try:
                    await proposal.wait()
                    break
                except PairingExpired:
                    emit(on_event, Expired("pairing"))
                    if renewals is not None and renewal >= renewals:
                        raise
                    renewal += 1
                except UserRejected as exc:
                    emit(on_event, Rejected("proposal", exc.code, str(exc)))
                    raise
        except BaseException:
            await client.close()
            raise
        return cls(client, on_event=on_event, request_ttl=request_ttl, clock=clock)

    @classmethod
    async def resume(
        cls,
        store: SecretStore | SessionStore,
        relay_url: str = DEFAULT_RELAY_URL,
        project_id: str | None = None,
        metadata: AppMetadata = DEFAULT_METADATA,
        on_event: EventHandler | None = None,
        *,
        address: str | None = None,
        chains: Sequence[str] = DEFAULT_CHAINS,
        request_ttl: float = REQUEST_TTL,
        clock: Callable[[], float] = time.time,
        relay_options: RelayOptions | None = None,
    ) -> WalletConnectSigner | None:
        """The stored session (for ``address`` if given), reconnected; ``None`` if there is none.

        ``None`` also when the session expired or the wallet deleted it while the app was
        closed (the delete waits in the relay mailbox, fetched here): the caller should offer
        to connect again.  No relay connection is made when nothing is stored.
        """
        sessions = _session_store(store, clock)
        session = await asyncio.to_thread(sessions.latest, address)
        if session is None:
            return None
        client = WalletConnectClient(
            sessions,
            project_id=resolve_project_id(project_id),
            relay_url=relay_url,
            metadata=metadata,
            chains=chains,
            on_event=on_event,
            clock=clock,
            relay_options=relay_options,
        )
        try:
            await client.start(session)
        except BaseException:
            await client.close()
            raise
        if client.session is None:
            await client.close()
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

        ``UnsupportedText`` (nothing sent) for any other text; ``UserRejected``,
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
            self._emit(Rejected("request", exc.code, str(exc)))
            raise
        except RequestExpired:
            self._emit(Expired("request"))
            raise
        signature = Signature.from_wallet_bytes(parse_signature_result(result), by_wallet=False)
        wallet_bytes = signature.to_wallet_bytes()
        check_signer(address, request, wallet_bytes)
        self._emit(Signed(request.purpose, address))
        return wallet_bytes

    # -- session control ----------------------------------------------------------------------

    async def ping(self, *, timeout: float = 30.0) -> bool:
        """``True`` if the wallet answered a ping within ``timeout`` seconds."""
        return await self._client.ping(timeout=timeout)

    async def disconnect(self) -> None:
        """End the session on both sides (the wallet is told; we do not wait) and close."""
        try:
            await self._client.disconnect()
        finally:
            await self._client.close()

    async def close(self) -> None:
        """Close the relay connection; the session stays stored for ``resume()``."""
        await self._client.close()

    async def aclose(self) -> None:
        """``close()`` under the name the other signers and the front ends use."""
        await self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _emit(self, event: WalletConnectEvent) -> None:
        emit(self._on_event, event)
