"""``xmtp-keys keystore serve|allow|revoke|apps``: the companion as the keystore of XMTP apps.

``serve`` unlocks the account's keys with the wallet options (as ``login``) and serves the
xmtp-js Keystore API on loopback; its first stdout line is ``keystore listening on URL``.  While
it runs, a rotation saved to the OS keyring by another ``xmtp-keys`` (or the desktop app) is
picked up within a second.  ``allow`` prints a new app token (once), ``revoke`` ends it (a running
service refuses it on its next request), ``apps`` lists apps, permissions and use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli.files import data_dir_of
from app.cli.online import node_session, on_node
from app.cli.output import CliError
from app.cli.signers import check_signer_options, open_signer
from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keystore_service import AppRegistry, CallRecord, KeystoreMethods, KeystoreServer
from app.keyengine.prekeys import merge_bundles
from app.keyengine.vault import Vault, default_secret_store

AddFlag = Callable[[argparse.ArgumentParser], None]


def keystore_dir(args: argparse.Namespace) -> Path:
    data_dir = data_dir_of(args)
    return data_dir / "keystore"


class VaultBundle:
    """The bundle provider of ``serve``: the unlocked keys, refreshed from the OS keyring."""

    def __init__(self, vault: Vault, bundle: PrivateKeyBundleV1) -> None:
        self.vault = vault
        self.bundle = bundle

    def __call__(self) -> PrivateKeyBundleV1:
        return self.bundle

    async def follow(self, interval_s: float = 1.0) -> None:
        if not self.vault.remembers_keys:
            return
        address = self.bundle.wallet_address
        while True:
            await asyncio.sleep(interval_s)
            local = await asyncio.to_thread(self.vault.load_bundle, address)
            if local is not None and local.identity_key == self.bundle.identity_key:
                merged = merge_bundles(local, self.bundle)
                if merged != self.bundle:
                    self.bundle = merged


def _log_call(call: CallRecord) -> None:
    sys.stderr.write(
        f"keystore: {time.strftime('%H:%M:%S')} app={call.app} method={call.method} "
        f"items={call.items} status={call.status}\n"
    )


_WALLET_OPTIONS = ("wallet_key_file", "keyfile", "rpc_wallet", "walletconnect")


def _serve(args: argparse.Namespace) -> int:
    check_signer_options(args)
    directory = keystore_dir(args)
    if not any(getattr(args, name, None) for name in _WALLET_OPTIONS):
        return _serve_remembered(args, directory)

    async def go(url: str) -> int:
        async with open_signer(args) as signer, node_session(args, url, holds_keys=True) as session:
            identity = await session.flows.login(signer)
            keys = VaultBundle(session.flows.vault, identity.bundle)
            return await _serve_keys(args, keys, directory)

    return on_node(args, go)


def _serve_remembered(args: argparse.Namespace, directory: Path) -> int:
    """No wallet option: the keys the OS keyring remembers for ``--address`` (no node needed)."""
    if not args.address:
        raise CliError("keystore serve needs a wallet option, or --address ADDR of keys remembered")
    data_dir = data_dir_of(args)
    vault = Vault(data_dir, default_secret_store())
    if not vault.remembers_keys:
        raise CliError("no OS keyring here: give a wallet option to unlock the keys")
    bundle = vault.load_bundle(args.address)
    if bundle is None:
        raise CliError(f"the OS keyring remembers no keys of {args.address}; give a wallet option")
    return asyncio.run(_serve_keys(args, VaultBundle(vault, bundle), directory))


async def _serve_keys(args: argparse.Namespace, keys: VaultBundle, directory: Path) -> int:
    methods = KeystoreMethods(keys, directory / "state")
    server = KeystoreServer(
        methods, AppRegistry(directory), host=args.host, port=args.port, on_call=_log_call
    )
    url = await server.start()
    sys.stdout.write(f"keystore listening on {url}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    follower = loop.create_task(keys.follow())
    try:
        await stop.wait()
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await server.stop()
    return 0


def _allow(args: argparse.Namespace) -> int:
    registry = AppRegistry(keystore_dir(args))
    token = registry.allow(args.name, allow_export=args.allow_export, origins=args.origin or [])
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps({"app": args.name, "token": token}) + "\n")
    else:
        sys.stdout.write(token + "\n")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    AppRegistry(keystore_dir(args)).revoke(args.name)
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps({"app": args.name, "revoked": True}) + "\n")
    else:
        sys.stderr.write(f"revoked {args.name}\n")
    return 0


def app_reports(registry: AppRegistry) -> list[dict[str, Any]]:
    reports = []
    for app in registry.apps:
        usage = registry.usage.get(app.name)
        reports.append(
            {
                "app": app.name,
                "allow_export": app.allow_export,
                "origins": app.origins,
                "created": app.created,
                "revoked": app.revoked,
                "last_used": None if usage is None else usage.last_used,
                "calls": {} if usage is None else dict(usage.calls),
            }
        )
    return reports


def _apps(args: argparse.Namespace) -> int:
    reports = app_reports(AppRegistry(keystore_dir(args)))
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(reports) + "\n")
        return 0
    for report in reports:
        state = "revoked" if report["revoked"] else "active"
        export = "export allowed" if report["allow_export"] else "no export"
        calls = sum(report["calls"].values())
        sys.stdout.write(f"{report['app']}\t{state}\t{export}\t{calls} calls\n")
        for method, count in sorted(report["calls"].items()):
            sys.stdout.write(f"    {method}: {count}\n")
    return 0


def add_keystore_commands(commands: Any, add_json: AddFlag, add_signer_options: AddFlag) -> None:
    keystore = commands.add_parser("keystore", help="serve your keys to XMTP apps (loopback)")
    sub = keystore.add_subparsers(dest="keystore_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="unlock the keys and serve the xmtp-js Keystore API")
    serve.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port (default 0: any free one)")
    serve.add_argument(
        "--address", help="without a wallet option: serve the keys the OS keyring remembers"
    )
    add_signer_options(serve)
    for group in serve._mutually_exclusive_groups:  # the wallet is optional here
        group.required = False
    serve.set_defaults(handler=_serve)
    allow = sub.add_parser("allow", help="create an app token (printed once)")
    allow.add_argument("name", help="the app's name")
    allow.add_argument("--allow-export", action="store_true", help="may export the private keys")
    allow.add_argument("--origin", action="append", help="a browser origin approved for the app")
    add_json(allow)
    allow.set_defaults(handler=_allow)
    revoke = sub.add_parser("revoke", help="revoke an app's token")
    revoke.add_argument("name")
    add_json(revoke)
    revoke.set_defaults(handler=_revoke)
    apps = sub.add_parser("apps", help="list apps, permissions and calls per method")
    add_json(apps)
    apps.set_defaults(handler=_apps)
