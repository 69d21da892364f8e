"""Forgeries on the app's other accept paths, through the real core and the emulator:

* a pasted ``authreq`` (or ``encedo-auth:`` link), whose signature the app cannot check;
* the direct path (``ask_hem``), where the HEM's answer is altered on the way;
* pairing by QR (the code's hash against the request the link serves);
* direct pairing (the HEM's confirmation code).

Never accepted (nothing in the inbox, no pairing stored), never answered (nothing redeemed, no
POST or DELETE at the broker), and journalled where the design says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from authenticator.core.app import Core
from authenticator.core.pairings import keys_of
from authenticator.emulator.requester import Requester
from authenticator.emulator.server import RunningEmulator
from authenticator.errors import (
    AlreadyAnsweredError,
    AuthenticatorError,
    BadResponseError,
    ExpiredError,
    IntegrityError,
    NoSuchHemError,
    ProtocolError,
)
from authenticator.net.hem import HemClient
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.links import make_authreq_link
from authenticator.protocol.pairing import parse_qr
from authenticator.protocol.sealing import event_master, seal_scope
from tests.forgery.support import (
    altered_claims,
    flip_sealed,
    flip_signature,
    jwt_parts,
    other_flavour,
    serve,
    with_payload,
)
from tests.support_emulator import HEM_PASSPHRASE, PASSPHRASE, make_core, pair_by_qr

PAIRING_ANSWERS = ("POST /notify/pairing/{link_id}", "DELETE /notify/pairing/{link_id}")


def rejections(core: Core) -> list[str]:
    return [
        str(e.fields.get("reason")) for e in core.journal_entries() if e.kind == "request.rejected"
    ]


@pytest.fixture
def second(tmp_path: Path, emu: RunningEmulator) -> Iterator[Core]:
    other = make_core(tmp_path / "second")
    other.create_store(passphrase=PASSPHRASE)
    yield other
    other.close()


# ---------------------------------------------------------------------------- pasted


def test_pasted_authreq_forgeries(
    core: Core, second: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pair_by_qr(core, requester)
    pair_by_qr(second, requester)
    mine, theirs = core.vault.pairings[0], second.vault.pairings[0]
    token, _ = requester.direct_authreq("keymgmt:list")
    _, payload, _ = jwt_parts(token)
    hem_key = emu.emulator.hems[0].state.eid
    foreign_hem = KeyPair.generate()
    jti = b64decode(payload["jti"])

    def sealed_by(secret: bytes) -> str:
        return seal_scope(event_master(secret, jti), "keymgmt:list")

    forged: list[tuple[str, dict[str, Any], type[AuthenticatorError]]] = []
    entry = payload["scope"][mine.pid]
    for byte in range(len(b64decode(entry[1:]))):  # every byte of the sealed scope and tag
        scope = {**payload["scope"], mine.pid: flip_sealed(entry, 8 * byte + byte % 8)}
        forged.append((f"byte {byte}", {**payload, "scope": scope}, IntegrityError))
    swapped = {mine.pid: payload["scope"][theirs.pid], theirs.pid: entry}
    forged.append(("swapped pids", {**payload, "scope": swapped}, IntegrityError))
    other_jti = b64encode(bytes(32))
    forged.append(("another jti", {**payload, "jti": other_jti}, IntegrityError))
    forged.append(("expired by 1 s", {**payload, "exp": int(time.time()) - 1}, ExpiredError))
    aid_pub = keys_of(mine).aid.public
    foreign = {mine.pid: sealed_by(foreign_hem.exchange(aid_pub))}
    forged.append(("sealed by a foreign HEM's key", {**payload, "scope": foreign}, IntegrityError))
    other_app = KeyPair.generate()
    foreign = {mine.pid: sealed_by(hem_key.exchange(other_app.public))}
    forged.append(("sealed for a foreign pairing", {**payload, "scope": foreign}, IntegrityError))
    forged.append(
        ("from a HEM never paired", {**payload, "iss": foreign_hem.public.b64}, NoSuchHemError)
    )
    forged.append(("not addressed to us", {**payload, "scope": {theirs.pid: entry}}, ProtocolError))
    for name, body, error in forged:
        text = with_payload(token, body)
        for pasted in (text, make_authreq_link(text)):
            with pytest.raises(error):
                core.open_pasted(pasted)
            assert core.pending() == [], name
    assert rejections(core).count("tampered") >= 2 * (len(forged) - 3)
    # the untouched request opens: the harness lets genuine input through
    assert core.open_pasted(token).scope == "keymgmt:list"


def test_a_pasted_request_is_answered_once(
    core: Core, emu: RunningEmulator, requester: Requester
) -> None:
    pair_by_qr(core, requester)
    token, _ = requester.direct_authreq("keymgmt:list")
    request = core.open_pasted(token)
    assert core.open_pasted(token).id == request.id  # pasted twice while pending: shown once
    assert len(core.pending()) == 1
    assert core.approve(request.id).token
    _, payload, _ = jwt_parts(token)
    respelled = with_payload(token, {**payload, "jti": other_flavour(payload["jti"])})
    for replay in (token, make_authreq_link(token), respelled):
        with pytest.raises(AlreadyAnsweredError):
            core.open_pasted(replay)
        assert core.pending() == []
    assert rejections(core).count("replayed") == 3


# ---------------------------------------------------------------------------- the direct path


def test_direct_path_answers_altered_on_the_way(core: Core, emu: RunningEmulator) -> None:
    """The app made the ``epk``: it verifies the HEM's signature and that the HEM sealed exactly
    the scope asked for. The HEM's answer is replaced on the way (a fault that answers
    ``ext/request`` with an altered copy of a genuine answer made for the same key)."""
    core.pair_direct(core.preview_direct(emu.urls.hems[0]), HEM_PASSPHRASE)
    seed = bytes(range(200, 232))
    epk = KeyPair.generate(lambda n: seed[:n])
    core.session.rng = lambda n: seed[
        :n
    ]  # so ask_hem's key is the one the genuine answer was made for
    with HemClient(emu.urls.hems[0]) as hem0, HemClient(emu.urls.hems[1]) as hem1:
        genuine, _ = hem0.ext_request(epk.public.b64, "keymgmt:list")
        other_scope, _ = hem0.ext_request(epk.public.b64, "keymgmt:gen")
        foreign, _ = hem1.ext_request(epk.public.b64, "keymgmt:list")
        older, _ = hem0.ext_request(KeyPair.generate().public.b64, "keymgmt:list")
    _, payload, _ = jwt_parts(genuine)
    answers: list[tuple[str, str]] = [
        (f"signature byte {b}", flip_signature(genuine, 8 * b + b % 8)) for b in range(32)
    ]
    answers += [(f"claim {n}", with_payload(genuine, c)) for n, c in altered_claims(payload)]
    answers += [
        ("another HEM's genuine answer", foreign),
        ("an older answer made for another key", older),
        ("the HEM sealed another scope", other_scope),
        ("not a JWT", "not-a-jwt"),
    ]
    for name, authreq in answers:
        serve(
            emu, "/api/auth/ext/request", {"authreq": authreq, "epk": epk.public.b64}, method="POST"
        )
        with pytest.raises((IntegrityError, BadResponseError)):
            core.ask_hem("keymgmt:list")
        assert core.pending() == [], name
    assert (
        rejections(core).count("tampered") + rejections(core).count("scope_mismatch")
        == len(answers) - 1
    )
    serve(emu, "/api/auth/ext/request", {"authreq": genuine, "epk": epk.public.b64}, method="POST")
    assert core.ask_hem("keymgmt:list").request.scope == "keymgmt:list"  # the genuine one is shown


# ---------------------------------------------------------------------------- pairing


def pairing_answers(emu: RunningEmulator) -> int:
    broker = emu.emulator.broker
    assert broker is not None
    return sum(broker.calls.get(name, 0) for name in PAIRING_ANSWERS)


def test_qr_hash_and_served_request(core: Core, emu: RunningEmulator, requester: Requester) -> None:
    session = requester.start_pairing()
    qr = json.loads(session.qr_text)
    digest = b64decode(qr["hash"])
    before = pairing_answers(emu)
    for byte in range(32):  # every byte of the QR's hash
        flipped = bytearray(digest)
        flipped[byte] ^= 1 << (byte % 8)
        with pytest.raises(IntegrityError, match="different request"):
            core.preview_qr(json.dumps({**qr, "hash": b64encode(bytes(flipped))}))
    link_path = "/" + qr["link"].split("/", 3)[3]
    _, payload, _ = jwt_parts(session.request)
    served = [with_payload(session.request, changed) for _, changed in altered_claims(payload)]
    served += [flip_signature(session.request, 0), session.request + "x"]
    with Requester(emu.urls.hems[1], emu.urls.broker, passphrase=HEM_PASSPHRASE) as other:
        served.append(other.start_pairing().request)  # another HEM's genuine request
    for request in served:
        serve(emu, link_path, {"request": request, "ipinfo_eid": {}})
        with pytest.raises(IntegrityError):
            core.preview_qr(session.qr_text)
    assert pairing_answers(emu) == before  # nothing was sent to the broker
    assert core.hems() == []
    # the genuine code still pairs: the forgeries consumed nothing
    core.accept_pairing(core.preview_qr(session.qr_text))
    assert session.poll() == "paired"
    assert parse_qr(session.qr_text).hash == qr["hash"]


def test_pairing_code_from_the_hem(core: Core, emu: RunningEmulator) -> None:
    url = emu.urls.hems[1]
    prefix = "/hem/1/api/auth/ext/validate"
    foreign = KeyPair.generate()
    codes = [
        b64encode(bytes([1 << (i % 8) if j == i else 0 for j in range(32)])) for i in (0, 13, 31)
    ]
    codes.append(b64encode(foreign.exchange(KeyPair.generate().public)))  # a foreign HEM's code
    for code in codes:
        serve(emu, prefix, {"kid": "42afc419dbda72636b37a2455955e095", "code": code}, method="POST")
        with pytest.raises(IntegrityError, match="confirmation code"):
            core.pair_direct(core.preview_direct(url), HEM_PASSPHRASE)
        assert core.hems() == []  # never stored
    assert core.pair_direct(core.preview_direct(url), HEM_PASSPHRASE).name
