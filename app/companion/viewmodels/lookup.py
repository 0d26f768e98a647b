"""Look up any address: its published identity and pre-key, each attestation step checked."""

from __future__ import annotations

from dataclasses import dataclass

from app.companion.context import AppContext
from app.companion.qt import QObject, Signal
from app.keyengine.fingerprints import key_fingerprint
from app.keyengine.verdicts import (
    CONTACT_PUBLISHED,
    PRE_KEY_SIGNATURE,
    WALLET_SIGNATURE,
    ChainCheck,
    LookupResult,
    check_address,
)


@dataclass(frozen=True, slots=True)
class Step:
    """One link of the engine's lookup verdict, with the words the screen shows for it."""

    title: str
    detail: str
    link: ChainCheck

    @property
    def ok(self) -> bool:
        return self.link.ok


@dataclass(frozen=True, slots=True)
class LookupView:
    address: str
    valid: bool
    summary: str
    identity_key: str
    pre_key: str
    pre_key_fingerprint: str
    identity_fingerprint: str
    version: str
    steps: tuple[Step, ...]
    problems: tuple[str, ...]


class LookupViewModel(QObject):
    result_changed = Signal(object)
    """A ``LookupView`` (or ``None`` when cleared)."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.result: LookupView | None = None

    def address_problem(self, text: str) -> tuple[str, str]:
        """(message, status) next to the address field: "bad" stops the lookup, "warn" (an
        EIP-55 checksum that does not match, as MetaMask warns) lets it go on."""
        if not text.strip():
            return "", "neutral"
        checked = check_address(text)
        if checked.address is None:
            return (
                self.tr("This is not an Ethereum address: {0}.").format(checked.reason),
                "bad",
            )
        if checked.checksum_mismatch:
            return (
                self.tr("Checksum does not match: did you mean {0}?").format(checked.address),
                "warn",
            )
        return "", "neutral"

    async def lookup(self, address: str) -> LookupView | None:
        async def work() -> LookupView:
            found = await self.context.engine.flows.lookup(address.strip())
            return self._view(found)

        view = await self.context.operations.run(self.tr("Looking up {0}").format(address), work)
        self.result = view
        self.result_changed.emit(view)
        return view

    def _view(self, found: LookupResult) -> LookupView:
        contact = found.contact
        names = {
            CONTACT_PUBLISHED: self.tr("A contact is published for this address"),
            WALLET_SIGNATURE: self.tr("The identity key is attested by this wallet"),
            PRE_KEY_SIGNATURE: self.tr("The pre-key is signed by the identity key"),
        }
        details = {
            (CONTACT_PUBLISHED, True): self.tr("found on the node"),
            (CONTACT_PUBLISHED, False): self.tr(
                "nothing published: this address has no XMTP identity here"
            ),
        }
        steps = [
            Step(
                names.get(link.name, link.name),
                details.get((link.name, link.ok), link.detail),
                link,
            )
            for link in found.links
        ]
        if found.valid:
            summary = self.tr("Valid: every link of the attestation chain checks out.")
        elif contact is None:
            summary = self.tr("No XMTP identity is published for this address.")
        else:
            summary = self.tr("Not valid: a link of the attestation chain fails (see below).")
        pre_key = contact.pre_key_point if contact is not None else None
        return LookupView(
            address=found.wallet_address,
            valid=found.valid,
            summary=summary,
            identity_key=contact.identity_point.hex() if contact is not None else "",
            pre_key=pre_key.hex() if pre_key is not None else "",
            pre_key_fingerprint=key_fingerprint(pre_key) if pre_key is not None else "",
            identity_fingerprint=(
                key_fingerprint(contact.identity_point) if contact is not None else ""
            ),
            version=contact.version.value if contact is not None else "",
            steps=tuple(steps),
            problems=() if found.valid else found.errors,
        )
