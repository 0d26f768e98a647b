"""Each Keystore method against xmtp-js 13.0.4's own ``InMemoryKeystore`` given the same keys.

Deterministic answers must be byte-equal; randomised ones (AES-GCM salts and nonces) must open
on the other side.  Our side is :class:`KeystoreMethods`, the very object the HTTP server calls.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.keyengine.authn import validate_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keystore_service.methods import METHODS, KeystoreMethods
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.proto import authn_pb2
from app.keyengine.proto import keystore_api_pb2 as api
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner
from tests.interop.jsdriver import XmtpJs, b64, unb64

pytestmark = pytest.mark.interop


def bundle_of(seed: int) -> PrivateKeyBundleV1:
    return asyncio.run(generate_identity(RawKeySigner(bytes([seed]) * 32)))


class Pair:
    """The same bundle behind our methods and behind a fresh xmtp-js InMemoryKeystore."""

    def __init__(self, js: XmtpJs, bundle: PrivateKeyBundleV1, state_dir: Path) -> None:
        self.js = js
        self.bundle = bundle
        self.key = b64(bundle.to_bytes())
        self.ours = KeystoreMethods(lambda: self.bundle, state_dir)

    def both(self, method: str, request: bytes = b"") -> tuple[bytes, bytes]:
        ours = self.ours.call(method, request).body
        theirs = self.js.call(
            "memory_keystore_call", bundle=self.key, method=method, request=b64(request)
        )
        return ours, unb64(theirs["response"])

    def theirs(self, method: str, request: bytes = b"") -> bytes:
        got = self.js.call(
            "memory_keystore_call", bundle=self.key, method=method, request=b64(request)
        )
        return unb64(got["response"])

    def close(self) -> None:
        self.js.call("memory_keystore_forget", bundle=self.key)


@pytest.fixture
def bob(js: XmtpJs, tmp_path: Path) -> Iterator[Pair]:
    pair = Pair(js, bundle_of(0x31), tmp_path / "bob")
    yield pair
    pair.close()


@pytest.fixture
def alice(js: XmtpJs, tmp_path: Path) -> Iterator[Pair]:
    pair = Pair(js, bundle_of(0x32), tmp_path / "alice")
    yield pair
    pair.close()


def test_we_serve_exactly_the_sdks_methods(js: XmtpJs) -> None:
    assert sorted(js.call("keystore_api_methods")["methods"]) == sorted(METHODS)
    assert len(METHODS) == 19


def test_deterministic_answers_are_byte_equal(bob: Pair) -> None:
    created = 1_700_000_000_123_000_000
    ours, theirs = bob.both(
        "createAuthToken", api.CreateAuthTokenRequest(timestamp_ns=created).SerializeToString()
    )
    assert ours == theirs
    token = base64.b64encode(authn_pb2.Token.FromString(ours).SerializeToString()).decode()
    assert (
        validate_auth_token(token, now_ns=created + 10**9).wallet_address
        == bob.bundle.wallet_address
    )
    for request in (
        api.SignDigestRequest(digest=b"\x07" * 32, identity_key=True),
        api.SignDigestRequest(digest=b"\x08" * 32, prekey_index=0),
    ):
        assert len(set(bob.both("signDigest", request.SerializeToString()))) == 1
    for method in (
        "getPublicKeyBundle",
        "getPrivatePreferencesTopicIdentifier",
        "getPrivateKeyBundle",
    ):
        ours, theirs = bob.both(method)
        assert ours == theirs, method
    for job in (api.JOB_TYPE_REFRESH_V1, api.JOB_TYPE_REFRESH_V2):
        set_job = api.SetRefeshJobRequest(job_type=job, last_run_ns=1234 + job)
        assert len(set(bob.both("setRefreshJob", set_job.SerializeToString()))) == 1
        get_job = api.GetRefreshJobRequest(job_type=job).SerializeToString()
        assert len(set(bob.both("getRefreshJob", get_job))) == 1


def test_invites_conversations_and_v2_messages(bob: Pair, alice: Pair) -> None:
    created = time.time_ns() // 1_000_000 * 1_000_000
    invite = api.CreateInviteRequest(created_ns=created)
    invite.recipient.CopyFrom(alice.bundle.signed_public_key_bundle().to_proto())
    invite.context.conversation_id = "example.com/1"
    invite.context.metadata["k"] = "v"
    ours_raw, theirs_raw = bob.both("createInvite", invite.SerializeToString())
    ours, theirs = (api.CreateInviteResponse.FromString(r) for r in (ours_raw, theirs_raw))
    assert ours.conversation == theirs.conversation
    topic = ours.conversation.topic
    # the same key material: equal HMAC keys, and messages open both ways
    hmac_request = api.GetConversationHmacKeysRequest(topics=[topic]).SerializeToString()
    assert len(set(bob.both("getV2ConversationHmacKeys", hmac_request))) == 1
    assert len(set(bob.both("getV2Conversations"))) == 1
    header = b"\x0a\x05hello"
    encrypt = api.EncryptV2Request()
    encrypt.requests.add(payload=b"payload", header_bytes=header, content_topic=topic)
    for producer, consumer in (("ours", "theirs"), ("theirs", "ours")):
        raw = (
            bob.ours.call("encryptV2", encrypt.SerializeToString()).body
            if producer == "ours"
            else bob.theirs("encryptV2", encrypt.SerializeToString())
        )
        encrypted = api.EncryptResponse.FromString(raw).responses[0].result
        decrypt = api.DecryptV2Request()
        item = decrypt.requests.add(header_bytes=header, content_topic=topic)
        item.payload.CopyFrom(encrypted.encrypted)
        decrypt.requests.add(
            header_bytes=header, content_topic="/xmtp/0/m-unknown/proto"
        ).payload.CopyFrom(encrypted.encrypted)
        raw = (
            bob.ours.call("decryptV2", decrypt.SerializeToString()).body
            if consumer == "ours"
            else bob.theirs("decryptV2", decrypt.SerializeToString())
        )
        answers = api.DecryptResponse.FromString(raw).responses
        assert answers[0].result.decrypted == b"payload"
        assert answers[1].error.code == api.ERROR_CODE_NO_MATCHING_PREKEY  # one bad item only
    ours_hmac = api.EncryptResponse.FromString(
        bob.ours.call("encryptV2", encrypt.SerializeToString()).body
    )
    theirs_hmac = api.EncryptResponse.FromString(
        bob.theirs("encryptV2", encrypt.SerializeToString())
    )
    assert ours_hmac.responses[0].result.sender_hmac == theirs_hmac.responses[0].result.sender_hmac

    # alice saves bob's invitation: both keystores answer the same conversation reference
    save = api.SaveInvitesRequest()
    save.requests.add(
        payload=ours.payload, timestamp_ns=created // 1_000_000 * 1_000_000, content_topic=""
    )
    save.requests.add(payload=b"\x01garbage", timestamp_ns=1, content_topic="")
    ours_saved, theirs_saved = (
        api.SaveInvitesResponse.FromString(r)
        for r in alice.both("saveInvites", save.SerializeToString())
    )
    assert ours_saved.responses[0] == theirs_saved.responses[0]
    assert ours_saved.responses[0].result.conversation.topic == topic
    assert (
        ours_saved.responses[1].error.code
        == theirs_saved.responses[1].error.code
        == api.ERROR_CODE_INVALID_INPUT
    )


def test_self_encryption_both_ways(bob: Pair) -> None:
    request = api.SelfEncryptRequest()
    request.requests.add(payload=b"consent action")
    for producer in ("ours", "theirs"):
        raw = (
            bob.ours.call("selfEncrypt", request.SerializeToString()).body
            if producer == "ours"
            else bob.theirs("selfEncrypt", request.SerializeToString())
        )
        sealed = api.SelfEncryptResponse.FromString(raw).responses[0].result.encrypted
        decrypt = api.SelfDecryptRequest()
        decrypt.requests.add(payload=sealed)
        decrypt.requests.add(payload=b"\x0a\x00")
        for side in bob.both("selfDecrypt", decrypt.SerializeToString()):
            answers = api.DecryptResponse.FromString(side).responses
            assert answers[0].result.decrypted == b"consent action"
            assert answers[1].WhichOneof("response") == "error"


def test_v1_messages_and_history(bob: Pair, alice: Pair) -> None:
    from app.keyengine.messages import decode_message_v1, encode_message_v1
    from app.keyengine.proto import message_pb2

    sent = encode_message_v1(
        alice.bundle, bob.bundle.public_key_bundle(), b"\x0a\x00", timestamp_ms=5
    )
    msg = message_pb2.Message.FromString(sent).v1
    decrypt = api.DecryptV1Request()
    item = decrypt.requests.add(header_bytes=msg.header_bytes, is_sender=False)
    item.payload.CopyFrom(msg.ciphertext)
    item.peer_keys.CopyFrom(alice.bundle.public_key_bundle().to_proto())
    ours, theirs = bob.both("decryptV1", decrypt.SerializeToString())
    assert ours == theirs
    # after a rotation xmtp-js assumes the current pre-key and fails; we use the header's
    bob.bundle = rotate_pre_key(bob.bundle)
    answer = api.DecryptResponse.FromString(
        bob.ours.call("decryptV1", decrypt.SerializeToString()).body
    )
    assert answer.responses[0].result.decrypted == b"\x0a\x00"
    rotated_key = b64(bob.bundle.to_bytes())
    reference = bob.js.call(
        "memory_keystore_call",
        bundle=rotated_key,
        method="decryptV1",
        request=b64(decrypt.SerializeToString()),
    )
    bob.js.call("memory_keystore_forget", bundle=rotated_key)
    failed = api.DecryptResponse.FromString(unb64(reference["response"])).responses[0]
    assert failed.WhichOneof("response") == "error"  # xmtp-js tries only the current pre-key
    # encryptV1 from us opens with the engine's reader on alice's side
    encrypt = api.EncryptV1Request()
    header = message_pb2.MessageHeaderV1(timestamp=9)
    header.sender.CopyFrom(bob.bundle.public_key_bundle().to_proto())
    header.recipient.CopyFrom(alice.bundle.public_key_bundle().to_proto())
    enc = encrypt.requests.add(payload=b"\x0a\x00", header_bytes=header.SerializeToString())
    enc.recipient.CopyFrom(alice.bundle.public_key_bundle().to_proto())
    result = api.EncryptResponse.FromString(
        bob.ours.call("encryptV1", encrypt.SerializeToString()).body
    )
    out = message_pb2.Message()
    out.v1.header_bytes = header.SerializeToString()
    out.v1.ciphertext.CopyFrom(result.responses[0].result.encrypted)
    assert (
        decode_message_v1(alice.bundle, out.SerializeToString()).sender_address
        == bob.bundle.wallet_address
    )
    # ...and with xmtp-js's own keystore on alice's side
    theirs = api.DecryptV1Request()
    item = theirs.requests.add(header_bytes=header.SerializeToString(), is_sender=False)
    item.payload.CopyFrom(result.responses[0].result.encrypted)
    item.peer_keys.CopyFrom(bob.bundle.public_key_bundle().to_proto())
    opened = api.DecryptResponse.FromString(alice.theirs("decryptV1", theirs.SerializeToString()))
    assert opened.responses[0].result.decrypted == b"\x0a\x00"


def test_v1_conversation_references(bob: Pair, alice: Pair) -> None:
    save = api.SaveV1ConversationsRequest()
    save.conversations.add(peer_address=alice.bundle.wallet_address, created_ns=77)
    assert len(set(bob.both("saveV1Conversations", save.SerializeToString()))) == 1
    assert len(set(bob.both("getV1Conversations"))) == 1
