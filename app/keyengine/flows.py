"""The seed's flows: log in (retrieve or generate), rotate the pre-key, look up, read invites.

Order of writes whenever the private bundle is created or changed: 1) persist locally (keyring
and journal, atomically), 2) store the encrypted bundle on the node, 3) publish the contacts.
Each step is recorded in the journal, so a failure at any point resumes on the next login
without generating a second identity and without dropping a pre-key.

Every wallet prompt is a call of a recipe (``generate_identity``, ``encrypt_bundle``,
``decrypt_bundle`` from ``app.keyengine.recipes``) in the flow below, where it happens.  Front
ends subscribe to ``FlowEvent``s: progress, every signature request with its exact text (before
the wallet is asked), every publish, and warnings (a copy that is damaged, unreadable or behind
the local one) that the person must see.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.keyengine.bundles import PrivateKeyBundleV1
from app.keyengine.contact import (
    ContactBundle,
    ContactVerification,
    contacts_of,
    verify_contact,
)
from app.keyengine.crypto.ethereum import to_checksum_address
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.errors import (
    DecryptionFailed,
    InvalidBundle,
    KeyEngineError,
    WrongWallet,
)
from app.keyengine.invite_log import (
    ReceivedInvite as ReceivedInvite,  # re-exported: what ``invites`` reports
)
from app.keyengine.invite_log import read_invites
from app.keyengine.journal import Journal
from app.keyengine.network import Envelope, QuerySpec, TokenSource, XmtpClient
from app.keyengine.prekeys import merge_bundles, rotate_pre_key
from app.keyengine.recipes import decrypt_bundle, encrypt_bundle, generate_identity
from app.keyengine.texts import SignatureRequest
from app.keyengine.topics import contact_topic, private_store_topic
from app.keyengine.vault import DamagedKeyringEntry, Vault
from app.keyengine.verdicts import LookupResult
from app.keyengine.wallets.base import WalletSigner

CONTACT_PAGE = 5


class EventKind(enum.StrEnum):
    """What a ``FlowEvent`` reports; the value (the lower-case name) is what ``--json`` prints."""

    PROGRESS = enum.auto()
    SIGN_REQUEST = enum.auto()
    SIGNED = enum.auto()
    PUBLISHED = enum.auto()
    WARNING = enum.auto()


@dataclass(frozen=True, slots=True)
class FlowEvent:
    kind: EventKind
    message: str
    request: SignatureRequest | None = None
    topic: str | None = None
    forms: tuple[str, ...] = ()  # the contact forms ("v1", "v2") a publication carries


def _contact_forms(data: bytes) -> tuple[str, ...]:
    try:
        return (ContactBundle.from_bytes(data).version.value,)
    except KeyEngineError:
        return ()


EventSink = Callable[[FlowEvent], None]


def _ignore(_event: FlowEvent) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Identity:
    """A wallet's unlocked identity and how we got it."""

    bundle: PrivateKeyBundleV1 = field(repr=False)
    encrypted: EncryptedPrivateKeyBundle = field(repr=False)
    source: str
    """``generated``, ``retrieved`` or ``remembered`` (from the keyring, no signature)."""
    signed: tuple[SignatureRequest, ...] = ()

    @property
    def wallet_address(self) -> str:
        return self.bundle.wallet_address


@dataclass(frozen=True, slots=True)
class InviteReport:
    invites: tuple[ReceivedInvite, ...]
    errors: tuple[str, ...]


class KeyFlows:
    """The flows over one node and one local vault, reporting to one event sink."""

    def __init__(
        self,
        client: XmtpClient,
        vault: Vault,
        events: EventSink | None = None,
        *,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.client = client
        self.vault = vault
        self._emit = events or _ignore
        self._clock = clock

    def _now_ns(self) -> int:
        return self._clock() // 1_000_000 * 1_000_000

    def _observer(self, signed: list[SignatureRequest]) -> Callable[[SignatureRequest, str], None]:
        def observe(request: SignatureRequest, address: str) -> None:
            signed.append(request)
            self._emit(
                FlowEvent(
                    EventKind.SIGN_REQUEST,
                    f"asking {address} to sign: {request.purpose.value}",
                    request=request,
                )
            )

        return observe

    def _local_bundle(self, wallet: str) -> PrivateKeyBundleV1 | None:
        """The keyring's copy; a damaged entry is reported (and replaced once stored again)."""
        try:
            return self.vault.load_bundle(wallet)
        except DamagedKeyringEntry as exc:
            self._emit(FlowEvent(EventKind.WARNING, f"{exc}; using the copy on the network"))
            return None

    # -- login -----------------------------------------------------------------------------

    async def login(self, signer: WalletSigner) -> Identity:
        """Retrieve the wallet's stored identity, or generate, store and publish a new one."""
        wallet = to_checksum_address(signer.address)
        signed: list[SignatureRequest] = []
        journal = self.vault.journal.pending(wallet)
        if journal is not None:
            return await self._resume(signer, journal, signed)
        self._emit(FlowEvent(EventKind.PROGRESS, "looking for stored keys on the network"))
        found = await self._retrieve(signer, signed)
        if found is None:
            return await self._generate(signer, signed)
        encrypted, bundle = found
        local = self._local_bundle(wallet)
        if local is not None and local.identity_key == bundle.identity_key:
            merged = merge_bundles(bundle, local)
            if merged != bundle:
                self._emit(
                    FlowEvent(
                        EventKind.WARNING,
                        "this machine holds pre-keys the network copy lacks; storing them again",
                    )
                )
                return await self._store(signer, merged, signed, source="retrieved")
        bundle.verify()
        self.vault.save_bundle(bundle, encrypted)
        await self._ensure_contact(bundle)
        self._emit(FlowEvent(EventKind.PROGRESS, "keys unlocked"))
        return Identity(bundle, encrypted, "retrieved", tuple(signed))

    async def _resume(
        self, signer: WalletSigner, journal: Journal, signed: list[SignatureRequest]
    ) -> Identity:
        """Finish the publishes a previous session journaled but did not complete."""
        self._emit(FlowEvent(EventKind.PROGRESS, "finishing what the last session left"))
        encrypted = EncryptedPrivateKeyBundle.from_bytes(journal.encrypted_bundle)
        bundle = self._local_bundle(journal.wallet)
        if (
            bundle is None
            or [k.public_key.point.hex() for k in bundle.pre_keys] != journal.pre_keys
        ):
            bundle = await decrypt_bundle(encrypted, signer, self._observer(signed))
            self._emit(FlowEvent(EventKind.SIGNED, "signature received"))
        await self.finish_journal(journal, bundle)
        bundle.verify()
        self.vault.save_bundle(bundle)
        return Identity(bundle, encrypted, journal.source, tuple(signed))

    async def _retrieve(
        self, signer: WalletSigner, signed: list[SignatureRequest]
    ) -> tuple[EncryptedPrivateKeyBundle, PrivateKeyBundleV1] | None:
        """Newest stored bundle that this wallet's signature decrypts, else ``None``."""
        topic = private_store_topic(signer.address)
        tried = 0
        async for envelope in self.client.iter_query(QuerySpec(topic, limit=CONTACT_PAGE)):
            if not envelope.message:
                continue
            try:
                encrypted = EncryptedPrivateKeyBundle.from_bytes(envelope.message)
            except InvalidBundle:
                self._emit(FlowEvent(EventKind.WARNING, "skipping an unreadable stored bundle"))
                continue
            tried += 1
            self._emit(FlowEvent(EventKind.PROGRESS, "unlocking the stored key bundle"))
            try:
                bundle = await decrypt_bundle(encrypted, signer, self._observer(signed))
            except DecryptionFailed:
                self._emit(
                    FlowEvent(
                        EventKind.WARNING, "a stored bundle did not open; trying an older one"
                    )
                )
                continue
            self._emit(FlowEvent(EventKind.SIGNED, "signature received"))
            if bundle.wallet_address != to_checksum_address(signer.address):
                raise WrongWallet("the stored bundle belongs to another wallet")
            return encrypted, bundle
        if tried:
            raise DecryptionFailed(
                "keys are stored for this wallet but none opens with its signature"
            )
        return None

    async def _generate(self, signer: WalletSigner, signed: list[SignatureRequest]) -> Identity:
        self._emit(FlowEvent(EventKind.PROGRESS, "no keys found: creating a new identity"))
        bundle = await generate_identity(signer, self._observer(signed))
        self._emit(FlowEvent(EventKind.SIGNED, "identity attested by the wallet"))
        return await self._store(signer, bundle, signed, source="generated")

    async def _store(
        self,
        signer: WalletSigner,
        bundle: PrivateKeyBundleV1,
        signed: list[SignatureRequest],
        *,
        source: str,
    ) -> Identity:
        """Encrypt, persist locally, store on the node, publish contacts — resumably."""
        self._emit(FlowEvent(EventKind.PROGRESS, "encrypting the key bundle for storage"))
        encrypted = await encrypt_bundle(bundle, signer, self._observer(signed))
        self._emit(FlowEvent(EventKind.SIGNED, "storage key signed"))
        now = self._now_ns()
        journal = Journal(
            wallet=bundle.wallet_address,
            encrypted_bundle=encrypted.to_bytes(),
            store_timestamp_ns=now,
            contacts=[contact.to_bytes() for contact in contacts_of(bundle)],
            contact_timestamps_ns=[now + 1_000_000, now + 2_000_000],
            identity_key=bundle.identity_key.public_key.point.hex(),
            pre_keys=[k.public_key.point.hex() for k in bundle.pre_keys],
            source=source,
        )
        self._emit(FlowEvent(EventKind.PROGRESS, f"saving keys locally: {self.vault.where}"))
        self.vault.save_bundle(bundle, encrypted)
        self.vault.journal.write(journal)
        await self.finish_journal(journal, bundle)
        return Identity(bundle, encrypted, source, tuple(signed))

    async def finish_journal(self, journal: Journal, bundle: PrivateKeyBundleV1) -> None:
        """Send whatever the journal still lists, marking each step done as it lands (no
        signature: the journal holds the encrypted bundle and the signed contacts)."""
        tokens = TokenSource(bundle, clock=self._clock)
        if not journal.stored:
            topic = private_store_topic(journal.wallet)
            envelope = Envelope(topic, journal.store_timestamp_ns, journal.encrypted_bundle)
            self._emit(FlowEvent(EventKind.PROGRESS, "storing the encrypted keys on the network"))
            await self.client.publish([envelope], tokens)
            journal.stored = True
            self.vault.journal.write(journal)
            self._emit(FlowEvent(EventKind.PUBLISHED, "encrypted keys stored", topic=topic))
        while journal.contacts_published < len(journal.contacts):
            index = journal.contacts_published
            topic = contact_topic(journal.wallet)
            envelope = Envelope(
                topic, journal.contact_timestamps_ns[index], journal.contacts[index]
            )
            form = _contact_forms(journal.contacts[index])
            self._emit(FlowEvent(EventKind.PROGRESS, "publishing the public contact", forms=form))
            await self.client.publish([envelope], tokens)
            journal.contacts_published += 1
            self.vault.journal.write(journal)
            self._emit(FlowEvent(EventKind.PUBLISHED, "contact published", topic=topic, forms=form))
        self.vault.journal.clear(journal.wallet)

    async def _ensure_contact(self, bundle: PrivateKeyBundleV1) -> None:
        """Republish our contact if the newest valid one is missing or differs from our keys."""
        current = await self.lookup(bundle.wallet_address)
        ours = bundle.signed_public_key_bundle()
        if current.valid and current.contact is not None and current.contact.key_bundle == ours:
            return
        self._emit(FlowEvent(EventKind.PROGRESS, "republishing the public contact"))
        now = self._now_ns()
        topic = contact_topic(bundle.wallet_address)
        tokens = TokenSource(bundle, clock=self._clock)
        for offset, contact in enumerate(contacts := contacts_of(bundle)):
            envelope = Envelope(topic, now + offset * 1_000_000, contact.to_bytes())
            await self.client.publish([envelope], tokens)
        forms = tuple(contact.version.value for contact in contacts)
        self._emit(FlowEvent(EventKind.PUBLISHED, "contact published", topic=topic, forms=forms))

    # -- rotation --------------------------------------------------------------------------

    async def rotate_prekey(self, signer: WalletSigner, identity: Identity) -> Identity:
        """A new current pre-key, history kept, re-stored and re-published."""
        signed: list[SignatureRequest] = []
        base = identity.bundle
        journal = self.vault.journal.pending(identity.wallet_address)
        if journal is not None:
            # An earlier change never reached the node: finish it first, or its pre-key would
            # be overwritten by this rotation.
            finished = await self._resume(signer, journal, signed)
            base = merge_bundles(finished.bundle, base)
        local = self._local_bundle(identity.wallet_address)
        if local is not None and local.identity_key == base.identity_key:
            base = merge_bundles(base, local)
        rotated = rotate_pre_key(base, timestamp_ms=self._clock() // 1_000_000)
        self._emit(FlowEvent(EventKind.PROGRESS, "new pre-key created"))
        return await self._store(signer, rotated, signed, source=identity.source)

    # -- lookup and invitations ------------------------------------------------------------

    async def lookup(self, address: str) -> LookupResult:
        """Newest valid contact of ``address``, with each link of its attestation checked."""
        wallet = to_checksum_address(address)
        errors: list[str] = []
        first_invalid: tuple[ContactBundle, ContactVerification, int] | None = None
        spec = QuerySpec(contact_topic(wallet), limit=CONTACT_PAGE)
        async for envelope in self.client.iter_query(spec):
            try:
                contact = ContactBundle.from_bytes(envelope.message)
            except KeyEngineError as exc:
                errors.append(f"unreadable contact at {envelope.timestamp_ns}: {exc}")
                continue
            report = verify_contact(contact, wallet)
            if report.valid:
                return LookupResult(wallet, contact, report, envelope.timestamp_ns, tuple(errors))
            if first_invalid is None:
                first_invalid = (contact, report, envelope.timestamp_ns)
            errors.extend(report.errors)
        if first_invalid is not None:
            contact, report, ts = first_invalid
            return LookupResult(wallet, contact, report, ts, tuple(errors))
        return LookupResult(wallet, None, None, None, (*errors, "no contact published"))

    async def invites(self, bundle: PrivateKeyBundleV1) -> InviteReport:
        """Every invitation to or from this identity, each opened with the pre-key it names.

        Only what no earlier run read is fetched, junk is skipped cheaply and reported as one
        counted line (``invite_log.read_invites``).
        """
        invites, errors = await read_invites(
            self.client,
            self.vault.invite_logs,
            bundle,
            self._clock(),
            lambda problem: self._emit(FlowEvent(EventKind.WARNING, problem)),
        )
        return InviteReport(invites, errors)

    # -- backup ----------------------------------------------------------------------------

    async def restore(self, signer: WalletSigner, data: bytes) -> Identity:
        """Restore a backup: the wallet unlocks it, then it is stored and published again."""
        encrypted = EncryptedPrivateKeyBundle.from_bytes(data)
        signed: list[SignatureRequest] = []
        bundle = await decrypt_bundle(encrypted, signer, self._observer(signed))
        if bundle.wallet_address != to_checksum_address(signer.address):
            raise WrongWallet("this backup belongs to another wallet")
        bundle.verify()
        existing = self._local_bundle(signer.address)
        if existing is not None and existing.identity_key == bundle.identity_key:
            bundle = merge_bundles(bundle, existing)
        return await self._store(signer, bundle, signed, source="retrieved")
