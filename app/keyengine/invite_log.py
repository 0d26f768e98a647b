"""What this machine has already read of an identity's invite topic, so the next run reads only
what is new.

Anyone may write to a user's invite topic, so it can hold any amount of junk.  ``InviteLog``
remembers, per account and identity, the timestamp up to which every envelope has been read
(and the digests of those read at exactly that timestamp) plus the invitations that opened.
It holds nothing secret (public keys, addresses, conversation topics; no key material) and
lives in ``<data dir>/invites/<address>.json``, written atomically, owner-only.  A damaged or
foreign file is ignored and the topic read again from the start: nothing is lost.

The cursor never moves past the present (plus ``FUTURE_SKEW_NS``): an envelope stamped far in
the future would otherwise hide every real invitation sent before that date.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from app.keyengine import json_input
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.errors import KeyEngineError
from app.keyengine.files import read_regular_file, write_private_file
from app.keyengine.invitations import SealedInvitation, open_invitation
from app.keyengine.network import ASCENDING, QuerySpec, XmtpClient
from app.keyengine.node_answers import Envelope
from app.keyengine.topics import invite_topic

log = logging.getLogger(__name__)

MAX_INVITATION_BYTES: Final = 64 * 1024
"""Largest envelope read as an invitation; real ones are under 2 KiB.  Larger ones are skipped
without being decoded or parsed."""

FUTURE_SKEW_NS: Final = 60 * 10**9
"""How far ahead of our clock an envelope may be and still move the cursor."""

MAX_LOG_BYTES: Final = 16 * 1024 * 1024
_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class ReceivedInvite:
    """An invitation that opened: who from, its conversation topic and which pre-key opened it."""

    peer_address: str
    topic: str
    pre_key: bytes
    created_ns: int
    conversation_id: str
    sent_by_us: bool

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pre_key"] = base64.b64encode(self.pre_key).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReceivedInvite:
        return cls(
            str(data["peer_address"]),
            str(data["topic"]),
            base64.b64decode(data["pre_key"], validate=True),
            int(data["created_ns"]),
            str(data["conversation_id"]),
            bool(data["sent_by_us"]),
        )


def envelope_digest(timestamp_ns: int, message: bytes) -> str:
    return hashlib.sha256(timestamp_ns.to_bytes(8, "big") + message).hexdigest()


@dataclass
class InviteLog:
    """How far one identity's invite topic has been read, and what opened."""

    wallet: str
    identity_key: str
    read_until_ns: int = 0
    read_at_edge: set[str] = field(default_factory=set)
    invites: list[ReceivedInvite] = field(default_factory=list)

    def is_new(self, timestamp_ns: int, message: bytes) -> bool:
        if timestamp_ns < self.read_until_ns:
            return False
        return not (
            timestamp_ns == self.read_until_ns
            and envelope_digest(timestamp_ns, message) in self.read_at_edge
        )

    def mark_read(self, timestamp_ns: int, message: bytes, now_ns: int) -> None:
        """Move the cursor past this envelope (read in ascending order), unless it is future."""
        if timestamp_ns > now_ns + FUTURE_SKEW_NS or timestamp_ns < self.read_until_ns:
            return
        if timestamp_ns > self.read_until_ns:
            self.read_until_ns = timestamp_ns
            self.read_at_edge = set()
        self.read_at_edge.add(envelope_digest(timestamp_ns, message))

    def remember(self, invite: ReceivedInvite) -> None:
        if invite not in self.invites:
            self.invites.append(invite)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "version": _VERSION,
                "wallet": self.wallet,
                "identity_key": self.identity_key,
                "read_until_ns": self.read_until_ns,
                "read_at_edge": sorted(self.read_at_edge),
                "invites": [invite.to_json() for invite in self.invites],
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> InviteLog:
        data = json_input.loads(raw)
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise ValueError("unknown invite log format")
        return cls(
            wallet=str(data["wallet"]),
            identity_key=str(data["identity_key"]),
            read_until_ns=int(data["read_until_ns"]),
            read_at_edge={str(d) for d in data["read_at_edge"]},
            invites=[ReceivedInvite.from_json(item) for item in data["invites"]],
        )


class InviteLogStore:
    """``InviteLog``s in ``<data dir>/invites/``, one file per account."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "invites"

    def _path(self, wallet: str) -> Path:
        return self.directory / f"{wallet}.json"

    def load(self, bundle: PrivateKeyBundleV1) -> InviteLog:
        """The log of ``bundle``'s identity, or a fresh one (nothing read yet)."""
        wallet = bundle.wallet_address
        identity_key = bundle.identity_key.public_key.point.hex()
        fresh = InviteLog(wallet, identity_key)
        path = self._path(wallet)
        try:
            raw = read_regular_file(path, MAX_LOG_BYTES)
            if len(raw) > MAX_LOG_BYTES:
                raise ValueError("too large")
            stored = InviteLog.from_json(raw)
        except FileNotFoundError:
            return fresh
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            log.warning("ignoring the damaged invite log %s: %s", path, type(exc).__name__)
            return fresh
        if (stored.wallet, stored.identity_key) != (wallet, identity_key):
            return fresh  # another identity of this wallet: its invitations are not ours
        return stored

    def save(self, invite_log: InviteLog) -> str | None:
        """Write the log; a warning for the user if that failed (the next run reads again)."""
        try:
            write_private_file(self._path(invite_log.wallet), invite_log.to_json())
        except OSError as exc:
            return (
                f"cannot remember which invitations were read ({exc.strerror or exc}); "
                "the next run reads them again"
            )
        return None


def open_invite_envelope(
    bundle: PrivateKeyBundleV1, envelope: Envelope, skipped: Counter[str]
) -> ReceivedInvite | None:
    """The invitation in an envelope, or ``None`` with the reason counted in ``skipped``.

    Cheapest checks first: the size (no parsing), then the header (addressed to this identity,
    a pre-key we hold, the envelope's timestamp) before any key agreement.
    """
    timestamp_ns, message = envelope.timestamp_ns, envelope.message
    if envelope.oversized or len(message) > MAX_INVITATION_BYTES:
        skipped[f"larger than {MAX_INVITATION_BYTES // 1024} KiB"] += 1
        return None
    try:
        sealed = SealedInvitation.from_bytes(message)
        opened = open_invitation(bundle, sealed, envelope_timestamp_ns=timestamp_ns)
    except KeyEngineError as exc:
        skipped[str(exc)[:80]] += 1
        return None
    return ReceivedInvite(
        opened.peer_address,
        opened.invitation.topic,
        opened.pre_key_public,
        opened.created_ns,
        opened.invitation.conversation_id,
        opened.sent_by_us,
    )


def skipped_summary(skipped: Counter[str]) -> tuple[str, ...]:
    """One line for every invitation skipped in this run, with the three commonest reasons."""
    total = sum(skipped.values())
    if not total:
        return ()
    noun = "invitation" if total == 1 else "invitations"
    reasons = "; ".join(f"{count:,} {reason}" for reason, count in skipped.most_common(3))
    more = "; …" if len(skipped) > 3 else ""
    return (f"skipped {total:,} unreadable {noun} ({reasons}{more})",)


async def read_invites(
    client: XmtpClient,
    store: InviteLogStore,
    bundle: PrivateKeyBundleV1,
    now_ns: int,
    warn: Callable[[str], None],
) -> tuple[tuple[ReceivedInvite, ...], tuple[str, ...]]:
    """Every invitation to or from ``bundle``'s identity (newest first) and one counted line
    for the junk skipped.

    Only envelopes not read by an earlier run are fetched (oldest first, in bounded pages);
    junk is skipped as cheaply as possible (too large: unparsed; not for this identity: before
    any key agreement).  What was read is saved even when the node fails midway; a log that
    cannot be saved is reported through ``warn``.
    """
    invite_log = store.load(bundle)
    skipped: Counter[str] = Counter()
    spec = QuerySpec(
        invite_topic(bundle.wallet_address),
        start_ns=invite_log.read_until_ns,
        limit=100,
        direction=ASCENDING,
        max_message_bytes=MAX_INVITATION_BYTES,
    )
    try:
        async for envelope in client.iter_query(spec):
            if not invite_log.is_new(envelope.timestamp_ns, envelope.message):
                continue
            invite = open_invite_envelope(bundle, envelope, skipped)
            if invite is not None:
                invite_log.remember(invite)
            invite_log.mark_read(envelope.timestamp_ns, envelope.message, now_ns)
    finally:
        problem = store.save(invite_log)
        if problem is not None:
            warn(problem)
    invites = sorted(invite_log.invites, key=lambda i: i.created_ns, reverse=True)
    return tuple(invites), skipped_summary(skipped)
