"""Async client for the XMTP message API v1 over its REST/JSON gateway.

Works against the embedded node and any node that speaks the same API (the reference
grpc-gateway conventions: camelCase protojson, uint64 as strings, padded base64 bytes).
Connection failures and 5xx answers are retried with exponential backoff; a 401 refreshes the
auth token once.  Every failure surfaces as a ``NetworkError`` subclass with a plain message;
an answer that is malformed, too large or endless is ``NodeMisbehaving`` (``node_answers``
holds the ceilings).  A page too large to read is asked for again in smaller pages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from google.protobuf import json_format

from app.about import APP_NAME, version
from app.keyengine.authn import MAX_TOKEN_AGE_NS, create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.network_errors import (
    AnswerTooLarge,
    NetworkError,
    NodeMisbehaving,
    NodeRejected,
    NodeUnreachable,
    Unauthenticated,
)
from app.keyengine.node_answers import (
    MAX_ANSWER_BYTES,
    MAX_PAGES,
    Envelope,
    PageGuard,
    json_object,
    json_value,
    parse_message,
    query_envelopes,
    read_body,
    rejection,
)
from app.keyengine.proto import message_api_pb2 as api

__all__ = [
    "ASCENDING",
    "DESCENDING",
    "AnswerTooLarge",
    "Envelope",
    "NetworkError",
    "NodeMisbehaving",
    "NodeRejected",
    "NodeUnreachable",
    "QuerySpec",
    "TokenSource",
    "Unauthenticated",
    "XmtpClient",
]

CLIENT_VERSION: Final = f"{APP_NAME}/{version()}"
MAX_PAGE_SIZE: Final = 100
MAX_BATCH: Final = 50
SHRUNK_PAGE_SIZE: Final = 10
"""Page size asked for again when a full page is larger than ``MAX_ANSWER_BYTES``."""
_TOKEN_REFRESH_MARGIN_NS: Final = 10 * 10**9
_GRPC_UNAUTHENTICATED: Final = 16

ASCENDING: Final = api.SORT_DIRECTION_ASCENDING
DESCENDING: Final = api.SORT_DIRECTION_DESCENDING


class TokenSource:
    """Creates auth tokens for a bundle and reuses one until shortly before it expires."""

    def __init__(
        self,
        bundle: PrivateKeyBundleV1,
        *,
        clock: Callable[[], int] = time.time_ns,
        lifetime_ns: int = MAX_TOKEN_AGE_NS - _TOKEN_REFRESH_MARGIN_NS,
    ) -> None:
        self._bundle = bundle
        self._clock = clock
        self._lifetime_ns = lifetime_ns
        self._token: str | None = None
        self._created_ns = 0

    @property
    def wallet_address(self) -> str:
        return self._bundle.wallet_address

    def token(self) -> str:
        now = self._clock()
        if self._token is None or now - self._created_ns >= self._lifetime_ns:
            self._created_ns = now // 1_000_000 * 1_000_000
            self._token = create_auth_token(self._bundle, created_ns=self._created_ns)
        return self._token

    def invalidate(self) -> None:
        self._token = None


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One query of a batch: a topic and its optional time window."""

    topic: str
    start_ns: int = 0
    end_ns: int = 0
    limit: int = 0
    direction: int = DESCENDING
    max_message_bytes: int = 0
    """With a value, larger envelopes arrive ``oversized`` and empty, never decoded."""


def _query_request(spec: QuerySpec, cursor: api.Cursor | None = None) -> api.QueryRequest:
    request = api.QueryRequest(
        content_topics=[spec.topic], start_time_ns=spec.start_ns, end_time_ns=spec.end_ns
    )
    request.paging_info.limit = spec.limit
    request.paging_info.direction = spec.direction  # type: ignore[assignment]
    if cursor is not None:
        request.paging_info.cursor.CopyFrom(cursor)
    return request


class XmtpClient:
    """REST client of one node.  Use as ``async with XmtpClient(url) as client: ...``.

    ``max_answer_bytes`` and ``max_pages`` are the ceilings on what one answer and one query
    may cost (``node_answers``); past either, the node is ``NodeMisbehaving``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._retries = retries
        self._backoff_s = backoff_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self._own_session = session is None
        self.max_answer_bytes = max_answer_bytes
        self.max_pages = max_pages

    async def __aenter__(self) -> XmtpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"X-Client-Version": CLIENT_VERSION}
            )
        return self._session

    async def _post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST JSON with retries on connection errors and 5xx; raise typed errors.

        A 2xx answer that is malformed or too large is not retried: the node answered, and
        asking again would only cost the same again.
        """
        url = self.base_url + path
        last_error: Exception | None = None
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                async with self._http().post(url, json=body, headers=headers) as response:
                    data = await read_body(response, self.max_answer_bytes)
                    if response.status < 400:
                        return json_object(data)
                    error = rejection(response.status, data)
                    if response.status < 500:
                        raise error
                    last_error = error
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                last_error = exc
            except aiohttp.ClientError as exc:  # a response aiohttp cannot parse (headers…)
                raise NodeMisbehaving(
                    f"the node at {self.base_url} answered badly: {exc}"
                ) from None
        if isinstance(last_error, NodeRejected):
            raise last_error
        raise NodeUnreachable(
            f"cannot reach the XMTP node at {self.base_url}: {last_error or 'no answer'}"
        )

    async def publish(self, envelopes: Sequence[Envelope], tokens: TokenSource) -> None:
        """Publish envelopes (all or nothing); refresh the token once if the node refuses it."""
        request = api.PublishRequest(envelopes=[e.to_proto() for e in envelopes])
        body = json_format.MessageToDict(request)
        for refreshed in (False, True):
            headers = {"Authorization": f"Bearer {tokens.token()}"}
            try:
                await self._post("/message/v1/publish", body, headers)
                return
            except NodeRejected as exc:
                if exc.code != _GRPC_UNAUTHENTICATED:
                    raise
                if refreshed:
                    raise Unauthenticated(str(exc), code=exc.code, status=exc.status) from None
                tokens.invalidate()

    async def query_page(
        self, spec: QuerySpec, cursor: api.Cursor | None = None
    ) -> tuple[list[Envelope], api.Cursor | None]:
        """One page of a query and the cursor of the next page (None on the last page)."""
        body = json_format.MessageToDict(_query_request(spec, cursor))
        answer = await self._post("/message/v1/query", body)
        envelopes = query_envelopes(answer, spec.max_message_bytes)
        paging = {"pagingInfo": answer["pagingInfo"]} if "pagingInfo" in answer else {}
        reply = parse_message(paging, api.QueryResponse(), "query answer")
        next_cursor = reply.paging_info.cursor if reply.paging_info.HasField("cursor") else None
        limit = spec.limit or MAX_PAGE_SIZE
        if next_cursor is None or len(envelopes) < limit:
            return envelopes, None
        return envelopes, next_cursor

    async def iter_query(self, spec: QuerySpec) -> AsyncIterator[Envelope]:
        """Every envelope matching ``spec``, following cursors page after page.

        Pages are checked by a ``PageGuard`` (bounded count, cursors and envelopes never
        repeated).  A full page too large to read is asked for again in pages of
        ``SHRUNK_PAGE_SIZE``, then of one envelope; only a single envelope over the ceiling is
        ``AnswerTooLarge``.
        """
        guard = PageGuard(self.max_pages)
        cursor: api.Cursor | None = None
        page_spec = spec
        while True:
            try:
                envelopes, next_cursor = await self.query_page(page_spec, cursor)
            except AnswerTooLarge:
                limit = page_spec.limit or MAX_PAGE_SIZE
                if limit == 1:
                    raise
                shrunk = 1 if limit <= SHRUNK_PAGE_SIZE else SHRUNK_PAGE_SIZE
                page_spec = _with_limit(page_spec, shrunk)
                continue
            guard.check_page(spec.topic, envelopes, page_spec.limit or MAX_PAGE_SIZE)
            for envelope in envelopes:
                yield envelope
            if next_cursor is None:
                return
            guard.check_cursor(next_cursor.SerializeToString(deterministic=True))
            cursor = next_cursor

    async def query(self, spec: QuerySpec, *, max_results: int | None = None) -> list[Envelope]:
        """Collect a query across pages (stopping after ``max_results`` if given)."""
        results: list[Envelope] = []
        async for envelope in self.iter_query(spec):
            results.append(envelope)
            if max_results is not None and len(results) >= max_results:
                break
        return results

    async def batch_query(self, specs: Sequence[QuerySpec]) -> list[list[Envelope]]:
        """First page of several queries in as few round trips as the node allows."""
        results: list[list[Envelope]] = []
        for start in range(0, len(specs), MAX_BATCH):
            chunk = specs[start : start + MAX_BATCH]
            request = api.BatchQueryRequest(requests=[_query_request(s) for s in chunk])
            reply = parse_message(
                await self._post("/message/v1/batch-query", json_format.MessageToDict(request)),
                api.BatchQueryResponse(),
                "batch query answer",
            )
            if len(reply.responses) != len(chunk):
                raise NodeMisbehaving(
                    f"the node answered {len(reply.responses)} queries of a batch of {len(chunk)}"
                )
            results.extend(
                [Envelope.from_proto(e) for e in response.envelopes] for response in reply.responses
            )
        return results

    async def subscribe(self, topics: Sequence[str]) -> AsyncIterator[Envelope]:
        """Envelopes published to ``topics`` from now on (newline-delimited JSON stream)."""
        body = json_format.MessageToDict(api.SubscribeRequest(content_topics=list(topics)))
        try:
            async with self._http().post(
                self.base_url + "/message/v1/subscribe",
                json=body,
                timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            ) as response:
                if response.status >= 400:
                    raise rejection(response.status, await read_body(response))
                async for line in response.content:
                    if not line.strip():
                        continue
                    item = json_value(line)
                    payload = item.get("result", item) if isinstance(item, dict) else item
                    yield Envelope.from_proto(parse_message(payload, api.Envelope(), "stream"))
        except aiohttp.ClientConnectionError as exc:
            raise NodeUnreachable(f"subscription to {self.base_url} broke: {exc}") from exc
        except (aiohttp.ClientError, ValueError) as exc:  # a line over aiohttp's limit
            raise NodeMisbehaving(f"the subscription stream is malformed: {exc}") from None


def _with_limit(spec: QuerySpec, limit: int) -> QuerySpec:
    return dataclasses.replace(spec, limit=limit)
