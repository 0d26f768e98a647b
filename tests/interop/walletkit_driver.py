"""asyncio client for ``tests/interop/walletkit/``: the official WalletConnect v2 SDKs as peers.

* ``WalletKitPeer`` runs ``wallet.mjs`` (``@reown/walletkit`` 1.6.0, the wallet our dApp talks to).
* ``JsDappPeer`` runs ``dapp_smoke.mjs`` (``@walletconnect/sign-client`` 2.25.0, an official dApp),
  used to check the wallet peer and a relay fixture independently of our Python dApp.

Both speak JSON lines: commands ``{"cmd": ..., "cid": n, ...}`` on stdin; on stdout one JSON object
per line, either ``{"event": "reply", "cid": n, "ok": ..., "result"|"error": ...}`` for a command or
``{"event": <name>, ...}`` for something that happened.  ``send()`` returns a command's result
(raising ``PeerError`` if it failed); ``wait_for()`` returns the first event of that name (and
matching fields) not yet returned by an earlier ``wait_for()``, waiting if it has not arrived yet.

    async with await WalletKitPeer.start(relay.url, private_key="11" * 32) as wallet:
        await wallet.send("pair", uri=uri)
        proposal = await wallet.wait_for("proposal")
        await wallet.send({"cmd": "approve"})
        request = await wallet.wait_for("request", method="personal_sign")
        await wallet.send("sign", id=request["id"])
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

WALLETKIT_DIR = Path(__file__).resolve().parent / "walletkit"

Event = dict[str, Any]


class PeerError(RuntimeError):
    """The peer answered a command with an error, exited, or an expected event did not come."""


def walletkit_available() -> bool:
    return (
        shutil.which("node") is not None
        and (WALLETKIT_DIR / "node_modules" / "@reown" / "walletkit").is_dir()
        and (WALLETKIT_DIR / "node_modules" / "@walletconnect" / "sign-client").is_dir()
    )


class JsonLinesPeer:
    """A running JSON-lines Node script; use ``start()`` of a subclass to create one."""

    script: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.transcript: list[Event] = []  # every stdout object, replies included
        self.ready: Event = {}
        self._events: list[Event] = []
        self._taken: set[int] = set()
        self._replies: dict[int, asyncio.Future[Event]] = {}
        self._cids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._stderr_tail: deque[str] = deque(maxlen=200)
        self._garbage: list[str] = []
        self._eof = False
        self._tasks = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def _spawn(cls, args: Sequence[str], env: dict[str, str] | None = None) -> Self:
        if not walletkit_available():
            raise PeerError(f"node or {WALLETKIT_DIR}/node_modules missing: run `npm ci` there")
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(WALLETKIT_DIR / cls.script),
            *args,
            cwd=WALLETKIT_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
            limit=2**22,
        )
        return cls(proc)

    async def _await_ready(self, timeout: float) -> None:
        try:
            self.ready = await self.wait_for("ready", timeout=timeout)
        except BaseException:
            await self.close()
            raise

    # --- I/O -----------------------------------------------------------------------------------
    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        try:
            while line := await self.proc.stdout.readline():
                text = line.decode("utf-8", "replace").strip()
                if not text:
                    continue
                try:
                    obj = json.loads(text)
                except ValueError:
                    self._garbage.append(text)  # the scripts must never do this
                    continue
                if not isinstance(obj, dict):
                    self._garbage.append(text)
                    continue
                self.transcript.append(obj)
                if obj.get("event") == "reply" and obj.get("cid") in self._replies:
                    future = self._replies.pop(obj["cid"])
                    if not future.done():
                        future.set_result(obj)
                else:
                    self._events.append(obj)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            self._eof = True
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(PeerError(self._why_dead()))
            self._replies.clear()
            async with self._changed:
                self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            self._stderr_tail.append(text)
            print(f"[{self.label}] {text}", file=sys.stderr)

    def _why_dead(self) -> str:
        return f"{self.label} exited (code {self.proc.returncode}); stderr tail:\n" + self.stderr()

    def stderr(self) -> str:
        return "\n".join(self._stderr_tail)

    @property
    def garbage(self) -> list[str]:
        """stdout lines that were not JSON objects (must stay empty)."""
        return list(self._garbage)

    # --- API -----------------------------------------------------------------------------------
    async def send(
        self, cmd: str | dict[str, Any], /, *, timeout: float = 15.0, **params: Any
    ) -> dict[str, Any]:
        """Run a command and return its ``result``; raise ``PeerError`` when it fails."""
        message = dict(cmd) if isinstance(cmd, dict) else {"cmd": cmd}
        message.update(params)
        cid = next(self._cids)
        message["cid"] = cid
        if self._eof or self.proc.stdin is None:
            raise PeerError(self._why_dead())
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._replies[cid] = future
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        await self.proc.stdin.drain()
        try:
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._replies.pop(cid, None)
            raise PeerError(
                f"{self.label}: no reply to {message['cmd']!r} within {timeout} s"
            ) from None
        if not reply.get("ok"):
            raise PeerError(f"{self.label}: {message['cmd']} failed: {reply.get('error')}")
        result: dict[str, Any] = reply.get("result") or {}
        return result

    async def wait_for(
        self,
        event: str,
        *,
        timeout: float = 10.0,
        where: Callable[[Event], bool] | None = None,
        **match: Any,
    ) -> Event:
        """Return (and mark as taken) the first untaken ``event`` whose fields equal ``match``."""

        def find() -> Event | None:
            for index, obj in enumerate(self._events):
                if index in self._taken or obj.get("event") != event:
                    continue
                if any(obj.get(k) != v for k, v in match.items()):
                    continue
                if where is not None and not where(obj):
                    continue
                self._taken.add(index)
                return obj
            return None

        async def wait() -> Event:
            async with self._changed:
                while True:
                    found = find()
                    if found is not None:
                        return found
                    if self._eof:
                        raise PeerError(f"waiting for {event!r}: " + self._why_dead())
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            seen = [e.get("event") for e in self._events]
            raise PeerError(
                f"{self.label}: no {event!r} event {match or ''} within {timeout} s; "
                f"events so far: {seen}; stderr tail:\n{self.stderr()}"
            ) from None

    def events(self, name: str | None = None) -> list[Event]:
        """All events so far (taken or not), optionally only those called ``name``."""
        return [e for e in self._events if name is None or e.get("event") == name]

    def errors(self) -> list[Event]:
        return self.events("error")

    def network_blocked(self) -> list[Event]:
        """Attempts to reach a non-loopback host (each was refused); tests assert this is empty."""
        return [e for e in self.errors() if e.get("kind") == "network_blocked"]

    async def close(self, timeout: float = 5.0) -> int | None:
        if self.proc.returncode is None:
            if self.proc.stdin is not None and not self.proc.stdin.is_closing():
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout)
        return self.proc.returncode

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class WalletKitPeer(JsonLinesPeer):
    """``wallet.mjs``: the official ``@reown/walletkit`` 1.6.0 wallet; see walletkit/README.md."""

    script = "wallet.mjs"
    label = "walletkit"

    @classmethod
    async def start(
        cls,
        relay_url: str,
        private_key: str | bytes,
        *,
        extra_keys: Sequence[str | bytes] = (),
        other_key: str | bytes | None = None,
        project_id: str = "walletkit-test-peer",
        auto_approve: bool = False,
        auto_sign: bool = False,
        disable_request_queue: bool = False,
        log_level: str = "error",
        name: str | None = None,
        ready_timeout: float = 20.0,
    ) -> WalletKitPeer:
        def hexkey(key: str | bytes) -> str:
            return key.hex() if isinstance(key, bytes) else key

        args = ["--relay", relay_url, "--project-id", project_id, "--log-level", log_level]
        for key in (private_key, *extra_keys):
            args += ["--key", hexkey(key)]
        if other_key is not None:
            args += ["--other-key", hexkey(other_key)]
        if auto_approve:
            args.append("--auto-approve")
        if auto_sign:
            args.append("--auto-sign")
        if disable_request_queue:
            args.append("--disable-request-queue")
        if name is not None:
            args += ["--name", name]
        peer = await cls._spawn(args)
        await peer._await_ready(ready_timeout)
        return peer

    @property
    def addresses(self) -> list[str]:
        return list(self.ready["addresses"])

    @property
    def address(self) -> str:
        """EIP-55 address of the first key (the one ``approve`` uses by default)."""
        return self.addresses[0]

    @property
    def other_address(self) -> str:
        return str(self.ready["other_address"])

    # thin helpers for the common steps
    async def pair(self, uri: str) -> dict[str, Any]:
        return await self.send("pair", uri=uri)

    async def approve(self, **params: Any) -> dict[str, Any]:
        return await self.send("approve", **params)

    async def sign(self, request_id: int) -> dict[str, Any]:
        return await self.send("sign", id=request_id)

    async def reject(self, request_id: int, code: int = 5000) -> dict[str, Any]:
        return await self.send("reject", id=request_id, code=code)


class JsDappPeer(JsonLinesPeer):
    """``dapp_smoke.mjs``: the official ``@walletconnect/sign-client`` 2.25.0 dApp."""

    script = "dapp_smoke.mjs"
    label = "js-dapp"

    @classmethod
    async def start(
        cls,
        relay_url: str,
        *,
        project_id: str = "dapp-smoke-test",
        log_level: str = "error",
        ready_timeout: float = 20.0,
    ) -> JsDappPeer:
        peer = await cls._spawn(
            ["--relay", relay_url, "--project-id", project_id, "--log-level", log_level]
        )
        await peer._await_ready(ready_timeout)
        return peer
