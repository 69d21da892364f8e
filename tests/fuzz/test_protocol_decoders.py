"""Every pure decoder of the protocol, fed arbitrary and half-valid input: only typed errors.

Half-valid inputs start from a real message (a pairing request, an ``authreq``, a broker event,
a bearer token) and replace, drop or retype its fields, so the decoders' deeper checks are
reached too, not only their first "is this JSON" test.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from authenticator.errors import DecodeError
from authenticator.protocol.access import (
    AuthReq,
    BrokerEvent,
    PairingKeys,
    open_authreq,
    open_event,
    parse_allbypid,
)
from authenticator.protocol.b64 import b64decode, b64encode, b64url_encode
from authenticator.protocol.bearer import Bearer, sub_to_kid
from authenticator.protocol.ejwt import HEM_HEADER, Jwt, encode
from authenticator.protocol.jsonutil import parse_object
from authenticator.protocol.keys import KeyPair, PrivateKey
from authenticator.protocol.links import parse_link
from authenticator.protocol.login import LoginChallenge
from authenticator.protocol.pairing import (
    PairingRequest,
    ValidateResult,
    check_pairing_request,
    parse_pid_response,
    parse_qr,
    request_hash,
)
from authenticator.protocol.scopes import HEM_SLOT, ScopeInfo, describe
from authenticator.protocol.sealing import event_master, open_scope, seal_scope
from tests.fuzz.support import (
    TEST_TIMEOUT,
    counted,
    deep_nesting,
    fuzz_settings,
    json_values,
    mutated_text,
    only_typed,
)

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

NOW = 1_763_900_000
AID = KeyPair.from_private(PrivateKey(bytes(range(1, 33))))
EID = KeyPair.from_private(PrivateKey(bytes(range(33, 65))))
EPK = KeyPair.from_private(PrivateKey(bytes(range(65, 97))))
PID = b64encode(bytes(range(100, 132)))
JTI = b64encode(bytes(range(7, 39)))
KEYS = PairingKeys(aid=AID, eid=EID.public, pid=PID)
SEALED = seal_scope(KEYS.master(JTI), "keymgmt:list")


def jwt_of(header: Any, payload: Any, sig: bytes = b"\x00" * 32) -> str:
    def seg(obj: Any) -> str:
        return b64url_encode(json.dumps(obj).encode())

    return f"{seg(header)}.{seg(payload)}.{b64url_encode(sig)}"


def altered(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``valid`` with some claims dropped, retyped or replaced, and some extra ones added."""

    def apply(drop: list[str], replace: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in valid.items() if k not in drop}
        return {**extra, **out, **replace}

    names = st.sampled_from(sorted(valid))
    return st.builds(
        apply,
        st.lists(names, max_size=3),
        st.dictionaries(names, json_values, max_size=3),
        st.dictionaries(st.text(max_size=8), json_values, max_size=2),
    )


texts = st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
any_text = texts | deep_nesting()


@fuzz_settings()
@given(st.one_of(any_text, st.from_regex(r"[A-Za-z0-9+/_=\- \n-]{0,90}", fullmatch=True)))
@counted
def test_b64decode(text: str) -> None:
    result = only_typed(lambda: b64decode(text))
    if isinstance(result, bytes):  # whatever decodes must round-trip through our encoder
        assert b64decode(b64encode(result)) == result


@fuzz_settings()
@given(st.one_of(any_text, st.binary(max_size=300), json_values.map(json.dumps)))
@counted
def test_parse_object(data: str | bytes) -> None:
    result = only_typed(lambda: parse_object(data))
    assert isinstance(result, dict | DecodeError)


@fuzz_settings()
@given(
    st.one_of(
        any_text,
        st.builds(jwt_of, json_values, json_values, st.binary(max_size=40)),
        st.lists(texts, min_size=1, max_size=5).map(".".join),
        deep_nesting().map(
            lambda s: (
                jwt_of({"alg": "HS256"}, None).split(".")[0]
                + "."
                + b64url_encode(s.encode())
                + ".AA"
            )
        ),
    )
)
@counted
def test_jwt_parse_and_verify(token: str) -> None:
    jwt = only_typed(lambda: Jwt.parse(token))
    if isinstance(jwt, Jwt):
        only_typed(lambda: jwt.verify(bytes(32)))


_pairing_payload = {"jti": JTI, "exp": NOW + 60, "aud": EPK.public.b64, "iss": EID.public.b64}
_pairing_request = encode(_pairing_payload, EID.exchange(EPK.public), header=HEM_HEADER)


@fuzz_settings()
@given(
    st.one_of(
        any_text,
        altered(_pairing_payload).map(lambda p: jwt_of(dict(HEM_HEADER), p)),
        mutated_text(_pairing_request),
    ),
    st.one_of(st.none(), st.just(request_hash(_pairing_request)), texts),
)
@counted
def test_pairing_request(request: str, qr_hash: str | None) -> None:
    result = only_typed(lambda: check_pairing_request(request, qr_hash=qr_hash, now=NOW))
    if isinstance(result, PairingRequest) and qr_hash is not None:
        assert request_hash(request) == b64encode(b64decode(qr_hash))  # a hash that was checked
    only_typed(lambda: PairingRequest.parse(request))


_qr = {
    "link": "https://api.encedo.com/notify/pairing/abc",
    "hash": request_hash(_pairing_request),
    "user": "Alice",
    "email": "alice@example.com",
    "hostname": "my.ence.do",
    "url": "https://my.ence.do",
}


@fuzz_settings()
@given(
    st.one_of(
        any_text,
        altered(_qr).map(json.dumps),
        mutated_text(json.dumps(_qr)),
        st.dictionaries(st.sampled_from(sorted(_qr)), texts, max_size=6).map(
            lambda q: "encedo-auth:pair?" + "&".join(f"{k}={v}" for k, v in q.items())
        ),
        texts.map(lambda t: "https://" + t),
    )
)
@counted
def test_parse_qr(text: str) -> None:
    only_typed(lambda: parse_qr(text))


_authreq_payload = {
    "iss": EID.public.b64,
    "aud": EPK.public.b64,
    "iat": NOW,
    "exp": NOW + 3600,
    "jti": JTI,
    "ctx": "manager",
    "scope": {PID: SEALED},
}
_authreq = encode(_authreq_payload, EID.exchange(EPK.public), header=HEM_HEADER)


@fuzz_settings()
@given(
    st.one_of(
        any_text,
        texts.map(lambda t: "encedo-auth:" + t),
        texts.map(lambda t: "encedo-auth://" + t),
        texts.map(lambda t: "ENCEDO-AUTH:authreq?authreq=" + t),
        mutated_text("encedo-auth:authreq?authreq=" + _authreq + "&url=https%3A%2F%2Fhem.example"),
        mutated_text("encedo-auth:pair?link=https%3A%2F%2Fb.example%2Fp&hash=&user=a"),
    )
)
@example("A://[")  # found by the full budget: urlsplit's ValueError escaped parse_link
@example("encedo-auth://pair]")
@counted
def test_parse_link(text: str) -> None:
    only_typed(lambda: parse_link(text))


@fuzz_settings()
@given(
    st.one_of(
        any_text,
        altered(_authreq_payload).map(lambda p: jwt_of(dict(HEM_HEADER), p)),
        mutated_text(_authreq),
        st.dictionaries(texts, texts, max_size=4).map(
            lambda m: jwt_of(dict(HEM_HEADER), {**_authreq_payload, "scope": m})
        ),
    )
)
@counted
def test_authreq_parse_and_open(token: str) -> None:
    authreq = only_typed(lambda: AuthReq.parse(token))
    if isinstance(authreq, AuthReq):
        only_typed(lambda: open_authreq(authreq, KEYS, now=NOW))
        only_typed(lambda: authreq.verify_signature(EPK))


_event = {
    "jti": JTI,
    "scope": SEALED,
    "epk": EPK.public.b64,
    "exp": NOW + 60,
    "ipinfo_eid": {"city": "Warsaw", "country": "PL", "ip": "203.0.113.7"},
}


@fuzz_settings()
@given(
    st.one_of(texts, st.just("5X8YX")),
    st.one_of(altered(_event), st.dictionaries(texts, json_values, max_size=6)),
)
@counted
def test_broker_event_from_json_and_open(event_id: str, obj: dict[str, Any]) -> None:
    event = only_typed(lambda: BrokerEvent.from_json(event_id, obj))
    if isinstance(event, BrokerEvent):
        opened = only_typed(lambda: open_event(event, KEYS, now=NOW))
        if isinstance(opened, str):  # only the untouched sealed scope can open
            assert event.scope == SEALED
            assert opened == "keymgmt:list"


@fuzz_settings()
@given(
    st.one_of(
        st.dictionaries(texts, json_values, max_size=4),
        st.dictionaries(st.just("eventid"), json_values, min_size=1),
        st.dictionaries(
            st.text(max_size=200), json_values | st.lists(texts, max_size=3), max_size=5
        ).map(lambda m: {"eventid": m}),
    )
)
@counted
def test_parse_allbypid(obj: dict[str, Any]) -> None:
    result = only_typed(lambda: parse_allbypid(obj))
    if isinstance(result, dict):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())


@fuzz_settings()
@given(
    st.binary(min_size=32, max_size=32), st.one_of(any_text, mutated_text(SEALED), st.just(SEALED))
)
@counted
def test_open_scope(master: bytes, sealed: str) -> None:
    result = only_typed(lambda: open_scope(master, sealed))
    if isinstance(result, str) and master == KEYS.master(JTI):
        assert result == "keymgmt:list"
    only_typed(lambda: event_master(master, b"\x01"))


_bearer_payload = {
    "scope": "keymgmt:list",
    "sub": "Qq/EGdvacmNrN6JFWVXglQ==",
    "iat": NOW,
    "exp": NOW + 900,
    "jti": JTI,
}


@fuzz_settings()
@given(
    st.one_of(
        any_text,
        altered(_bearer_payload).map(lambda p: jwt_of({"typ": "JWT", "alg": "HS256"}, p)),
    )
)
@counted
def test_bearer_parse(token: str) -> None:
    bearer = only_typed(lambda: Bearer.parse(token))
    if isinstance(bearer, Bearer):
        assert bearer.role in ("user", "master", "authenticator")
        assert bearer.kid is None or len(bearer.kid) == 32
        only_typed(lambda: sub_to_kid(bearer.sub))


_challenge = {"exp": NOW, "spk": EPK.public.b64, "jti": JTI, "lbl": "Alice", "eid": EID.public.b64}
_validate = {"kid": "42afc419dbda72636b37a2455955e095", "code": b64encode(bytes(32))}


@fuzz_settings()
@given(
    st.one_of(altered(_challenge), st.dictionaries(texts, json_values, max_size=5)),
    st.one_of(altered(_validate), st.dictionaries(texts, json_values, max_size=3)),
    st.one_of(altered({"pid": PID}), st.dictionaries(texts, json_values, max_size=3)),
)
@counted
def test_peer_answers(
    challenge: dict[str, Any], validate: dict[str, Any], pid: dict[str, Any]
) -> None:
    only_typed(lambda: LoginChallenge.from_json(challenge))
    only_typed(lambda: ValidateResult.from_json(validate))
    only_typed(lambda: parse_pid_response(pid))


def _meta(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


@fuzz_settings()
@given(
    st.one_of(
        st.text(max_size=200),
        st.from_regex(
            r"(storage:disk[0-9]{0,4}(:rw)?|keymgmt:[a-z:]{0,12}|system:[a-z]{0,9})", fullmatch=True
        ),
        st.builds(
            lambda kid, meta, suffix: f"keymgmt:use:{kid}#{meta}{suffix}",
            st.from_regex(r"[0-9a-fA-F]{1,70}", fullmatch=True),
            st.one_of(
                json_values.map(_meta),
                texts,
                deep_nesting().map(lambda s: base64.b64encode(s.encode()).decode()),
            ),
            st.one_of(st.just(""), texts.map(lambda t: "-" + t)),
        ),
    )
)
@counted
def test_describe_never_raises(scope: str) -> None:
    info = describe(scope)  # documented never to raise: unknown is a result
    assert isinstance(info, ScopeInfo)
    assert HEM_SLOT not in info.text(hem="hem")
    if info.known:
        assert info.scope == scope
