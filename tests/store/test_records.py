from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authenticator.errors import DecodeError
from authenticator.store.records import PairingRecord, check_name
from tests.store.factories import b64_of, make_record


def test_json_round_trip_keeps_every_field() -> None:
    record = make_record(last_used=5, muted_until=9, kid="k1", cert_sha256="ab" * 32)
    again = PairingRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record


def test_direct_pairing_needs_the_hem_url() -> None:
    direct = make_record(source="direct", broker_url=None, hem_url="https://my.ence.do:8443")
    assert direct.hem_url == "https://my.ence.do:8443"
    with pytest.raises(DecodeError, match="HEM's URL"):
        make_record(source="direct", broker_url=None, hem_url=None)


def test_broker_pairing_needs_the_broker_origin() -> None:
    assert make_record(broker_url="http://127.0.0.1:5555").broker_url == "http://127.0.0.1:5555"
    with pytest.raises(DecodeError, match="broker's URL"):
        make_record(broker_url=None)


def test_repr_never_shows_the_private_key() -> None:
    record = make_record()
    text = repr(record) + str(record)
    assert "aid_prv" not in text
    assert base64.b64encode(record.aid_prv).decode() not in text
    assert record.aid_prv.hex() not in text
    assert repr(record.aid_prv) not in text
    assert record.name in text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "must not be empty"),
        ({"name": "x" * 65}, "at most 64"),
        ({"name": " padded"}, "spaces"),
        ({"name": "bad\nname"}, "control"),
        ({"eid": b64_of("e", 31)}, "32 bytes"),
        ({"eid": "not base64!"}, "base64"),
        ({"eid": b64_of("e").rstrip("=")}, "base64"),
        ({"aid": b64_of("a", 33)}, "32 bytes"),
        ({"pid": ""}, "base64"),
        ({"aid_prv": b"\x01" * 31}, "32 bytes"),
        ({"label": ""}, "empty"),
        ({"label": "l" * 33}, "at most 32"),
        ({"hostname": 5}, "text"),
        ({"email": "a\x00b"}, "control"),
        ({"source": "usb"}, "source"),
        ({"broker_url": "ftp://x"}, "http"),
        ({"broker_url": "https://api.encedo.com/path"}, "origin"),
        ({"broker_url": "https://h:0"}, "http"),
        ({"broker_url": "https://h:99999"}, "valid URL"),
        ({"hem_url": "https://"}, "http"),
        ({"cert_sha256": "AB" * 32}, "lowercase"),
        ({"cert_sha256": "ab" * 31}, "64"),
        ({"kid": ""}, "empty"),
        ({"paired_at": -1}, "unix time"),
        ({"paired_at": True}, "unix time"),
        ({"last_used": "1"}, "unix time"),
        ({"muted_until": -5}, "unix time"),
    ],
)
def test_invalid_values_are_decode_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        make_record(**changes)


def test_replace_validates_and_refuses_unknown_fields() -> None:
    record = make_record()
    assert record.replace(label="new").label == "new"
    with pytest.raises(DecodeError, match="no field 'colour'"):
        record.replace(colour="red")
    with pytest.raises(DecodeError):
        record.replace(name="")


def test_from_json_refuses_missing_unknown_and_mistyped_fields() -> None:
    good = make_record().to_json()
    with pytest.raises(DecodeError, match="not a JSON object"):
        PairingRecord.from_json([good])
    with pytest.raises(DecodeError, match="missing or unknown"):
        PairingRecord.from_json({k: v for k, v in good.items() if k != "label"})
    with pytest.raises(DecodeError, match="missing or unknown"):
        PairingRecord.from_json({**good, "extra": 1})
    with pytest.raises(DecodeError, match="integer"):
        PairingRecord.from_json({**good, "paired_at": "1700000000"})
    with pytest.raises(DecodeError, match="source"):
        PairingRecord.from_json({**good, "source": "usb"})
    with pytest.raises(DecodeError, match="aid_prv"):
        PairingRecord.from_json({**good, "aid_prv": b64_of("short", 16)})


def test_check_name_returns_a_valid_name() -> None:
    assert check_name("Office HEM") == "Office HEM"
    with pytest.raises(DecodeError):
        check_name(42)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@settings(max_examples=200, database=None, deadline=None)
@given(
    st.dictionaries(st.sampled_from([*make_record().to_json(), "other"]), _json_values, max_size=20)
)
def test_from_json_only_ever_raises_decode_error(obj: dict[str, Any]) -> None:
    base = make_record().to_json()
    for candidate in (obj, {**base, **obj}):
        try:
            record = PairingRecord.from_json(candidate)
        except DecodeError:
            continue
        assert PairingRecord.from_json(record.to_json()) == record


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_pinned_certificate_round_trips_and_stays_out_of_repr() -> None:
    rec = make_record(
        source="direct",
        broker_url=None,
        hem_url="https://hem.local",
        cert_sha256="ab" * 32,
        cert_pem=PEM,
    )
    again = PairingRecord.from_json(rec.to_json())
    assert again.cert_pem == PEM
    assert "BEGIN CERTIFICATE" not in repr(again)


def test_older_records_without_a_pinned_certificate_still_load() -> None:
    obj = make_record().to_json()
    del obj["cert_pem"]
    assert PairingRecord.from_json(obj).cert_pem is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cert_pem": "not a certificate", "cert_sha256": "ab" * 32}, "one PEM certificate"),
        ({"cert_pem": PEM}, "needs its fingerprint"),
    ],
)
def test_bad_pinned_certificates(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        make_record(**changes)
