"""``inspect`` and ``decrypt-bundle`` reports: the engine's artefact verdicts as JSON.

What an artefact is and whether its signatures hold is decided by ``app.keyengine.artefacts``
and ``app.keyengine.verdicts``; this module only turns those values into the report fields
(public keys in hex, times in nanoseconds).  Reports carry public keys only, never private ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.cli.inputs import Decoding
from app.cli.output import CliError, Report
from app.keyengine.artefacts import (
    Artefact,
    AuthTokenArtefact,
    EncryptedBundleArtefact,
    MessageV2Artefact,
    PartiesArtefact,
    PrivateBundleArtefact,
    PublicBundleArtefact,
    detect,
    read_encrypted_bundle,
)
from app.keyengine.encrypted_bundle import EncryptedPrivateKeyBundle
from app.keyengine.verdicts import BundleVerdict, created_ns
from app.keyengine.wallets.keystore import KeystoreFile

_V2_NOTE = "the sender's keys are inside the encrypted payload; only the header is shown"


def public_bundle_report(verdict: BundleVerdict) -> Report:
    """Keys of a public bundle and the check of its wallet → identity → pre-key chain."""
    pre_key = verdict.pre_key
    return {
        "wallet_address": verdict.wallet_address,
        "identity_key": verdict.identity_key.point.hex(),
        "identity_created_ns": created_ns(verdict.identity_key),
        "prekey": None if pre_key is None else pre_key.point.hex(),
        "prekey_created_ns": None if pre_key is None else created_ns(pre_key),
        "signatures_valid": verdict.signatures_valid,
        "errors": list(verdict.errors),
    }


def private_bundle_report(artefact: PrivateBundleArtefact) -> Report:
    """Public keys of a private bundle and every check ``PrivateKeyBundleV1.verify`` makes."""
    verdict = artefact.verdict
    report: Report = {"type": artefact.kind.value}
    if artefact.wrapped is not None:
        report["wrapped"] = artefact.wrapped
    report.update(
        {
            "wallet_address": verdict.wallet_address,
            "identity_key": verdict.identity_key.point.hex(),
            "identity_created_ns": created_ns(verdict.identity_key),
            "prekey": verdict.pre_keys[0].point.hex(),
            "prekeys": [key.point.hex() for key in verdict.pre_keys],
            "prekeys_detail": [
                {"public_key": key.point.hex(), "created_ns": created_ns(key)}
                for key in verdict.pre_keys
            ],
            "signatures_valid": verdict.signatures_valid,
            "errors": list(verdict.errors),
        }
    )
    return report


def _parties_report(artefact: PartiesArtefact) -> Report:
    report: Report = {"type": artefact.kind.value}
    if artefact.message_id:
        report["id"] = artefact.message_id
        report["timestamp_ms"] = artefact.timestamp_ms
    report.update(
        {
            "created_ns": artefact.created_ns,
            "sender": public_bundle_report(artefact.sender),
            "recipient": public_bundle_report(artefact.recipient),
            "signatures_valid": artefact.signatures_valid,
            "errors": list(artefact.errors),
        }
    )
    return report


def report(artefact: Artefact) -> Report:
    """The JSON report of one artefact."""
    match artefact:
        case PrivateBundleArtefact():
            return private_bundle_report(artefact)
        case EncryptedBundleArtefact(wrapped=wrapped, encrypted=encrypted):
            request = encrypted.signature_request
            return {
                "type": artefact.kind.value,
                "wrapped": wrapped,
                "wallet_pre_key": encrypted.wallet_pre_key.hex(),
                "signature_purpose": request.purpose.value,
                "signature_text": request.text,
                "ciphertext_length": len(encrypted.ciphertext.payload),
                "errors": [],
            }
        case PublicBundleArtefact(verdict=verdict):
            return {"type": artefact.kind.value, **public_bundle_report(verdict)}
        case PartiesArtefact():
            return _parties_report(artefact)
        case MessageV2Artefact():
            return {
                "type": artefact.kind.value,
                "id": artefact.message_id,
                "topic": artefact.topic,
                "created_ns": artefact.created_ns,
                "has_sender_hmac": artefact.has_sender_hmac,
                "should_push": artefact.should_push,
                "note": _V2_NOTE,
                "errors": [],
            }
        case AuthTokenArtefact():
            return {
                "type": artefact.kind.value,
                "wallet_address": artefact.wallet_address,
                "auth_data_wallet": artefact.auth_data_wallet,
                "identity_key": artefact.identity_key.point.hex(),
                "created_ns": artefact.created_ns,
                "expires_ns": artefact.expires_ns,
                "signatures_valid": artefact.signatures_valid,
                "valid": artefact.valid,
                "errors": list(artefact.errors),
            }


def _encodings_tried(readings: Sequence[Decoding]) -> str:
    names = {"raw": "raw bytes", "base64url": "URL-safe base64"}
    return ", ".join(names.get(reading.encoding, reading.encoding) for reading in readings)


def find_artefact(readings: Sequence[Decoding]) -> tuple[Artefact, Decoding]:
    """The artefact of the first reading of the input that holds one, with that reading."""
    for reading in readings:
        artefact = detect(reading.data)
        if artefact is not None:
            return artefact, reading
    raise CliError(
        "the input is not an XMTP key artefact this tool recognises "
        f"(read as {_encodings_tried(readings)})"
    )


def identify(readings: Sequence[Decoding]) -> Report:
    """Report on the first reading of the input that holds a known artefact."""
    artefact, reading = find_artefact(readings)
    found = report(artefact)
    return {"type": found["type"], "input_encoding": reading.encoding, **found}


def keystore_report(keystore: KeystoreFile, file: str) -> Report:
    """``inspect`` of an Ethereum keystore: what it is and how to sign with it."""
    return {
        "type": "ethereum_keystore",
        "input_encoding": "raw",
        "wallet_address": keystore.address,
        "kdf": keystore.kdf,
        "usage": f"sign with this wallet: --keyfile {file}",
        "errors": [] if keystore.problem is None else [keystore.problem],
    }


def is_negative(found: Report) -> bool:
    """True when a report's verdict is negative: an error, or signatures that do not hold."""
    return bool(found.get("errors")) or False in (
        found.get("signatures_valid"),
        found.get("valid"),
    )


def find_encrypted_bundle(readings: Sequence[Decoding]) -> EncryptedPrivateKeyBundle:
    """The encrypted private key bundle the input holds; a clear error naming what it is else."""
    for reading in readings:
        encrypted = read_encrypted_bundle(reading.data)
        if encrypted is not None:
            return encrypted
    for reading in readings:
        artefact = detect(reading.data)
        if artefact is not None:
            raise CliError(
                f"the input holds a {artefact.kind.value}, not an encrypted private key bundle"
            )
    raise CliError(
        "the input is not an encrypted private key bundle (the backup xmtp-keys export writes)"
    )
