"""Outside text is cleaned where it enters the core and never becomes part of what is asked.

Every channel an outsider writes into, fed the hostile corpus (tests/hostile.py) through the real
core and the real emulator: the broker's location of a requester, a pasted request's note, a
local program's reason, the pairing code's user / e-mail / hostname, and an ``encedo-auth:`` link
that names another address for the answer (a listener on loopback must receive nothing).
"""

from __future__ import annotations

import socket
import threading
import unicodedata

import pytest

from authenticator.core.app import Core
from authenticator.core.model import AccessRequest
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import StateError
from authenticator.protocol.links import make_authreq_link
from authenticator.protocol.outside import Origin
from tests.core.conftest import HEM_PASSPHRASE, PASSPHRASE, ask, pair_by_qr
from tests.hostile import CORPUS, MARK, MIXED

FORBIDDEN = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}


def assert_display_text(text: str) -> None:
    """No control, format (bidi, zero-width), separator or unassigned character; no newline."""
    bad = [hex(ord(c)) for c in text if unicodedata.category(c) in FORBIDDEN]
    assert not bad, (bad, text[:80])


def assert_truthful(req: AccessRequest, words: str) -> None:
    """The sentence says what the verified scope asks (``words``, then the HEM's name), and
    nothing an outsider wrote."""
    assert req.text == f"{req.asker} wants to {words} {req.hem}."
    assert MARK not in req.title + req.text
    for row, value in req.claims():
        assert_display_text(row)
        assert_display_text(value.text)
        assert "—" in row  # every row names whose claim it is


@pytest.mark.parametrize(("name", "hostile"), CORPUS, ids=[n for n, _ in CORPUS])
def test_a_hostile_broker_location_stays_a_labelled_claim(
    core: Core, requester: Requester, emu: RunningEmulator, name: str, hostile: str
) -> None:
    assert emu.emulator.broker is not None
    emu.emulator.broker.set_location(hostile, hostile[:40])
    pair_by_qr(core, requester)
    a = ask(core, requester, "keymgmt:del")
    (req,) = core.pending()
    assert req.id == a.request_id
    assert_truthful(req, "delete a key from")
    rows = dict(req.claims())
    location = rows["Location — reported by the broker"]
    assert location.origin is Origin.BROKER
    assert len(location.text) <= 120 + 3 + 64
    for entry in core.journal_entries(limit=3):  # the journal keeps it, cleaned
        assert_display_text(entry.text)
        for value in entry.fields.values():
            if isinstance(value, str):
                assert_display_text(value)


def test_a_hostile_pasted_note_is_the_requesters_unverified_claim(
    core: Core, requester: Requester
) -> None:
    pair_by_qr(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list", note=MIXED[:128])
    req = core.open_pasted(authreq)
    assert isinstance(req, AccessRequest)
    assert_truthful(req, "list the keys on")
    assert req.note is not None
    assert req.note.origin is Origin.REQUESTER
    assert ("Their note — not verified", req.note) in req.claims()


def test_a_hostile_program_reason_is_the_programs_claim(core: Core, emu: RunningEmulator) -> None:
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    entry = core.ask_hem("keymgmt:list", reason=MIXED)
    req = entry.request
    assert_truthful(req, "list the keys on")
    assert req.reason is not None
    assert_display_text(req.reason)
    assert len(req.reason) <= 200
    assert dict(req.claims())["Reason — claimed by the program"].text == req.reason


def test_a_hostile_pairing_code_is_shown_cleaned(core: Core, requester: Requester) -> None:
    pairing = requester.start_pairing()
    qr = pairing.qr
    hostile = qr.__class__(
        link=qr.link, hash=qr.hash, user=MIXED, email=MIXED[:300], hostname="hem\n" + MIXED
    )
    preview = core.preview_qr(hostile)  # type: ignore[arg-type]
    for text in (preview.qr.user, preview.qr.email, preview.qr.hostname, preview.suggested_name):
        assert_display_text(text)
        assert len(text) <= 120
    view = core.accept_pairing(preview)
    assert_display_text(view.name)
    assert_display_text(view.hostname)


class Listener:
    """A TCP listener on loopback that records whether anybody connected."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_a_link_never_chooses_where_the_answer_goes(core: Core, requester: Requester) -> None:
    pair_by_qr(core, requester)
    stranger = Listener()
    try:
        authreq, _ = requester.direct_authreq("keymgmt:del")
        link = make_authreq_link(authreq, f"http://127.0.0.1:{stranger.port}")
        with pytest.raises(StateError) as info:
            core.open_pasted(link)
        message = str(info.value)
        assert f"127.0.0.1:{stranger.port}" in message
        assert "as the link states it" in message
        assert "stranger" in message
        assert core.pending() == []
        # The same request without the address opens, and is answered at the paired HEM.
        req = core.open_pasted(authreq)
        assert isinstance(req, AccessRequest)
        assert core.approve(req.id).token
        assert stranger.connections == 0
    finally:
        stranger.close()


def test_a_link_naming_the_paired_address_is_accepted(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    pair_by_qr(core, requester)
    authreq, _ = requester.direct_authreq("keymgmt:list")
    req = core.open_pasted(make_authreq_link(authreq, emu.urls.hems[0]))
    assert isinstance(req, AccessRequest)
    assert core.approve(req.id).token


def _key_use(kid: str, label: str) -> str:
    from authenticator.protocol.b64 import b64encode

    meta = b64encode(f'{{"t":"AC16","l":"{label}"}}'.encode())
    return f"keymgmt:use:{kid}#{meta}"


def test_a_key_use_request_is_checked_against_the_hems_own_key_names(
    core: Core, requester: Requester, emu: RunningEmulator
) -> None:
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    kid = requester.find_key("PGP main")

    def pasted(scope: str) -> AccessRequest:
        authreq, _ = requester.direct_authreq(scope)
        req = core.open_pasted(authreq)
        assert isinstance(req, AccessRequest)
        core.deny(req.id)
        return req

    # Before the owner ever let anything list the keys, the app cannot know the real name.
    before = pasted(_key_use(kid, "Backup signing key"))
    assert before.key_name is None
    assert before.warnings == ()
    assert dict(before.claims())["Key name — as the request states it"].text == (
        "Backup signing key"
    )
    # The owner approves a key list for a program: the app keeps that token (memory only)…
    listed = core.ask_hem("keymgmt:list")
    assert core.approve(listed.request.id).token
    # …and now checks what a key-use request states against what the HEM says.
    lying = pasted(_key_use(kid, "Backup signing key"))
    assert lying.key_name is not None
    assert lying.key_name.text == "PGP main"
    assert lying.key_name.origin is Origin.HEM
    assert ("Key name — as the HEM reports it", lying.key_name) in lying.claims()
    (warning,) = lying.warnings
    assert "“Backup signing key”" in warning
    assert "“PGP main”" in warning
    assert "not the key's name" in warning
    assert "Backup" not in lying.text  # the sentence names the key by its id only
    honest = pasted(_key_use(kid, "PGP main"))
    assert honest.warnings == ()
    unknown = pasted(_key_use("ab" * 16, "PGP main"))
    assert unknown.key_name is None
    assert "lists no key" in unknown.warnings[0]
    # Locking forgets the token and what was learned with it.
    core.lock()
    core.unlock(PASSPHRASE)
    assert pasted(_key_use(kid, "Backup signing key")).warnings == ()
