"""Fuzz tests: print how many inputs each test was fed (and write them to ``FUZZ_COUNTS_FILE``)."""

from __future__ import annotations

import pytest

from tests.fuzz.support import COUNTS, PROFILE, write_counts


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTS:
        return
    terminalreporter.section(f"fuzz inputs (hypothesis profile {PROFILE!r})")
    width = max(len(name) for name in COUNTS)
    for name, count in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{name:<{width}}  {count:>8}")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(COUNTS.values()):>8}")
    write_counts()
