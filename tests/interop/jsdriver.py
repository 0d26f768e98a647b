"""Client for ``tests/interop/xmtpjs/driver.mjs``: the real xmtp-js 13.0.4 SDK behind JSON lines.

One long-lived Node process per session keeps the SDK import cost out of every call.  Bytes cross
the pipe as standard base64, keys as hex, addresses as EIP-55 strings.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

DRIVER_DIR = Path(__file__).resolve().parent / "xmtpjs"


class DriverError(RuntimeError):
    """xmtp-js answered a request with an error."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def driver_available() -> bool:
    return shutil.which("node") is not None and (DRIVER_DIR / "node_modules" / "@xmtp").is_dir()


class XmtpJs:
    """A running ``driver.mjs``; call it with ``js.call("cmd", field=value, ...)``."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._proc = subprocess.Popen(
            ["node", str(DRIVER_DIR / "driver.mjs")],
            cwd=DRIVER_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def call(self, cmd: str, **params: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        request_id = next(self._ids)
        self._proc.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **params}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise DriverError(f"xmtp-js driver exited (code {self._proc.poll()})")
        reply = json.loads(line)
        if reply.get("id") != request_id:
            raise DriverError(f"out-of-order reply: {reply!r}")
        if not reply.get("ok"):
            raise DriverError(str(reply.get("error")))
        result: dict[str, Any] = reply["result"]
        return result

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> XmtpJs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
