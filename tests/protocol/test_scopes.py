"""The scope catalogue: plain words for every scope the HEM knows; unknown is never approvable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.errors import UnknownScopeError
from authenticator.protocol import scopes
from authenticator.protocol.b64 import b64encode
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


def test_key_use_names_the_key() -> None:
    kid = "42afc419dbda72636b37a2455955e095"
    info = scopes.describe(f"keymgmt:use:{kid}#{meta('AC16', 'PGP main')}")
    assert info.text(hem="my-hem", who="backup.sh") == (
        "backup.sh wants to use the key “PGP main” (ED25519, private key) on my-hem."
    )
    assert info.details == (
        ("Key id", kid),
        ("Type", "PKEY,ECDH,ExDSA,ED25519"),
        ("Label", "PGP main"),
    )
    assert info.key is not None
    assert info.key.private


def test_key_use_variants() -> None:
    kid = "2ba3f1e0c9a4b7d8e6f5a3c2b1d0e9f84c91e"
    ref = scopes.describe(f"keymgmt:use:{kid}#eyJ0IjoiMDIyMSIsImwiOiJQR1AgbWFpbiJ9")
    assert ref.phrase_for("h") == "use the key “PGP main” on h"
    assert ("Type", "unknown type 0x0221") in ref.details
    bare = scopes.describe(f"keymgmt:use:{kid.upper()}")
    assert bare.phrase_for("h") == "use the key 2ba3f1e0c9a4… on h"
    assert bare.details == (("Key id", kid),)
    suffix = scopes.describe(f"keymgmt:use:{kid}#{meta('8016', 'Verify')}-extra")
    assert suffix.phrase_for("h") == "use the key “Verify” (ED25519) on h"
    broken = scopes.describe(f"keymgmt:use:{kid}#bm90IGpzb24")
    assert broken.known
    assert broken.key is not None
    assert broken.key.label == ""
    no_alg = scopes.describe(f"keymgmt:use:{kid}#{meta('A000', 'X')}")
    assert no_alg.phrase_for("h") == "use the key “X” (private key) on h"
    nothing = scopes.describe(f"keymgmt:use:{kid}#{meta('0000', 'Z')}")
    assert nothing.phrase_for("h") == "use the key “Z” on h"
    pqc = scopes.describe(f"keymgmt:use:{kid}#{meta('PKEY,MLDSA65', 'Post-quantum')}")
    assert pqc.phrase_for("h") == "use the key “Post-quantum” (MLDSA65, private key) on h"
    weird = scopes.describe(f"keymgmt:use:{kid}#{meta('NOT A TYPE', 'Y')}")
    assert weird.key is not None
    assert weird.key.type_text == ""
    typeless_meta = b64encode(b'{"l":"T"}')
    typeless = scopes.describe(f"keymgmt:use:{kid}#{typeless_meta}")
    assert typeless.phrase_for("h") == "use the key “T” on h"
    unlabelled = scopes.describe(f"keymgmt:use:{kid}#{meta('AC16', '')}")
    assert unlabelled.phrase_for("h") == "use the key 2ba3f1e0c9a4… (ED25519, private key) on h"


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
     "storage:disk0:ro", "keymgmt:use:", "keymgmt:use:xyz", "master", "x" * 2000, "a\x00b"],
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


def test_labels_cannot_inject_into_the_sentence() -> None:
    kid = "a" * 32
    info = scopes.describe(f"keymgmt:use:{kid}#{meta('AC16', '{hem} {0}')}")
    assert info.phrase_for("H") == "use the key “{hem} {0}” (ED25519, private key) on H"


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
