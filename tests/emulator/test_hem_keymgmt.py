"""The key repository, directly and through ``/api/keymgmt/*`` over real HTTP."""

from __future__ import annotations

import pytest

from authenticator.emulator.hem.keymgmt import KEY_TYPES, KeyStore, StoredKey
from authenticator.emulator.hem.model import HemConfig, HemState, validate_config
from authenticator.errors import DecodeError, StateError
from authenticator.protocol.b64 import b64decode, b64encode
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.scopes import describe
from tests.emulator.conftest import Kit

# ---------------------------------------------------------------------------- the store


@pytest.mark.parametrize(
    ("type_name", "mode", "text", "meta", "pub_size"),
    [
        ("ED25519", None, "PKEY,ExDSA,ED25519", "B416", 32),
        ("CURVE25519", None, "PKEY,ECDH,CURVE25519", "B814", 32),
        ("SECP256R1", None, "PKEY,ECDH,ExDSA,SECP256R1", "BC0A", 33),
        ("SECP384R1", "ExDSA", "PKEY,ExDSA,SECP384R1", "B40B", 49),
        ("SECP256K1", "ECDH", "PKEY,ECDH,SECP256K1", "B80D", 33),
        ("ED448", None, "PKEY,ExDSA,ED448", "B417", 57),
        ("AES256", None, "AES256", "0020", None),
        ("SHA3-512", None, "SHA3-512", "000F", None),
        ("MLDSA65", None, "PKEY,PQC,MLDSA65", "PKEY,PQC,MLDSA65", 1952),
        ("MLKEM768", None, "PKEY,PQC,MLKEM768", "PKEY,PQC,MLKEM768", 1184),
    ],
)
def test_generated_key_types(
    type_name: str, mode: str | None, text: str, meta: str, pub_size: int | None
) -> None:
    key = KeyStore().generate(type_name, label="k", now=7, mode=mode)
    assert (key.type_text, key.meta_type) == (text, meta)
    assert (None if key.pubkey is None else len(key.pubkey)) == pub_size
    assert len(key.kid) == 32
    assert key.list_entry() == {
        "kid": key.kid,
        "created": 7,
        "type": text,
        "label": "k",
        "updated": 7,
    }


def test_every_documented_type_can_be_created() -> None:
    store = KeyStore()
    for name in KEY_TYPES:
        store.generate(name, label=name[:32], now=1)
    assert len(store) == len(KEY_TYPES)


def test_the_app_reads_every_meta_type() -> None:
    """What the HEM puts in ``#<meta>`` must name the key in the app's scope catalogue."""
    for name, algorithm in (("ED25519", "ED25519"), ("AES256", "AES-256"), ("MLDSA65", "MLDSA65")):
        key = KeyStore().generate(name, label="Label", now=1)
        meta = b64encode(f'{{"t":"{key.meta_type}","l":"Label"}}'.encode())
        info = describe(f"keymgmt:use:{key.kid}#{meta}")
        assert info.known
        assert info.key is not None
        assert (info.key.stated_label.text, info.key.algorithm) == ("Label", algorithm)
        assert info.key.private is (name != "AES256")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"type_name": "RSA2048", "label": "x"}, DecodeError),
        ({"type_name": "ED25519", "label": ""}, DecodeError),
        ({"type_name": "ED25519", "label": "x" * 33}, DecodeError),
        ({"type_name": "ED25519", "label": "tab\there"}, DecodeError),
        ({"type_name": "ED25519", "label": "zażółć"}, DecodeError),
        ({"type_name": "SECP256R1", "label": "x", "mode": "RSA"}, DecodeError),
        ({"type_name": "AES128", "label": "x", "descr": b"d" * 65}, DecodeError),
    ],
)
def test_generate_refuses_bad_arguments(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        KeyStore().generate(now=1, **kwargs)  # type: ignore[arg-type]


def test_pairings_are_limited_to_eight_and_unique() -> None:
    store = KeyStore()
    keys = [KeyPair.generate().public for _ in range(9)]
    for n, aid in enumerate(keys[:8]):
        store.import_pairing(aid, pid=bytes([n]) * 32, label=f"p{n}", now=1)
    with pytest.raises(StateError):
        store.import_pairing(keys[8], pid=b"9" * 32, label="p9", now=1)
    store.delete(store.pairings()[0].kid)
    with pytest.raises(StateError):
        store.import_pairing(keys[1], pid=b"x" * 32, label="again", now=1)
    store.import_pairing(keys[8], pid=b"9" * 32, label="p9", now=1)
    assert len(store.pairings()) == 8


def test_pairing_key_as_listed_and_as_fetched() -> None:
    aid = KeyPair.generate().public
    key = KeyStore().import_pairing(aid, pid=b"P" * 32, label="Phone", now=3)
    assert key.type_text == "ECDH,CURVE25519"
    assert key.pid == b"P" * 32
    assert key.list_entry()["descr"] == b64encode(b"EXTAID" + b"P" * 32)
    assert key.get_entry() == {"type": "CURVE25519", "pubkey": aid.b64, "updated": 3}


def test_search_anchors() -> None:
    store = KeyStore()
    a = store.generate("AES128", label="a", now=1, descr=b"hello world")
    b = store.generate("AES128", label="b", now=1, descr=b"world hello")
    store.generate("AES128", label="c", now=1)
    assert store.search(b"hello", start=True, end=False) == [a]
    assert store.search(b"hello", start=False, end=True) == [b]
    assert store.search(b"hello", start=False, end=False) == [a, b]
    assert store.search(b"hello world", start=True, end=True) == [a]


def test_state_json_round_trip() -> None:
    state = HemState.create(0, now=100, passphrase="pw")
    state.keys.import_pairing(KeyPair.generate().public, pid=b"p" * 32, label="Phone", now=101)
    again = HemState.from_json(state.to_json())
    assert again.to_json() == state.to_json()
    assert again.eid.public == state.eid.public
    assert [k.label for k in again.keys] == [
        "PGP main",
        "Backup AES",
        "Post-quantum signing",
        "Phone",
    ]
    assert StoredKey.from_json(state.keys.pairings()[0].to_json()).pid == b"p" * 32


def test_fresh_state_has_no_keys_and_no_user() -> None:
    state = HemState.create(0, now=1, passphrase=None)
    assert (state.inited, state.userkey, state.masterkey, len(state.keys)) == (False, None, None, 0)
    assert HemState.from_json(state.to_json()).config == HemConfig()


@pytest.mark.parametrize(
    "changes",
    [
        {"user": 5},
        {"user": "x" * 33},
        {"trusted_ts": "yes"},
        {"ctx": True},
        {"ctx": -1},
        {"http_option_dosprot_mode": 5},
        {"origin": ""},
        {"hostname": "not a host"},
        {"ip": "300.1.1.1/8"},
    ],
)
def test_config_validation_refuses(changes: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        validate_config(changes, immutable_ok=True)


def test_hostname_and_ip_are_immutable_after_init() -> None:
    with pytest.raises(DecodeError):
        validate_config({"hostname": "a.example"}, immutable_ok=False)
    assert validate_config({"email": "", "unknown": 1}, immutable_ok=False) == {"email": ""}


# ---------------------------------------------------------------------------- over HTTP


def test_list_with_a_user_token(emu: Kit) -> None:
    token = emu.login("keymgmt:list")
    r = emu.get("/api/keymgmt/list", token)
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["offset", "deleted", "total", "listed", "list"]
    assert (body["offset"], body["total"], body["listed"]) == (0, 3, 3)
    assert [k["label"] for k in body["list"]] == ["PGP main", "Backup AES", "Post-quantum signing"]
    assert [k["type"] for k in body["list"]] == ["PKEY,ExDSA,ED25519", "AES256", "PKEY,PQC,MLDSA65"]


def test_list_pages(emu: Kit) -> None:
    token = emu.login("keymgmt:gen keymgmt:list")
    for n in range(20):
        assert (
            emu.post("/api/keymgmt/create", {"label": f"k{n}", "type": "AES128"}, token).status_code
            == 200
        )
    token = emu.login("keymgmt:list")
    first = emu.get("/api/keymgmt/list", token).json()
    assert (first["total"], first["listed"]) == (23, 15)
    page = emu.get("/api/keymgmt/list/20", token).json()
    assert (page["offset"], page["listed"]) == (20, 3)
    page = emu.get("/api/keymgmt/list/2/4", token).json()
    assert [k["label"] for k in page["list"]] == ["Post-quantum signing", "k0", "k1", "k2"]
    assert emu.get("/api/keymgmt/list/0/99", token).json()["listed"] == 15
    assert emu.get("/api/keymgmt/list/x", token).status_code == 406


def test_create_get_delete(emu: Kit) -> None:
    gen = emu.login("keymgmt:gen")
    descr = b64encode(b"my description")
    r = emu.post("/api/keymgmt/create", {"label": "Signer", "type": "ED25519", "descr": descr}, gen)
    assert r.status_code == 200
    kid = r.json()["kid"]
    got = emu.get(f"/api/keymgmt/get/{kid}", gen).json()
    assert list(got) == ["type", "pubkey", "updated", "descr"]
    assert (got["type"], got["descr"], len(b64decode(got["pubkey"]))) == ("ED25519", descr, 32)
    use = emu.device.issue_token(f"keymgmt:use:{kid}")
    assert emu.get(f"/api/keymgmt/get/{kid}", use).status_code == 200
    first = emu.get("/api/keymgmt/list", emu.login("keymgmt:list")).json()["list"][0]["kid"]
    assert emu.get(f"/api/keymgmt/get/{first}", use).status_code == 403
    assert emu.delete(f"/api/keymgmt/delete/{kid}", gen).status_code == 403
    deleter = emu.login("keymgmt:del")
    r = emu.delete(f"/api/keymgmt/delete/{kid}", deleter)
    assert (r.status_code, r.content) == (200, b"")
    assert emu.delete(f"/api/keymgmt/delete/{kid}", deleter).status_code == 406
    assert emu.get(f"/api/keymgmt/get/{kid}", gen).status_code == 406
    assert emu.get("/api/keymgmt/get/xyz", gen).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"label": "x"},
        {"type": "AES256"},
        {"label": "x", "type": "RSA4096"},
        {"label": "", "type": "AES256"},
        {"label": "x", "type": "AES256", "descr": "!!"},
        {"label": "x", "type": "SECP256R1", "mode": 3},
    ],
)
def test_create_refuses_bad_bodies(emu: Kit, body: dict[str, object]) -> None:
    assert (
        emu.post("/api/keymgmt/create", body, emu.device.issue_token("keymgmt:gen")).status_code
        == 400
    )


def test_master_token_is_refused_on_keymgmt(emu: Kit) -> None:
    master = emu.device.issue_token("keymgmt:list", sub="M")
    assert emu.get("/api/keymgmt/list", master).status_code == 403
    assert emu.get("/api/keymgmt/list", emu.device.issue_token("keymgmt:list")).status_code == 200


def test_missing_token_and_wrong_scope(emu: Kit) -> None:
    assert emu.get("/api/keymgmt/list").status_code == 401
    assert emu.get("/api/keymgmt/list", emu.login("keymgmt:gen")).status_code == 403


def test_search_with_a_token_and_anonymously(emu: Kit) -> None:
    pairing = emu.pair()
    needle = "^" + b64encode(b"EXTAID")
    r = emu.post("/api/keymgmt/search", {"descr": needle})
    assert r.status_code == 200
    found = r.json()["list"]
    assert [k["kid"] for k in found] == [pairing.kid]
    assert found[0]["type"] == "ECDH,CURVE25519"
    assert found[0]["descr"] == b64encode(b"EXTAID" + b64decode(pairing.keys.pid))
    exact = "^" + b64encode(b"EXTAID" + b64decode(pairing.keys.pid)) + "$"
    assert emu.post("/api/keymgmt/search", {"descr": exact}).json()["listed"] == 1
    # a short or unanchored needle needs a token
    assert emu.post("/api/keymgmt/search", {"descr": "^RVhU"}).status_code == 401
    assert emu.post("/api/keymgmt/search", {"descr": b64encode(b"EXTAID")}).status_code == 401
    token = emu.login("keymgmt:search")
    assert emu.post("/api/keymgmt/search", {"descr": "RVhU"}, token).json()["listed"] == 1
    assert emu.post("/api/keymgmt/search", {"descr": "!"}, token).status_code == 400
    assert (
        emu.post("/api/keymgmt/search", {"descr": b64encode(b"x" * 65)}, token).status_code == 406
    )
    assert (
        emu.post("/api/keymgmt/search", {"descr": "RVhU", "limit": "2"}, token).status_code == 400
    )
    emu.device.config.allow_keysearch = False
    assert emu.post("/api/keymgmt/search", {"descr": needle}).status_code == 401


def test_get_of_a_pairing_omits_descr(emu: Kit) -> None:
    pairing = emu.pair()
    got = emu.get(f"/api/keymgmt/get/{pairing.kid}", emu.login("keymgmt:get")).json()
    assert got == {
        "type": "CURVE25519",
        "pubkey": pairing.aid.public.b64,
        "updated": got["updated"],
    }


def test_tls_required_switch(emu: Kit) -> None:
    token = emu.device.issue_token("keymgmt:list")
    emu.device.tls_required = True
    assert emu.get("/api/keymgmt/list", token).status_code == 418
    assert emu.post("/api/keymgmt/search", {"descr": "^RVhUQUlE"}).status_code == 418
    assert emu.get("/api/system/status").status_code == 200
