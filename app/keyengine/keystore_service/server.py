"""The loopback HTTP front of the keystore: ``POST /keystore/v1/<method>``, protobuf both ways.

Refusals (JSON ``{"code", "message"}``), checked in this order so that nothing runs and nothing
changes for a refused request: a ``Host`` that is not our own address (403, DNS rebinding), a
missing, unknown or revoked token (401), an ``Origin`` not approved for the app (403: no web
page can drive the keystore), an unknown method (404), a body over 4 MiB (413), locked keys
(503), key export without permission (403), a request that is not valid protobuf (400).
Nothing about payloads, topics or keys is logged (an unexpected failure logs its type only, and
answers 500); ``on_call`` hears app, method, item count and status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiohttp import web

from app.keyengine.errors import KeyEngineError
from app.keyengine.keystore_service.apps import AppRecord, AppRegistry
from app.keyengine.keystore_service.errors import KeystoreMethodError, Refused
from app.keyengine.keystore_service.methods import EXPORT_METHOD, KeystoreMethods, find_method

log = logging.getLogger(__name__)
MAX_BODY = 4 * 1024 * 1024
PROTOBUF = "application/x-protobuf"
PATH_PREFIX = "/keystore/v1/"


@dataclass(frozen=True, slots=True)
class CallRecord:
    app: str
    method: str
    items: int
    status: int


CallObserver = Callable[[CallRecord], None]


def _refusal(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


class KeystoreServer:
    """Serves ``methods`` to the apps in ``registry`` on ``host:port`` (loopback only)."""

    def __init__(
        self,
        methods: KeystoreMethods,
        registry: AppRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_call: CallObserver | None = None,
        offload: bool = False,
    ) -> None:
        """``offload``: run the methods on one worker thread (a GUI loop must never wait for a
        batch's crypto or a state file's fsync); calls stay serialised either way."""
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the keystore serves on loopback only (127.0.0.1)")
        self.methods = methods
        self.registry = registry
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self._on_call = on_call
        self._runner: web.AppRunner | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._allowed_hosts: set[str] = set()
        self._executor = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="keystore") if offload else None
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> str:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._allowed_hosts = {f"{host}:{self.port}", f"localhost:{self.port}"}
        self._flusher = asyncio.get_running_loop().create_task(self._flush_usage())
        return self.url

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        with contextlib.suppress(OSError):
            self.registry.flush_usage()

    async def __aenter__(self) -> KeystoreServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _flush_usage(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            snapshot = self.registry.usage_snapshot()
            if snapshot is None:
                continue
            try:
                # fsync off the loop: a slow disk must not stall the apps' calls
                await asyncio.to_thread(self.registry.write_usage, snapshot)
            except OSError as exc:
                log.warning("cannot save keystore usage: %s", exc)

    # -- one request -----------------------------------------------------------------------

    def _authorise(self, request: web.Request) -> AppRecord:
        if request.headers.get("Host", "") not in self._allowed_hosts:
            raise Refused(
                403, "forbidden_host", "requests must be addressed to the companion itself"
            )
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused(401, "unauthorized", "an app token is required (Authorization: Bearer …)")
        app = self.registry.authenticate(token.strip())
        if app is None:
            raise Refused(401, "unauthorized", "this app token is unknown or was revoked")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in app.origins:
            raise Refused(403, "forbidden_origin", "browser origins are not approved for this app")
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        app_name = ""
        name = request.path[len(PATH_PREFIX) :] if request.path.startswith(PATH_PREFIX) else ""
        try:
            app = self._authorise(request)
            app_name = app.name
            if request.method != "POST" or not name:
                raise Refused(404, "unknown_method", "use POST /keystore/v1/<method>")
            find_method(name)
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise Refused(413, "too_large", "request bodies are limited to 4 MiB")
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                raise Refused(413, "too_large", "request bodies are limited to 4 MiB") from None
            if name == EXPORT_METHOD and not app.allow_export:
                if self.methods.current_bundle() is None:
                    raise Refused(503, "locked", "the companion's keys are locked")
                raise Refused(403, "export_not_allowed", "this app may not export the keys")
            if self._executor is None:
                result = self.methods.call(name, body, app.name)
            else:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(
                    self._executor, self.methods.call, name, body, app.name
                )
        except Refused as refused:
            self._observe(app_name, name, 0, refused.status)
            return _refusal(refused.status, refused.code, refused.message)
        except KeystoreMethodError as exc:
            self._observe(app_name, name, 1, 400)
            return _refusal(400, exc.code_name, exc.message)
        except KeyEngineError as exc:
            self._observe(app_name, name, 1, 400)
            return _refusal(400, "ERROR_CODE_INVALID_INPUT", str(exc))
        except Exception as exc:  # a bug must answer, not drop the connection
            log.error("keystore method %s failed: %s", name, type(exc).__name__)
            self._observe(app_name, name, 0, 500)
            return _refusal(500, "internal_error", f"the companion failed ({type(exc).__name__})")
        self.registry.record(app_name, name)
        self._observe(app_name, name, result.items, 200)
        return web.Response(body=result.body, content_type=PROTOBUF)

    def _observe(self, app: str, method: str, items: int, status: int) -> None:
        if self._on_call is not None and app:
            self._on_call(CallRecord(app, method, items, status))
