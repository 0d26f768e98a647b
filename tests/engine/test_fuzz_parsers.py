"""Property-based round trips and mutation fuzzing of every engine parser.

* Round trips: values built from real generated identities (three fixed wallets, up to five
  pre-key rotations, drawn timestamps, texts and metadata) survive ``to_bytes`` → ``from_bytes``.
* Mutations: valid encodings damaged by Hypothesis (truncated, bit-flipped, bytes inserted,
  deleted, replaced or spliced from other encodings, or replaced by garbage) and random
  well-formed protobuf either parse or raise a ``KeyEngineError`` subclass, never a decoder,
  value, index or type error.  A parsed value re-encodes and parses back to itself.
* AEAD: a damaged encrypted bundle, sealed invitation or message either fails with a
  ``KeyEngineError`` or (only when the damage hit unauthenticated bytes) yields exactly the
  original plaintext; damage to an authenticated field (header, salt, nonce, payload) always
  fails.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import os
import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.keyengine.authn import ValidatedToken, create_auth_token, validate_auth_token
from app.keyengine.bundles import (
    PrivateKeyBundleV1,
    PrivateKeyBundleV2,
    PublicKeyBundle,
    SignedPublicKeyBundle,
    decode_private_key_bundle,
)
from app.keyengine.contact import ContactBundle, ContactVersion
from app.keyengine.content import decode_content, encode_text
from app.keyengine.crypto.hashes import sha256
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle, open_bundle, seal_bundle
from app.keyengine.errors import KeyEngineError
from app.keyengine.invitations import (
    Invitation,
    OpenedInvitation,
    SealedInvitation,
    create_invitation,
    open_invitation,
)
from app.keyengine.keys import (
    MS_NS_THRESHOLD,
    PublicKey,
    Signature,
    SignedPublicKey,
    encode_unsigned_public_key,
)
from app.keyengine.messages import (
    DecodedMessage,
    decode_message_v1,
    decode_message_v2,
    encode_message_v1,
    encode_message_v2,
)
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.proto import (
    content_pb2,
    invitation_pb2,
    message_pb2,
    private_key_pb2,
)
from app.keyengine.recipes import generate_identity
from app.keyengine.texts import create_identity_text, enable_identity_text
from app.keyengine.topics import dm_topic
from app.keyengine.wallets import RawKeySigner

T = TypeVar("T")

WALLET_KEYS = (b"\x11" * 32, b"\x22" * 32, b"\x33" * 32)
MAX_ROTATIONS = 5
BASE_MS = 1_700_000_000_000
UINT64 = 2**64 - 1
TOPIC = "/xmtp/0/m-fuzz/proto"
KEY_MATERIAL = bytes(range(32))
CREATED_NS = 1_700_000_000_123_000_000
WALLET_PRE_KEY = b"\x07" * 32

# Budgets, as Hypothesis profiles chosen by XMTP_FUZZ_PROFILE: "quick" (the default, `make
# test`: 200 examples of each test) and "fuzz" (`make fuzz`: 2,000 examples, each also running
# the parser on FUZZ_BATCH more inputs damaged by a seeded fast mutator, so every parser sees
# at least 100,000 damaged inputs in minutes; Hypothesis generation, not parsing, is the cost).
# XMTP_FUZZ_EXAMPLES overrides the example count of either.
_SLOW_OK = [HealthCheck.too_slow]
settings.register_profile("quick", max_examples=200, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("fuzz", max_examples=2_000, deadline=None, suppress_health_check=_SLOW_OK)
FUZZ_PROFILE = os.environ.get("XMTP_FUZZ_PROFILE", "quick")
FUZZ_BATCH = {"quick": 0, "fuzz": 50}[FUZZ_PROFILE]
FUZZ = settings(
    settings.get_profile(FUZZ_PROFILE),
    **(
        {"max_examples": int(os.environ["XMTP_FUZZ_EXAMPLES"])}
        if "XMTP_FUZZ_EXAMPLES" in os.environ
        else {}
    ),
)
ROUND_TRIP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Protobuf strings must be valid UTF-8: no lone surrogates.
texts = st.text(st.characters(codec="utf-8"), max_size=40)
uint64s = st.integers(0, UINT64)
signer_indices = st.integers(0, len(WALLET_KEYS) - 1)
rotations = st.integers(0, MAX_ROTATIONS)


# --- the module's identities and valid encodings -----------------------------------------------


@dataclass(frozen=True, repr=False)
class World:
    signers: tuple[RawKeySigner, ...]
    histories: tuple[tuple[PrivateKeyBundleV1, ...], ...]
    """``histories[who][k]``: ``who``'s bundle after ``k`` rotations."""
    samples: dict[str, list[bytes]]
    """Valid encodings to damage, per parser name."""
    pool: list[bytes]
    """Every sample and sub-structure, spliced into damaged inputs."""
    bundle_signature: bytes
    encrypted: EncryptedPrivateKeyBundle
    sealed: SealedInvitation
    invitation: Invitation
    message_v2: bytes
    message_v1: bytes

    def __repr__(self) -> str:
        return "World(<3 identities, 0-5 rotations>)"

    def latest(self, who: int) -> PrivateKeyBundleV1:
        return self.histories[who][-1]


def v2_native_bundle(
    bundle: PrivateKeyBundleV1, signer: RawKeySigner, created_ns: int
) -> SignedPublicKeyBundle:
    """A V2 bundle as mobile SDKs publish it: keys whose ``key_bytes`` carry ``created_ns``."""
    identity_bytes = encode_unsigned_public_key(created_ns, bundle.identity_key.public_key.point)
    wallet_signature = signer.sign_personal_sync(create_identity_text(identity_bytes))
    identity = SignedPublicKey(
        identity_bytes, Signature.from_wallet_bytes(wallet_signature, by_wallet=True)
    )
    pre_bytes = encode_unsigned_public_key(created_ns, bundle.current_pre_key.public_key.point)
    pre_key = SignedPublicKey(pre_bytes, bundle.identity_key.sign_digest(sha256(pre_bytes)))
    return SignedPublicKeyBundle(identity, pre_key)


def compressed_content(text: str, compression: int | None, fallback: str | None = None) -> bytes:
    raw = text.encode("utf-8")
    msg = content_pb2.EncodedContent()
    msg.type.authority_id = "xmtp.org"
    msg.type.type_id = "text"
    msg.type.version_major = 1
    msg.parameters["encoding"] = "UTF-8"
    if compression == content_pb2.COMPRESSION_DEFLATE:
        raw = zlib.compress(raw)
    elif compression == content_pb2.COMPRESSION_GZIP:
        raw = gzip.compress(raw, mtime=0)
    if compression is not None:
        msg.compression = compression  # type: ignore[assignment]
    if fallback is not None:
        msg.fallback = fallback
    msg.content = raw
    return msg.SerializeToString()


def _history(signer: RawKeySigner, offset: int) -> tuple[PrivateKeyBundleV1, ...]:
    bundle = asyncio.run(generate_identity(signer, timestamp_ms=BASE_MS + offset))
    history = [bundle]
    for step in range(MAX_ROTATIONS):
        history.append(rotate_pre_key(history[-1], timestamp_ms=BASE_MS + 1000 * (step + 1)))
    return tuple(history)


@pytest.fixture(scope="module")
def world() -> World:
    signers = tuple(RawKeySigner(key) for key in WALLET_KEYS)
    histories = tuple(_history(signer, index) for index, signer in enumerate(signers))
    alice, bob = histories[0], histories[1]

    bundle_signature = signers[0].sign_personal_sync(enable_identity_text(WALLET_PRE_KEY))
    encrypted = seal_bundle(alice[2], bundle_signature, WALLET_PRE_KEY)
    bare_encrypted = private_key_pb2.EncryptedPrivateKeyBundle.FromString(encrypted.to_bytes()).v1
    sealed, invitation = create_invitation(
        alice[1],
        bob[0].signed_public_key_bundle(),
        CREATED_NS,
        conversation_id="fuzz",
        metadata={"k": "v"},
    )
    message_v2 = encode_message_v2(
        alice[-1], TOPIC, KEY_MATERIAL, encode_text("fuzz me"), created_ns=CREATED_NS
    )
    message_v1 = encode_message_v1(
        alice[-1], bob[1].public_key_bundle(), encode_text("v1 fuzz"), timestamp_ms=BASE_MS
    )
    token = base64.b64decode(create_auth_token(alice[0], created_ns=CREATED_NS))
    v2_native = v2_native_bundle(alice[0], signers[0], CREATED_NS)
    identity = alice[0].identity_key.public_key
    samples: dict[str, list[bytes]] = {
        "PublicKey": [
            identity.to_bytes(),
            alice[0].current_pre_key.public_key.to_bytes(),
            identity.unsigned().to_bytes(),
        ],
        "SignedPublicKey": [
            alice[0].signed_public_key_bundle().identity_key.to_bytes(),
            alice[0].signed_public_key_bundle().pre_key.to_bytes(),
            v2_native.identity_key.to_bytes(),
        ],
        "PublicKeyBundle": [
            alice[0].public_key_bundle().to_bytes(),
            bob[-1].public_key_bundle().to_bytes(),
            PublicKeyBundle(identity, None).to_bytes(),
        ],
        "SignedPublicKeyBundle": [
            alice[0].signed_public_key_bundle().to_bytes(),
            v2_native.to_bytes(),
        ],
        "PrivateKeyBundleV1": [
            alice[0].to_bytes(),
            alice[3].to_bytes(),
            alice[3].to_unwrapped_bytes(),
            PrivateKeyBundleV2.from_legacy(alice[1]).to_bytes(),
        ],
        "ContactBundle": [
            ContactBundle.v1(alice[0].public_key_bundle()).to_bytes(),
            ContactBundle.v2(bob[2].signed_public_key_bundle()).to_bytes(),
            ContactBundle.v2(v2_native).to_bytes(),
            alice[4].public_key_bundle().to_bytes(),
        ],
        "EncryptedPrivateKeyBundle": [encrypted.to_bytes(), bare_encrypted.SerializeToString()],
        "SealedInvitation": [sealed.to_bytes()],
        "Invitation": [
            invitation.to_bytes(),
            Invitation(TOPIC, KEY_MATERIAL).to_bytes(),
        ],
        "decode_content": [
            encode_text("hello"),
            compressed_content("hello hello hello", content_pb2.COMPRESSION_DEFLATE),
            compressed_content("hello hello hello", content_pb2.COMPRESSION_GZIP, "fallback"),
        ],
        "validate_auth_token": [token],
        "decode_message_v2": [message_v2],
        "decode_message_v1": [message_v1],
    }
    samples["decode_private_key_bundle"] = samples["PrivateKeyBundleV1"]
    samples["open_invitation"] = samples["SealedInvitation"]
    samples["open_bundle"] = samples["EncryptedPrivateKeyBundle"]
    pool = sorted({data for values in samples.values() for data in values})
    pool += [identity.point, identity.bytes_to_sign(), sealed.header_bytes, KEY_MATERIAL]
    return World(
        signers,
        histories,
        samples,
        pool,
        bundle_signature,
        encrypted,
        sealed,
        invitation,
        message_v2,
        message_v1,
    )


# --- damage ------------------------------------------------------------------------------------

DAMAGE_KINDS = ("truncate", "flip", "insert", "delete", "replace", "splice", "random")


class Chooser(Protocol):
    """Where damage gets its choices: Hypothesis (shrinkable) or a seeded ``Random`` (fast)."""

    def integer(self, low: int, high: int) -> int: ...

    def binary(self, min_size: int, max_size: int) -> bytes: ...

    def sample(self, values: Sequence[T]) -> T: ...


@dataclass(frozen=True)
class HypothesisChooser:
    draw: st.DrawFn

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))

    def binary(self, min_size: int, max_size: int) -> bytes:
        return self.draw(st.binary(min_size=min_size, max_size=max_size))

    def sample(self, values: Sequence[T]) -> T:
        return self.draw(st.sampled_from(values))


@dataclass(frozen=True)
class RandomChooser:
    rng: random.Random

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def binary(self, min_size: int, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(min_size, max_size))

    def sample(self, values: Sequence[T]) -> T:
        return self.rng.choice(values)


def _damage_once(choose: Chooser, data: bytes, pool: list[bytes]) -> bytes:
    kind = choose.sample(DAMAGE_KINDS)
    n = len(data)
    if kind == "random" or n == 0:
        return choose.binary(0, 2 * n + 16)
    if kind == "truncate":
        return data[: choose.integer(0, n - 1)]
    if kind == "flip":
        bit = choose.integer(0, 8 * n - 1)
        out = bytearray(data)
        out[bit // 8] ^= 1 << (bit % 8)
        return bytes(out)
    if kind == "insert":
        at = choose.integer(0, n)
        return data[:at] + choose.binary(1, 32) + data[at:]
    at = choose.integer(0, n - 1)
    length = choose.integer(1, n - at)
    if kind == "delete":
        replacement = b""
    elif kind == "replace":
        replacement = choose.binary(0, length + 8)
    else:  # splice: a span of another valid encoding
        donor = choose.sample(pool)
        start = choose.integer(0, len(donor))
        replacement = donor[start : start + choose.integer(0, len(donor) - start)]
    return data[:at] + replacement + data[at + length :]


def damage(choose: Chooser, data: bytes, pool: list[bytes]) -> bytes:
    """``data`` after one to three chosen kinds of damage."""
    for _ in range(choose.integer(1, 3)):
        data = _damage_once(choose, data, pool)
    return data


@st.composite
def damaged(draw: st.DrawFn, data: bytes, pool: list[bytes]) -> bytes:
    """``data`` after one to three drawn kinds of damage."""
    return damage(HypothesisChooser(draw), data, pool)


def more_damaged(data: st.DataObject, samples: list[bytes], pool: list[bytes]) -> list[bytes]:
    """``FUZZ_BATCH`` more damaged inputs from a drawn seed (none in the quick profile)."""
    if not FUZZ_BATCH:
        return []
    chooser = RandomChooser(random.Random(data.draw(st.integers(0, 2**32), label="seed")))
    return [damage(chooser, chooser.sample(samples), pool) for _ in range(FUZZ_BATCH)]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _encode_fields(fields: list[tuple[int, int, int, bytes]]) -> bytes:
    out = bytearray()
    for number, wire, number_value, payload in fields:
        out += _varint(number << 3 | wire)
        if wire == 0:
            out += _varint(number_value)
        elif wire == 1:
            out += number_value.to_bytes(8, "little")
        elif wire == 5:
            out += (number_value & 0xFFFFFFFF).to_bytes(4, "little")
        else:
            out += _varint(len(payload)) + payload
    return bytes(out)


def protobuf_garbage(pool: list[bytes]) -> st.SearchStrategy[bytes]:
    """Well-formed protobuf of random shape whose leaves are noise or real XMTP fragments."""
    leaves = st.one_of(
        st.binary(max_size=70),
        st.sampled_from(pool),
        st.sampled_from([b"\x04" + b"\x00" * 64, b"\x00" * 32, b"\xff" * 32, b"\x01" * 64]),
    )

    def fields(payloads: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        field = st.tuples(
            st.integers(1, 6),
            st.sampled_from((0, 1, 2, 2, 2, 5)),
            st.one_of(st.integers(0, 3), uint64s),
            payloads,
        )
        return st.lists(field, max_size=5).map(_encode_fields)

    return st.recursive(leaves, fields, max_leaves=12)


def parse_or_engine_error(parse: Callable[[bytes], T], data: bytes, name: str) -> T | None:
    """``parse(data)``, or ``None`` when it raised a ``KeyEngineError``; anything else fails."""
    try:
        return parse(data)
    except KeyEngineError:
        return None
    except Exception as exc:
        pytest.fail(
            f"{name} leaked {type(exc).__module__}.{type(exc).__name__}: {exc!r} "
            f"for input bytes {data.hex()!r}"
        )


# --- round trips -------------------------------------------------------------------------------


@ROUND_TRIP
@given(who=signer_indices, timestamp=uint64s, signed=st.booleans(), by_wallet=st.booleans())
def test_public_key_round_trip(
    world: World, who: int, timestamp: int, signed: bool, by_wallet: bool
) -> None:
    bundle = world.histories[who][0]
    key = PublicKey(timestamp, bundle.current_pre_key.public_key.point)
    if signed:
        key = bundle.identity_key.sign_key(key)
        assert key.signature is not None
        key = key.with_signature(key.signature.as_wallet(by_wallet))
    again = PublicKey.from_bytes(key.to_bytes())
    assert again == key
    assert again.bytes_to_sign() == key.bytes_to_sign()
    assert again.is_signed_by(bundle.identity_key.public_key.point) is signed


@ROUND_TRIP
@given(who=signer_indices, created=uint64s)
def test_signed_public_key_round_trip(world: World, who: int, created: int) -> None:
    bundle = world.histories[who][0]
    point = bundle.current_pre_key.public_key.point
    key_bytes = encode_unsigned_public_key(created, point)
    key = SignedPublicKey(key_bytes, bundle.identity_key.sign_digest(sha256(key_bytes)))
    again = SignedPublicKey.from_bytes(key.to_bytes())
    assert again == key
    assert (again.created_ns, again.point, again.key_bytes) == (created, point, key_bytes)
    assert again.is_from_legacy is (created < MS_NS_THRESHOLD)
    assert again.is_signed_by(bundle.identity_key.public_key.point)


@ROUND_TRIP
@given(who=signer_indices, rotated=rotations, created=uint64s)
def test_v2_native_bundle_and_contact_round_trip(
    world: World, who: int, rotated: int, created: int
) -> None:
    signer = world.signers[who]
    bundle = v2_native_bundle(world.histories[who][rotated], signer, created)
    again = SignedPublicKeyBundle.from_bytes(bundle.to_bytes())
    assert again == bundle
    assert again.wallet_address == signer.address
    again.verify_pre_key()
    contact = ContactBundle.from_bytes(ContactBundle.v2(bundle).to_bytes())
    assert contact == ContactBundle.v2(bundle)
    assert contact.wallet_address == signer.address


@ROUND_TRIP
@given(
    who=signer_indices,
    # The V2 view holds the timestamp in nanoseconds (uint64): keep ms below 2**64 / 10**6.
    stamps=st.lists(st.integers(0, UINT64 // 1_000_000 - MAX_ROTATIONS), max_size=MAX_ROTATIONS),
)
def test_private_bundle_round_trip(world: World, who: int, stamps: list[int]) -> None:
    bundle = world.histories[who][0]
    for stamp in stamps:
        bundle = rotate_pre_key(bundle, timestamp_ms=stamp)
    assert len(bundle.pre_keys) == 1 + len(stamps)
    for encoded in (bundle.to_bytes(), bundle.to_unwrapped_bytes()):
        again = PrivateKeyBundleV1.from_bytes(encoded)
        assert again == bundle
        assert decode_private_key_bundle(encoded) == bundle
    v2 = PrivateKeyBundleV2.from_legacy(bundle)
    assert decode_private_key_bundle(v2.to_bytes()) == v2
    assert PrivateKeyBundleV1.from_bytes(v2.to_bytes()) == bundle
    again = PrivateKeyBundleV1.from_bytes(bundle.to_bytes())
    again.verify()
    assert again.wallet_address == world.signers[who].address


@ROUND_TRIP
@given(who=signer_indices, rotated=rotations)
def test_public_bundles_and_contacts_round_trip(world: World, who: int, rotated: int) -> None:
    bundle = world.histories[who][rotated]
    address = world.signers[who].address
    public = bundle.public_key_bundle()
    signed = bundle.signed_public_key_bundle()
    assert PublicKeyBundle.from_bytes(public.to_bytes()) == public
    assert SignedPublicKeyBundle.from_bytes(signed.to_bytes()) == signed
    assert signed.to_legacy() == public
    for contact in (
        ContactBundle.v1(public),
        ContactBundle.v2(signed),
        ContactBundle(ContactVersion.LEGACY, public),
    ):
        again = ContactBundle.from_bytes(contact.to_bytes())
        assert again == contact
        assert again.wallet_address == address
        assert again.pre_key_point == bundle.current_pre_key.public_key.point


@ROUND_TRIP
@given(
    who=signer_indices,
    rotated=rotations,
    wallet_pre_key=st.binary(min_size=32, max_size=32),
    salt=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    bare=st.booleans(),
)
def test_encrypted_bundle_round_trip(
    world: World,
    who: int,
    rotated: int,
    wallet_pre_key: bytes,
    salt: bytes,
    nonce: bytes,
    bare: bool,
) -> None:
    bundle = world.histories[who][rotated]
    signature = world.signers[who].sign_personal_sync(enable_identity_text(wallet_pre_key))
    encrypted = seal_bundle(bundle, signature, wallet_pre_key, salt=salt, nonce=nonce)
    encoded = encrypted.to_bytes()
    if bare:
        versioned = private_key_pb2.EncryptedPrivateKeyBundle.FromString(encoded)
        encoded = versioned.v1.SerializeToString()
    again = EncryptedPrivateKeyBundle.from_bytes(encoded)
    assert again == encrypted
    assert open_bundle(again, signature) == bundle
    ledger_style = signature[:64] + bytes([signature[64] - 27])
    assert open_bundle(again, ledger_style) == bundle


@ROUND_TRIP
@given(
    topic=texts.filter(bool),
    key_material=st.binary(min_size=32, max_size=32),
    conversation_id=texts,
    metadata=st.dictionaries(texts, texts, max_size=4),
)
def test_invitation_round_trip(
    topic: str, key_material: bytes, conversation_id: str, metadata: dict[str, str]
) -> None:
    invitation = Invitation(topic, key_material, conversation_id, metadata)
    assert Invitation.from_bytes(invitation.to_bytes()) == invitation


@ROUND_TRIP
@given(
    pair=st.permutations(range(len(WALLET_KEYS))).map(lambda p: p[:2]),
    sender_rotated=rotations,
    recipient_rotated=rotations,
    later=rotations,
    created=uint64s,
    conversation_id=texts,
    metadata=st.dictionaries(texts, texts, max_size=3),
)
def test_sealed_invitation_round_trip(
    world: World,
    pair: tuple[int, int],
    sender_rotated: int,
    recipient_rotated: int,
    later: int,
    created: int,
    conversation_id: str,
    metadata: dict[str, str],
) -> None:
    sender, recipient = pair
    recipient_then = world.histories[recipient][recipient_rotated]
    recipient_now = world.histories[recipient][max(recipient_rotated, later)]
    sealed, invitation = create_invitation(
        world.histories[sender][sender_rotated],
        recipient_then.signed_public_key_bundle(),
        created,
        conversation_id=conversation_id,
        metadata=metadata,
    )
    encoded = sealed.to_bytes()
    assert SealedInvitation.from_bytes(encoded) == sealed
    opened = open_invitation(recipient_now, encoded, envelope_timestamp_ns=created)
    assert opened.invitation == invitation
    assert opened.peer_address == world.signers[sender].address
    assert opened.created_ns == created
    assert not opened.sent_by_us
    assert opened.pre_key_public == recipient_then.current_pre_key.public_key.point
    own = open_invitation(world.latest(sender), encoded)
    assert own.sent_by_us and own.invitation == invitation
    assert own.peer_address == world.signers[recipient].address


@ROUND_TRIP
@given(
    text=texts,
    compression=st.sampled_from(
        (None, content_pb2.COMPRESSION_DEFLATE, content_pb2.COMPRESSION_GZIP)
    ),
    fallback=st.none() | texts,
)
def test_content_round_trip(text: str, compression: int | None, fallback: str | None) -> None:
    assert decode_content(encode_text(text)).text() == text
    content = decode_content(compressed_content(text, compression, fallback))
    assert content.is_text
    assert content.text() == text
    assert content.fallback == fallback


@ROUND_TRIP
@given(
    who=signer_indices,
    rotated=rotations,
    created=st.integers(0, 2**63),
    age=st.integers(-60 * 10**9, 3600 * 10**9),
)
def test_auth_token_round_trip(
    world: World, who: int, rotated: int, created: int, age: int
) -> None:
    bundle = world.histories[who][rotated]
    token = create_auth_token(bundle, created_ns=created)
    validated = validate_auth_token(token, now_ns=created + age)
    assert validated.wallet_address == world.signers[who].address
    assert validated.created_ns == created
    assert validated.identity_key == bundle.identity_key.public_key


@ROUND_TRIP
@given(
    who=signer_indices,
    rotated=rotations,
    text=texts,
    created=uint64s,
    topic=texts,
    key_material=st.binary(min_size=32, max_size=32),
)
def test_message_v2_round_trip(
    world: World,
    who: int,
    rotated: int,
    text: str,
    created: int,
    topic: str,
    key_material: bytes,
) -> None:
    sender = world.histories[who][rotated]
    data = encode_message_v2(sender, topic, key_material, encode_text(text), created_ns=created)
    message = decode_message_v2(data, topic, key_material)
    assert message.content.text() == text
    assert message.sender_address == world.signers[who].address
    assert message.sent_ns == created


@ROUND_TRIP
@given(
    pair=st.permutations(range(len(WALLET_KEYS))).map(lambda p: p[:2]),
    sender_rotated=rotations,
    recipient_rotated=rotations,
    later=rotations,
    timestamp=uint64s,
    text=texts,
)
def test_message_v1_round_trip(
    world: World,
    pair: tuple[int, int],
    sender_rotated: int,
    recipient_rotated: int,
    later: int,
    timestamp: int,
    text: str,
) -> None:
    sender, recipient = pair
    data = encode_message_v1(
        world.histories[sender][sender_rotated],
        world.histories[recipient][recipient_rotated].public_key_bundle(),
        encode_text(text),
        timestamp_ms=timestamp,
    )
    topic = dm_topic(world.signers[sender].address, world.signers[recipient].address)
    for reader in (
        world.histories[recipient][max(recipient_rotated, later)],
        world.histories[sender][max(sender_rotated, later)],
    ):
        message = decode_message_v1(reader, data, topic=topic)
        assert message.content.text() == text
        assert message.sender_address == world.signers[sender].address
        assert message.sent_ns == timestamp * 1_000_000


# --- mutations of plain parsers ----------------------------------------------------------------


def _token_parser(data: bytes) -> ValidatedToken:
    return validate_auth_token(base64.b64encode(data).decode("ascii"), now_ns=CREATED_NS)


PARSERS: dict[str, Callable[[bytes], Any]] = {
    "PublicKey": PublicKey.from_bytes,
    "SignedPublicKey": SignedPublicKey.from_bytes,
    "PublicKeyBundle": PublicKeyBundle.from_bytes,
    "SignedPublicKeyBundle": SignedPublicKeyBundle.from_bytes,
    "PrivateKeyBundleV1": PrivateKeyBundleV1.from_bytes,
    "decode_private_key_bundle": decode_private_key_bundle,
    "ContactBundle": ContactBundle.from_bytes,
    "EncryptedPrivateKeyBundle": EncryptedPrivateKeyBundle.from_bytes,
    "SealedInvitation": SealedInvitation.from_bytes,
    "Invitation": Invitation.from_bytes,
    "decode_content": decode_content,
    "validate_auth_token": _token_parser,
}


def _check_parsed(name: str, value: Any) -> None:
    """Whatever a parser accepts re-encodes, and the re-encoding parses back to it."""
    if hasattr(value, "to_bytes"):
        encoded = value.to_bytes()
        assert PARSERS[name](encoded) == value, f"{name}: re-encoded value parses differently"


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_damaged_input_raises_only_engine_errors(
    world: World, name: str, data: st.DataObject
) -> None:
    base = data.draw(st.sampled_from(world.samples[name]), label="valid encoding")
    mutated = data.draw(damaged(base, world.pool), label="damaged")
    for each in (mutated, *more_damaged(data, world.samples[name], world.pool)):
        value = parse_or_engine_error(PARSERS[name], each, name)
        if value is not None:
            _check_parsed(name, value)
        if name == "validate_auth_token" and value is not None:
            # Everything in a token is signed: damage cannot make it name another wallet.
            assert value.wallet_address == world.signers[0].address
            assert value.created_ns == CREATED_NS


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(PARSERS))
def test_random_protobuf_raises_only_engine_errors(
    world: World, name: str, data: st.DataObject
) -> None:
    garbage = data.draw(protobuf_garbage(world.pool), label="protobuf")
    value = parse_or_engine_error(PARSERS[name], garbage, name)
    if value is not None:
        _check_parsed(name, value)


@FUZZ
@given(token=st.text(max_size=200))
def test_auth_token_text_raises_only_engine_errors(token: str) -> None:
    def parse(data: bytes) -> ValidatedToken:
        return validate_auth_token(data.decode("utf-8", "surrogatepass"), now_ns=CREATED_NS)

    assert parse_or_engine_error(parse, token.encode("utf-8", "surrogatepass"), "token") is None


# --- AEAD-protected inputs ---------------------------------------------------------------------


def _open_sealed(world: World) -> Callable[[bytes], OpenedInvitation]:
    return lambda data: open_invitation(world.latest(1), data)


def _same_opened(world: World, opened: OpenedInvitation) -> None:
    assert opened.invitation == world.invitation
    assert opened.peer_address == world.signers[0].address
    assert opened.created_ns == CREATED_NS
    assert not opened.sent_by_us
    assert opened.pre_key_public == world.histories[1][0].current_pre_key.public_key.point


def _open_bundle(world: World) -> Callable[[bytes], PrivateKeyBundleV1]:
    return lambda data: open_bundle(
        EncryptedPrivateKeyBundle.from_bytes(data), world.bundle_signature
    )


def _same_bundle(world: World, bundle: PrivateKeyBundleV1) -> None:
    assert bundle == world.histories[0][2]


def _decode_v2(world: World) -> Callable[[bytes], DecodedMessage]:
    return lambda data: decode_message_v2(data, TOPIC, KEY_MATERIAL)


def _same_v2(world: World, message: DecodedMessage) -> None:
    assert message.content.text() == "fuzz me"
    assert message.sender_address == world.signers[0].address
    assert message.sent_ns == CREATED_NS


def _decode_v1(world: World) -> Callable[[bytes], DecodedMessage]:
    return lambda data: decode_message_v1(world.latest(1), data)


def _same_v1(world: World, message: DecodedMessage) -> None:
    assert message.content.text() == "v1 fuzz"
    assert message.sender_address == world.signers[0].address
    assert message.sent_ns == BASE_MS * 1_000_000


AEAD_TARGETS: dict[str, tuple[Callable[[World], Callable[[bytes], Any]], Any]] = {
    "open_invitation": (_open_sealed, _same_opened),
    "open_bundle": (_open_bundle, _same_bundle),
    "decode_message_v2": (_decode_v2, _same_v2),
    "decode_message_v1": (_decode_v1, _same_v1),
}


def test_aead_targets_open_undamaged(world: World) -> None:
    for name, (opener, same) in AEAD_TARGETS.items():
        for sample in world.samples[name]:
            same(world, opener(world)(sample))


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(AEAD_TARGETS))
def test_damaged_aead_input_fails_or_yields_original(
    world: World, name: str, data: st.DataObject
) -> None:
    opener, same = AEAD_TARGETS[name]
    base = data.draw(st.sampled_from(world.samples[name]), label="valid encoding")
    mutated = data.draw(damaged(base, world.pool), label="damaged")
    for each in (mutated, *more_damaged(data, world.samples[name], world.pool)):
        value = parse_or_engine_error(opener(world), each, name)
        if value is not None:
            same(world, value)


@FUZZ
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(AEAD_TARGETS))
def test_random_protobuf_aead_input_fails(world: World, name: str, data: st.DataObject) -> None:
    opener, same = AEAD_TARGETS[name]
    garbage = data.draw(protobuf_garbage(world.pool), label="protobuf")
    value = parse_or_engine_error(opener(world), garbage, name)
    if value is not None:
        same(world, value)


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def _damage_field(encoded: bytes, name: str, field: str, bit: int) -> bytes:
    """Flip one bit of an authenticated field and re-encode the outer message canonically."""
    if name == "open_bundle":
        bundle = private_key_pb2.EncryptedPrivateKeyBundle.FromString(encoded)
        part = bundle.v1.ciphertext.aes256_gcm_hkdf_sha256
        setattr(part, field, _flip(getattr(part, field), bit))
        return bundle.SerializeToString()
    if name == "open_invitation":
        sealed = invitation_pb2.SealedInvitation.FromString(encoded)
        holder: Any = sealed.v1
        outer: Any = sealed
    else:
        message = message_pb2.Message.FromString(encoded)
        holder = message.v2 if name == "decode_message_v2" else message.v1
        outer = message
    if field == "header_bytes":
        holder.header_bytes = _flip(holder.header_bytes, bit)
    else:
        part = holder.ciphertext.aes256_gcm_hkdf_sha256
        setattr(part, field, _flip(getattr(part, field), bit))
    data: bytes = outer.SerializeToString()
    return data


@FUZZ
@given(
    field=st.sampled_from(("header_bytes", "hkdf_salt", "gcm_nonce", "payload")),
    bit=st.integers(0, 2**16),
)
@pytest.mark.parametrize("name", sorted(AEAD_TARGETS))
def test_damaged_authenticated_field_always_fails(
    world: World, name: str, field: str, bit: int
) -> None:
    if name == "open_bundle" and field == "header_bytes":
        field = "payload"  # an encrypted bundle has no header: its AAD is empty
    mutated = _damage_field(world.samples[name][0], name, field, bit)
    opener, _ = AEAD_TARGETS[name]
    assert parse_or_engine_error(opener(world), mutated, name) is None
