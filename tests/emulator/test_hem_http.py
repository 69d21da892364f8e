"""The device's global HTTP rules (spec/hem-api.md §0), checked on raw requests where httpx
would hide them: JSON on every answer, empty error bodies, one response per connection,
411/412/413, CORS preflight, a bad bearer refused before routing."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from authenticator.emulator.hem.routes import origin_allowed
from authenticator.protocol.keys import KeyPair
from tests.emulator.conftest import Kit


def raw(kit: Kit, data: bytes) -> bytes:
    """Send ``data`` on a fresh socket and read until the server closes it."""
    parts = urlsplit(kit.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_the_connection_closes_after_each_response(emu: Kit) -> None:
    parts = urlsplit(emu.url)
    request = b"GET /api/system/status HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):  # ends only because the server closes
            answer += chunk
        head = answer.split(b"\r\n\r\n")[0].lower()
        assert b"connection: close" in head
        assert b"content-type: application/json" in head
        # a second request on the same connection gets nothing back
        try:
            sock.sendall(request)
            assert sock.recv(65536) == b""
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_pipelined_requests_get_one_answer(emu: Kit) -> None:
    answer = raw(emu, b"GET /api/system/status HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
    assert answer.count(b"HTTP/1.1 200") == 1


def test_errors_are_empty_json(emu: Kit) -> None:
    r = emu.get("/api/system/config")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == "0"
    assert r.headers["connection"] == "close"
    assert r.content == b""


def test_post_without_content_length_is_411(emu: Kit) -> None:
    answer = raw(emu, b"POST /api/auth/ext/request HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(answer) == 411
    chunked = raw(
        emu,
        b"POST /api/auth/ext/request HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\n\r\n",
    )
    assert status_of(chunked) == 411


def test_a_body_over_7300_bytes_is_413(emu: Kit) -> None:
    epk = KeyPair.generate().public.b64
    fits = {"epk": epk, "scope": "keymgmt:list", "note": "n", "pad": "x" * 7000}
    assert emu.post("/api/auth/ext/request", fits).status_code == 200
    big = {"epk": epk, "scope": "keymgmt:list", "pad": "x" * 7300}
    r = emu.post("/api/auth/ext/request", big)
    assert (r.status_code, r.content) == (413, b"")
    assert (
        status_of(
            raw(emu, b"POST /api/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
        )
        == 400
    )


def test_options_is_a_cors_preflight(emu: Kit) -> None:
    with emu.client() as c:
        r = c.options("/api/anything/at/all", headers={"Origin": "https://app.example"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-methods"] == "GET, POST, DELETE, OPTIONS"
    assert r.headers["access-control-allow-headers"] == (
        "Content-Type, Cache-Control, Pragma, Expires, Authorization, Content-Disposition"
    )
    assert r.headers["access-control-max-age"] == "86400"
    assert r.headers["access-control-allow-credentials"] == "true"


def test_origin_outside_the_allow_list_is_412(emu: Kit) -> None:
    emu.device.config.origin = "https://manager.example, *.encedo.com"
    assert (
        emu.get("/api/system/status", headers={"Origin": "https://evil.example"}).status_code == 412
    )
    ok = emu.get("/api/system/status", headers={"Origin": "https://manager.example"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://manager.example"
    assert (
        emu.get("/api/system/status", headers={"Origin": "https://my.encedo.com:8443"}).status_code
        == 200
    )
    assert emu.get("/api/system/status").status_code == 200  # no Origin, no check


@pytest.mark.parametrize(
    ("allow", "origin", "ok"),
    [
        ("*", "https://anything.example", True),
        ("https://a.example", "https://a.example/", True),
        ("https://a.example", "http://a.example", False),
        ("*.encedo.com", "https://api.encedo.com", True),
        ("*.encedo.com", "https://encedo.com.evil", False),
        ("https://a.example *.b.example", "http://x.b.example:81", True),
    ],
)
def test_origin_rules(allow: str, origin: str, ok: bool) -> None:
    assert origin_allowed(allow, origin) is ok


@pytest.mark.parametrize(
    "authorization",
    ["Bearer nonsense", "Bearer a.b.c", "Basic dXNlcjpwdw==", "Bearer", "Token x"],
)
def test_a_bad_bearer_is_401_everywhere(emu: Kit, authorization: str) -> None:
    for method, path in (
        ("GET", "/api/system/status"),
        ("GET", "/api/system/version"),
        ("GET", "/api/auth/token"),
        ("GET", "/api/no/such/endpoint"),
        ("POST", "/api/auth/ext/request"),
    ):
        r = emu.request_(method, path, headers={"Authorization": authorization}, json={})
        assert r.status_code == 401, (method, path)


def test_a_token_of_another_hem_is_401(emu: Kit) -> None:
    other = emu.emulator.hem(1)
    assert other is not None
    token = other.issue_token("system:config")
    assert emu.get("/api/system/status", token).status_code == 401


def test_unknown_paths_and_methods_are_404(emu: Kit) -> None:
    assert emu.get("/api/no/such").status_code == 404
    assert emu.post("/api/system/status", {}).status_code == 404
    assert emu.delete("/api/keymgmt/list").status_code == 404


def test_a_latched_fault_is_409_but_status_still_answers(emu: Kit) -> None:
    emu.device.fls_state = 0x04
    assert emu.get("/api/auth/token").status_code == 409
    assert emu.get("/api/keymgmt/list", emu.device.issue_token("keymgmt:list")).status_code == 409
    assert emu.get("/api/system/status").json()["fls_state"] == 4
    assert emu.get("/api/system/version").status_code == 200


def test_a_body_that_is_not_a_json_object_is_400(emu: Kit) -> None:
    for content in (b"not json", b"[1, 2]", b'{"a": 1, "a": 2}', b"\xff"):
        assert emu.post("/api/auth/ext/request", content=content).status_code == 400
