"""The scope catalogue: plain words for every scope the HEM knows; unknown is never approvable."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import UnknownScopeError
from authenticator.protocol import scopes
from authenticator.protocol.b64 import b64encode
from authenticator.protocol.outside import LIMITS, Origin, Outside, clean
from authenticator.protocol.periods import Period

FIXED = [
    ("system:config", "Change the settings", "change the settings of my-hem"),
    ("system:upgrade", "Update the software", "install an update on my-hem"),
    ("system:shutdown", "Shut down", "shut down my-hem"),
    ("storage:disk", "Lock the drives", "lock the drives of my-hem"),
    ("logger:get", "Read the log", "read the audit log of my-hem"),
    ("logger:del", "Delete the log", "delete the audit log of my-hem"),
    ("keymgmt:list", "List the keys", "list the keys on my-hem"),
    ("keymgmt:search", "Search the keys", "search the keys on my-hem"),
    ("keymgmt:get", "Read a public key", "read a public key from my-hem"),
    ("keymgmt:gen", "Generate a key", "generate a new key on my-hem"),
    ("keymgmt:upd", "Update a key", "update a key on my-hem"),
    ("keymgmt:del", "Delete a key", "delete a key from my-hem"),
    ("keymgmt:imp", "Import a public key", "import a public key into my-hem"),
    ("keymgmt:ecdh", "Derive a shared key", "derive a shared key on my-hem"),
    ("keymgmt:derive", "Derive a key", "derive a new key on my-hem"),
    ("auth:ext:pair", "Pair an authenticator", "pair another authenticator with my-hem"),
    ("master", "Log in to the Manager", "log in to the Encedo Manager with full access to my-hem"),
]


@pytest.mark.parametrize(("scope", "title", "phrase"), FIXED, ids=[f[0] for f in FIXED])
def test_fixed_scopes(scope: str, title: str, phrase: str) -> None:
    info = scopes.describe(scope)
    assert info.known
    assert info.title == title
    assert info.phrase_for("my-hem") == phrase
    assert info.text(hem="my-hem") == f"Someone wants to {phrase}."
    assert not info.write_possible
    assert scopes.require_known(info) is info


@pytest.mark.parametrize(
    ("scope", "text", "requested"),
    [
        ("storage:disk0", "unlock the regular drive (disk0) of h", False),
        (
            "storage:disk1:rw",
            "unlock the encrypted drive (disk1) of h, asking for read and write access",
            True,
        ),
        ("storage:disk7", "unlock the drive (disk7) of h", False),
    ],
)
def test_drives(scope: str, text: str, requested: bool) -> None:
    info = scopes.describe(scope)
    assert info.kind == "storage.unlock"
    assert info.write_possible
    assert info.write_requested is requested
    assert info.phrase_for("h") == text


def meta(t: str, label: str) -> str:
    return b64encode(f'{{"t":"{t}","l":"{label}"}}'.encode())


NAME = "Key name — as the request states it"
TYPE = "Key type — as the request states it"


def test_key_use_names_the_key_by_its_id_only() -> None:
    kid = "42afc419dbda72636b37a2455955e095"
    info = scopes.describe(f"keymgmt:use:{kid}#{meta('AC16', 'PGP main')}")
    assert info.title == "Use a key"
    assert info.text(hem="my-hem", who="backup.sh") == (
        "backup.sh wants to use the key 42afc419dbda… on my-hem."
    )
    assert info.details == (
        ("Key id", kid),
        (NAME, "PGP main"),
        (TYPE, "Ed25519 signing key, private key"),
    )
    assert info.key is not None
    assert info.key.private
    assert info.key.stated_label == Outside("PGP main", Origin.REQUEST)
    assert info.key.stated_label.text == "PGP main"
    assert info.key.stated_type == Outside("Ed25519 signing key, private key", Origin.REQUEST)
    assert info.key.type_text == "PKEY,ECDH,ExDSA,ED25519"
    assert info.stated == (("Key name", info.key.stated_label), ("Key type", info.key.stated_type))


def test_key_use_variants() -> None:
    kid = "2ba3f1e0c9a4b7d8e6f5a3c2b1d0e9f84c91e"
    ref = scopes.describe(f"keymgmt:use:{kid}#eyJ0IjoiMDIyMSIsImwiOiJQR1AgbWFpbiJ9")
    assert ref.phrase_for("h") == "use the key 2ba3f1e0c9a4… on h"
    assert (TYPE, "key of an unknown type") in ref.details
    assert ref.key is not None
    assert ref.key.type_text == "unknown type 0x0221"
    bare = scopes.describe(f"keymgmt:use:{kid.upper()}")
    assert bare.phrase_for("h") == "use the key 2ba3f1e0c9a4… on h"
    assert bare.details == (("Key id", kid),)
    assert bare.stated == ()
    short = scopes.describe("keymgmt:use:abc")
    assert short.phrase_for("h") == "use the key abc on h"
    suffix = scopes.describe(f"keymgmt:use:{kid}#{meta('8016', 'Verify')}-extra")
    assert (TYPE, "Ed25519 public key") in suffix.details
    broken = scopes.describe(f"keymgmt:use:{kid}#bm90IGpzb24")
    assert broken.known
    assert broken.key is not None
    assert broken.key.stated_label.text == ""
    assert broken.details == (("Key id", kid),)
    no_alg = scopes.describe(f"keymgmt:use:{kid}#{meta('A000', 'X')}")
    assert (TYPE, "key of an unknown type") in no_alg.details
    pqc = scopes.describe(f"keymgmt:use:{kid}#{meta('PKEY,PQC,MLDSA65', 'Post-quantum')}")
    assert (TYPE, "ML-DSA-65 post-quantum signing key, private key") in pqc.details
    assert pqc.key is not None
    assert (pqc.key.algorithm, pqc.key.private) == ("MLDSA65", True)
    weird = scopes.describe(f"keymgmt:use:{kid}#{meta('NOT A TYPE', 'Y')}")
    assert weird.key is not None
    assert weird.key.type_text == ""
    assert weird.details == (("Key id", kid), (NAME, "Y"))
    typeless_meta = b64encode(b'{"l":"T"}')
    typeless = scopes.describe(f"keymgmt:use:{kid}#{typeless_meta}")
    assert typeless.details == (("Key id", kid), (NAME, "T"))
    unlabelled = scopes.describe(f"keymgmt:use:{kid}#{meta('AC16', '')}")
    assert unlabelled.details == (("Key id", kid), (TYPE, "Ed25519 signing key, private key"))


@pytest.mark.parametrize(
    ("algorithm", "flags", "words"),
    [
        ("ED25519", "PKEY,ECDH,ExDSA", "Ed25519 signing key, private key"),
        ("ED448", "PKEY", "Ed448 signing key, private key"),
        ("CURVE25519", "PKEY,ECDH", "X25519 key-agreement key, private key"),
        ("CURVE448", "", "X448 public key"),
        ("SECP256R1", "PKEY,ExDSA", "P-256 signing key, private key"),
        ("SECP384R1", "PKEY,ECDH", "P-384 key-agreement key, private key"),
        ("SECP521R1", "PKEY,ECDH,ExDSA", "P-521 signing and key-agreement key, private key"),
        ("SECP256K1", "PKEY", "secp256k1 key, private key"),
        ("GENERIC_DER", "", "generic (DER) public key"),
        ("MLKEM768", "PKEY", "ML-KEM-768 post-quantum key-encapsulation key, private key"),
        ("AES-256", "", "AES-256 secret key"),
        ("AES128", "", "AES-128 secret key"),
        ("SHA2-384", "ATT", "HMAC-SHA-384 secret key"),
        ("SHA3-512", "", "HMAC-SHA3-512 secret key"),
        ("PQC", "PKEY", "key of an unknown type"),
    ],
)
def test_key_types_in_words(algorithm: str, flags: str, words: str) -> None:
    assert scopes.key_type_words(algorithm, frozenset(flags.split(",")) - {""}) == words


HOSTILE_LABELS = [
    "\x1b[2K\x1b[1A\rdenied",
    "Read-only \u202eteled\u202c",
    "<b>Verified</b><!--",
    "list the keys\n\nDelete",
    "\u200d" * 20 + "x" * 400,
    "\u0441\u0430\u0435",  # Cyrillic look-alikes of Latin letters
]


@pytest.mark.parametrize("label", HOSTILE_LABELS, ids=range(len(HOSTILE_LABELS)))
def test_a_stated_label_never_reaches_the_sentence(label: str) -> None:
    kid = "a" * 32
    raw = b64encode(json.dumps({"t": "AC16", "l": label}).encode())
    info = scopes.describe(f"keymgmt:use:{kid}#{raw}")
    assert info.title == "Use a key"
    assert info.phrase_for("H") == "use the key aaaaaaaaaaaa… on H"
    assert scopes.grant_text(info, Period.H1, write=False) == "Allow for 1 h"
    assert info.key is not None
    text = info.key.stated_label.text
    assert text == clean(label, Origin.REQUEST, limit=LIMITS.key_label).text
    assert len(text) <= LIMITS.key_label
    assert not any(c in text for c in "\x1b\n\r\u202e\u200d")
    assert dict(info.details)[NAME] == text


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0xAC16, "PKEY,ECDH,ExDSA,ED25519"),
        (0x8014, "CURVE25519"),
        (0xF20A, "ATT,PKEY,CERT,SECP256R1"),
        (0x001E, "AES-128"),
        (0x4220, "ATT,AES-256"),
        (0x0221, "unknown type 0x0221"),
        (0x80FF, "unknown type 0x80FF"),
    ],
)
def test_keytype_to_string(code: int, text: str) -> None:
    assert scopes.keytype_to_string(code) == text


@pytest.mark.parametrize(
    "scope",
    ["", "wat:ever", "keymgmt", "keymgmt:list:rw", "system:config ", "storage:disk0:rwx",
     "storage:disk0:ro", "keymgmt:use:", "keymgmt:use:xyz", "master:", "Master", "x" * 2000,
     "a\x00b"],
)  # fmt: skip
def test_unknown_scopes_are_never_approvable(scope: str) -> None:
    info = scopes.describe(scope)
    assert not info.known
    assert info.title == "Unknown request"
    assert "\x00" not in info.phrase_for("h").replace("h", "")
    with pytest.raises(UnknownScopeError):
        scopes.require_known(info)


def test_unknown_text_shows_a_shortened_scope() -> None:
    info = scopes.describe("wat:" + "x" * 200)
    assert "…" in info.phrase_for("h")
    assert len(info.phrase_for("h")) < 140


def test_unknown_scope_is_shown_cleaned() -> None:
    info = scopes.describe("wat:\u202eevil\u200b")
    assert info.phrase_for("h") == "do something this app does not know (wat:evil) on h"


def test_labels_cannot_inject_into_the_sentence() -> None:
    kid = "a" * 32
    info = scopes.describe(f"keymgmt:use:{kid}#{meta('AC16', '{hem} {0}')}")
    assert info.phrase_for("H") == "use the key aaaaaaaaaaaa… on H"
    assert dict(info.details)[NAME] == "{hem} {0}"


@pytest.mark.parametrize(
    ("scope", "period", "write", "text"),
    [
        ("storage:disk0", Period.H1, False, "Allow read-only for 1 h"),
        ("storage:disk0", Period.H8, True, "Allow read and write for 8 h"),
        ("keymgmt:list", Period.MIN15, False, "Allow for 15 min"),
        ("system:config", Period.H24, False, "Allow for 24 h"),
    ],
)
def test_grant_text(scope: str, period: Period, write: bool, text: str) -> None:
    assert scopes.grant_text(scopes.describe(scope), period, write=write) == text


@given(st.text(max_size=200))
def test_describe_never_raises(scope: str) -> None:
    info = scopes.describe(scope)
    assert info.text(hem="h")
