"""One account's keystore state, encrypted at rest with a key only the identity key's owner has.

What an app would otherwise keep in its own persistence: V2 conversations (topic → invitation
key material, created time, peer), V1 conversation references, refresh-job times and
private-preference actions.  The file is an AES-GCM ``Ciphertext`` under a key HKDF'd from the
identity private key (so the data dir alone reveals nothing), replaced atomically (0600, fsync,
rename) after every change, so a crash leaves the previous or the new state, never half of one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.keyengine.crypto import aead
from app.keyengine.encrypted_bundle import ciphertext_from_proto, ciphertext_to_proto
from app.keyengine.errors import KeyEngineError
from app.keyengine.files import write_private_file
from app.keyengine.keys import PrivateKey
from app.keyengine.proto import (
    ciphertext_pb2,
    keystore_api_pb2,
    keystore_state_pb2,
    private_preferences_pb2,
)

_KEY_SALT = b"XMTP_COMPANION_KEYSTORE_STATE_V1"
_AAD = b"xmtp-companion keystore state v1"

TopicData = keystore_api_pb2.TopicMap.TopicData
Action = private_preferences_pb2.PrivatePreferencesAction


class StateUnreadable(KeyEngineError):
    """The state file exists but cannot be decrypted with this identity (or is damaged)."""


def state_key(identity: PrivateKey, address: str) -> bytes:
    return aead.hkdf_sha256(identity.secret, _KEY_SALT, address.encode())


class KeystoreState:
    """In-memory state of one account, saved on every change (insertion order is kept)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key
        self.v2: dict[str, TopicData] = {}
        self.v1: dict[str, TopicData] = {}
        self.refresh_jobs: dict[int, int] = {}
        self.preferences: dict[str, Action] = {}
        self.pins: dict[str, bytes] = {}

    @classmethod
    def open(cls, directory: Path, identity: PrivateKey, address: str) -> KeystoreState:
        state = cls(directory / f"{address}.state", state_key(identity, address))
        state._load()
        return state

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        try:
            envelope = ciphertext_pb2.Ciphertext.FromString(raw)
            plain = aead.decrypt(ciphertext_from_proto(envelope), self._key, _AAD)
            stored = keystore_state_pb2.KeystoreState.FromString(plain)
        except Exception as exc:  # any decode or decrypt failure: unreadable
            raise StateUnreadable(f"keystore state {self.path.name} cannot be read") from exc
        self.v2 = {item.topic: item.data for item in stored.v2_topics}
        self.v1 = {item.topic: item.data for item in stored.v1_topics}
        self.refresh_jobs = {job.job_type: job.last_run_ns for job in stored.refresh_jobs}
        self.preferences = {item.key: item.action for item in stored.preferences}
        self.pins = {pin.app: pin.pre_key for pin in stored.pins}

    def save(self) -> None:
        stored = keystore_state_pb2.KeystoreState()
        for source, target in ((self.v2, stored.v2_topics), (self.v1, stored.v1_topics)):
            for topic, data in source.items():
                target.add(topic=topic).data.CopyFrom(data)
        for job_type, last_run in self.refresh_jobs.items():
            stored.refresh_jobs.add(job_type=job_type, last_run_ns=last_run)
        for key, action in self.preferences.items():
            stored.preferences.add(key=key).action.CopyFrom(action)
        for app, pre_key in self.pins.items():
            stored.pins.add(app=app, pre_key=pre_key)
        ciphertext = aead.encrypt(stored.SerializeToString(), self._key, _AAD)
        write_private_file(self.path, ciphertext_to_proto(ciphertext).SerializeToString())

    def pin(self, app: str, pre_key: bytes) -> None:
        if self.pins.get(app) != pre_key:
            self.pins[app] = pre_key
            self.save()

    def add_topics(
        self, store: dict[str, TopicData], rows: Iterable[tuple[str, TopicData]]
    ) -> bool:
        """Add rows whose topic is new (the first one saved for a topic wins, as in xmtp-js)."""
        dirty = False
        for topic, data in rows:
            if topic and topic not in store:
                store[topic] = data
                dirty = True
        if dirty:
            self.save()
        return dirty
