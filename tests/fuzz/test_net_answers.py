"""Whatever a HEM or a broker answers, the clients raise only our typed errors.

Two levels:

* **over HTTP**, against the real emulator with its fault knobs: the answer to one client call
  is replaced by an arbitrary status and body (JSON-ish or not), by garbage, a truncated body or
  a dropped connection — each of ``HemClient``'s and ``BrokerClient``'s calls that the app makes;
* **at the transport**, with httpx's ``MockTransport``: arbitrary bytes, statuses and headers
  through ``Transport.request`` (the one place HTTP answers are read), then the decoders the
  clients apply to what it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from authenticator.emulator.server import RunningEmulator
from authenticator.errors import NetError
from authenticator.net.broker import BrokerClient
from authenticator.net.hem import HemClient
from authenticator.net.transport import Answer, Transport
from authenticator.protocol.access import BrokerEvent, parse_allbypid
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.login import LoginChallenge
from authenticator.protocol.pairing import ValidateResult, parse_pid_response
from tests.fuzz.support import (
    TEST_TIMEOUT,
    counted,
    deep_nesting,
    fuzz_settings,
    json_values,
    only_typed,
)

pytestmark = pytest.mark.timeout(TEST_TIMEOUT)

PID = b64encode(bytes(range(32)))
AID = KeyPair.generate()
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.AAAA"

# (name, path prefix the fault matches, the call) — every call the app makes to a peer.
Call = Callable[[HemClient, BrokerClient, str], object]
CALLS: list[tuple[str, str, Call]] = [
    ("allbypid", "/notify/event/data/allbypid", lambda h, b, o: b.allbypid([PID])),
    ("get_event", "/notify/event/data/5X8YX", lambda h, b, o: b.get_event("5X8YX", PID)),
    ("answer_event", "/notify/event/data/5X8YX", lambda h, b, o: b.answer_event("5X8YX", PID, {"authreply": TOKEN, "mac": "AA=="})),
    ("deny_event", "/notify/event/data/5X8YX", lambda h, b, o: b.deny_event("5X8YX", PID)),
    ("get_pairing", "/notify/pairing/fz", lambda h, b, o: b.get_pairing(f"{o}/notify/pairing/fz")),
    ("accept_pairing", "/notify/pairing/fz", lambda h, b, o: b.accept_pairing(f"{o}/notify/pairing/fz", {"reply": TOKEN})),
    ("session_for_aid", "/notify/session", lambda h, b, o: b.session_for_aid(AID.public.b64)),
    ("delete_subscriber", "/notify/subscribers/delete", lambda h, b, o: b.delete_subscriber({"pid": PID})),
    ("hem_version", "/api/system/version", lambda h, b, o: h.version()),
    ("login_challenge", "/api/auth/token", lambda h, b, o: h.login_challenge()),
    ("post_login", "/api/auth/token", lambda h, b, o: h.post_login(TOKEN)),
    ("ext_request", "/api/auth/ext/request", lambda h, b, o: h.ext_request(AID.public.b64, "keymgmt:list")),
    ("ext_token", "/api/auth/ext/token", lambda h, b, o: h.ext_token(TOKEN)),
    ("ext_init", "/api/auth/ext/init", lambda h, b, o: h.ext_init(TOKEN, AID.public.b64)),
    ("ext_validate", "/api/auth/ext/validate", lambda h, b, o: h.ext_validate(TOKEN, PID, TOKEN)),
    ("ext_mac", "/api/auth/ext/mac", lambda h, b, o: h.ext_mac(TOKEN, AID.public.b64)),
    ("config", "/api/system/config", lambda h, b, o: h.config(TOKEN)),
    ("keymgmt_search", "/api/keymgmt/search", lambda h, b, o: h.keymgmt_search("RVhUQUlE")),
]  # fmt: skip

bodies = st.one_of(
    st.text(max_size=200),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.dictionaries(
        st.sampled_from(
            [
                "eventid",
                "pid",
                "jti",
                "scope",
                "epk",
                "exp",
                "request",
                "kid",
                "code",
                "spk",
                "eid",
                "token",
                "authreq",
                "nonce",
                "mac",
                "fwv",
                "reason",
            ]
        ),
        json_values,
        max_size=6,
    ).map(json.dumps),
    deep_nesting(),
)


@pytest.fixture(scope="module")
def clients(running: RunningEmulator) -> Iterator[tuple[HemClient, BrokerClient, str]]:
    running.up()
    origin = running.urls.broker
    with (
        HemClient(running.urls.hems[0], timeout=5.0) as hem,
        BrokerClient(origin, timeout=5.0) as broker,
    ):
        yield hem, broker, origin
    running.emulator.faults.clear()


@fuzz_settings(share=0.5, deadline_s=20)
@given(
    st.sampled_from(CALLS),
    st.one_of(
        st.tuples(st.just("status"), st.integers(200, 599), bodies),
        st.tuples(st.sampled_from(["garbage", "truncate", "drop"]), st.none(), st.none()),
    ),
)
@example(CALLS[0], ("status", 200, "[" * 5000))  # deeper than the recursion limit
@example(CALLS[1], ("status", 410, '{"reason":' * 3000))
@counted
def test_any_answer_over_http(
    running: RunningEmulator,
    clients: tuple[HemClient, BrokerClient, str],
    call: tuple[str, str, Call],
    fault: tuple[str, int | None, str | None],
) -> None:
    _, prefix, do = call
    action, status, body = fault
    faults = running.emulator.faults
    faults.clear()
    if action == "status":
        faults.add(prefix, status=status, body=body, times=1)
    else:
        faults.add(prefix, times=1, **{action: True})
    try:
        result = only_typed(lambda: do(*clients))
    finally:
        faults.clear()
    if action != "status" or status is None or not 200 <= status < 300:
        assert isinstance(result, NetError), result


@fuzz_settings(share=0.5)
@given(
    st.integers(100, 999),
    st.one_of(st.binary(max_size=400), bodies.map(str.encode)),
    st.sampled_from(["application/json", "text/html", "", "application/json; charset=latin-1"]),
    st.booleans(),
)
@example(200, b"[" * 3000, "application/json", False)
@counted
def test_any_bytes_at_the_transport(
    status: int, body: bytes, content_type: str, gzip: bool
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    if gzip:
        headers["content-encoding"] = "gzip"  # a lying header: the body is not gzip

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    with Transport(peer="the broker", timeout=2.0, transport=httpx.MockTransport(handler)) as t:
        answer = only_typed(
            lambda: t.request("POST", "https://broker.example/notify/x", body={"a": 1})
        )
        if not isinstance(answer, Answer):
            assert isinstance(answer, NetError)
            return
        assert 200 <= answer.status < 300
        obj = only_typed(lambda: t.json_object(answer))
    if isinstance(obj, dict):
        feed_decoders(obj)


def feed_decoders(obj: dict[str, Any]) -> None:
    """What the clients do with a JSON object answer."""
    only_typed(lambda: parse_allbypid(obj))
    only_typed(lambda: BrokerEvent.from_json("5X8YX", obj))
    only_typed(lambda: parse_pid_response(obj))
    only_typed(lambda: ValidateResult.from_json(obj))
    only_typed(lambda: LoginChallenge.from_json(obj))
