"""Auth tokens (``authn``): validation to their wallet, expiry, and each way to be wrong."""

from __future__ import annotations

import base64

import pytest

from app.keyengine.authn import MAX_TOKEN_AGE_NS, create_auth_token, validate_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.crypto import secp256k1
from app.keyengine.crypto.hashes import keccak256
from app.keyengine.errors import InvalidToken, TokenExpired
from app.keyengine.keys import PrivateKey, Signature
from app.keyengine.proto import authn_pb2
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import CREATED_NS, make_identity

N = secp256k1.CURVE_ORDER


def _token(
    bundle: PrivateKeyBundleV1,
    *,
    wallet_addr: str,
    created_ns: int = CREATED_NS,
    signing_key: PrivateKey | None = None,
    high_s: bool = False,
    by_wallet: bool = False,
) -> str:
    """A token built by hand, so that each field can be made wrong on its own."""
    auth_bytes = authn_pb2.AuthData(wallet_addr=wallet_addr, created_ns=created_ns)
    auth_data = auth_bytes.SerializeToString()
    key = bundle.identity_key if signing_key is None else signing_key
    raw, recovery = secp256k1.sign_digest(key.secret, keccak256(auth_data))
    if high_s:
        s = int.from_bytes(raw[32:], "big")
        raw, recovery = raw[:32] + (N - s).to_bytes(32, "big"), recovery ^ 1
    token = authn_pb2.Token(auth_data_bytes=auth_data)
    token.identity_key.CopyFrom(bundle.identity_key.public_key.to_proto())
    token.auth_data_signature.CopyFrom(Signature(raw, recovery, by_wallet).to_proto())
    return base64.b64encode(token.SerializeToString()).decode("ascii")


@pytest.mark.asyncio
async def test_auth_token_validates_to_its_wallet(wallet: RawKeySigner) -> None:
    bundle = await make_identity(wallet)
    token = create_auth_token(bundle, created_ns=CREATED_NS)
    validated = validate_auth_token(token, now_ns=CREATED_NS + 1)
    assert validated.wallet_address == wallet.address
    assert validated.created_ns == CREATED_NS
    assert validated.identity_key == bundle.identity_key.public_key
    assert validate_auth_token(token, now_ns=CREATED_NS + MAX_TOKEN_AGE_NS).created_ns == (
        CREATED_NS
    )
    # The hand-built token with nothing wrong validates too, so the refusals below are fair.
    assert validate_auth_token(_token(bundle, wallet_addr=wallet.address), now_ns=CREATED_NS)


@pytest.mark.asyncio
async def test_expired_auth_token(wallet: RawKeySigner) -> None:
    token = create_auth_token(await make_identity(wallet), created_ns=CREATED_NS)
    with pytest.raises(TokenExpired):
        validate_auth_token(token, now_ns=CREATED_NS + MAX_TOKEN_AGE_NS + 1)
    with pytest.raises(TokenExpired):
        validate_auth_token(token, now_ns=CREATED_NS - 3600 * 10**9)


@pytest.mark.asyncio
async def test_auth_token_refusals(wallet: RawKeySigner, other_wallet: RawKeySigner) -> None:
    bundle = await make_identity(wallet)
    other = await make_identity(other_wallet, 1)
    bad_tokens = {
        "lowercased wallet": _token(bundle, wallet_addr=wallet.address.lower()),
        "another wallet": _token(bundle, wallet_addr=other_wallet.address),
        "another identity key": _token(
            bundle, wallet_addr=wallet.address, signing_key=other.identity_key
        ),
        "signed by the pre-key": _token(
            bundle, wallet_addr=wallet.address, signing_key=bundle.current_pre_key
        ),
        "high-S": _token(bundle, wallet_addr=wallet.address, high_s=True),
        "wallet signature case": _token(bundle, wallet_addr=wallet.address, by_wallet=True),
        "not base64": "not base64!",
        "empty": "",
    }
    for reason, token in bad_tokens.items():
        with pytest.raises(InvalidToken) as caught:
            validate_auth_token(token, now_ns=CREATED_NS)
        assert not isinstance(caught.value, TokenExpired), reason
