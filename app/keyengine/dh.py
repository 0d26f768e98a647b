"""The 3-DH shared secret between two XMTP bundles (195 bytes: three 65-byte points)."""

from __future__ import annotations

from typing import Protocol

from app.keyengine.errors import BadSignature
from app.keyengine.keys import PublicKey, SignedPublicKey


class _EcdhKey(Protocol):
    def shared_point(self, peer_point: bytes) -> bytes: ...


def three_dh(
    identity_key: _EcdhKey,
    pre_key: _EcdhKey,
    peer_identity: PublicKey | SignedPublicKey,
    peer_pre_key: PublicKey | SignedPublicKey,
    *,
    is_recipient: bool,
) -> bytes:
    """``dh1 || dh2 || dh3`` as xmtp-js ``sharedSecret``.

    Sender: ``dh1 = DH(I_me, P_peer)``, ``dh2 = DH(P_me, I_peer)``; recipient swaps them; both
    end with ``dh3 = DH(P_me, P_peer)``.  The peer's pre-key must be signed by its identity key.
    """
    if not peer_pre_key.is_signed_by(peer_identity.point):
        raise BadSignature("peer pre-key signature invalid")
    if is_recipient:
        dh1 = pre_key.shared_point(peer_identity.point)
        dh2 = identity_key.shared_point(peer_pre_key.point)
    else:
        dh1 = identity_key.shared_point(peer_pre_key.point)
        dh2 = pre_key.shared_point(peer_identity.point)
    return dh1 + dh2 + pre_key.shared_point(peer_pre_key.point)
