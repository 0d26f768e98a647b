"""The node's own HTTP/1.1 layer, spoken to over raw sockets the way odd clients speak.

Browsers and SDKs send one request at a time with Content-Length; curl sends
``Expect: 100-continue`` for larger bodies, scripts send ``Transfer-Encoding: chunked`` or
HTTP/1.0, a proxy may pipeline, and a hostile client sends ambiguous framing.  Each case gets a
correct answer or a clean refusal, and the node keeps serving.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.keyengine.authn import create_auth_token
from app.keyengine.bundles import PrivateKeyBundleV1
from app.xmtpnode import NodeServer, serve
from tests.support.message_api import envelope_json

T0 = 1_700_000_000_000_000_000
TOPIC = "/xmtp/0/m-" + "c" * 64 + "/proto"

Answer = tuple[int, dict[str, str], bytes]


@pytest_asyncio.fixture
async def url(tmp_path: Path) -> AsyncIterator[str]:
    async with serve(db_path=tmp_path / "node.sqlite3") as base:
        yield base


async def _connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _answer(reader: asyncio.StreamReader) -> Answer:
    """One response: status, lower-case headers, body (by Content-Length or chunked)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:-2])}
    if headers.get("transfer-encoding") == "chunked":
        return status, headers, b""  # the caller reads the chunks
    length = int(headers.get("content-length", "0"))
    return status, headers, await asyncio.wait_for(reader.readexactly(length), 5)


def _request(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _publish_body(timestamp_ns: int, message: bytes = b"hello") -> bytes:
    return json.dumps({"envelopes": [envelope_json(TOPIC, timestamp_ns, message)]}).encode()


def _query_body() -> bytes:
    return json.dumps({"contentTopics": [TOPIC], "pagingInfo": {"direction": 1}}).encode()


async def _closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


@pytest.fixture
def auth(alice: PrivateKeyBundleV1) -> str:
    return f"Authorization: Bearer {create_auth_token(alice)}\r\n"


@pytest.mark.asyncio
async def test_pipelined_requests_are_answered_in_order(url: str, auth: str) -> None:
    reader, writer = await _connect(url)
    writer.write(
        _request("POST", "/message/v1/publish", _publish_body(T0), auth)
        + _request("POST", "/message/v1/publish", _publish_body(T0 + 1), auth)
        + _request("GET", "/message/v1/nope")
        + _request("POST", "/message/v1/query", _query_body())
    )
    answers = [await _answer(reader) for _ in range(4)]
    assert [status for status, _, _ in answers] == [200, 200, 404, 200]
    page = json.loads(answers[3][2])
    assert [e["timestampNs"] for e in page["envelopes"]] == [str(T0), str(T0 + 1)]
    writer.close()


@pytest.mark.asyncio
async def test_expect_continue_is_answered_before_the_body_is_sent(url: str, auth: str) -> None:
    """curl's behaviour for bodies over 1 KiB: head first, body only after ``100 Continue``."""
    body = _publish_body(T0, b"x" * 5000)
    reader, writer = await _connect(url)
    whole = _request("POST", "/message/v1/publish", body, auth + "Expect: 100-continue\r\n")
    writer.write(whole[: -len(body)])
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(body)
    assert (await _answer(reader))[0] == 200
    writer.close()


@pytest.mark.asyncio
async def test_chunked_request_bodies_are_read_whole(url: str, auth: str) -> None:
    body = _publish_body(T0)
    chunks = b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    reader, writer = await _connect(url)
    writer.write(
        b"POST /message/v1/publish HTTP/1.1\r\nHost: node\r\nTransfer-Encoding: chunked\r\n"
        + auth.encode()
        + b"\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    assert (await _answer(reader))[0] == 200
    writer.write(_request("POST", "/message/v1/query", _query_body()))
    status, _, answer = await _answer(reader)
    assert status == 200 and len(json.loads(answer)["envelopes"]) == 1
    writer.close()


@pytest.mark.asyncio
async def test_connection_close_and_http_1_0_end_the_connection(url: str) -> None:
    for request in (
        _request("GET", "/healthz", extra="Connection: close\r\n"),
        b"GET /healthz HTTP/1.0\r\nHost: node\r\n\r\n",
    ):
        reader, writer = await _connect(url)
        writer.write(request)
        status, headers, body = await _answer(reader)
        assert (status, headers["connection"], json.loads(body)) == (200, "close", {"status": "ok"})
        assert await _closed(reader)
        writer.close()


@pytest.mark.asyncio
async def test_head_answers_like_get_without_a_body(url: str) -> None:
    reader, writer = await _connect(url)
    writer.write(_request("HEAD", "/healthz") + _request("GET", "/healthz"))
    head_status, head_headers, _ = await _answer_without_body(reader)
    status, headers, body = await _answer(reader)
    assert head_status == status == 200
    assert head_headers["content-length"] == headers["content-length"] == str(len(body))
    writer.close()


async def _answer_without_body(reader: asyncio.StreamReader) -> Answer:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:-2])}
    return int(lines[0].split(" ")[1]), headers, b""


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "head",
    [
        # Both framings at once: the request-smuggling shape, refused rather than guessed.
        b"POST /message/v1/query HTTP/1.1\r\nHost: n\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"POST /message/v1/query HTTP/1.1\r\nHost: n\r\n"
        + b"".join(b"X-Filler-%d: %b\r\n" % (i, b"v" * 1000) for i in range(70))
        + b"\r\n",  # every field under its ceiling, the head over 64 KiB
        b"BREW /pot HTTP/1.1\r\nHost: n\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 40,  # TLS to a plain port
    ],
    ids=["content-length-and-chunked", "head-over-64k", "unknown-method", "tls-hello"],
)
async def test_unparsable_requests_get_error_json_and_a_closed_connection(
    url: str, head: bytes
) -> None:
    reader, writer = await _connect(url)
    writer.write(head)
    status, headers, body = await _answer(reader)
    assert status == 400 and headers["connection"] == "close"
    assert json.loads(body) == {"code": 3, "message": "malformed HTTP request", "details": []}
    assert await _closed(reader)
    writer.close()
    reader, writer = await _connect(url)  # and the node still serves
    writer.write(_request("GET", "/healthz"))
    assert (await _answer(reader))[0] == 200
    writer.close()


@pytest.mark.asyncio
async def test_a_refused_request_with_an_unread_body_closes_its_connection(url: str) -> None:
    """A publish without a token is refused before its body is read; the rest of the body
    must not be taken for the next request."""
    reader, writer = await _connect(url)
    body = _publish_body(T0)
    writer.write(_request("POST", "/message/v1/publish", body)[: -len(body) // 2])
    status, headers, answer = await _answer(reader)
    assert (status, json.loads(answer)["code"], headers["connection"]) == (401, 16, "close")
    assert await _closed(reader)
    writer.close()


@pytest.mark.asyncio
async def test_a_body_over_the_ceiling_is_refused_without_being_kept(url: str, auth: str) -> None:
    reader, writer = await _connect(url)
    writer.write(
        b"POST /message/v1/publish HTTP/1.1\r\nHost: n\r\nContent-Length: 104857600\r\n"
        + auth.encode()
        + b"\r\n"
        + b"x" * 65536
    )
    status, headers, answer = await _answer(reader)
    assert (status, json.loads(answer)["code"], headers["connection"]) == (429, 8, "close")
    writer.close()


@pytest.mark.asyncio
async def test_a_stream_is_chunked(url: str, auth: str) -> None:
    reader, writer = await _connect(url)
    subscribe = json.dumps({"contentTopics": [TOPIC]}).encode()
    writer.write(_request("POST", "/message/v1/subscribe", subscribe))
    status, headers, _ = await _answer(reader)
    assert (status, headers["transfer-encoding"]) == (200, "chunked")
    other_reader, other = await _connect(url)
    other.write(_request("POST", "/message/v1/publish", _publish_body(T0), auth))
    assert (await _answer(other_reader))[0] == 200
    size = int(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5), 16)
    line = json.loads(await reader.readexactly(size))
    assert line["result"]["timestampNs"] == str(T0)
    other.close()
    writer.close()


@pytest.mark.asyncio
async def test_a_client_that_does_not_read_its_answers_holds_one_at_a_time(
    tmp_path: Path, auth: str
) -> None:
    """Twenty pipelined queries of a 5 MB page, none read: without back-pressure between
    requests the node would buffer 100 MB for this one client."""
    server = NodeServer.open(tmp_path / "node.sqlite3")
    url = await server.start()
    try:
        reader, writer = await _connect(url)
        for i in range(4):
            writer.write(
                _request(
                    "POST", "/message/v1/publish", _publish_body(T0 + i, b"\1" * 1_000_000), auth
                )
            )
            assert (await _answer(reader))[0] == 200
        query = json.dumps({"contentTopics": [TOPIC], "pagingInfo": {"limit": 4}}).encode()
        writer.write(_request("POST", "/message/v1/query", query) * 20)
        await asyncio.sleep(1.0)
        assert server._listener is not None
        buffered = sum(
            c.transport.get_write_buffer_size()
            for c in server._listener.connections
            if c.transport is not None
        )
        assert buffered < 12_000_000, buffered  # about one page, not twenty
        answers = [await _answer(reader) for _ in range(20)]
        assert all(status == 200 for status, _, _ in answers)
        assert all(len(json.loads(body)["envelopes"]) == 4 for _, _, body in answers)
        writer.close()
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_a_malformed_chunked_body_is_refused_at_once(url: str, auth: str) -> None:
    """The handler is already waiting for the body when its framing turns out to be broken:
    it gets 400 now, not a body timeout later."""
    reader, writer = await _connect(url)
    writer.write(
        b"POST /message/v1/publish HTTP/1.1\r\nHost: node\r\nTransfer-Encoding: chunked\r\n"
        + auth.encode()
        + b'\r\n5\r\n{"env\r\n'
    )
    await asyncio.sleep(0.2)  # the handler starts and waits for the rest
    writer.write(b"zz\r\nnot a chunk\r\n")
    status, headers, body = await _answer(reader)
    assert (status, json.loads(body)["code"], headers["connection"]) == (400, 3, "close")
    assert await _closed(reader)
    writer.close()
