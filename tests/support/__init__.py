"""Helpers that tests import: plain modules, so fixtures in ``conftest.py`` stay thin."""
