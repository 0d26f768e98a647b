"""What the node accepts: auth, topic ACL, size limits, query parameters (reference semantics).

Every rule here mirrors the reference node (xmtp-node-go) as described in the spec, §8, so an
SDK sees the same answers from this node as it did from the public network.  The functions are
pure and raise ``ApiError``; the server only orchestrates them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from app.keyengine.errors import KeyEngineError, TokenExpired
from app.keyengine.invite_log import MAX_INVITATION_BYTES
from app.keyengine.proto import message_api_pb2 as api
from app.keyengine.topics import PREFIX, topic_category
from app.xmtpnode.errors import invalid_argument, permission_denied, unauthenticated
from app.xmtpnode.shapes import EnvelopeFields
from app.xmtpnode.storage import MAX_SQLITE_INTEGER, Direction, Envelope, PageCursor
from app.xmtpnode.tokens import VALIDATED_TOKENS

MAX_TOPIC_BYTES: Final = 300
MAX_MESSAGE_BYTES: Final = 1_048_214
MAX_INVITE_BYTES: Final = MAX_INVITATION_BYTES
"""Largest envelope an invite topic takes or serves: the size past which the client skips an
invitation unread.  A sealed invitation is a few hundred bytes; anyone may write to anyone's
invite topic, so without this ceiling a spammer's 1 MB envelopes cost every reader a megabyte
each."""
MAX_PAGE_SIZE: Final = 100
MAX_BATCH_REQUESTS: Final = 50
# Default ceilings on topics per request (configurable through ``limits.NodeLimits``).
MAX_TOPICS_PER_QUERY: Final = 1_000
MAX_TOPICS_PER_BATCH: Final = 1_000

log = logging.getLogger(__name__)

# Topics whose owner (the address after the first "-" of the category segment) must be the
# publishing wallet: nobody may overwrite someone else's key store or contact.
OWNED_CATEGORIES: Final = frozenset({"privatestore", "contact"})
# Conversation traffic that is relayed to subscribers but never stored.
EPHEMERAL_CATEGORIES: Final = frozenset({"mE", "dmE"})
# ``topic_category(t) in EPHEMERAL_CATEGORIES`` as one prefix test (every publish asks, twice).
_EPHEMERAL_PREFIXES: Final = tuple(f"{PREFIX}{category}-" for category in EPHEMERAL_CATEGORIES)


def authenticate(authorization: str | None, now_ns: int) -> str:
    """Wallet address authorised by an ``Authorization: Bearer <token>`` header.

    Missing, malformed, badly signed or expired tokens are Unauthenticated (401, code 16):
    xmtp-js refreshes its token once on exactly that code.
    """
    if not authorization:
        raise unauthenticated("authorization token is missing")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthenticated("authorization must be 'Bearer <token>'")
    try:
        return VALIDATED_TOKENS.validate(token, now_ns).wallet_address
    except TokenExpired as exc:
        raise unauthenticated(f"authorization token expired: {exc}") from None
    except KeyEngineError as exc:
        raise unauthenticated(f"invalid authorization token: {exc}") from None


def topic_owner(topic: str) -> str | None:
    """The address a topic belongs to if its category is owned (privatestore, contact).

    The 4th path segment of ``/xmtp/0/<category>-<rest>/…`` is split at its first ``-``;
    ``rest`` is the owner.  A bare ``privatestore``/``contact`` segment belongs to the
    impossible owner ``""`` so that nobody may write it.
    """
    return _classify(topic)[1]


def _classify(topic: str) -> tuple[str | None, str | None]:
    """(``topic_category(topic)``, ``topic_owner(topic)``) from one parse of the topic."""
    if not topic.startswith(PREFIX):
        return None, None
    segment = topic[len(PREFIX) :].partition("/")[0]
    category, dash, rest = segment.partition("-")
    owned = category in OWNED_CATEGORIES
    if not dash:
        return None, ("" if owned else None)
    return category, (rest if owned else None)


def is_ephemeral(topic: str) -> bool:
    return topic.startswith(_EPHEMERAL_PREFIXES)


def check_envelope(topic: str, timestamp_ns: int, message: bytes, wallet: str) -> Envelope:
    """Validate one envelope of a publish by ``wallet``; return it in storage form."""
    if not topic:
        raise invalid_argument("content topic is required")
    # The reference node's texts, which SDKs and their tests match on; details go to the log.
    topic_bytes = len(topic) if topic.isascii() else len(topic.encode("utf-8"))
    if topic_bytes > MAX_TOPIC_BYTES:
        log.info("refused publish by %s: topic of %d bytes", wallet, topic_bytes)
        raise invalid_argument("topic length too big")
    if len(message) > MAX_MESSAGE_BYTES:
        log.info("refused publish by %s to %s: %d bytes", wallet, topic, len(message))
        raise invalid_argument("message too big")
    category, owner = _classify(topic)
    if len(message) > MAX_INVITE_BYTES and category == "invite":
        log.info("refused publish by %s to %s: %d bytes", wallet, topic, len(message))
        raise invalid_argument("message too big")
    if owner is not None and owner != wallet:
        log.info("refused publish by %s to restricted topic %s", wallet, topic)
        raise permission_denied("publishing to restricted topic")
    if timestamp_ns > MAX_SQLITE_INTEGER:
        raise invalid_argument("timestamp_ns is out of range")
    return Envelope(topic, timestamp_ns, message)


def check_publish(envelopes: Sequence[EnvelopeFields], wallet: str) -> list[Envelope]:
    """Validate every envelope before any is stored: a publish is all-or-nothing."""
    return [check_envelope(*fields, wallet) for fields in envelopes]


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """A validated query with the defaults applied."""

    topics: tuple[str, ...]
    start_ns: int
    end_ns: int
    limit: int
    direction: Direction
    cursor: PageCursor | None

    @property
    def direction_proto(self) -> api.SortDirection.ValueType:
        if self.direction is Direction.ASCENDING:
            return api.SORT_DIRECTION_ASCENDING
        return api.SORT_DIRECTION_DESCENDING


def plan_query(request: api.QueryRequest, max_topics: int = MAX_TOPICS_PER_QUERY) -> QueryPlan:
    """Check a QueryRequest; limit 0 → 100, direction unspecified → DESCENDING."""
    if not request.content_topics:
        raise invalid_argument("at least one content topic is required")
    if max_topics and len(request.content_topics) > max_topics:
        raise invalid_argument(f"cannot exceed {max_topics} content topics per query")
    paging = request.paging_info
    if paging.limit > MAX_PAGE_SIZE:
        raise invalid_argument(f"cannot exceed {MAX_PAGE_SIZE} envelopes per page")
    direction = (
        Direction.ASCENDING
        if paging.direction == api.SORT_DIRECTION_ASCENDING
        else Direction.DESCENDING
    )
    cursor = None
    if paging.HasField("cursor") and paging.cursor.HasField("index"):
        index = paging.cursor.index
        cursor = PageCursor(index.digest, index.sender_time_ns)
    return QueryPlan(
        topics=tuple(request.content_topics),
        start_ns=request.start_time_ns,
        end_ns=request.end_time_ns,
        limit=paging.limit or MAX_PAGE_SIZE,
        direction=direction,
        cursor=cursor,
    )


def plan_batch(
    requests: Sequence[api.QueryRequest], max_topics: int = MAX_TOPICS_PER_BATCH
) -> list[QueryPlan]:
    if len(requests) > MAX_BATCH_REQUESTS:
        raise invalid_argument(f"cannot exceed {MAX_BATCH_REQUESTS} requests in single batch")
    if max_topics and sum(len(r.content_topics) for r in requests) > max_topics:
        raise invalid_argument(f"cannot exceed {max_topics} content topics per batch")
    return [plan_query(request, max_topics) for request in requests]


def query_ceiling(topics: Sequence[str]) -> int | None:
    """The largest envelope a query serves: ``MAX_INVITE_BYTES`` for invite topics (larger ones
    were stored before the ceiling, or by another node sharing the database), else none."""
    if topics and all(topic_category(topic) == "invite" for topic in topics):
        return MAX_INVITE_BYTES
    return None
