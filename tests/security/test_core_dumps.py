"""No core dumps of the app's memory (issue 12, "small leaks closed").

``protect_process`` in a process of its own (the limits and the dumpable flag are process-wide),
then the real entry points: the desktop app makes itself undumpable with no core limit, a
command-line process keeps no core either but stays dumpable (so the running app can still tell
who asks when it asks the agent), and ``AUTHENTICATOR_ALLOW_CORE_DUMPS=1`` leaves both alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support_emulator import wait_for

REPORT = """
import ctypes, json, resource, sys
from authenticator.core.hardening import protect_process
before = resource.getrlimit(resource.RLIMIT_CORE)
done = protect_process(dumpable=sys.argv[1] == "dumpable")
libc = ctypes.CDLL(None, use_errno=True)
print(json.dumps({
    "before": before,
    "after": resource.getrlimit(resource.RLIMIT_CORE),
    "dumpable": libc.prctl(3, 0, 0, 0, 0),  # PR_GET_DUMPABLE
    "done": [done.core_limit, done.undumpable, done.allowed_by_env],
}))
"""


def report(mode: str, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k != "AUTHENTICATOR_ALLOW_CORE_DUMPS"}
    out = subprocess.run(
        [sys.executable, "-c", REPORT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**environ, **env},
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_the_app_process_has_no_core_and_is_not_dumpable() -> None:
    result = report("app")
    assert result["after"] == [0, 0]
    assert result["dumpable"] == 0
    assert result["done"] == [True, True, False]


def test_a_command_line_process_has_no_core_but_stays_dumpable() -> None:
    result = report("dumpable")
    assert result["after"] == [0, 0]
    assert result["dumpable"] == 1
    assert result["done"] == [True, False, False]


def test_the_debug_flag_leaves_core_dumps_alone() -> None:
    result = report("app", AUTHENTICATOR_ALLOW_CORE_DUMPS="1")
    assert result["after"] == result["before"]
    assert result["dumpable"] == 1
    assert result["done"] == [False, False, True]


# The real entry points, observed from outside as the kernel shows them: run as nobody, a
# process's /proc files (environ, status…) belong to nobody while it is dumpable and to root once
# it is not.

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
needs_setpriv = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to watch a process of another user",
)


@pytest.fixture
def nobody_home() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="eda-cd-", dir="/tmp"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def core_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return " ".join(line.split()[4:6])
    raise AssertionError("no core limit line")


def run_as_nobody(home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("XDG_", "AUTHENTICATOR_")) and k != "TMPDIR"
    }
    environ.update(HOME=str(home), TMPDIR=str(home), QT_QPA_PLATFORM="offscreen", **env)
    return subprocess.Popen(
        [*NOBODY, sys.executable, "-m", "authenticator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
        cwd=home,
    )


@needs_setpriv
def test_the_desktop_app_makes_itself_undumpable(nobody_home: Path) -> None:
    proc = run_as_nobody(
        nobody_home, "--home", str(nobody_home / "h"), AUTHENTICATOR_GUI_QUIT_AFTER="120"
    )
    try:
        # setpriv starts as root, becomes nobody (undumpable for a moment: its credentials
        # changed) and execs python (dumpable again): from then on only the app can turn it off.
        python = os.path.realpath(sys.executable)
        wait_for(lambda: os.path.realpath(f"/proc/{proc.pid}/exe") == python, timeout=60)
        # The desktop app makes itself undumpable: its /proc files turn root's.
        wait_for(lambda: os.stat(f"/proc/{proc.pid}/environ").st_uid == 0, timeout=60)
        assert core_limit(proc.pid) == "0 0"
        assert Path(f"/proc/{proc.pid}/status").read_text().count("\t65534") >= 4  # still nobody
    finally:
        proc.kill()
        proc.communicate(timeout=30)


@needs_setpriv
def test_a_command_line_process_keeps_no_core_and_stays_dumpable(nobody_home: Path) -> None:
    proc = run_as_nobody(nobody_home, "emulator", "--port", "0")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Encedo HEM emulator running")
        assert core_limit(proc.pid) == "0 0"
        assert os.stat(f"/proc/{proc.pid}/environ").st_uid == 65534  # still its user's
    finally:
        proc.kill()
        proc.communicate(timeout=30)
