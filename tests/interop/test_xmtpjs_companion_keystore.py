"""bob-app (an xmtp-js Client whose only keystore is the companion) and alice (plain xmtp-js).

Bob's identity is created by the companion's engine; the JS process never receives a private
key (it gets only the keystore URL and an app token).  Over the project's node: alice starts a
conversation and sends, bob-app lists, reads and replies, streams deliver both ways; Bob rotates
his pre-key twice in the companion (served at once, no restart); the old conversation keeps
working, an invitation alice sealed before the rotations opens through ``saveInvites``, a new
conversation uses the new pre-key; the service restarts and loses no conversation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.flows import Identity, KeyFlows
from app.keyengine.keystore_service.threaded import ThreadedKeystore
from app.keyengine.network import XmtpClient
from app.keyengine.vault import MemoryStore, Vault
from app.keyengine.wallets import RawKeySigner
from tests.interop.jsdriver import DriverError, XmtpJs

pytestmark = pytest.mark.interop
BOB_KEY = bytes.fromhex("b0" * 32)
ALICE_KEY = "a1" * 32


class Companion:
    """Bob's side: the engine's flows and vault, and the identity the keystore serves."""

    def __init__(self, node_url: str, data_dir: Path) -> None:
        self.node = node_url
        self.vault = Vault(data_dir, MemoryStore())
        self.signer = RawKeySigner(BOB_KEY)
        self.identity: Identity | None = None

    def bundle(self) -> PrivateKeyBundleV1 | None:
        """The bundle provider: whatever the engine session holds now."""
        return None if self.identity is None else self.identity.bundle

    def _run(self, action: str) -> Identity:
        async def go() -> Identity:
            async with XmtpClient(self.node) as client:
                flows = KeyFlows(client, self.vault)
                if action == "login":
                    return await flows.login(self.signer)
                assert self.identity is not None
                return await flows.rotate_prekey(self.signer, self.identity)

        self.identity = asyncio.run(go())
        return self.identity


def texts(js: XmtpJs, topic: str, **who: str) -> list[str]:
    return [m["text"] for m in js.call("client_messages", topic=topic, **who)["messages"]]


def test_bob_app_messages_with_companion_keys(js: XmtpJs, node_url: str, tmp_path: Path) -> None:
    companion = Companion(node_url, tmp_path / "bob")
    identity = companion._run("login")
    bob = identity.wallet_address
    keystore_dir = tmp_path / "bob" / "keystore"
    service = ThreadedKeystore(companion.bundle, keystore_dir)
    token = service.registry.allow("bob-app")
    service.start()
    app = {"client_name": "bob-app"}
    try:
        created = js.call(
            "companion_client_create",
            keystore_url=service.url,
            token=token,
            api_url=node_url,
            **app,
        )
        assert created["wallet_address"] == bob
        assert "private_key_bundle" not in created
        alice = js.call("client_create", wallet_key=ALICE_KEY, api_url=node_url)["wallet_address"]
        me = {"wallet_key": ALICE_KEY}

        # alice starts a conversation and sends; bob-app lists, reads, replies; streams both ways
        js.call("stream_start", **app)
        first = js.call("client_new_conversation", peer_address=bob, conversation_id="c/1", **me)
        js.call("client_send", topic=first["topic"], text="hi bob", **me)
        listed = js.call("client_list_conversations", **app)["conversations"]
        assert [c["topic"] for c in listed] == [first["topic"]]
        assert listed[0]["peer_address"] == alice
        assert texts(js, first["topic"], **app) == ["hi bob"]
        streamed = js.call("stream_take", count=1, **app)["messages"]
        assert [m["text"] for m in streamed] == ["hi bob"]
        js.call("stream_start", client_name=alice)
        js.call("client_send", topic=first["topic"], text="hi alice", **app)
        assert texts(js, first["topic"], **me) == ["hi bob", "hi alice"]
        streamed = js.call("stream_take", count=1, client_name=alice)["messages"]
        assert [(m["text"], m["sender_address"]) for m in streamed] == [("hi alice", bob)]
        js.call("stream_stop", client_name=alice)

        # consent: published self-encrypted by the companion, read back (selfDecrypt)
        js.call("consent_allow", peer_address=alice, **app)
        assert js.call("consent_state", peer_address=alice, **app)["state"] == "allowed"

        # an invitation alice seals before the rotations, not yet seen by bob-app
        early = js.call("client_new_conversation", peer_address=bob, conversation_id="c/2", **me)
        js.call("client_send", topic=early["topic"], text="before rotations", **me)
        old_prekey = created["prekey"]

        # two rotations in the companion, served without a restart
        companion._run("rotate")
        rotated = companion._run("rotate")
        new_prekey = rotated.bundle.current_pre_key.public_key.point.hex()
        assert new_prekey != old_prekey and len(rotated.bundle.pre_keys) == 3
        js.call("client_send", topic=first["topic"], text="after rotations", **app)
        assert texts(js, first["topic"], **me)[-1] == "after rotations"
        topics = {c["topic"] for c in js.call("client_list_conversations", **app)["conversations"]}
        assert early["topic"] in topics  # saveInvites opened it with a historical pre-key
        assert texts(js, early["topic"], **app) == ["before rotations"]

        # a new conversation after the rotations is sealed to the new pre-key
        assert js.call("client_lookup", peer_address=bob, **me)["prekey"] == new_prekey
        late = js.call("client_new_conversation", peer_address=bob, conversation_id="c/3", **me)
        js.call("client_send", topic=late["topic"], text="new prekey", **me)
        assert texts(js, late["topic"], **app) == ["new prekey"]
        streamed = js.call("stream_take", count=3, **app)["messages"]
        assert {"before rotations", "new prekey"} <= {m["text"] for m in streamed}
        js.call("stream_stop", **app)

        # the service restarts: bob-app's conversations are still listed and readable
        service.stop()
        service = ThreadedKeystore(companion.bundle, keystore_dir, port=service.server.port)
        service.start()
        restarted = js.call(
            "companion_client_create",
            keystore_url=service.url,
            token=token,
            api_url=node_url,
            **app,
        )
        assert restarted["prekey"] == new_prekey
        after = js.call("client_list_conversations", **app)["conversations"]
        assert {first["topic"], early["topic"], late["topic"]} <= {c["topic"] for c in after}
        assert texts(js, first["topic"], **app)[0] == "hi bob"
        assert js.call("consent_state", peer_address=alice, **app)["state"] == "allowed"

        # the fetch transport (what a browser-like app uses) reads the same conversations
        web = {"client_name": "bob-fetch"}
        js.call(
            "companion_client_create",
            keystore_url=service.url,
            token=token,
            api_url=node_url,
            use_fetch=True,
            **web,
        )
        assert texts(js, late["topic"], **web) == ["new prekey"]

        # revoked: bob-app fails with a clear error
        service.registry.revoke("bob-app")
        with pytest.raises(DriverError, match="revoked"):
            js.call("client_list_conversations", **app)
    finally:
        service.stop()
        js.call("client_close", wallet_key=ALICE_KEY)
