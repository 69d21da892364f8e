"""Fault tests: the ``app`` fixture (a core with 0.5 s client timeouts)."""

from tests.faults.support import app  # noqa: F401 - the fixture, for every fault test
