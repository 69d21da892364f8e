"""The demo page against the full emulator: its JSON API over real HTTP, and (marked
``browser``) the page itself in headless Debian chromium, with the test as the authenticator."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from authenticator.emulator.broker.appsim import SimulatedApp
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.protocol.bearer import Bearer
from authenticator.protocol.links import PairLink, parse_link

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path("/tmp/demo-page.png")


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with serve_in_thread(Emulator(hem_count=2)) as running:
        for hem in running.emulator.hems:
            hem.set_pacing(0, 0)
        yield running


@pytest.fixture(scope="module")
def api(running: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.urls.demo, timeout=20) as client:
        yield client


def poll(api: httpx.Client, path: str, until: str, deadline: float = 10.0) -> dict[str, Any]:
    """GET ``path`` until its state is not ``pending`` (the page's own polling, sped up)."""
    end = time.monotonic() + deadline
    while True:
        answer: dict[str, Any] = api.get(path).json()
        if answer["state"] != "pending" or time.monotonic() > end:
            assert answer["state"] == until, answer
            return answer


def test_hem_card(api: httpx.Client, running: RunningEmulator) -> None:
    hem = api.get("api/hem")
    assert hem.status_code == 200
    info = hem.json()
    device = running.emulator.hems[0]
    assert info["hostname"] == device.config.hostname
    assert info["eid"] == device.eid.b64
    assert info["eid_short"].startswith(device.eid.b64[:8])
    assert info["hem_url"] == running.urls.hems[0]
    scopes = [a["scope"] for a in info["actions"]]
    pgp = next(k.kid for k in device.state.keys if k.label == "PGP main")
    assert scopes == ["master", f"keymgmt:use:{pgp}", "storage:disk0:rw", "keymgmt:list"]
    labels = [a["label"] for a in info["actions"]]
    assert labels == ["Log in to the Manager", "Use a key", "Unlock a drive", "List the keys"]


def test_pair_then_request_then_approve(api: httpx.Client) -> None:
    before = api.get("api/hem").json()["paired"]
    started = api.post("api/pair", json={}).json()
    assert started["state"] == "pending"
    assert started["qr_png"].startswith("data:image/png;base64,")
    assert started["qr_modules"] >= 21 + 8
    link = parse_link(started["pair_link"])
    assert isinstance(link, PairLink)
    assert link.qr.link == started["link"]
    assert api.get(f"api/pair/{started['id']}").json()["state"] == "pending"
    with SimulatedApp(label="API test (Linux)") as sim:
        pairing = sim.pair(started["qr_text"])
        paired = poll(api, f"api/pair/{started['id']}", "paired")
        assert len(paired["kid"]) == 32
        assert api.get("api/hem").json()["paired"] == before + 1

        asked = api.post("api/request", json={"scope": "keymgmt:list"})
        assert asked.status_code == 200
        request = asked.json()
        assert request["state"] == "pending"
        assert request["title"] == "List the keys"
        assert 0 < request["remaining"] <= request["wait"]
        assert 10 <= request["code"] <= 99  # the code to match in the app, also in the note
        sim.approve(request["event_id"], pairing)
        done = poll(api, f"api/request/{request['id']}", "approved")
        assert done["claims"]["scope"] == "keymgmt:list"
        assert done["claims"]["kid"] == paired["kid"]
        assert Bearer.parse(done["token"]).scope == "keymgmt:list"

        denied = api.post("api/request", json={"scope": "system:config"}).json()
        sim.deny(denied["event_id"], pairing)
        poll(api, f"api/request/{denied['id']}", "denied")

        withdrawn = api.post("api/request", json={"scope": "storage:disk0:rw"}).json()
        cancelled = api.post(f"api/request/{withdrawn['id']}/cancel").json()
        assert cancelled["state"] == "cancelled"
        assert "token" not in cancelled


def test_refused_pairing(api: httpx.Client) -> None:
    started = api.post("api/pair", json={}).json()
    with SimulatedApp() as sim:
        sim.refuse(started["qr_text"])
    poll(api, f"api/pair/{started['id']}", "refused")


def test_failures_are_reported_as_json(api: httpx.Client, running: RunningEmulator) -> None:
    running.emulator.faults.add("/notify/event/new", status=503, times=1)
    r = api.post("api/request", json={"scope": "keymgmt:list"})
    assert r.status_code == 502
    assert r.json()["code"] == "unavailable"
    assert "broker" in r.json()["error"]
    running.emulator.faults.add("/notify/event/check", garbage=True, times=1)
    asked = api.post("api/request", json={"scope": "keymgmt:list"}).json()
    r = api.get(f"api/request/{asked['id']}")
    assert (r.status_code, r.json()["code"]) == (502, "bad_response")
    assert api.get(f"api/request/{asked['id']}").json()["state"] == "pending"  # next poll is fine
    api.post(f"api/request/{asked['id']}/cancel")
    r = api.post("api/request/nope/cancel")
    assert (r.status_code, r.json()["code"]) == (404, "no_such_request")


# ---------------------------------------------------------------------------- the browser


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")
def test_the_page_in_a_browser(running: RunningEmulator, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    assert shutil.which(CHROMIUM)
    with sync_api.sync_playwright() as pw:
        # A persistent context is how playwright takes a (fresh) --user-data-dir.
        browser = pw.chromium.launch_persistent_context(
            tmp_path / "profile",
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(running.urls.demo)
            device = running.emulator.hems[0]
            sync_api.expect(page.locator("#hem-hostname")).to_have_text(device.config.hostname)
            sync_api.expect(page.locator("#hem-paired")).not_to_have_text("—")

            page.get_by_role("button", name="Pair an authenticator").click()
            qr = page.locator("#pair-qr")
            sync_api.expect(qr).to_be_visible()
            sync_api.expect(qr).to_have_js_property("complete", True)
            modules = qr.evaluate("img => img.naturalWidth")
            assert modules == qr.evaluate("img => img.naturalHeight") > 0
            box = qr.evaluate("img => img.getBoundingClientRect().width - 2")  # the border
            assert box == modules * 4, "4 CSS (= device) pixels per module at 100 %"
            sync_api.expect(page.locator("#pair-status")).to_have_text(
                "Waiting for the authenticator…"
            )
            qr_text = page.input_value("#pair-text")
            assert page.get_attribute("#pair-link", "href", timeout=1000).startswith(
                "encedo-auth:pair?"
            )

            with SimulatedApp(label="Browser test (Linux)") as sim:
                pairing = sim.pair(qr_text)
                sync_api.expect(page.locator("#pair-status")).to_have_text("Paired ✓")

                page.locator("button[data-action=list]").click()
                item = page.locator(".request").first
                sync_api.expect(item.locator(".request-status")).to_contain_text(
                    "Waiting for approval"
                )
                sync_api.expect(item.locator(".request-code")).to_contain_text(
                    "Approve code"
                )  # the code the owner picks in the app (code matching)
                events = [e for e, p in sim.pending() if p is pairing]
                assert len(events) == 1
                sim.approve(events[0], pairing)
                sync_api.expect(item).to_have_attribute("data-state", "approved", timeout=10_000)
                sync_api.expect(item.locator(".claim-scope")).to_have_text("keymgmt:list")
                token = item.locator(".token").input_value()
                assert Bearer.parse(token).scope == "keymgmt:list"
                sync_api.expect(item.locator(".claim-sub")).to_contain_text(
                    Bearer.parse(token).kid or "?"
                )

                # a second request, left waiting, to show both states on the screenshot
                page.locator("button[data-action=disk]").click()
                sync_api.expect(page.locator(".request").first).to_have_attribute(
                    "data-state", "pending"
                )
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
