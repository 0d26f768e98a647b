"""Verdicts about keys, computed once here and only formatted by the CLI and the GUI.

A verdict is a plain value: each link of a key's chain of trust with whether it held and why.
The links are the same everywhere:

* ``wallet_signature`` – the identity key's Create Identity signature recovers a wallet (and
  the expected one, compared case-insensitively as xmtp-js does);
* ``pre_key_signature`` – a pre-key is signed by the identity key;
* ``contact_published`` – (lookups only) a contact for the address is on the node at all.

Nothing here raises for a bad key: the problem is the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from app.keyengine.attestation import recover_wallet_address
from app.keyengine.bundles import (
    PrivateKeyBundleV1,
    PrivateKeyBundleV2,
    PublicKeyBundle,
    SignedPublicKeyBundle,
)
from app.keyengine.crypto.ethereum import to_checksum_address
from app.keyengine.errors import BadSignature, KeyEngineError
from app.keyengine.keys import (
    NS_PER_MS,
    PrivateKey,
    PublicKey,
    SignedPrivateKey,
    SignedPublicKey,
    verify_pre_key_signature,
)

if TYPE_CHECKING:
    from app.keyengine.contact import ContactBundle, ContactVerification

WALLET_SIGNATURE: Final = "wallet_signature"
PRE_KEY_SIGNATURE: Final = "pre_key_signature"
CONTACT_PUBLISHED: Final = "contact_published"


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """One link of the attestation chain and whether it held."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class AttestationVerdict:
    """Whether an identity key's wallet signature recovers its wallet."""

    recovered: str | None
    """The wallet the signature recovers to; ``None`` when it does not recover at all."""
    expected: str | None
    check: ChainCheck

    @property
    def ok(self) -> bool:
        return self.check.ok


def check_attestation(
    identity_key: PublicKey | SignedPublicKey, expected_wallet: str | None = None
) -> AttestationVerdict:
    try:
        recovered = recover_wallet_address(identity_key)
    except KeyEngineError as exc:
        check = ChainCheck(WALLET_SIGNATURE, False, f"identity key attestation: {exc}")
        return AttestationVerdict(None, expected_wallet, check)
    if expected_wallet is not None and recovered.lower() != expected_wallet.lower():
        detail = f"identity key is attested by {recovered}, not by {expected_wallet}"
        check = ChainCheck(WALLET_SIGNATURE, False, detail)
    else:
        check = ChainCheck(WALLET_SIGNATURE, True, f"identity key attested by {recovered}")
    return AttestationVerdict(recovered, expected_wallet, check)


def check_pre_key(
    identity_point: bytes, pre_key: PublicKey | SignedPublicKey | None, label: str = "pre-key"
) -> ChainCheck:
    """Whether ``pre_key`` (``None``: the bundle has none) is signed by the identity key."""
    try:
        if pre_key is None:
            raise BadSignature("bundle has no pre-key")
        verify_pre_key_signature(identity_point, pre_key)
    except KeyEngineError as exc:
        return ChainCheck(PRE_KEY_SIGNATURE, False, f"{label}: {exc}")
    return ChainCheck(PRE_KEY_SIGNATURE, True, f"{label} signed by the identity key")


def created_ns(key: PublicKey | SignedPublicKey) -> int:
    """Creation time in nanoseconds of a V1 (milliseconds) or V2 public key."""
    if isinstance(key, PublicKey):
        return key.timestamp_ms * NS_PER_MS
    return key.created_at_ns


@dataclass(frozen=True, slots=True)
class BundleVerdict:
    """The public keys of a (public or private) bundle and every check of its chain."""

    wallet_address: str | None
    identity_key: PublicKey | SignedPublicKey
    pre_keys: tuple[PublicKey | SignedPublicKey, ...]
    """Newest first; empty for a very old public bundle without a pre-key."""
    errors: tuple[str, ...]

    @property
    def signatures_valid(self) -> bool:
        return not self.errors

    @property
    def pre_key(self) -> PublicKey | SignedPublicKey | None:
        return self.pre_keys[0] if self.pre_keys else None


def check_public_bundle(bundle: PublicKeyBundle | SignedPublicKeyBundle) -> BundleVerdict:
    """Wallet → identity key → pre-key of a public bundle."""
    attestation = check_attestation(bundle.identity_key)
    checks = (attestation.check, check_pre_key(bundle.identity_key.point, bundle.pre_key))
    pre_keys = () if bundle.pre_key is None else (bundle.pre_key,)
    errors = tuple(check.detail for check in checks if not check.ok)
    return BundleVerdict(attestation.recovered, bundle.identity_key, pre_keys, errors)


def pre_key_label(index: int) -> str:
    return "current pre-key" if index == 0 else f"pre-key {index} (history)"


def check_private_bundle(bundle: PrivateKeyBundleV1 | PrivateKeyBundleV2) -> BundleVerdict:
    """Every check ``PrivateKeyBundleV1.verify`` makes, with all problems listed.

    For a V1 bundle ``verify`` itself runs last, so this verdict is never more lenient than
    the engine.
    """
    errors: list[str] = []
    identity: PrivateKey | SignedPrivateKey = bundle.identity_key
    pre_keys: Sequence[PrivateKey | SignedPrivateKey] = bundle.pre_keys
    if not identity.matches_public_key():
        errors.append("identity key: the private key does not match its public key")
    for index, pre_key in enumerate(pre_keys):
        if not pre_key.matches_public_key():
            errors.append(f"{pre_key_label(index)}: the private key does not match its public key")
    attestation = check_attestation(identity.public_key)
    if not attestation.ok:
        errors.append(attestation.check.detail)
    for index, pre_key in enumerate(pre_keys):
        check = check_pre_key(identity.public_key.point, pre_key.public_key, pre_key_label(index))
        if not check.ok:
            errors.append(check.detail)
    if isinstance(bundle, PrivateKeyBundleV1) and not errors:
        try:
            bundle.verify()
        except KeyEngineError as exc:
            errors.append(str(exc))
    public = tuple(key.public_key for key in pre_keys)
    return BundleVerdict(attestation.recovered, identity.public_key, public, tuple(errors))


def opener_mismatch(verdict: BundleVerdict, opened_by: str) -> str | None:
    """The problem when a bundle's identity key names another wallet than the one that
    decrypted it (``None`` when they agree, or when the attestation is already an error)."""
    wallet = verdict.wallet_address
    if wallet is None or wallet == opened_by:
        return None
    return f"the identity key is attested by {wallet}, not by the wallet that decrypted it"


@dataclass(frozen=True, slots=True)
class LookupResult:
    """What a lookup of an address found: its newest valid contact, else the first one seen."""

    wallet_address: str
    contact: ContactBundle | None
    verification: ContactVerification | None
    timestamp_ns: int | None
    errors: tuple[str, ...]

    @property
    def valid(self) -> bool:
        return self.verification is not None and self.verification.valid

    @property
    def links(self) -> tuple[ChainCheck, ...]:
        """Link by link: a contact is published, then each check of its attestation chain."""
        if self.contact is None or self.verification is None:
            detail = "nothing published: this address has no XMTP identity here"
            return (ChainCheck(CONTACT_PUBLISHED, False, detail),)
        published = ChainCheck(CONTACT_PUBLISHED, True, "found on the node")
        return (published, *self.verification.checks)


@dataclass(frozen=True, slots=True)
class AddressCheck:
    """What holds about an address someone typed: valid at all, and its EIP-55 checksum.

    A mixed-case address whose checksum does not match is still usable (as in MetaMask, a
    warning, not an error): ``checksum_mismatch`` says so and ``address`` is the right form.
    """

    text: str
    address: str | None
    """The EIP-55 form, or ``None`` when ``text`` is not an address."""
    reason: str = ""
    """Why it is not an address (plain words), "" when it is."""
    checksum_mismatch: bool = False

    @property
    def valid(self) -> bool:
        return self.address is not None


def check_address(text: str) -> AddressCheck:
    """Check a typed Ethereum address; never raises."""
    typed = text.strip()
    if not typed.startswith(("0x", "0X")):
        return AddressCheck(typed, None, "it must start with 0x")
    digits = typed[2:]
    bad = sorted({c for c in digits if c not in "0123456789abcdefABCDEF"})
    if bad:
        return AddressCheck(typed, None, f"these are not hex digits: {' '.join(bad)}")
    if len(digits) != 40:
        return AddressCheck(typed, None, f"it needs 40 hex digits after 0x, it has {len(digits)}")
    address = to_checksum_address("0x" + digits)
    mixed = digits != digits.lower() and digits != digits.upper()
    return AddressCheck(typed, address, "", mixed and address[2:] != digits)
