"""The fingerprint of a public key: the one short form shown everywhere (the GUI too).

A person compares keys by eye (the signing prompt, the Identity, Pre-keys and Lookup screens,
``xmtp-keys``), so every front end shows this same value: the first 20 bytes of the SHA-256
of the key's 65-byte uncompressed point, in lowercase hex, in groups of 4 separated by spaces.
"""

from __future__ import annotations

import hashlib


def key_fingerprint(public_key_bytes: bytes) -> str:
    """The fingerprint shown everywhere (the GUI too) of a 65-byte uncompressed public point."""
    digest = hashlib.sha256(public_key_bytes).hexdigest()[:40]
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))
