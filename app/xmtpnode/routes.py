"""The request handlers: message API v1 (publish, query, batch-query, subscribe), health, metrics.

Each handler charges its request to the client (``admission``) before it reads the body, so
a refused client costs a few microseconds; publishes and queries then wait for their turn at
the store in separate fair lanes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode import codec, ops, rules, streams
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
from app.xmtpnode.storage import Envelope, Storage


def add_routes(app: web.Application) -> None:
    app.router.add_post("/message/v1/publish", publish)
    app.router.add_post("/message/v1/query", query)
    app.router.add_post("/message/v1/batch-query", batch_query)
    app.router.add_post("/message/v1/subscribe", subscribe)
    app.router.add_post("/message/v1/subscribe-all", subscribe_all)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


# --- plumbing -----------------------------------------------------------------------------


async def _read_body(request: web.Request) -> bytes:
    """The request body; one that does not arrive within ``body_timeout_s`` is refused (408)."""
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


def _reply(request: web.Request, message: Message, json_body: dict[str, Any]) -> web.Response:
    """Answer in the request's encoding: protobuf for protobuf, else protojson."""
    if codec.is_protobuf(request.content_type):
        return web.Response(
            body=message.SerializeToString(), content_type=codec.PROTOBUF_CONTENT_TYPE
        )
    return web.Response(text=codec.dumps(json_body), content_type=codec.JSON_CONTENT_TYPE)


def _envelope_proto(envelope: Envelope) -> api.Envelope:
    return api.Envelope(
        content_topic=envelope.topic, timestamp_ns=envelope.timestamp_ns, message=envelope.message
    )


def _query_response(plan: rules.QueryPlan, storage: Storage) -> api.QueryResponse:
    envelopes, cursor = storage.query(
        plan.topics,
        plan.start_ns,
        plan.end_ns,
        plan.limit,
        plan.direction,
        plan.cursor,
        max_message_bytes=rules.query_ceiling(plan.topics),
    )
    response = api.QueryResponse(envelopes=[_envelope_proto(e) for e in envelopes])
    response.paging_info.limit = plan.limit
    response.paging_info.direction = plan.direction_proto
    if cursor is not None:
        response.paging_info.cursor.index.digest = cursor.digest
        response.paging_info.cursor.index.sender_time_ns = cursor.sender_time_ns
    return response


def _query_response_json(response: api.QueryResponse) -> dict[str, Any]:
    """protojson plus ``"cursor": null`` on the last page, as grpc-gateway's EmitUnpopulated."""
    body = codec.to_json(response)
    paging = body["pagingInfo"]
    body["pagingInfo"] = {
        "limit": paging["limit"],
        "cursor": paging.get("cursor"),
        "direction": paging["direction"],
    }
    return body


# --- message API ----------------------------------------------------------------------------


async def publish(request: web.Request) -> web.Response:
    admission = request.app[PARTS_KEY].admission
    admission.admit_request(request)
    # The token is in a header: a publish without a valid one costs no body read.
    wallet = rules.authenticate(request.headers.get("Authorization"), request.app[CLOCK_KEY]())
    body = await _read_body(request)
    async with admission.publish_lane.turn(wallet):
        message = codec.decode_request(body, request.content_type, api.PublishRequest)
        envelopes = rules.check_publish(message, wallet)
        admission.admit_publish(wallet, envelopes)
        if envelopes:
            await request.app[DISPATCHER_KEY].publish(envelopes)
    return _reply(request, api.PublishResponse(), {})


async def query(request: web.Request) -> web.Response:
    """Parsing, planning and the store call all happen in the client's turn of the query lane:
    a flood of large queries costs the event loop only as much as ``query_concurrency`` of
    them at a time."""
    parts = request.app[PARTS_KEY]
    address = parts.admission.admit_request(request)
    body = await _read_body(request)
    storage = request.app[STORAGE_KEY]
    async with parts.admission.query_lane.turn(address):
        message = codec.decode_request(body, request.content_type, api.QueryRequest)
        plan = rules.plan_query(message, parts.limits.topics_per_query)
        response = await in_storage_thread(request, lambda: _query_response(plan, storage))
        json_body = _query_response_json(response)
    return _reply(request, response, json_body)


async def batch_query(request: web.Request) -> web.Response:
    parts = request.app[PARTS_KEY]
    address = parts.admission.admit_request(request)
    body = await _read_body(request)
    storage = request.app[STORAGE_KEY]
    async with parts.admission.query_lane.turn(address):
        batch = codec.decode_request(body, request.content_type, api.BatchQueryRequest)
        plans = rules.plan_batch(batch.requests, parts.limits.topics_per_batch)
        responses = await in_storage_thread(
            request, lambda: [_query_response(plan, storage) for plan in plans]
        )
        json_body = {"responses": [_query_response_json(r) for r in responses]}
    return _reply(request, api.BatchQueryResponse(responses=responses), json_body)


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
    return await streams.stream(request, topics, request.app[BROKER_KEY], parts.budget)


# --- operations -------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    """200 when the store answers a trivial query within two seconds; 503 otherwise."""
    dispatcher = request.app[DISPATCHER_KEY]
    return await ops.health_response(dispatcher.ping, request.app[PARTS_KEY].stopping)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[PARTS_KEY].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})
