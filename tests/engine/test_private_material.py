"""Private material stays out of ``repr`` and ``str`` of every engine value that holds it."""

from __future__ import annotations

import base64

import pytest

from app.keyengine.bundles import PrivateKeyBundleV2
from app.keyengine.invitations import create_invitation, open_invitation
from app.keyengine.keys import SignedPrivateKey
from app.keyengine.wallets import RawKeySigner
from tests.support.identities import CREATED_NS, make_identity, rotate_times


def _forms(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        secret.hex().upper(),
        repr(secret)[2:-1],
        base64.b64encode(secret).decode(),
    ]


@pytest.mark.asyncio
async def test_repr_never_shows_private_material(
    wallet: RawKeySigner, other_wallet: RawKeySigner
) -> None:
    alice = rotate_times(await make_identity(wallet), 2)
    bob = await make_identity(other_wallet, 1)
    sealed, invitation = create_invitation(
        alice, bob.signed_public_key_bundle(), CREATED_NS, conversation_id="c", metadata={"a": "b"}
    )
    opened = open_invitation(bob, sealed.to_bytes())
    v2 = PrivateKeyBundleV2.from_legacy(alice)
    secrets = [b"\x11" * 32, b"\x22" * 32, invitation.key_material]
    secrets += [key.secret for key in (alice.identity_key, *alice.pre_keys)]
    secrets += [key.secret for key in (bob.identity_key, *bob.pre_keys)]
    shown: list[object] = [
        alice.identity_key,
        alice.current_pre_key,
        SignedPrivateKey.from_legacy(alice.identity_key, signed_by_wallet=True),
        alice,
        bob,
        v2,
        v2.identity_key,
        wallet,
        other_wallet,
        opened,
        opened.invitation,
        invitation,
    ]
    for value in shown:
        for text in (repr(value), str(value)):
            for secret in secrets:
                for form in _forms(secret):
                    assert form not in text, f"{type(value).__name__} repr shows secret material"
    assert "key_material" not in repr(invitation)
    assert "secret" not in repr(alice.identity_key)
