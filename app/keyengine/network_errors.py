"""The typed errors of talking to an XMTP node (every network failure is one of these).

Kept apart from ``network`` so that the code reading a node's answers (``node_answers``) and
the client itself share one family without importing each other.
"""

from __future__ import annotations

from app.keyengine.errors import KeyEngineError


class NetworkError(KeyEngineError):
    """Talking to the XMTP node failed."""


class NodeUnreachable(NetworkError):
    """The node could not be reached (connection refused, DNS, timeout) after retrying."""


class NodeRejected(NetworkError):
    """The node answered with an error; ``code`` is the gRPC status code."""

    def __init__(self, message: str, *, code: int, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class Unauthenticated(NodeRejected):
    """The node refused our auth token (even after one refresh)."""


class NodeMisbehaving(NetworkError):
    """The node answered, but not as the protocol says: malformed, too large or endless.

    A broken or hostile node must cost the client a bounded amount of work and end in this
    one error, never a parser's exception or a loop without end.
    """


class AnswerTooLarge(NodeMisbehaving):
    """One answer exceeded the byte ceiling; reading stopped there."""
