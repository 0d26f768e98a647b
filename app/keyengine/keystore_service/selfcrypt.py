"""Private-preferences self-encryption, byte-compatible with libxmtp's ``xmtp_user_preferences``.

xmtp-js delegates ``selfEncrypt``/``selfDecrypt`` and the preferences topic identifier to that
crate (through ``@xmtp/user-preferences-bindings-wasm``): the AES-GCM key is HKDF-SHA256 of the
identity private key with a fixed salt (empty info), the associated data is the 65-byte identity
public key, and the output is a ``PrivatePreferencesPayload{v1: Ciphertext}``.  The topic
identifier is URL-safe unpadded base64 of SHA-256 of the same HKDF under another salt.
"""

from __future__ import annotations

import base64

from app.keyengine.crypto import aead
from app.keyengine.crypto.hashes import sha256
from app.keyengine.encrypted_bundle import ciphertext_from_proto, ciphertext_to_proto
from app.keyengine.keys import PrivateKey
from app.keyengine.keystore_service.errors import INVALID_INPUT, KeystoreMethodError
from app.keyengine.proto import private_preferences_pb2

_ENCRYPTION_SALT = b"XMTP_PRIVATE_PREFERENCES_ENCRYPTION"
_TOPIC_SALT = b"XMTP_PRIVATE_PREFERENCES_TOPIC"


def _derive(secret: bytes, salt: bytes) -> bytes:
    return aead.hkdf_sha256(secret, salt, b"")


def self_encrypt(identity: PrivateKey, payload: bytes) -> bytes:
    key = _derive(identity.secret, _ENCRYPTION_SALT)
    ciphertext = aead.encrypt(payload, key, identity.public_key.point)
    message = private_preferences_pb2.PrivatePreferencesPayload()
    message.v1.CopyFrom(ciphertext_to_proto(ciphertext))
    return message.SerializeToString()


def self_decrypt(identity: PrivateKey, payload: bytes) -> bytes:
    message = private_preferences_pb2.PrivatePreferencesPayload()
    try:
        message.ParseFromString(payload)
    except Exception:  # protobuf raises DecodeError and friends
        raise KeystoreMethodError(INVALID_INPUT, "not a private preferences payload") from None
    if message.WhichOneof("version") != "v1":
        raise KeystoreMethodError(INVALID_INPUT, "unrecognized format")
    key = _derive(identity.secret, _ENCRYPTION_SALT)
    return aead.decrypt(ciphertext_from_proto(message.v1), key, identity.public_key.point)


def preferences_topic_identifier(identity: PrivateKey) -> str:
    digest = sha256(_derive(identity.secret, _TOPIC_SALT))
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
