"""The raw libsecp256k1 and HKDF/AES-GCM calls each operation cannot avoid, timed bare.

Each primitive is called straight through coincurve's C bindings or ``cryptography`` with no
engine code around it; an operation's floor is the sum of the primitives it must perform.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from coincurve import PrivateKey as CPrivateKey
from coincurve import PublicKey as CPublicKey
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bench.timing import median_us

CTX = GLOBAL_CONTEXT.ctx

# What each operation must do, as counts of primitives.  Checks the engine performs on purpose
# (the wallet signature recovering to the wallet, the peer pre-key signature, every public key
# read from bytes being a point on the curve) are included: skipping them would be faster and
# wrong.
FLOOR_RECIPES: dict[str, dict[str, int]] = {
    # identity key + pre-key, wallet signs, signature checked, identity signs pre-key
    "generate": {"keygen": 2, "sign": 2, "recover": 1},
    # wallet signs Enable Identity, signature checked, bundle sealed
    "encrypt_bundle": {"sign": 1, "recover": 1, "aead_bundle": 1},
    # wallet re-signs, bundle opened (a successful AEAD open authenticates the signature)
    "decrypt_bundle": {"sign": 1, "aead_bundle": 1, "parse_point": 2},
    # wallet recovered from the attestation, pre-key signature verified
    "verify_public_bundle": {"recover": 1, "verify": 1, "parse_point": 2},
    # peer wallet recovered, peer pre-key verified, 3-DH, key material, sealed
    "seal_invitation": {"recover": 1, "verify": 1, "ecdh": 3, "hkdf": 1, "aead_invite": 1},
    # peer pre-key verified, 3-DH, opened, peer wallet recovered
    "open_invitation": {"recover": 1, "verify": 1, "ecdh": 3, "aead_invite": 1, "parse_point": 4},
}


def _primitives() -> dict[str, Callable[[], object]]:
    secret = secrets.token_bytes(32)
    digest = secrets.token_bytes(32)
    key = CPrivateKey(secret)
    pub_bytes = key.public_key.format(compressed=False)
    peer_bytes = CPrivateKey().public_key.format(compressed=False)
    rec_sig = key.sign_recoverable(digest, hasher=None)
    compact = rec_sig[:64]
    bundle_plain = secrets.token_bytes(580)
    invite_plain = secrets.token_bytes(120)
    salt, nonce, ikm = secrets.token_bytes(32), secrets.token_bytes(12), secrets.token_bytes(65)
    big_ikm = secrets.token_bytes(195)

    def keygen() -> object:
        return CPrivateKey().public_key.format(compressed=False)

    def sign() -> object:
        raw = ffi.new("secp256k1_ecdsa_recoverable_signature *")
        lib.secp256k1_ecdsa_sign_recoverable(CTX, raw, digest, secret, ffi.NULL, ffi.NULL)
        out = ffi.new("unsigned char[64]")
        rec = ffi.new("int *")
        lib.secp256k1_ecdsa_recoverable_signature_serialize_compact(CTX, out, rec, raw)
        return bytes(ffi.buffer(out, 64))

    def recover() -> object:
        return CPublicKey.from_signature_and_message(rec_sig, digest, hasher=None).format(
            compressed=False
        )

    def verify() -> object:
        pub = CPublicKey(pub_bytes)
        sig = ffi.new("secp256k1_ecdsa_signature *")
        lib.secp256k1_ecdsa_signature_parse_compact(CTX, sig, compact)
        return lib.secp256k1_ecdsa_verify(CTX, sig, digest, pub.public_key)

    def parse_point() -> object:
        return CPublicKey(peer_bytes)

    def ecdh() -> object:
        return CPublicKey(peer_bytes).multiply(secret).format(compressed=False)

    def hkdf() -> object:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"").derive(big_ikm)

    def aead(plain: bytes, secret_ikm: bytes) -> Callable[[], object]:
        def run() -> object:
            k = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"").derive(secret_ikm)
            return AESGCM(k).encrypt(nonce, plain, None)

        return run

    return {
        "keygen": keygen,
        "sign": sign,
        "recover": recover,
        "verify": verify,
        "ecdh": ecdh,
        "parse_point": parse_point,
        "hkdf": hkdf,
        "aead_bundle": aead(bundle_plain, ikm),
        "aead_invite": aead(invite_plain, big_ikm),
    }


def measure_primitives(iterations: int) -> dict[str, float]:
    """Median µs of each raw primitive."""
    return {name: median_us(fn, iterations) for name, fn in _primitives().items()}


def floors(primitive_us: dict[str, float]) -> dict[str, float]:
    return {
        op: sum(primitive_us[name] * count for name, count in recipe.items())
        for op, recipe in FLOOR_RECIPES.items()
    }
