"""The request handlers: message API v1 (publish, query, batch-query, subscribe), health, metrics.

Each handler charges its request to the client (``admission``) before it reads the body, so
a refused client costs a few microseconds; publishes and queries then wait for their turn at
the store in separate fair lanes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from google.protobuf.message import Message

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode import codec, ops, rules, shapes, streams
from app.xmtpnode.context import NodeParts
from app.xmtpnode.errors import ApiError, GrpcCode, invalid_argument
from app.xmtpnode.http import Request, Response
from app.xmtpnode.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from app.xmtpnode.storage import Envelope, PageCursor, Storage

Routes = dict[str, dict[str, ops.Handler]]
"""Path → method → handler."""
_NodeHandler = Callable[[NodeParts, Request], Awaitable[Response]]
_TABLE: Final[dict[str, tuple[str, _NodeHandler]]] = {}


def route_table(parts: NodeParts) -> Routes:
    """The routes of one node, each handler bound to ``parts``.  GET routes answer HEAD too."""
    routes: Routes = {}
    for path, (method, handler) in _TABLE.items():
        bound = functools.partial(handler, parts)
        routes[path] = {method: bound, "HEAD": bound} if method == "GET" else {method: bound}
    return routes


def _route(method: str, path: str) -> Callable[[_NodeHandler], _NodeHandler]:
    def register(handler: _NodeHandler) -> _NodeHandler:
        _TABLE[path] = (method, handler)
        return handler

    return register


# --- plumbing -----------------------------------------------------------------------------


async def _read_body(parts: NodeParts, request: Request) -> bytes:
    """The request body; one that does not arrive within ``body_timeout_s`` is refused (408)."""
    if request.complete:  # all of it arrived with the head: nothing to wait for
        return await request.read()
    timeout = parts.limits.body_timeout_s or None
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise ApiError(
            GrpcCode.DEADLINE_EXCEEDED, "request body not received in time", http_status=408
        ) from None


async def _read_request(parts: NodeParts, request: Request, message_type: type[codec.M]) -> codec.M:
    body = await _read_body(parts, request)
    return codec.decode_request(body, request.content_type, message_type)


def _reply(
    request: Request, to_proto: Callable[[], Message], to_json: Callable[[], object]
) -> Response:
    """Answer in the request's encoding: protobuf for protobuf, else protojson (each built
    only when it is the one sent)."""
    if codec.is_protobuf(request.content_type):
        return Response(to_proto().SerializeToString(), content_type=codec.PROTOBUF_CONTENT_TYPE)
    return Response(codec.dumps(to_json()))


@dataclass(frozen=True, slots=True)
class _Page:
    """One page of a query's answer."""

    plan: rules.QueryPlan
    envelopes: list[Envelope]
    cursor: PageCursor | None

    def proto(self) -> api.QueryResponse:
        response = api.QueryResponse(
            envelopes=[
                api.Envelope(content_topic=e.topic, timestamp_ns=e.timestamp_ns, message=e.message)
                for e in self.envelopes
            ]
        )
        response.paging_info.limit = self.plan.limit
        response.paging_info.direction = self.plan.direction_proto
        if self.cursor is not None:
            response.paging_info.cursor.index.digest = self.cursor.digest
            response.paging_info.cursor.index.sender_time_ns = self.cursor.sender_time_ns
        return response

    def json(self) -> dict[str, Any]:
        return shapes.query_response_json(
            self.envelopes, self.cursor, self.plan.limit, self.plan.direction_proto
        )


def _query_page(plan: rules.QueryPlan, storage: Storage) -> _Page:
    envelopes, cursor = storage.query(
        plan.topics,
        plan.start_ns,
        plan.end_ns,
        plan.limit,
        plan.direction,
        plan.cursor,
        max_message_bytes=rules.query_ceiling(plan.topics),
    )
    return _Page(plan, envelopes, cursor)


# --- message API ----------------------------------------------------------------------------


@_route("POST", "/message/v1/publish")
async def publish(parts: NodeParts, request: Request) -> Response:
    admission = parts.admission
    admission.admit_request(request)
    # The token is in a header: a publish without a valid one costs no body read.
    wallet = rules.authenticate(request.headers.get("authorization"), parts.clock())
    body = await _read_body(parts, request)
    async with admission.publish_lane.turn(wallet):
        fields = codec.decode_publish(body, request.content_type)
        envelopes = rules.check_publish(fields, wallet)
        admission.admit_publish(wallet, envelopes)
        if envelopes:
            await parts.dispatcher.publish(envelopes)
    return _reply(request, api.PublishResponse, dict)


@_route("POST", "/message/v1/query")
async def query(parts: NodeParts, request: Request) -> Response:
    """Parsing, planning and the store call all happen in the client's turn of the query lane:
    a flood of large queries costs the event loop only as much as ``query_concurrency`` of
    them at a time."""
    address = parts.admission.admit_request(request)
    body = await _read_body(parts, request)
    storage = parts.storage
    async with parts.admission.query_lane.turn(address):
        message = codec.decode_query(body, request.content_type)
        plan = rules.plan_query(message, parts.limits.topics_per_query)
        page = await parts.dispatcher.read(lambda: _query_page(plan, storage))
    return _reply(request, page.proto, page.json)


@_route("POST", "/message/v1/batch-query")
async def batch_query(parts: NodeParts, request: Request) -> Response:
    address = parts.admission.admit_request(request)
    body = await _read_body(parts, request)
    storage = parts.storage
    async with parts.admission.query_lane.turn(address):
        batch = codec.decode_request(body, request.content_type, api.BatchQueryRequest)
        plans = rules.plan_batch(batch.requests, parts.limits.topics_per_batch)
        pages = await parts.dispatcher.read(lambda: [_query_page(plan, storage) for plan in plans])
    return _reply(
        request,
        lambda: api.BatchQueryResponse(responses=[page.proto() for page in pages]),
        lambda: {"responses": [page.json() for page in pages]},
    )


@_route("POST", "/message/v1/subscribe")
async def subscribe(parts: NodeParts, request: Request) -> Response:
    parts.admission.admit_request(request)
    message = await _read_request(parts, request, api.SubscribeRequest)
    if not message.content_topics:
        raise invalid_argument("at least one content topic is required")
    ceiling = parts.limits.topics_per_subscription
    if ceiling and len(message.content_topics) > ceiling:
        raise invalid_argument(f"cannot exceed {ceiling} content topics per subscription")
    return await _stream(parts, request, list(message.content_topics))


@_route("POST", "/message/v1/subscribe-all")
async def subscribe_all(parts: NodeParts, request: Request) -> Response:
    parts.admission.admit_request(request)
    await _read_request(parts, request, api.SubscribeAllRequest)
    return await _stream(parts, request, None)


async def _stream(parts: NodeParts, request: Request, topics: list[str] | None) -> Response:
    return await streams.stream(request, topics, parts.broker, parts.budget, parts.cors)


# --- operations -------------------------------------------------------------------------------


@_route("GET", "/healthz")
async def healthz(parts: NodeParts, request: Request) -> Response:
    """200 when the store answers a trivial query within two seconds; 503 otherwise."""
    return await ops.health_response(parts.dispatcher.ping, parts.stopping)


@_route("GET", "/metrics")
async def metrics(parts: NodeParts, request: Request) -> Response:
    return Response(parts.metrics.exposition(), content_type=METRICS_CONTENT_TYPE)
