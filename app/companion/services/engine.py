"""One engine session: the node client, the local vault and the flows, reporting to the bridge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.companion.bridge import FlowEventBridge
from app.keyengine.flows import KeyFlows
from app.keyengine.network import XmtpClient
from app.keyengine.vault import SecretStore, Vault, describe_where

SecretStoreFactory = Callable[[], SecretStore | None]


class EngineService:
    """``flows`` over the current node URL; rebuilt when the node or the key store changes."""

    def __init__(
        self,
        data_dir: Path,
        bridge: FlowEventBridge,
        secrets: SecretStoreFactory,
        *,
        remember_keys: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.bridge = bridge
        self._secrets_factory = secrets
        self._secrets: SecretStore | None = None
        self._secrets_probed = False
        self.remember_keys = remember_keys
        self.node_url = ""
        self.client: XmtpClient | None = None
        self.vault = Vault(data_dir, None)
        self._flows: KeyFlows | None = None

    def _secret_store(self) -> SecretStore | None:
        if not self.remember_keys:
            return None
        if not self._secrets_probed:
            self._secrets = self._secrets_factory()
            self._secrets_probed = True
        return self._secrets

    async def configure(self, node_url: str, *, remember_keys: bool | None = None) -> None:
        if remember_keys is not None:
            self.remember_keys = remember_keys
        if self.client is not None:
            await self.client.close()
        self.node_url = node_url
        self.client = XmtpClient(node_url, retries=2, backoff_s=0.2, timeout_s=20.0)
        self.vault = Vault(self.data_dir, self._secret_store())
        self._flows = KeyFlows(self.client, self.vault, self.bridge)

    @property
    def flows(self) -> KeyFlows:
        if self._flows is None:
            raise RuntimeError("the engine is not configured yet (no node)")
        return self._flows

    @property
    def secret_store(self) -> SecretStore | None:
        """The OS key store if there is one (even while remembering keys is off)."""
        if not self._secrets_probed:
            self._secrets = self._secrets_factory()
            self._secrets_probed = True
        return self._secrets

    @property
    def keyring_problem(self) -> str:
        """Why keys cannot be remembered here ("" when an OS keyring is usable)."""
        if self.secret_store is None:
            return "no usable OS keyring (Secret Service, Keychain, Credential Locker) was found"
        return ""

    @property
    def keys_kept(self) -> str:
        """Where private keys live, the same words on every screen (from the settings, not
        from whether the engine was configured yet)."""
        if self.secret_store is not None and not self.remember_keys:
            return (
                "nowhere on this machine (remembering is off in Settings): "
                "your wallet unlocks them each time"
            )
        return describe_where(self.secret_store if self.remember_keys else None)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None
