"""The local agent's messages: any line a local program sends gets one typed answer.

``decode_line`` and ``TokenRequest.from_json`` are fed arbitrary bytes and half-valid requests;
then a few random lines go over the real socket to a running agent, which must answer each with
exactly one JSON line (a refusal for anything malformed) and keep serving.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from authenticator.core.agent.protocol import ERRORS, MAX_LINE, TokenRequest, decode_line
from authenticator.core.agent.ratelimit import RateLimiter
from authenticator.core.agent.server import AgentServer
from authenticator.core.app import Core
from tests.fuzz.support import (
    TEST_TIMEOUT,
    counted,
    deep_nesting,
    fuzz_settings,
    json_values,
    only_typed,
)
from tests.support_emulator import PASSPHRASE, make_core

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

_request = {
    "v": 1,
    "op": "token",
    "scope": "keymgmt:list",
    "hem": None,
    "period": "15m",
    "write": False,
    "reason": "backup",
}


def _altered(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(sorted(valid))
    return st.builds(
        lambda drop, repl: {**{k: v for k, v in valid.items() if k not in drop}, **repl},
        st.lists(names, max_size=3),
        st.dictionaries(
            names,
            json_values
            | st.sampled_from(["ping", "lock", "open", "token", 1, "1h", 3600, "storage:disk0:rw"]),
            max_size=3,
        ),
    )


lines = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    _altered(_request).map(lambda o: json.dumps(o).encode()),
    deep_nesting().map(str.encode),
    st.integers(MAX_LINE - 2, MAX_LINE + 2).map(
        lambda n: b'{"v":1,"op":"ping","x":"' + b"a" * n + b'"}'
    ),
)


@fuzz_settings()
@given(lines)
@example(b"[" * 3000)  # nested deeper than the recursion limit, and still under 16 KiB
@counted
def test_decode_line_and_token_request(line: bytes) -> None:
    obj = only_typed(lambda: decode_line(line))
    if isinstance(obj, dict):
        assert obj["v"] == 1
        request = only_typed(lambda: TokenRequest.from_json(obj))
        if isinstance(request, TokenRequest):
            assert 0 < len(request.scope) <= 1023


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Core, Path]]:
    core = make_core(tmp_path_factory.mktemp("agent") / "home")
    core.create_store(passphrase=PASSPHRASE)
    short = Path(tempfile.mkdtemp(prefix="eda-fz-", dir="/tmp"))
    os.chmod(short, 0o700)
    server = AgentServer(
        core,
        short / "a.sock",
        limiter=RateLimiter(concurrent=50, per_minute=100_000),
        read_deadline=0.5,
    )
    server.start()
    yield core, server.path
    server.stop()
    core.close()
    shutil.rmtree(short, ignore_errors=True)


def _exchange(path: Path, data: bytes) -> list[bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)  # no newline? the agent sees the end at once
        except OSError:  # the agent may hang up on an oversized line before reading it all
            pass
        received = b""
        try:
            while chunk := s.recv(65536):
                received += chunk
        except ConnectionResetError:  # closed with part of an oversized line unread: the end
            pass
    return received.splitlines()


@fuzz_settings(share=0.1, deadline_s=15)
@given(lines.map(lambda b: b.replace(b"\n", b" ") + b"\n") | st.binary(max_size=100))
@example(b"[" * 3000 + b"\n")
@example(b'{"v":1,"op":"lock"}\n')
@counted
def test_random_lines_over_the_socket(agent: tuple[Core, Path], data: bytes) -> None:
    core, path = agent
    answers = _exchange(path, data)
    assert len(answers) == 1, answers  # exactly one answer line, whatever was sent
    answer = json.loads(answers[0])
    assert answer["v"] == 1
    assert isinstance(answer["ok"], bool)
    if not answer["ok"]:
        assert answer["error"] in ERRORS
        assert answer["message"]
    # and the agent still serves
    assert json.loads(_exchange(path, b'{"v":1,"op":"ping"}\n')[0])["ok"] is True
    if core.locked:
        core.unlock(PASSPHRASE)
