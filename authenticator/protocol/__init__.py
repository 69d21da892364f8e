"""The Encedo external-authenticator protocol, pure.

Every computation of spec/protocol.md and the passphrase login of spec/hem-api.md §2, with no I/O,
no Qt, no clock reads (``now`` is a parameter) and injectable randomness (``rng``). Modules:
``b64``, ``crypto``, ``keys``, ``jsonutil``, ``ejwt``, ``sealing``, ``urls``, ``pairing``,
``access``, ``periods``, ``login``, ``bearer``, ``scopes``, ``links``.
"""
