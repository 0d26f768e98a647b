"""``inspect`` and ``decrypt-bundle`` for a person: what the artefact is, its keys, its verdict.

The same engine verdicts as the JSON reports (``app.cli.artefacts``), in sentences: keys by
fingerprint, times in local ISO-8601, the current pre-key marked, and one closing line that
says whether every signature holds.  Private keys are never shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from app.cli.inputs import Decoding
from app.cli.text import fields, fingerprint, local_time, pre_key_rows
from app.keyengine.artefacts import (
    Artefact,
    ArtefactKind,
    AuthTokenArtefact,
    EncryptedBundleArtefact,
    MessageV2Artefact,
    PartiesArtefact,
    PrivateBundleArtefact,
    PublicBundleArtefact,
)
from app.keyengine.verdicts import BundleVerdict, created_ns
from app.keyengine.wallets.keystore import KeystoreFile

KIND_NAMES: Final = {
    ArtefactKind.PRIVATE_KEY_BUNDLE_V1: "an XMTP private key bundle (v1)",
    ArtefactKind.PRIVATE_KEY_BUNDLE_V2: "an XMTP private key bundle (v2)",
    ArtefactKind.ENCRYPTED_PRIVATE_KEY_BUNDLE: "an encrypted XMTP private key bundle (a backup)",
    ArtefactKind.SEALED_INVITATION: "a sealed XMTP invitation",
    ArtefactKind.MESSAGE_V1: "an XMTP message (v1)",
    ArtefactKind.MESSAGE_V2: "an XMTP message (v2)",
    ArtefactKind.AUTH_TOKEN: "an XMTP network auth token",
    ArtefactKind.CONTACT_BUNDLE_V1: "an XMTP contact bundle (v1)",
    ArtefactKind.CONTACT_BUNDLE_V2: "an XMTP contact bundle (v2)",
    ArtefactKind.CONTACT_BUNDLE_LEGACY: "an old XMTP contact (a bare public key bundle)",
    ArtefactKind.PUBLIC_KEY_BUNDLE: "an XMTP public key bundle",
    ArtefactKind.SIGNED_PUBLIC_KEY_BUNDLE: "an XMTP signed public key bundle",
}
ENCODING_NAMES: Final = {
    "raw": "raw bytes",
    "hex": "hex",
    "base64": "base64",
    "base64url": "URL-safe base64",
}


def verdict_line(errors: Sequence[str]) -> list[str]:
    """The closing sentence: every signature holds, or each problem on its own line."""
    if not errors:
        return ["Every signature holds."]
    return ["NOT VALID:", *(f"  - {error}" for error in errors)]


def _bundle_fields(verdict: BundleVerdict, indent: str = "  ") -> list[str]:
    identity = verdict.identity_key
    pairs = [
        (
            "wallet",
            verdict.wallet_address or "none (the identity key's signature does not recover)",
        ),
        ("identity key", fingerprint(identity.point)),
        ("created", local_time(created_ns(identity))),
    ]
    if len(verdict.pre_keys) <= 1:
        pre_key = verdict.pre_key
        pairs.append(("pre-key", "none" if pre_key is None else fingerprint(pre_key.point)))
        if pre_key is not None:
            pairs.append(("pre-key created", local_time(created_ns(pre_key))))
    return fields(pairs, indent)


def private_bundle_lines(artefact: PrivateBundleArtefact) -> list[str]:
    """A private bundle's public keys, its pre-key history (current marked) and its verdict."""
    verdict = artefact.verdict
    lines = _bundle_fields(verdict)
    if len(verdict.pre_keys) > 1:
        history = [(key.point, created_ns(key)) for key in verdict.pre_keys]
        lines += ["Pre-keys, newest first:", *pre_key_rows(history)]
    return [*lines, "It holds private keys: keep it secret.", *verdict_line(verdict.errors)]


def _parties_lines(artefact: PartiesArtefact) -> list[str]:
    when = artefact.timestamp_ms * 1_000_000 if artefact.message_id else artefact.created_ns
    pairs = [("created", local_time(when))]
    if artefact.message_id:
        pairs.append(("id", artefact.message_id))
    lines = fields(pairs)
    for role, verdict in (("Sender:", artefact.sender), ("Recipient:", artefact.recipient)):
        lines += [role, *_bundle_fields(verdict, "    ")]
    return [*lines, *verdict_line(artefact.errors)]


def _body(artefact: Artefact) -> list[str]:
    match artefact:
        case PrivateBundleArtefact():
            return private_bundle_lines(artefact)
        case EncryptedBundleArtefact(encrypted=encrypted):
            return [
                *fields(
                    [
                        ("opens with", "the wallet's signature of this text:"),
                        ("", encrypted.signature_request.text.splitlines()[0]),
                        ("", encrypted.signature_request.text.splitlines()[1]),
                        ("ciphertext", f"{len(encrypted.ciphertext.payload)} bytes"),
                    ]
                ),
                "Open it with its wallet: xmtp-keys decrypt-bundle --keyfile F FILE, "
                "or restore it to the node with xmtp-keys import --keyfile F FILE.",
            ]
        case PublicBundleArtefact(verdict=verdict):
            return [*_bundle_fields(verdict), *verdict_line(verdict.errors)]
        case PartiesArtefact():
            return _parties_lines(artefact)
        case MessageV2Artefact():
            return [
                *fields(
                    [
                        ("created", local_time(artefact.created_ns)),
                        ("id", artefact.message_id),
                        ("topic", artefact.topic),
                    ]
                ),
                "The sender's keys are inside the encrypted payload; only the header is shown.",
            ]
        case AuthTokenArtefact():
            lines = fields(
                [
                    ("wallet", artefact.wallet_address or "none (does not recover)"),
                    ("identity key", fingerprint(artefact.identity_key.point)),
                    ("created", local_time(artefact.created_ns)),
                    ("expires", local_time(artefact.expires_ns)),
                ]
            )
            return [*lines, *verdict_line(artefact.errors)]


def artefact_lines(artefact: Artefact, reading: Decoding) -> list[str]:
    """What ``inspect`` prints without ``--json``."""
    encoding = ENCODING_NAMES.get(reading.encoding, reading.encoding)
    return [f"This is {KIND_NAMES[artefact.kind]}, read as {encoding}.", *_body(artefact)]


def keystore_lines(keystore: KeystoreFile, file: str) -> list[str]:
    """``inspect`` of an Ethereum keystore: what it is and how to sign with it."""
    wallet = keystore.address or "its address is not written in the file"
    lines = [
        "This is an Ethereum keystore file (a wallet's private key, encrypted with a "
        "password), not an XMTP artefact.",
        *fields([("wallet", wallet), ("key derivation", keystore.kdf)]),
    ]
    if keystore.problem is not None:
        return [*lines, f"This app cannot use it: {keystore.problem}"]
    return [
        *lines,
        f"Sign with this wallet by giving it as --keyfile {file}, for example:",
        f"  xmtp-keys login --keyfile {file}",
    ]
