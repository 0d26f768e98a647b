"""``xmtp-keys`` for a person: text without ``--json``, exit codes by outcome, error sentences.

Against real parts: the embedded node (or a ``RunningNode``), real keystores, a stopped port
for an unreachable node or relay.  The loopback JSON-RPC stub wallet stands in only for what
a real wallet cannot do on demand: a person declining to sign.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.cli.exit_codes import EXIT_CODE_OF_ERROR, EXIT_CODES_HELP, exit_code_of
from app.cli.main import main
from app.keyengine.bundles import PrivateKeyBundleV1, SignedPublicKeyBundle
from app.keyengine.errors import InvalidBundle, WalletRejected
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.flows import KeyFlows
from app.keyengine.invitations import create_invitation
from app.keyengine.network import (
    Envelope,
    NetworkError,
    NodeRejected,
    NodeUnreachable,
    TokenSource,
    XmtpClient,
)
from app.keyengine.prekeys import rotate_pre_key
from app.keyengine.recipes import generate_identity
from app.keyengine.topics import invite_topic
from app.keyengine.vault import Vault, default_secret_store
from app.keyengine.wallets import RawKeySigner
from app.keyengine.wallets.jsonrpc import (
    RpcWalletUnreachable,
    SignatureRejected,
    SignatureTimedOut,
)
from app.keyengine.wallets.keystore import WrongPassword
from app.walletconnect.errors import RelayRejected, RelayUnavailable, UserRejected
from tests.support.rpc_wallet_stub import StubWallet, running_stub
from tests.test_cli import ARTEFACTS

WALLET_HEX = "5e" * 32
WALLET = RawKeySigner(bytes.fromhex(WALLET_HEX)).address
PREFIX = "xmtp-keys: error: "
ISO_LOCAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
LIBRARY_WORDS = (
    "ssl:default",
    "Connect call failed",
    "Errno",
    "aiohttp",
    "ClientConnector",
    "ConnectionRefusedError",
    "Name or service not known",
    "Traceback",
    "websockets",
)
NOTE = "note: private keys are kept"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "wallet.hex"
    path.write_text(WALLET_HEX)
    return path


def _dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _error(err: str) -> str:
    """The one error line, checked to be a sentence without library internals."""
    last = err.splitlines()[-1]
    assert last.startswith(PREFIX), err
    assert err.count(PREFIX) == 1
    for word in LIBRARY_WORDS:
        assert word not in err, f"{word!r} in {err!r}"
    return last[len(PREFIX) :]


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# --- fingerprints -----------------------------------------------------------------------------


def _bundle() -> PrivateKeyBundleV1:
    """An identity with a pre-key history of two (the current one created later)."""
    signer = RawKeySigner(bytes.fromhex(WALLET_HEX))
    return rotate_pre_key(asyncio.run(generate_identity(signer)), timestamp_ms=1_900_000_000_000)


def test_fingerprint_is_the_first_20_bytes_of_sha256_in_groups_of_four() -> None:
    point = _bundle().identity_key.public_key.point
    shown = key_fingerprint(point)
    assert re.fullmatch(r"[0-9a-f]{4}( [0-9a-f]{4}){9}", shown)
    assert shown.replace(" ", "") == hashlib.sha256(point).digest()[:20].hex()
    assert len(point) == 65 and point[0] == 4


# --- human output -----------------------------------------------------------------------------


def test_inspect_without_json_is_text_with_fingerprints_local_times_and_the_current_mark(
    run: Run, tmp_path: Path
) -> None:
    bundle = _bundle()
    data = bundle.to_bytes()
    path = tmp_path / "bundle.b64"
    path.write_text(base64.b64encode(data).decode())
    code, out, err = run("inspect", str(path))
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
    run: Run, tmp_path: Path, name: str
) -> None:
    path = tmp_path / "artefact"
    path.write_bytes(ARTEFACTS[name][0])
    json_code, out, _ = run("--json", "inspect", str(path))
    report = json.loads(out)
    code, text, err = run("inspect", str(path))
    assert (code, err) == (json_code, "")
    assert text.startswith("This is ") and ", read as raw bytes.\n" in text.splitlines()[0] + "\n"
    for key in _public_keys(report):
        assert key_fingerprint(bytes.fromhex(key)) in text
        assert key not in text
    assert ("NOT VALID:" in text) is bool(report["errors"])


def test_inspect_bad_signature_is_said_in_words_with_exit_code_1(
    run: Run, tmp_path: Path, vectors: dict[str, Any]
) -> None:
    vector = vectors["contact-bundle-raw-publickeybundle"]
    path = tmp_path / "contact.bin"
    path.write_bytes(bytes.fromhex(vector["data"]["envelope_message_hex"]))
    code, out, err = run("inspect", str(path))
    assert (code, err) == (1, "")
    assert "NOT VALID:" in out and "bundle has no pre-key" in out


def test_inspect_names_an_ethereum_keystore_and_says_to_use_keyfile(
    run: Run, tmp_path: Path
) -> None:
    from eth_account import Account

    keystore = tmp_path / "UTC--wallet.json"
    document = Account.encrypt(bytes.fromhex(WALLET_HEX), "pass phrase", iterations=2**12)
    keystore.write_text(json.dumps(document))
    code, out, err = run("inspect", str(keystore))
    assert (code, err) == (0, "")
    assert out.startswith("This is an Ethereum keystore file")
    assert WALLET in out
    assert f"--keyfile {keystore}" in out
    code, out, err = run("--json", "inspect", str(keystore))
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
    run: Run, node_url: str, key_file: Path, tmp_path: Path
) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    wallet = ("--wallet-key-file", str(key_file))
    code, out, err = run(*common, "rotate-prekey", *wallet)
    assert code == 0, err
    assert out.startswith(f"XMTP identity of {WALLET}\n")
    assert "A new current pre-key was made and published" in out
    code, listing, err = run(*common, "--json", "prekeys", *wallet)
    assert code == 0, err
    keys = _json_lines(listing)[-1]
    code, out, err = run(*common, "prekeys", *wallet)
    assert code == 0, err
    assert key_fingerprint(bytes.fromhex(keys["identity_key"])) in out
    fingerprints = [key_fingerprint(bytes.fromhex(p["public_key"])) for p in keys["prekeys"]]
    assert len(fingerprints) == 2
    rows = [line for line in out.splitlines() if any(f in line for f in fingerprints)]
    assert [row.lstrip().startswith("*") for row in rows] == [True, False]
    assert fingerprints[0] in rows[0] and ISO_LOCAL.search(rows[0])
    assert f"node          {node_url}" in out

    code, out, err = run(*common, "lookup", WALLET)
    assert (code, err) == (0, "")
    assert out.startswith(f"{WALLET} has valid XMTP keys (contact v2, published ")
    assert fingerprints[0] in out
    assert re.search(r"^\s+ok\s+pre-key signature\s+pre-key signed by the identity key$", out, re.M)

    stranger = "0x" + "ab" * 20
    code, out, err = run(*common, "lookup", stranger)
    assert (code, err) == (1, "")
    assert "has no XMTP keys on this node" in out


def test_the_keyring_note_only_where_private_keys_are_held(
    run: Run, node_url: str, key_file: Path, tmp_path: Path
) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    code, _, err = run(*common, "lookup", WALLET)
    assert code == 1 and NOTE not in err
    code, _, err = run(*common, "login", "--wallet-key-file", str(key_file))
    assert code == 0
    assert (NOTE in err) is (default_secret_store() is None)
    assert err.count("private keys are kept") <= 1


def test_contact_published_once_per_publication_naming_its_form(
    run: Run, node_url: str, key_file: Path, tmp_path: Path
) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    code, _, err = run(*common, "login", "--wallet-key-file", str(key_file))
    assert code == 0
    published = [line for line in err.splitlines() if "contact published" in line]
    assert published == ["contact published (v1)", "contact published (v2)"]
    # --json keeps the machine format: the same events, their message unchanged
    code, out, _ = run(*common, "--json", "rotate-prekey", "--wallet-key-file", str(key_file))
    assert code == 0
    events = [line for line in _json_lines(out) if line.get("event") == "published"]
    assert [e["message"] for e in events] == [
        "encrypted keys stored",
        "contact published",
        "contact published",
    ]
    assert all(set(e) == {"event", "message", "topic"} for e in events)


def test_invites_for_a_person(run: Run, node_url: str, key_file: Path, tmp_path: Path) -> None:
    common = ("--node", node_url, "--data-dir", str(tmp_path / "data"))
    wallet = ("--wallet-key-file", str(key_file))
    code, out, err = run(*common, "invites", *wallet)
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
    code, out, err = run(*common, "invites", *wallet)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"1 invitation for {WALLET}:"
    assert lines[1].split() == ["created", "with", "sealed", "to", "pre-key"]
    row = lines[2].split(maxsplit=3)
    assert ISO_LOCAL.fullmatch(row[0]) and row[1:3] == ["received", peer_signer.address]
    assert row[3] == key_fingerprint(pre_key)


# --- exit codes and error sentences -----------------------------------------------------------


def test_help_lists_every_exit_code(run: Run) -> None:
    code, out, err = run("--help")
    assert (code, err) == (0, "")
    assert EXIT_CODES_HELP in out
    for number in (0, 1, 2, 3, 4, 5):
        assert re.search(rf"^  {number}\s+\S", out, re.M)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for line in EXIT_CODES_HELP.splitlines()[1:]:
        number, meaning = line.split(maxsplit=1)
        assert f"| {number} | {meaning} |" in readme


def test_a_dead_node_is_exit_code_3_and_a_sentence_naming_it(
    run: Run, key_file: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    for argv in (("lookup", WALLET), ("login", "--wallet-key-file", str(key_file))):
        code, out, err = run("--node", url, "--data-dir", str(tmp_path), *argv)
        assert (code, out) == (3, "")
        message = _error(err)
        assert message.startswith(f"cannot reach the XMTP node at {url}; check that the node")
        assert "--node" in message


def test_a_node_url_that_is_not_one_is_exit_code_2(run: Run, tmp_path: Path) -> None:
    for url in ("nonsense", "ftp://127.0.0.1:5555", "http://", "http://127.0.0.1:port"):
        code, out, err = run("--node", url, "--data-dir", str(tmp_path), "lookup", WALLET)
        assert (code, out) == (2, ""), url
        assert "is not an XMTP node URL (expected http://host:port)" in _error(err)


def test_an_unreachable_relay_is_exit_code_3(run: Run) -> None:
    relay = f"ws://127.0.0.1:{_dead_port()}"
    code, out, err = run("generate", "--walletconnect", "--relay", relay, "--project-id", "p")
    assert (code, out) == (3, "")
    assert _error(err).startswith(f"cannot reach the WalletConnect relay at {relay}; check")


def test_an_unreachable_rpc_wallet_is_exit_code_3(run: Run) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    code, out, err = run("generate", "--rpc-wallet", url)
    assert (code, out) == (3, "")
    assert _error(err).startswith(f"cannot reach the wallet at {url} (--rpc-wallet); check")


@pytest.fixture
def stub_wallet() -> Iterator[StubWallet]:
    """The stub JSON-RPC wallet on its own thread and loop (the CLI runs its own loop)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[StubWallet] = []
    stop = asyncio.Event()

    async def serve() -> None:
        async with running_stub() as wallet:
            holder.append(wallet)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield holder[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def test_a_declined_signature_is_exit_code_4(
    run: Run, stub_wallet: StubWallet, tmp_path: Path
) -> None:
    stub_wallet.answer = stub_wallet.decline
    code, out, err = run("generate", "--rpc-wallet", stub_wallet.url)
    assert (code, out) == (4, "")
    assert _error(err) == "the wallet declined to sign; nothing was signed or changed"
    code, out, err = run(
        "--data-dir", str(tmp_path), "--json", "login", "--rpc-wallet", stub_wallet.url
    )
    assert code == 4
    assert [line["event"] for line in _json_lines(out)][-1] == "sign_request"


def test_a_signature_never_given_is_exit_code_4(
    run: Run, stub_wallet: StubWallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person walks away from the wallet: the request times out, nothing is signed."""
    monkeypatch.setattr("app.keyengine.wallets.jsonrpc.SIGN_TIMEOUT", 0.5)
    stub_wallet.answer = stub_wallet.hold
    code, out, err = run("generate", "--rpc-wallet", stub_wallet.url)
    assert (code, out) == (4, "")
    assert _error(err) == (
        "the wallet did not answer the signature request in time; nothing was changed"
    )


def test_a_wrong_password_and_keys_that_do_not_open_are_exit_code_5(
    run: Run, tmp_path: Path, key_file: Path
) -> None:
    from eth_account import Account

    keystore = tmp_path / "wallet.json"
    document = Account.encrypt(bytes.fromhex(WALLET_HEX), "right one", iterations=2**12)
    keystore.write_text(json.dumps(document))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the right one\n")
    code, out, err = run("generate", "--keyfile", str(keystore), "--password-file", str(wrong))
    assert (code, out) == (5, "")
    assert _error(err).startswith(f"wrong password for keystore {keystore}")

    code, out, err = run("generate", "--wallet-key-file", str(key_file), "--json")
    encrypted = tmp_path / "backup.b64"
    encrypted.write_text(json.loads(out)["encrypted_bundle"])
    other = tmp_path / "other.hex"
    other.write_text("6f" * 32)
    code, out, err = run("decrypt-bundle", "--wallet-key-file", str(other), str(encrypted))
    assert (code, out) == (5, "")
    assert "cannot decrypt this bundle" in _error(err)


def test_import_of_a_file_that_is_no_backup_is_exit_code_2_before_any_node(
    run: Run, key_file: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello, not a backup\n")
    url = f"http://127.0.0.1:{_dead_port()}"
    code, out, err = run("--node", url, "import", "--wallet-key-file", str(key_file), str(junk))
    assert (code, out) == (2, "")
    message = _error(err)
    assert message.startswith("the input is not an encrypted private key bundle")
    assert "protobuf" not in message


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidBundle("x"), 2),
        (ValueError("x"), 2),
        (NodeUnreachable("x"), 3),
        (NodeRejected("x", code=3, status=400), 3),
        (NetworkError("x"), 3),
        (RpcWalletUnreachable("x"), 3),
        (RelayUnavailable("x"), 3),
        (RelayRejected("x"), 2),
        (SignatureRejected("x"), 4),
        (SignatureTimedOut("x"), 4),
        (WalletRejected("x"), 4),
        (UserRejected("x", 5000), 4),
        (WrongPassword("x"), 5),
        (RuntimeError("x"), None),
    ],
)
def test_one_table_maps_error_families_to_exit_codes(error: Exception, code: int | None) -> None:
    assert exit_code_of(error) == code


def test_the_network_family_is_mapped_by_its_base_class() -> None:
    """A new network error type (one subclass of ``NetworkError``) gets 3 with no new line."""

    class NodeMisbehavingLater(NetworkError):
        pass

    assert NetworkError in EXIT_CODE_OF_ERROR
    assert exit_code_of(NodeMisbehavingLater("x")) == 3
