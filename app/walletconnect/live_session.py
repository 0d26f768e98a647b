"""The live session: requests to the wallet, and everything the wallet may do to the session.

* ``request()`` sends ``wc_sessionRequest`` and waits for the answer until the request expires
  (``RequestExpired``), the wallet declines (``UserRejected``) or the session ends
  (``SessionDeleted``: every pending request fails with it).
* The wallet may ping, extend, update or delete the session, or emit events; each is answered
  with its response tag.  ``disconnect()`` deletes from our side without waiting for a reply.
* A timer ends the session at its expiry (``SessionExpired``), also if nobody asks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from app.walletconnect.constants import (
    LONG_RELAY_TTL,
    MAX_TIMER_DELAY,
    PING_TIMEOUT,
    REQUEST_EXPIRED_CODE,
    REQUEST_EXPIRY_MIN,
    REQUEST_TTL,
    SESSION_TTL,
    UNSUPPORTED_ACCOUNTS,
    Tag,
)
from app.walletconnect.crypto import seal_json
from app.walletconnect.errors import (
    NoSession,
    RequestExpired,
    SessionDeleted,
    SessionExpired,
    SessionRefused,
    UserRejected,
)
from app.walletconnect.events import (
    Expired,
    SessionEnded,
    SessionExtended,
    SessionUpdated,
    Step,
    WalletEvent,
)
from app.walletconnect.peer_link import PeerLink
from app.walletconnect.session import (
    Session,
    error_of,
    payload_id,
    request_expiry,
    session_ping,
    session_request,
    validate_namespaces,
)
from app.walletconnect.tasks import discard_future

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Pending:
    topic: str
    future: asyncio.Future[Any]


class LiveSession:
    """At most one session we can sign with, and the requests waiting on it."""

    def __init__(self, link: PeerLink) -> None:
        self._link = link
        self._session: Session | None = None
        self._pending: dict[int, _Pending] = {}
        self._expiry_timer: asyncio.TimerHandle | None = None

    @property
    def session(self) -> Session | None:
        """The active session, or ``None`` (never connected, deleted or expired)."""
        return self._session

    @property
    def topic(self) -> str | None:
        return None if self._session is None else self._session.topic

    @property
    def pending_count(self) -> int:
        """Requests still waiting for the wallet's answer."""
        return len(self._pending)

    async def resume(self, session: Session) -> bool:
        """Make a stored ``session`` live unless it expired (then it is dropped); True if live."""
        if session.expired(self._link.clock()):
            await self._link.run_store(self._link.store.drop, session.topic)
            self._link.emit(Expired(Step.SESSION))
            return False
        self._session = session
        return True

    def adopt(self, session: Session) -> None:
        """A freshly settled session becomes the live one (a previous one is let go)."""
        previous, self._session = self._session, session
        if previous is not None and previous.topic != session.topic:
            self._link.tasks.spawn(self._link.unsubscribe(previous.topic))
        self._arm_expiry(session)

    def arm(self) -> None:
        """Start the expiry timer of the resumed session (once the relay is connected)."""
        if self._session is not None:
            self._arm_expiry(self._session)

    def close(self, error: BaseException) -> None:
        """Stop the timer and fail every pending request with ``error``."""
        self._disarm_expiry()
        self.fail_pending(error)

    # -- requests -----------------------------------------------------------------------------

    def current(self) -> Session:
        """The active session; ``NoSession`` / ``SessionExpired`` (and dropped) otherwise."""
        session = self._session
        if session is None:
            raise NoSession("no wallet is connected: connect one first")
        if session.expired(self._link.clock()):
            self._link.tasks.spawn(self.end(SessionExpired("the session expired"), expired=True))
            raise SessionExpired("the wallet session expired: connect the wallet again")
        return session

    async def request(self, method: str, params: list[Any], *, ttl: float = REQUEST_TTL) -> Any:
        """Send ``wc_sessionRequest`` and return the wallet's result.

        Gives up locally after ``ttl`` seconds (``RequestExpired``); the ``expiryTimestamp`` sent
        is clamped into [now+300 s, now+7 d] because wallets refuse anything else.
        """
        session = self.current()
        now = self._link.clock()
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
                relay_ttl=max(int(expiry - now), REQUEST_EXPIRY_MIN),
                timeout=ttl,
                prompt=True,
                extra=extra,
            )
        except TimeoutError:
            raise RequestExpired("the wallet did not answer before the request expired") from None

    async def ping(self, *, timeout: float = PING_TIMEOUT) -> bool:
        """``wc_sessionPing`` the wallet; ``False`` if it does not answer within ``timeout``.

        A mobile wallet in the background often cannot answer: ``False`` means "open your
        wallet", not "the session is gone".
        """
        session = self.current()
        payload = session_ping()
        try:
            await self._call(
                session,
                payload["id"],
                payload,
                tag=Tag.PING,
                relay_ttl=LONG_RELAY_TTL,
                timeout=timeout,
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
                await self._link.relay.publish(
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
        await self._link.send_delete(session.topic, session.sym_key, "User disconnected.")
        await self.end(SessionDeleted("you disconnected the wallet"), by_wallet=False)

    def fail_pending(self, error: BaseException) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()

    # -- inbound ------------------------------------------------------------------------------

    async def on_message(self, payload: dict[str, Any] | None) -> None:
        """Handle a payload that arrived on the live session's topic."""
        session = self._session
        if payload is None or session is None:
            return
        method = payload.get("method")
        if method is None:
            self._on_response(session, payload)
            return
        params = payload.get("params")
        params = params if isinstance(params, dict) else {}
        topic, sym_key = session.topic, session.sym_key
        if method == "wc_sessionPing":
            self._link.reply(topic, sym_key, payload, method=method, result=True)
        elif method == "wc_sessionDelete":
            self._link.reply(topic, sym_key, payload, method=method, result=True)
            reason = str(params.get("message") or "the wallet ended the session")[:200]
            await self.end(SessionDeleted(f"the wallet disconnected: {reason}"))
        elif method == "wc_sessionExtend":
            await self._on_extend(session, payload, params)
        elif method == "wc_sessionUpdate":
            await self._on_update(session, payload, params)
        elif method == "wc_sessionEvent":
            self._link.reply(topic, sym_key, payload, method=method, result=True)
            event = params.get("event")
            name = event.get("name") if isinstance(event, dict) else None
            data = event.get("data") if isinstance(event, dict) else None
            self._link.emit(WalletEvent(str(name)[:64], session.address, session.expiry, data))
        else:
            self._link.reply_unknown(topic, sym_key, payload)

    def _on_response(self, session: Session, payload: dict[str, Any]) -> None:
        request_id = payload.get("id")
        pending = self._pending.get(request_id) if isinstance(request_id, int) else None
        if pending is None or pending.topic != session.topic or pending.future.done():
            return
        if "error" in payload:
            code, text = error_of(payload)
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
        now = int(self._link.clock())
        expiry = params.get("expiry")
        new_expiry = now + SESSION_TTL
        if isinstance(expiry, int) and not isinstance(expiry, bool) and expiry > now:
            new_expiry = min(expiry, new_expiry)
        updated = dataclasses.replace(session, expiry=new_expiry)
        await self._replace(updated)
        self._link.reply(
            session.topic, session.sym_key, payload, method="wc_sessionExtend", result=True
        )
        self._link.emit(SessionExtended(updated.address, updated.expiry))

    async def _on_update(
        self, session: Session, payload: dict[str, Any], params: dict[str, Any]
    ) -> None:
        topic, sym_key = session.topic, session.sym_key
        namespaces = params.get("namespaces")
        try:
            if not isinstance(namespaces, dict):
                raise SessionRefused("the update holds no namespaces")
            account = validate_namespaces(namespaces, self._link.chains, prefer=session.account)
        except SessionRefused as exc:
            error = (UNSUPPORTED_ACCOUNTS, str(exc))
            self._link.reply(topic, sym_key, payload, method="wc_sessionUpdate", error=error)
            return
        updated = dataclasses.replace(session, namespaces=namespaces, account=account)
        await self._replace(updated)
        self._link.reply(topic, sym_key, payload, method="wc_sessionUpdate", result=True)
        self._link.emit(SessionUpdated(updated.address, updated.expiry, account))

    async def _replace(self, session: Session) -> None:
        if self._session is not None and self._session.topic == session.topic:
            self._session = session
            self._arm_expiry(session)
        try:
            await self._link.run_store(self._link.store.save, session)
        except Exception as exc:  # the change still holds for this run
            log.warning("could not store the updated session: %r", exc)

    # -- ending -------------------------------------------------------------------------------

    async def end(
        self, error: SessionDeleted, *, by_wallet: bool = True, expired: bool = False
    ) -> None:
        """Forget the session (store first), fail its requests, tell the front end."""
        session, self._session = self._session, None
        if session is None:
            return
        self._disarm_expiry()
        try:
            # Forget the keys before anyone hears the session is gone: a caller that restarts
            # at once must not resume it.
            await self._link.run_store(self._link.store.drop, session.topic)
        except Exception as exc:
            log.warning("could not drop the ended session from the store: %r", exc)
        finally:
            self.fail_pending(error)
            if expired:
                self._link.emit(Expired(Step.SESSION))
            else:
                self._link.emit(SessionEnded(by_wallet=by_wallet, reason=str(error)))
        await self._link.unsubscribe(session.topic)

    def _arm_expiry(self, session: Session) -> None:
        self._disarm_expiry()
        delay = max(0.0, session.expiry - self._link.clock())
        loop = asyncio.get_running_loop()
        self._expiry_timer = loop.call_later(
            min(delay, MAX_TIMER_DELAY), self._expiry_due, session.topic
        )

    def _disarm_expiry(self) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None

    def _expiry_due(self, topic: str) -> None:
        session = self._session
        if session is None or session.topic != topic:
            return
        if not session.expired(self._link.clock()):
            self._arm_expiry(session)
            return
        self._link.tasks.spawn(self.end(SessionExpired("the session expired"), expired=True))
