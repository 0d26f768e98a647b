"""GUI-free XMTP key engine.

Layers, each importing only from the ones below it:

* ``crypto``    – hazmat primitives on bytes (secp256k1, hashes, AEAD); no I/O, no clocks.
* ``proto``     – protobuf modules generated from our ``.proto`` files (``make proto``).
* ``keys``, ``bundles``, ``contact``, ``attestation``, ``prekeys``, ``encrypted_bundle``,
  ``invitations``, ``messages``, ``content``, ``authn``, ``topics``, ``texts`` – protocol
  values that validate on the way in and raise the typed errors of ``errors``.  They take a
  wallet's signature as bytes and never talk to a signer.
* ``verdicts``, ``artefacts`` – what holds about keys (an identity's attestation, a pre-key's
  signature, a lookup link by link) and what an artefact is, as plain values.
* ``wallets`` – the signer protocol and its implementations.
* ``recipes`` – the steps that ask a wallet to sign (create, seal, open an identity).
* ``vault`` (keyring entries), ``journal`` (what is still to publish), ``files``, ``network``
  (the node client) – local and remote persistence.
* ``flows`` – login, rotation, lookup, invitations, backup over a node and a vault.

The front ends (``app.cli``, ``app.companion``) import only the public modules listed in
``tests/test_architecture.py`` and only format what the engine decides.  Nothing here imports
Qt or a front end.
"""
