"""The local store: vault, keychain, journal, handled requests, settings and their files.

See ``docs/storage.md`` for the file formats and the crash-safety reasoning.
"""
