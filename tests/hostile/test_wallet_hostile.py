"""Wallets that misbehave: stale signatures are asked for once more, contract wallets refused.

A real node (embedded, loopback) and a JSON-RPC wallet over HTTP whose signatures go wrong on
purpose; ``xmtp-keys`` runs as a subprocess.  Nothing may be created or published from a
signature that does not recover to the account.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.keyengine.errors import SmartContractWallet
from app.keyengine.texts import create_identity_text
from app.xmtpnode.embedded import EmbeddedNode
from tests.support.cli import json_lines
from tests.support.hostile import lying_wallet, run_cli

WALLET_KEY = bytes.fromhex("5e" * 32)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[str]:
    with EmbeddedNode(db_path=tmp_path / "node.sqlite3") as running:
        assert running.url is not None
        yield running.url


def _login(node: str, wallet_url: str, data_dir: Path) -> tuple[int, list[dict[str, object]], str]:
    done = run_cli(
        "--node", node, "--data-dir", str(data_dir), "--json", "login", "--rpc-wallet", wallet_url
    )
    return done.code, json_lines(done.stdout), done.stderr


def _published(node: str, address: str, data_dir: Path) -> bool:
    done = run_cli("--node", node, "--data-dir", str(data_dir), "--json", "lookup", address)
    assert done.code in (0, 1), done.stderr  # 1: a negative verdict (no or invalid keys)
    return done.code == 0 and bool(json_lines(done.stdout)[-1]["valid"])


def test_a_stale_signature_once_is_asked_again_and_succeeds(node: str, tmp_path: Path) -> None:
    with lying_wallet(WALLET_KEY) as (wallet, url):
        wallet.stale = 1  # the Enable Identity request gets the Create Identity signature
        code, lines, err = _login(node, url, tmp_path / "a")
        assert code == 0, err
        assert lines[-1]["source"] == "generated"
        assert wallet.sign_requests == 3  # create, enable (stale), enable again
        prompts = [line["purpose"] for line in lines if line.get("event") == "sign_request"]
        assert prompts == ["create_identity", "enable_identity", "enable_identity"]
        assert _published(node, wallet.key.address, tmp_path / "a")

        # Retrieval on a fresh machine, the wallet answering first with an older signature.
        wallet.signed_elsewhere(create_identity_text(b"another identity key"))
        wallet.stale = 1
        code, lines, err = _login(node, url, tmp_path / "b")
        assert code == 0, err
        assert lines[-1]["source"] == "retrieved"
        assert wallet.sign_requests == 5


def test_a_stale_signature_twice_fails_cleanly_and_creates_nothing(
    node: str, tmp_path: Path
) -> None:
    with lying_wallet(WALLET_KEY) as (wallet, url):
        wallet.stale = 2
        code, _, err = _login(node, url, tmp_path / "a")
        assert code == 5  # WrongWallet: the signature is not this account's
        assert err.strip().splitlines()[-1].startswith("xmtp-keys: error: the wallet signature")
        assert "asked 2 times" in err and "Traceback" not in err
        assert wallet.sign_requests == 3  # asked once more, not again and again
        assert not _published(node, wallet.key.address, tmp_path / "a")


@pytest.mark.parametrize("length", [97, 66, 320])
def test_a_long_signature_is_a_smart_contract_wallet(
    node: str, tmp_path: Path, length: int
) -> None:
    with lying_wallet(WALLET_KEY) as (wallet, url):
        wallet.long_signature = length
        code, _, err = _login(node, url, tmp_path / "a")
        assert code == 2
        assert SmartContractWallet.EXPLANATION in err
        assert f"{length} bytes" in err
        assert err.count("\n") == 1
        assert not _published(node, wallet.key.address, tmp_path / "a")


def test_an_account_with_contract_code_is_refused_before_any_signature(
    node: str, tmp_path: Path
) -> None:
    with lying_wallet(WALLET_KEY) as (wallet, url):
        wallet.code = "0x6080604052"
        code, _, err = _login(node, url, tmp_path / "a")
        assert code == 2
        assert SmartContractWallet.EXPLANATION in err and "contract code" in err
        assert wallet.sign_requests == 0

        wallet.code = "0xef0100" + "11" * 20  # EIP-7702: an ordinary account delegating
        code, _, err = _login(node, url, tmp_path / "b")
        assert code == 0, err
