"""Access requests: broker events, authreq (real device capture), authreply, MACs, unpair."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import DecodeError, ExpiredError, IntegrityError, ProtocolError
from authenticator.protocol import access, ejwt
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.keys import KeyPair, PrivateKey, PublicKey
from authenticator.protocol.periods import Period
from authenticator.protocol.sealing import seal_scope
from tests.protocol.vectors import b, flip_bit, flip_char, ids, load

REF = load("reference_app")
HEM = load("hem")
EVENTS = REF["events"]
P = REF["event_pairing"]
KEYS = access.PairingKeys(
    aid=KeyPair.from_private(PrivateKey.from_b64(P["aid_prv"])),
    eid=PublicKey.from_b64(P["eid"]),
    pid=P["pid"],
)


def event_of(v: dict[str, object], event_id: str = "g0O7U") -> access.BrokerEvent:
    return access.BrokerEvent.from_json(event_id, v["event"])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- broker events


@pytest.mark.parametrize("v", EVENTS, ids=ids(EVENTS))
def test_reference_events_open_and_answer_byte_exactly(v: dict[str, object]) -> None:
    event = event_of(v)
    scope = access.open_event(event, KEYS, now=int(v["now"]))  # type: ignore[call-overload]
    assert scope == v["scope"]
    granted = access.granted_scope(scope, write=bool(v["write"]))
    assert granted == v["granted"]
    authreply = access.build_authreply(
        KEYS,
        jti=event.jti,
        granted=granted,
        period=Period(v["period"]),
        now=int(v["now"]),  # type: ignore[call-overload]
    )
    assert authreply == v["authreply"]
    claims = ejwt.read_unverified(authreply)
    assert list(claims) == ["aud", "jti", "exp", "iat", "pid", "iss", "scope"]
    assert claims["exp"] == v["exp"]
    assert claims["scope"] == v["granted_sealed"]
    assert b64encode(KEYS.aid.exchange(event.epk)) == v["s_epk"]
    mac = access.authreply_mac(KEYS.aid, event.epk, authreply)
    assert mac == v["mac"]
    assert access.allow_body(authreply, mac) == {"authreply": authreply, "mac": mac}


@pytest.mark.parametrize("v", EVENTS, ids=ids(EVENTS))
def test_reference_events_tampered_twins_are_never_opened(v: dict[str, object]) -> None:
    event = event_of(v)
    now = int(v["now"])  # type: ignore[call-overload]
    raw = b(event.scope[1:])
    for bit in (0, 8 * 16 - 1, 8 * 16, len(raw) * 8 - 1):  # first/last ct bit, first/last tag bit
        forged = access.BrokerEvent.from_json(
            "g0O7U",
            {**v["event"], "scope": "A" + b64encode(flip_bit(raw, bit))},  # type: ignore[dict-item]
        )
        with pytest.raises(IntegrityError):
            access.open_event(forged, KEYS, now=now)
    # Another jti (a replayed ciphertext under a different event) does not open either.
    other_jti = access.BrokerEvent.from_json(
        "g0O7U",
        {**v["event"], "jti": b64encode(b"\x00" * 16)},  # type: ignore[dict-item]
    )
    with pytest.raises(IntegrityError):
        access.open_event(other_jti, KEYS, now=now)
    # A foreign pairing (another app key for the same HEM) cannot open it.
    foreign = access.PairingKeys(aid=KeyPair.generate(), eid=KEYS.eid, pid=KEYS.pid)
    with pytest.raises(IntegrityError):
        access.open_event(event, foreign, now=now)
    # Expired: checked before anything is opened.
    with pytest.raises(ExpiredError):
        access.open_event(event, KEYS, now=event.exp + 1)
    assert access.open_event(event, KEYS, now=event.exp) == v["scope"]


def test_reference_tampered_event() -> None:
    (v,) = REF["tampered_events"]
    with pytest.raises(IntegrityError):
        access.open_event(event_of(v), KEYS, now=v["now"])


def test_event_fields_and_location() -> None:
    event = event_of(EVENTS[0])
    assert event.ipinfo.describe() == "Warsaw, PL · 203.0.113.7"
    assert event.ipinfo.to_json() == {"city": "Warsaw", "country": "PL", "ip": "203.0.113.7"}
    assert access.IpInfo.from_json(None).describe() == ""
    assert access.IpInfo.from_json({"ip": "1.2.3.4", "city": 5}).describe() == "1.2.3.4"
    assert access.IpInfo.from_json({"country": "PL"}).describe() == "PL"
    assert event.scope not in repr(event)


@pytest.mark.parametrize(
    ("event_id", "change"),
    [
        ("", {}),
        ("x" * 200, {}),
        ("id\n", {}),
        ("ok", {"jti": None}),
        ("ok", {"jti": "$$"}),
        ("ok", {"scope": 5}),
        ("ok", {"epk": b64encode(b"x" * 31)}),
        ("ok", {"exp": "soon"}),
        ("ok", {"exp": True}),
    ],
)
def test_malformed_events(event_id: str, change: dict[str, object]) -> None:
    body = {**EVENTS[0]["event"], **change}
    with pytest.raises(DecodeError):
        access.BrokerEvent.from_json(event_id, body)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"eventid": []}, {}),
        ({"eventid": {}}, {}),
        ({}, {}),
        ({"eventid": {"b2": ["p2"], "a1": ["p1", "x"]}}, {"a1": "p1", "b2": "p2"}),
        ({"eventid": {"e": "pid-as-string"}}, {"e": "pid-as-string"}),
        ({"eventid": {"e": 12345}}, {"e": "12345"}),
    ],
)
def test_allbypid_shapes(answer: dict[str, object], expected: dict[str, str]) -> None:
    assert access.parse_allbypid(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [
        {"eventid": "x"},
        {"eventid": [1]},
        {"eventid": {"e": []}},
        {"eventid": {"e": [None]}},
        {"eventid": {"e": True}},
        {"eventid": {"": ["p"]}},
        {"eventid": {"x" * 200: ["p"]}},
    ],
)
def test_allbypid_malformed(answer: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        access.parse_allbypid(answer)


# ---------------------------------------------------------------------------- authreq


def device_keys() -> tuple[access.AuthReq, access.PairingKeys, KeyPair]:
    v = HEM["device_authreq"]
    authreq = access.AuthReq.parse(v["authreq"])
    app = KeyPair.from_private(PrivateKey(bytes.fromhex(v["app_private_hex"])))
    requester = KeyPair.from_private(PrivateKey(bytes.fromhex(v["requester_private_hex"])))
    return authreq, access.PairingKeys(aid=app, eid=authreq.eid, pid=v["pid"]), requester


def test_real_device_authreq_opens_and_verifies() -> None:
    v = HEM["device_authreq"]
    authreq, keys, requester = device_keys()
    assert keys.aid.public.raw.hex() == v["app_public_hex"]
    assert authreq.eid.raw.hex() == v["eid_hex"]
    assert requester.public.b64 == v["requester_public"]
    assert (authreq.iat, authreq.exp, authreq.ctx, authreq.note) == (
        v["iat"],
        v["exp"],
        v["ctx"],
        None,
    )
    assert requester.exchange(authreq.eid).hex() == v["signing_secret_hex"]
    assert keys.s1.hex() == v["s1_hex"]
    assert keys.master(authreq.jti).hex() == v["master_hex"]
    authreq.verify_signature(requester)
    assert access.open_authreq(authreq, keys, now=v["iat"]) == v["scope"]
    # Re-sealing reproduces the device's value exactly (scheme A is deterministic given jti).
    assert seal_scope(keys.master(authreq.jti), v["scope"]) == authreq.entry_for(keys)


def test_real_device_authreq_tampered_twins() -> None:
    v = HEM["device_authreq"]
    authreq, keys, requester = device_keys()
    head, body, sig = v["authreq"].split(".")
    with pytest.raises(IntegrityError):
        access.AuthReq.parse(f"{head}.{body}.{flip_char(sig, 4)}").verify_signature(requester)
    with pytest.raises(IntegrityError, match="not made for this computer"):
        authreq.verify_signature(KeyPair.generate())
    with pytest.raises(ExpiredError):
        access.open_authreq(authreq, keys, now=v["exp"] + 1)
    foreign_hem = access.PairingKeys(aid=keys.aid, eid=KeyPair.generate().public, pid=keys.pid)
    with pytest.raises(IntegrityError, match="different HEM"):
        access.open_authreq(authreq, foreign_hem, now=v["iat"])
    swapped_pid = access.PairingKeys(aid=keys.aid, eid=keys.eid, pid=b64encode(b"\x01" * 32))
    with pytest.raises(ProtocolError, match="not addressed"):
        access.open_authreq(authreq, swapped_pid, now=v["iat"])
    # A forged scope map under the same (unchecked by us) signature does not open.
    payload = dict(authreq.jwt.payload)
    raw = b(authreq.entry_for(keys)[1:])
    payload["scope"] = {v["pid"]: "A" + b64encode(flip_bit(raw, 5))}
    forged = access.AuthReq.parse(ejwt.encode(payload, b"\x00" * 32, header=ejwt.HEM_HEADER))
    with pytest.raises(IntegrityError):
        access.open_authreq(forged, keys, now=v["iat"])


def test_pid_matches_whatever_the_base64_flavour() -> None:
    v = HEM["device_authreq"]
    authreq, keys, _ = device_keys()
    url_flavour = v["pid"].replace("+", "-").replace("/", "_").rstrip("=")
    keys2 = access.PairingKeys(aid=keys.aid, eid=keys.eid, pid=url_flavour)
    assert access.open_authreq(authreq, keys2, now=v["iat"]) == "keymgmt:list"
    assert not keys.owns_pid("$$not base64")


def test_docs_authreq_structure() -> None:
    v = HEM["docs_authreq"]
    authreq = access.AuthReq.parse(v["authreq"])
    assert (authreq.iss, authreq.aud, authreq.iat, authreq.exp, authreq.jti) == (
        v["iss"], v["aud"], v["iat"], v["exp"], v["jti"],
    )  # fmt: skip
    assert authreq.exp - authreq.iat == 3600
    assert list(authreq.entries) == [v["pid"]]
    assert len(b(authreq.entries[v["pid"]][1:])) == v["sealed_raw_len"]
    assert authreq.token == v["authreq"]


def authreq_with(**changes: object) -> str:
    payload: dict[str, object] = {
        "iss": b64encode(b"\x01" * 32),
        "aud": b64encode(b"\x02" * 32),
        "iat": 1,
        "exp": 2,
        "jti": b64encode(b"\x03" * 32),
        "scope": {},
    }
    payload.update(changes)
    return ejwt.encode({k: v for k, v in payload.items() if v is not None}, b"\x00" * 32)


def test_authreq_optional_fields() -> None:
    a = access.AuthReq.parse(authreq_with(ctx=7, note="from the OIDC bridge"))
    assert (a.ctx, a.note) == ("7", "from the OIDC bridge")
    assert access.AuthReq.parse(authreq_with(ctx=True)).ctx is None
    assert access.AuthReq.parse(authreq_with()).entries == {}


@pytest.mark.parametrize(
    "change",
    [
        {"scope": "keymgmt:list"},
        {"scope": {"pid": 5}},
        {"scope": None},
        {"iss": None},
        {"iss": "short"},
        {"aud": b64encode(b"x" * 5)},
        {"iat": None},
        {"exp": "later"},
        {"jti": "$"},
        {"note": 5},
    ],
)
def test_malformed_authreqs(change: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        access.AuthReq.parse(authreq_with(**change))


# ---------------------------------------------------------------------------- the answer


@pytest.mark.parametrize(
    ("requested", "write", "granted"),
    [
        ("storage:disk0", False, "storage:disk0"),
        ("storage:disk0", True, "storage:disk0:rw"),
        ("storage:disk0:rw", False, "storage:disk0"),
        ("storage:disk1:rw", True, "storage:disk1:rw"),
        ("a:rw:b:rw", False, "a:b"),
        ("system:upgrade", False, "system:upgrade"),
    ],
)
def test_granted_scope(requested: str, write: bool, granted: str) -> None:
    assert access.granted_scope(requested, write=write) == granted


def test_period_coercion_and_exp() -> None:
    event = event_of(EVENTS[0])
    reply = access.build_authreply(
        KEYS, jti=event.jti, granted="x", period=Period.coerce(12345), now=100
    )
    claims = ejwt.read_unverified(reply)
    assert claims["exp"] - claims["iat"] == 900
    assert claims["pid"] == P["pid"]


def test_pairing_keys_reject_an_empty_pid() -> None:
    with pytest.raises(DecodeError):
        access.PairingKeys(aid=KEYS.aid, eid=KEYS.eid, pid="")


def test_deny_body_is_empty() -> None:
    assert dict(access.DENY_BODY) == {}


def test_unpair_vector_and_tampered_twin() -> None:
    v = REF["unpair"]
    epk = PublicKey.from_b64(v["epk"])
    assert b64encode(KEYS.aid.exchange(epk)) == v["s_epk"]
    assert access.unpair_mac(KEYS.aid, epk, b(v["nonce"])) == v["mac"]
    body = access.unpair_body(KEYS, epk, b(v["nonce"]))
    assert body == v["post_body"]
    assert list(body) == list(v["post_body"])
    assert access.unpair_mac(KEYS.aid, epk, flip_bit(b(v["nonce"]), 0)) != v["mac"]


def test_token_refresh_vector_and_tampered_twin() -> None:
    v = REF["token_refresh"]
    epk = PublicKey.from_b64(v["epk"])
    assert access.token_refresh_mac(KEYS.aid, epk, b(v["nonce"]), v["fid"]) == v["mac"]
    body = access.token_refresh_body(KEYS, epk, b(v["nonce"]), v["fid"])
    assert list(body) == ["pid", "aid", "fid", "nonce", "mac"]
    assert body["mac"] == v["mac"]
    assert access.token_refresh_mac(KEYS.aid, epk, b(v["nonce"]), v["fid"] + "z") != v["mac"]


def test_is_expired_boundary() -> None:
    assert not access.is_expired(10, 10)
    assert access.is_expired(10, 11)


@given(st.text(max_size=400))
def test_authreq_parser_raises_only_decode_errors(text: str) -> None:
    with contextlib.suppress(DecodeError):
        access.AuthReq.parse(text)


@given(
    st.dictionaries(
        st.sampled_from(["jti", "scope", "epk", "exp", "ipinfo_eid"]),
        st.none() | st.integers() | st.text(max_size=60) | st.booleans(),
    )
)
def test_event_parser_raises_only_decode_errors(body: dict[str, object]) -> None:
    try:
        event = access.BrokerEvent.from_json("e1", body)
    except DecodeError:
        return
    with contextlib.suppress(DecodeError, IntegrityError, ExpiredError):
        access.open_event(event, KEYS, now=0)
