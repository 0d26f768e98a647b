"""Where the checkout is, for tests that start ``python -m ...`` children in it."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
