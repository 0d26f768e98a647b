"""The encrypted private-key bundle format ("XMTP : Enable Identity"): seal and open.

The wallet signs the Enable Identity text naming a random 32-byte ``wallet_pre_key``; those 65
signature bytes (v = 27/28) are the AEAD secret of the ``PrivateKeyBundle``.  Only that wallet can
re-create the signature, so only it can unlock the bundle stored on the network.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from app.keyengine.bundles import PrivateKeyBundleV1, decode_private_key_bundle
from app.keyengine.crypto import aead
from app.keyengine.errors import DecryptionFailed, InvalidBundle, WrongWallet
from app.keyengine.keys import _parse
from app.keyengine.proto import ciphertext_pb2, private_key_pb2
from app.keyengine.texts import SignatureRequest
from app.keyengine.wallets.base import (
    SignatureObserver,
    WalletSigner,
    check_signer,
    request_signature,
)

WALLET_PRE_KEY_LENGTH = 32


def ciphertext_to_proto(value: aead.AeadCiphertext) -> ciphertext_pb2.Ciphertext:
    msg = ciphertext_pb2.Ciphertext()
    part = msg.aes256_gcm_hkdf_sha256
    part.hkdf_salt = value.hkdf_salt
    part.gcm_nonce = value.gcm_nonce
    part.payload = value.payload
    return msg


def ciphertext_from_proto(msg: ciphertext_pb2.Ciphertext) -> aead.AeadCiphertext:
    if msg.WhichOneof("union") != "aes256_gcm_hkdf_sha256":
        raise DecryptionFailed("unsupported ciphertext kind")
    part = msg.aes256_gcm_hkdf_sha256
    value = aead.AeadCiphertext(part.hkdf_salt, part.gcm_nonce, part.payload)
    value.check_lengths()
    return value


@dataclass(frozen=True, slots=True)
class EncryptedPrivateKeyBundle:
    """``EncryptedPrivateKeyBundle{v1}``: the wallet pre-key and the sealed private bundle."""

    wallet_pre_key: bytes
    ciphertext: aead.AeadCiphertext

    def __post_init__(self) -> None:
        if len(self.wallet_pre_key) != WALLET_PRE_KEY_LENGTH:
            raise InvalidBundle(f"wallet pre-key must be 32 bytes, got {len(self.wallet_pre_key)}")
        try:
            self.ciphertext.check_lengths()
        except DecryptionFailed as exc:
            raise InvalidBundle(f"encrypted bundle: {exc}") from None

    @property
    def signature_request(self) -> SignatureRequest:
        """The Enable Identity request whose signature unlocks this bundle."""
        return SignatureRequest.enable_identity(self.wallet_pre_key)

    def to_bytes(self) -> bytes:
        msg = private_key_pb2.EncryptedPrivateKeyBundle()
        msg.v1.wallet_pre_key = self.wallet_pre_key
        msg.v1.ciphertext.CopyFrom(ciphertext_to_proto(self.ciphertext))
        return msg.SerializeToString()

    @classmethod
    def _from_v1(
        cls, msg: private_key_pb2.EncryptedPrivateKeyBundleV1
    ) -> EncryptedPrivateKeyBundle:
        if not msg.HasField("ciphertext"):
            raise InvalidBundle("encrypted bundle has no ciphertext")
        try:
            ciphertext = ciphertext_from_proto(msg.ciphertext)
        except DecryptionFailed as exc:
            raise InvalidBundle(f"encrypted bundle: {exc}") from None
        return cls(msg.wallet_pre_key, ciphertext)

    @classmethod
    def from_bytes(cls, data: bytes) -> EncryptedPrivateKeyBundle:
        """Accept the versioned form and, like xmtp-js, a bare ``EncryptedPrivateKeyBundleV1``."""
        try:
            msg = private_key_pb2.EncryptedPrivateKeyBundle.FromString(data)
            if msg.WhichOneof("version") == "v1" and msg.v1.HasField("ciphertext"):
                return cls._from_v1(msg.v1)
        except InvalidBundle:
            raise
        except Exception:  # noqa: S110 - decoder failure: try the bare legacy form
            pass
        bare = _parse(private_key_pb2.EncryptedPrivateKeyBundleV1, data, "encrypted bundle")
        if not bare.HasField("ciphertext"):
            raise InvalidBundle("bytes are not an encrypted private key bundle")
        return cls._from_v1(bare)


def seal_bundle(
    bundle: PrivateKeyBundleV1,
    wallet_signature: bytes,
    wallet_pre_key: bytes,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> EncryptedPrivateKeyBundle:
    """Encrypt ``bundle`` (wrapped V1 form) with a 65-byte Enable Identity signature."""
    ciphertext = aead.encrypt(bundle.to_bytes(), wallet_signature, salt=salt, nonce=nonce)
    return EncryptedPrivateKeyBundle(wallet_pre_key, ciphertext)


def open_bundle(
    encrypted: EncryptedPrivateKeyBundle, wallet_signature: bytes
) -> PrivateKeyBundleV1:
    """Decrypt with the signature; retry with v toggled by 27 (Ledger's 0/1) like xmtp-js."""
    try:
        plaintext = aead.decrypt(encrypted.ciphertext, wallet_signature)
    except DecryptionFailed:
        if len(wallet_signature) != 65:
            raise
        v = wallet_signature[64]
        toggled = wallet_signature[:64] + bytes([v + 27 if v < 27 else v - 27])
        try:
            plaintext = aead.decrypt(encrypted.ciphertext, toggled)
        except DecryptionFailed:
            raise DecryptionFailed(
                "the stored key bundle does not decrypt with this wallet's signature"
            ) from None
    bundle = decode_private_key_bundle(plaintext)
    return bundle if isinstance(bundle, PrivateKeyBundleV1) else bundle.to_legacy()


async def encrypt_bundle(
    bundle: PrivateKeyBundleV1,
    signer: WalletSigner,
    observer: SignatureObserver | None = None,
    *,
    wallet_pre_key: bytes | None = None,
) -> EncryptedPrivateKeyBundle:
    """Ask the wallet for an Enable Identity signature and seal ``bundle`` with it."""
    wallet_pre_key = (
        secrets.token_bytes(WALLET_PRE_KEY_LENGTH) if wallet_pre_key is None else wallet_pre_key
    )
    request = SignatureRequest.enable_identity(wallet_pre_key)
    signature = await request_signature(signer, request, observer)
    return seal_bundle(bundle, signature, wallet_pre_key)


async def decrypt_bundle(
    encrypted: EncryptedPrivateKeyBundle,
    signer: WalletSigner,
    observer: SignatureObserver | None = None,
) -> PrivateKeyBundleV1:
    """Ask the wallet to re-sign the stored Enable Identity text and unlock the bundle.

    Successful decryption authenticates the signature, so the recovery check runs only when
    decryption fails, to tell "another account signed" (``WrongWallet``, after asking once
    more in case the wallet answered with a stale signature) from "this bundle is not ours or
    is damaged" (``DecryptionFailed``).
    """
    request = encrypted.signature_request
    signature = await request_signature(signer, request, observer, verify=False)
    try:
        return open_bundle(encrypted, signature)
    except DecryptionFailed:
        try:
            check_signer(signer.address, request, signature)
        except WrongWallet:
            # Perhaps a stale signature (an earlier request's): ask once more, and this time
            # the signature must recover to the account before it is used.
            signature = await request_signature(signer, request, observer, retries=0)
            return open_bundle(encrypted, signature)
        raise
