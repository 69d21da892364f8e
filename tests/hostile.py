"""Hostile strings, fed through every channel that shows outsider text (CLI, GUI, notifications).

Each one tries a way to make a screen lie: terminal escape sequences (move the cursor, clear a
line, recolour, set the window title), the 8-bit C1 CSI, bidi overrides and isolates, zero-width
joiners, newlines that forge a line of their own, Qt/HTML markup and comments, a 10 000-character
string, and look-alikes of scope words. ``MARK`` is a word a test can look for on a screen: it must
never appear in a place the attacker chose (a title, a forged line, a heading).
"""

from __future__ import annotations

MARK = "PWNED"

ANSI = f"\x1b[2K\x1b[1A\r\x1b[32mDenied by you\x1b[0m \x1b[31;1m{MARK}\x1b[0m"
OSC_TITLE = f"\x1b]0;{MARK} title\x07\x1b]2;{MARK}\x1b\\Kraków"
C1 = f"Oslo\x9b2J\x9bH\x9d0;{MARK}\x9c"
BIDI = "Paris \u202eyek eht eteled\u202c \u2066\u2067isolated\u2069\u200f"
ZERO_WIDTH = "li\u200dst\u200b the\u2060 keys\ufeff"
NEWLINES = (
    "Warsaw\n\nA1B2  my-hem  (broker, expires in 15 min 00 s)\n  List the keys — asks to list"
)
MARKUP = f"<b>Verified</b><!-- hidden --><h1>{MARK}</h1><a href='x'>List the keys</a>&amp;"
LONG = "A" * 10_000
HOMOGLYPH = "l\u0456st the keys"  # Cyrillic і: looks like "list the keys"

# (id, text) — ids for pytest's parametrize.
CORPUS: list[tuple[str, str]] = [
    ("ansi", ANSI),
    ("osc-title", OSC_TITLE),
    ("c1", C1),
    ("bidi", BIDI),
    ("zero-width", ZERO_WIDTH),
    ("newlines", NEWLINES),
    ("markup", MARKUP),
    ("long", LONG),
    ("homoglyph", HOMOGLYPH),
]

# All of them at once, in one field of moderate length (where a channel caps its input).
MIXED = " ".join([ANSI, OSC_TITLE, C1, BIDI, ZERO_WIDTH, NEWLINES, MARKUP, HOMOGLYPH])
