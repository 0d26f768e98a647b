"""The method table: name → request type and handler, and one call from bytes to bytes.

Keys come from a :data:`BundleProvider` at every call (``None`` while locked), so the service
never holds a stale copy: a rotation done in the app or the CLI is served by the next call.
Each account's state is opened (decrypted) the first time its keys are seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError, Message

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.keystore_service import conversation_methods as conv
from app.keyengine.keystore_service import crypto_methods as cm
from app.keyengine.keystore_service.context import CallContext
from app.keyengine.keystore_service.errors import Refused
from app.keyengine.keystore_service.state import KeystoreState
from app.keyengine.proto import keystore_api_pb2 as api

BundleProvider = Callable[[], PrivateKeyBundleV1 | None]
"""The keys to serve right now, or ``None`` while they are locked."""


@dataclass(frozen=True, slots=True)
class Method:
    request: type[Message] | None
    handler: Callable[[CallContext, Any], Message]
    batch: bool = False


METHODS: dict[str, Method] = {
    "decryptV1": Method(api.DecryptV1Request, cm.decrypt_v1, batch=True),
    "decryptV2": Method(api.DecryptV2Request, cm.decrypt_v2, batch=True),
    "encryptV1": Method(api.EncryptV1Request, cm.encrypt_v1, batch=True),
    "encryptV2": Method(api.EncryptV2Request, cm.encrypt_v2, batch=True),
    "saveInvites": Method(api.SaveInvitesRequest, conv.save_invites, batch=True),
    "createInvite": Method(api.CreateInviteRequest, conv.create_invite),
    "createAuthToken": Method(api.CreateAuthTokenRequest, cm.create_auth_token_method),
    "signDigest": Method(api.SignDigestRequest, cm.sign_digest),
    "getPublicKeyBundle": Method(None, cm.public_key_bundle),
    "getPrivateKeyBundle": Method(None, cm.private_key_bundle),
    "saveV1Conversations": Method(api.SaveV1ConversationsRequest, conv.save_v1_conversations),
    "getV1Conversations": Method(None, conv.v1_conversations),
    "getV2Conversations": Method(None, conv.v2_conversations),
    "getRefreshJob": Method(api.GetRefreshJobRequest, conv.get_refresh_job),
    "setRefreshJob": Method(api.SetRefeshJobRequest, conv.set_refresh_job),
    "selfEncrypt": Method(api.SelfEncryptRequest, cm.self_encrypt, batch=True),
    "selfDecrypt": Method(api.SelfDecryptRequest, cm.self_decrypt, batch=True),
    "getPrivatePreferencesTopicIdentifier": Method(None, cm.preferences_topic_identifier),
    "getV2ConversationHmacKeys": Method(
        api.GetConversationHmacKeysRequest, cm.conversation_hmac_keys
    ),
}
"""The 19 methods of xmtp-js 13.0.4's ``apiDefs``."""

EXTENSIONS: dict[str, Method] = {
    "savePrivatePreferences": Method(api.PrivatePreferencesActionMap, conv.save_preferences),
    "getPrivatePreferences": Method(None, conv.get_preferences),
}
"""Companion extensions: xmtp-js keeps these in the keystore object, we keep them at rest."""

EXPORT_METHOD = "getPrivateKeyBundle"


def find_method(name: str) -> Method:
    method = METHODS.get(name) or EXTENSIONS.get(name)
    if method is None:
        raise Refused(404, "unknown_method", f"no keystore method {name!r}")
    return method


@dataclass(frozen=True, slots=True)
class CallResult:
    body: bytes
    items: int
    """How many batch items (1 for other methods): what Activity counts."""


class KeystoreMethods:
    """Answers method calls with the provider's current keys and that account's state."""

    def __init__(
        self,
        bundles: BundleProvider,
        state_dir: Path,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._bundles = bundles
        self.state_dir = state_dir
        self._clock_ns = clock_ns
        self._states: dict[str, tuple[bytes, KeystoreState]] = {}

    def current_bundle(self) -> PrivateKeyBundleV1 | None:
        return self._bundles()

    def _state(self, bundle: PrivateKeyBundleV1) -> KeystoreState:
        address = bundle.wallet_address
        identity_point = bundle.identity_key.public_key.point
        cached = self._states.get(address)
        if cached is None or cached[0] != identity_point:
            cached = (
                identity_point,
                KeystoreState.open(self.state_dir, bundle.identity_key, address),
            )
            self._states[address] = cached
        return cached[1]

    def call(self, name: str, body: bytes, app: str = "") -> CallResult:
        """Run method ``name`` on the request ``body``; raise :class:`Refused` when it cannot."""
        method = find_method(name)
        bundle = self._bundles()
        if bundle is None:
            raise Refused(503, "locked", "the companion's keys are locked")
        request: Message | None = None
        if method.request is not None:
            request = method.request()
            try:
                request.ParseFromString(body)
            except DecodeError:
                raise Refused(
                    400, "bad_request", f"the {name} request is not valid protobuf"
                ) from None
        elif body:
            raise Refused(400, "bad_request", f"{name} takes no request body")
        address = bundle.wallet_address
        state = self._state(bundle)
        if name == "getPublicKeyBundle":
            state.pin(app, bundle.current_pre_key.public_key.point)
        pinned = state.pins.get(app, b"")
        ctx = CallContext(bundle, address, state, self._clock_ns, pinned)
        response = method.handler(ctx, request)
        items = len(getattr(request, "requests", ())) if method.batch else 1
        return CallResult(response.SerializeToString(), items)
