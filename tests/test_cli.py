"""The offline ``xmtp-keys`` commands: generate, inspect, decrypt-bundle.

Most tests call ``main([...])`` in-process; one runs the installed console script.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.keyengine.artefacts import DETECTORS
from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import (
    PrivateKeyBundleV1,
    PrivateKeyBundleV2,
    PublicKeyBundle,
)
from app.keyengine.contact import ContactBundle
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.invitations import create_invitation
from app.keyengine.keys import PrivateKey
from app.keyengine.messages import encode_message_v1, encode_message_v2
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.proto import private_key_pb2
from app.keyengine.recipes import encrypt_bundle, generate_identity
from app.keyengine.texts import create_identity_text, enable_identity_text
from app.keyengine.wallets import RawKeySigner
from tests.support.vectors import load_vectors

WALLET_HEX = "11" * 32
OTHER_WALLET_HEX = "22" * 32
ERROR_PREFIX = "xmtp-keys: error: "

Run = Callable[..., tuple[int, str, str]]


def _report(cli: Run, *argv: str, code: int = 0) -> dict[str, Any]:
    """The ``--json`` report of ``argv``; ``code``: the exit code expected (1: a negative
    verdict)."""
    exit_code, out, err = cli(*argv, "--json")
    assert (exit_code, err) == (code, "")
    report: dict[str, Any] = json.loads(out)
    return report


def _assert_one_error_line(code: int, out: str, err: str, expected_code: int = 2) -> str:
    assert code == expected_code
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert err.startswith(ERROR_PREFIX)
    assert "Traceback" not in err
    return err[len(ERROR_PREFIX) : -1]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "wallet.hex"
    path.write_text(f"  0x{WALLET_HEX}\n")
    return path


@pytest.fixture
def other_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "other-wallet.hex"
    path.write_text(OTHER_WALLET_HEX)
    return path


@pytest.fixture
def generated(cli: Run, key_file: Path) -> dict[str, Any]:
    return _report(cli, "generate", "--wallet-key-file", str(key_file), "--json")


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def _secrets_of(bundle: PrivateKeyBundleV1) -> list[str]:
    hexes = [bundle.identity_key.secret.hex()] + [k.secret.hex() for k in bundle.pre_keys]
    return hexes + [h.upper() for h in hexes] + [WALLET_HEX]


# --- generate ---------------------------------------------------------------------------------


def test_generate_json_outputs_are_consistent(generated: dict[str, Any]) -> None:
    signer = RawKeySigner(bytes.fromhex(WALLET_HEX))
    assert generated["wallet_address"] == signer.address
    bundle = PrivateKeyBundleV1.from_bytes(base64.b64decode(generated["private_key_bundle"]))
    bundle.verify()
    assert bundle.wallet_address == signer.address
    assert generated["identity_key"] == bundle.identity_key.public_key.point.hex()
    assert generated["prekey"] == bundle.current_pre_key.public_key.point.hex()
    encrypted = EncryptedPrivateKeyBundle.from_bytes(
        base64.b64decode(generated["encrypted_bundle"])
    )
    assert generated["signed_texts"] == [
        {
            "purpose": "create_identity",
            "text": create_identity_text(bundle.identity_key.public_key.bytes_to_sign()),
        },
        {"purpose": "enable_identity", "text": encrypted.signature_request.text},
    ]
    v1 = ContactBundle.from_bytes(base64.b64decode(generated["contact_bundle_v1"]))
    v2 = ContactBundle.from_bytes(base64.b64decode(generated["contact_bundle_v2"]))
    assert v1 == ContactBundle.v1(bundle.public_key_bundle())
    assert v2 == ContactBundle.v2(bundle.signed_public_key_bundle())


@pytest.mark.parametrize(
    ("field", "expected_type"),
    [
        ("private_key_bundle", "private_key_bundle_v1"),
        ("encrypted_bundle", "encrypted_private_key_bundle"),
        ("contact_bundle_v1", "contact_bundle_v1"),
        ("contact_bundle_v2", "contact_bundle_v2"),
    ],
)
def test_inspect_each_generated_output(
    cli: Run, tmp_path: Path, generated: dict[str, Any], field: str, expected_type: str
) -> None:
    path = _write(tmp_path, field, generated[field] + "\n")
    report = _report(cli, "inspect", str(path))
    assert report["type"] == expected_type
    assert report["input_encoding"] == "base64"
    assert report["errors"] == []
    if expected_type == "encrypted_private_key_bundle":
        assert report["wrapped"] is True
        assert report["signature_text"] == generated["signed_texts"][1]["text"]
        assert report["signature_text"] == enable_identity_text(
            bytes.fromhex(report["wallet_pre_key"])
        )
        return
    assert report["wallet_address"] == generated["wallet_address"]
    assert report["identity_key"] == generated["identity_key"]
    assert report["prekey"] == generated["prekey"]
    assert report["signatures_valid"] is True
    if expected_type == "private_key_bundle_v1":
        assert report["wrapped"] is True
        assert report["prekeys"] == [generated["prekey"]]
        assert [d["public_key"] for d in report["prekeys_detail"]] == [generated["prekey"]]


def test_generate_human_summary_prints_no_private_key(
    cli: Run, tmp_path: Path, key_file: Path
) -> None:
    code, out, err = cli("generate", "--wallet-key-file", str(key_file))
    assert (code, err) == (0, "")
    assert RawKeySigner(bytes.fromhex(WALLET_HEX)).address in out
    assert "not kept" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    # with --out the keys are known, so the summary can be checked for them
    out_path = tmp_path / "kept.bin"
    code, out, err = cli("generate", "--wallet-key-file", str(key_file), "--out", str(out_path))
    assert (code, err) == (0, "")
    bundle = PrivateKeyBundleV1.from_bytes(out_path.read_bytes())
    assert bundle.identity_key.public_key.point.hex() in out
    assert f"written to {out_path} (mode 0600)" in out
    for secret in _secrets_of(bundle):
        assert secret not in out
    assert base64.b64encode(bundle.to_bytes()).decode() not in out


def test_global_json_flag_before_the_command(cli: Run, key_file: Path) -> None:
    report = _report(cli, "--json", "generate", "--wallet-key-file", str(key_file))
    assert report["wallet_address"] == RawKeySigner(bytes.fromhex(WALLET_HEX)).address
    assert "private_key_bundle" in report


def test_generate_out_writes_a_0600_file_and_refuses_to_overwrite(
    cli: Run, tmp_path: Path, key_file: Path
) -> None:
    out_path = tmp_path / "bundle.bin"
    report = _report(
        cli, "generate", "--wallet-key-file", str(key_file), "--out", str(out_path), "--json"
    )
    assert "private_key_bundle" not in report
    assert report["private_key_bundle_file"] == str(out_path)
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o600
    content = out_path.read_bytes()
    bundle = PrivateKeyBundleV1.from_bytes(content)
    assert bundle.to_bytes() == content
    assert bundle.identity_key.public_key.point.hex() == report["identity_key"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    code, out, err = cli("generate", "--wallet-key-file", str(key_file), "--out", str(out_path))
    message = _assert_one_error_line(code, out, err)
    assert "already exists" in message
    assert out_path.read_bytes() == content


# --- decrypt-bundle ---------------------------------------------------------------------------


def test_decrypt_bundle_with_the_right_wallet(
    cli: Run, tmp_path: Path, generated: dict[str, Any], key_file: Path
) -> None:
    path = _write(tmp_path, "enc.bin", base64.b64decode(generated["encrypted_bundle"]))
    report = _report(cli, "decrypt-bundle", "--wallet-key-file", str(key_file), str(path))
    assert report["type"] == "private_key_bundle_v1"
    assert report["wallet_address"] == generated["wallet_address"]
    assert report["decrypted_with_wallet"] == generated["wallet_address"]
    assert report["identity_key"] == generated["identity_key"]
    assert report["prekey"] == generated["prekey"]
    assert report["prekeys"] == [generated["prekey"]]
    assert report["signatures_valid"] is True
    assert report["errors"] == []


def test_decrypt_bundle_with_another_wallet_fails_in_one_line(
    cli: Run, tmp_path: Path, generated: dict[str, Any], other_key_file: Path
) -> None:
    path = _write(tmp_path, "enc.b64", generated["encrypted_bundle"])
    code, out, err = cli("decrypt-bundle", "--wallet-key-file", str(other_key_file), str(path))
    message = _assert_one_error_line(code, out, err, expected_code=5)
    assert "cannot decrypt" in message
    assert RawKeySigner(bytes.fromhex(OTHER_WALLET_HEX)).address in message
    assert OTHER_WALLET_HEX not in err


def test_decrypt_bundle_refuses_other_artefacts(
    cli: Run, tmp_path: Path, generated: dict[str, Any], key_file: Path
) -> None:
    path = _write(tmp_path, "contact.b64", generated["contact_bundle_v2"])
    code, out, err = cli("decrypt-bundle", "--wallet-key-file", str(key_file), str(path))
    message = _assert_one_error_line(code, out, err)
    assert message == "the input holds a contact_bundle_v2, not an encrypted private key bundle"


# --- inspect: every artefact type ---------------------------------------------------------------

_VECTORS = load_vectors()
_INVITE = _VECTORS["deterministic-invite-topic"]["data"]
_ALICE = PrivateKeyBundleV1.from_bytes(bytes.fromhex(_INVITE["alice_private_key_bundle_hex"]))
_BOB = PrivateKeyBundleV1.from_bytes(bytes.fromhex(_INVITE["bob_private_key_bundle_hex"]))


def _artefacts() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, expected type) for every artefact the engine can produce."""
    signer = RawKeySigner(bytes.fromhex(WALLET_HEX))
    bundle = rotate_pre_key(asyncio.run(generate_identity(signer)))
    encrypted = asyncio.run(encrypt_bundle(bundle, signer)).to_bytes()
    bare_encrypted = private_key_pb2.EncryptedPrivateKeyBundle.FromString(encrypted).v1
    sealed, invitation = create_invitation(_ALICE, _BOB.signed_public_key_bundle(), 1_700_000)
    return {
        "wrapped v1": (bundle.to_bytes(), "private_key_bundle_v1"),
        "bare v1": (bundle.to_unwrapped_bytes(), "private_key_bundle_v1"),
        "wrapped v2": (PrivateKeyBundleV2.from_legacy(bundle).to_bytes(), "private_key_bundle_v2"),
        "encrypted": (encrypted, "encrypted_private_key_bundle"),
        "bare encrypted": (bare_encrypted.SerializeToString(), "encrypted_private_key_bundle"),
        "contact v1": (
            ContactBundle.v1(bundle.public_key_bundle()).to_bytes(),
            "contact_bundle_v1",
        ),
        "contact v2": (
            ContactBundle.v2(bundle.signed_public_key_bundle()).to_bytes(),
            "contact_bundle_v2",
        ),
        "public bundle": (bundle.public_key_bundle().to_bytes(), "public_key_bundle"),
        "legacy contact": (
            PublicKeyBundle(bundle.identity_key.public_key, None).to_bytes(),
            "contact_bundle_legacy",
        ),
        "signed bundle": (
            bundle.signed_public_key_bundle().to_bytes(),
            "signed_public_key_bundle",
        ),
        "invitation": (sealed.to_bytes(), "sealed_invitation"),
        "message v1": (
            encode_message_v1(_ALICE, _BOB.public_key_bundle(), b"hi", timestamp_ms=1_700_000),
            "message_v1",
        ),
        "message v2": (
            encode_message_v2(
                _ALICE, invitation.topic, invitation.key_material, b"hi", created_ns=5 * 10**18
            ),
            "message_v2",
        ),
        "auth token": (base64.b64decode(create_auth_token(bundle)), "auth_token"),
    }


ARTEFACTS = _artefacts()


@pytest.mark.parametrize("name", list(ARTEFACTS))
def test_inspect_detects_each_type_from_raw_bytes(cli: Run, tmp_path: Path, name: str) -> None:
    data, expected_type = ARTEFACTS[name]
    # a legacy contact has no pre-key, so its chain cannot hold: a negative verdict
    verdict = 1 if name == "legacy contact" else 0
    report = _report(cli, "inspect", str(_write(tmp_path, "artefact", data)), code=verdict)
    assert report["type"] == expected_type
    assert report["input_encoding"] == "raw"
    if "wrapped" in report:
        assert report["wrapped"] is (not name.startswith("bare"))


@pytest.mark.parametrize("name", list(ARTEFACTS))
def test_exactly_one_detector_accepts_each_artefact(name: str) -> None:
    """Recognition does not depend on the order detectors are tried in."""
    data, expected_type = ARTEFACTS[name]
    found = [artefact for detector in DETECTORS if (artefact := detector(data)) is not None]
    assert [artefact.kind.value for artefact in found] == [expected_type]


def test_inspect_private_bundle_reports_history_newest_first(cli: Run, tmp_path: Path) -> None:
    data, _ = ARTEFACTS["wrapped v1"]
    bundle = PrivateKeyBundleV1.from_bytes(data)
    report = _report(cli, "inspect", str(_write(tmp_path, "b", data)))
    points = [k.public_key.point.hex() for k in bundle.pre_keys]
    assert len(points) == 2
    assert report["prekeys"] == points
    assert report["prekey"] == points[0]
    created = [d["created_ns"] for d in report["prekeys_detail"]]
    assert created == [k.public_key.timestamp_ms * 10**6 for k in bundle.pre_keys]
    assert created[0] > created[1]
    assert report["signatures_valid"] is True
    v2 = _report(cli, "inspect", str(_write(tmp_path, "v2", ARTEFACTS["wrapped v2"][0])))
    for key in ("wallet_address", "identity_key", "prekey", "prekeys", "signatures_valid"):
        assert v2[key] == report[key]


def test_inspect_invitation_and_v1_message_headers(cli: Run, tmp_path: Path) -> None:
    invite = _report(cli, "inspect", str(_write(tmp_path, "i", ARTEFACTS["invitation"][0])))
    assert invite["created_ns"] == 1_700_000
    assert invite["sender"]["wallet_address"] == _INVITE["expected_alice_address"]
    assert invite["recipient"]["wallet_address"] == _INVITE["expected_bob_address"]
    assert invite["recipient"]["prekey"] == _BOB.current_pre_key.public_key.point.hex()
    assert invite["signatures_valid"] is True
    message = _report(cli, "inspect", str(_write(tmp_path, "m", ARTEFACTS["message v1"][0])))
    assert message["timestamp_ms"] == 1_700_000
    assert message["sender"]["wallet_address"] == _INVITE["expected_alice_address"]
    assert message["recipient"]["identity_key"] == _BOB.identity_key.public_key.point.hex()
    assert message["signatures_valid"] is True


def test_inspect_fresh_auth_token_is_valid(cli: Run, tmp_path: Path) -> None:
    token = base64.b64encode(ARTEFACTS["auth token"][0]).decode()
    report = _report(cli, "inspect", str(_write(tmp_path, "token", token)))
    assert report["type"] == "auth_token"
    assert report["wallet_address"] == RawKeySigner(bytes.fromhex(WALLET_HEX)).address
    assert report["auth_data_wallet"] == report["wallet_address"]
    assert (report["signatures_valid"], report["valid"], report["errors"]) == (True, True, [])


def test_inspect_reports_broken_signatures_and_mismatched_keys(cli: Run, tmp_path: Path) -> None:
    bundle = PrivateKeyBundleV1.from_bytes(ARTEFACTS["wrapped v1"][0])
    stranger = PrivateKey.generate(bundle.current_pre_key.timestamp_ms)
    # a pre-key whose private half belongs to another key
    mismatched = PrivateKeyBundleV1(
        bundle.identity_key,
        (stranger.with_public_key(bundle.current_pre_key.public_key),),
    )
    report = _report(cli, "inspect", str(_write(tmp_path, "a", mismatched.to_bytes())), code=1)
    assert report["signatures_valid"] is False
    assert report["errors"] == ["current pre-key: the private key does not match its public key"]
    # a pre-key signed by a key other than the identity key
    forged = PublicKeyBundle(
        bundle.identity_key.public_key, stranger.sign_key(stranger.public_key.unsigned())
    )
    report = _report(cli, "inspect", str(_write(tmp_path, "b", forged.to_bytes())), code=1)
    assert report["type"] == "public_key_bundle"
    assert report["wallet_address"] == bundle.wallet_address
    assert report["signatures_valid"] is False
    assert report["errors"] == ["pre-key: pre-key is not signed by the identity key"]


def test_inspect_accepts_every_text_encoding_and_stdin(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = ARTEFACTS["contact v2"]
    standard = base64.b64encode(data).decode()
    urlsafe = base64.urlsafe_b64encode(data).decode()
    assert "+" in standard or "/" in standard or "-" in urlsafe or "_" in urlsafe
    forms = {
        "raw": data,
        "base64": "\n  " + "\n".join(standard[i : i + 76] for i in range(0, len(standard), 76)),
        "base64 unpadded": standard.rstrip("=") + "\n",
        "base64url": urlsafe.rstrip("=") + "\n",
        "base64url padded": urlsafe,
        "hex": data.hex(),
        "hex 0x upper": "0x" + data.hex().upper() + "\r\n",
    }
    expected = _report(cli, "inspect", str(_write(tmp_path, "raw", data)))
    for name, form in forms.items():
        report = _report(cli, "inspect", str(_write(tmp_path, name, form)))
        assert report["input_encoding"] == name.split()[0], name
        assert {**report, "input_encoding": "raw"} == expected, name
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(standard.encode())))
    assert _report(cli, "inspect", "-")["identity_key"] == expected["identity_key"]


def test_json_flag_before_or_after_the_command_gives_the_same_output(
    cli: Run, tmp_path: Path
) -> None:
    path = str(_write(tmp_path, "c", ARTEFACTS["contact v1"][0]))
    before, after = cli("--json", "inspect", path), cli("inspect", "--json", path)
    assert before == after and before[0] == 0 and json.loads(before[1])["type"]


# --- inspect: the repository's vectors ----------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_inspect_vector_private_bundles_given_as_hex(cli: Run, tmp_path: Path, who: str) -> None:
    path = _write(tmp_path, who, _INVITE[f"{who}_private_key_bundle_hex"])
    report = _report(cli, "inspect", str(path))
    facts = _VECTORS["deterministic-invite-topic"]["verified_here"][who]
    assert report["type"] == "private_key_bundle_v1"
    assert report["input_encoding"] == "hex"
    assert report["wallet_address"] == _INVITE[f"expected_{who}_address"]
    assert report["identity_key"] == facts["identity_pub"]
    assert report["prekey"] == facts["prekey_pub"]
    assert report["signatures_valid"] is True


def test_inspect_vector_js_private_bundle(cli: Run, tmp_path: Path) -> None:
    vector = _VECTORS["js-private-key-bundle-mobile-load"]
    facts = vector["verified_here"]
    path = _write(tmp_path, "b", bytes.fromhex(vector["data"]["private_key_bundle_hex"]))
    report = _report(cli, "inspect", str(path))
    assert report["type"] == "private_key_bundle_v1"
    assert report["wallet_address"] == facts["wallet"]
    assert report["identity_created_ns"] == int(facts["identity_ts_ms"]) * 10**6
    assert report["prekeys"] == [facts["prekey_pub"]]
    assert report["signatures_valid"] is True
    assert facts["identity_priv"] not in json.dumps(report)
    assert facts["prekey_priv"] not in json.dumps(report)


def test_inspect_vector_contact_bundle_v2(cli: Run, tmp_path: Path) -> None:
    vector = _VECTORS["contact-bundle-v2"]
    path = _write(tmp_path, "c", vector["data"]["envelope_message_hex"])
    report = _report(cli, "inspect", str(path))
    assert report["type"] == "contact_bundle_v2"
    assert report["wallet_address"] == vector["data"]["expected_wallet_address"]
    assert report["identity_key"] == vector["verified_here"]["identity_key_bytes"][-130:]
    # the key came from a legacy key: its created_ns field holds milliseconds
    legacy_ms = int(vector["verified_here"]["identity_created_ns"])
    assert report["identity_created_ns"] == legacy_ms * 10**6
    assert report["signatures_valid"] is True
    assert report["errors"] == []


def test_inspect_vector_raw_public_key_bundle_contact(cli: Run, tmp_path: Path) -> None:
    vector = _VECTORS["contact-bundle-raw-publickeybundle"]
    path = _write(tmp_path, "c", bytes.fromhex(vector["data"]["envelope_message_hex"]))
    report = _report(cli, "inspect", str(path), code=1)
    assert report["type"] == "contact_bundle_legacy"
    assert report["wallet_address"] == vector["data"]["expected_wallet_address"]
    assert report["identity_created_ns"] == int(vector["verified_here"]["identity_ts_ms"]) * 10**6
    assert report["prekey"] is None
    assert report["signatures_valid"] is False
    assert report["errors"] == ["pre-key: bundle has no pre-key"]


@pytest.mark.parametrize(
    ("vector_id", "field"),
    [
        ("message-v2-id-and-decrypt", "envelope_message_hex"),
        ("spoofed-prekey-rejected", "envelope_message_base64"),
    ],
)
def test_inspect_vector_v2_messages(cli: Run, tmp_path: Path, vector_id: str, field: str) -> None:
    data = _VECTORS[vector_id]["data"]
    report = _report(cli, "inspect", str(_write(tmp_path, "m", data[field])))
    assert report["type"] == "message_v2"
    assert report["topic"] == data["content_topic"]
    if "expected_id" in data:
        assert report["id"] == data["expected_id"]
    else:
        assert report["created_ns"] == int(
            _VECTORS[vector_id]["verified_here"]["header_created_ns"]
        )


@pytest.mark.parametrize("vector_id", ["auth-token-xmtpjs-1", "auth-token-xmtpjs-2"])
def test_inspect_vector_auth_tokens_are_expired(cli: Run, tmp_path: Path, vector_id: str) -> None:
    vector = _VECTORS[vector_id]
    token = str(_write(tmp_path, "t", vector["data"]["token_base64"]))
    report = _report(cli, "inspect", token, code=1)
    assert report["type"] == "auth_token"
    assert report["wallet_address"] == vector["verified_here"]["wallet_recovered"]
    assert report["created_ns"] == int(vector["verified_here"]["authdata_created_ns"])
    assert report["signatures_valid"] is True
    assert report["valid"] is False
    assert report["errors"] == ["token is older than allowed"]


# --- errors -----------------------------------------------------------------------------------


def _truncated_bundle() -> bytes:
    return ARTEFACTS["wrapped v1"][0][:-9]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"  \n\t ", id="whitespace"),
        pytest.param(bytes(range(256)), id="binary garbage"),
        pytest.param(b"this is not a key, just text!\n", id="text"),
        pytest.param(base64.b64encode(b"\x0a\x05hello" * 20), id="base64 of garbage"),
        pytest.param(_truncated_bundle(), id="truncated bundle"),
        pytest.param(base64.b64encode(_truncated_bundle()), id="truncated bundle base64"),
        pytest.param(ARTEFACTS["encrypted"][0][:-40], id="truncated encrypted bundle"),
    ],
)
def test_inspect_bad_input_is_one_error_line(cli: Run, tmp_path: Path, content: bytes) -> None:
    code, out, err = cli("inspect", str(_write(tmp_path, "bad", content)))
    _assert_one_error_line(code, out, err)


def test_inspect_missing_file_and_directory(cli: Run, tmp_path: Path) -> None:
    message = _assert_one_error_line(*cli("inspect", str(tmp_path / "nope")))
    assert message == f"cannot read {tmp_path / 'nope'}: No such file or directory"
    _assert_one_error_line(*cli("inspect", str(tmp_path)))


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("", id="empty"),
        pytest.param("not hex at all", id="not hex"),
        pytest.param("abcd", id="too short"),
        pytest.param("00" * 32, id="zero scalar"),
        pytest.param(WALLET_HEX + "zz", id="trailing junk"),
        pytest.param("\xff" + WALLET_HEX, id="not ascii"),
    ],
)
def test_malformed_wallet_key_file(
    cli: Run, tmp_path: Path, generated: dict[str, Any], content: str
) -> None:
    key = _write(tmp_path, "key", content.encode("latin-1"))
    enc = _write(tmp_path, "enc", generated["encrypted_bundle"])
    for argv in (
        ("generate", "--wallet-key-file", str(key)),
        ("decrypt-bundle", "--wallet-key-file", str(key), str(enc)),
    ):
        message = _assert_one_error_line(*cli(*argv))
        assert message.startswith(f"wallet key file {key}")
        assert WALLET_HEX not in message


def test_missing_wallet_key_file(cli: Run, tmp_path: Path) -> None:
    message = _assert_one_error_line(
        *cli("generate", "--wallet-key-file", str(tmp_path / "absent"))
    )
    assert "cannot read wallet key file" in message


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param((), id="no command"),
        pytest.param(("inspect",), id="no file"),
        pytest.param(("frobnicate",), id="unknown command"),
        pytest.param(("generate",), id="no wallet key"),
        pytest.param(("inspect", "--bogus", "x"), id="unknown option"),
    ],
)
def test_usage_errors_are_one_line(cli: Run, argv: tuple[str, ...]) -> None:
    _assert_one_error_line(*cli(*argv))


def test_help_exits_zero(cli: Run) -> None:
    code, out, err = cli("--help")
    assert (code, err) == (0, "")
    for command in ("inspect", "decrypt-bundle", "generate"):
        assert command in out


# --- wallet options ---------------------------------------------------------------------------

KEYSTORE_PASSWORD = "keystore pass phrase"

# Every command that needs a wallet, with the other arguments it requires.
WALLET_COMMANDS = [
    ("generate",),
    ("decrypt-bundle", "bundle.bin"),
    ("login",),
    ("rotate-prekey",),
    ("prekeys",),
    ("invites",),
    ("export", "--out", "backup.bin"),
    ("import", "backup.bin"),
]


@pytest.fixture
def keystore_file(tmp_path: Path) -> Path:
    from eth_account import Account

    document = Account.encrypt(bytes.fromhex(WALLET_HEX), KEYSTORE_PASSWORD, iterations=2**12)
    return _write(tmp_path, "wallet.json", json.dumps(document))


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    return _write(tmp_path, "password.txt", KEYSTORE_PASSWORD + "\nsecond line ignored\n")


@pytest.mark.parametrize("command", WALLET_COMMANDS, ids=[c[0] for c in WALLET_COMMANDS])
def test_wallet_options_are_exactly_one(
    cli: Run, tmp_path: Path, key_file: Path, command: tuple[str, ...]
) -> None:
    keyfile = str(tmp_path / "k.json")
    pairs = [
        ("--wallet-key-file", str(key_file), "--keyfile", keyfile),
        ("--keyfile", keyfile, "--rpc-wallet", "http://127.0.0.1:1"),
        ("--rpc-wallet", "http://127.0.0.1:1", "--walletconnect"),
        ("--wallet-key-file", str(key_file), "--walletconnect"),
    ]
    for pair in pairs:
        message = _assert_one_error_line(*cli(*command, *pair))
        assert "not allowed with argument" in message
    message = _assert_one_error_line(*cli(*command))
    assert (
        "one of the arguments --wallet-key-file --keyfile --rpc-wallet --walletconnect" in message
    )


@pytest.mark.parametrize(
    ("extra", "owner"),
    [
        (("--password-file", "p.txt"), "--keyfile"),
        (("--account", "0x" + "00" * 20), "--rpc-wallet"),
        (("--relay", "wss://relay.example"), "--walletconnect"),
        (("--project-id", "abc"), "--walletconnect"),
    ],
)
def test_wallet_sub_options_need_their_wallet_option(
    cli: Run, key_file: Path, extra: tuple[str, ...], owner: str
) -> None:
    for command in (("generate",), ("login",)):
        message = _assert_one_error_line(*cli(*command, "--wallet-key-file", str(key_file), *extra))
        assert message == f"{extra[0]} can only be used with {owner}"


def test_walletconnect_needs_a_project_id_and_a_reachable_relay(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XMTP_COMPANION_WC_PROJECT_ID", raising=False)
    message = _assert_one_error_line(*cli("generate", "--walletconnect"))
    assert "--project-id" in message and "XMTP_COMPANION_WC_PROJECT_ID" in message
    code, out, err = cli(
        "generate", "--walletconnect", "--relay", "ws://127.0.0.1:1", "--project-id", "p"
    )
    assert code == 3 and out == "" and "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith(ERROR_PREFIX) and "relay" in last.lower()


def test_keyfile_without_password_file_and_no_terminal(
    cli: Run, keystore_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_prompt(prompt: str = "") -> str:
        raise AssertionError("getpass must not be called without a terminal")

    monkeypatch.setattr("app.cli.signers._terminal_available", lambda: False)
    monkeypatch.setattr("getpass.getpass", no_prompt)
    message = _assert_one_error_line(*cli("generate", "--keyfile", str(keystore_file)))
    assert message == (
        f"--keyfile {keystore_file} needs its password: give --password-file P "
        "(there is no terminal to ask on)"
    )


def test_keyfile_password_is_prompted_on_a_terminal(
    cli: Run, keystore_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def prompt(text: str = "") -> str:
        prompts.append(text)
        return KEYSTORE_PASSWORD

    monkeypatch.setattr("app.cli.signers._terminal_available", lambda: True)
    monkeypatch.setattr("getpass.getpass", prompt)
    report = _report(cli, "generate", "--keyfile", str(keystore_file), "--json")
    assert report["wallet_address"] == RawKeySigner(bytes.fromhex(WALLET_HEX)).address
    assert prompts == [f"Password for keystore {keystore_file}: "]


def test_keyfile_generate_and_decrypt_bundle(
    cli: Run, tmp_path: Path, keystore_file: Path, password_file: Path
) -> None:
    keyfile = ("--keyfile", str(keystore_file), "--password-file", str(password_file))
    report = _report(cli, "generate", *keyfile, "--json")
    wallet = RawKeySigner(bytes.fromhex(WALLET_HEX)).address
    assert report["wallet_address"] == wallet
    enc = _write(tmp_path, "enc", report["encrypted_bundle"])
    decrypted = _report(cli, "decrypt-bundle", *keyfile, str(enc))
    assert decrypted["decrypted_with_wallet"] == wallet
    assert decrypted["errors"] == []


def test_keyfile_errors_are_one_line(
    cli: Run, tmp_path: Path, keystore_file: Path, password_file: Path
) -> None:
    wrong = _write(tmp_path, "wrong.txt", "not it\n")
    cases = [
        (("--keyfile", str(keystore_file), "--password-file", str(wrong)), "wrong password", 5),
        (
            ("--keyfile", str(keystore_file), "--password-file", str(tmp_path / "nope")),
            "cannot read password file",
            2,
        ),
        (
            ("--keyfile", str(tmp_path / "nope.json"), "--password-file", str(password_file)),
            "cannot read keystore",
            2,
        ),
        (
            ("--keyfile", str(password_file), "--password-file", str(password_file)),
            "not a keystore file",
            2,
        ),
    ]
    for argv, expected, expected_code in cases:
        message = _assert_one_error_line(*cli("generate", *argv), expected_code=expected_code)
        assert expected in message
        assert KEYSTORE_PASSWORD not in message and WALLET_HEX not in message


def test_keyfile_login_end_to_end(
    cli: Run, tmp_path: Path, keystore_file: Path, password_file: Path
) -> None:
    """login then prekeys with a keystore, on the embedded node the CLI starts by itself."""
    common = ("--data-dir", str(tmp_path / "data"), "--json")
    keyfile = ("--keyfile", str(keystore_file), "--password-file", str(password_file))
    wallet = RawKeySigner(bytes.fromhex(WALLET_HEX)).address
    code, out, err = cli(*common, "login", *keyfile)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["purpose"] for line in lines if line.get("event") == "sign_request"] == [
        "create_identity",
        "enable_identity",
    ]
    assert lines[-1]["wallet_address"] == wallet and lines[-1]["source"] == "generated"
    code, out, err = cli(*common, "prekeys", *keyfile)
    assert code == 0, err
    listed = json.loads(out.splitlines()[-1])
    assert listed["wallet_address"] == wallet
    assert listed["prekey"] == lines[-1]["prekey"]


# --- private material never leaks -------------------------------------------------------------


def test_private_keys_never_appear_in_inspect_or_error_output(
    cli: Run, tmp_path: Path, generated: dict[str, Any], key_file: Path, other_key_file: Path
) -> None:
    raw = base64.b64decode(generated["private_key_bundle"])
    bundle = PrivateKeyBundleV1.from_bytes(raw)
    secrets = _secrets_of(bundle)
    enc = _write(tmp_path, "enc", generated["encrypted_bundle"])
    outputs = [
        cli("inspect", str(_write(tmp_path, "raw", raw))),
        cli("inspect", str(_write(tmp_path, "b64", generated["private_key_bundle"]))),
        cli("inspect", str(_write(tmp_path, "hex", raw.hex()))),
        cli(
            "inspect",
            str(_write(tmp_path, "v2", PrivateKeyBundleV2.from_legacy(bundle).to_bytes())),
        ),
        cli("inspect", str(_write(tmp_path, "cut", raw[:-5]))),
        cli("inspect", str(_write(tmp_path, "cuthex", raw.hex()[:-2]))),
        cli("decrypt-bundle", "--wallet-key-file", str(key_file), str(enc)),
        cli("decrypt-bundle", "--wallet-key-file", str(other_key_file), str(enc)),
        cli("decrypt-bundle", "--wallet-key-file", str(key_file), str(tmp_path / "raw")),
    ]
    codes = [code for code, _, _ in outputs]
    assert codes == [0, 0, 0, 0, 2, 2, 0, 5, 2]
    for _, out, err in outputs:
        for secret in secrets:
            assert secret not in out
            assert secret not in err


# --- the installed entry point -----------------------------------------------------------------


def test_console_script_entry_point(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "xmtp-keys"
    assert script.exists(), "console script missing: run .venv/bin/pip install -e . --no-deps"
    vector = _VECTORS["contact-bundle-v2"]["data"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [str(script), "inspect", "-", "--json"],
        input=vector["envelope_message_hex"].encode(),
        capture_output=True,
        check=False,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    report = json.loads(done.stdout)
    assert report["type"] == "contact_bundle_v2"
    assert report["wallet_address"] == vector["expected_wallet_address"]
    failed = subprocess.run(
        [str(script), "inspect", str(tmp_path / "absent")],
        capture_output=True,
        check=False,
        env=env,
        timeout=60,
    )
    assert failed.returncode == 2
    assert failed.stdout == b""
    assert failed.stderr.decode().count("\n") == 1
    assert failed.stderr.startswith(ERROR_PREFIX.encode())
