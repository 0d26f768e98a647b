"""The online commands' results for a person: identity, pre-keys, lookup, invitations, backup.

Keys by fingerprint (as the desktop app shows them), times in local ISO-8601, the current
pre-key marked; the ``--json`` reports (``app.cli.online``) carry the same facts in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from app.cli.text import fields, fingerprint, local_time, pre_key_rows, table
from app.keyengine.flows import Identity, InviteReport
from app.keyengine.verdicts import LookupResult

_SOURCES: Final = {
    "generated": "a new identity, created and published now",
    "retrieved": "unlocked from the copy stored on the node",
}
_NS_PER_MS: Final = 1_000_000
_CHECK_NAMES: Final = {
    "contact_published": "contact published",
    "wallet_signature": "wallet signature",
    "pre_key_signature": "pre-key signature",
}


ROTATED: Final = "A new current pre-key was made and published; the old ones are kept."
RESTORED: Final = "The backup was restored: its keys are stored and published on the node again."


def identity_lines(
    identity: Identity, node: str, keys_kept: str | None, *, done: str | None = None
) -> list[str]:
    """Who this is, where the keys came from and are kept, and the pre-keys (current marked).

    ``keys_kept`` is ``None`` when a note has already said where the keys are kept; ``done``
    is the sentence for what the command changed (``ROTATED``, ``RESTORED``).
    """
    bundle = identity.bundle
    source = "from the backup" if done is RESTORED else _SOURCES.get(identity.source, "")
    pairs = [
        ("identity key", fingerprint(bundle.identity_key.public_key.point)),
        ("keys", source or identity.source),
        ("node", node),
    ]
    if keys_kept is not None:
        pairs.append(("private keys", f"kept {keys_kept}"))
    history = [
        (key.public_key.point, key.public_key.timestamp_ms * _NS_PER_MS) for key in bundle.pre_keys
    ]
    lines = [f"XMTP identity of {bundle.wallet_address}", *fields(pairs)]
    if done is not None:
        lines.append(done)
    lines += [f"Pre-keys ({len(history)}), newest first:", *pre_key_rows(history)]
    if identity.signed:
        purposes = ", ".join(request.purpose.value.replace("_", " ") for request in identity.signed)
        lines.append(f"Signed with the wallet: {purposes}.")
    return lines


def lookup_lines(result: LookupResult) -> list[str]:
    """The verdict in one sentence, the keys found, then each link of the chain checked."""
    contact = result.contact
    if contact is None:
        return [f"{result.wallet_address} has no XMTP keys on this node: nothing is published."]
    published = local_time(result.timestamp_ns)
    if result.valid:
        head = f"{result.wallet_address} has valid XMTP keys (contact {contact.version.value}, "
    else:
        head = f"{result.wallet_address} has INVALID XMTP keys (contact {contact.version.value}, "
    pre_key = contact.pre_key_point
    lines = [
        head + f"published {published}).",
        *fields(
            [
                ("identity key", fingerprint(contact.identity_point)),
                ("pre-key", "none" if pre_key is None else fingerprint(pre_key)),
            ]
        ),
        "Checks:",
        *table(
            ("", "check", "detail"),
            [
                ("ok" if link.ok else "FAILED", _CHECK_NAMES.get(link.name, link.name), link.detail)
                for link in result.links
            ],
        ),
    ]
    if not result.valid:
        lines += [f"  - {error}" for error in result.errors]
    return lines


def invite_lines(report: InviteReport, wallet: str) -> list[str]:
    """One row per invitation, oldest first as the node returns them."""
    if not report.invites:
        return [f"No invitations for {wallet}."]
    rows: Sequence[tuple[str, str, str, str]] = [
        (
            local_time(invite.created_ns),
            "sent" if invite.sent_by_us else "received",
            invite.peer_address,
            fingerprint(invite.pre_key),
        )
        for invite in report.invites
    ]
    count = len(report.invites)
    return [
        f"{count} invitation{'s' if count != 1 else ''} for {wallet}:",
        *table(("created", "", "with", "sealed to pre-key"), rows),
    ]


def export_lines(wallet: str, file: str) -> list[str]:
    return [
        f"Saved the encrypted key bundle of {wallet} to {file} (mode 0600).",
        "Only this wallet's signature opens it; restore it with: xmtp-keys import FILE.",
    ]
