"""Network authentication tokens (``Authorization: Bearer …`` on publish).

A token proves that the publisher holds an identity key attested by a wallet: ``AuthData``
(wallet address, creation time) signed by the identity key over Keccak-256, plus the V1 identity
public key with its wallet signature.  The node accepts it for one hour.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Final

from app.keyengine.attestation import recover_wallet_address
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.hashes import keccak256
from app.keyengine.errors import InvalidToken, KeyEngineError, TokenExpired
from app.keyengine.keys import PublicKey, Signature, decode_proto
from app.keyengine.proto import authn_pb2

MAX_TOKEN_AGE_NS: Final = 3600 * 10**9
_CLOCK_SKEW_NS: Final = 60 * 10**9


def create_auth_token(bundle: PrivateKeyBundleV1, *, created_ns: int | None = None) -> str:
    """Standard base64 token for ``bundle``'s wallet, signed by its identity key."""
    created = time.time_ns() // 1_000_000 * 1_000_000 if created_ns is None else created_ns
    auth_data = authn_pb2.AuthData(wallet_addr=bundle.wallet_address, created_ns=created)
    auth_bytes = auth_data.SerializeToString()
    token = authn_pb2.Token(auth_data_bytes=auth_bytes)
    token.identity_key.CopyFrom(bundle.identity_key.public_key.to_proto())
    signature = bundle.identity_key.sign_digest(keccak256(auth_bytes))
    token.auth_data_signature.CopyFrom(signature.to_proto())
    return base64.b64encode(token.SerializeToString()).decode("ascii")


@dataclass(frozen=True, slots=True)
class ValidatedToken:
    wallet_address: str
    created_ns: int
    identity_key: PublicKey


def validate_auth_token(
    token: str, *, now_ns: int | None = None, max_age_ns: int = MAX_TOKEN_AGE_NS
) -> ValidatedToken:
    """Check a token exactly as the reference node does; return the wallet it authorises.

    (a) the wallet is recovered from the identity key's attestation, (b) the AuthData signature
    is the identity key's, low-S, over Keccak-256, (c) the AuthData wallet equals the recovered
    address as an exact EIP-55 string, (d) the token is at most ``max_age_ns`` old.
    """
    try:
        raw = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("token is not valid base64") from exc
    try:
        msg = decode_proto(authn_pb2.Token, raw, "auth token")
        if not msg.HasField("identity_key") or not msg.HasField("auth_data_signature"):
            raise InvalidToken("token lacks identity key or signature")
        identity = PublicKey.from_proto(msg.identity_key)
        signature = Signature.from_proto(msg.auth_data_signature)
        auth_data = decode_proto(authn_pb2.AuthData, msg.auth_data_bytes, "auth data")
        wallet = recover_wallet_address(identity)
    except InvalidToken:
        raise
    except KeyEngineError as exc:
        raise InvalidToken(f"malformed token: {exc}") from None
    if signature.by_wallet:
        raise InvalidToken("auth data must be signed with an ecdsa_compact signature")
    if not secp256k1.verify_digest(identity.point, keccak256(msg.auth_data_bytes), signature.raw):
        raise InvalidToken("auth data is not signed by the identity key")
    if auth_data.wallet_addr != wallet:
        raise InvalidToken(
            f"token names wallet {auth_data.wallet_addr!r} but its identity key is "
            f"attested by {wallet}"
        )
    check_token_age(auth_data.created_ns, now_ns=now_ns, max_age_ns=max_age_ns)
    return ValidatedToken(wallet, auth_data.created_ns, identity)


def check_token_age(
    created_ns: int, *, now_ns: int | None = None, max_age_ns: int = MAX_TOKEN_AGE_NS
) -> None:
    """Raise ``TokenExpired`` unless a token created at ``created_ns`` is still valid."""
    now = time.time_ns() if now_ns is None else now_ns
    if now - created_ns > max_age_ns:
        raise TokenExpired("token is older than allowed")
    if created_ns - now > _CLOCK_SKEW_NS:
        raise TokenExpired("token is dated in the future")
