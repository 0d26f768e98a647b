"""The PySide6 desktop app (issue 5). Talks to the engine only through service objects."""
