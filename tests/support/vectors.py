"""The SDK fixtures shipped with the repository (``tests/vectors/``; see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_PATH = Path(__file__).resolve().parent.parent / "vectors" / "xmtp-vectors.json"


def load_vectors() -> dict[str, dict[str, Any]]:
    """Every vector by its ``id``."""
    data = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    return {vector["id"]: vector for vector in data["vectors"]}
