"""How strong a new keystore password is, by a well-kept estimator (zxcvbn), not our rules.

zxcvbn scores 0 (guessable in seconds) to 4 (very unguessable) from dictionaries, keyboard
patterns, dates and repeats, the way attackers actually guess.  A keystore guards a wallet key
offline: anyone with the file can guess without limit, so we ask for ``MIN_SCORE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MIN_SCORE: Final = 3
"""zxcvbn's "safely unguessable" (about 10^8 guesses or more)."""
MAX_CHECKED_LENGTH: Final = 200
"""zxcvbn's cost grows with length; what is beyond this adds strength and is not examined."""


@dataclass(frozen=True, slots=True)
class PasswordStrength:
    score: int
    """0 (very weak) … 4 (very strong)."""
    advice: str
    """zxcvbn's warning and suggestions in plain words ("" when there is nothing to say)."""

    @property
    def acceptable(self) -> bool:
        return self.score >= MIN_SCORE


def password_strength(password: str, hints: tuple[str, ...] = ()) -> PasswordStrength:
    """The strength of ``password``; ``hints`` are words the person's own data makes easy
    (a file name, an address) and count as guessable."""
    from zxcvbn import zxcvbn  # imported here: its dictionaries load on first use

    if not password:
        return PasswordStrength(0, "Enter a password.")  # zxcvbn cannot score nothing

    result = zxcvbn(password[:MAX_CHECKED_LENGTH], user_inputs=list(hints))
    feedback = result.get("feedback", {})
    parts = [str(feedback.get("warning") or "")] + [str(s) for s in feedback.get("suggestions", [])]
    return PasswordStrength(int(result["score"]), " ".join(p for p in parts if p))
