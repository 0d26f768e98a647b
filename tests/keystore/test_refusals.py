"""Every refusal of the wire protocol, each with nothing changed (state, usage, keys)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from app.keyengine.keystore_service.apps import AppRegistry
from app.keyengine.proto import keystore_api_pb2 as api
from app.keyengine.proto import public_key_pb2
from tests.keystore.conftest import Service

pytestmark = pytest.mark.asyncio


async def post(
    http: aiohttp.ClientSession,
    service: Service,
    method: str,
    body: bytes = b"",
    *,
    token: str | None = "default",  # noqa: S107 - "the app's token"
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, str]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {service.token if token == 'default' else token}"
    async with http.post(f"{service.url}/keystore/v1/{method}", data=body, headers=sent) as reply:
        return reply.status, await reply.read(), reply.headers.get("Content-Type", "")


def snapshot(service: Service) -> dict[str, bytes]:
    root = service.data_dir / "keystore"
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


async def test_a_served_method_answers_protobuf(
    http: aiohttp.ClientSession, service: Service
) -> None:
    status, body, content_type = await post(http, service, "getPublicKeyBundle")
    assert status == 200 and content_type == "application/x-protobuf"
    bundle = public_key_pb2.PublicKeyBundle.FromString(body)
    assert service.keys.bundle is not None
    assert bundle == service.keys.bundle.public_key_bundle().to_proto()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no_token", 401, "unauthorized"),
        ("unknown_token", 401, "unauthorized"),
        ("revoked_token", 401, "unauthorized"),
        ("export", 403, "export_not_allowed"),
        ("foreign_host", 403, "forbidden_host"),
        ("origin", 403, "forbidden_origin"),
        ("unknown_method", 404, "unknown_method"),
        ("too_large", 413, "too_large"),
        ("malformed", 400, "bad_request"),
        ("locked", 503, "locked"),
    ],
)
async def test_refusals_change_nothing(
    http: aiohttp.ClientSession, service: Service, case: str, status: int, code: str
) -> None:
    save = api.SetRefeshJobRequest(job_type=api.JOB_TYPE_REFRESH_V2, last_run_ns=5)
    method, body = "setRefreshJob", save.SerializeToString()
    token: str | None = "default"
    headers: dict[str, str] = {}
    if case == "no_token":
        token = None
    elif case == "unknown_token":
        token = "xks_" + "A" * 43
    elif case == "revoked_token":
        service.registry.revoke("bob-app")
    elif case == "export":
        method, body = "getPrivateKeyBundle", b""
    elif case == "foreign_host":
        headers["Host"] = f"evil.example:{service.server.port}"
    elif case == "origin":
        headers["Origin"] = "https://evil.example"
    elif case == "unknown_method":
        method = "initKeystore"
    elif case == "too_large":
        body = b"\x00" * (5 * 1024 * 1024)
    elif case == "malformed":
        body = b"\xff\xff\xff"
    elif case == "locked":
        service.keys.bundle = None
    before = snapshot(service)
    reply_status, reply_body, content_type = await post(
        http, service, method, body, token=token, headers=headers
    )
    assert reply_status == status
    assert content_type.startswith("application/json")
    error = json.loads(reply_body)
    assert error["code"] == code and error["message"]
    service.registry.flush_usage()
    assert snapshot(service) == before
    assert all(call.status == status for call in service.calls)


async def test_revocation_from_another_registry_is_seen_at_once(
    http: aiohttp.ClientSession, service: Service, tmp_path: Path
) -> None:
    assert (await post(http, service, "getPublicKeyBundle"))[0] == 200
    AppRegistry(tmp_path / "keystore").revoke("bob-app")  # as `keystore revoke` in another process
    assert (await post(http, service, "getPublicKeyBundle"))[0] == 401


async def test_tokens_are_stored_only_as_hashes(service: Service) -> None:
    apps_file = service.data_dir / "keystore" / "apps.json"
    assert service.token not in apps_file.read_text()
    assert apps_file.stat().st_mode & 0o777 == 0o600


async def test_usage_counts_calls_per_method(http: aiohttp.ClientSession, service: Service) -> None:
    for _ in range(3):
        await post(http, service, "getPublicKeyBundle")
    usage = service.registry.usage["bob-app"]
    assert usage.calls == {"getPublicKeyBundle": 3} and usage.last_used is not None


async def test_an_approved_origin_is_served(http: aiohttp.ClientSession, service: Service) -> None:
    token = service.registry.allow("web-app", origins=["http://localhost:3000"])
    ok = await post(
        http,
        service,
        "getPublicKeyBundle",
        token=token,
        headers={"Origin": "http://localhost:3000"},
    )
    assert ok[0] == 200
    other = await post(
        http,
        service,
        "getPublicKeyBundle",
        token=token,
        headers={"Origin": "http://localhost:3001"},
    )
    assert other[0] == 403


async def test_export_with_permission_and_non_batch_errors(
    http: aiohttp.ClientSession, service: Service
) -> None:
    token = service.registry.allow("backup-app", allow_export=True)
    status, body, _ = await post(http, service, "getPrivateKeyBundle", token=token)
    assert status == 200
    assert service.keys.bundle is not None and body == service.keys.bundle.to_unwrapped_bytes()
    assert any(c.method == "getPrivateKeyBundle" and c.status == 200 for c in service.calls)
    bad_job = api.GetRefreshJobRequest(job_type=api.JOB_TYPE_UNSPECIFIED).SerializeToString()
    status, body, _ = await post(http, service, "getRefreshJob", bad_job)
    assert status == 400 and json.loads(body)["code"] == "ERROR_CODE_INVALID_INPUT"
