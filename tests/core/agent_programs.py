"""Local programs that talk to the agent the way real (and hostile) ones do: each runs in a
process of its own, from a script file, so the agent sees a real pid, executable and script.

``asker.py`` (written to a folder by :func:`write_asker`) takes ``SOCKET MODE [ARGS…]``:

* ``ask SCOPE [REMEMBER]``: ask for a token, print the agent's answer line;
* ``exec-after-request HELPER``: connect, send the request, print ``connected``, wait for a line
  on stdin, then exec ``HELPER -c 'cat <&3'`` with the connection as fd 3 (the helper prints the
  answer the asker was meant to get);
* ``exec-before-request HELPER``: the same, but the request is sent by the helper after the exec;
* ``handoff-after-request HELPER`` / ``handoff-before-request HELPER``: connect (and send), wait
  for a line, start ``HELPER`` as a child holding the connection, and exit; the child waits for
  a line on stdin (``before``: then sends the request) and prints the answer.

``HELPER`` is a copy of bash under another name (:func:`copy_of_bash`), so "the other program"
has a name of its own that must never appear as the asker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUEST = json.dumps({"v": 1, "op": "token", "scope": "keymgmt:list"})

ASKER = r"""
import os, socket, subprocess, sys

path, mode = sys.argv[1], sys.argv[2]
request = (%(request)r + "\n").encode()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)


def answer():
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.decode()


if mode == "ask":
    s.sendall(request.replace(b"keymgmt:list", sys.argv[3].encode()))
    sys.stdout.write(answer())
    sys.exit(0)
helper = sys.argv[3]
if mode.endswith("after-request"):
    s.sendall(request)
print("connected", flush=True)
sys.stdin.readline()
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)  # the next program holds the connection
line = "printf '%%s\\n' '" + request.decode().strip() + "' >&3; " if "before" in mode else ""
if mode.startswith("exec"):
    os.execv(helper, [helper, "-c", line + "cat <&3"])
subprocess.Popen([helper, "-c", "read go; " + line + "cat <&3"], pass_fds=(3,))
sys.exit(0)
"""


def write_asker(folder: Path, name: str = "asker.py") -> Path:
    script = folder / name
    script.write_text(ASKER % {"request": REQUEST}, encoding="utf-8")
    return script


def copy_of_bash(folder: Path, name: str = "evil-helper") -> Path:
    bash = shutil.which("bash")
    assert bash is not None
    target = folder / name
    shutil.copy2(os.path.realpath(bash), target)
    target.chmod(0o755)
    return target


def start(
    script: Path, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """Run ``python script args…`` (after ``prefix``, e.g. a shell) with pipes on stdin/stdout."""
    return subprocess.Popen(
        [*prefix, sys.executable, str(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=script.parent,
        env=env,
    )


def answer_of(out: str) -> dict[str, object]:
    """The agent's answer in a program's output (the last JSON line)."""
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert lines, f"no answer in {out!r}"
    parsed: dict[str, object] = json.loads(lines[-1])
    return parsed
