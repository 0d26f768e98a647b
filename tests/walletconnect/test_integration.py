"""The dApp side end to end: our signer ↔ loopback relay ↔ the Python test wallet."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.keyengine.errors import UnsupportedText, WrongWallet
from app.keyengine.keys import Signature
from app.keyengine.texts import SignaturePurpose, create_identity_text, enable_identity_text
from app.keyengine.vault import MemoryStore, VaultError
from app.keyengine.wallets.base import WalletSigner, recover_personal_sign_address
from app.keyengine.wallets.walletconnect import Signed, SignRequested, WalletConnectSigner
from app.walletconnect.errors import (
    NoSession,
    PairingExpired,
    ProtocolViolation,
    RelayRejected,
    RequestExpired,
    SessionDeleted,
    SessionRefused,
    UserRejected,
)
from app.walletconnect.events import (
    Expired,
    PairingUriReady,
    Reconnected,
    Reconnecting,
    Rejected,
    RelayRefused,
    SessionApproved,
    SessionEnded,
    SessionExtended,
    SessionUpdated,
    WalletEvent,
)
from app.walletconnect.store import SessionStore
from tests.support.waiting import async_wait_until
from tests.support.walletconnect import (
    FAST,
    PROJECT_ID,
    WALLET_KEY,
    EventLog,
    assert_nothing_left,
    delivered_and_handled,
    other_tasks,
    pair,
)
from tests.support.wc_relay import REJECTED_PROJECT, LoopbackRelay
from tests.walletconnect.fake_wallet import FakeWallet

CREATE_TEXT = create_identity_text(bytes.fromhex("04" + "ab" * 64))
ENABLE_TEXT = enable_identity_text(bytes(range(32)))


def _recovers_to(text: str, signature: bytes) -> str:
    return recover_personal_sign_address(
        text, Signature.from_wallet_bytes(signature, by_wallet=False)
    )


async def _sign_with(
    wc_wallet: FakeWallet, signer: WalletConnectSigner, text: str, **answer: object
) -> bytes:
    """``sign_personal`` while the wallet answers the request it receives."""
    task = asyncio.create_task(signer.sign_personal(text))
    request = await wc_wallet.next_request()
    if answer.get("reject") is not None:
        await wc_wallet.reject(request, code=int(answer["reject"]))  # type: ignore[call-overload]
    elif answer.get("respond") is not None:
        await wc_wallet.respond(request, answer["respond"])  # type: ignore[arg-type]
    else:
        await wc_wallet.sign(request, other_key=bool(answer.get("other_key")))
    return await asyncio.wait_for(task, 5)


# -- pairing --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_pair_and_approve(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    signer = await pair(relay, wc_wallet, secrets, wc_events)
    try:
        assert isinstance(signer, WalletSigner)
        assert signer.address == wc_wallet.address
        session = signer.session
        assert session is not None and session.peer.name == "Fake Test Wallet"
        assert session.chain_id == "eip155:1"
        assert wc_events.types() == [PairingUriReady, SessionApproved]
        uri_event, approved = wc_events.events
        assert isinstance(uri_event, PairingUriReady) and uri_event.renewal == 0
        assert uri_event.expires_at - time.time() == pytest.approx(300, abs=3)
        assert isinstance(approved, SessionApproved) and approved.address == wc_wallet.address
        # The dApp acknowledged the settle with ``true`` on tag 1103 and stored the session.
        wallet_session = wc_wallet.sessions[session.topic]
        await async_wait_until(lambda: wc_wallet.settle_answer(wallet_session) is not None)
        answer = wc_wallet.settle_answer(wallet_session)
        assert answer is not None and answer["result"] is True and "error" not in answer
        assert relay.published_tags(session.topic) == [1102, 1103]
        pairing_topic = session.pairing_topic
        assert relay.published_tags(pairing_topic) == [1100, 1101]
        stored = SessionStore(secrets).latest()
        assert stored is not None and stored.topic == session.topic
        assert stored.sym_key == wallet_session.sym_key
        # The one-shot pairing is forgotten (in the background, after the settle).
        await async_wait_until(lambda: pairing_topic not in signer.client.relay.topics)
    finally:
        await signer.close()


@pytest.mark.asyncio
async def test_wallet_approving_with_plain_publishes_and_proposal_via_relay_method(
    relay: LoopbackRelay, secrets: MemoryStore, wc_events: EventLog
) -> None:
    async with FakeWallet(relay.url, WALLET_KEY, use_approve_session=False) as wc_wallet:
        signer = await pair(relay, wc_wallet, secrets, wc_events, propose_with_relay_method=True)
        try:
            assert "wc_proposeSession" in {method for _, method in relay.requests}
            wc_wallet.auto_sign = True
            signature = await signer.sign_personal(CREATE_TEXT)
            assert _recovers_to(CREATE_TEXT, signature) == wc_wallet.address
        finally:
            await signer.close()


@pytest.mark.asyncio
async def test_proposal_rejected_by_the_wallet(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
        )
    )
    proposal = await wc_wallet.pair(await wc_events.next_uri())
    await wc_wallet.reject_proposal(proposal)
    with pytest.raises(UserRejected) as info:
        await asyncio.wait_for(task, 5)
    assert info.value.code == 5000 and info.value.by_user
    assert isinstance(wc_events.events[-1], Rejected) and wc_events.events[-1].what == "proposal"
    await assert_nothing_left(relay, secrets)


@pytest.mark.asyncio
async def test_settle_without_a_usable_account_is_refused(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
        )
    )
    proposal = await wc_wallet.pair(await wc_events.next_uri())
    session = await wc_wallet.approve(proposal, chains=["eip155:137"])
    with pytest.raises(SessionRefused, match="eip155:1"):
        await asyncio.wait_for(task, 5)
    await async_wait_until(
        lambda: (
            wc_wallet.settle_answer(session) is not None
            and (
                session.deleted
                or any(
                    item.payload.get("method") == "wc_sessionDelete" for item in wc_wallet.received
                )
            )
        )
    )
    answer = wc_wallet.settle_answer(session)
    assert answer is not None and answer["error"]["code"] == 7000
    assert session.deleted or any(
        item.payload.get("method") == "wc_sessionDelete" for item in wc_wallet.received
    )
    assert SessionStore(secrets).latest() is None


class FailingStore(MemoryStore):
    """A keyring that stops accepting writes (locked, D-Bus gone…)."""

    failing = False

    def set(self, name: str, value: str) -> None:
        if self.failing:
            raise VaultError("cannot write to the test keyring")
        super().set(name, value)


@pytest.mark.asyncio
async def test_session_that_cannot_be_stored_is_not_kept(
    relay: LoopbackRelay, wc_wallet: FakeWallet, wc_events: EventLog
) -> None:
    secrets = FailingStore()
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
        )
    )
    proposal = await wc_wallet.pair(await wc_events.next_uri())
    secrets.failing = True
    session = await wc_wallet.approve(proposal)
    with pytest.raises(VaultError):
        await asyncio.wait_for(task, 5)
    await async_wait_until(lambda: wc_wallet.settle_answer(session) is not None)
    assert "error" in (wc_wallet.settle_answer(session) or {})
    await async_wait_until(
        lambda: any(i.payload.get("method") == "wc_sessionDelete" for i in wc_wallet.received)
    )


@pytest.mark.asyncio
async def test_pairing_uri_is_renewed_when_it_expires(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets,
            relay.url,
            PROJECT_ID,
            on_event=wc_events,
            pairing_timeout=0.4,
            relay_options=FAST,
        )
    )
    first = await wc_events.next_uri()
    second = await wc_events.next_uri(timeout=3)
    assert first != second
    assert wc_events.types()[:3] == [PairingUriReady, Expired, PairingUriReady]
    renewed = wc_events.events[2]
    assert isinstance(renewed, PairingUriReady) and renewed.renewal == 1
    proposal = await wc_wallet.pair(second)
    await wc_wallet.approve(proposal)
    signer = await asyncio.wait_for(task, 5)
    try:
        assert signer.address == wc_wallet.address
        session_topic = signer.session.topic  # type: ignore[union-attr]
        # Both one-shot pairing topics are forgotten; only the session topic is kept.
        await async_wait_until(lambda: signer.client.relay.topics == {session_topic})
    finally:
        await signer.close()


@pytest.mark.asyncio
async def test_pairing_expired_when_no_renewal_is_allowed(
    relay: LoopbackRelay, secrets: MemoryStore, wc_events: EventLog
) -> None:
    with pytest.raises(PairingExpired):
        await WalletConnectSigner.connect(
            secrets,
            relay.url,
            PROJECT_ID,
            on_event=wc_events,
            pairing_timeout=0.3,
            renewals=0,
            relay_options=FAST,
        )
    assert wc_events.types() == [PairingUriReady, Expired]
    assert isinstance(wc_events.events[1], Expired) and wc_events.events[1].what == "pairing"
    await assert_nothing_left(relay, secrets)


@pytest.mark.asyncio
async def test_cancelling_connect_leaves_no_task(
    relay: LoopbackRelay, secrets: MemoryStore, wc_events: EventLog
) -> None:
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
        )
    )
    await wc_events.next_uri()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left(relay, secrets)


@pytest.mark.asyncio
async def test_relay_refusing_the_project_is_reported(
    relay: LoopbackRelay, secrets: MemoryStore, wc_events: EventLog
) -> None:
    with pytest.raises(RelayRejected, match="Project not found"):
        await WalletConnectSigner.connect(
            secrets, relay.url, REJECTED_PROJECT, on_event=wc_events, relay_options=FAST
        )
    await assert_nothing_left(relay, secrets)


@pytest.mark.asyncio
async def test_relay_refusing_us_while_we_wait_for_a_wallet(
    relay: LoopbackRelay, secrets: MemoryStore, wc_events: EventLog
) -> None:
    task = asyncio.create_task(
        WalletConnectSigner.connect(
            secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
        )
    )
    await wc_events.next_uri()
    await relay.refuse(SessionStore(secrets).client_key().did, "Unauthorized: origin not allowed")
    with pytest.raises(RelayRejected, match="origin not allowed"):
        await asyncio.wait_for(task, 3)
    assert wc_events.types()[-1] is RelayRefused
    await assert_nothing_left(relay, secrets)


# -- signing --------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_sign_an_xmtp_text(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, relay: LoopbackRelay, wc_events: EventLog
) -> None:
    task = asyncio.create_task(connected.sign_personal(CREATE_TEXT))
    request = await wc_wallet.next_request()
    inner = request.payload["params"]
    assert request.payload["method"] == "wc_sessionRequest"
    assert inner["chainId"] == "eip155:1"
    assert inner["request"]["method"] == "personal_sign"
    assert inner["request"]["params"] == [
        "0x" + CREATE_TEXT.encode().hex(),
        connected.address,
    ]
    assert inner["request"]["expiryTimestamp"] - time.time() == pytest.approx(900, abs=5)
    assert request.tag == 1108
    await wc_wallet.sign(request)
    signature = await asyncio.wait_for(task, 5)
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert _recovers_to(CREATE_TEXT, signature) == wc_wallet.address
    sign_events = [e for e in wc_events.events if isinstance(e, SignRequested | Signed)]
    requested, signed = sign_events
    assert isinstance(requested, SignRequested) and requested.text == CREATE_TEXT
    assert requested.purpose is SignaturePurpose.CREATE_IDENTITY
    assert isinstance(signed, Signed) and signed.address == wc_wallet.address
    publish = next(p for p in relay.published if p["tag"] == 1108)
    assert publish["ttl"] >= 300 and publish.get("prompt") is True


@pytest.mark.asyncio
async def test_non_xmtp_text_is_refused_before_anything_is_sent(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, relay: LoopbackRelay
) -> None:
    before = len(relay.published)
    for text in ("hello", CREATE_TEXT + " ", "0x" + CREATE_TEXT.encode().hex()):
        with pytest.raises(UnsupportedText):
            await connected.sign_personal(text)
    # Refused before any I/O: there is nothing in flight to wait for.
    assert len(relay.published) == before
    assert wc_wallet.pending_requests() == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [5000, 4001, -32000])
async def test_rejection_is_a_typed_outcome(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, wc_events: EventLog, code: int
) -> None:
    with pytest.raises(UserRejected) as info:
        await _sign_with(wc_wallet, connected, ENABLE_TEXT, reject=code)
    assert info.value.code == code
    assert info.value.by_user is (code in (4001, 5000))
    rejected = wc_events.events[-1]
    assert isinstance(rejected, Rejected) and rejected.code == code and rejected.what == "request"
    # The session is still fine for the next request.
    signature = await _sign_with(wc_wallet, connected, ENABLE_TEXT)
    assert _recovers_to(ENABLE_TEXT, signature) == wc_wallet.address


@pytest.mark.asyncio
async def test_request_expiry(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    signer = await pair(relay, wc_wallet, secrets, wc_events, request_ttl=0.3)
    try:
        task = asyncio.create_task(signer.sign_personal(CREATE_TEXT))
        request = await wc_wallet.next_request()
        # The wire expiry stays in the window wallets accept although we give up sooner.
        expiry = request.payload["params"]["request"]["expiryTimestamp"]
        assert expiry - time.time() == pytest.approx(300, abs=5)
        with pytest.raises(RequestExpired):
            await asyncio.wait_for(task, 5)
        assert isinstance(wc_events.events[-1], Expired) and wc_events.events[-1].what == "request"
        assert signer.client.pending_requests == 0
        await wc_wallet.sign(request)  # a late answer is ignored
        await delivered_and_handled(relay, signer.client.relay)
        assert signer.session is not None
    finally:
        await signer.close()


@pytest.mark.asyncio
async def test_wallet_side_request_expiry_code(
    connected: WalletConnectSigner, wc_wallet: FakeWallet
) -> None:
    with pytest.raises(RequestExpired):
        await _sign_with(wc_wallet, connected, CREATE_TEXT, reject=8000)


@pytest.mark.asyncio
async def test_signature_from_another_key_is_wrong_wallet(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, wc_events: EventLog
) -> None:
    with pytest.raises(WrongWallet):
        await _sign_with(wc_wallet, connected, CREATE_TEXT, other_key=True)
    assert not any(isinstance(e, Signed) for e in wc_events.events)


@pytest.mark.asyncio
async def test_malformed_answer_is_a_protocol_violation(
    connected: WalletConnectSigner, wc_wallet: FakeWallet
) -> None:
    with pytest.raises(ProtocolViolation):
        await _sign_with(wc_wallet, connected, CREATE_TEXT, respond={"result": "0x1234"})


@pytest.mark.asyncio
async def test_cancelling_a_request_cleans_up(
    connected: WalletConnectSigner, wc_wallet: FakeWallet
) -> None:
    task = asyncio.create_task(connected.sign_personal(CREATE_TEXT))
    stale = await wc_wallet.next_request()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert connected.client.pending_requests == 0
    await wc_wallet.sign(stale)  # answering the cancelled request changes nothing
    signature = await _sign_with(wc_wallet, connected, CREATE_TEXT)
    assert _recovers_to(CREATE_TEXT, signature) == wc_wallet.address


# -- session lifecycle ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_wallet_side_delete_ends_the_session(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    task = asyncio.create_task(connected.sign_personal(CREATE_TEXT))
    await wc_wallet.next_request()
    await wc_wallet.delete()
    with pytest.raises(SessionDeleted, match="User disconnected"):
        await asyncio.wait_for(task, 5)
    ended = [e for e in wc_events.events if isinstance(e, SessionEnded)]
    assert len(ended) == 1 and ended[0].by_wallet
    assert connected.session is None
    assert SessionStore(secrets).latest() is None
    with pytest.raises(NoSession):
        await connected.sign_personal(CREATE_TEXT)
    assert connected.address == wc_wallet.address  # still names the account, for display


@pytest.mark.asyncio
async def test_disconnect_from_our_side(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    signer = await pair(relay, wc_wallet, secrets, wc_events)
    topic = signer.session.topic  # type: ignore[union-attr]
    await signer.disconnect()
    await async_wait_until(
        lambda: any(i.payload.get("method") == "wc_sessionDelete" for i in wc_wallet.received)
    )
    deletes = [i for i in wc_wallet.received if i.payload.get("method") == "wc_sessionDelete"]
    assert len(deletes) == 1 and deletes[0].topic == topic and deletes[0].tag == 1112
    assert deletes[0].payload["params"] == {"code": 6000, "message": "User disconnected."}
    assert SessionStore(secrets).latest() is None
    assert isinstance(wc_events.events[-1], SessionEnded) and not wc_events.events[-1].by_wallet
    await assert_nothing_left(relay, secrets)


@pytest.mark.asyncio
async def test_pings_extend_update_and_events(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    assert await connected.ping(timeout=2)
    answer = await wc_wallet.ping()
    assert answer == {"id": answer["id"], "jsonrpc": "2.0", "result": True}  # type: ignore[index]
    assert wc_wallet.received[-1].tag == 1115

    new_expiry = int(time.time()) + 6 * 86400
    assert (await wc_wallet.extend(new_expiry))["result"] is True  # type: ignore[index]
    assert connected.session.expiry == new_expiry  # type: ignore[union-attr]
    assert SessionStore(secrets).latest().expiry == new_expiry  # type: ignore[union-attr]
    assert (await wc_wallet.extend())["result"] is True  # type: ignore[index]  # 2.25: params {}
    week = time.time() + 7 * 86400
    assert connected.session.expiry == pytest.approx(week, abs=3)  # type: ignore[union-attr]

    other = "0x" + "ab" * 20
    namespaces = {
        "eip155": {
            "chains": ["eip155:1"],
            "methods": ["personal_sign"],
            "events": [],
            "accounts": [f"eip155:1:{other}", f"eip155:1:{wc_wallet.address}"],
        }
    }
    assert (await wc_wallet.update(namespaces))["result"] is True  # type: ignore[index]
    assert connected.address == wc_wallet.address  # still granted: kept
    bad = {"eip155": {"methods": [], "accounts": [f"eip155:1:{other}"]}}
    assert "error" in (await wc_wallet.update(bad) or {})
    assert connected.address == wc_wallet.address

    assert (await wc_wallet.emit_event("accountsChanged", [wc_wallet.address]))["result"] is True  # type: ignore[index]
    changes = [
        type(e)
        for e in wc_events.events
        if isinstance(e, SessionExtended | SessionUpdated | WalletEvent)
    ]
    assert changes == [SessionExtended, SessionExtended, SessionUpdated, WalletEvent]
    wallet_event = wc_events.events[-1]
    assert isinstance(wallet_event, WalletEvent) and wallet_event.name == "accountsChanged"


@pytest.mark.asyncio
async def test_wallet_switching_the_session_to_another_account(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, relay: LoopbackRelay, wc_events: EventLog
) -> None:
    other = "0x" + "ab" * 20
    namespaces = {"eip155": {"methods": ["personal_sign"], "accounts": [f"eip155:1:{other}"]}}
    assert (await wc_wallet.update(namespaces))["result"] is True  # type: ignore[index]
    updated = wc_events.events[-1]
    assert isinstance(updated, SessionUpdated) and updated.address.lower() == other
    before = len(relay.published)
    with pytest.raises(WrongWallet, match="connect again"):
        await connected.sign_personal(CREATE_TEXT)
    assert len(relay.published) == before  # nothing was sent for the other account
    assert connected.address == wc_wallet.address


@pytest.mark.asyncio
async def test_dapp_ping_without_answer_is_false(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, relay: LoopbackRelay
) -> None:
    relay.block(wc_wallet.client_id)
    assert not await connected.ping(timeout=0.3)
    relay.unblock(wc_wallet.client_id)


# -- reconnection and restarts --------------------------------------------------------------


@pytest.mark.asyncio
async def test_relay_restart_mid_session(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, relay: LoopbackRelay, wc_events: EventLog
) -> None:
    port = relay.port
    await relay.restart(downtime=0.3)
    assert relay.port == port
    wc_wallet.auto_sign = True
    signature = await asyncio.wait_for(connected.sign_personal(ENABLE_TEXT), 8)
    assert _recovers_to(ENABLE_TEXT, signature) == wc_wallet.address
    types = wc_events.types()
    assert Reconnecting in types and Reconnected in types
    assert types.index(Reconnected) > types.index(Reconnecting)
    client_id = connected.client.relay.client_id
    subscribe_calls = [m for c, m in relay.requests if c == client_id]
    assert "irn_batchSubscribe" in subscribe_calls
    assert "irn_batchFetchMessages" in subscribe_calls


@pytest.mark.asyncio
async def test_answer_sent_while_we_are_offline_is_fetched(
    connected: WalletConnectSigner, wc_wallet: FakeWallet, relay: LoopbackRelay, wc_events: EventLog
) -> None:
    task = asyncio.create_task(connected.sign_personal(CREATE_TEXT))
    request = await wc_wallet.next_request()
    client_id = connected.client.relay.client_id
    relay.block(client_id)  # our connection drops and cannot come back yet
    await async_wait_until(lambda: not connected.client.relay.connected)
    await wc_wallet.sign(request)  # lands in the mailbox only (stored once the relay answers)
    await async_wait_until(lambda: relay.refused_by_client.get(client_id, 0) > 0)
    assert client_id not in relay.connected_clients() and not task.done()
    relay.unblock(client_id)
    signature = await asyncio.wait_for(task, 8)
    assert _recovers_to(CREATE_TEXT, signature) == wc_wallet.address
    await async_wait_until(lambda: Reconnected in wc_events.types())


@pytest.mark.asyncio
async def test_client_restart_resumes_the_stored_session(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    signer = await pair(relay, wc_wallet, secrets, wc_events)
    topic = signer.session.topic  # type: ignore[union-attr]
    client_id = signer.client.relay.client_id
    await signer.close()

    resumed = await WalletConnectSigner.resume(
        secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
    )
    assert resumed is not None
    try:
        assert resumed.address == wc_wallet.address
        assert resumed.session.topic == topic  # type: ignore[union-attr]
        assert resumed.client.relay.client_id == client_id  # same relay identity (stored seed)
        signature = await _sign_with(wc_wallet, resumed, CREATE_TEXT)
        assert _recovers_to(CREATE_TEXT, signature) == wc_wallet.address
    finally:
        await resumed.close()


@pytest.mark.asyncio
async def test_resume_after_a_wallet_delete_while_closed(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    signer = await pair(relay, wc_wallet, secrets, wc_events)
    await signer.close()
    await wc_wallet.delete()  # waits in the relay mailbox
    resumed = await WalletConnectSigner.resume(
        secrets, relay.url, PROJECT_ID, on_event=wc_events, relay_options=FAST
    )
    assert resumed is None
    assert SessionStore(secrets).latest() is None
    assert isinstance(wc_events.events[-1], SessionEnded)
    await assert_nothing_left(relay, secrets)


@pytest.mark.asyncio
async def test_resume_with_nothing_or_an_expired_session(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    before = dict(relay.connections_by_client)
    assert await WalletConnectSigner.resume(MemoryStore(), relay.url, PROJECT_ID) is None
    assert relay.connections_by_client == before  # nothing stored: no connection made

    signer = await pair(relay, wc_wallet, secrets, wc_events)
    await signer.close()
    later = time.time() + 8 * 86400
    resumed = await WalletConnectSigner.resume(
        secrets, relay.url, PROJECT_ID, relay_options=FAST, clock=lambda: later
    )
    assert resumed is None
    stored = json.loads(secrets.get("walletconnect") or "{}")
    assert stored["sessions"] == {} and stored["clientSeed"]


@pytest.mark.asyncio
async def test_session_expiring_while_running(
    relay: LoopbackRelay, wc_wallet: FakeWallet, secrets: MemoryStore, wc_events: EventLog
) -> None:
    signer = await pair(relay, wc_wallet, secrets, wc_events)
    try:
        await wc_wallet.extend(int(time.time()) + 1)
        # The expiry timer ends the session although nobody asks for a signature.
        await async_wait_until(lambda: Expired in wc_events.types())
        assert signer.session is None
        assert isinstance(wc_events.events[-1], Expired) and wc_events.events[-1].what == "session"
        with pytest.raises(NoSession):
            await signer.sign_personal(CREATE_TEXT)
        assert SessionStore(secrets).latest() is None
    finally:
        await signer.close()


@pytest.mark.asyncio
async def test_everything_is_stopped_after_close(secrets: MemoryStore) -> None:
    baseline = other_tasks()
    async with LoopbackRelay() as relay:
        async with FakeWallet(relay.url, WALLET_KEY, auto_sign=True) as wc_wallet:
            signer = await pair(relay, wc_wallet, secrets, EventLog())
            await signer.sign_personal(CREATE_TEXT)
            await signer.close()
            await signer.close()  # idempotent
            await assert_nothing_left(relay, secrets)
    await async_wait_until(lambda: not other_tasks() - baseline)
