"""``JsonRpcSigner`` against a real Hardhat development node, and error mapping on a stub wallet."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from app.cli.main import main
from app.keyengine.errors import KeyEngineError, UnsupportedText
from app.keyengine.keys import Signature
from app.keyengine.texts import SignatureRequest
from app.keyengine.wallets import RawKeySigner, request_signature
from app.keyengine.wallets.base import recover_personal_sign_address
from app.keyengine.wallets.jsonrpc import (
    AccountNotAvailable,
    JsonRpcSigner,
    RpcWalletError,
    RpcWalletUnreachable,
    SignatureRejected,
)
from tests.support.ethereum_peers import HARDHAT_ACCOUNT_0, HARDHAT_ACCOUNT_1
from tests.support.ports import free_port
from tests.support.rpc_wallet_stub import Answer, StubWallet, running_stub

REPO = Path(__file__).resolve().parent.parent.parent


def _request() -> SignatureRequest:
    return SignatureRequest.enable_identity(bytes(range(32)))


# --- a real development node ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_connect_picks_the_first_account_and_signs(hardhat_node: str) -> None:
    async with await JsonRpcSigner.connect(hardhat_node) as signer:
        assert signer.address == HARDHAT_ACCOUNT_0
        assert repr(signer) == f"JsonRpcSigner(address={HARDHAT_ACCOUNT_0}, url={hardhat_node!r})"
        request = _request()
        raw = await signer.sign_personal(request.text)
        assert len(raw) == 65 and raw[64] in (27, 28)
        signature = Signature.from_wallet_bytes(raw, by_wallet=False)
        assert recover_personal_sign_address(request.text, signature) == HARDHAT_ACCOUNT_0
        assert await request_signature(signer, request) == raw  # RFC 6979: deterministic


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "account", [HARDHAT_ACCOUNT_1, HARDHAT_ACCOUNT_1.lower()], ids=["EIP-55", "lower case"]
)
async def test_connect_with_a_chosen_account(hardhat_node: str, account: str) -> None:
    async with await JsonRpcSigner.connect(hardhat_node, account) as signer:
        assert signer.address == HARDHAT_ACCOUNT_1
        request = SignatureRequest.create_identity(b"\x04" + bytes(64))
        await request_signature(signer, request)


@pytest.mark.asyncio
async def test_account_not_offered_by_the_wallet(hardhat_node: str) -> None:
    stranger = RawKeySigner(bytes.fromhex("33" * 32)).address
    with pytest.raises(AccountNotAvailable, match="not among the 20 account"):
        await JsonRpcSigner.connect(hardhat_node, stranger)
    bad_checksum = HARDHAT_ACCOUNT_1.replace("C51812dc", "c51812dc")
    with pytest.raises(AccountNotAvailable, match="checksum"):
        await JsonRpcSigner.connect(hardhat_node, bad_checksum)
    with pytest.raises(AccountNotAvailable, match="not an Ethereum address"):
        await JsonRpcSigner.connect(hardhat_node, "0x1234")


@pytest.mark.asyncio
async def test_non_xmtp_texts_are_refused(hardhat_node: str) -> None:
    async with await JsonRpcSigner.connect(hardhat_node) as signer:
        for text in ("hello", "Sign in with Ethereum", _request().text + "\n"):
            with pytest.raises(UnsupportedText):
                await signer.sign_personal(text)


@pytest.mark.asyncio
async def test_nothing_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RpcWalletUnreachable, match="cannot reach the wallet"):
        await JsonRpcSigner.connect(url)
    for bad in ("ftp://127.0.0.1/", "127.0.0.1:8545", "http://"):
        with pytest.raises(RpcWalletError, match="not an HTTP"):
            await JsonRpcSigner.connect(bad)


# --- error mapping, on a stub EIP-1193 wallet -------------------------------------------------


@pytest_asyncio.fixture
async def stub() -> AsyncIterator[StubWallet]:
    async with running_stub() as wallet:
        yield wallet


def _on_sign(answer: Any) -> Answer:
    def respond(method: str, params: list[Any]) -> Any:
        if method == "eth_accounts":
            return {"result": [RawKeySigner(bytes.fromhex("44" * 32)).address]}
        if method == "eth_getCode":
            return {"result": "0x"}
        return answer(params) if callable(answer) else answer

    return respond


@pytest.mark.asyncio
async def test_stub_signs_and_refusal_happens_before_any_request(stub: StubWallet) -> None:
    async with await JsonRpcSigner.connect(stub.url) as signer:
        assert signer.address == stub.key.address
        await request_signature(signer, _request())
        with pytest.raises(UnsupportedText):
            await signer.sign_personal("transfer all funds")
    assert stub.calls == ["eth_accounts", "eth_getCode", "personal_sign"]


@pytest.mark.asyncio
async def test_recovery_byte_0_1_is_normalised(stub: StubWallet) -> None:
    def low_v(params: list[Any]) -> Any:
        text = bytes.fromhex(params[0][2:]).decode("utf-8")
        raw = stub.key.sign_personal_sync(text)
        assert params[1] == stub.key.address
        return {"result": "0x" + (raw[:64] + bytes([raw[64] - 27])).hex()}

    stub.answer = _on_sign(low_v)
    async with await JsonRpcSigner.connect(stub.url) as signer:
        raw = await signer.sign_personal(_request().text)
    assert raw == stub.key.sign_personal_sync(_request().text)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("answer", "error", "match"),
    [
        ({"error": {"code": 4001, "message": "User rejected"}}, SignatureRejected, "declined"),
        ({"error": {"code": 5000, "message": "User rejected."}}, SignatureRejected, "declined"),
        ({"error": {"code": 4100, "message": "Unauthorized"}}, RpcWalletError, "authorised"),
        ({"error": {"code": -32601, "message": "nope"}}, RpcWalletError, "does not support"),
        ({"error": {"code": -32000, "message": "boom"}}, RpcWalletError, "refused"),
        ({"result": "0x1234"}, RpcWalletError, "not a signature"),
        ({"result": None}, RpcWalletError, "not a signature"),
        ({"result": "0x" + "11" * 64 + "05"}, RpcWalletError, "recovery byte"),
        ({"id_only": True}, RpcWalletError, "neither result nor error"),
        (web.Response(status=500, text="oops"), RpcWalletError, "HTTP 500"),
        (web.Response(status=200, text="<html>"), RpcWalletError, "JSON-RPC"),
    ],
    ids=[
        "4001",
        "5000",
        "4100",
        "method not found",
        "other error",
        "short",
        "null",
        "bad v",
        "no result",
        "http 500",
        "not json",
    ],
)
async def test_sign_errors_are_typed(
    stub: StubWallet, answer: Any, error: type[RpcWalletError], match: str
) -> None:
    stub.answer = _on_sign(answer)
    async with await JsonRpcSigner.connect(stub.url) as signer:
        with pytest.raises(error, match=match) as caught:
            await signer.sign_personal(_request().text)
    assert isinstance(caught.value, KeyEngineError)
    assert stub.calls.count("personal_sign") == 1  # never retried: one prompt per request


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"result": []}, AccountNotAvailable),
        ({"result": "0xabc"}, RpcWalletError),
        ({"result": ["not an address"]}, RpcWalletError),
        ({"error": {"code": 4100, "message": "locked"}}, RpcWalletError),
    ],
    ids=["no accounts", "not a list", "not addresses", "unauthorised"],
)
async def test_connect_errors_are_typed(
    stub: StubWallet, answer: Any, error: type[RpcWalletError]
) -> None:
    stub.answer = lambda method, params: answer
    with pytest.raises(error):
        await JsonRpcSigner.connect(stub.url)


@pytest.mark.asyncio
async def test_url_credentials_never_appear_in_messages(stub: StubWallet) -> None:
    url = stub.url.replace("http://", "http://user:hunter2@") + "?token=hunter3"
    async with await JsonRpcSigner.connect(url) as signer:
        assert "hunter" not in repr(signer) and signer.url == stub.url
        stub.answer = _on_sign({"error": {"code": 4001, "message": "User rejected"}})
        with pytest.raises(SignatureRejected) as caught:
            await signer.sign_personal(_request().text)
    assert "hunter" not in str(caught.value)


# --- web3 stays out of start-up ---------------------------------------------------------------


def test_web3_is_imported_only_when_a_wallet_connects() -> None:
    code = (
        "import sys, app.keyengine, app.keyengine.wallets, app.keyengine.wallets.jsonrpc, "
        "app.keyengine.wallets.keystore, app.cli.main; print('web3' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "False"


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_login_with_an_rpc_wallet(
    hardhat_node: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data-dir", str(tmp_path / "data"), "--json", "login", "--rpc-wallet", hardhat_node]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["purpose"] for line in lines if line.get("event") == "sign_request"] == [
        "create_identity",
        "enable_identity",
    ]
    result = lines[-1]
    assert result["wallet_address"] == HARDHAT_ACCOUNT_0
    assert result["source"] == "generated"
    assert [s["purpose"] for s in result["signed_texts"]] == ["create_identity", "enable_identity"]

    code = main([*argv, "--account", HARDHAT_ACCOUNT_1])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["wallet_address"] == HARDHAT_ACCOUNT_1


def test_cli_rpc_wallet_errors_are_one_line(
    hardhat_node: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = RawKeySigner(bytes.fromhex("33" * 32)).address
    common = ["--data-dir", str(tmp_path / "data"), "generate"]
    for extra, expected, expected_code in (
        (["--rpc-wallet", hardhat_node, "--account", stranger], "not among the 20", 2),
        (["--rpc-wallet", f"http://127.0.0.1:{free_port()}"], "cannot reach the wallet", 3),
    ):
        code = main([*common, *extra])
        out, err = capsys.readouterr()
        assert (code, out) == (expected_code, "")
        assert err.startswith("xmtp-keys: error: ") and err.count("\n") == 1
        assert expected in err
