"""Malformed input answers 400 with grpc-gateway's error JSON and at most one log line.

Measured before the fix: a JSON integer over 4,300 digits answered HTTP 500 with a 24-line
traceback in the log (publish and the unauthenticated query); headers over 8 KB logged a
traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from app.keyengine.authn import create_auth_token
from app.keyengine.recipes import generate_identity
from app.keyengine.topics import private_store_topic
from app.keyengine.wallets import RawKeySigner
from tests.support.message_api import envelope_json
from tests.support.node_process import NodeProcess

TOPIC = "/xmtp/0/m-" + "9" * 64 + "/proto"
HUGE_INTEGER = "9" * 5_000


async def _post(
    http: aiohttp.ClientSession, url: str, path: str, body: str, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    async with http.post(url + path, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


def _is_error_json(body: dict[str, object], code: int) -> bool:
    return (
        set(body) == {"code", "message", "details"}
        and body["code"] == code
        and body["details"] == []
        and isinstance(body["message"], str)
        and 0 < len(body["message"]) <= 300
    )


@pytest.mark.asyncio
async def test_malformed_requests_answer_400_and_log_little(tmp_path: Path) -> None:
    bundle = await generate_identity(RawKeySigner(b"\x05" * 32))
    auth = {"Authorization": f"Bearer {create_auth_token(bundle)}"}
    templates = {
        "/message/v1/query": [
            '{"contentTopics": ["@T"], "startTimeNs": @N}',
            '{"contentTopics": ["@T"], "pagingInfo": {"limit": @N}}',
            "[" * 100_000 + "]" * 100_000,
            '{"contentTopics": ' + "[" * 50_000 + "]" * 50_000 + "}",
        ],
        "/message/v1/publish": [
            '{"envelopes": [{"contentTopic": "@T", "timestampNs": @N, "message": ""}]}',
            '{"envelopes": [{"contentTopic": "@T", "timestampNs": "@N", "message": ""}]}',
        ],
        "/message/v1/batch-query": ['{"requests": [{"contentTopics": ["@T"], "endTimeNs": @N}]}'],
    }
    bodies = {
        path: [t.replace("@T", TOPIC).replace("@N", HUGE_INTEGER) for t in cases]
        for path, cases in templates.items()
    }
    with NodeProcess.in_dir(tmp_path) as node:
        async with aiohttp.ClientSession() as http:
            for path, cases in bodies.items():
                for body in cases:
                    status, answer = await _post(http, node.url, path, body, auth)
                    assert status == 400, (path, body[:80], answer)
                    assert _is_error_json(answer, 3), answer
            # Oversized header line, and too many headers: parse errors of the HTTP layer.
            for headers in (
                {"X-Big": "a" * 9_000},
                {f"X-H{i}": "v" for i in range(200)},
            ):
                status, answer = await _post(http, node.url, "/message/v1/query", "{}", headers)
                assert status == 400
                assert _is_error_json(answer, 3), answer
            # The node still serves.
            status, answer = await _post(
                http, node.url, "/message/v1/query", json.dumps({"contentTopics": [TOPIC]}), {}
            )
            assert status == 200, answer
        log = node.log_text()
    assert "Traceback" not in log
    assert log.count("unparsable request") <= 1  # the second one is counted, not logged


@pytest.mark.asyncio
async def test_refusals_use_the_reference_texts(tmp_path: Path) -> None:
    alice = await generate_identity(RawKeySigner(b"\x06" * 32))
    bob = await generate_identity(RawKeySigner(b"\x07" * 32))
    auth = {"Authorization": f"Bearer {create_auth_token(alice)}"}
    cases = [
        (envelope_json(private_store_topic(bob.wallet_address), 1, b"x"), 403, 7,
         "publishing to restricted topic"),
        (envelope_json("/" + "t" * 300, 1, b"x"), 400, 3, "topic length too big"),
        (envelope_json(TOPIC, 1, b"\0" * 1_048_215), 400, 3, "message too big"),
    ]  # fmt: skip
    with NodeProcess.in_dir(tmp_path) as node:
        async with aiohttp.ClientSession() as http:
            for envelope, status, code, text in cases:
                body = json.dumps({"envelopes": [envelope]})
                got, answer = await _post(http, node.url, "/message/v1/publish", body, auth)
                assert (got, answer) == (status, {"code": code, "message": text, "details": []})
        log = node.log_text()
    # The details (who, where) are in the log, not in the answer.
    assert alice.wallet_address in log
    assert private_store_topic(bob.wallet_address) in log
