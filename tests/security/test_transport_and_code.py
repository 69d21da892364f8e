"""TLS verification is on by default, a pinned certificate is the only one trusted, plain http is
for this computer only, and the code base passes ruff's bandit rules (``S``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.errors import DecodeError, TLSError
from authenticator.net.broker import BrokerClient
from authenticator.net.hem import HemClient
from authenticator.net.tls import fetch_certificate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def https_pair() -> Iterator[tuple[RunningEmulator, RunningEmulator]]:
    """Two HTTPS emulators, each with its own self-signed certificate."""
    with (
        serve_in_thread(Emulator(), https=True) as one,
        serve_in_thread(Emulator(), https=True) as two,
    ):
        yield one, two


def test_tls_is_verified_by_default(https_pair: tuple[RunningEmulator, RunningEmulator]) -> None:
    one, _ = https_pair
    with HemClient(one.urls.hems[0]) as hem, pytest.raises(TLSError, match="could not be trusted"):
        hem.version()
    with (
        BrokerClient(one.urls.broker) as broker,
        pytest.raises(TLSError, match="could not be trusted"),
    ):
        broker.session()


def test_the_pinned_certificate_and_only_it(
    https_pair: tuple[RunningEmulator, RunningEmulator],
) -> None:
    one, two = https_pair
    pem_one = fetch_certificate(one.urls.hems[0]).pem
    pem_two = fetch_certificate(two.urls.hems[0]).pem
    assert pem_one != pem_two
    with HemClient(one.urls.hems[0], pinned_cert=pem_one) as hem:
        assert hem.version()["fwv"]
    with HemClient(one.urls.hems[0], pinned_cert=pem_two) as hem, pytest.raises(TLSError):
        hem.version()  # a different certificate on the pinned address: refused


def test_plain_http_only_to_this_computer() -> None:
    for url in (
        "http://192.0.2.7",
        "http://hem.example",
        "http://[2001:db8::1]",
        "ftp://hem.example",
    ):
        with pytest.raises(DecodeError):
            HemClient(url)
        with pytest.raises(DecodeError):
            BrokerClient(url)
    for url in ("http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"):
        HemClient(url).close()


def test_ruff_bandit_rules_pass() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [ruff, "check", "--select", "S", "--no-cache", "authenticator"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
