"""JSON from outside (a node, a keystore file, our own files on disk) with a nesting ceiling.

``json.loads`` recurses in C for every nested array or object.  Python's recursion limit is
meant to stop it, but a hostile document nested 200,000 deep has crashed the desktop app
(segmentation fault inside Qt's event loop) instead of raising ``RecursionError``.  So depth is
checked before parsing, on the document's brackets alone (everything else is deleted first,
in C): more than ``MAX_BRACKETS`` of them, or nesting deeper than ``MAX_DEPTH``, is refused.
None of the documents this app reads nests more than five deep or holds more than a few
thousand brackets, and none of their strings (base64, hex, topics, addresses) holds brackets.
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any, Final

MAX_DEPTH: Final = 64
MAX_BRACKETS: Final = 200_000
"""A batch answer of 50 full pages has about 10,000."""

_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS: Final = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def too_deep(raw: bytes) -> bool:
    """True when ``raw`` holds too many brackets or nests them deeper than ``MAX_DEPTH``."""
    brackets = raw.translate(None, _NOT_BRACKETS)
    if len(brackets) > MAX_BRACKETS:
        return True
    return max(accumulate(step - 1 for step in brackets.translate(_STEPS)), default=0) > MAX_DEPTH


class JsonTooDeep(ValueError):
    """A JSON document nests deeper than ``MAX_DEPTH`` (a ``ValueError``, like bad JSON)."""


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``, refusing (``JsonTooDeep``) anything nested too deeply.

    Raises ``ValueError`` (``JSONDecodeError``, integers of more than 4,300 digits,
    ``JsonTooDeep``) or ``UnicodeDecodeError`` for anything that is not acceptable JSON.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if too_deep(raw):
        raise JsonTooDeep(f"JSON nested more than {MAX_DEPTH} deep (or with too many brackets)")
    try:
        return json.loads(raw)
    except RecursionError:
        raise JsonTooDeep("JSON nested too deeply") from None
