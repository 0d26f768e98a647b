"""Pairing URIs (``wc:<topic>@2?…``, EIP-1328) and their terminal QR rendering.

The URI is the only secret a user ever moves by hand (scan or paste): it carries the pairing
symKey, so it is shown once, expires after five minutes, and a fresh pairing is made for every
connection (pairings are one-shot since 2.25).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlencode

from app.walletconnect.constants import PAIRING_TTL
from app.walletconnect.crypto import new_sym_key, topic_of
from app.walletconnect.errors import InvalidPairingUri

RELAY_PROTOCOL: Final = "irn"

_TOPIC_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_URI_RE: Final = re.compile(r"^wc:(?://)?(?P<topic>[^@?]+)@(?P<version>[0-9]+)\?(?P<query>.*)$")


@dataclass(frozen=True, slots=True)
class PairingUri:
    """One pairing: its symKey, the topic derived from it, and when it stops being valid."""

    sym_key: bytes
    expiry_timestamp: int
    relay_protocol: str = RELAY_PROTOCOL
    relay_data: str | None = None

    def __repr__(self) -> str:
        return f"PairingUri(topic={self.topic!r}, expiry_timestamp={self.expiry_timestamp})"

    @property
    def topic(self) -> str:
        return topic_of(self.sym_key)

    def to_uri(self) -> str:
        """``wc:<topic>@2?expiryTimestamp=…&relay-protocol=irn&symKey=…`` (keys sorted, as the
        SDK writes them; parsers do not care about the order)."""
        query = {
            "expiryTimestamp": str(self.expiry_timestamp),
            "relay-protocol": self.relay_protocol,
            "symKey": self.sym_key.hex(),
        }
        if self.relay_data is not None:
            query["relay-data"] = self.relay_data
        return f"wc:{self.topic}@2?{urlencode(sorted(query.items()))}"

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expiry_timestamp


def new_pairing(*, ttl: float = PAIRING_TTL, now: float | None = None) -> PairingUri:
    """A fresh pairing with a random symKey, valid ``ttl`` seconds from ``now``."""
    start = time.time() if now is None else now
    return PairingUri(sym_key=new_sym_key(), expiry_timestamp=math.ceil(start + ttl))


def parse_pairing_uri(text: str) -> PairingUri:
    """Parse a ``wc:`` (or ``wc://``) v2 pairing URI; ``InvalidPairingUri`` when malformed.

    The topic must be sha256 of the symKey: a URI whose topic does not match its key would make
    the two sides listen on different topics.
    """
    match = _URI_RE.match(text.strip())
    if match is None:
        raise InvalidPairingUri("not a wc: pairing URI")
    if match["version"] != "2":
        raise InvalidPairingUri(f"unsupported WalletConnect version {match['version']}")
    topic = match["topic"].lower()
    if not _TOPIC_RE.match(topic):
        raise InvalidPairingUri("pairing topic must be 64 hex characters")
    try:
        params = dict(parse_qsl(match["query"], keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise InvalidPairingUri("malformed query in pairing URI") from None
    sym_hex = params.get("symKey", "")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", sym_hex):
        raise InvalidPairingUri("symKey must be 64 hex characters")
    sym_key = bytes.fromhex(sym_hex)
    if topic_of(sym_key) != topic:
        raise InvalidPairingUri("pairing topic is not sha256(symKey)")
    protocol = params.get("relay-protocol", "")
    if not protocol:
        raise InvalidPairingUri("pairing URI has no relay-protocol")
    expiry = params.get("expiryTimestamp", "")
    if not expiry.isdigit():
        raise InvalidPairingUri("pairing URI has no numeric expiryTimestamp")
    return PairingUri(
        sym_key=sym_key,
        expiry_timestamp=int(expiry),
        relay_protocol=protocol,
        relay_data=params.get("relay-data"),
    )


# -- QR -------------------------------------------------------------------------------------


def qr_matrix(uri: str, *, border: int = 4) -> list[list[bool]]:
    """QR modules of ``uri`` (True = dark), with a ``border``-module quiet zone.

    Error correction "M" keeps the ~190-character URI near version 8-10, which scans from a
    screen; segno is imported here so importing the package stays cheap.
    """
    import segno

    code = segno.make_qr(uri, error="m", boost_error=False)
    return [[bool(module) for module in row] for row in code.matrix_iter(border=border)]


def qr_text(uri: str, *, border: int = 2, dark_terminal: bool = True) -> str:
    """``uri`` as a QR in Unicode half blocks (two module rows per text line).

    On a dark terminal the light modules are the ones drawn, so the code keeps its dark-on-light
    polarity on screen; pass ``dark_terminal=False`` for a light one.
    """
    matrix = qr_matrix(uri, border=border)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    glyphs = {
        (True, True): "█",
        (True, False): "▀",
        (False, True): "▄",
        (False, False): " ",
    }
    lines = []
    for top, bottom in zip(matrix[::2], matrix[1::2], strict=True):
        lines.append(
            "".join(
                glyphs[(t != dark_terminal, b != dark_terminal)]
                for t, b in zip(top, bottom, strict=True)
            )
        )
    return "\n".join(lines)
