"""Outside text: the one place where a string the app did not compute becomes display text.

Everything an outsider chooses is hostile: the broker's location of a requester, a requester's
note, a program's name, path and reason, the key label and type a ``keymgmt:use`` request states,
the pairing preview (HEM user, e-mail, hostname), link parameters, a peer's error body. Each is
passed through :func:`clean` once, where it enters the app, and is carried from then on as an
:class:`Outside` value that remembers **whose claim** it is (:class:`Origin`). Front ends show it
only as plain text, in a row labelled with its origin (``Location — reported by the broker``), and
never inside the sentence that says what is granted.

What :func:`clean` does, in order (the choices are also listed in ``docs/security.md``):

1. anything that is not a ``str`` becomes the empty text;
2. line and paragraph separators, tabs, other whitespace controls and every space character
   (``Zs``: no-break, en, em, ideographic …) become one ordinary space;
3. removed: every other control (C0, DEL, C1 — so no escape sequence survives), every format
   character (``Cf``: bidi embeddings, overrides, isolates and marks, zero-width space and
   joiners, word joiner, invisible operators, BOM, soft hyphen, tag characters …) and every other
   *default-ignorable* code point (Hangul fillers, combining grapheme joiner, …);
4. private-use, unassigned (as of this Python's Unicode tables), noncharacters and lone surrogates
   become U+FFFD ``�``: something was there, and it is not hidden;
5. Unicode NFC;
6. a variation selector stays only right after a visible base character (where it picks the
   emoji or ideograph form); a combining mark stays only after a base, at most
   :data:`MAX_MARKS` in a row (no "Zalgo" text spilling over the rows above and below);
7. runs of spaces collapse to one; leading and trailing spaces go;
8. the field's length cap (:data:`LIMITS`): a longer text is cut at a character boundary and ends
   with ``…``, and ``truncated`` says so.

Pure: no I/O, no clock. Work is bounded: at most ``4 × limit + 64`` characters of the input are
looked at (a longer input is truncated in any case).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

__all__ = ["LIMITS", "MAX_MARKS", "Limits", "Origin", "Outside", "clean"]

ELLIPSIS = "…"
MAX_MARKS = 4


class Origin(Enum):
    """Whose claim a piece of outside text is; ``label`` completes a row name after a dash."""

    BROKER = "broker"
    REQUESTER = "requester"
    PROGRAM = "program"
    REQUEST = "request"
    LINK = "link"
    PAIRING = "pairing"
    PEER = "peer"
    HEM = "hem"

    @property
    def label(self) -> str:
        """``reported by the broker`` — as in ``Location — reported by the broker``."""
        return _LABELS[self]

    @property
    def explanation(self) -> str:
        """One sentence for a tooltip or a help line: why the app cannot vouch for it."""
        return _EXPLANATIONS[self]


_LABELS = {
    Origin.BROKER: "reported by the broker",
    Origin.REQUESTER: "not verified",
    Origin.PROGRAM: "claimed by the program",
    Origin.REQUEST: "as the request states it",
    Origin.LINK: "as the link states it",
    Origin.PAIRING: "as the pairing code states it",
    Origin.PEER: "as the server sent it",
    Origin.HEM: "as the HEM reports it",
}
_EXPLANATIONS = {
    Origin.BROKER: "The broker reports this; the app cannot check it.",
    Origin.REQUESTER: "The requester wrote this; nobody has checked it.",
    Origin.PROGRAM: "The program chose this itself; it may not be true.",
    Origin.REQUEST: "The request states this; the HEM did not check it.",
    Origin.LINK: "The link states this; whoever made the link chose it.",
    Origin.PAIRING: "The pairing code states this; the app cannot check it.",
    Origin.PEER: "A server sent these words; the app cannot check them.",
    Origin.HEM: "The HEM reports this; whoever created the entry chose the words.",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """The length cap of every kind of outside text, in characters (after cleaning)."""

    location: int = 120  # the broker's "city, region, country" of a requester
    ip: int = 64  # an IP address as the broker reports it (IPv6 with a zone fits)
    note: int = 200  # a requester's note / ctx
    reason: int = 200  # a local program's stated reason
    program: int = 80  # a program's name (comm, argv[0])
    path: int = 240  # an executable or script path
    argv: int = 240  # a command line
    key_label: int = 64  # a key label (the HEM allows 32; stated ones are capped here)
    key_type: int = 64  # a key type in words
    scope: int = 80  # an unknown scope, shown as the request states it
    user: int = 120  # a HEM user name in a pairing preview
    email: int = 120  # an e-mail address in a pairing preview
    hostname: int = 120  # a HEM's or a computer's host name
    label: int = 64  # how a computer or HEM is named (pairing label, HEM name)
    url: int = 200  # an address a link or a peer names
    error: int = 300  # an error body from a peer


LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Outside:
    """Display text made from outside text: safe to show as plain text, never verified."""

    text: str
    origin: Origin
    truncated: bool = False

    def row(self, name: str) -> str:
        """The name of the row that shows it: ``Location — reported by the broker``."""
        return f"{name} — {self.origin.label}"

    def __bool__(self) -> bool:
        return bool(self.text)


_WHITESPACE_CONTROLS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85")
# Variation selectors: meaningful (and invisible) only after a base character.
_SELECTORS = (
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
)
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside category Cf: invisible
# characters of other categories. (Every Cf character is removed anyway.)
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)


def _points(ranges: tuple[tuple[int, int], ...]) -> frozenset[int]:
    return frozenset(cp for lo, hi in ranges for cp in range(lo, hi + 1))


_SELECTOR_POINTS = _points(_SELECTORS)
_IGNORABLE_POINTS = _points(_IGNORABLE)


def _first_pass(raw: str) -> str:
    """Steps 2–4: spaces unified, invisible characters removed, unknown ones made visible."""
    out: list[str] = []
    for ch in raw:
        cat = unicodedata.category(ch)
        cp = ord(ch)
        if ch in _WHITESPACE_CONTROLS or cat in ("Zs", "Zl", "Zp"):
            out.append(" ")
        elif cp in _SELECTOR_POINTS:
            out.append(ch)  # judged after NFC, next to its base
        elif cat in ("Cc", "Cf") or cp in _IGNORABLE_POINTS:
            continue
        elif cat in ("Co", "Cn", "Cs"):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _is_base(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNPS" and ord(ch) not in _SELECTOR_POINTS


def _second_pass(text: str) -> str:
    """Steps 6–7: selectors and marks only after a base, marks capped, spaces collapsed."""
    out: list[str] = []
    marks = 0
    for ch in text:
        prev = out[-1] if out else " "
        if ord(ch) in _SELECTOR_POINTS:
            if _is_base(prev):
                out.append(ch)
        elif unicodedata.category(ch)[0] == "M":
            if (_is_base(prev) or unicodedata.category(prev)[0] == "M") and marks < MAX_MARKS:
                out.append(ch)
                marks += 1
        else:
            marks = 0
            if ch != " " or prev != " ":
                out.append(ch)
    return "".join(out).strip(" ")


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters ending in ``…``, never splitting a character from its marks."""
    end = limit - 1
    while end > 0 and not _is_base(text[end]) and text[end] != " ":
        end -= 1
    return text[:end].rstrip(" ") + ELLIPSIS


def clean(raw: object, origin: Origin, *, limit: int) -> Outside:
    """Turn outside text into display text of at most ``limit`` characters (see the module)."""
    if limit < 1:
        raise ValueError("the limit of a text field must be at least one character")
    if not isinstance(raw, str):
        return Outside("", origin)
    budget = 4 * limit + 64
    over = len(raw) > budget
    raw = raw[:budget]
    if raw.isascii() and raw.isprintable():  # the common case: only spaces to collapse
        text = " ".join(word for word in raw.split(" ") if word)
    else:
        text = unicodedata.normalize("NFC", _first_pass(raw))
        text = unicodedata.normalize("NFC", _second_pass(text))
    if len(text) > limit or (over and len(text) == limit):
        return Outside(_cut(text, limit), origin, truncated=True)
    if over:
        return Outside(text + ELLIPSIS, origin, truncated=True)
    return Outside(text, origin)
