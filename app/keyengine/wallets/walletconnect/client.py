"""The dApp side of WalletConnect v2 Sign: pairing, proposal, settle, requests, lifecycle.

State machine (one client, at most one active session):

1. ``propose()`` makes a fresh pairing (random symKey, topic = sha256), subscribes to it and
   publishes the encrypted ``wc_sessionPropose`` (tag 1100).  The caller shows the URI.
2. The wallet's answer on the pairing topic carries its X25519 key: we derive the session symKey
   (HKDF), subscribe to the session topic and fetch its mailbox (the settle may already wait
   there).  An error answer is a rejection (``UserRejected``).
3. ``wc_sessionSettle`` is checked by ``validate_settle``; a usable session is stored *before* we
   acknowledge it (so a crash cannot leave the wallet with a session we lost), otherwise we
   answer an error, send ``wc_sessionDelete`` and raise ``SessionRefused``.
4. ``request()`` sends ``wc_sessionRequest`` and waits for the answer until the request expires
   (``RequestExpired``), the wallet declines (``UserRejected``) or the session ends
   (``SessionDeleted``: every pending request fails with it).
5. The wallet may ping, extend, update or delete the session, or emit events; each is answered
   with its response tag.  ``disconnect()`` deletes from our side without waiting for a reply.

Every task this class starts is tracked and cancelled by ``close()``; cancelling any public
coroutine cleans up what it registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.keyengine.errors import KeyEngineError
from app.keyengine.wallets.walletconnect.crypto import (
    derive_sym_key,
    generate_key_pair,
    open_json,
    public_key_hex,
    seal_json,
    topic_of,
)
from app.keyengine.wallets.walletconnect.errors import (
    EnvelopeError,
    NoSession,
    PairingExpired,
    ProtocolViolation,
    RelayError,
    RelayRejected,
    RequestExpired,
    SessionDeleted,
    SessionExpired,
    SessionRefused,
    UserRejected,
    WalletConnectError,
)
from app.keyengine.wallets.walletconnect.events import (
    EventHandler,
    Expired,
    Reconnected,
    Reconnecting,
    RelayRefused,
    SessionApproved,
    SessionChanged,
    SessionEnded,
    WalletConnectEvent,
    emit,
)
from app.keyengine.wallets.walletconnect.relay import (
    DEFAULT_RELAY_URL,
    RelayClient,
    RelayMessage,
    RelayOptions,
    discard_future,
)
from app.keyengine.wallets.walletconnect.session import (
    DEFAULT_CHAINS,
    DEFAULT_METADATA,
    REQUEST_EXPIRED_CODE,
    REQUEST_TTL,
    RESPONSE_TAGS,
    SESSION_TTL,
    USER_DISCONNECTED,
    AppMetadata,
    Session,
    Tag,
    build_proposal,
    payload_id,
    request_expiry,
    session_request,
    validate_namespaces,
    validate_settle,
)
from app.keyengine.wallets.walletconnect.store import SessionStore
from app.keyengine.wallets.walletconnect.uri import PAIRING_TTL, PairingUri, new_pairing

log = logging.getLogger(__name__)

PROPOSAL_RELAY_TTL: Final = 300
DELETE_SEND_TIMEOUT: Final = 5.0
"""Seconds ``disconnect()`` tries to deliver ``wc_sessionDelete`` before dropping locally."""


@dataclass(eq=False)
class _Proposal:
    pairing: PairingUri
    private_key: X25519PrivateKey
    proposal_id: int
    future: asyncio.Future[Session]
    deadline: float
    """Event-loop time at which the pairing is given up."""
    settling: _Settling | None = None
    """Set once the wallet approved: the session key and topic the settle will arrive on."""


@dataclass(eq=False)
class _Settling:
    proposal: _Proposal
    topic: str
    sym_key: bytes = field(repr=False)
    responder_public_key: str


@dataclass(eq=False)
class _Pending:
    topic: str
    future: asyncio.Future[Any]


class Proposal:
    """A published session proposal: show ``uri`` until ``expires_at``, then ``await wait()``."""

    def __init__(self, client: WalletConnectClient, state: _Proposal) -> None:
        self._client = client
        self._state = state

    @property
    def uri(self) -> str:
        return self._state.pairing.to_uri()

    @property
    def expires_at(self) -> int:
        """Unix seconds after which wallets refuse the URI."""
        return self._state.pairing.expiry_timestamp

    @property
    def pairing_topic(self) -> str:
        return self._state.pairing.topic

    async def wait(self) -> Session:
        """The settled session; ``PairingExpired`` at the deadline, ``UserRejected`` if the
        wallet declined, ``SessionRefused`` if it offered a session we cannot use."""
        try:
            async with asyncio.timeout_at(self._state.deadline):
                return await asyncio.shield(self._state.future)
        except TimeoutError:
            raise PairingExpired("the pairing code expired before a wallet connected") from None
        finally:
            # Idempotent: after a settle it only forgets what is already forgotten.
            await self._client._abandon(self._state)

    async def cancel(self) -> None:
        """Stop waiting for this proposal (unsubscribes its topics)."""
        await self._client._abandon(self._state)


class WalletConnectClient:
    """One relay connection and at most one active session."""

    def __init__(
        self,
        store: SessionStore,
        *,
        project_id: str,
        relay_url: str = DEFAULT_RELAY_URL,
        metadata: AppMetadata = DEFAULT_METADATA,
        chains: Sequence[str] = DEFAULT_CHAINS,
        on_event: EventHandler | None = None,
        clock: Callable[[], float] = time.time,
        relay_options: RelayOptions | None = None,
        propose_with_relay_method: bool = False,
    ) -> None:
        self._store = store
        self._project_id = project_id
        self._relay_url = relay_url
        self._metadata = metadata
        self._chains = tuple(chains)
        self._on_event = on_event
        self._clock = clock
        self._relay_options = relay_options
        self._propose_with_relay_method = propose_with_relay_method
        self._relay: RelayClient | None = None
        self._session: Session | None = None
        self._proposals: dict[str, _Proposal] = {}  # pairing topic -> proposal
        self._settling: dict[str, _Settling] = {}  # session topic -> approved proposal
        self._pending: dict[int, _Pending] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._store_lock = asyncio.Lock()
        self._expiry_timer: asyncio.TimerHandle | None = None
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        """The active session, or ``None`` (never connected, deleted or expired)."""
        return self._session

    @property
    def relay(self) -> RelayClient:
        if self._relay is None:
            raise WalletConnectError("the WalletConnect client is not started")
        return self._relay

    async def start(self, session: Session | None = None) -> None:
        """Connect to the relay, resuming ``session`` if given.

        The session topic's mailbox is fetched and handled before this returns, so a delete the
        wallet sent while we were away has already ended the session (``session`` is then
        ``None``).
        """
        if self._relay is not None:
            raise WalletConnectError("the WalletConnect client is already started")
        client_key = await self._run_store(self._store.client_key)
        self._relay = RelayClient(
            self._relay_url,
            self._project_id,
            client_key,
            on_message=self._on_message,
            on_state=self._on_relay_state,
            options=self._relay_options,
        )
        if session is not None:
            if session.expired(self._clock()):
                await self._run_store(self._store.drop, session.topic)
                self._emit(Expired("session"))
                session = None
            self._session = session
        await self._relay.start([session.topic] if session is not None else [])
        await self._relay.wait_idle()
        if self._session is not None:
            self._arm_expiry(self._session)

    async def close(self) -> None:
        """Stop everything (the stored session stays for the next start).  Idempotent."""
        self._closed = True
        self._disarm_expiry()
        closed = WalletConnectError("the WalletConnect client was closed")
        proposals = [*self._proposals.values(), *(s.proposal for s in self._settling.values())]
        for proposal in proposals:
            if not proposal.future.done():
                proposal.future.set_exception(closed)
                proposal.future.exception()  # retrieved: nobody may be waiting any more
        self._proposals.clear()
        self._settling.clear()
        self._fail_pending(closed)
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self._relay is not None:
            await self._relay.close()

    # -- pairing --------------------------------------------------------------------------------

    async def propose(self, *, ttl: float = PAIRING_TTL) -> Proposal:
        """Create a pairing and publish a session proposal on it; valid ``ttl`` seconds."""
        relay = self.relay
        loop = asyncio.get_running_loop()
        pairing = new_pairing(ttl=ttl, now=self._clock())
        state = _Proposal(
            pairing=pairing,
            private_key=generate_key_pair(),
            proposal_id=payload_id(),
            future=loop.create_future(),
            deadline=loop.time() + ttl,
        )
        topic = pairing.topic
        self._proposals[topic] = state
        envelope = seal_json(
            pairing.sym_key,
            build_proposal(
                proposal_id=state.proposal_id,
                public_key=public_key_hex(state.private_key),
                metadata=self._metadata,
                chains=self._chains,
                pairing_topic=topic,
                expiry_timestamp=pairing.expiry_timestamp,
            ),
        )
        try:
            if self._propose_with_relay_method:
                relay.track(topic)
                params = {
                    "pairingTopic": topic,
                    "sessionProposal": envelope,
                    "ttl": PROPOSAL_RELAY_TTL,
                    "correlationId": state.proposal_id,
                }
                await relay.request("wc_proposeSession", params)
            else:
                await relay.subscribe(topic)
                await relay.publish(
                    topic,
                    envelope,
                    ttl=PROPOSAL_RELAY_TTL,
                    tag=Tag.PROPOSE,
                    prompt=True,
                    extra={"correlationId": state.proposal_id},
                )
        except BaseException:
            await self._abandon(state)
            raise
        return Proposal(self, state)

    async def _abandon(self, state: _Proposal) -> None:
        """Forget a proposal and unsubscribe its topics (expired, cancelled or finished)."""
        topic = state.pairing.topic
        discard_future(state.future)
        self._proposals.pop(topic, None)
        settling = state.settling
        if settling is not None and self._settling.get(settling.topic) is settling:
            del self._settling[settling.topic]
            if self._session is None or self._session.topic != settling.topic:
                await self._unsubscribe(settling.topic)
        await self._unsubscribe(topic)

    async def _unsubscribe(self, topic: str) -> None:
        if self._relay is not None:
            with contextlib.suppress(RelayError, TimeoutError):
                async with asyncio.timeout(5):
                    await self._relay.unsubscribe(topic)

    # -- requests -----------------------------------------------------------------------------

    def live_session(self) -> Session:
        """The active session; ``NoSession`` / ``SessionExpired`` (and dropped) otherwise."""
        session = self._session
        if session is None:
            raise NoSession("no wallet is connected: connect one first")
        if session.expired(self._clock()):
            self._spawn(self._end_session(SessionExpired("the session expired"), expired=True))
            raise SessionExpired("the wallet session expired: connect the wallet again")
        return session

    async def request(self, method: str, params: list[Any], *, ttl: float = REQUEST_TTL) -> Any:
        """Send ``wc_sessionRequest`` and return the wallet's result.

        Gives up locally after ``ttl`` seconds (``RequestExpired``); the ``expiryTimestamp`` sent
        is clamped to [now+300 s, now+7 d] because wallets refuse anything else.
        """
        session = self.live_session()
        now = self._clock()
        expiry = request_expiry(now, ttl)
        request_id = payload_id()
        payload = session_request(request_id, method, params, session.chain_id, expiry)
        extra = {"correlationId": request_id, "rpcMethods": [method], "chainId": session.chain_id}
        try:
            return await self._call(
                session,
                request_id,
                payload,
                tag=Tag.REQUEST,
                relay_ttl=max(int(expiry - now), 300),
                timeout=ttl,
                prompt=True,
                extra=extra,
            )
        except TimeoutError:
            raise RequestExpired("the wallet did not answer before the request expired") from None

    async def ping(self, *, timeout: float = 30.0) -> bool:
        """``wc_sessionPing`` the wallet; ``False`` if it does not answer within ``timeout``.

        A mobile wallet in the background often cannot answer: ``False`` means "open your
        wallet", not "the session is gone".
        """
        session = self.live_session()
        request_id = payload_id()
        payload = {"id": request_id, "jsonrpc": "2.0", "method": "wc_sessionPing", "params": {}}
        try:
            await self._call(
                session, request_id, payload, tag=Tag.PING, relay_ttl=86400, timeout=timeout
            )
        except (TimeoutError, UserRejected, RequestExpired):
            return False
        return True

    async def _call(
        self,
        session: Session,
        request_id: int,
        payload: dict[str, Any],
        *,
        tag: int,
        relay_ttl: int,
        timeout: float,
        prompt: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = _Pending(session.topic, future)
        try:
            async with asyncio.timeout(timeout):
                await self.relay.publish(
                    session.topic,
                    seal_json(session.sym_key, payload),
                    ttl=relay_ttl,
                    tag=tag,
                    prompt=prompt,
                    extra=extra,
                )
                return await future
        finally:
            self._pending.pop(request_id, None)
            discard_future(future)

    async def disconnect(self) -> None:
        """Delete the session from our side: tell the wallet (best effort), then forget it."""
        session = self._session
        if session is None:
            return
        payload = {
            "id": payload_id(),
            "jsonrpc": "2.0",
            "method": "wc_sessionDelete",
            "params": dict(USER_DISCONNECTED),
        }
        with contextlib.suppress(RelayError, TimeoutError):
            async with asyncio.timeout(DELETE_SEND_TIMEOUT):
                await self.relay.publish(
                    session.topic, seal_json(session.sym_key, payload), ttl=86400, tag=Tag.DELETE
                )
        await self._end_session(SessionDeleted("you disconnected the wallet"), by_wallet=False)

    # -- inbound ------------------------------------------------------------------------------

    async def _on_message(self, message: RelayMessage) -> None:
        topic = message.topic
        session = self._session
        if session is not None and topic == session.topic:
            await self._on_session_message(session, self._open(session.sym_key, message))
        elif (proposal := self._proposals.get(topic)) is not None:
            await self._on_pairing_message(proposal, self._open(proposal.pairing.sym_key, message))
        elif (settling := self._settling.get(topic)) is not None:
            await self._on_settle_message(settling, self._open(settling.sym_key, message))

    @staticmethod
    def _open(sym_key: bytes, message: RelayMessage) -> dict[str, Any] | None:
        try:
            return open_json(sym_key, message.message)
        except EnvelopeError as exc:
            log.warning("dropping an undecryptable message on %s: %s", message.topic[:8], exc)
            return None

    async def _on_pairing_message(
        self, proposal: _Proposal, payload: dict[str, Any] | None
    ) -> None:
        if payload is None:
            return
        sym_key = proposal.pairing.sym_key
        topic = proposal.pairing.topic
        method = payload.get("method")
        if method in ("wc_pairingPing", "wc_pairingDelete"):
            self._reply(topic, sym_key, payload, method=str(method), result=True)
            if method == "wc_pairingDelete" and not proposal.future.done():
                proposal.future.set_exception(
                    UserRejected("the wallet deleted the pairing", code=None)
                )
            return
        if method is not None:
            self._reply_unknown(topic, sym_key, payload)
            return
        if payload.get("id") != proposal.proposal_id or proposal.settling is not None:
            return
        if "error" in payload:
            code, text = _error_of(payload)
            if not proposal.future.done():
                proposal.future.set_exception(UserRejected(f"the wallet declined: {text}", code))
            return
        result = payload.get("result")
        responder = result.get("responderPublicKey") if isinstance(result, dict) else None
        try:
            sym = derive_sym_key(proposal.private_key, str(responder))
        except WalletConnectError as exc:
            if not proposal.future.done():
                proposal.future.set_exception(
                    ProtocolViolation(f"the wallet's approval is malformed: {exc}")
                )
            return
        session_topic = topic_of(sym)
        settling = _Settling(proposal, session_topic, sym, str(responder).lower())
        proposal.settling = settling
        self._settling[session_topic] = settling
        try:
            # The settle may already wait in the mailbox (wc_approveSession stores it first).
            await self.relay.subscribe(session_topic)
            await self.relay.fetch_messages([session_topic])
        except RelayError as exc:
            if not proposal.future.done():
                proposal.future.set_exception(exc)

    async def _on_settle_message(self, settling: _Settling, payload: dict[str, Any] | None) -> None:
        if payload is None or payload.get("method") != "wc_sessionSettle":
            return
        proposal, topic, sym_key = settling.proposal, settling.topic, settling.sym_key
        if proposal.future.done():
            return
        try:
            terms = validate_settle(
                payload.get("params"),
                responder_public_key=settling.responder_public_key,
                chains=self._chains,
                now=self._clock(),
            )
        except SessionRefused as exc:
            self._reply(topic, sym_key, payload, method="wc_sessionSettle", error=(7000, str(exc)))
            self._spawn(self._send_delete(topic, sym_key, f"session refused: {exc}"))
            self._settling.pop(topic, None)
            proposal.future.set_exception(exc)
            return
        session = Session(
            topic=topic,
            sym_key=sym_key,
            peer_public_key=terms.peer_public_key,
            peer=terms.peer,
            namespaces=terms.namespaces,
            account=terms.account,
            expiry=terms.expiry,
            pairing_topic=proposal.pairing.topic,
        )
        # Persist before acknowledging: the wallet must never hold a session we forgot.
        try:
            await self._run_store(self._store.save, session)
        except Exception as exc:
            self._reply(
                topic,
                sym_key,
                payload,
                method="wc_sessionSettle",
                error=(7000, "dApp storage failed"),
            )
            self._spawn(self._send_delete(topic, sym_key, "the dApp could not store the session"))
            self._settling.pop(topic, None)
            proposal.future.set_exception(
                exc
                if isinstance(exc, KeyEngineError)
                else WalletConnectError(f"could not store the session: {exc!r}")
            )
            return
        previous, self._session = self._session, session
        self._settling.pop(topic, None)
        self._proposals.pop(proposal.pairing.topic, None)
        self._reply(topic, sym_key, payload, method="wc_sessionSettle", result=True)
        self._spawn(self._unsubscribe(proposal.pairing.topic))
        if previous is not None and previous.topic != topic:
            self._spawn(self._unsubscribe(previous.topic))
        self._arm_expiry(session)
        proposal.future.set_result(session)
        self._emit(
            SessionApproved(
                address=session.address,
                chain_id=session.chain_id,
                peer_name=session.peer.name,
                peer_url=session.peer.url,
                expiry=session.expiry,
            )
        )

    async def _on_session_message(self, session: Session, payload: dict[str, Any] | None) -> None:
        if payload is None:
            return
        method = payload.get("method")
        if method is None:
            self._on_response(session, payload)
            return
        params = payload.get("params")
        params = params if isinstance(params, dict) else {}
        topic, sym_key = session.topic, session.sym_key
        if method == "wc_sessionPing":
            self._reply(topic, sym_key, payload, method=method, result=True)
        elif method == "wc_sessionDelete":
            self._reply(topic, sym_key, payload, method=method, result=True)
            reason = str(params.get("message") or "the wallet ended the session")[:200]
            await self._end_session(SessionDeleted(f"the wallet disconnected: {reason}"))
        elif method == "wc_sessionExtend":
            await self._on_extend(session, payload, params)
        elif method == "wc_sessionUpdate":
            await self._on_update(session, payload, params)
        elif method == "wc_sessionEvent":
            self._reply(topic, sym_key, payload, method=method, result=True)
            event = params.get("event")
            name = event.get("name") if isinstance(event, dict) else None
            data = event.get("data") if isinstance(event, dict) else None
            self._emit(
                SessionChanged(
                    what=str(name)[:64],
                    address=session.address,
                    expiry=session.expiry,
                    data=data,
                )
            )
        else:
            self._reply_unknown(topic, sym_key, payload)

    def _on_response(self, session: Session, payload: dict[str, Any]) -> None:
        request_id = payload.get("id")
        pending = self._pending.get(request_id) if isinstance(request_id, int) else None
        if pending is None or pending.topic != session.topic or pending.future.done():
            return
        if "error" in payload:
            code, text = _error_of(payload)
            if code == REQUEST_EXPIRED_CODE:
                pending.future.set_exception(RequestExpired(f"the wallet says: {text}"))
            else:
                pending.future.set_exception(UserRejected(f"the wallet declined: {text}", code))
        elif "result" in payload:
            pending.future.set_result(payload["result"])

    async def _on_extend(
        self, session: Session, payload: dict[str, Any], params: dict[str, Any]
    ) -> None:
        """The 2.25 SDK sends ``params: {}`` and both sides set now + 7 days; an explicit
        future ``expiry`` (older SDKs, the spec) is honoured up to that cap."""
        now = int(self._clock())
        expiry = params.get("expiry")
        new_expiry = now + SESSION_TTL
        if isinstance(expiry, int) and not isinstance(expiry, bool) and expiry > now:
            new_expiry = min(expiry, new_expiry)
        updated = dataclasses.replace(session, expiry=new_expiry)
        await self._replace_session(updated)
        self._reply(session.topic, session.sym_key, payload, method="wc_sessionExtend", result=True)
        self._emit(SessionChanged("extended", updated.address, updated.expiry))

    async def _on_update(
        self, session: Session, payload: dict[str, Any], params: dict[str, Any]
    ) -> None:
        namespaces = params.get("namespaces")
        try:
            if not isinstance(namespaces, dict):
                raise SessionRefused("the update holds no namespaces")
            account = validate_namespaces(namespaces, self._chains, prefer=session.account)
        except SessionRefused as exc:
            self._reply(
                session.topic,
                session.sym_key,
                payload,
                method="wc_sessionUpdate",
                error=(1003, str(exc)),
            )
            return
        updated = dataclasses.replace(session, namespaces=namespaces, account=account)
        await self._replace_session(updated)
        self._reply(session.topic, session.sym_key, payload, method="wc_sessionUpdate", result=True)
        self._emit(SessionChanged("updated", updated.address, updated.expiry, data=account))

    async def _replace_session(self, session: Session) -> None:
        if self._session is not None and self._session.topic == session.topic:
            self._session = session
            self._arm_expiry(session)
        try:
            await self._run_store(self._store.save, session)
        except Exception as exc:  # the change still holds for this run
            log.warning("could not store the updated session: %r", exc)

    # -- ending a session -----------------------------------------------------------------------

    async def _end_session(
        self, error: SessionDeleted, *, by_wallet: bool = True, expired: bool = False
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        self._disarm_expiry()
        try:
            # Forget the keys before anyone hears the session is gone: a caller that restarts
            # at once must not resume it.
            await self._run_store(self._store.drop, session.topic)
        except Exception as exc:
            log.warning("could not drop the ended session from the store: %r", exc)
        finally:
            self._fail_pending(error)
            if expired:
                self._emit(Expired("session"))
            else:
                self._emit(SessionEnded(by_wallet=by_wallet, reason=str(error)))
        await self._unsubscribe(session.topic)

    async def _send_delete(self, topic: str, sym_key: bytes, message: str) -> None:
        payload = {
            "id": payload_id(),
            "jsonrpc": "2.0",
            "method": "wc_sessionDelete",
            "params": {"code": 6000, "message": message[:200]},
        }
        with contextlib.suppress(RelayError, TimeoutError):
            async with asyncio.timeout(DELETE_SEND_TIMEOUT):
                await self.relay.publish(
                    topic, seal_json(sym_key, payload), ttl=86400, tag=Tag.DELETE
                )
        await self._unsubscribe(topic)

    def _arm_expiry(self, session: Session) -> None:
        self._disarm_expiry()
        delay = max(0.0, session.expiry - self._clock())
        loop = asyncio.get_running_loop()
        self._expiry_timer = loop.call_later(
            min(delay, 86400.0 * 30), self._expiry_due, session.topic
        )

    def _disarm_expiry(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None

    def _expiry_due(self, topic: str) -> None:
        session = self._session
        if session is None or session.topic != topic:
            return
        if not session.expired(self._clock()):
            self._arm_expiry(session)
            return
        self._spawn(self._end_session(SessionExpired("the session expired"), expired=True))

    # -- helpers ------------------------------------------------------------------------------

    def _reply(
        self,
        topic: str,
        sym_key: bytes,
        request: dict[str, Any],
        *,
        method: str,
        result: Any = None,
        error: tuple[int, str] | None = None,
    ) -> None:
        """Answer a peer request in the background (never blocks message handling)."""
        tag, ttl = RESPONSE_TAGS.get(method, (Tag.UNKNOWN, 86400))
        answer: dict[str, Any] = {"id": request.get("id"), "jsonrpc": "2.0"}
        if error is not None:
            answer["error"] = {"code": error[0], "message": error[1][:200]}
        else:
            answer["result"] = result
        envelope = seal_json(sym_key, answer)

        async def send() -> None:
            with contextlib.suppress(RelayError):
                await self.relay.publish(topic, envelope, ttl=ttl, tag=tag)

        self._spawn(send())

    def _reply_unknown(self, topic: str, sym_key: bytes, request: dict[str, Any]) -> None:
        if "id" in request:
            self._reply(topic, sym_key, request, method="", error=(-32601, "Method not supported"))

    def _spawn(self, coroutine: Any) -> None:
        if self._closed:
            coroutine.close()
            return
        task: asyncio.Task[Any] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("WalletConnect background task failed: %r", exc)

    def _fail_pending(self, error: BaseException) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()

    async def _run_store(self, function: Callable[..., Any], *args: Any) -> Any:
        """Store calls run in a thread (a keyring may block), one at a time."""
        async with self._store_lock:
            return await asyncio.to_thread(function, *args)

    def _emit(self, event: WalletConnectEvent) -> None:
        emit(self._on_event, event)

    def _on_relay_state(self, name: str, data: dict[str, Any]) -> None:
        if name == "reconnecting":
            self._emit(
                Reconnecting(
                    attempt=int(data.get("attempt", 0)),
                    delay=float(data.get("delay", 0.0)),
                    reason=str(data.get("reason", "")),
                )
            )
        elif name == "reconnected":
            self._emit(Reconnected())
        elif name == "rejected":
            reason = str(data.get("reason", ""))
            error = RelayRejected(reason)
            self._fail_pending(error)
            waiting = [*self._proposals.values(), *(s.proposal for s in self._settling.values())]
            for proposal in waiting:
                if not proposal.future.done():
                    proposal.future.set_exception(error)
            self._emit(RelayRefused(reason))


def _error_of(payload: dict[str, Any]) -> tuple[int | None, str]:
    error = payload.get("error")
    if not isinstance(error, dict):
        return None, "unknown error"
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(message)[:200] if message is not None else "no reason given",
    )
