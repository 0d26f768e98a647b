"""The request handlers: message API v1 (publish, query, batch-query, subscribe), health, metrics.

Each handler charges its request to the client (``admission``) before it reads the body, so
a refused client costs a few microseconds; publishes and queries then wait for their turn at
the store in separate fair lanes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode import codec, ops, rules, shapes, streams
from app.xmtpnode.context import (
    BROKER_KEY,
    CLOCK_KEY,
    DISPATCHER_KEY,
    PARTS_KEY,
    STORAGE_KEY,
    in_storage_thread,
)
from app.xmtpnode.errors import ApiError, GrpcCode, invalid_argument
from app.xmtpnode.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from app.xmtpnode.storage import Envelope, PageCursor, Storage


def add_routes(app: web.Application, wrap: Callable[[ops.Handler], ops.Handler]) -> None:
    """The routes, each handler passed through ``wrap`` (the server's per-request front)."""
    app.router.add_post("/message/v1/publish", wrap(publish))
    app.router.add_post("/message/v1/query", wrap(query))
    app.router.add_post("/message/v1/batch-query", wrap(batch_query))
    app.router.add_post("/message/v1/subscribe", wrap(subscribe))
    app.router.add_post("/message/v1/subscribe-all", wrap(subscribe_all))
    app.router.add_get("/healthz", wrap(healthz))
    app.router.add_get("/metrics", wrap(metrics))


# --- plumbing -----------------------------------------------------------------------------


async def _read_body(request: web.Request) -> bytes:
    """The request body; one that does not arrive within ``body_timeout_s`` is refused (408)."""
    if request.content.is_eof():  # all of it arrived with the head: nothing to wait for
        return await request.read()
    timeout = request.app[PARTS_KEY].limits.body_timeout_s or None
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise ApiError(
            GrpcCode.DEADLINE_EXCEEDED, "request body not received in time", http_status=408
        ) from None


async def _read_request(request: web.Request, message_type: type[codec.M]) -> codec.M:
    body = await _read_body(request)
    return codec.decode_request(body, request.content_type, message_type)


def _reply(
    request: web.Request, to_proto: Callable[[], Message], to_json: Callable[[], object]
) -> web.Response:
    """Answer in the request's encoding: protobuf for protobuf, else protojson (each built
    only when it is the one sent)."""
    if codec.is_protobuf(request.content_type):
        return web.Response(
            body=to_proto().SerializeToString(), content_type=codec.PROTOBUF_CONTENT_TYPE
        )
    return web.Response(
        body=codec.dumps(to_json()), content_type=codec.JSON_CONTENT_TYPE, charset="utf-8"
    )


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


async def publish(request: web.Request) -> web.Response:
    admission = request.app[PARTS_KEY].admission
    admission.admit_request(request)
    # The token is in a header: a publish without a valid one costs no body read.
    wallet = rules.authenticate(request.headers.get("Authorization"), request.app[CLOCK_KEY]())
    body = await _read_body(request)
    async with admission.publish_lane.turn(wallet):
        fields = codec.decode_publish(body, request.content_type)
        envelopes = rules.check_publish(fields, wallet)
        admission.admit_publish(wallet, envelopes)
        if envelopes:
            await request.app[DISPATCHER_KEY].publish(envelopes)
    return _reply(request, api.PublishResponse, dict)


async def query(request: web.Request) -> web.Response:
    """Parsing, planning and the store call all happen in the client's turn of the query lane:
    a flood of large queries costs the event loop only as much as ``query_concurrency`` of
    them at a time."""
    parts = request.app[PARTS_KEY]
    address = parts.admission.admit_request(request)
    body = await _read_body(request)
    storage = request.app[STORAGE_KEY]
    async with parts.admission.query_lane.turn(address):
        message = codec.decode_query(body, request.content_type)
        plan = rules.plan_query(message, parts.limits.topics_per_query)
        page = await in_storage_thread(request, lambda: _query_page(plan, storage))
    return _reply(request, page.proto, page.json)


async def batch_query(request: web.Request) -> web.Response:
    parts = request.app[PARTS_KEY]
    address = parts.admission.admit_request(request)
    body = await _read_body(request)
    storage = request.app[STORAGE_KEY]
    async with parts.admission.query_lane.turn(address):
        batch = codec.decode_request(body, request.content_type, api.BatchQueryRequest)
        plans = rules.plan_batch(batch.requests, parts.limits.topics_per_batch)
        pages = await in_storage_thread(
            request, lambda: [_query_page(plan, storage) for plan in plans]
        )
    return _reply(
        request,
        lambda: api.BatchQueryResponse(responses=[page.proto() for page in pages]),
        lambda: {"responses": [page.json() for page in pages]},
    )


async def subscribe(request: web.Request) -> web.StreamResponse:
    parts = request.app[PARTS_KEY]
    parts.admission.admit_request(request)
    message = await _read_request(request, api.SubscribeRequest)
    if not message.content_topics:
        raise invalid_argument("at least one content topic is required")
    ceiling = parts.limits.topics_per_subscription
    if ceiling and len(message.content_topics) > ceiling:
        raise invalid_argument(f"cannot exceed {ceiling} content topics per subscription")
    return await _stream(request, list(message.content_topics))


async def subscribe_all(request: web.Request) -> web.StreamResponse:
    request.app[PARTS_KEY].admission.admit_request(request)
    await _read_request(request, api.SubscribeAllRequest)
    return await _stream(request, None)


async def _stream(request: web.Request, topics: list[str] | None) -> web.StreamResponse:
    parts = request.app[PARTS_KEY]
    return await streams.stream(request, topics, request.app[BROKER_KEY], parts.budget, parts.cors)


# --- operations -------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    """200 when the store answers a trivial query within two seconds; 503 otherwise."""
    dispatcher = request.app[DISPATCHER_KEY]
    return await ops.health_response(dispatcher.ping, request.app[PARTS_KEY].stopping)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[PARTS_KEY].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})
