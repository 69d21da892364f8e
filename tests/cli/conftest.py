"""Running ``authenticator`` as a subprocess, the way users and scripts do."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import subprocess
import sys
import termios
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from authenticator.emulator.server import RunningEmulator

PASSPHRASE = "cli test passphrase"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHENTICATOR_")}
    env.update(
        AUTHENTICATOR_HOME=str(home),
        AUTHENTICATOR_PASSPHRASE=PASSPHRASE,
        AUTHENTICATOR_NO_TTY="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        XDG_RUNTIME_DIR=str(home.parent / "run"),
    )
    (home.parent / "run").mkdir(mode=0o700, exist_ok=True)
    return env


class Cli:
    """``authenticator`` in a given home."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = base_env(home)

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "authenticator", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def with_terminal(self, *args: str, answers: str, timeout: float = 60) -> Result:
        """Run with a real controlling terminal (a pty) that types ``answers``; stdout stays a
        separate pipe, so what the command prints for scripts can be checked on its own."""
        master, slave = pty.openpty()

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        env = {**self.env}
        env.pop("AUTHENTICATOR_NO_TTY")
        proc = subprocess.Popen(
            [sys.executable, "-m", "authenticator", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            preexec_fn=controlling_tty,  # noqa: PLW1509 - needed to give the child a terminal
            pass_fds=(slave,),
        )
        os.close(slave)
        os.write(master, answers.encode())
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            os.close(master)
        return Result(proc.returncode, out, err)


@pytest.fixture
def cli(tmp_path: Path, emu: RunningEmulator) -> Iterator[Cli]:
    return Cli(tmp_path / "home")
