"""A real browser app talks to the node: headless Chromium, fetch in ``cors`` mode.

The page is served from another loopback origin (another port) than the node, so the
browser enforces CORS: the publish (``Authorization`` and xmtp-js's ``X-Client-Version`` /
``X-App-Version`` headers) needs a preflight, and the answers are readable only with
``Access-Control-Allow-Origin``.  The page posts what it got back to its own server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.support.message_api import envelope_json
from tests.support.node import RunningNode

TOPIC = "/xmtp/0/m-" + "b" * 64 + "/proto"
T0 = 1_700_000_000_000_000_000
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

PAGE = """<!doctype html><html><body><script>
const node = %(node)s, token = %(token)s, envelope = %(envelope)s, topic = %(topic)s;
const headers = {"Content-Type": "text/plain;charset=UTF-8",
                 "X-Client-Version": "xmtp-js/13.0.4", "X-App-Version": "browser-test/1"};
async function run() {
  const published = await fetch(node + "/message/v1/publish", {
    method: "POST", mode: "cors",
    headers: {...headers, "Authorization": "Bearer " + token},
    body: JSON.stringify({envelopes: [envelope]})});
  const queried = await fetch(node + "/message/v1/query", {
    method: "POST", mode: "cors", headers,
    body: JSON.stringify({contentTopics: [topic]})});
  return {publish: published.status, query: queried.status, body: await queried.json()};
}
run().catch(e => ({error: String(e)})).then(result =>
  fetch("/result", {method: "POST", body: JSON.stringify(result)}));
</script></body></html>"""


@pytest.mark.asyncio
async def test_a_browser_page_on_another_origin_publishes_and_queries(
    node: RunningNode, alice_token: str, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: `make test` installs it (Debian package chromium)"
    envelope = envelope_json(TOPIC, T0, b"from the browser")
    page = PAGE % {
        "node": json.dumps(node.url),
        "token": json.dumps(alice_token),
        "envelope": json.dumps(envelope),
        "topic": json.dumps(TOPIC),
    }
    result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def serve_page(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def take_result(request: web.Request) -> web.Response:
        if not result.done():
            result.set_result(json.loads(await request.text()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", serve_page)
    app.router.add_post("/result", take_result)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    page_url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    browser = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", page_url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the renderers go with it
    )
    try:
        got = await asyncio.wait_for(result, 60)
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
        await runner.cleanup()
    assert got.get("error") is None, got
    assert (got["publish"], got["query"]) == (200, 200)
    assert got["body"]["envelopes"] == [envelope]
    async with aiohttp.ClientSession() as http, http.get(node.url + "/metrics") as response:
        metrics = await response.text()
    # The browser asked first (a preflight answered 204), then published.
    assert 'xmtpnode_requests_total{code="204",route="/message/v1/publish"} 1.0' in metrics
