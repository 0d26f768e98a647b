"""The pieces of the node's ceilings on their own: settings, fair turns, buckets, log repeats."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from app.xmtpnode.fairness import FairLane, LimitExceeded, TokenBuckets
from app.xmtpnode.limits import NodeLimits, parse_limit_setting
from app.xmtpnode.logs import OncePerInterval
from tests.support.paths import REPO_ROOT


def test_connection_caps_fit_below_the_descriptor_limit() -> None:
    fitted = NodeLimits().fitted_to_descriptors(1024)
    assert fitted.max_connections == 1024 - 128
    assert fitted.max_connections_per_address == (1024 - 128) // 2
    roomy = NodeLimits().fitted_to_descriptors(1_000_000)
    assert roomy.max_connections == NodeLimits().max_connections


def test_limit_overrides_are_checked() -> None:
    limits = NodeLimits().with_overrides(dict([parse_limit_setting("query-concurrency=3")]))
    assert limits.query_concurrency == 3
    assert NodeLimits().with_overrides({"header_timeout_s": "2.5"}).header_timeout_s == 2.5
    for bad in ({"nope": "1"}, {"topics_per_query": "x"}, {"max_wait_s": "-1"}):
        with pytest.raises(ValueError):
            NodeLimits().with_overrides(bad)
    with pytest.raises(ValueError):
        parse_limit_setting("novalue")


@pytest.mark.asyncio
async def test_bad_limit_flag_exits_2_with_one_line() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.xmtpnode",
        "--limit",
        "nope=1",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2
    assert b"unknown limit 'nope'" in err


def test_token_buckets_refill_and_refuse() -> None:
    now = [0.0]
    buckets = TokenBuckets("t", rate=2.0, capacity=4.0, clock=lambda: now[0])
    for _ in range(4):
        buckets.spend("a", 1, "x")
    with pytest.raises(LimitExceeded) as refused:
        buckets.spend("a", 1, "x")
    assert (refused.value.limit, refused.value.http_status, int(refused.value.code)) == (
        "t",
        429,
        8,
    )
    buckets.spend("b", 4, "x")  # another key has its own bucket
    now[0] = 1.0  # two tokens back
    buckets.spend("a", 2, "x")
    with pytest.raises(LimitExceeded):
        buckets.spend("a", 1, "x")
    TokenBuckets("off", rate=0, capacity=0).spend("a", 10**9, "x")  # 0 = unlimited


@pytest.mark.asyncio
async def test_fair_lane_serves_waiting_clients_in_turn() -> None:
    lane = FairLane("q", concurrency=1, pending_per_client=3, max_wait_s=5)
    order: list[str] = []
    gate = asyncio.Event()

    async def request(client: str) -> None:
        async with lane.turn(client):
            order.append(client)
            await gate.wait()

    first = asyncio.create_task(request("flooder"))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(request("flooder")) for _ in range(3)]
    await asyncio.sleep(0)
    with pytest.raises(LimitExceeded):  # a fourth waiting request of the same client
        await lane.turn("flooder").__aenter__()
    waiting.append(asyncio.create_task(request("other")))
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(first, *waiting)
    # The other client came last but was served second, not after the flooder's backlog.
    assert order[:3] == ["flooder", "flooder", "other"]
    assert lane.active == 0 and lane.waiting == 0


@pytest.mark.asyncio
async def test_fair_lane_refuses_after_the_longest_wait() -> None:
    lane = FairLane("q", concurrency=1, pending_per_client=10, max_wait_s=0.05)
    async with lane.turn("a"):
        with pytest.raises(LimitExceeded) as refused:
            async with lane.turn("b"):
                pass
    assert refused.value.limit == "q_wait"
    assert lane.active == 0 and lane.waiting == 0


def test_repeated_log_lines_are_counted_not_written() -> None:
    now = [0.0]
    once = OncePerInterval(10.0, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("n", logging.WARNING, "", 0, msg, (), None)

    assert once.filter(record("accept failed %s"))
    assert not any(once.filter(record("accept failed %s")) for _ in range(1000))
    assert once.filter(record("another kind"))
    now[0] = 11.0
    summary = record("accept failed %s")
    assert once.filter(summary)
    assert "1000 more like it" in str(summary.msg)
