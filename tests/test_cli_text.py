"""``xmtp-keys`` without ``--json``: text for a person, the same facts as the JSON.

Sentences and aligned tables, times in local ISO-8601, keys by the fingerprint every front end
shows, the current pre-key marked; against the embedded node or a real ``RunningNode``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.keyengine.bundles import PrivateKeyBundleV1, PublicKeyBundle, SignedPublicKeyBundle
from app.keyengine.contact import ContactBundle
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.flows import KeyFlows
from app.keyengine.invitations import create_invitation
from app.keyengine.keys import PrivateKey
from app.keyengine.network import Envelope, TokenSource, XmtpClient
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.recipes import generate_identity
from app.keyengine.topics import contact_topic, invite_topic
from app.keyengine.vault import Vault, default_secret_store
from app.keyengine.wallets import RawKeySigner
from tests.support.cli import ISO_LOCAL, WALLET, WALLET_HEX, Run, json_lines
from tests.test_cli import ARTEFACTS

NOTE = "note: private keys are kept"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "wallet.hex"
    path.write_text(WALLET_HEX)
    return path


# --- fingerprints -----------------------------------------------------------------------------


def _bundle() -> PrivateKeyBundleV1:
    """An identity with a pre-key history of two (the current one created later)."""
    signer = RawKeySigner(bytes.fromhex(WALLET_HEX))
    return rotate_pre_key(asyncio.run(generate_identity(signer)), timestamp_ms=1_900_000_000_000)


def test_fingerprint_is_the_first_20_bytes_of_sha256_in_groups_of_four() -> None:
    point = _bundle().identity_key.public_key.point
    shown = key_fingerprint(point)
    assert re.fullmatch(r"[0-9A-F]{4}( [0-9A-F]{4}){9}", shown)
    assert shown.replace(" ", "") == hashlib.sha256(point).digest()[:20].hex().upper()
    assert len(point) == 65 and point[0] == 4


# --- human output -----------------------------------------------------------------------------


def test_inspect_without_json_is_text_with_fingerprints_local_times_and_the_current_mark(
    cli: Run, tmp_path: Path
) -> None:
    bundle = _bundle()
    data = bundle.to_bytes()
    path = tmp_path / "bundle.b64"
    path.write_text(base64.b64encode(data).decode())
    code, out, err = cli("inspect", str(path))
    assert (code, err) == (0, "")
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert out.startswith("This is an XMTP private key bundle (v1), read as base64.\n")
    assert key_fingerprint(bundle.identity_key.public_key.point) in out
    current, older = (key.public_key for key in bundle.pre_keys)
    rows = [line for line in out.splitlines() if key_fingerprint(current.point) in line]
    assert len(rows) == 1 and rows[0].lstrip().startswith("*")
    old_row = next(line for line in out.splitlines() if key_fingerprint(older.point) in line)
    assert not old_row.lstrip().startswith("*")
    # the times are ISO-8601 in the local zone, and they are the keys' times
    stamp = ISO_LOCAL.search(rows[0])
    assert stamp is not None
    moment = datetime.fromisoformat(stamp.group())
    assert int(moment.timestamp()) == current.timestamp_ms // 1000
    assert "Every signature holds." in out
    for key in (bundle.identity_key, *bundle.pre_keys):
        assert key.secret.hex() not in out


def _public_keys(report: dict[str, Any]) -> list[str]:
    """Every public key (hex) a JSON report names, nested reports included."""
    found = [report[k] for k in ("identity_key", "prekey") if isinstance(report.get(k), str)]
    for nested in ("sender", "recipient"):
        if isinstance(report.get(nested), dict):
            found += _public_keys(report[nested])
    return found


@pytest.mark.parametrize("name", list(ARTEFACTS))
def test_inspect_text_of_every_artefact_agrees_with_its_json(
    cli: Run, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "artefact"
    path.write_bytes(ARTEFACTS[name][0])
    json_code, out, _ = cli("--json", "inspect", str(path))
    report = json.loads(out)
    code, text, err = cli("inspect", str(path))
    assert (code, err) == (json_code, "")
    assert text.startswith("This is ") and ", read as raw bytes.\n" in text.splitlines()[0] + "\n"
    for key in _public_keys(report):
        assert key_fingerprint(bytes.fromhex(key)) in text
        assert key not in text
    assert ("NOT VALID:" in text) is bool(report["errors"])


def test_inspect_bad_signature_is_said_in_words_with_exit_code_1(
    cli: Run, tmp_path: Path, vectors: dict[str, Any]
) -> None:
    vector = vectors["contact-bundle-raw-publickeybundle"]
    path = tmp_path / "contact.bin"
    path.write_bytes(bytes.fromhex(vector["data"]["envelope_message_hex"]))
    code, out, err = cli("inspect", str(path))
    assert (code, err) == (1, "")
    assert "NOT VALID:" in out and "bundle has no pre-key" in out


def test_inspect_names_an_ethereum_keystore_and_says_to_use_keyfile(
    cli: Run, tmp_path: Path
) -> None:
    from eth_account import Account

    keystore = tmp_path / "UTC--wallet.json"
    document = Account.encrypt(bytes.fromhex(WALLET_HEX), "pass phrase", iterations=2**12)
    keystore.write_text(json.dumps(document))
    code, out, err = cli("inspect", str(keystore))
    assert (code, err) == (0, "")
    assert out.startswith("This is an Ethereum keystore file")
    assert WALLET in out
    assert f"--keyfile {keystore}" in out
    code, out, err = cli("--json", "inspect", str(keystore))
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert (report["type"], report["wallet_address"], report["errors"]) == (
        "ethereum_keystore",
        WALLET,
        [],
    )
    assert f"--keyfile {keystore}" in report["usage"]
    assert WALLET_HEX not in out


def test_login_prekeys_and_lookup_for_a_person(
    cli: Run, node_url: str, key_file: Path, tmp_path: Path
) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    wallet = ("--wallet-key-file", str(key_file))
    code, out, err = cli(*common, "rotate-prekey", *wallet)
    assert code == 0, err
    assert out.startswith(f"XMTP identity of {WALLET}\n")
    assert "A new current pre-key was made and published" in out
    code, listing, err = cli(*common, "--json", "prekeys", *wallet)
    assert code == 0, err
    keys = json_lines(listing)[-1]
    code, out, err = cli(*common, "prekeys", *wallet)
    assert code == 0, err
    assert key_fingerprint(bytes.fromhex(keys["identity_key"])) in out
    fingerprints = [key_fingerprint(bytes.fromhex(p["public_key"])) for p in keys["prekeys"]]
    assert len(fingerprints) == 2
    rows = [line for line in out.splitlines() if any(f in line for f in fingerprints)]
    assert [row.lstrip().startswith("*") for row in rows] == [True, False]
    assert fingerprints[0] in rows[0] and ISO_LOCAL.search(rows[0])
    assert f"node          {node_url}" in out

    code, out, err = cli(*common, "lookup", WALLET)
    assert (code, err) == (0, "")
    assert out.startswith(f"{WALLET} has valid XMTP keys (contact v2, published ")
    assert fingerprints[0] in out
    assert re.search(r"^\s+ok\s+pre-key signature\s+pre-key signed by the identity key$", out, re.M)

    stranger = "0x" + "ab" * 20
    code, out, err = cli(*common, "lookup", stranger)
    assert (code, err) == (1, "")
    assert "has no XMTP keys on this node" in out


def test_lookup_of_keys_that_do_not_hold_says_which_link_failed(
    cli: Run, node_url: str, tmp_path: Path
) -> None:
    """The wallet's only contact has a pre-key signed by a stranger: exit code 1, in words."""

    async def publish_forged_contact() -> None:
        bundle = await generate_identity(RawKeySigner(bytes.fromhex(WALLET_HEX)))
        stranger = PrivateKey.generate(bundle.current_pre_key.timestamp_ms)
        forged = PublicKeyBundle(
            bundle.identity_key.public_key, stranger.sign_key(stranger.public_key.unsigned())
        )
        async with XmtpClient(node_url) as client:
            contact = ContactBundle.v1(forged).to_bytes()
            envelope = Envelope(contact_topic(WALLET), 1_900_000_000_000_000_000, contact)
            await client.publish([envelope], TokenSource(bundle))

    asyncio.run(publish_forged_contact())
    code, out, err = cli("--node", node_url, "--data-dir", str(tmp_path), "lookup", WALLET)
    assert (code, err) == (1, "")
    assert out.startswith(f"{WALLET} has INVALID XMTP keys (contact v1, published ")
    assert re.search(r"^\s+ok\s+contact published\s+found on the node$", out, re.M)
    assert re.search(r"^\s+ok\s+wallet signature\s+identity key attested by ", out, re.M)
    assert re.search(r"^\s+FAILED\s+pre-key signature\s+", out, re.M)


def test_the_keyring_note_only_where_private_keys_are_held(
    cli: Run, node_url: str, key_file: Path, tmp_path: Path
) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    code, _, err = cli(*common, "lookup", WALLET)
    assert code == 1 and NOTE not in err
    code, _, err = cli(*common, "login", "--wallet-key-file", str(key_file))
    assert code == 0
    assert (NOTE in err) is (default_secret_store() is None)
    assert err.count("private keys are kept") <= 1


def test_contact_published_once_per_publication_naming_its_form(
    cli: Run, node_url: str, key_file: Path, tmp_path: Path
) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    code, _, err = cli(*common, "login", "--wallet-key-file", str(key_file))
    assert code == 0
    published = [line for line in err.splitlines() if "contact published" in line]
    assert published == ["contact published (v1)", "contact published (v2)"]
    # --json keeps the machine format: the same events, their message unchanged
    code, out, _ = cli(*common, "--json", "rotate-prekey", "--wallet-key-file", str(key_file))
    assert code == 0
    events = [line for line in json_lines(out) if line.get("event") == "published"]
    assert [e["message"] for e in events] == [
        "encrypted keys stored",
        "contact published",
        "contact published",
    ]
    assert all(set(e) == {"event", "message", "topic"} for e in events)


def test_invites_for_a_person(cli: Run, node_url: str, key_file: Path, tmp_path: Path) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    wallet = ("--wallet-key-file", str(key_file))
    code, out, err = cli(*common, "invites", *wallet)
    assert (code, out) == (0, f"No invitations for {WALLET}.\n"), err
    peer_signer = RawKeySigner(bytes.fromhex("7a" * 32))
    created = 1_900_000_000_000 * 1_000_000

    async def invite() -> bytes:
        peer = await generate_identity(peer_signer)
        async with XmtpClient(node_url) as client:
            found = await KeyFlows(client, Vault(tmp_path / "peer", None)).lookup(WALLET)
            assert found.contact is not None
            bundle = found.contact.key_bundle
            assert isinstance(bundle, SignedPublicKeyBundle)
            sealed, _ = create_invitation(peer, bundle, created)
            envelope = Envelope(invite_topic(WALLET), created, sealed.to_bytes())
            await client.publish([envelope], TokenSource(peer))
        assert bundle.pre_key is not None
        return bundle.pre_key.point

    pre_key = asyncio.run(invite())
    code, out, err = cli(*common, "invites", *wallet)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"1 invitation for {WALLET}:"
    assert lines[1].split() == ["created", "with", "sealed", "to", "pre-key"]
    row = lines[2].split(maxsplit=3)
    assert ISO_LOCAL.fullmatch(row[0]) and row[1:3] == ["received", peer_signer.address]
    assert row[3] == key_fingerprint(pre_key)
