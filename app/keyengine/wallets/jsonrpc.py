"""A signer that asks an EIP-1193-style JSON-RPC endpoint over HTTP to ``personal_sign``.

Any wallet or node answering ``eth_accounts`` and ``personal_sign`` works: a desktop wallet
listening on localhost, or a development node with unlocked accounts.  Requests go through
web3.py's ``AsyncHTTPProvider``; web3 is imported only when a signer connects (importing it
takes about a second, which the engine must not pay at start-up).

The signer refuses any text that is not one of the XMTP texts before contacting the wallet.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from app.keyengine.crypto.ethereum import is_checksum_address, to_checksum_address
from app.keyengine.errors import KeyEngineError, SmartContractWallet, WalletRejected
from app.keyengine.texts import classify_text

if TYPE_CHECKING:
    from web3 import AsyncWeb3

CONNECT_TIMEOUT: Final = 10.0
"""Seconds ``eth_accounts`` may take: the wallet answers it without asking anyone."""

SIGN_TIMEOUT: Final = 300.0
"""Seconds ``personal_sign`` may take: a person may have to read and approve the request."""

USER_REJECTED_CODES: Final = frozenset({4001, 5000})
"""EIP-1193 4001 "User Rejected Request", and 5000 (WalletConnect's "User rejected")."""

_ADDRESS_RE: Final = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIGNATURE_RE: Final = re.compile(r"^0x[0-9a-fA-F]{130}$")
_LONG_SIGNATURE_RE: Final = re.compile(r"^0x(?:[0-9a-fA-F]{2}){66,}$")
_DELEGATION_PREFIX: Final = "0xef0100"
"""EIP-7702: an ordinary account delegating to code; it still signs with its own key."""


class RpcWalletError(KeyEngineError):
    """The JSON-RPC wallet answered with an error, or with something that is not an answer."""


class RpcWalletUnreachable(RpcWalletError):
    """Nothing answers at the wallet's URL (connection refused, DNS failure, timeout)."""


class SignatureRejected(RpcWalletError, WalletRejected):
    """The wallet (or the person using it) declined to sign."""


class SignatureTimedOut(RpcWalletError):
    """The wallet gave no signature in time (the person did not answer): nothing was signed."""


class AccountNotAvailable(RpcWalletError):
    """The requested account is not among the wallet's ``eth_accounts`` (or it has none)."""


def _check_url(url: str) -> str:
    """``url`` as it may be shown (any ``user:password@`` dropped), or ``RpcWalletError``."""
    problem = RpcWalletError("not an HTTP(S) JSON-RPC URL (expected http://host:port/…)")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise problem
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _check_account(account: str) -> str:
    if not _ADDRESS_RE.match(account):
        raise AccountNotAvailable(f"not an Ethereum address: {account!r:.60}")
    lower = account[2:]
    if lower != lower.lower() and lower != lower.upper() and not is_checksum_address(account):
        raise AccountNotAvailable(f"{account} has a wrong EIP-55 checksum (a mistyped address?)")
    return to_checksum_address(account)


def _signature_bytes(result: object) -> bytes:
    """65 bytes ``r || s || v`` with v 27/28, from the hex string the wallet answered."""
    if isinstance(result, str) and _LONG_SIGNATURE_RE.match(result):
        raise SmartContractWallet(f"its signature has {len(result) // 2 - 1} bytes, not 65")
    if not isinstance(result, str) or not _SIGNATURE_RE.match(result):
        raise RpcWalletError("the wallet answered personal_sign with something not a signature")
    raw = bytes.fromhex(result[2:])
    v = raw[64]
    if v in (0, 1):
        v += 27
    if v not in (27, 28):
        raise RpcWalletError(f"the wallet's signature has an invalid recovery byte ({v})")
    return raw[:64] + bytes([v])


def _new_web3(url: str) -> AsyncWeb3[Any]:
    import aiohttp
    from web3 import AsyncHTTPProvider, AsyncWeb3

    provider = AsyncHTTPProvider(
        url,
        request_kwargs={"timeout": aiohttp.ClientTimeout(total=SIGN_TIMEOUT + 5)},
        # A signature request must never be sent twice: the user would be asked twice.
        exception_retry_configuration=None,
    )
    return AsyncWeb3(provider)


class JsonRpcSigner:
    """Signs XMTP texts by sending ``personal_sign`` to a JSON-RPC wallet over HTTP.

    Use ``await JsonRpcSigner.connect(url)``; ``await signer.aclose()`` (or ``async with``)
    releases its HTTP session.
    """

    __slots__ = ("_address", "_url", "_web3")

    def __init__(self, web3: AsyncWeb3[Any], url: str, address: str) -> None:
        self._web3 = web3
        self._url = url
        self._address = address

    @classmethod
    async def connect(cls, url: str, account: str | None = None) -> JsonRpcSigner:
        """Ask the wallet at ``url`` for its accounts and pick ``account`` (default: the first).

        Raises ``RpcWalletUnreachable`` when nothing answers, ``AccountNotAvailable`` when the
        account is not one of the wallet's, ``RpcWalletError`` for any other failure.
        """
        shown = _check_url(url)
        wanted = None if account is None else _check_account(account)
        signer = cls(_new_web3(url), shown, "")
        try:
            accounts = await signer._call("eth_accounts", [], CONNECT_TIMEOUT)
            if not isinstance(accounts, list) or not all(
                isinstance(item, str) and _ADDRESS_RE.match(item) for item in accounts
            ):
                raise RpcWalletError(f"the wallet at {shown} answered eth_accounts with a non-list")
            available = [to_checksum_address(item) for item in accounts]
            if wanted is None:
                if not available:
                    raise AccountNotAvailable(
                        f"the wallet at {shown} offers no account (is it locked, or not yet "
                        "connected to this app?)"
                    )
                signer._address = available[0]
            elif wanted in available:
                signer._address = wanted
            else:
                raise AccountNotAvailable(
                    f"account {wanted} is not among the {len(available)} account(s) the wallet "
                    f"at {shown} offers"
                )
            await signer._refuse_contract_account()
        except BaseException:
            await signer.aclose()
            raise
        return signer

    @property
    def address(self) -> str:
        return self._address

    @property
    def url(self) -> str:
        """The wallet's URL without credentials or query (as shown in messages)."""
        return self._url

    def __repr__(self) -> str:
        return f"JsonRpcSigner(address={self._address}, url={self._url!r})"

    async def __aenter__(self) -> JsonRpcSigner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (the signer cannot be used afterwards)."""
        await self._web3.provider.disconnect()

    async def sign_personal(self, text: str) -> bytes:
        classify_text(text)
        data = "0x" + text.encode("utf-8").hex()
        result = await self._call("personal_sign", [data, self._address], SIGN_TIMEOUT)
        return _signature_bytes(result)

    async def _refuse_contract_account(self) -> None:
        """``SmartContractWallet`` if the account has contract code (``eth_getCode``).

        A wallet that cannot answer (no chain behind it, method not supported) is given the
        benefit of the doubt: a contract wallet's long signature is refused anyway.
        """
        try:
            code = await self._call("eth_getCode", [self._address, "latest"], CONNECT_TIMEOUT)
        except RpcWalletUnreachable:
            raise
        except RpcWalletError:
            return
        if not isinstance(code, str) or code.lower().startswith(_DELEGATION_PREFIX):
            return
        if code.lower().removeprefix("0x").strip("0"):
            raise SmartContractWallet(f"{self._address} has contract code on chain")

    async def _call(self, method: str, params: list[Any], timeout: float) -> object:
        """The ``result`` of one JSON-RPC request, or a typed error."""
        import aiohttp
        from web3.types import RPCEndpoint

        where = f"the wallet at {self._url}"
        try:
            async with asyncio.timeout(timeout):
                response: object = await self._web3.provider.make_request(
                    RPCEndpoint(method), params
                )
        except TimeoutError:
            if method == "personal_sign":
                late = f"{where} gave no signature within {timeout:.0f} s"
                raise SignatureTimedOut(late) from None
            raise RpcWalletUnreachable(f"{where} did not answer within {timeout:.0f} s") from None
        except aiohttp.ClientResponseError as exc:
            raise RpcWalletError(f"{where} answered HTTP {exc.status} to {method}") from None
        except (aiohttp.ClientConnectionError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise RpcWalletUnreachable(f"cannot reach {where}: {reason}") from None
        except (aiohttp.ClientError, ValueError, TypeError):
            raise RpcWalletError(f"{where} did not answer {method} with JSON-RPC") from None
        if not isinstance(response, dict):
            raise RpcWalletError(f"{where} did not answer {method} with a JSON-RPC object")
        error = response.get("error")
        if error is not None:
            raise _rpc_error(method, where, error)
        if "result" not in response:
            raise RpcWalletError(f"{where} answered {method} with neither result nor error")
        return response["result"]


def _rpc_error(method: str, where: str, error: object) -> RpcWalletError:
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    detail = " ".join(str(message).split())[:200] if message is not None else "no message"
    if code in USER_REJECTED_CODES:
        return SignatureRejected(f"{where} declined to sign: {detail} (code {code})")
    if code == 4100:
        return RpcWalletError(f"{where} has not authorised this app to use the account: {detail}")
    if code in (-32601, 4200):
        return RpcWalletError(f"{where} does not support {method}: {detail}")
    return RpcWalletError(f"{where} refused {method}: {detail} (code {code})")
