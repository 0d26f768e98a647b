"""The WalletKit test peer against the official JS dApp SDK, over the loopback relay fixture.

Proves ``tests/interop/walletkit/wallet.mjs`` (``@reown/walletkit`` 1.6.0) and
``tests/support/wc_relay.py`` work independently of our Python dApp: the official
``@walletconnect/sign-client`` 2.25.0 (``dapp_smoke.mjs``) pairs with the wallet, gets a session,
has ``personal_sign`` requests signed (the signature recovers to the session account), rejected
(5000) and signed with a foreign key (does not recover), and sees session deletes from both sides.
Wallet, dApp and relay run in three separate processes / loops, nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from eth_account import Account
from eth_account.messages import encode_defunct

from tests.interop.walletkit_driver import JsDappPeer, WalletKitPeer, walletkit_available
from tests.support.wc_relay import LoopbackRelay

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]

WALLET_KEY = "11" * 32
SECOND_KEY = "33" * 32
TEXT = "XMTP Key Companion ✓ sign me\nline 2"


@pytest_asyncio.fixture
async def relay() -> AsyncIterator[LoopbackRelay]:
    async with LoopbackRelay(ping_interval=20.0) as running:
        yield running


@pytest_asyncio.fixture
async def peers(relay: LoopbackRelay) -> AsyncIterator[tuple[WalletKitPeer, JsDappPeer]]:
    if not walletkit_available():
        pytest.fail("WalletKit peer not installed: run `npm ci` in tests/interop/walletkit")
    wallet, dapp = await asyncio.gather(
        WalletKitPeer.start(relay.url, WALLET_KEY, extra_keys=[SECOND_KEY]),
        JsDappPeer.start(relay.url),
    )
    async with wallet, dapp:
        yield wallet, dapp
        # nothing tried to leave the machine, stdout stayed pure JSON lines
        assert wallet.network_blocked() == []
        assert dapp.network_blocked() == []
        assert wallet.garbage == [] and dapp.garbage == []
    assert relay.auth_failures == []


async def connect(wallet: WalletKitPeer, dapp: JsDappPeer) -> dict:
    uri = (await dapp.send("connect"))["uri"]
    assert uri.startswith("wc:") and "symKey=" in uri
    paired = await wallet.pair(uri)
    proposal = await wallet.wait_for("proposal")
    assert proposal["pairing_topic"] == paired["topic"]
    assert proposal["optional_namespaces"]["eip155"]["methods"] == ["personal_sign"]
    assert proposal["verify"] == "UNKNOWN"  # relay passed attestation "": no Verify API call
    return proposal


async def sign_text(dapp: JsDappPeer, text: str) -> asyncio.Task[dict]:
    return asyncio.create_task(dapp.send("personal_sign", text=text, timeout=30))


async def test_pair_approve_sign_reject_and_dapp_delete(
    relay: LoopbackRelay, peers: tuple[WalletKitPeer, JsDappPeer]
) -> None:
    wallet, dapp = peers
    await connect(wallet, dapp)

    approved = await wallet.approve()
    assert approved["account"] == wallet.address
    dapp_session = await dapp.wait_for("session_approved")
    assert dapp_session["topic"] == approved["topic"]
    assert dapp_session["accounts"] == [f"eip155:1:{wallet.address}"]
    # Sign 2.5: proposal and approval went through the new relay methods
    methods = relay.methods_seen()
    assert "wc_proposeSession" in methods and "wc_approveSession" in methods

    # personal_sign, message as 0x-hex of its UTF-8, [message, address]
    pending = await sign_text(dapp, TEXT)
    request = await wallet.wait_for("request")
    assert request["method"] == "personal_sign"
    assert request["message_text"] == TEXT and request["message_was_hex"]
    assert request["address_matches"] and not request["address_is_first_param"]
    signed = await wallet.sign(request["id"])
    result = await pending
    assert result["ok"] and result["verified"], result
    assert result["signature"] == signed["signature"]
    recovered = Account.recover_message(
        encode_defunct(primitive=TEXT.encode()), signature=result["signature"]
    )
    assert recovered == wallet.address

    # user rejection
    pending = await sign_text(dapp, "please reject")
    request = await wallet.wait_for("request")
    await wallet.reject(request["id"])
    result = await pending
    assert not result["ok"] and result["error"]["code"] == 5000

    # a signature by another key: delivered, but does not recover to the account
    pending = await sign_text(dapp, "wrong key")
    request = await wallet.wait_for("request")
    await wallet.send("sign_with_other_key", id=request["id"])
    result = await pending
    assert result["ok"] and not result["verified"]
    assert result["recovered"] == wallet.other_address

    # liveness both ways, then the dApp disconnects
    await dapp.send("ping")
    await wallet.wait_for("session_ping", topic=approved["topic"])
    await wallet.send("ping")
    await dapp.send("disconnect")
    deleted = await wallet.wait_for("session_deleted")
    assert deleted["topic"] == approved["topic"]
    assert (await wallet.send("sessions"))["sessions"] == []


async def test_proposal_reject_auto_mode_and_wallet_delete(
    peers: tuple[WalletKitPeer, JsDappPeer],
) -> None:
    wallet, dapp = peers

    # the user declines the connection
    await connect(wallet, dapp)
    await wallet.send("reject_proposal")
    failed = await dapp.wait_for("connect_failed")
    assert failed["error"]["code"] == 5000

    # auto mode: approves with the first account, signs on its own
    await wallet.send("set_mode", auto_approve=True, auto_sign=True)
    uri = (await dapp.send("connect"))["uri"]
    await wallet.pair(uri)
    session = await dapp.wait_for("session_approved")
    assert session["accounts"] == [f"eip155:1:{wallet.address}"]
    result = await dapp.send("personal_sign", text=TEXT, timeout=30)
    assert result["ok"] and result["verified"] and result["recovered"] == wallet.address
    second = wallet.addresses[1]

    # the wallet switches account (wc_sessionUpdate + accountsChanged), then deletes the session
    await wallet.send("update_accounts", account_indices=[1])
    update = await dapp.wait_for("session_update")
    assert update["params"]["namespaces"]["eip155"]["accounts"] == [f"eip155:1:{second}"]
    await wallet.send("emit_event", name="accountsChanged")
    event = await dapp.wait_for("session_event")
    assert event["params"]["event"] == {"name": "accountsChanged", "data": [second]}
    result = await dapp.send("personal_sign", text="after switch", timeout=30)
    assert result["verified"] and result["recovered"] == second

    await wallet.send("delete")
    deleted = await dapp.wait_for("session_delete")
    assert deleted["topic"] == session["topic"]
    assert (await dapp.send("sessions"))["sessions"] == []
