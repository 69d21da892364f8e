"""Nothing secret in logs, reprs, error messages, or any file but the vault."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator, serve_in_thread
from authenticator.errors import AuthenticatorError
from tests.core.conftest import PASSPHRASE, ask, finished, pair_by_qr

HEM_SECRET = "zq-hem-passphrase-7731"  # distinctive, so any leak is found by a plain search


def forms(secret: bytes | str) -> list[str]:
    """The ways a secret could appear in text."""
    if isinstance(secret, str):
        return [secret]
    return [
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        secret.hex(),
    ]


@pytest.fixture
def private_emu() -> Iterator[RunningEmulator]:
    with serve_in_thread(hem_count=2, passphrase=HEM_SECRET) as r:
        for hem in r.emulator.hems:
            hem.set_pacing(0, 0)
        yield r


def test_a_full_flow_leaves_no_secret_behind(
    core: Core, private_emu: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu = private_emu
    requester = Requester(emu.urls.hems[0], emu.urls.broker, passphrase=HEM_SECRET)
    caplog.set_level(logging.DEBUG)
    hem = pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:list")
    core.approve(a.request_id)
    broker_token = finished(a.session).token
    entry = core.ask_hem("keymgmt:list")
    grant = core.approve(entry.request.id)
    direct = core.pair_direct(core.preview_direct(emu.urls.hems[1]), HEM_SECRET)
    errors: list[str] = []
    for bad in ("not the passphrase",):
        try:
            core.pair_direct(core.preview_direct(emu.urls.hems[1]), bad)
        except AuthenticatorError as exc:
            errors.append(str(exc))
    core.unpair(direct.name, hem_passphrase=HEM_SECRET)
    requester.close()

    secrets: list[str] = [PASSPHRASE, HEM_SECRET, "not the passphrase"]
    for rec in core.vault.pairings:
        secrets += forms(rec.aid_prv)
    secrets += forms(core.vault.journal_key)
    assert grant.token
    assert broker_token
    secrets += [grant.token, broker_token, grant.token.split(".")[2], broker_token.split(".")[2]]

    texts = [r.getMessage() for r in caplog.records] + [
        "\n".join(r.exc_text or "" for r in caplog.records)
    ]
    texts += errors
    texts += [
        repr(x) for x in (core.vault.pairings, core.hems(), grant, entry, core.pending(), hem)
    ]
    texts += [repr(core.vault), repr(core.journal())]
    written = [p for p in core.paths.data_dir.rglob("*") if p.is_file() and p.name != "vault.bin"]
    assert written, "the flow wrote journal, settings and handled files"
    texts += [p.read_bytes().decode("utf-8", "replace") for p in written]
    leaks = [s[:12] + "…" for s in secrets for t in texts if s and s in t]
    assert leaks == []
    # And the vault itself never holds the passphrase or a token in clear.
    vault_bytes = core.paths.vault.read_bytes()
    for s in [PASSPHRASE, grant.token]:
        assert s.encode() not in vault_bytes
