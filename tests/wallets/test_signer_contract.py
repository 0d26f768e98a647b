"""The signer contract, written once and run against every signer the app offers.

Every ``WalletSigner`` must: report its account's EIP-55 address; sign the two XMTP texts so
that the signature recovers to that address; refuse any other text before anything leaves the
process; and, for wallets outside the process, surface a person's "no" as the engine's
``WalletRejected`` and a cancelled wait as ``asyncio.CancelledError``, staying usable after both.

The signers are the real ones: a raw key, a keystore file, a JSON-RPC wallet (the Hardhat node;
its rejection and silence come from a stub, since Hardhat signs whatever it is asked), and
WalletConnect (the official WalletKit through the loopback relay).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from eth_account import Account
from eth_utils.address import to_checksum_address

from app.keyengine.errors import UnsupportedText, WalletRejected
from app.keyengine.keys import Signature
from app.keyengine.texts import classify_text, create_identity_text, enable_identity_text
from app.keyengine.vault import MemoryStore
from app.keyengine.wallets import RawKeySigner, WalletSigner, request_signature
from app.keyengine.wallets.base import recover_personal_sign_address
from app.keyengine.wallets.jsonrpc import JsonRpcSigner
from app.keyengine.wallets.keystore import KeystoreSigner, create_keystore
from app.keyengine.wallets.walletconnect import WalletConnectSigner
from app.walletconnect.events import PairingUriReady
from tests.interop.walletkit_driver import WalletKitPeer, walletkit_available
from tests.support.ethereum_peers import HARDHAT_ACCOUNT_0
from tests.support.rpc_wallet_stub import StubWallet, running_stub
from tests.support.wc_relay import LoopbackRelay

RAW_KEY = bytes.fromhex("3c" * 32)
PASSWORD = "contract test password"
WALLET_KEY = "5d" * 32
XMTP_TEXTS = (
    create_identity_text(bytes.fromhex("04" + "ab" * 64)),
    enable_identity_text(bytes(range(32))),
)
OTHER_TEXTS = (
    "hello",
    "Sign in to example.com",
    XMTP_TEXTS[0] + " ",
    "0x" + XMTP_TEXTS[1].encode().hex(),
)


class Answer(enum.Enum):
    SIGN = "sign"
    REJECT = "reject"
    HOLD = "hold"
    """Never answer (the person walked away)."""


@dataclass
class SignerCase:
    """One signer under the contract, and how to make its wallet answer the next request."""

    signer: WalletSigner
    address: str
    answer_next: Callable[[Answer], Coroutine[Any, Any, None]]
    """Return once the wallet received the next request and answered it as told (immediately
    for in-process signers, which only sign)."""
    requests_seen: Callable[[], int]
    """How many signature requests reached the wallet so far."""


async def _no_answer_needed(answer: Answer) -> None:
    assert answer is Answer.SIGN, "an in-process key has nobody to decline or walk away"


async def _raw_key() -> SignerCase:
    signer = RawKeySigner(RAW_KEY)
    return SignerCase(signer, Account.from_key(RAW_KEY).address, _no_answer_needed, lambda: 0)


async def _keystore(tmp_path: Path) -> SignerCase:
    path = tmp_path / "wallet.json"
    await create_keystore(path, PASSWORD, iterations=1 << 10)
    signer = await KeystoreSigner.unlock(path, PASSWORD)
    # The account as eth-account (another implementation) reads it from the file.
    address = Account.from_key(Account.decrypt(path.read_text(), PASSWORD)).address
    return SignerCase(signer, address, _no_answer_needed, lambda: 0)


async def _hardhat(stack: AsyncExitStack, url: str) -> SignerCase:
    signer = await JsonRpcSigner.connect(url, HARDHAT_ACCOUNT_0)
    stack.push_async_callback(signer.aclose)
    return SignerCase(signer, HARDHAT_ACCOUNT_0, _no_answer_needed, lambda: 0)


async def _rpc_stub(stack: AsyncExitStack) -> SignerCase:
    stub: StubWallet = await stack.enter_async_context(running_stub())
    signer = await JsonRpcSigner.connect(stub.url)
    stack.push_async_callback(signer.aclose)
    behaviour = {
        Answer.SIGN: stub.sign_normally,
        Answer.REJECT: stub.decline,
        Answer.HOLD: stub.hold,
    }

    async def answer_next(answer: Answer) -> None:
        stub.answer = behaviour[answer]
        await stub.arrived.wait()
        stub.arrived.clear()

    return SignerCase(
        signer, stub.key.address, answer_next, lambda: stub.calls.count("personal_sign")
    )


async def _walletconnect(stack: AsyncExitStack) -> SignerCase:
    if not walletkit_available():
        pytest.fail("WalletKit peer not installed: run `make node-deps`")
    relay = await stack.enter_async_context(LoopbackRelay(ping_interval=20.0))
    wallet = await WalletKitPeer.start(
        relay.url, WALLET_KEY, auto_approve=True, disable_request_queue=True
    )
    stack.push_async_callback(wallet.close)
    uris: asyncio.Queue[str] = asyncio.Queue()

    def on_event(event: object) -> None:
        if isinstance(event, PairingUriReady):
            uris.put_nowait(event.uri)

    connecting = asyncio.create_task(
        WalletConnectSigner.resume_or_pair(MemoryStore(), relay.url, "contract", on_event=on_event)
    )
    await wallet.pair(await asyncio.wait_for(uris.get(), 20))
    signer = await asyncio.wait_for(connecting, 30)
    stack.push_async_callback(signer.aclose)

    async def answer_next(answer: Answer) -> None:
        request = await wallet.wait_for("request", timeout=30)
        if answer is Answer.SIGN:
            await wallet.sign(request["id"])
        elif answer is Answer.REJECT:
            await wallet.reject(request["id"])

    async def check_nothing_left() -> None:
        assert signer.client.pending_requests == 0
        assert wallet.network_blocked() == []

    stack.push_async_callback(check_nothing_left)
    return SignerCase(signer, wallet.address, answer_next, lambda: len(wallet.events("request")))


ALL_SIGNERS = ("raw key", "keystore", "json-rpc", "walletconnect")
REMOTE_SIGNERS = ("json-rpc (declining or silent)", "walletconnect")
"""Wallets outside the process, where a person can decline or not answer (Hardhat signs
whatever it is asked, so a stub plays that person for the JSON-RPC wallet)."""


async def _make(kind: str, stack: AsyncExitStack, request: pytest.FixtureRequest) -> SignerCase:
    if kind == "raw key":
        return await _raw_key()
    if kind == "keystore":
        return await _keystore(request.getfixturevalue("tmp_path"))
    if kind == "json-rpc":
        return await _hardhat(stack, request.getfixturevalue("hardhat_node"))
    if kind == "json-rpc (declining or silent)":
        return await _rpc_stub(stack)
    return await _walletconnect(stack)


@pytest_asyncio.fixture
async def case(request: pytest.FixtureRequest) -> AsyncIterator[SignerCase]:
    async with AsyncExitStack() as stack:
        yield await _make(request.param, stack, request)


async def _sign(case: SignerCase, text: str) -> bytes:
    """``request_signature`` (the engine's one path to a wallet) while the wallet signs."""
    answering = asyncio.create_task(case.answer_next(Answer.SIGN))
    try:
        signature = await asyncio.wait_for(request_signature(case.signer, classify_text(text)), 30)
        await asyncio.wait_for(answering, 30)
    finally:
        answering.cancel()
    return signature


# -- every signer -------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("case", ALL_SIGNERS, indirect=True)
async def test_address_is_the_accounts_eip55_address(case: SignerCase) -> None:
    assert case.signer.address == case.address
    assert case.address == to_checksum_address(case.address)


@pytest.mark.asyncio
@pytest.mark.parametrize("case", ALL_SIGNERS, indirect=True)
async def test_both_xmtp_texts_are_signed_by_the_account(case: SignerCase) -> None:
    for text in XMTP_TEXTS:
        signature = await _sign(case, text)
        assert len(signature) == 65 and signature[64] in (27, 28)
        recovered = recover_personal_sign_address(
            text, Signature.from_wallet_bytes(signature, by_wallet=False)
        )
        assert recovered == case.address


@pytest.mark.asyncio
@pytest.mark.parametrize("case", ALL_SIGNERS, indirect=True)
async def test_any_other_text_is_refused_before_it_reaches_the_wallet(case: SignerCase) -> None:
    before = case.requests_seen()
    for text in OTHER_TEXTS:
        with pytest.raises(UnsupportedText):
            await case.signer.sign_personal(text)
    assert case.requests_seen() == before


# -- wallets outside the process: a person may say no, or not answer --------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("case", REMOTE_SIGNERS, indirect=True)
async def test_a_declined_request_is_wallet_rejected_and_the_signer_stays_usable(
    case: SignerCase,
) -> None:
    declining = asyncio.create_task(case.answer_next(Answer.REJECT))
    with pytest.raises(WalletRejected):
        await asyncio.wait_for(case.signer.sign_personal(XMTP_TEXTS[0]), 30)
    await asyncio.wait_for(declining, 30)
    assert len(await _sign(case, XMTP_TEXTS[1])) == 65


@pytest.mark.asyncio
@pytest.mark.parametrize("case", REMOTE_SIGNERS, indirect=True)
async def test_a_cancelled_wait_is_cancelled_error_and_the_signer_stays_usable(
    case: SignerCase,
) -> None:
    signing = asyncio.create_task(case.signer.sign_personal(XMTP_TEXTS[0]))
    await asyncio.wait_for(case.answer_next(Answer.HOLD), 30)  # the request reached the wallet
    assert not signing.done()
    signing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await signing
    assert len(await _sign(case, XMTP_TEXTS[1])) == 65
