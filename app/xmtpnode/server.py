"""The node's HTTP front: the XMTP message API v1 REST routes (grpc-gateway conventions).

Routes (all POST, body = the whole request): ``/message/v1/publish``, ``/message/v1/query``,
``/message/v1/batch-query``, ``/message/v1/subscribe`` and ``/message/v1/subscribe-all``
(newline-delimited ``{"result": <Envelope>}`` streams).  Rules live in ``rules``, encoding in
``codec``, storage behind the ``Storage`` interface; this module wires them to aiohttp.

Storage calls block, so they run on threads (``dispatch``): publishes are committed in groups
and acknowledged only once committed, so a query sent after a publish completed sees it.  With
a shared store (PostgreSQL, several node processes) streams carry what the store announces
from every process, in commit order, instead of what this process wrote.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

from aiohttp import web
from google.protobuf.message import Message

from app.keyengine.proto import message_api_pb2 as api
from app.xmtpnode import codec, rules
from app.xmtpnode.dispatch import StorageDispatcher
from app.xmtpnode.errors import ApiError, GrpcCode
from app.xmtpnode.pubsub import Broker, Subscription
from app.xmtpnode.storage import Envelope, Storage, open_storage

log = logging.getLogger(__name__)

Clock = Callable[[], int]
T = TypeVar("T")

MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024
"""Largest request body (grpc-go's default receive limit); enough for a maximal message in
JSON (1,048,214 bytes → 1.4 MB of base64) plus a few more envelopes."""
SHUTDOWN_TIMEOUT_S: Final = 5.0
_DISCONNECT_POLL_S: Final = 1.0

STORAGE_KEY: Final = web.AppKey("storage", Storage)
BROKER_KEY: Final = web.AppKey("broker", Broker)
DISPATCHER_KEY: Final = web.AppKey("dispatcher", StorageDispatcher)
CLOCK_KEY: Final = web.AppKey[Clock]("clock")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    storage: Storage, *, clock: Clock = time.time_ns, group_commit: bool = True
) -> web.Application:
    """The node as an aiohttp application over ``storage`` (which the caller keeps owning).

    ``clock`` (ns since the epoch) decides token expiry; tests can move it.  ``group_commit``
    False commits each publish alone (benchmarks compare both).
    """
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[_error_middleware])
    app[STORAGE_KEY] = storage
    app[BROKER_KEY] = Broker()
    app[DISPATCHER_KEY] = StorageDispatcher(storage, keep=_is_durable, group_commit=group_commit)
    app[CLOCK_KEY] = clock
    app.router.add_post("/message/v1/publish", _publish)
    app.router.add_post("/message/v1/query", _query)
    app.router.add_post("/message/v1/batch-query", _batch_query)
    app.router.add_post("/message/v1/subscribe", _subscribe)
    app.router.add_post("/message/v1/subscribe-all", _subscribe_all)
    app.on_startup.append(_start_listening)
    app.on_shutdown.append(_close_streams)
    app.on_cleanup.append(_stop_storage_threads)
    return app


# --- storage wiring (all of it lives in ``dispatch``) ---------------------------------


def _is_durable(envelope: Envelope) -> bool:
    return not rules.is_ephemeral(envelope.topic)


async def _start_listening(app: web.Application) -> None:
    await app[DISPATCHER_KEY].start(app[BROKER_KEY])


async def _close_streams(app: web.Application) -> None:
    """End open subscriptions so shutdown does not wait for clients that never hang up."""
    app[BROKER_KEY].close()


async def _stop_storage_threads(app: web.Application) -> None:
    await app[DISPATCHER_KEY].close()


# --- errors -------------------------------------------------------------------------------

_HTTP_TO_GRPC: Final = {
    400: GrpcCode.INVALID_ARGUMENT,
    401: GrpcCode.UNAUTHENTICATED,
    403: GrpcCode.PERMISSION_DENIED,
    404: GrpcCode.NOT_FOUND,
    405: GrpcCode.UNIMPLEMENTED,
    413: GrpcCode.RESOURCE_EXHAUSTED,
}


def _error_response(error: ApiError) -> web.Response:
    return web.Response(
        status=error.http_status,
        text=codec.dumps(error.body()),
        content_type=codec.JSON_CONTENT_TYPE,
    )


@web.middleware
async def _error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes grpc-gateway's ``{"code", "message", "details": []}`` JSON."""
    try:
        return await handler(request)
    except ApiError as error:
        return _error_response(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_TO_GRPC.get(exc.status, GrpcCode.INTERNAL)
        status = 405 if exc.status == 405 else None
        return _error_response(ApiError(code, exc.reason, http_status=status))
    except Exception:
        log.exception("internal error handling %s", request.path)
        return _error_response(ApiError(GrpcCode.INTERNAL, "internal error"))


# --- plumbing -----------------------------------------------------------------------------


async def _in_storage_thread(request: web.Request, call: Callable[[], T]) -> T:
    """Run a read-only storage call off the loop; storage failures become gRPC statuses."""
    return await request.app[DISPATCHER_KEY].read(call)


async def _read_request(request: web.Request, message_type: type[codec.M]) -> codec.M:
    body = await request.read()
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
        plan.topics, plan.start_ns, plan.end_ns, plan.limit, plan.direction, plan.cursor
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


# --- handlers -----------------------------------------------------------------------------


async def _publish(request: web.Request) -> web.Response:
    publish = await _read_request(request, api.PublishRequest)
    wallet = rules.authenticate(request.headers.get("Authorization"), request.app[CLOCK_KEY]())
    envelopes = rules.check_publish(publish, wallet)
    if envelopes:
        await request.app[DISPATCHER_KEY].publish(envelopes)
    return _reply(request, api.PublishResponse(), {})


async def _query(request: web.Request) -> web.Response:
    plan = rules.plan_query(await _read_request(request, api.QueryRequest))
    storage = request.app[STORAGE_KEY]
    response = await _in_storage_thread(request, lambda: _query_response(plan, storage))
    return _reply(request, response, _query_response_json(response))


async def _batch_query(request: web.Request) -> web.Response:
    batch = await _read_request(request, api.BatchQueryRequest)
    plans = rules.plan_batch(batch.requests)
    storage = request.app[STORAGE_KEY]
    responses = await _in_storage_thread(
        request, lambda: [_query_response(plan, storage) for plan in plans]
    )
    response = api.BatchQueryResponse(responses=responses)
    json_body = {"responses": [_query_response_json(r) for r in responses]}
    return _reply(request, response, json_body)


async def _subscribe(request: web.Request) -> web.StreamResponse:
    subscribe = await _read_request(request, api.SubscribeRequest)
    if not subscribe.content_topics:
        raise ApiError(GrpcCode.INVALID_ARGUMENT, "at least one content topic is required")
    return await _stream(request, list(subscribe.content_topics))


async def _subscribe_all(request: web.Request) -> web.StreamResponse:
    await _read_request(request, api.SubscribeAllRequest)
    return await _stream(request, None)


async def _stream(request: web.Request, topics: list[str] | None) -> web.StreamResponse:
    """Stream envelopes as NDJSON until the client leaves or the node shuts down.

    The subscription is registered before the response headers go out, so a client that has
    seen the headers is guaranteed to receive everything published afterwards.  Always JSON
    lines, also for protobuf requests (there is no delimited-protobuf convention to follow).
    """
    broker = request.app[BROKER_KEY]
    subscription = broker.subscribe(topics)
    response = web.StreamResponse(headers={"Content-Type": codec.JSON_CONTENT_TYPE})
    try:
        await response.prepare(request)
        async for envelope in _until_gone(request, subscription):
            line = codec.dumps({"result": codec.to_json(_envelope_proto(envelope))}) + "\n"
            await response.write(line.encode("utf-8"))
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
    except ConnectionError:
        pass  # the client went away mid-write
    finally:
        broker.unsubscribe(subscription)
    return response


async def _until_gone(request: web.Request, subscription: Subscription) -> AsyncIterator[Envelope]:
    """Envelopes of ``subscription`` until it closes or the client's connection does.

    aiohttp does not cancel handlers when a client disconnects, so an idle stream checks its
    transport now and then instead of lingering until the next matching publish.
    """
    while True:
        try:
            envelope = await subscription.next(timeout=_DISCONNECT_POLL_S)
        except TimeoutError:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            continue
        if envelope is None:
            return
        yield envelope


# --- running ------------------------------------------------------------------------------


class NodeServer:
    """A node bound to a TCP port on the current event loop: ``await start()`` → URL."""

    def __init__(
        self,
        storage: Storage,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.time_ns,
        owns_storage: bool = False,
        group_commit: bool = True,
    ) -> None:
        self.storage = storage
        self.host = host
        self.port = port
        self.app = create_app(storage, clock=clock, group_commit=group_commit)
        self._owns_storage = owns_storage
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    @classmethod
    def open(
        cls,
        db_path: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = time.time_ns,
        group_commit: bool = True,
    ) -> NodeServer:
        """A node over a SQLite file (or ``":memory:"``) or a ``postgresql://`` URL, which it
        closes on ``stop()``."""
        return cls(
            open_storage(db_path),
            host=host,
            port=port,
            clock=clock,
            owns_storage=True,
            group_commit=group_commit,
        )

    @property
    def broker(self) -> Broker:
        return self.app[BROKER_KEY]

    async def start(self) -> str:
        """Bind and serve; return the base URL with the actual port (``port=0`` → any)."""
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self.url = f"http://{_url_host(self.host)}:{self.port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving (open streams end), then close the storage if this node owns it."""
        runner, self._runner = self._runner, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            if self._owns_storage:
                self.storage.close()


def _url_host(host: str) -> str:
    try:
        socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        return host
    return f"[{host}]"


@contextlib.asynccontextmanager
async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    db_path: str | os.PathLike[str] = ":memory:",
    *,
    clock: Clock = time.time_ns,
) -> AsyncIterator[str]:
    """Serve a node on the running loop for the duration of the block; yields its base URL.

    ``async with serve(port=0, db_path="node.sqlite3") as url: ...``
    """
    node = NodeServer.open(db_path, host=host, port=port, clock=clock)
    try:
        url = await node.start()
    except BaseException:
        node.storage.close()
        raise
    try:
        yield url
    finally:
        await node.stop()
