"""Our engine doing each benchmarked operation, with inputs prepared outside the timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import ContactBundle, verify_contact
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.invitations import create_invitation, open_invitation
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.wallets import RawKeySigner

ALICE_WALLET = bytes.fromhex("a1" * 32)
BOB_WALLET = bytes.fromhex("b2" * 32)


def prepare() -> dict[str, Callable[[], object] | Callable[[], Awaitable[object]]]:
    alice_signer = RawKeySigner(ALICE_WALLET)
    bob_signer = RawKeySigner(BOB_WALLET)
    alice = asyncio.run(generate_identity(alice_signer))
    bob = asyncio.run(generate_identity(bob_signer))
    encrypted = asyncio.run(encrypt_bundle(alice, alice_signer)).to_bytes()
    contact_v2 = ContactBundle.v2(bob.signed_public_key_bundle()).to_bytes()
    bob_public = bob.signed_public_key_bundle()
    sealed = create_invitation(alice, bob_public, time.time_ns())[0].to_bytes()
    # Fresh bundle objects so no memoised wallet address is shared with the set-up above.
    alice = PrivateKeyBundleV1.from_bytes(alice.to_bytes())
    bob = PrivateKeyBundleV1.from_bytes(bob.to_bytes())

    async def op_generate() -> object:
        return await generate_identity(alice_signer)

    async def op_encrypt() -> object:
        return (await encrypt_bundle(alice, alice_signer)).to_bytes()

    async def op_decrypt() -> object:
        return await decrypt_bundle(EncryptedPrivateKeyBundle.from_bytes(encrypted), alice_signer)

    def op_verify() -> object:
        report = verify_contact(ContactBundle.from_bytes(contact_v2))
        assert report.valid
        return report

    def op_seal() -> object:
        return create_invitation(alice, bob_public, time.time_ns())[0].to_bytes()

    def op_open() -> object:
        return open_invitation(bob, sealed)

    return {
        "generate": op_generate,
        "encrypt_bundle": op_encrypt,
        "decrypt_bundle": op_decrypt,
        "verify_public_bundle": op_verify,
        "seal_invitation": op_seal,
        "open_invitation": op_open,
    }


ASYNC_OPS = frozenset({"generate", "encrypt_bundle", "decrypt_bundle"})
