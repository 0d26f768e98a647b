"""The answer ceiling never costs legitimate data: a page of large envelopes on a real node is
read again in smaller pages, and ``max_message_bytes`` passes large envelopes on undecoded."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.keyengine.network import (
    ASCENDING,
    AnswerTooLarge,
    Envelope,
    QuerySpec,
    TokenSource,
    XmtpClient,
)
from app.keyengine.recipes import generate_identity
from app.keyengine.wallets import RawKeySigner
from app.xmtpnode.embedded import EmbeddedNode

pytestmark = pytest.mark.asyncio

MESSAGE_BYTES = 1_000_000


@pytest.fixture
def node(tmp_path: Path) -> Iterator[str]:
    with EmbeddedNode(db_path=tmp_path / "node.sqlite3") as running:
        assert running.url is not None
        yield running.url


async def _publish_large(url: str, topic: str, count: int) -> list[Envelope]:
    bundle = await generate_identity(RawKeySigner(bytes.fromhex("71" * 32)))
    base = time.time_ns()
    sent = [Envelope(topic, base + i, os.urandom(MESSAGE_BYTES)) for i in range(count)]
    async with XmtpClient(url) as client:
        for envelope in sent:
            await client.publish([envelope], TokenSource(bundle))
    return sent


async def test_a_page_over_the_ceiling_is_read_in_smaller_pages(node: str) -> None:
    topic = f"/xmtp/0/m-{secrets.token_hex(16)}/proto"
    sent = await _publish_large(node, topic, 12)
    # 12 × 1.33 MB of base64 exceed 4 MiB; pages of ten do too, so pages of one are used.
    async with XmtpClient(node, max_answer_bytes=4 * 1024 * 1024) as client:
        got = await client.query(QuerySpec(topic, direction=ASCENDING))
        assert got == sent
        with pytest.raises(AnswerTooLarge):
            async with XmtpClient(node, max_answer_bytes=512 * 1024) as tiny:
                await tiny.query(QuerySpec(topic))
        undecoded = await client.query(
            QuerySpec(topic, direction=ASCENDING, max_message_bytes=64 * 1024)
        )
    assert [(e.timestamp_ns, e.oversized, e.message) for e in undecoded] == [
        (e.timestamp_ns, True, b"") for e in sent
    ]
