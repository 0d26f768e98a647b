"""A node that lies (malformed, nested, huge or endless answers) ends the CLI with exit code 3.

Each kind of misbehaviour is served by a real aiohttp server on loopback; ``xmtp-keys lookup``
and ``login`` run as subprocesses and must stop within 10 s with one typed error line, never
an "internal error" (ParseError, RecursionError) or a loop without end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.exit_codes import EXIT_UNREACHABLE
from tests.support.hostile import HOSTILE_KINDS, hostile_node, run_cli

HANG_BOUND_S = 10.0


def _assert_network_refusal(code: int, stderr: str, seconds: float) -> None:
    assert code == EXIT_UNREACHABLE, stderr
    assert seconds < HANG_BOUND_S
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("xmtp-keys: error: ")
    assert "internal error" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_lookup_on_a_hostile_node_exits_with_the_network_code(kind: str, tmp_path: Path) -> None:
    with hostile_node(kind) as url:
        done = run_cli(
            "--node", url, "--data-dir", str(tmp_path), "lookup", "0x" + "12" * 20, timeout=30
        )
    _assert_network_refusal(done.code, done.stderr, done.seconds)
    assert done.stdout == ""


@pytest.mark.parametrize("kind", ["not json", "nested", "huge", "endless cursor"])
def test_login_on_a_hostile_node_exits_with_the_network_code(kind: str, tmp_path: Path) -> None:
    key_file = tmp_path / "wallet.hex"
    key_file.write_text("ab" * 32)
    with hostile_node(kind) as url:
        done = run_cli(
            "--node",
            url,
            "--data-dir",
            str(tmp_path / "data"),
            "login",
            "--wallet-key-file",
            str(key_file),
            timeout=30,
        )
    _assert_network_refusal(done.code, done.stderr, done.seconds)
    assert "ab" * 32 not in done.stderr


def test_help_lists_the_exit_codes() -> None:
    done = run_cli("--help")
    assert done.code == 0
    flat = " ".join(done.stdout.split())
    assert "3 the XMTP node, the WalletConnect relay or the JSON-RPC wallet could not be" in flat
    assert "5 wrong password" in flat
