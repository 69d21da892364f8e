"""Core tests: the real core against the real emulator (fixtures in tests/support_emulator.py)."""

from tests.support_emulator import (  # noqa: F401 - helpers the core tests import from here
    HEM_PASSPHRASE,
    PASSPHRASE,
    Ask,
    ask,
    finished,
    make_core,
    pair_by_qr,
    requester_for,
    wait_for,
)
