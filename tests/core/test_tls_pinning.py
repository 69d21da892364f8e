"""A HEM with its own certificate: shown, confirmed, pinned; any other certificate is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from authenticator.core.app import Core
from authenticator.emulator.server import Emulator, RunningEmulator, serve_in_thread
from authenticator.errors import TLSError
from tests.core.conftest import HEM_PASSPHRASE


@pytest.fixture
def https_emu() -> Iterator[RunningEmulator]:
    emulator = Emulator(passphrase=HEM_PASSPHRASE)
    with serve_in_thread(emulator, https=True) as r:
        r.emulator.hems[0].set_pacing(0, 0)
        yield r


def test_pin_on_pairing_then_refuse_another_certificate(
    core: Core, https_emu: RunningEmulator
) -> None:
    url = https_emu.urls.hems[0]
    preview = core.preview_direct(url)
    assert preview.certificate is not None
    assert not preview.trusted_by_system
    assert preview.needs_pin
    assert preview.certificate.sha256 == https_emu.cert_sha256
    assert len(preview.certificate.grouped.split(":")) == 32
    hem = core.pair_direct(preview, HEM_PASSPHRASE)
    assert hem.cert_sha256 == https_emu.cert_sha256
    # The pin works: a direct request goes through TLS to this HEM.
    entry = core.ask_hem("keymgmt:list")
    assert core.approve(entry.request.id).token

    # The same address now presents another certificate (a man in the middle, or a new device).
    port = https_emu.port
    https_emu.stop()
    with serve_in_thread(Emulator(passphrase=HEM_PASSPHRASE), https=True, port=port) as other:
        assert other.cert_sha256 != hem.cert_sha256
        with pytest.raises(TLSError, match="could not be trusted"):
            core.ask_hem("keymgmt:list")


def test_unpinned_https_is_verified_against_the_system(https_emu: RunningEmulator) -> None:
    from authenticator.net.hem import HemClient

    with HemClient(https_emu.urls.hems[0]) as hem, pytest.raises(TLSError):
        hem.status()
