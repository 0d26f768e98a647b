"""A WalletConnect user in the real window: the official wallet SDK (@reown/walletkit 1.6.0)
pairs through a loopback relay and the identity is created with the wallet's two signatures."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from app.keyengine.network import QuerySpec, XmtpClient
from app.keyengine.texts import SignaturePurpose, classify_text
from app.keyengine.topics import contact_topic, private_store_topic
from tests.interop.walletkit_driver import WalletKitPeer, walletkit_available
from tests.support.wc_relay import LoopbackRelay


@pytest.fixture
def walletkit(run: Any) -> Any:
    if not walletkit_available():
        pytest.fail("WalletKit peer not installed: run `make node-deps`")
    relay = LoopbackRelay(ping_interval=20.0)
    run(relay.start())
    # A fresh account per test: the node is shared by the whole GUI session.
    key = secrets.token_hex(32)
    wallet = run(WalletKitPeer.start(relay.url, key, auto_approve=True, auto_sign=True))
    yield relay, wallet
    assert wallet.network_blocked() == []
    run(wallet.close())
    run(relay.stop())


def pair_in_app(app: Any, run: Any, relay: LoopbackRelay, wallet: WalletKitPeer) -> None:
    """Point the app at the loopback relay, click WalletConnect, hand the QR's URI to the
    wallet, and wait until the connect-and-login operation has ended."""
    app.context.settings.relay_url = relay.url
    app.context.settings.project_id = "gui-test"
    app.context.save_settings()
    view = app.window.screens.connect
    view.tabs.setCurrentIndex(2)
    uris: list[str] = []
    app.window.connect_vm.pairing_uri.connect(uris.append)
    app.click(view.wc_button)
    app.qtbot.waitUntil(lambda: any(u.startswith("wc:") for u in uris), timeout=10_000)
    assert view.qr_label.data.startswith("wc:") and view.qr_label.module_px() >= 3
    run(wallet.pair(next(u for u in uris if u.startswith("wc:"))))
    app.wait_idle(timeout=60)


def test_walletconnect_user_pairs_and_creates_an_identity(
    make_app: Any, run: Any, walletkit: tuple[LoopbackRelay, WalletKitPeer], shared_node: str
) -> None:
    relay, wallet = walletkit
    app = make_app()
    pair_in_app(app, run, relay, wallet)

    assert app.ops.last_error is None
    account = app.context.accounts.current
    assert account is not None and account.address == wallet.address
    identity = app.window.screens.identity
    assert identity.wallet.text() == wallet.address
    assert identity.attestation.property("status") == "ok"
    # The wallet was asked for exactly the two XMTP texts, as hex of UTF-8, for its account;
    # they are the texts the app showed and logged.
    requests = wallet.events("request")
    assert all(r["message_was_hex"] and r["address_matches"] for r in requests)
    assert [classify_text(r["message_text"]).purpose for r in requests] == [
        SignaturePurpose.CREATE_IDENTITY,
        SignaturePurpose.ENABLE_IDENTITY,
    ]
    logged = [e.text for e in app.context.activity.load() if e.kind == "signature"]
    assert logged == [r["message_text"] for r in requests]

    async def on_node() -> tuple[int, int]:
        async with XmtpClient(shared_node) as client:
            stored = await client.query(QuerySpec(private_store_topic(wallet.address)))
            contacts = await client.query(QuerySpec(contact_topic(wallet.address)))
        return len(stored), len(contacts)

    assert run(on_node()) == (1, 2)


def test_walletconnect_rejection_ends_in_a_clear_state(
    make_app: Any, run: Any, walletkit: tuple[LoopbackRelay, WalletKitPeer], shared_node: str
) -> None:
    relay, wallet = walletkit
    run(wallet.send("set_mode", auto_sign=True, request_action="reject"))
    app = make_app()
    view = app.window.screens.connect
    pair_in_app(app, run, relay, wallet)

    assert app.ops.last_error is not None
    assert "declined" in str(app.ops.last_error).lower()
    assert "Traceback" not in str(app.ops.last_error)
    assert view.wc_button.isEnabled()
    assert len(wallet.events("rejected")) == 1

    async def contacts() -> int:
        async with XmtpClient(shared_node) as client:
            return len(await client.query(QuerySpec(contact_topic(wallet.address))))

    assert run(contacts()) == 0


def test_remembered_walletconnect_account_resumes_without_pairing(
    make_app: Any, run: Any, walletkit: tuple[LoopbackRelay, WalletKitPeer], tmp_path: Any
) -> None:
    relay, wallet = walletkit
    data_dir = tmp_path / "returning"
    first = make_app(data_dir)
    pair_in_app(first, run, relay, wallet)
    assert first.ops.last_error is None

    # The app quits and starts again (same data dir and keyring): "Connect again…" resumes the
    # stored session.
    first.shutdown()
    first.window.close()
    again = make_app(data_dir)
    new_uris: list[str] = []
    again.window.connect_vm.pairing_uri.connect(new_uris.append)
    assert [a.kind for a in again.context.settings.accounts] == ["walletconnect"]
    assert again.context.settings.relay_url == relay.url
    again.expected = again.started + 1
    again.window.accounts_vm.reconnect(wallet.address)
    again.wait_idle(timeout=60)
    assert again.ops.last_error is None
    assert again.context.accounts.current is not None
    assert again.context.accounts.current.address == wallet.address
    assert not any(u.startswith("wc:") for u in new_uris)  # no new QR code
    # The keys came from the keyring: no signature at all; the wallet is reached only when a
    # signature is needed, and then the stored session resumes (still no new QR code).
    purposes = [classify_text(r["message_text"]).purpose for r in wallet.events("request")]
    assert len(purposes) == 2
    account = again.context.accounts.current
    assert account.signer is None
    signer = run(again.context.wallet_for(account), timeout=60)
    assert signer.address == wallet.address
    assert not any(u.startswith("wc:") for u in new_uris)
