"""The demo page's static side and its refusals, over real HTTP, without a HEM behind it."""

from __future__ import annotations

import base64
import io
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette

from authenticator.core.qrimage import decode_image
from authenticator.emulator.demo import demo_routes
from authenticator.emulator.demo.backend import qr_png_data_url, short_eid
from authenticator.emulator.urls import EmulatorUrls


@dataclass
class NotListening:
    urls: EmulatorUrls | None = None


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app = Starlette(routes=demo_routes(NotListening()))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.mark.parametrize(
    ("path", "kind", "needle"),
    [
        ("/demo/", "text/html", "Pair an authenticator"),
        ("/demo/app.js", "text/javascript", "api/request"),
        ("/demo/style.css", "text/css", ":focus-visible"),
    ],
)
def test_the_page_is_served_with_a_strict_policy(
    url: str, path: str, kind: str, needle: str
) -> None:
    r = httpx.get(url + path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(kind)
    assert needle in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_page_loads_nothing_from_elsewhere(url: str) -> None:
    for path in ("/demo/", "/demo/app.js", "/demo/style.css"):
        text = httpx.get(url + path).text
        assert "http://" not in text
        assert "https://" not in text
        assert "<script>" not in text  # no inline script (the policy would block it anyway)


def test_bare_demo_redirects_to_the_page(url: str) -> None:
    r = httpx.get(url + "/demo")
    assert r.status_code == 308
    assert httpx.get(url + "/demo", follow_redirects=True).url.path == "/demo/"


def test_the_api_says_when_the_emulator_is_not_listening(url: str) -> None:
    r = httpx.get(url + "/demo/api/hem")
    assert r.status_code == 409
    assert r.json()["code"] == "state"
    assert "not listening" in r.json()["error"]


def test_unknown_ids_and_bad_input(url: str) -> None:
    assert httpx.get(url + "/demo/api/pair/nope").status_code == 404
    assert httpx.get(url + "/demo/api/request/nope").status_code == 404
    assert httpx.post(url + "/demo/api/request/nope/cancel").status_code == 404
    for body in (b"{", b"[]", b'{"scope": 5}', b'{"scope": ""}', b'{"scope": "a\\u0000b"}'):
        r = httpx.post(url + "/demo/api/request", content=body)
        assert r.status_code == 400, body
        assert r.json()["code"] == "protocol"


def test_qr_png_is_one_pixel_per_module_with_a_quiet_zone() -> None:
    text = '{"link":"http://127.0.0.1:1/notify/pairing/x"}'
    data_url, modules = qr_png_data_url(text)
    assert data_url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    assert image.format == "PNG"
    assert image.size == (modules, modules)
    grey = image.convert("L")
    ring = [grey.getpixel((x, y)) for x in range(modules) for y in range(modules)
            if min(x, y) < 4 or max(x, y) >= modules - 4]  # fmt: skip
    assert set(ring) == {255}, "a quiet zone of 4 white modules on every side"
    assert grey.getpixel((4, 4)) == 0, "the finder pattern starts right inside it"
    assert decode_image(image) == text


def test_short_eid() -> None:
    eid = "rcPF9XEvpsF6tPW3PTvbuC2UCqC+0kCOJuX/kgY1uTk="
    assert short_eid(eid) == "rcPF9XEv…Y1uTk="
    assert short_eid("short") == "short"
