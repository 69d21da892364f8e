"""Outside text becomes display text in one place: nothing invisible, nothing that moves text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.protocol.outside import (
    LIMITS,
    MAX_MARKS,
    Origin,
    Outside,
    _first_pass,
    _second_pass,
    clean,
)

B = Origin.BROKER

# (what, hostile input, what the person must see)
HOSTILE = [
    ("ANSI colour and cursor", "\x1b[31mWarsaw\x1b[0m\x1b[2K\x1b[1A", "[31mWarsaw[0m[2K[1A"),
    ("OSC title", "\x1b]0;owned\x07Kraków", "]0;ownedKraków"),
    ("C1 CSI", "Oslo\x9b2J", "Oslo2J"),
    ("DEL and NUL", "a\x7fb\x00c", "abc"),
    ("bidi override", "Paris \u202egnp.exe\u202c", "Paris gnp.exe"),
    ("bidi isolates and marks", "\u2066a\u2067b\u2068c\u2069\u200e\u200f\u061cd", "abcd"),
    ("zero-width", "de\u200bl\u200ce\u200dte\u2060\ufeff", "delete"),
    ("invisible operators", "a\u2061\u2062\u2063\u2064b", "ab"),
    ("tags", "flag\U000e0067\U000e0062\U000e007f", "flag"),
    ("Mongolian vowel separator", "a\u180eb", "ab"),
    ("soft hyphen", "dele\u00adte", "delete"),
    ("Hangul filler", "a\u3164b\u115fc\uffa0d", "abcd"),
    ("combining grapheme joiner", "a\u034fb", "ab"),
    (
        "newlines",
        "line one\r\nline two\u2028three\u2029four\x85five",
        "line one line two three four five",
    ),
    ("tabs and odd spaces", "\ta\u00a0\u2003b\u3000\u202fc\x0b\x0cd  ", "a b c d"),
    ("separator controls", "a\x1cb\x1dc\x1ed\x1fe", "a b c d e"),
    ("private use", "\ue000logo\U000f0000", "\ufffdlogo\ufffd"),
    ("noncharacter", "a\uffffb\ufdd0", "a\ufffdb\ufffd"),
    ("lone surrogate", "a\udc80b", "a\ufffdb"),
    ("markup stays text", "<b>Verified</b><!-- x -->", "<b>Verified</b><!-- x -->"),
    ("NFC", "Krako\u0301w", "Kraków"),
    ("only invisible", "\u200b\u200d\u202e", ""),
    ("leading mark", "\u0301a \u0301b", "a b"),
    ("emoji selector", "I \u2764\ufe0f it", "I \u2764\ufe0f it"),
    ("stray selectors", "\ufe0fa \ufe0fb\ufe0f\ufe0f", "a b\ufe0f"),
    ("keycap", "#\ufe0f\u20e3", "#\ufe0f\u20e3"),
]


@pytest.mark.parametrize(("raw", "shown"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_text_becomes_plain_display_text(raw: str, shown: str) -> None:
    out = clean(raw, B, limit=120)
    assert out == Outside(shown, B, truncated=False)


def test_marks_are_capped_after_a_base() -> None:
    out = clean("e" + "\u0301" * 20 + "x", B, limit=120).text
    assert out == "\u00e9" + "\u0301" * MAX_MARKS + "x"


@pytest.mark.parametrize("raw", [None, 3, b"bytes", ["a"], {"a": 1}])
def test_anything_but_a_string_is_empty(raw: object) -> None:
    assert clean(raw, Origin.PEER, limit=10) == Outside("", Origin.PEER)
    assert not clean(raw, Origin.PEER, limit=10)


def test_the_cap_ends_with_an_ellipsis() -> None:
    out = clean("abcdefghij" * 3, B, limit=10)
    assert out == Outside("abcdefghi…", B, truncated=True)
    assert clean("abcdefghij", B, limit=10) == Outside("abcdefghij", B)
    assert clean("abcd efghijk", B, limit=6).text == "abcd…"
    assert clean("abc", B, limit=1) == Outside("…", B, truncated=True)
    assert clean("abc", B, limit=3) == Outside("abc", B)


def test_the_cap_never_splits_a_character_from_its_marks() -> None:
    raw = "abcde" + "\u0323\u0301\u0300" + "fgh"
    out = clean(raw, B, limit=7)
    assert out.text == "abcd…"
    assert clean("\u0301" * 5 + "a" + "\u0301" * 4, B, limit=2).text == "…"


def test_ten_thousand_characters_are_cut_cheaply() -> None:
    out = clean("A" * 10_000, B, limit=LIMITS.location)
    assert out.truncated
    assert out.text == "A" * (LIMITS.location - 1) + "…"
    # Mostly invisible: the looked-at part cleans to little, and still says it was cut.
    out = clean("\u200b" * 10_000 + "visible", B, limit=20)
    assert out == Outside("…", B, truncated=True)
    out = clean("ab" + " " * 10_000 + "cd", B, limit=20)
    assert out == Outside("ab…", B, truncated=True)
    out = clean("x" * 20 + "\u200b" * 10_000, B, limit=20)
    assert out == Outside("x" * 19 + "…", B, truncated=True)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        clean("a", B, limit=0)


@pytest.mark.parametrize(
    ("origin", "row"),
    [
        (Origin.BROKER, "Location — reported by the broker"),
        (Origin.REQUESTER, "Location — not verified"),
        (Origin.PROGRAM, "Location — claimed by the program"),
        (Origin.REQUEST, "Location — as the request states it"),
        (Origin.LINK, "Location — as the link states it"),
        (Origin.PAIRING, "Location — as the pairing code states it"),
        (Origin.PEER, "Location — as the server sent it"),
        (Origin.HEM, "Location — as the HEM reports it"),
    ],
)
def test_every_origin_says_whose_claim_it_is(origin: Origin, row: str) -> None:
    assert clean("x", origin, limit=5).row("Location") == row
    assert origin.explanation.endswith(".")
    assert origin.label in row


def test_limits_table() -> None:
    assert (LIMITS.location, LIMITS.note, LIMITS.program, LIMITS.path) == (120, 200, 80, 240)
    assert (LIMITS.key_label, LIMITS.user, LIMITS.error) == (64, 120, 300)


_FORBIDDEN = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"}


@given(st.text(max_size=600), st.integers(min_value=1, max_value=150))
def test_display_text_invariants(raw: str, limit: int) -> None:
    out = clean(raw, Origin.REQUESTER, limit=limit)
    text = out.text
    assert len(text) <= limit
    assert not {unicodedata.category(c) for c in text} & _FORBIDDEN
    assert all(c == " " or unicodedata.category(c) != "Zs" for c in text)
    assert "  " not in text
    assert text == text.strip(" ")
    assert unicodedata.is_normalized("NFC", text)
    assert out.truncated == text.endswith("…") or raw.rstrip().endswith("…")
    # Cleaning is idempotent: display text cleaned again is the same text.
    assert clean(text, Origin.REQUESTER, limit=limit).text == text


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=300))
def test_the_ascii_shortcut_agrees_with_the_full_path(raw: str) -> None:
    full = unicodedata.normalize("NFC", _second_pass(_first_pass(raw)))
    assert clean(raw, B, limit=10_000).text == full


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_plain_printable_text_is_kept(raw: str) -> None:
    plain = "".join(c for c in raw if c.isalnum() or c in ".,:-_@/()")
    assert clean(plain, B, limit=400).text == unicodedata.normalize("NFC", plain)
