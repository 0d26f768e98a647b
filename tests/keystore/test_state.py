"""Per-account state: encrypted at rest with a key from the identity key, kept across restarts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keystore_service.methods import KeystoreMethods
from app.keyengine.keystore_service.state import KeystoreState, StateUnreadable
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.proto import keystore_api_pb2 as api


def invite(methods: KeystoreMethods, peer: PrivateKeyBundleV1, conversation_id: str) -> str:
    request = api.CreateInviteRequest(created_ns=time.time_ns())
    request.recipient.CopyFrom(peer.signed_public_key_bundle().to_proto())
    request.context.conversation_id = conversation_id
    reply = api.CreateInviteResponse.FromString(
        methods.call("createInvite", request.SerializeToString()).body
    )
    return reply.conversation.topic


def test_restart_answers_the_same_conversations_without_invitations(
    tmp_path: Path, bob_bundle: PrivateKeyBundleV1, alice_bundle: PrivateKeyBundleV1
) -> None:
    first = KeystoreMethods(lambda: bob_bundle, tmp_path)
    topics = [invite(first, alice_bundle, f"c/{n}") for n in range(3)]
    job = api.SetRefeshJobRequest(job_type=api.JOB_TYPE_REFRESH_V2, last_run_ns=42)
    first.call("setRefreshJob", job.SerializeToString())
    v1 = api.SaveV1ConversationsRequest()
    v1.conversations.add(peer_address=alice_bundle.wallet_address, created_ns=7)
    first.call("saveV1Conversations", v1.SerializeToString())
    before = {m: first.call(m, b"").body for m in ("getV2Conversations", "getV1Conversations")}

    restarted = KeystoreMethods(lambda: bob_bundle, tmp_path)
    after = {m: restarted.call(m, b"").body for m in ("getV2Conversations", "getV1Conversations")}
    assert after == before
    listed = api.GetConversationsResponse.FromString(after["getV2Conversations"]).conversations
    assert [c.topic for c in listed] == topics
    get_job = api.GetRefreshJobRequest(job_type=api.JOB_TYPE_REFRESH_V2).SerializeToString()
    assert (
        api.GetRefreshJobResponse.FromString(
            restarted.call("getRefreshJob", get_job).body
        ).last_run_ns
        == 42
    )


def test_state_file_is_encrypted_private_and_only_the_owner_reads_it(
    tmp_path: Path, bob_bundle: PrivateKeyBundleV1, alice_bundle: PrivateKeyBundleV1
) -> None:
    methods = KeystoreMethods(lambda: bob_bundle, tmp_path)
    topic = invite(methods, alice_bundle, "secret-conversation")
    path = tmp_path / f"{bob_bundle.wallet_address}.state"
    raw = path.read_bytes()
    assert topic.encode() not in raw and b"secret-conversation" not in raw
    assert alice_bundle.wallet_address.encode() not in raw
    assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # a rotation keeps the identity key: the state still opens
    rotated = rotate_pre_key(bob_bundle)
    assert KeystoreState.open(tmp_path, rotated.identity_key, rotated.wallet_address).v2
    # another identity's key does not open it
    with pytest.raises(StateUnreadable):
        KeystoreState.open(tmp_path, alice_bundle.identity_key, bob_bundle.wallet_address)
