"""Median-of-samples timing, one sample per call."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable


def median_us(fn: Callable[[], object], iterations: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    gc.disable()
    try:
        for _ in range(iterations):
            start = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return statistics.median(samples) / 1000


def median_us_async(
    fn: Callable[[], Awaitable[object]], iterations: int, warmup: int = 20
) -> float:
    """Time an async operation inside one running loop (no per-call loop start-up)."""

    async def run() -> float:
        for _ in range(warmup):
            await fn()
        samples = []
        gc.disable()
        try:
            for _ in range(iterations):
                start = time.perf_counter_ns()
                await fn()
                samples.append(time.perf_counter_ns() - start)
        finally:
            gc.enable()
        return statistics.median(samples) / 1000

    return asyncio.run(run())
