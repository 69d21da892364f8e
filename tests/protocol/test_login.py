"""Passphrase login (hem-api.md §2): the KDF and the proof, byte for byte."""

from __future__ import annotations

import pytest

from authenticator.errors import DecodeError, IntegrityError
from authenticator.protocol import ejwt, login
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.crypto import hmac_sha256
from authenticator.protocol.keys import KeyPair, PublicKey
from tests.protocol.vectors import b, flip_char, load

V = load("hem")["passphrase_login"]


@pytest.fixture(scope="module")
def user_key() -> KeyPair:
    return login.derive_user_key(V["passphrase"], V["eid_text"])


def challenge() -> login.LoginChallenge:
    return login.LoginChallenge.from_json(
        {
            "exp": V["iat"] + 60,
            "spk": V["spk"],
            "jti": V["jti"],
            "lbl": "John",
            "eid": V["eid_text"],
        }
    )


def test_kdf_matches_the_vector(user_key: KeyPair) -> None:
    # PBKDF2 output, then clamped for storage: the public key is what the HEM knows.
    seed = bytes.fromhex(V["seed_hex"])
    assert user_key.private == login.PrivateKey(seed)  # type: ignore[attr-defined]
    assert user_key.public.b64 == V["iss"]
    assert user_key.exchange(PublicKey.from_b64(V["spk"])).hex() == V["shared_hex"]


def test_proof_is_byte_exact(user_key: KeyPair) -> None:
    proof = login.build_login_proof(
        user_key, challenge(), now=V["iat"], exp=V["exp"], scope=V["scope"]
    )
    assert proof == V["proof"]
    claims = ejwt.read_unverified(proof)
    assert list(claims) == ["jti", "aud", "exp", "iat", "iss", "scope"]


def test_proof_tampered_twins(user_key: KeyPair) -> None:
    secret = user_key.exchange(PublicKey.from_b64(V["spk"]))
    ejwt.Jwt.parse(V["proof"]).verify(secret)
    head, body, sig = V["proof"].split(".")
    with pytest.raises(IntegrityError):
        ejwt.Jwt.parse(f"{head}.{body}.{flip_char(sig, 7)}").verify(secret)
    wrong = login.derive_user_key("correct horse battery stapler", V["eid_text"], iterations=1000)
    assert wrong.public.b64 != V["iss"]


def test_salt_is_the_eid_text_not_its_bytes() -> None:
    a = login.derive_user_key("pw", "QUFBQQ==", iterations=10)
    c = login.derive_user_key("pw", "QUFBQQ", iterations=10)
    assert a.public != c.public


def test_optional_ctx_and_no_scope(user_key: KeyPair) -> None:
    proof = login.build_login_proof(user_key, challenge(), now=1, exp=2, ctx=3)
    assert list(ejwt.read_unverified(proof)) == ["jti", "aud", "exp", "iat", "iss", "ctx"]


def test_limits() -> None:
    with pytest.raises(DecodeError):
        login.derive_user_key("", "eid")
    key = KeyPair.generate()
    with pytest.raises(DecodeError):
        login.build_login_proof(key, challenge(), now=1, exp=2, scope="x" * 128)
    with pytest.raises(DecodeError):
        login.build_login_proof(key, challenge(), now=1, exp=2, scope="")


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"exp": 1, "spk": "short", "jti": "j", "eid": "e"},
        {"exp": "1", "spk": V["spk"], "jti": "j", "eid": "e"},
        {"exp": 1, "spk": V["spk"], "eid": "e"},
    ],
)
def test_bad_challenges(obj: dict[str, object]) -> None:
    with pytest.raises(DecodeError):
        login.LoginChallenge.from_json(obj)


def test_challenge_label_is_optional() -> None:
    c = login.LoginChallenge.from_json(
        {"exp": 1, "spk": V["spk"], "jti": "j", "eid": "e", "lbl": 3}
    )
    assert c.lbl == ""


def test_userkey_rotation_hmac() -> None:
    new = KeyPair.generate(lambda n: b"\x04" * n)
    session = KeyPair.generate(lambda n: b"\x05" * n)
    nonce = b64encode(b"\x06" * 32)
    proof = login.userkey_rotation_hmac(new, session.public.b64, nonce)
    # The device checks it with X25519(session_prv, userkey).
    assert b(proof) == hmac_sha256(session.exchange(new.public), b"\x06" * 32)
