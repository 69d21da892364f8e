"""Keep the app's memory out of core dumps.

While unlocked, the app holds pairing keys, the journal key and fresh bearer tokens in memory; a
crash must not write them to a core file (or hand them to a crash reporter). :func:`protect_process`
is called once at process start:

* every ``authenticator`` process: ``RLIMIT_CORE`` soft and hard 0 (no core file; crash
  collectors such as systemd-coredump and apport honour the limit too);
* the desktop app (and any process that does not talk to the agent as a client): also
  ``prctl(PR_SET_DUMPABLE, 0)`` on Linux, so the kernel never dumps it and other processes of the
  same user cannot read its memory through ``/proc``. A command-line process that asks the running
  app for a token stays dumpable: the app must be able to read its ``/proc`` entry to say who
  asks (an undumpable process's executable is hidden from its own user).

``AUTHENTICATOR_ALLOW_CORE_DUMPS=1`` leaves both alone (for debugging a crash; logged).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ALLOW_CORE_DUMPS_ENV", "Protection", "protect_process"]

log = logging.getLogger(__name__)

ALLOW_CORE_DUMPS_ENV = "AUTHENTICATOR_ALLOW_CORE_DUMPS"
_PR_SET_DUMPABLE = 4


@dataclass(frozen=True, slots=True)
class Protection:
    """What :func:`protect_process` did."""

    core_limit: bool  # RLIMIT_CORE is (0, 0)
    undumpable: bool  # PR_SET_DUMPABLE 0 took effect
    allowed_by_env: bool = False  # the debug flag asked for core dumps


def _limit_core() -> bool:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):  # pragma: no cover - a hard limit we may not lower is absent
        return False
    return True


def _undumpable() -> bool:
    if not sys.platform.startswith("linux"):  # pragma: no cover - other platforms
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc
        return False


def protect_process(
    *, dumpable: bool = False, environ: Mapping[str, str] | None = None
) -> Protection:
    """No core dumps for this process (see the module); ``dumpable``: skip ``PR_SET_DUMPABLE``."""
    env = os.environ if environ is None else environ
    if env.get(ALLOW_CORE_DUMPS_ENV, "").strip().lower() in ("1", "true", "yes"):
        log.warning(
            "core dumps are allowed (%s is set): they may contain secrets", ALLOW_CORE_DUMPS_ENV
        )
        return Protection(core_limit=False, undumpable=False, allowed_by_env=True)
    return Protection(core_limit=_limit_core(), undumpable=False if dumpable else _undumpable())
