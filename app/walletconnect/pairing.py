"""Pairing: from a fresh ``wc:`` URI to a settled session (proposal, approval, settle).

1. ``propose()`` makes a fresh pairing (random symKey, topic = sha256), subscribes to it and
   publishes the encrypted ``wc_sessionPropose`` (tag 1100).  The caller shows the URI.
2. The wallet's answer on the pairing topic carries its X25519 key: we derive the session symKey
   (HKDF), subscribe to the session topic and fetch its mailbox (the settle may already wait
   there).  An error answer is a rejection (``UserRejected``).
3. ``wc_sessionSettle`` is checked by ``validate_settle``; a usable session is stored *before* we
   acknowledge it (so a crash cannot leave the wallet with a session we lost), otherwise we
   answer an error, send ``wc_sessionDelete`` and raise ``SessionRefused``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.walletconnect.constants import PAIRING_TTL, PROPOSAL_RELAY_TTL, SESSION_SETTLE_REFUSED, Tag
from app.walletconnect.crypto import (
    derive_sym_key,
    generate_key_pair,
    public_key_hex,
    seal_json,
    topic_of,
)
from app.walletconnect.errors import (
    PairingExpired,
    ProtocolViolation,
    RelayError,
    SessionRefused,
    UserRejected,
    WalletConnectError,
)
from app.walletconnect.events import SessionApproved
from app.walletconnect.peer_link import PeerLink
from app.walletconnect.relay_inbox import RelayMessage
from app.walletconnect.session import (
    AppMetadata,
    Session,
    build_proposal,
    error_of,
    payload_id,
    validate_settle,
)
from app.walletconnect.tasks import discard_future
from app.walletconnect.uri import PairingUri, new_pairing


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


class Proposal:
    """A published session proposal: show ``uri`` until ``expires_at``, then ``await wait()``."""

    def __init__(self, pairing: Pairing, state: _Proposal) -> None:
        self._pairing = pairing
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
            await self._pairing.abandon(self._state)

    async def cancel(self) -> None:
        """Stop waiting for this proposal (unsubscribes its topics)."""
        await self._pairing.abandon(self._state)


SessionAdopter = Callable[[Session], None]
"""Makes a freshly settled session the live one (the client's live session)."""


class Pairing:
    """Open proposals and the approvals waiting for their settle."""

    def __init__(
        self,
        link: PeerLink,
        *,
        metadata: AppMetadata,
        adopt: SessionAdopter,
        live_topic: Callable[[], str | None],
        propose_with_relay_method: bool = False,
    ) -> None:
        self._link = link
        self._metadata = metadata
        self._adopt = adopt
        self._live_topic = live_topic
        self._propose_with_relay_method = propose_with_relay_method
        self._proposals: dict[str, _Proposal] = {}  # pairing topic -> proposal
        self._settling: dict[str, _Settling] = {}  # session topic -> approved proposal

    async def propose(self, *, ttl: float = PAIRING_TTL) -> Proposal:
        """Create a pairing and publish a session proposal on it; valid ``ttl`` seconds."""
        relay = self._link.relay
        loop = asyncio.get_running_loop()
        pairing = new_pairing(ttl=ttl, now=self._link.clock())
        state = _Proposal(
            pairing=pairing,
            private_key=generate_key_pair(),
            proposal_id=payload_id(),
            future=loop.create_future(),
            deadline=loop.time() + ttl,
        )
        topic = pairing.topic
        self._proposals[topic] = state
        proposal = build_proposal(
            proposal_id=state.proposal_id,
            public_key=public_key_hex(state.private_key),
            metadata=self._metadata,
            chains=self._link.chains,
            pairing_topic=topic,
            expiry_timestamp=pairing.expiry_timestamp,
        )
        envelope = seal_json(pairing.sym_key, proposal)
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
            await self.abandon(state)
            raise
        return Proposal(self, state)

    async def abandon(self, state: _Proposal) -> None:
        """Forget a proposal and unsubscribe its topics (expired, cancelled or finished)."""
        topic = state.pairing.topic
        discard_future(state.future)
        self._proposals.pop(topic, None)
        settling = state.settling
        if settling is not None and self._settling.get(settling.topic) is settling:
            del self._settling[settling.topic]
            if self._live_topic() != settling.topic:
                await self._link.unsubscribe(settling.topic)
        await self._link.unsubscribe(topic)

    def fail_all(self, error: BaseException) -> None:
        """End every open proposal with ``error`` (the client closes, the relay refused us)."""
        waiting = [*self._proposals.values(), *(s.proposal for s in self._settling.values())]
        for proposal in waiting:
            if not proposal.future.done():
                proposal.future.set_exception(error)
                proposal.future.exception()  # retrieved: nobody may be waiting any more

    def clear(self) -> None:
        self._proposals.clear()
        self._settling.clear()

    # -- inbound ------------------------------------------------------------------------------

    async def on_message(self, message: RelayMessage) -> bool:
        """Handle ``message`` if it is on one of our pairing or settle topics."""
        topic = message.topic
        if (proposal := self._proposals.get(topic)) is not None:
            await self._on_pairing_message(
                proposal, self._link.open(proposal.pairing.sym_key, message)
            )
            return True
        if (settling := self._settling.get(topic)) is not None:
            await self._on_settle_message(settling, self._link.open(settling.sym_key, message))
            return True
        return False

    async def _on_pairing_message(
        self, proposal: _Proposal, payload: dict[str, Any] | None
    ) -> None:
        if payload is None:
            return
        sym_key, topic = proposal.pairing.sym_key, proposal.pairing.topic
        method = payload.get("method")
        if method in ("wc_pairingPing", "wc_pairingDelete"):
            self._link.reply(topic, sym_key, payload, method=str(method), result=True)
            if method == "wc_pairingDelete" and not proposal.future.done():
                proposal.future.set_exception(UserRejected("the wallet deleted the pairing"))
            return
        if method is not None:
            self._link.reply_unknown(topic, sym_key, payload)
            return
        if payload.get("id") != proposal.proposal_id or proposal.settling is not None:
            return
        if "error" in payload:
            code, text = error_of(payload)
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
            await self._link.relay.subscribe(session_topic)
            await self._link.relay.fetch_messages([session_topic])
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
                chains=self._link.chains,
                now=self._link.clock(),
            )
        except SessionRefused as exc:
            self._refuse(settling, payload, str(exc), f"session refused: {exc}", exc)
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
            await self._link.run_store(self._link.store.save, session)
        except Exception as exc:
            # The store's own typed error (a keyring that cannot be written) is passed on.
            reason = "the dApp could not store the session"
            self._refuse(settling, payload, "dApp storage failed", reason, exc)
            return
        self._settling.pop(topic, None)
        self._proposals.pop(proposal.pairing.topic, None)
        self._link.reply(topic, sym_key, payload, method="wc_sessionSettle", result=True)
        self._link.tasks.spawn(self._link.unsubscribe(proposal.pairing.topic))
        self._adopt(session)
        proposal.future.set_result(session)
        self._link.emit(
            SessionApproved(
                address=session.address,
                chain_id=session.chain_id,
                peer_name=session.peer.name,
                peer_url=session.peer.url,
                expiry=session.expiry,
            )
        )

    def _refuse(
        self,
        settling: _Settling,
        payload: dict[str, Any],
        answer: str,
        reason: str,
        error: BaseException,
    ) -> None:
        """Answer a settle with an error, delete the session at the wallet, fail the proposal."""
        topic, sym_key = settling.topic, settling.sym_key
        error_answer = (SESSION_SETTLE_REFUSED, answer)
        self._link.reply(topic, sym_key, payload, method="wc_sessionSettle", error=error_answer)
        self._link.tasks.spawn(self._delete_refused(topic, sym_key, reason))
        self._settling.pop(topic, None)
        settling.proposal.future.set_exception(error)

    async def _delete_refused(self, topic: str, sym_key: bytes, reason: str) -> None:
        await self._link.send_delete(topic, sym_key, reason)
        await self._link.unsubscribe(topic)
