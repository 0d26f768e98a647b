"""Helpers that tests import: plain modules, so fixtures in ``conftest.py`` stay thin.

``node`` (``RunningNode``: the real node on a loopback port), ``message_api`` (raw HTTP calls
of the message API as xmtp-js makes them), ``waiting`` (``wait_until`` instead of sleeps),
``identities`` (deterministic identities for engine tests), ``vectors`` (the SDK fixtures in
``tests/vectors/``), ``keystores`` (real V3 keystore files), ``companion`` (driving the desktop
app in GUI tests), ``paths`` (the checkout's root).
"""
