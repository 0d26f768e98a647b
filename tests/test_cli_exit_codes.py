"""``xmtp-keys`` exit codes by outcome, and error lines that are sentences.

0 success, 1 a negative verdict, 2 usage or bad input, 3 node/relay/wallet unreachable, 4 the
wallet declined or never signed, 5 wrong password or keys that do not open.  Against real
parts: a stopped loopback port for what cannot be reached, real keystores, the real node; the
loopback JSON-RPC stub wallet only for a person declining or walking away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.exit_codes import EXIT_CODE_OF_ERROR, EXIT_CODES_HELP, exit_code_of
from app.keyengine.errors import InvalidBundle, WalletRejected
from app.keyengine.network import NetworkError, NodeRejected, NodeUnreachable
from app.keyengine.wallets.jsonrpc import (
    RpcWalletUnreachable,
    SignatureRejected,
    SignatureTimedOut,
)
from app.keyengine.wallets.keystore import WrongPassword
from app.walletconnect.errors import RelayRejected, RelayUnavailable, UserRejected
from tests.support.cli import (
    WALLET,
    WALLET_HEX,
    Run,
    dead_port,
    error_of,
    json_lines,
    threaded_stub_wallet,
)
from tests.support.rpc_wallet_stub import StubWallet


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "wallet.hex"
    path.write_text(WALLET_HEX)
    return path


# --- exit codes and error sentences -----------------------------------------------------------


def test_help_lists_every_exit_code(cli: Run) -> None:
    code, out, err = cli("--help")
    assert (code, err) == (0, "")
    assert EXIT_CODES_HELP in out
    for number in (0, 1, 2, 3, 4, 5):
        assert re.search(rf"^  {number}\s+\S", out, re.M)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for line in EXIT_CODES_HELP.splitlines()[1:]:
        number, meaning = line.split(maxsplit=1)
        assert f"| {number} | {meaning} |" in readme


def test_a_dead_node_is_exit_code_3_and_a_sentence_naming_it(
    cli: Run, key_file: Path, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    for argv in (("lookup", WALLET), ("login", "--wallet-key-file", str(key_file))):
        code, out, err = cli("--node", url, "--data-dir", str(tmp_path), *argv)
        assert (code, out) == (3, "")
        message = error_of(err)
        assert message.startswith(f"cannot reach the XMTP node at {url}; check that the node")
        assert "--node" in message


def test_a_node_url_that_is_not_one_is_exit_code_2(cli: Run, tmp_path: Path) -> None:
    for url in ("nonsense", "ftp://127.0.0.1:5555", "http://", "http://127.0.0.1:port"):
        code, out, err = cli("--node", url, "--data-dir", str(tmp_path), "lookup", WALLET)
        assert (code, out) == (2, ""), url
        assert "is not an XMTP node URL (expected http://host:port)" in error_of(err)


def test_an_unreachable_relay_is_exit_code_3(cli: Run) -> None:
    relay = f"ws://127.0.0.1:{dead_port()}"
    code, out, err = cli("generate", "--walletconnect", "--relay", relay, "--project-id", "p")
    assert (code, out) == (3, "")
    assert error_of(err).startswith(f"cannot reach the WalletConnect relay at {relay}; check")


def test_an_unreachable_rpc_wallet_is_exit_code_3(cli: Run) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    code, out, err = cli("generate", "--rpc-wallet", url)
    assert (code, out) == (3, "")
    assert error_of(err).startswith(f"cannot reach the wallet at {url} (--rpc-wallet); check")


@pytest.fixture
def stub_wallet() -> Iterator[StubWallet]:
    with threaded_stub_wallet() as wallet:
        yield wallet


def test_a_declined_signature_is_exit_code_4(
    cli: Run, stub_wallet: StubWallet, tmp_path: Path
) -> None:
    stub_wallet.answer = stub_wallet.decline
    code, out, err = cli("generate", "--rpc-wallet", stub_wallet.url)
    assert (code, out) == (4, "")
    assert error_of(err) == "the wallet declined to sign; nothing was changed"
    code, out, err = cli(
        "--data-dir", str(tmp_path), "--json", "login", "--rpc-wallet", stub_wallet.url
    )
    assert code == 4
    assert [line["event"] for line in json_lines(out)][-1] == "sign_request"


def test_a_signature_never_given_is_exit_code_4(
    cli: Run, stub_wallet: StubWallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person walks away from the wallet: the request times out, nothing is signed."""
    monkeypatch.setattr("app.keyengine.wallets.jsonrpc.SIGN_TIMEOUT", 0.5)
    stub_wallet.answer = stub_wallet.hold
    code, out, err = cli("generate", "--rpc-wallet", stub_wallet.url)
    assert (code, out) == (4, "")
    assert error_of(err) == (
        "the wallet did not answer the signature request in time; nothing was changed"
    )


def test_a_wrong_password_and_keys_that_do_not_open_are_exit_code_5(
    cli: Run, tmp_path: Path, key_file: Path
) -> None:
    from eth_account import Account

    keystore = tmp_path / "wallet.json"
    document = Account.encrypt(bytes.fromhex(WALLET_HEX), "right one", iterations=2**12)
    keystore.write_text(json.dumps(document))
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the right one\n")
    code, out, err = cli("generate", "--keyfile", str(keystore), "--password-file", str(wrong))
    assert (code, out) == (5, "")
    assert error_of(err).startswith(f"wrong password for keystore {keystore}")

    code, out, err = cli("generate", "--wallet-key-file", str(key_file), "--json")
    encrypted = tmp_path / "backup.b64"
    encrypted.write_text(json.loads(out)["encrypted_bundle"])
    other = tmp_path / "other.hex"
    other.write_text("6f" * 32)
    code, out, err = cli("decrypt-bundle", "--wallet-key-file", str(other), str(encrypted))
    assert (code, out) == (5, "")
    assert "cannot decrypt this bundle" in error_of(err)


def test_import_of_a_file_that_is_no_backup_is_exit_code_2_before_any_node(
    cli: Run, key_file: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello, not a backup\n")
    url = f"http://127.0.0.1:{dead_port()}"
    code, out, err = cli("--node", url, "import", "--wallet-key-file", str(key_file), str(junk))
    assert (code, out) == (2, "")
    message = error_of(err)
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
