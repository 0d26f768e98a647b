"""Subscribers that never read cannot pin the node's memory.

Measured before the fix: four such sockets plus 1 MB ephemeral messages took the node to
4,016 MB, which stayed after they disconnected (the queue of a subscription capped envelopes,
not bytes).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import aiohttp
import pytest

from app.keyengine.authn import create_auth_token
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner
from tests.support.message_api import envelope_json
from tests.support.node_process import NodeProcess

EPHEMERAL = "/xmtp/0/mE-" + "7" * 64 + "/proto"
MESSAGE_BYTES = 1_000_000
PUBLISHES = 300  # 300 MB through the node: what it held for slow readers before the fix
RSS_CEILING = 160 * 1024 * 1024  # measured: ≈ 65 MB with the budgets, ≈ 340 MB without
SETTLED_ABOVE_BASELINE = 80 * 1024 * 1024


def _stalled_subscriber(url: str) -> socket.socket:
    """Subscribe over a raw socket with a tiny receive buffer, then never read."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    body = json.dumps({"contentTopics": [EPHEMERAL]}).encode()
    head = (
        f"POST /message/v1/subscribe HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


async def _tokens(count: int) -> list[str]:
    tokens = []
    for i in range(count):
        bundle = await generate_identity(RawKeySigner(bytes([i + 1]) * 32))
        tokens.append(create_auth_token(bundle))
    return tokens


@pytest.mark.asyncio
async def test_stalled_subscribers_stay_under_the_rss_ceiling(tmp_path: Path) -> None:
    tokens = await _tokens(3)  # 100 MB each: under the per-wallet hourly byte quota
    with NodeProcess.in_dir(tmp_path) as node:
        async with aiohttp.ClientSession() as http:
            # Warm up the code paths once, then take the baseline.
            await _publish(http, node.url, tokens[0], 0)
            await asyncio.sleep(0.5)
            baseline = node.rss_bytes()
            subscribers = [_stalled_subscriber(node.url) for _ in range(4)]
            await asyncio.sleep(0.5)  # the subscriptions are registered
            peak = 0
            started = time.monotonic()
            for i in range(PUBLISHES):
                await _publish(http, node.url, tokens[i % len(tokens)], i + 1)
                if i % 10 == 0:
                    peak = max(peak, node.rss_bytes())
                assert time.monotonic() - started < 120
            peak = max(peak, node.rss_bytes())
            for sock in subscribers:
                sock.close()
            await asyncio.sleep(2.0)
            settled = node.rss_bytes()
            async with http.get(node.url + "/metrics") as response:
                metrics = await response.text()
    assert peak < RSS_CEILING, (peak, baseline)
    assert settled < baseline + SETTLED_ABOVE_BASELINE, (settled, baseline)
    assert 'xmtpnode_refusals_total{limit="stream_budget"} 4.0' in metrics


async def _publish(http: aiohttp.ClientSession, url: str, token: str, index: int) -> None:
    message = index.to_bytes(4, "big") * (MESSAGE_BYTES // 4)
    body = {"envelopes": [envelope_json(EPHEMERAL, 1_700_000_000_000_000_000 + index, message)]}
    async with http.post(
        url + "/message/v1/publish",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 200, await response.text()
