"""Every accept path of the protocol, exhaustively: every bit of what is sealed, tagged, signed,
hashed or MACed is flipped, every claim altered, pids swapped, keys replaced by foreign ones, and
the expiry passed by one second — never accepted.

These are the pure checks (``authenticator.protocol``); ``test_broker_events``,
``test_app_paths`` and ``test_peer_checks`` drive the same forgeries through the real core and
the emulated HEM and broker.
"""

from __future__ import annotations

from typing import Any

import pytest

from authenticator.errors import DecodeError, ExpiredError, IntegrityError, ProtocolError
from authenticator.protocol.access import (
    AuthReq,
    BrokerEvent,
    PairingKeys,
    open_authreq,
    open_event,
)
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.ejwt import HEM_HEADER, Jwt, encode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.pairing import (
    PairingRequest,
    answer_pairing,
    check_pairing_code,
    check_pairing_request,
    request_hash,
)
from authenticator.protocol.sealing import event_master, open_scope, seal_scope
from tests.forgery.support import (
    altered_claims,
    flip_sealed,
    flip_signature,
    jwt_parts,
    sealed_bits,
    with_payload,
)

NOW = 1_763_900_000
HEM = KeyPair.generate()
FOREIGN_HEM = KeyPair.generate()
APP = KeyPair.generate()
OTHER_APP = KeyPair.generate()  # another authenticator paired with the same HEM
EPK = KeyPair.generate()
PID = b64encode(bytes(range(32)))
OTHER_PID = b64encode(bytes(range(32, 64)))
JTI = b64encode(bytes(range(64, 96)))
KEYS = PairingKeys(aid=APP, eid=HEM.public, pid=PID)
SCOPE = "keymgmt:list"


def sealed_for(app: KeyPair, hem: KeyPair = HEM, jti: str = JTI, scope: str = SCOPE) -> str:
    """What the HEM ``hem`` seals for the authenticator ``app`` (HEM side: X25519(eid, aid))."""
    return seal_scope(event_master(hem.exchange(app.public), b64decode(jti)), scope)


def authreq_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "iss": HEM.public.b64,
        "aud": EPK.public.b64,
        "iat": NOW,
        "exp": NOW + 3600,
        "jti": JTI,
        "scope": {PID: sealed_for(APP), OTHER_PID: sealed_for(OTHER_APP)},
    }
    return {**payload, **changes}


def make_authreq(payload: dict[str, Any], hem: KeyPair = HEM) -> str:
    return encode(payload, hem.exchange(EPK.public), header=HEM_HEADER)


def event(**changes: Any) -> BrokerEvent:
    obj = {"jti": JTI, "scope": sealed_for(APP), "epk": EPK.public.b64, "exp": NOW + 60, **changes}
    return BrokerEvent.from_json("5X8YX", obj)


# ---------------------------------------------------------------------------- sealed scopes


def test_genuine_paths_open() -> None:
    """The harness is right: the untouched inputs are accepted."""
    assert open_event(event(), KEYS, now=NOW) == SCOPE
    authreq = AuthReq.parse(make_authreq(authreq_payload()))
    authreq.verify_signature(EPK)
    assert open_authreq(authreq, KEYS, now=NOW) == SCOPE


@pytest.mark.parametrize("scope", ["keymgmt:list", "storage:disk0:rw", "keymgmt:use:" + "ab" * 16])
def test_every_bit_of_the_sealed_scope_and_tag(scope: str) -> None:
    genuine = sealed_for(APP, scope=scope)
    master = KEYS.master(JTI)
    assert open_scope(master, genuine) == scope
    for bit in range(sealed_bits(genuine)):
        forged = flip_sealed(genuine, bit)
        with pytest.raises(IntegrityError):
            open_scope(master, forged)
        with pytest.raises(IntegrityError):
            open_event(event(scope=forged), KEYS, now=NOW)
        payload = authreq_payload(scope={PID: forged})
        with pytest.raises(IntegrityError):  # pasted: the signature cannot be checked, the tag is
            open_authreq(AuthReq.parse(make_authreq(payload)), KEYS, now=NOW)


def test_every_character_of_the_sealed_text() -> None:
    genuine = sealed_for(APP)
    for i in range(len(genuine)):
        for char in {"A", "B", "+", "/", "="} - {genuine[i]}:
            forged = genuine[:i] + char + genuine[i + 1 :]
            with pytest.raises((IntegrityError, DecodeError)):
                open_event(event(scope=forged), KEYS, now=NOW)


def test_another_jti_swapped_pid_and_foreign_keys() -> None:
    other_jti = b64encode(bytes(range(1, 33)))
    forged: dict[str, str] = {
        "another jti": sealed_for(APP, jti=other_jti),
        "the other pairing's entry (swapped pid)": sealed_for(OTHER_APP),
        "sealed by a foreign HEM": sealed_for(APP, hem=FOREIGN_HEM),
        "sealed for a foreign pairing": sealed_for(KeyPair.generate()),
    }
    for name, sealed in forged.items():
        with pytest.raises(IntegrityError):
            open_event(event(scope=sealed), KEYS, now=NOW)
        with pytest.raises(IntegrityError):
            open_authreq(
                AuthReq.parse(make_authreq(authreq_payload(scope={PID: sealed}))), KEYS, now=NOW
            )
        assert sealed, name
    # the event's jti changed instead of its scope
    with pytest.raises(IntegrityError):
        open_event(event(jti=other_jti), KEYS, now=NOW)
    # the entries of two pairings swapped in an authreq
    swapped = authreq_payload(scope={PID: sealed_for(OTHER_APP), OTHER_PID: sealed_for(APP)})
    with pytest.raises(IntegrityError):
        open_authreq(AuthReq.parse(make_authreq(swapped)), KEYS, now=NOW)
    # addressed only to another pairing
    with pytest.raises(ProtocolError):
        open_authreq(
            AuthReq.parse(make_authreq(authreq_payload(scope={OTHER_PID: sealed_for(APP)}))),
            KEYS,
            now=NOW,
        )
    # from a foreign HEM (its own identity, its own seal)
    foreign = authreq_payload(
        iss=FOREIGN_HEM.public.b64, scope={PID: sealed_for(APP, hem=FOREIGN_HEM)}
    )
    with pytest.raises(IntegrityError):
        open_authreq(AuthReq.parse(make_authreq(foreign, FOREIGN_HEM)), KEYS, now=NOW)


def test_expiry_by_one_second() -> None:
    with pytest.raises(ExpiredError):
        open_event(event(exp=NOW - 1), KEYS, now=NOW)
    assert open_event(event(exp=NOW), KEYS, now=NOW) == SCOPE  # equal is still valid
    with pytest.raises(ExpiredError):
        open_authreq(AuthReq.parse(make_authreq(authreq_payload(exp=NOW - 1))), KEYS, now=NOW)


# ---------------------------------------------------------------------------- signatures


def test_authreq_signature_every_bit_and_every_claim() -> None:
    """Direct path: the app made the epk, so it checks the HEM's signature."""
    token = make_authreq(authreq_payload())
    for bit in range(256):
        with pytest.raises(IntegrityError):
            AuthReq.parse(flip_signature(token, bit)).verify_signature(EPK)
    _, payload, _ = jwt_parts(token)
    claims = list(altered_claims(payload))
    assert len(claims) == len(payload)  # every claim, in turn
    for _, changed in claims:
        with pytest.raises(IntegrityError):  # "aud": not made for this computer's key
            AuthReq.parse(with_payload(token, changed)).verify_signature(EPK)
    # re-signed by a foreign HEM under the genuine iss: the signature does not verify
    with pytest.raises(IntegrityError):
        AuthReq.parse(make_authreq(authreq_payload(), FOREIGN_HEM)).verify_signature(EPK)
    # a genuine request made for another key (a replay of an older request)
    other_epk = KeyPair.generate()
    older = encode(
        authreq_payload(aud=other_epk.public.b64), HEM.exchange(other_epk.public), header=HEM_HEADER
    )
    with pytest.raises(IntegrityError):
        AuthReq.parse(older).verify_signature(EPK)


def test_jwt_header_must_say_hs256_and_x25519() -> None:
    token = make_authreq(authreq_payload())
    for header in (
        {"ecdh": "x25519", "alg": "none"},
        {"alg": "HS256"},
        {"ecdh": "x448", "alg": "HS256"},
    ):
        forged = encode(authreq_payload(), HEM.exchange(EPK.public), header=header)
        with pytest.raises(DecodeError):
            Jwt.parse(forged).verify(HEM.exchange(EPK.public))
    assert Jwt.parse(token).verify(HEM.exchange(EPK.public)) is None


# ---------------------------------------------------------------------------- pairing


def _pairing_request(hem: KeyPair = HEM, **changes: Any) -> str:
    payload = {"jti": JTI, "exp": NOW + 60, "aud": EPK.public.b64, "iss": hem.public.b64, **changes}
    return encode(payload, hem.exchange(EPK.public), header=HEM_HEADER)


def test_qr_hash_every_bit_and_every_request_character() -> None:
    request = _pairing_request()
    digest = b64decode(request_hash(request))
    assert check_pairing_request(request, qr_hash=request_hash(request), now=NOW)
    for bit in range(256):
        flipped = bytearray(digest)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(IntegrityError, match="different request"):
            check_pairing_request(request, qr_hash=b64encode(bytes(flipped)), now=NOW)
    for i in range(len(request)):
        changed = request[:i] + ("A" if request[i] != "A" else "B") + request[i + 1 :]
        with pytest.raises(IntegrityError, match="different request"):
            check_pairing_request(changed, qr_hash=request_hash(request), now=NOW)
    _, payload, _ = jwt_parts(request)
    for _, changed in altered_claims(payload):
        with pytest.raises(IntegrityError):
            check_pairing_request(
                with_payload(request, changed), qr_hash=request_hash(request), now=NOW
            )
    # another HEM's genuine request behind this QR code
    with pytest.raises(IntegrityError):
        check_pairing_request(_pairing_request(FOREIGN_HEM), qr_hash=request_hash(request), now=NOW)
    # expired by one second (with a QR that matches it)
    expired = _pairing_request(exp=NOW - 1)
    with pytest.raises(ExpiredError):
        check_pairing_request(expired, qr_hash=request_hash(expired), now=NOW)


def test_direct_pairing_request_signature_and_code() -> None:
    request_text = _pairing_request()
    request = PairingRequest.parse(request_text)
    request.verify_signature(EPK)
    for bit in range(256):
        with pytest.raises(IntegrityError):
            PairingRequest.parse(flip_signature(request_text, bit)).verify_signature(EPK)
    _, payload, _ = jwt_parts(request_text)
    for _, changed in altered_claims(payload):
        with pytest.raises(IntegrityError):
            PairingRequest.parse(with_payload(request_text, changed)).verify_signature(EPK)
    with pytest.raises(IntegrityError):
        PairingRequest.parse(_pairing_request(FOREIGN_HEM, iss=HEM.public.b64)).verify_signature(
            EPK
        )
    # the HEM's confirmation code: HMAC(X25519(eid, epk), reply)
    answer = answer_pairing(request, APP, label="desk (Linux)")
    code = b64decode(b64encode(hmac_sha256(HEM.exchange(EPK.public), answer.reply.encode())))
    check_pairing_code(b64encode(code), reply=answer.reply, epk=EPK, eid=HEM.public)
    for bit in range(256):
        flipped = bytearray(code)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(IntegrityError):
            check_pairing_code(
                b64encode(bytes(flipped)), reply=answer.reply, epk=EPK, eid=HEM.public
            )
    foreign = b64encode(hmac_sha256(FOREIGN_HEM.exchange(EPK.public), answer.reply.encode()))
    with pytest.raises(IntegrityError):
        check_pairing_code(foreign, reply=answer.reply, epk=EPK, eid=HEM.public)
    other_reply = answer_pairing(request, OTHER_APP, label="desk (Linux)").reply
    with pytest.raises(IntegrityError):
        check_pairing_code(b64encode(code), reply=other_reply, epk=EPK, eid=HEM.public)
