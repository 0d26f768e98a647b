"""Operations: /healthz, /metrics, CORS, graceful SIGTERM, JSON logs."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from app.xmtpnode import NodeServer
from app.xmtpnode.ops import CorsPolicy
from app.xmtpnode.server import ServeOptions
from tests.support.message_api import envelope_json, post, publish
from tests.support.node import RunningNode
from tests.support.node_process import NodeProcess

T0 = 1_700_000_000_000_000_000
TOPIC = "/xmtp/0/m-" + "0" * 64 + "/proto"


@pytest.mark.asyncio
async def test_healthz_follows_the_store(node: RunningNode, http: aiohttp.ClientSession) -> None:
    async with http.get(node.url + "/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok"})
    node.server.storage.close()
    async with http.get(node.url + "/healthz") as response:
        assert response.status == 503
        assert (await response.json())["status"].startswith("store unavailable")


@pytest.mark.asyncio
async def test_metrics_count_requests_refusals_and_streams(
    node: RunningNode, http: aiohttp.ClientSession, alice_token: str
) -> None:
    assert (
        await publish(http, node.url, alice_token, envelope_json(TOPIC, T0, b"m"))
    ).status == 200
    assert (
        await post(http, node.url, "/message/v1/query", {"contentTopics": [TOPIC]})
    ).status == 200
    bad = await post(http, node.url, "/message/v1/query", {"contentTopics": ["t"] * 1_001})
    assert bad.status == 400
    async with http.post(
        node.url + "/message/v1/subscribe", data=json.dumps({"contentTopics": [TOPIC]})
    ) as stream:
        assert stream.status == 200
        async with http.get(node.url + "/metrics") as response:
            assert response.status == 200
            assert response.content_type == "text/plain"
            text = await response.text()
    assert 'xmtpnode_requests_total{code="200",route="/message/v1/publish"} 1.0' in text
    assert 'xmtpnode_requests_total{code="400",route="/message/v1/query"} 1.0' in text
    assert 'xmtpnode_request_duration_seconds_count{route="/message/v1/query"} 2.0' in text
    assert "xmtpnode_open_streams 1.0" in text
    assert "xmtpnode_open_connections" in text
    assert "xmtpnode_store_errors_total 0.0" in text


@pytest.mark.asyncio
async def test_cors_preflight_and_headers_on_every_answer(
    node: RunningNode, http: aiohttp.ClientSession
) -> None:
    preflight = {
        "Origin": "http://127.0.0.1:9999",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-client-version,x-app-version",
    }
    for path in ("/message/v1/publish", "/message/v1/query", "/message/v1/subscribe", "/nope"):
        async with http.options(node.url + path, headers=preflight) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            allowed = response.headers["Access-Control-Allow-Headers"].lower().split(",")
            for header in ("content-type", "authorization", "x-client-version", "x-app-version"):
                assert header in allowed
            assert "POST" in response.headers["Access-Control-Allow-Methods"]
    # Answers, errors included, carry the origin header too.
    origin = {"Origin": "http://127.0.0.1:9999"}
    async with http.post(node.url + "/message/v1/publish", data="{}", headers=origin) as response:
        assert response.status == 401
        assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.asyncio
async def test_configured_origins_only(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    options = ServeOptions(cors=CorsPolicy.from_list(["http://app.example"]))
    server = NodeServer.open(tmp_path / "n.sqlite3", options=options)
    url = await server.start()
    try:
        for origin, allowed in (("http://app.example", True), ("http://evil.example", False)):
            async with http.post(
                url + "/message/v1/query",
                data=json.dumps({"contentTopics": [TOPIC]}),
                headers={"Origin": origin},
            ) as response:
                assert response.status == 200
                got = response.headers.get("Access-Control-Allow-Origin")
                assert got == (origin if allowed else None)
                assert "Origin" in response.headers.get("Vary", "")
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_sigterm_under_load_exits_0_and_loses_nothing_acknowledged(
    tmp_path: Path, alice_token: str
) -> None:
    acknowledged: set[int] = set()
    db = str(tmp_path / "node.sqlite3")
    with NodeProcess(db, "--log-format", "json", log_path=tmp_path / "node.log") as node:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                node.url + "/message/v1/subscribe",
                data=json.dumps({"contentTopics": [TOPIC]}),
                timeout=aiohttp.ClientTimeout(total=30),
            ) as stream:

                async def publisher(worker: int) -> None:
                    for i in range(2_000):  # bounded; the node stops long before
                        n = worker * 100_000 + i
                        try:
                            reply = await publish(
                                http, node.url, alice_token, envelope_json(TOPIC, T0 + n, b"%d" % n)
                            )
                        except aiohttp.ClientError:
                            return
                        if reply.status == 200:
                            acknowledged.add(n)
                        elif reply.status in (429, 503):
                            await asyncio.sleep(0.01)
                        else:
                            return

                load = [asyncio.create_task(publisher(w)) for w in range(16)]
                await asyncio.sleep(1.0)
                started = time.monotonic()
                status = await asyncio.to_thread(node.terminate, 20.0)
                assert status == 0
                assert time.monotonic() - started < 10
                await asyncio.wait_for(asyncio.gather(*load), 20)
                # The stream ended cleanly (a proper end of the chunked body, not a reset).
                rest = await asyncio.wait_for(stream.content.read(), 10)
                assert isinstance(rest, bytes)
        log_lines = node.log_text().splitlines()
    assert len(acknowledged) > 50
    with sqlite3.connect(db) as conn:
        stored = {int(m) for (m,) in conn.execute("SELECT message FROM envelopes")}
    assert acknowledged <= stored
    entries = [json.loads(line) for line in log_lines]  # every line is one JSON object
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
