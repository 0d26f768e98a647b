"""Sign-protocol payloads and the validated session they produce (pure data, no I/O).

The wallet decides what a session contains; we only accept one we can use: an EVM account on a
chain we asked for, with ``personal_sign`` allowed.  ``validate_namespaces`` is the single place
that decision is made (for the settle and for later updates), so a session that would fail at
the first signature is refused at once with a message the user can act on.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eth_utils.address import to_checksum_address

from app.walletconnect.constants import (
    REQUEST_EXPIRY_MAX,
    REQUEST_EXPIRY_MIN,
    SESSION_TTL,
    SETTLE_EXPIRY_SLACK,
    USER_DISCONNECTED_CODE,
)
from app.walletconnect.errors import ContractSignature, ProtocolViolation, SessionRefused

SIGN_METHOD: Final = "personal_sign"
DEFAULT_CHAINS: Final = ("eip155:1",)
SESSION_EVENTS: Final = ("accountsChanged", "chainChanged")

_last_payload_id = 0


def payload_id() -> int:
    """A client-to-client JSON-RPC id: ms * 1000 + 3 random digits, unique in this process.

    Stays below 2^53 (the JS side turns larger numbers into BigInt and then mismatches ids).
    """
    global _last_payload_id
    candidate = int(time.time() * 1000) * 1000 + random.randrange(1000)  # noqa: S311
    _last_payload_id = max(candidate, _last_payload_id + 1)
    return _last_payload_id


@dataclass(frozen=True, slots=True)
class AppMetadata:
    """Name, description, URL and icons a peer shows for the other side."""

    name: str
    description: str = ""
    url: str = ""
    icons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "url": self.url,
            "icons": list(self.icons),
        }

    @classmethod
    def from_json(cls, value: object) -> AppMetadata:
        """Tolerant parse of a peer's metadata (wallets omit fields; we only display it)."""
        data = value if isinstance(value, dict) else {}
        icons = data.get("icons")
        return cls(
            name=_text(data.get("name"), "unnamed wallet"),
            description=_text(data.get("description")),
            url=_text(data.get("url")),
            icons=tuple(i[:2048] for i in icons if isinstance(i, str))[:8]
            if isinstance(icons, list)
            else (),
        )


def _text(value: object, default: str = "") -> str:
    return value[:200] if isinstance(value, str) else default


@dataclass(frozen=True, slots=True)
class Session:
    """A settled session: everything needed to sign after a restart (the symKey is secret)."""

    topic: str
    sym_key: bytes = field(repr=False)
    peer_public_key: str
    peer: AppMetadata
    namespaces: dict[str, Any] = field(repr=False)
    account: str
    """CAIP-10 ``eip155:<chain>:<address>`` we sign with."""
    expiry: int
    pairing_topic: str = ""

    @property
    def address(self) -> str:
        return to_checksum_address(self.account.rsplit(":", 1)[1])

    @property
    def chain_id(self) -> str:
        return self.account.rsplit(":", 1)[0]

    def expired(self, now: float) -> bool:
        return now >= self.expiry

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "symKey": self.sym_key.hex(),
            "peerPublicKey": self.peer_public_key,
            "peer": self.peer.to_json(),
            "namespaces": self.namespaces,
            "account": self.account,
            "expiry": self.expiry,
            "pairingTopic": self.pairing_topic,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        """Parse a stored session; ``ValueError``/``KeyError``/``TypeError`` when damaged."""
        sym_key = bytes.fromhex(str(data["symKey"]))
        if len(sym_key) != 32:
            raise ValueError("stored symKey must be 32 bytes")
        account = str(data["account"])
        parse_caip10(account)
        namespaces = data["namespaces"]
        if not isinstance(namespaces, dict):
            raise TypeError("stored namespaces must be an object")
        return cls(
            topic=str(data["topic"]),
            sym_key=sym_key,
            peer_public_key=str(data["peerPublicKey"]),
            peer=AppMetadata.from_json(data.get("peer")),
            namespaces=namespaces,
            account=account,
            expiry=int(data["expiry"]),
            pairing_topic=str(data.get("pairingTopic", "")),
        )


# -- CAIP-10 ---------------------------------------------------------------------------------

_CAIP10_RE: Final = re.compile(r"^(eip155):([0-9]{1,32}):(0x[0-9a-fA-F]{40})$")


def parse_caip10(account: str) -> tuple[str, str]:
    """``(chain_id, EIP-55 address)`` of an ``eip155:<n>:0x…`` account; ``ValueError`` else.

    Wallets vary the address case, so it is compared case-insensitively and displayed EIP-55.
    """
    match = _CAIP10_RE.match(account)
    if match is None:
        raise ValueError(f"not an eip155 CAIP-10 account: {account!r:.100}")
    return f"{match[1]}:{match[2]}", to_checksum_address(match[3])


# -- proposal -------------------------------------------------------------------------------


def build_proposal(
    *,
    proposal_id: int,
    public_key: str,
    metadata: AppMetadata,
    chains: Sequence[str],
    pairing_topic: str,
    expiry_timestamp: int,
) -> dict[str, Any]:
    """``wc_sessionPropose`` as the 2.25 SDK sends it: everything in ``optionalNamespaces``.

    ``requiredNamespaces`` is deprecated (sent empty): the session is checked on settle instead.
    """
    return {
        "id": proposal_id,
        "jsonrpc": "2.0",
        "method": "wc_sessionPropose",
        "params": {
            "requiredNamespaces": {},
            "optionalNamespaces": {
                "eip155": {
                    "chains": list(chains),
                    "methods": [SIGN_METHOD],
                    "events": list(SESSION_EVENTS),
                }
            },
            "relays": [{"protocol": "irn"}],
            "proposer": {"publicKey": public_key, "metadata": metadata.to_json()},
            "expiryTimestamp": expiry_timestamp,
            "pairingTopic": pairing_topic,
        },
    }


# -- settle ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettleTerms:
    """What a valid ``wc_sessionSettle`` grants us."""

    account: str
    namespaces: dict[str, Any]
    peer_public_key: str
    peer: AppMetadata
    expiry: int


def validate_namespaces(
    namespaces: object, chains: Sequence[str], *, prefer: str | None = None
) -> str:
    """The CAIP-10 account to use from the wallet's namespaces; ``SessionRefused`` if none fits.

    An account fits when its chain is one we asked for and the namespace that lists it allows
    ``personal_sign``.  Namespaces may be keyed ``eip155`` or by chain (``eip155:1``); a missing
    ``chains`` list is derived from the accounts.  ``prefer`` keeps the current account on an
    update when it is still granted.
    """
    if not isinstance(namespaces, dict) or not namespaces:
        raise SessionRefused("the wallet approved no namespaces")
    wanted = set(chains)
    usable: list[str] = []
    seen_accounts = False
    methods_ok = False
    for key, namespace in namespaces.items():
        if (
            not isinstance(key, str)
            or not key.startswith("eip155")
            or not isinstance(namespace, dict)
        ):
            continue
        accounts = namespace.get("accounts")
        methods = namespace.get("methods")
        if not isinstance(accounts, list):
            continue
        has_sign = isinstance(methods, list) and SIGN_METHOD in methods
        methods_ok = methods_ok or has_sign
        for account in accounts:
            if not isinstance(account, str):
                continue
            try:
                chain, _ = parse_caip10(account)
            except ValueError:
                continue
            seen_accounts = True
            if chain in wanted and has_sign:
                usable.append(account)
    if not seen_accounts:
        raise SessionRefused("the wallet shared no Ethereum account")
    if not methods_ok:
        raise SessionRefused("the wallet does not allow personal_sign")
    if not usable:
        raise SessionRefused(
            f"the wallet shared no account on {', '.join(sorted(wanted))} with personal_sign"
        )
    if prefer is not None:
        preferred = prefer.lower()
        for account in usable:
            if account.lower() == preferred:
                return account
    return usable[0]


def validate_settle(
    params: object,
    *,
    responder_public_key: str,
    chains: Sequence[str],
    now: float,
) -> SettleTerms:
    """Check a ``wc_sessionSettle``'s params; ``SessionRefused`` if we cannot use the session.

    The controller key must be the one the wallet answered the proposal with (else someone
    other than the approving wallet is settling), the relay must be ``irn`` and the expiry in
    the future (and not beyond seven days: longer is clamped).
    """
    if not isinstance(params, dict):
        raise SessionRefused("the settle request has no parameters")
    relay = params.get("relay")
    if not isinstance(relay, dict) or relay.get("protocol") != "irn":
        raise SessionRefused("the wallet settled on an unsupported relay protocol")
    controller = params.get("controller")
    if not isinstance(controller, dict):
        raise SessionRefused("the settle request names no controller")
    if str(controller.get("publicKey", "")).lower() != responder_public_key.lower():
        raise SessionRefused("the settle request comes from another key than the approval")
    expiry = params.get("expiry")
    if not isinstance(expiry, int) or isinstance(expiry, bool) or expiry <= now:
        raise SessionRefused("the wallet settled an already expired session")
    namespaces = params.get("namespaces")
    if not isinstance(namespaces, dict):
        raise SessionRefused("the wallet approved no namespaces")
    account = validate_namespaces(namespaces, chains)
    return SettleTerms(
        account=account,
        namespaces=namespaces,
        peer_public_key=responder_public_key.lower(),
        peer=AppMetadata.from_json(controller.get("metadata")),
        expiry=min(expiry, int(now) + SESSION_TTL + SETTLE_EXPIRY_SLACK),
    )


# -- requests -------------------------------------------------------------------------------


def personal_sign_params(text: str, address: str) -> list[str]:
    """``[0x + hex(UTF-8 text), address]``: hex so no wallet mistakes hex-looking text for bytes,
    message first (geth/MetaMask order)."""
    return ["0x" + text.encode("utf-8").hex(), address]


def request_expiry(now: float, ttl: float) -> int:
    """``expiryTimestamp`` for a request, clamped into the window wallets accept."""
    return int(min(max(now + ttl, now + REQUEST_EXPIRY_MIN), now + REQUEST_EXPIRY_MAX))


def session_request(
    request_id: int, method: str, params: list[Any], chain_id: str, expiry_timestamp: int
) -> dict[str, Any]:
    return {
        "id": request_id,
        "jsonrpc": "2.0",
        "method": "wc_sessionRequest",
        "params": {
            "request": {"method": method, "params": params, "expiryTimestamp": expiry_timestamp},
            "chainId": chain_id,
        },
    }


def session_delete(message: str, *, code: int = USER_DISCONNECTED_CODE) -> dict[str, Any]:
    """``wc_sessionDelete``: the one payload that ends a session from our side."""
    return {
        "id": payload_id(),
        "jsonrpc": "2.0",
        "method": "wc_sessionDelete",
        "params": {"code": code, "message": message[:200]},
    }


def session_ping() -> dict[str, Any]:
    """``wc_sessionPing`` (no parameters)."""
    return {"id": payload_id(), "jsonrpc": "2.0", "method": "wc_sessionPing", "params": {}}


def response(
    request: Mapping[str, Any], *, result: Any = None, error: tuple[int, str] | None = None
) -> dict[str, Any]:
    """The JSON-RPC answer to a peer's ``request``: ``result``, or ``error`` as (code, text)."""
    answer: dict[str, Any] = {"id": request.get("id"), "jsonrpc": "2.0"}
    if error is not None:
        answer["error"] = {"code": error[0], "message": error[1][:200]}
    else:
        answer["result"] = result
    return answer


def error_of(payload: Mapping[str, Any]) -> tuple[int | None, str]:
    """``(code, message)`` of a peer's error answer, tolerant of malformed ones."""
    error = payload.get("error")
    if not isinstance(error, dict):
        return None, "unknown error"
    code = error.get("code")
    message = error.get("message")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        str(message)[:200] if message is not None else "no reason given",
    )


def parse_signature_result(result: object) -> bytes:
    """65 bytes from a ``personal_sign`` result (``0x`` + 130 hex); ``ProtocolViolation`` else.

    A longer hex signature is a smart-contract wallet's (EIP-1271 / ERC-6492 wrapper):
    ``ContractSignature``.
    """
    if isinstance(result, str) and re.fullmatch(r"0x(?:[0-9a-fA-F]{2}){66,}", result):
        raise ContractSignature(len(result) // 2 - 1)
    if not isinstance(result, str) or not re.fullmatch(r"0x[0-9a-fA-F]{130}", result):
        raise ProtocolViolation("the wallet's answer is not a 65-byte hex signature")
    return bytes.fromhex(result[2:])
