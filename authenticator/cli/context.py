"""Opening the store for a command: home, keychain or passphrase, a fresh store when there is none.

Order (design.md "The command line"): the OS keychain when the store uses it; else the passphrase
from ``AUTHENTICATOR_PASSPHRASE``; else a prompt on the terminal. A fresh home creates a new
store (keychain when available, else that passphrase). With neither a keychain, the variable nor
a terminal, the command stops with the "locked" exit code.
"""

from __future__ import annotations

import os

from authenticator.cli.prompt import ask_passphrase, has_terminal, say
from authenticator.core.app import Core
from authenticator.core.hardening import protect_process
from authenticator.errors import LockedError
from authenticator.store.paths import AppPaths

__all__ = ["PASSPHRASE_ENV", "make_core", "open_core"]

PASSPHRASE_ENV = "AUTHENTICATOR_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def make_core(home: str | None) -> Core:
    return Core(AppPaths.resolve(home, os.environ))


def _passphrase(prompt: str, *, confirm: bool = False) -> str:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not has_terminal():
        raise LockedError(
            f"The authenticator is locked: there is no keychain, {PASSPHRASE_ENV} is not set "
            "and there is no terminal to ask for the passphrase."
        )
    return ask_passphrase(prompt, confirm=confirm)


def open_core(home: str | None) -> Core:
    """A core with its store open (created first in a fresh home) and its expiry clock running,
    as in the app; the caller closes it (``core.close()`` stops what it started)."""
    protect_process()  # this process is about to hold the vault's keys: no core dumps
    core = make_core(home)
    core.start(agent=False, poller=False)
    try:
        _open_store(core)
    except BaseException:
        core.close()
        raise
    return core


def _open_store(core: Core) -> None:
    mode = core.store_mode()
    if mode is None:
        if os.environ.get(PASSPHRASE_ENV) or not core.keychain_available():
            passphrase = _passphrase("New passphrase for the authenticator: ", confirm=True)
            core.create_store(passphrase=passphrase)
        else:
            core.create_store()
        say(f"Created a new store in {core.paths.data_dir}.")
        return
    if mode == "keychain":
        core.unlock()
    else:
        core.unlock(_passphrase("Passphrase of the authenticator: "))
