"""GUI-free XMTP key engine.

Layers, each importing only from the ones below it:

* ``crypto``    – hazmat primitives on bytes (secp256k1, hashes, AEAD); no I/O, no clocks.
* ``proto``     – protobuf modules generated from our ``.proto`` files (``make proto``).
* ``keys``, ``bundles``, ``contact``, ``attestation``, ``prekeys``, ``encrypted_bundle``,
  ``invitations``, ``messages``, ``authn`` – immutable protocol values that validate on the
  way in and raise the typed errors of ``errors``.
* ``wallets`` – the signer protocol and its implementations.

Nothing here imports Qt; the GUI, the CLI and the tests all call this package.
"""
