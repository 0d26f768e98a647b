"""Keystore methods that use the keys directly: V1/V2 encryption, signing, tokens, bundles.

Each behaves as xmtp-js 13.0.4's ``InMemoryKeystore`` (same validation, error codes, bytes),
except ``decryptV1``, which uses the pre-key the message header names (current or historical)
where xmtp-js assumes the current one and so fails after a rotation.
"""

from __future__ import annotations

import base64

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PublicKeyBundle
from app.keyengine.crypto import aead
from app.keyengine.crypto.hashes import hmac_sha256
from app.keyengine.dh import three_dh
from app.keyengine.encrypted_bundle import ciphertext_from_proto, ciphertext_to_proto
from app.keyengine.keys import PrivateKey
from app.keyengine.keystore_service import selfcrypt
from app.keyengine.keystore_service.context import CallContext, answer_each, require
from app.keyengine.keystore_service.errors import (
    INVALID_INPUT,
    NO_MATCHING_PREKEY,
    UNSPECIFIED,
    KeystoreMethodError,
)
from app.keyengine.messages import hmac_key
from app.keyengine.proto import (
    authn_pb2,
    message_pb2,
    private_key_pb2,
    public_key_pb2,
    signature_pb2,
)
from app.keyengine.proto import (
    keystore_api_pb2 as api,
)


def _v1_pre_key(ctx: CallContext, header_bytes: bytes, is_sender: bool) -> PrivateKey:
    """Our pre-key named by the ``MessageHeaderV1`` (falls back to the current one)."""
    header = message_pb2.MessageHeaderV1()
    try:
        header.ParseFromString(header_bytes)
    except Exception:  # an unreadable header: behave as xmtp-js does
        return ctx.bundle.current_pre_key
    ours = header.sender if is_sender else header.recipient
    if ours.HasField("pre_key") and ours.pre_key.HasField("secp256k1_uncompressed"):
        point = ours.pre_key.secp256k1_uncompressed.bytes
        for pre_key in ctx.bundle.pre_keys:
            if pre_key.public_key.point == point:
                return pre_key
    return ctx.bundle.current_pre_key


def _v1_secret(
    ctx: CallContext, peer: public_key_pb2.PublicKeyBundle, pre_key: PrivateKey, sender: bool
) -> bytes:
    peer_bundle = PublicKeyBundle.from_proto(peer)
    if peer_bundle.pre_key is None:
        raise KeystoreMethodError(INVALID_INPUT, "peer bundle has no pre-key")
    return three_dh(
        ctx.bundle.identity_key,
        pre_key,
        peer_bundle.identity_key,
        peer_bundle.pre_key,
        is_recipient=not sender,
    )


def decrypt_v1(ctx: CallContext, req: api.DecryptV1Request) -> api.DecryptResponse:
    def work(
        item: api.DecryptV1Request.Request, success: api.DecryptResponse.Response.Success
    ) -> None:
        require(item.HasField("payload"), "payload")
        require(item.HasField("peer_keys"), "peerKeys")
        require(item.header_bytes, "headerBytes")
        pre_key = _v1_pre_key(ctx, item.header_bytes, item.is_sender)
        secret = _v1_secret(ctx, item.peer_keys, pre_key, item.is_sender)
        success.decrypted = aead.decrypt(
            ciphertext_from_proto(item.payload), secret, item.header_bytes
        )

    out = api.DecryptResponse()
    answer_each(req.requests, out.responses, work, UNSPECIFIED)
    return out


def encrypt_v1(ctx: CallContext, req: api.EncryptV1Request) -> api.EncryptResponse:
    def work(
        item: api.EncryptV1Request.Request, success: api.EncryptResponse.Response.Success
    ) -> None:
        require(item.HasField("recipient"), "recipient")
        require(item.header_bytes, "headerBytes")
        secret = _v1_secret(ctx, item.recipient, ctx.app_pre_keys[0], True)
        sealed = aead.encrypt(item.payload, secret, item.header_bytes)
        success.encrypted.CopyFrom(ciphertext_to_proto(sealed))

    out = api.EncryptResponse()
    answer_each(req.requests, out.responses, work, UNSPECIFIED)
    return out


def topic_key_material(ctx: CallContext, topic: str) -> bytes:
    data = ctx.state.v2.get(topic)
    if data is None:
        raise KeystoreMethodError(NO_MATCHING_PREKEY, "no topic key")
    material = data.invitation.aes256_gcm_hkdf_sha256.key_material
    if not material:
        raise KeystoreMethodError(INVALID_INPUT, "Missing key material")
    return material


def decrypt_v2(ctx: CallContext, req: api.DecryptV2Request) -> api.DecryptResponse:
    def work(
        item: api.DecryptV2Request.Request, success: api.DecryptResponse.Response.Success
    ) -> None:
        require(item.HasField("payload"), "payload")
        require(item.header_bytes, "headerBytes")
        material = topic_key_material(ctx, item.content_topic)
        success.decrypted = aead.decrypt(
            ciphertext_from_proto(item.payload), material, item.header_bytes
        )

    out = api.DecryptResponse()
    answer_each(req.requests, out.responses, work, UNSPECIFIED)
    return out


def encrypt_v2(ctx: CallContext, req: api.EncryptV2Request) -> api.EncryptResponse:
    period = ctx.thirty_day_period()

    def work(
        item: api.EncryptV2Request.Request, success: api.EncryptResponse.Response.Success
    ) -> None:
        require(item.header_bytes, "headerBytes")
        material = topic_key_material(ctx, item.content_topic)
        sealed = aead.encrypt(item.payload, material, item.header_bytes)
        success.encrypted.CopyFrom(ciphertext_to_proto(sealed))
        success.sender_hmac = hmac_sha256(
            hmac_key(material, ctx.address, period), item.header_bytes
        )

    out = api.EncryptResponse()
    answer_each(req.requests, out.responses, work, INVALID_INPUT)
    return out


def self_encrypt(ctx: CallContext, req: api.SelfEncryptRequest) -> api.SelfEncryptResponse:
    identity = ctx.bundle.identity_key

    def work(
        item: api.SelfEncryptRequest.Request, success: api.SelfEncryptResponse.Response.Success
    ) -> None:
        success.encrypted = selfcrypt.self_encrypt(identity, item.payload)

    out = api.SelfEncryptResponse()
    answer_each(req.requests, out.responses, work, INVALID_INPUT)
    return out


def self_decrypt(ctx: CallContext, req: api.SelfDecryptRequest) -> api.DecryptResponse:
    identity = ctx.bundle.identity_key

    def work(
        item: api.SelfDecryptRequest.Request, success: api.DecryptResponse.Response.Success
    ) -> None:
        success.decrypted = selfcrypt.self_decrypt(identity, item.payload)

    out = api.DecryptResponse()
    answer_each(req.requests, out.responses, work, INVALID_INPUT)
    return out


def preferences_topic_identifier(
    ctx: CallContext, _req: None
) -> api.GetPrivatePreferencesTopicIdentifierResponse:
    identifier = selfcrypt.preferences_topic_identifier(ctx.bundle.identity_key)
    return api.GetPrivatePreferencesTopicIdentifierResponse(identifier=identifier)


def create_auth_token_method(ctx: CallContext, req: api.CreateAuthTokenRequest) -> authn_pb2.Token:
    created = None
    if req.HasField("timestamp_ns") and req.timestamp_ns:
        created = req.timestamp_ns // 1_000_000 * 1_000_000
    token = create_auth_token(ctx.bundle, created_ns=created)
    return authn_pb2.Token.FromString(base64.b64decode(token))


def sign_digest(ctx: CallContext, req: api.SignDigestRequest) -> signature_pb2.Signature:
    require(req.digest, "digest")
    which = req.WhichOneof("signer")
    if which == "identity_key" and req.identity_key:
        key = ctx.bundle.identity_key
    elif which == "prekey_index":
        pre_keys = ctx.app_pre_keys
        if req.prekey_index >= len(pre_keys):
            raise KeystoreMethodError(NO_MATCHING_PREKEY, "no prekey found")
        key = pre_keys[req.prekey_index]
    else:
        raise KeystoreMethodError(INVALID_INPUT, "must specifify identityKey or prekeyIndex")
    return key.sign_digest(req.digest).to_proto()


def public_key_bundle(ctx: CallContext, _req: None) -> public_key_pb2.PublicKeyBundle:
    return ctx.bundle.public_key_bundle().to_proto()


def private_key_bundle(ctx: CallContext, _req: None) -> private_key_pb2.PrivateKeyBundleV1:
    return ctx.bundle.to_proto()


def conversation_hmac_keys(
    ctx: CallContext, req: api.GetConversationHmacKeysRequest
) -> api.GetConversationHmacKeysResponse:
    """HMAC keys of the previous, current and next 30-day period for each (asked) topic.

    An empty ``topics`` list means every topic: on the wire it cannot be told from no request.
    """
    period = ctx.thirty_day_period()
    wanted = set(req.topics)
    out = api.GetConversationHmacKeysResponse()
    for data in ctx.state.v2.values():
        invitation_topic = data.invitation.topic
        if not invitation_topic or (wanted and invitation_topic not in wanted):
            continue
        material = data.invitation.aes256_gcm_hkdf_sha256.key_material
        keys = out.hmac_keys[invitation_topic]
        for value in (period - 1, period, period + 1):
            keys.values.add(
                thirty_day_periods_since_epoch=value,
                hmac_key=hmac_key(material, ctx.address, value),
            )
    return out
