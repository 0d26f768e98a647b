"""Unit tests: crypto vectors, envelopes, URIs, settle validation, the session store."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from app.keyengine.vault import MemoryStore
from app.walletconnect import crypto, relay_auth
from app.walletconnect.constants import PROJECT_ID_ENV
from app.walletconnect.errors import (
    EnvelopeError,
    InvalidPairingUri,
    ProjectIdMissing,
    ProtocolViolation,
    SessionRefused,
    WalletConnectError,
)
from app.walletconnect.relay_config import build_relay_url, resolve_project_id
from app.walletconnect.session import (
    AppMetadata,
    Session,
    build_proposal,
    parse_caip10,
    parse_signature_result,
    payload_id,
    personal_sign_params,
    request_expiry,
    validate_namespaces,
    validate_settle,
)
from app.walletconnect.store import STORE_NAME, SessionStore
from app.walletconnect.uri import (
    PairingUri,
    new_pairing,
    parse_pairing_uri,
    qr_matrix,
    qr_text,
)

# The spec's did-jwt test case (specs: clients/core/crypto/crypto-authentication.md).
SPEC_SEED = "58e0254c211b858ef7896b00e3f36beeb13d568d47c6031c4218b87718061295"
SPEC_PUBLIC = "884ab67f787b69e534bfdba8d5beb4e719700e90ac06317ed177d49e5a33be5a"
SPEC_DID = "did:key:z6MkodHZwneVRShtaLf8JKYkxpDGp1vGZnpGmdBpX8M2exxH"
SPEC_SUB = "c479fe5dc464e771e78b193d239a65b58d278cad1c34bfb0b5716e5bb514928e"
SPEC_JWT = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJkaWQ6a2V5Ono2TWtvZEhad25lVlJTaHRhTGY4SktZa3"
    "hwREdwMXZHWm5wR21kQnBYOE0yZXh4SCIsInN1YiI6ImM0NzlmZTVkYzQ2NGU3NzFlNzhiMTkzZDIzOWE2NWI1OGQy"
    "NzhjYWQxYzM0YmZiMGI1NzE2ZTViYjUxNDkyOGUiLCJhdWQiOiJ3c3M6Ly9yZWxheS53YWxsZXRjb25uZWN0LmNvbS"
    "IsImlhdCI6MTY1NjkxMDA5NywiZXhwIjoxNjU2OTk2NDk3fQ.bAKl1swvwqqV_FgwvD4Bx3Yp987B9gTpZctyBviA-Ek"
    "AuWc8iI8SyokOjkv9GJESgid4U8Tf2foCgrQp2qrxBA"
)
ADDRESS = "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"


# -- crypto ---------------------------------------------------------------------------------


def test_relay_jwt_matches_the_spec_vector() -> None:
    key = relay_auth.ClientKey(bytes.fromhex(SPEC_SEED))
    assert key.public_key.hex() == SPEC_PUBLIC
    assert key.did == SPEC_DID
    token = relay_auth.relay_jwt(
        key, sub=SPEC_SUB, aud="wss://relay.walletconnect.com", iat=1656910097
    )
    assert token == SPEC_JWT


def test_did_key_matches_the_spec_example() -> None:
    public = bytes.fromhex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")
    assert relay_auth.did_key(public) == "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"


def test_the_relay_side_verifies_our_jwt_and_refuses_a_forged_one() -> None:
    token = relay_auth.relay_jwt(
        relay_auth.ClientKey(bytes.fromhex(SPEC_SEED)),
        sub=SPEC_SUB,
        aud="wss://relay.walletconnect.com",
        iat=1656910097,
    )
    assert relay_auth.verify_relay_jwt(token, now=1656910100)["iss"] == SPEC_DID
    with pytest.raises(relay_auth.InvalidRelayToken, match="expired"):
        relay_auth.verify_relay_jwt(token, now=1656996498)
    header, payload, _ = token.split(".")
    other = relay_auth.relay_jwt(relay_auth.ClientKey.generate(), sub="x", aud="y")
    with pytest.raises(relay_auth.InvalidRelayToken, match="signature"):
        relay_auth.verify_relay_jwt(f"{header}.{payload}.{other.split('.')[2]}", now=1656910100)
    for broken in ("", "a.b", "a.b.c", f"{header}.{payload}"):
        with pytest.raises(relay_auth.InvalidRelayToken):
            relay_auth.verify_relay_jwt(broken)


@pytest.mark.parametrize("data", [b"", b"\0", b"\0\0\x01", os.urandom(34), b"\xed\x01" + bytes(32)])
def test_base58btc_round_trips(data: bytes) -> None:
    assert relay_auth.base58btc_decode(relay_auth.base58btc(data)) == data


def test_client_key_repr_hides_the_seed() -> None:
    key = relay_auth.ClientKey(bytes.fromhex(SPEC_SEED))
    assert SPEC_SEED not in repr(key)
    assert SPEC_DID in repr(key)


def test_both_sides_derive_the_same_session_key_and_topic() -> None:
    dapp, wallet = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    ours = crypto.derive_sym_key(dapp, crypto.public_key_hex(wallet))
    theirs = crypto.derive_sym_key(wallet, crypto.public_key_hex(dapp))
    assert ours == theirs and len(ours) == 32
    assert crypto.topic_of(ours) == hashlib.sha256(ours).hexdigest()


def test_session_key_is_hkdf_sha256_without_salt_or_info() -> None:
    # RFC 5869 with salt = 32 zero bytes and empty info, computed by hand with hmac.
    import hmac

    dapp, wallet = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    shared = dapp.exchange(wallet.public_key())
    prk = hmac.new(bytes(32), shared, "sha256").digest()
    okm = hmac.new(prk, b"\x01", "sha256").digest()
    assert crypto.derive_sym_key(dapp, crypto.public_key_hex(wallet)) == okm


def test_malformed_and_low_order_peer_keys_are_refused() -> None:
    key = X25519PrivateKey.generate()
    for bad in ("", "zz" * 32, "00" * 31):
        with pytest.raises(WalletConnectError):
            crypto.derive_sym_key(key, bad)
    with pytest.raises(WalletConnectError, match="low-order"):
        crypto.derive_sym_key(key, "00" * 32)


def test_topic_is_sha256_of_the_raw_key_not_its_hex() -> None:
    key = bytes(range(32))
    assert crypto.topic_of(key) == hashlib.sha256(key).hexdigest()
    assert crypto.topic_of(key) != hashlib.sha256(key.hex().encode()).hexdigest()


def test_envelope_layout_and_round_trip() -> None:
    key, iv = os.urandom(32), bytes(range(12))
    envelope = crypto.seal(key, b'{"a":1}', iv=iv)
    raw = base64.b64decode(envelope)
    assert raw[0] == 0 and raw[1:13] == iv and len(raw) == 1 + 12 + 7 + 16
    assert crypto.open_envelope(key, envelope) == b'{"a":1}'
    payload = {"id": 1, "jsonrpc": "2.0", "result": True}
    assert crypto.open_json(key, crypto.seal_json(key, payload)) == payload


def test_envelopes_get_fresh_ivs() -> None:
    key = os.urandom(32)
    assert crypto.seal(key, b"x") != crypto.seal(key, b"x")


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_tampered_envelope_raises_a_typed_error(position: int) -> None:
    key = os.urandom(32)
    raw = bytearray(base64.b64decode(crypto.seal(key, b"personal_sign please")))
    raw[position] ^= 0x01
    with pytest.raises(EnvelopeError) as info:
        crypto.open_envelope(key, base64.b64encode(bytes(raw)).decode())
    assert isinstance(info.value, WalletConnectError)


@pytest.mark.parametrize(
    "envelope",
    [
        "",
        "not base64!",
        base64.b64encode(b"\x00short").decode(),
        base64.b64encode(b"\x01" + bytes(60)).decode(),
        base64.b64encode(b"\x02{}").decode(),
    ],
)
def test_malformed_or_unsupported_envelopes_are_refused(envelope: str) -> None:
    with pytest.raises(EnvelopeError):
        crypto.open_envelope(os.urandom(32), envelope)


def test_wrong_key_or_non_json_plaintext_are_refused() -> None:
    key = os.urandom(32)
    with pytest.raises(EnvelopeError):
        crypto.open_envelope(os.urandom(32), crypto.seal(key, b"{}"))
    with pytest.raises(EnvelopeError):
        crypto.open_json(key, crypto.seal(key, b"[1, 2]"))
    with pytest.raises(EnvelopeError):
        crypto.open_json(key, crypto.seal(key, b"\xff"))


# -- URIs -----------------------------------------------------------------------------------


def test_pairing_uri_format() -> None:
    pairing = new_pairing(now=1_700_000_000)
    uri = pairing.to_uri()
    sym = pairing.sym_key.hex()
    topic = hashlib.sha256(pairing.sym_key).hexdigest()
    assert uri == f"wc:{topic}@2?expiryTimestamp=1700000300&relay-protocol=irn&symKey={sym}"
    assert re.fullmatch(r"[0-9a-f]{64}", sym)
    assert pairing.expired(1_700_000_300) and not pairing.expired(1_700_000_299)


def test_pairing_uri_parse_round_trip_and_key_order() -> None:
    pairing = new_pairing(now=1_700_000_000)
    assert parse_pairing_uri(pairing.to_uri()) == pairing
    topic, sym = pairing.topic, pairing.sym_key.hex()
    reordered = f"wc://{topic}@2?symKey={sym}&relay-protocol=irn&expiryTimestamp=1700000300"
    assert parse_pairing_uri(reordered) == pairing
    with_data = PairingUri(pairing.sym_key, 5, relay_data="abc")
    assert parse_pairing_uri(with_data.to_uri()).relay_data == "abc"


def test_pairing_uri_repr_hides_the_sym_key() -> None:
    pairing = new_pairing()
    assert pairing.sym_key.hex() not in repr(pairing)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda u: u.replace("@2?", "@1?"),
        lambda u: u.replace("wc:", "wx:"),
        lambda u: u.split("&symKey")[0],
        lambda u: u.replace("relay-protocol=irn&", ""),
        lambda u: u.replace("expiryTimestamp=", "expiryTimestamp=x"),
        lambda u: "wc:" + "0" * 64 + u[67:],  # topic not sha256(symKey)
    ],
)
def test_malformed_pairing_uris_are_refused(mutate: object) -> None:
    uri = new_pairing(now=1_700_000_000).to_uri()
    with pytest.raises(InvalidPairingUri):
        parse_pairing_uri(mutate(uri))  # type: ignore[operator]


def test_qr_matrix_and_text() -> None:
    uri = new_pairing().to_uri()
    matrix = qr_matrix(uri, border=4)
    size = len(matrix)
    assert all(len(row) == size for row in matrix)
    assert 45 <= size <= 77  # version 5-10 plus the quiet zone
    assert not any(matrix[0]) and matrix[4][4]  # quiet zone light, finder corner dark
    text = qr_text(uri, border=2)
    lines = text.splitlines()
    assert len(lines) == (size - 4 + 1) // 2
    assert set(text) <= {"█", "▀", "▄", " ", "\n"}


# -- session payloads and settle validation -------------------------------------------------


def _settle(**changes: object) -> dict[str, object]:
    params: dict[str, object] = {
        "relay": {"protocol": "irn"},
        "namespaces": {
            "eip155": {
                "chains": ["eip155:1"],
                "methods": ["personal_sign"],
                "events": ["chainChanged", "accountsChanged"],
                "accounts": [f"eip155:1:{ADDRESS.lower()}"],
            }
        },
        "controller": {"publicKey": "ab" * 32, "metadata": {"name": "Wallet"}},
        "expiry": 2_000_604_800,
    }
    params.update(changes)
    return params


def _check(params: object) -> object:
    return validate_settle(
        params, responder_public_key="AB" * 32, chains=("eip155:1",), now=2_000_000_000
    )


def test_valid_settle_gives_the_account() -> None:
    terms = _check(_settle())
    assert terms.account == f"eip155:1:{ADDRESS.lower()}"  # type: ignore[attr-defined]
    assert terms.peer.name == "Wallet"  # type: ignore[attr-defined]
    assert terms.expiry == 2_000_604_800  # type: ignore[attr-defined]


def test_settle_namespaces_keyed_by_chain_and_without_chains_are_accepted() -> None:
    namespaces = {
        "eip155:1": {
            "methods": ["personal_sign"],
            "events": [],
            "accounts": [f"eip155:1:{ADDRESS}"],
        }
    }
    assert _check(_settle(namespaces=namespaces)).account.endswith(ADDRESS)  # type: ignore[attr-defined]


def test_settle_expiry_beyond_seven_days_is_clamped() -> None:
    terms = _check(_settle(expiry=3_000_000_000))
    assert terms.expiry <= 2_000_000_000 + 7 * 86400 + 60  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"namespaces": {}}, "no namespaces"),
        (
            {"namespaces": {"eip155": {"methods": ["personal_sign"], "accounts": []}}},
            "no Ethereum account",
        ),
        (
            {
                "namespaces": {
                    "eip155": {
                        "methods": ["eth_sendTransaction"],
                        "accounts": [f"eip155:1:{ADDRESS}"],
                    }
                }
            },
            "personal_sign",
        ),
        (
            {
                "namespaces": {
                    "eip155": {"methods": ["personal_sign"], "accounts": [f"eip155:137:{ADDRESS}"]}
                }
            },
            "eip155:1",
        ),
        (
            {"namespaces": {"solana": {"methods": ["personal_sign"], "accounts": ["solana:x:y"]}}},
            "no Ethereum account",
        ),
        ({"controller": {"publicKey": "cd" * 32}}, "another key"),
        ({"relay": {"protocol": "waku"}}, "relay protocol"),
        ({"expiry": 1_999_999_999}, "expired"),
        ({"expiry": "soon"}, "expired"),
    ],
)
def test_settle_validation_refusals(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(SessionRefused, match=reason):
        _check(_settle(**changes))
    with pytest.raises(SessionRefused):
        _check(None)


def test_namespace_update_keeps_the_current_account_when_still_granted() -> None:
    other = "0x" + "ab" * 20
    namespaces = {
        "eip155": {
            "methods": ["personal_sign"],
            "accounts": [f"eip155:1:{other}", f"eip155:1:{ADDRESS}"],
        }
    }
    prefer = f"eip155:1:{ADDRESS.lower()}"
    assert validate_namespaces(namespaces, ["eip155:1"], prefer=prefer).endswith(ADDRESS)
    assert validate_namespaces(namespaces, ["eip155:1"]).endswith(other)


def test_caip10_parsing() -> None:
    assert parse_caip10(f"eip155:1:{ADDRESS.lower()}") == ("eip155:1", ADDRESS)
    for bad in ("eip155:1:0x12", "cosmos:1:" + ADDRESS, ADDRESS):
        with pytest.raises(ValueError):
            parse_caip10(bad)


def test_proposal_payload_uses_optional_namespaces_only() -> None:
    payload = build_proposal(
        proposal_id=7,
        public_key="ab" * 32,
        metadata=AppMetadata("App", "d", "https://x", ("https://x/i.png",)),
        chains=["eip155:1"],
        pairing_topic="cd" * 32,
        expiry_timestamp=99,
    )
    params = payload["params"]
    assert payload["method"] == "wc_sessionPropose" and payload["id"] == 7
    assert params["requiredNamespaces"] == {}
    assert params["optionalNamespaces"] == {
        "eip155": {
            "chains": ["eip155:1"],
            "methods": ["personal_sign"],
            "events": ["accountsChanged", "chainChanged"],
        }
    }
    assert params["relays"] == [{"protocol": "irn"}]
    assert params["proposer"]["metadata"]["icons"] == ["https://x/i.png"]
    assert params["expiryTimestamp"] == 99 and params["pairingTopic"] == "cd" * 32
    json.dumps(payload)


def test_personal_sign_params_are_utf8_hex_then_address() -> None:
    assert personal_sign_params("Hé", ADDRESS) == ["0x48c3a9", ADDRESS]


def test_request_expiry_is_clamped_into_the_wallet_window() -> None:
    assert request_expiry(1000, 900) == 1900
    assert request_expiry(1000, 1) == 1300
    assert request_expiry(1000, 10**9) == 1000 + 7 * 86400


def test_payload_ids_are_unique_and_below_2_53() -> None:
    ids = [payload_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert max(ids) < 2**53


def test_signature_result_parsing() -> None:
    assert parse_signature_result("0x" + "ab" * 65) == bytes([0xAB]) * 65
    for bad in (None, 5, "ab" * 65, "0x" + "ab" * 64, "0x" + "zz" * 65):
        with pytest.raises(ProtocolViolation):
            parse_signature_result(bad)


# -- relay configuration --------------------------------------------------------------------


def test_project_id_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROJECT_ID_ENV, raising=False)
    with pytest.raises(ProjectIdMissing):
        resolve_project_id(None)
    monkeypatch.setenv(PROJECT_ID_ENV, " from-env ")
    assert resolve_project_id(None) == "from-env"
    assert resolve_project_id("explicit") == "explicit"
    assert resolve_project_id("  ") == "from-env"


def test_relay_url_query() -> None:
    url = build_relay_url("wss://relay.walletconnect.org", "pid", "a.b.c", "ua/1")
    assert url == (
        "wss://relay.walletconnect.org?auth=a.b.c&projectId=pid&ua=ua%2F1&useOnCloseEvent=true"
    )
    with pytest.raises(WalletConnectError):
        build_relay_url("https://relay.walletconnect.org", "pid", "", "")


# -- store ----------------------------------------------------------------------------------


def _session(topic: str = "aa" * 32, expiry: int = 2_000_604_800) -> Session:
    return Session(
        topic=topic,
        sym_key=os.urandom(32),
        peer_public_key="ab" * 32,
        peer=AppMetadata("Wallet", url="https://wallet.test"),
        namespaces={"eip155": {"accounts": [f"eip155:1:{ADDRESS}"]}},
        account=f"eip155:1:{ADDRESS.lower()}",
        expiry=expiry,
        pairing_topic="cc" * 32,
    )


def test_store_round_trip_in_one_value() -> None:
    secrets = MemoryStore()
    store = SessionStore(secrets, clock=lambda: 2_000_000_000)
    key = store.client_key()
    session = _session()
    store.save(session)
    assert list(secrets._values) == [STORE_NAME]  # one entry: seed and sessions together
    again = SessionStore(secrets, clock=lambda: 2_000_000_000)
    assert again.client_key() == key
    assert again.sessions() == [session]
    assert again.latest(ADDRESS.lower()) == session
    assert again.latest("0x" + "00" * 20) is None
    assert session.address == ADDRESS and session.chain_id == "eip155:1"
    stored = json.loads(secrets._values[STORE_NAME])
    assert stored["clientSeed"] == key.seed.hex()
    assert stored["sessions"][session.topic]["symKey"] == session.sym_key.hex()


def test_store_drops_expired_sessions() -> None:
    secrets = MemoryStore()
    now = [2_000_000_000.0]
    store = SessionStore(secrets, clock=lambda: now[0])
    old, new = _session("aa" * 32, 2_000_000_100), _session("bb" * 32, 2_000_000_900)
    store.save(old)
    store.save(new)
    assert store.sessions() == [new, old]  # newest expiry first
    now[0] = 2_000_000_500
    assert store.sessions() == [new]
    assert "aa" * 32 not in json.loads(secrets._values[STORE_NAME])["sessions"]
    now[0] = 2_000_001_000
    assert store.latest() is None
    seed = store.client_key()
    assert store.client_key() == seed  # the seed survives the sessions


def test_store_drop_and_damage() -> None:
    secrets = MemoryStore()
    store = SessionStore(secrets, clock=lambda: 2_000_000_000)
    store.save(_session())
    store.drop("aa" * 32)
    assert store.sessions() == []
    secrets.set(STORE_NAME, "{not json")
    assert store.sessions() == []
    secrets.set(STORE_NAME, json.dumps({"version": 1, "sessions": {"aa" * 32: {"topic": 1}}}))
    assert store.sessions() == []
    store.client_key()  # a damaged value is replaced, never raised to the user
