"""core.peer: what the kernel and /proc say about a process, and whether it is still the same one.

Real processes throughout (this one, ``sleep``, short scripts); the command-line parser of each
known interpreter is checked on the command lines the kernel builds (shebang lines included).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from authenticator.core.agent.identity import program_of
from authenticator.core.model import Program
from authenticator.core.peer import (
    CLAIMED,
    PeerIdentity,
    _script_of,
    capture,
    identify_pid,
    process_info,
    snapshot,
)
from authenticator.core.remember import Remembered, program_key, remember_refusal
from authenticator.errors import ProgramChangedError
from tests.support_emulator import wait_for


def stat_field(pid: int, number: int) -> int:
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    return int(raw[raw.rfind(b")") + 2 :].split()[number - 3])


def test_facts_about_this_process() -> None:
    snap = snapshot(os.getpid())
    assert snap is not None
    assert snap.start_time == stat_field(os.getpid(), 22)
    assert snap.ppid == os.getppid()
    assert snap.exe == os.readlink("/proc/self/exe")
    info = os.stat("/proc/self/exe")
    assert snap.exe_id == (info.st_dev, info.st_ino)
    assert snap.exec_mark is not None  # readable for our own process
    identity = identify_pid(os.getpid())
    try:
        assert identity.uid == os.getuid()
        assert identity.gid == os.getgid()
        identity.check()  # nothing changed
        assert identity.still_same()
    finally:
        identity.close()


def test_a_gone_process_cannot_be_mistaken_for_itself() -> None:
    with pytest.raises(ProgramChangedError):
        identify_pid(2**22 + 1).check()  # above pid_max: no such process


@pytest.mark.parametrize("pidfd", [True, False])
def test_exit_is_noticed_with_and_without_a_pidfd(pidfd: bool) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    # Identify it once it runs ``sleep`` with its arguments in place: right after the fork it is
    # still this Python, and in the middle of the exec the executable has changed while the stack
    # and argument addresses are not set yet (a program that connects has finished its exec).
    wait_for(lambda: Path(f"/proc/{proc.pid}/cmdline").read_bytes() == b"sleep\x0060\x00")
    identity: PeerIdentity | None = None
    try:
        if pidfd:
            identity = identify_pid(proc.pid)
        else:  # where the kernel has no pidfd: the start time and /proc alone
            identity = PeerIdentity(
                pid=proc.pid, uid=os.getuid(), gid=None, snap=snapshot(proc.pid)
            )
        identity.check()
        proc.kill()
        proc.wait(30)
        with pytest.raises(ProgramChangedError, match=rf"pid {proc.pid}\) has exited"):
            identity.check()
        assert not identity.still_same()
    finally:
        proc.kill()
        proc.wait(30)
        if identity is not None:
            identity.close()


def test_a_recycled_pid_is_not_the_same_program() -> None:
    # What a recycled pid looks like to the check: the same number, another start time.
    snap = snapshot(os.getpid())
    assert snap is not None
    earlier = dataclasses.replace(snap, start_time=snap.start_time - 1)
    identity = PeerIdentity(pid=os.getpid(), uid=os.getuid(), gid=None, snap=earlier)
    with pytest.raises(ProgramChangedError, match="now belongs to another program"):
        identity.check()


def test_exec_of_the_same_binary_with_another_script_is_noticed(tmp_path: Path) -> None:
    # The script waits for a line, then replaces itself with the same python running another
    # script: same executable, same pid, same start time.
    first = tmp_path / "first.py"
    second = tmp_path / "second.py"
    second.write_text("import sys\nsys.stdin.readline()\n")
    first.write_text(
        "import os, sys\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        f"os.execv(sys.executable, [sys.executable, {str(second)!r}])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(first)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        identity = identify_pid(proc.pid)
        assert identity.script == str(first.resolve())
        proc.stdin.write("go\n")
        proc.stdin.flush()

        def running_second() -> bool:  # until the kernel shows the new program
            now = snapshot(proc.pid)
            return now is not None and now.script.script == str(second.resolve())

        wait_for(running_second)
        with pytest.raises(ProgramChangedError, match="now runs another program"):
            identity.check()
    finally:
        proc.kill()
        proc.communicate(timeout=30)
        identity.close()


def test_a_closed_identity_is_never_the_same() -> None:
    identity = identify_pid(os.getpid())
    identity.close()
    identity.close()  # twice is fine
    with pytest.raises(ProgramChangedError, match="no longer connected"):
        identity.check()


def test_capture_over_a_socket_pair_names_this_process() -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        identity = capture(left)
        assert identity is not None
        try:
            assert identity.pid == os.getpid()
            assert identity.uid == os.getuid()
            assert identity.start_time == stat_field(os.getpid(), 22)
            identity.check()
        finally:
            identity.close()
    info = process_info(os.getpid())
    assert info.pid == os.getpid()
    assert info.path == os.readlink("/proc/self/exe")


@pytest.mark.parametrize(
    ("exe", "argv", "script", "inline"),
    [
        # python: options, their arguments, -c, -m, stdin, and "--"
        ("/usr/bin/python3.11", ["python3", "a.py", "x"], "/w/a.py", None),
        ("/usr/bin/python3", ["python3", "-u", "-W", "error", "a.py"], "/w/a.py", None),
        ("/usr/bin/python3", ["python3", "-Werror", "-X", "dev", "-B", "a.py"], "/w/a.py", None),
        ("/usr/bin/python3", ["python3", "-c", "print(1)", "a.py"], None, "-c"),
        ("/usr/bin/python3", ["python3", "-uc", "print(1)"], None, "-c"),
        ("/usr/bin/python3", ["python3", "-m", "http.server"], None, "-m http.server"),
        ("/usr/bin/python3", ["python3", "-mvenv", "x"], None, "-m venv"),
        ("/usr/bin/python3", ["python3"], None, "stdin"),
        ("/usr/bin/python3", ["python3", "-"], None, "stdin"),
        ("/usr/bin/python3", ["python3", "--", "-odd.py"], "/w/-odd.py", None),
        ("/usr/bin/pypy3", ["pypy3", "/abs/b.py"], "/abs/b.py", None),
        # shells: a shebang gives "bash -e ./s.sh"; -c is code; -o takes an argument
        ("/usr/bin/bash", ["/bin/bash", "-e", "./s.sh", "arg"], "/w/s.sh", None),
        ("/usr/bin/bash", ["bash", "-o", "pipefail", "s.sh"], "/w/s.sh", None),
        ("/usr/bin/bash", ["bash", "+o", "history", "s.sh"], "/w/s.sh", None),
        ("/usr/bin/bash", ["bash", "--rcfile", "r", "s.sh"], "/w/s.sh", None),
        ("/usr/bin/dash", ["sh", "-c", "echo hi"], None, "-c"),
        ("/usr/bin/dash", ["sh", "-s", "x"], None, "stdin"),
        ("/usr/bin/zsh", ["zsh", "s.zsh"], "/w/s.zsh", None),
        # node, perl, ruby, php, lua
        ("/usr/bin/node", ["node", "--require", "m", "app.js"], "/w/app.js", None),
        ("/usr/bin/node", ["node", "--eval", "1"], None, "--eval"),
        ("/usr/bin/node", ["node", "-e", "1"], None, "-e"),
        ("/usr/bin/perl", ["perl", "-Ilib", "-w", "t.pl"], "/w/t.pl", None),
        ("/usr/bin/perl", ["perl", "-I", "lib", "t.pl"], "/w/t.pl", None),
        ("/usr/bin/perl", ["perl", "-e", "print 1"], None, "-e"),
        ("/usr/bin/ruby3.1", ["ruby", "-r", "json", "t.rb"], "/w/t.rb", None),
        ("/usr/bin/php8.2", ["php", "-d", "x=1", "-f", "t.php"], "/w/t.php", None),
        ("/usr/bin/php", ["php", "-r", "echo 1;"], None, "-r"),
        ("/usr/bin/lua5.4", ["lua", "-l", "m", "t.lua"], "/w/t.lua", None),
    ],
)
def test_interpreters_and_their_scripts(
    exe: str, argv: list[str], script: str | None, inline: str | None
) -> None:
    found = _script_of(exe, tuple(argv), "/w")
    assert found.interpreter is True
    assert (found.script, found.inline) == (script, inline)


@pytest.mark.parametrize(
    "exe", ["/usr/bin/ssh", "/usr/bin/pythonista-helper", "/opt/x/bashful", "/usr/bin/shred"]
)
def test_programs_that_are_not_interpreters(exe: str) -> None:
    found = _script_of(exe, (exe, "file.py"), "/w")
    assert found.interpreter is False
    assert found.script is None


def test_the_interpreter_is_judged_by_the_executable_not_argv0() -> None:
    # A program cannot become "a script of python" by calling itself python.
    assert _script_of("/usr/bin/evil", ("python3", "a.py"), "/w").interpreter is False
    assert _script_of("/usr/bin/python3", ("innocent", "a.py"), "/w").script == "/w/a.py"


def test_a_script_is_resolved_against_the_working_folder(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    found = _script_of("/usr/bin/python3", ("python3", "link.py"), str(tmp_path))
    assert found.script == str((tmp_path / "real.py").resolve())  # symlinks resolved
    assert found.written == "link.py"


def test_display_names_are_cleaned_but_keys_stay_raw(tmp_path: Path) -> None:
    hostile = "\x1b[2Jback<b>up\u202e<!--x-->.py"
    script = tmp_path / hostile
    script.write_text("import sys\nprint('ready', flush=True)\nsys.stdin.readline()\n")
    proc = subprocess.Popen(
        [sys.executable, hostile],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        identity = identify_pid(proc.pid)
        program = program_of(identity)
        assert identity.script == str(script.resolve())  # raw: the key
        assert identity.name == hostile
        assert "\x1b" not in program.name
        assert "\u202e" not in program.name
        assert program.name == "[2Jback<b>up<!--x-->.py"  # plain text, shown as written
        assert program.script is not None
        assert "\x1b" not in program.script
        assert program_key(program) == (os.getuid(), identity.exe, str(script.resolve()))
        assert program.to_json()["script"] == program.script
        assert "identity" not in program.to_json()
        assert {"exe", "script", "argv", "chain", "name"} <= CLAIMED
    finally:
        proc.kill()
        proc.communicate(timeout=30)


def test_program_equality_ignores_the_live_identity() -> None:
    identity = identify_pid(os.getpid())
    try:
        program = program_of(identity)
        twin = dataclasses.replace(program, identity=None)
        assert program == twin
        assert "identity" not in repr(program)
        program.check_unchanged()
        twin.check_unchanged()  # nothing to check without an identity
    finally:
        identity.close()
    with pytest.raises(ProgramChangedError):
        program.check_unchanged()


def test_remember_refuses_a_bare_interpreter() -> None:
    remembered = Remembered()
    bare = Program("python3 -c", pid=7, path="/usr/bin/python3", uid=1000, interpreter=True)
    reason = remembered.add(bare, "hem", "keymgmt:list", exp=2_000_000_000, write=False)
    assert reason is not None
    assert "never remembered" in reason
    assert not remembered.allows(
        bare, "hem", "keymgmt:list", until=1_000_000_100, write=False, now=1_000_000_000
    )
    script = dataclasses.replace(bare, name="a.py", script="/home/u/a.py")
    other = dataclasses.replace(bare, name="b.py", script="/home/u/b.py")
    assert remember_refusal(script) is None
    assert remembered.add(script, "hem", "keymgmt:list", exp=2_000_000_000, write=False) is None
    kw = {"until": 1_000_000_100, "write": False, "now": 1_000_000_000}
    assert remembered.allows(script, "hem", "keymgmt:list", **kw)  # type: ignore[arg-type]
    assert not remembered.allows(other, "hem", "keymgmt:list", **kw)  # type: ignore[arg-type]
    unknown = Program("a local program")
    assert remember_refusal(unknown) is not None


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_chain_stops_with_what_started_the_session(tmp_path: Path) -> None:
    # setsid: the script's own session starts at its bash; the chain ends with bash's parent.
    script = tmp_path / "job.py"
    script.write_text(
        "import os\nfrom authenticator.core.peer import identify_pid\n"
        "print('|'.join(identify_pid(os.getpid()).chain))\n"
    )
    out = subprocess.run(
        ["setsid", "bash", "-c", f"{sys.executable} {script}; true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    chain = out.stdout.strip().split("|")
    assert chain[:2] == ["job.py", "bash -c"]
    assert len(chain) == 3  # + the program that started the session, then it stops
