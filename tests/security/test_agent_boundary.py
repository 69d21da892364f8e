"""Another OS user cannot stand in for the agent (issue 12, "the socket directory is ours or
nothing"), tried the way that user would.

Without ``XDG_RUNTIME_DIR`` the agent's folder is ``$TMPDIR/encedo-authenticator-<uid>``. The
attacker (``nobody``, via ``setpriv``) makes it first — as a folder of theirs with a listening
socket that answers every request with a fake token, or as a symbolic link — or serves a socket
under their uid. ``authenticator token`` and ``lock`` (the real CLI in a process of its own), the
Python client, the app's link forwarding and the agent server must all refuse with a message that
says what is wrong, and the attacker's socket must receive nothing.

The tests run as root here; the checks compare with ``os.getuid()`` whoever that is, so root
refuses the squatter's folder exactly as any user would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.core.agent.server import AgentServer
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.errors import ForeignAgentError, UnsafeFolderError
from authenticator.store.paths import APP_NAME, AppPaths

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as another user",
)

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
FAKE = "FAKE-TOKEN-FROM-THE-ATTACKER"

# The attacker's agent: a folder of theirs (or a link), a socket open to all, a fake token for
# everyone, and a line on stdout for every connection it gets.
SQUATTER = r"""
import json, os, socket, sys
folder, how = sys.argv[1], sys.argv[2]
if how == "link":
    real = folder + ".theirs"
    os.mkdir(real, 0o777); os.chmod(real, 0o777)
    os.symlink(real, folder)
else:
    os.mkdir(folder, 0o777); os.chmod(folder, 0o777)
path = os.path.join(folder, "agent.sock")
s = socket.socket(socket.AF_UNIX)
s.bind(path); os.chmod(path, 0o777); s.listen(8)
print("ready", flush=True)
while True:
    conn, _ = s.accept()
    print("CONNECTED", flush=True)
    conn.recv(65536)
    conn.sendall((json.dumps({"v": 1, "ok": True, "token": sys.argv[3], "exp": 4102444800,
                             "scope": "keymgmt:list", "hem": "my-hem"}) + "\n").encode())
    conn.close()
"""


@pytest.fixture
def scripts() -> Iterator[Path]:
    """Where the attacker's programs live (readable by nobody, unlike pytest's own folders)."""
    d = Path(tempfile.mkdtemp(prefix="eda-atk-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder like /tmp: root's, writable by all, sticky."""
    d = Path(tempfile.mkdtemp(prefix="eda-sq-", dir="/tmp"))
    d.chmod(0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def victim_env(shared_tmp: Path, tmp_path: Path) -> dict[str, str]:
    """The person's environment: no XDG_RUNTIME_DIR (cron, su, some ssh set-ups)."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("XDG_") and k not in ("AUTHENTICATOR_HOME", "TMPDIR")
    }
    env.update(HOME=str(home), TMPDIR=str(shared_tmp), PYTHONDONTWRITEBYTECODE="1")
    return env


def squat(folder: Path, how: str, scripts: Path) -> subprocess.Popen[str]:
    script = scripts / "squatter.py"
    script.write_text(SQUATTER, encoding="utf-8")
    script.chmod(0o644)
    proc = subprocess.Popen(
        [*NOBODY, sys.executable, str(script), str(folder), how, FAKE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def connections(proc: subprocess.Popen[str]) -> str:
    proc.kill()
    out, _ = proc.communicate(timeout=30)
    return out


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authenticator", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("how", ["folder", "link"])
def test_a_squatted_socket_folder_is_refused_by_every_client(
    how: str, shared_tmp: Path, victim_env: dict[str, str], scripts: Path
) -> None:
    folder = shared_tmp / f"{APP_NAME}-{os.getuid()}"
    attacker = squat(folder, how, scripts)
    try:
        for args in (["token", "--scope", "keymgmt:list"], ["lock"]):
            run = cli(victim_env, *args)
            assert run.returncode != 0
            assert FAKE not in run.stdout
            assert f"socket folder {folder}" in run.stderr
            assert "belongs to nobody (uid 65534), not to you" in run.stderr
            assert "administrator" in run.stderr  # and what to do about it
    finally:
        seen = connections(attacker)
    assert "CONNECTED" not in seen  # not one byte went to the attacker
    assert os.lstat(folder).st_uid == 65534  # and their folder was left as it was


def test_the_app_and_its_server_refuse_a_squatted_folder(
    shared_tmp: Path, scripts: Path, core: Core, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from authenticator.gui.app import forward_to_running

    for name in [k for k in os.environ if k.startswith("XDG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    paths = AppPaths.default()
    assert paths.runtime_dir == shared_tmp / f"{APP_NAME}-{os.getuid()}"
    attacker = squat(paths.runtime_dir, "folder", scripts)
    try:
        with pytest.raises(UnsafeFolderError, match="belongs to nobody"):
            forward_to_running(paths, ["encedo-auth:pair?link=https%3A%2F%2Fexample.org"])
        with pytest.raises(UnsafeFolderError, match="belongs to nobody"):
            AgentClient(paths.agent_socket).ping()
        server = AgentServer(core, paths.agent_socket)
        with pytest.raises(UnsafeFolderError, match="belongs to nobody"):
            server.start()
    finally:
        seen = connections(attacker)
    assert "CONNECTED" not in seen
    assert sorted(os.listdir(paths.runtime_dir)) == ["agent.sock"]  # theirs, untouched


def test_an_xdg_runtime_dir_of_another_user_is_refused(
    tmp_path: Path, victim_env: dict[str, str]
) -> None:
    xdg = Path(tempfile.mkdtemp(prefix="eda-x-", dir="/tmp"))
    home = Path(tempfile.mkdtemp(prefix="eda-h-", dir="/tmp"))  # short: the socket path fits
    try:
        os.chown(xdg, 65534, 65534)  # as if XDG_RUNTIME_DIR pointed at someone else's folder
        # --home: the socket goes to $XDG_RUNTIME_DIR/encedo-authenticator as it is set
        run = cli({**victim_env, "XDG_RUNTIME_DIR": str(xdg)}, "--home", str(home), "lock")
        assert run.returncode != 0
        assert f"XDG_RUNTIME_DIR ({xdg}) belongs to nobody (uid 65534)" in run.stderr
        assert not (xdg / APP_NAME).exists()
    finally:
        shutil.rmtree(xdg, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


# The attacker's server: it calls listen() (the moment the kernel records its credentials) as
# nobody on a socket bound for it, and reports what it received.
FOREIGN_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=int(sys.argv[1]))
s.listen(8)
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    conn, _ = s.accept()
    data = conn.recv(65536)
    print("RECEIVED", repr(data), flush=True)
    try:
        conn.sendall(b'{"v": 1, "ok": true, "token": "%s"}\n' % sys.argv[3].encode())
    except OSError:
        pass  # the client hung up at once
    conn.close()
"""


def test_a_socket_served_by_another_user_gets_nothing(scripts: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="eda-fs-", dir="/tmp"))  # ours, 0700: passes
    try:
        path = folder / "agent.sock"
        script = scripts / "foreign.py"
        script.write_text(FOREIGN_SERVER, encoding="utf-8")
        script.chmod(0o644)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.bind(str(path))
            server = subprocess.Popen(
                [*NOBODY, sys.executable, str(script), str(sock.fileno()), "4", FAKE],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                pass_fds=(sock.fileno(),),
            )
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        client = AgentClient(path)
        calls = (
            lambda: client.token("keymgmt:list"),
            client.ping,
            client.lock,
            lambda: client.open_links(["encedo-auth:x"]),
        )
        for call in calls:
            with pytest.raises(ForeignAgentError, match=r"another user \(uid 65534\)") as info:
                call()
            assert "nothing was sent" in str(info.value)
            assert FAKE not in str(info.value)
        out, err = server.communicate(timeout=30)
        assert server.returncode == 0, err
        assert out.count("RECEIVED b''") == 4  # four connections, not one byte in them
    finally:
        shutil.rmtree(folder, ignore_errors=True)
