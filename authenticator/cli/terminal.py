"""The one writer for the terminal: nothing the CLI prints can move the cursor or hide text.

Every line the CLI prints — listings, prompts, errors — goes through :func:`visible`, which shows
each character a terminal would act on or hide as an escape a person can read:

* C0 controls, DEL and C1 controls (``ESC``, ``CSI`` ``\\x9b``, ``OSC``, BEL, CR, LF …) as
  ``\\x1b``, ``\\x9b``, ``\\n`` … — so no text can move the cursor, clear a line, recolour, set the
  window title or start a new line of its own;
* format characters (bidi embeddings, overrides, isolates and marks; zero-width space and joiners;
  BOM; tag characters …), line/paragraph separators, other invisible fillers, private-use,
  unassigned code points and lone surrogates as ``\\u202e``, ``\\U000e0041`` — so no text can
  reorder or hide what follows it.

Backslashes are left as they are (a path or a regular expression reads as typed). A line is
capped at :data:`LINE_LIMIT` characters (a 10 000-character field would push the truth off the
screen); the token a script reads on stdout is never capped.

A caller hands over *lines* (one list item, one line on the terminal): a newline inside an item is
shown as ``\\n``, never obeyed. ``--json`` output is exact JSON, written by :func:`json_text`:
``json.dumps`` with ``ensure_ascii=False`` (Kraków stays readable) and then every character that
:func:`visible` would escape written as a JSON ``\\uXXXX`` escape, so a C1 control or a bidi
override never reaches the terminal raw and ``json.loads`` still gives back exactly the data.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterable
from typing import IO

__all__ = ["LINE_LIMIT", "err", "json_text", "out", "visible", "write"]

LINE_LIMIT = 1000
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Invisible characters of other categories (Default_Ignorable_Code_Point outside Cf/Cn).
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x3164, 0xFFA0}
)


def _escape(ch: str) -> str | None:
    """The visible form of a character a terminal would obey or hide; ``None`` to print it."""
    cp = ord(ch)
    if unicodedata.category(ch) not in _HIDDEN_CATEGORIES and cp not in _INVISIBLE:
        return None
    if ch in _NAMED:
        return _NAMED[ch]
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


def visible(value: object, *, limit: int | None = LINE_LIMIT) -> str:
    """``value`` as text that shows every control and invisible character as an escape, cut to
    ``limit`` characters (escapes counted as shown) with ``…``."""
    text = value if isinstance(value, str) else str(value)
    pieces: list[str] = []
    size = 0
    for ch in text:
        piece = _escape(ch) or ch
        pieces.append(piece)
        size += len(piece)
        if limit is not None and size > limit:
            break
    else:
        return "".join(pieces)
    kept: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > max(0, (limit or 1) - 1):
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"


def _lines(lines: Iterable[str] | str) -> list[str]:
    """A str is split on its own newlines (our templates); a list is one line per item."""
    return lines.split("\n") if isinstance(lines, str) else list(lines)


def write(stream: IO[str], lines: Iterable[str] | str, *, limit: int | None = LINE_LIMIT) -> None:
    """Each line, made :func:`visible`, then a newline; flushed."""
    for line in _lines(lines):
        stream.write(visible(line, limit=limit) + "\n")
    stream.flush()


def out(lines: Iterable[str] | str, *, limit: int | None = LINE_LIMIT) -> None:
    """Lines on stdout."""
    write(sys.stdout, lines, limit=limit)


def err(lines: Iterable[str] | str) -> None:
    """Lines on stderr (errors and everything said to the person)."""
    write(sys.stderr, lines)


def _json_escape(ch: str) -> str:
    cp = ord(ch)
    if cp > 0xFFFF:  # JSON spells a code point beyond the BMP as a surrogate pair
        cp -= 0x10000
        return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
    return f"\\u{cp:04x}"


def json_text(data: object, *, indent: int | None = 2) -> str:
    """Exact JSON of ``data`` in which no character a terminal obeys or hides appears raw."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    # json.dumps escapes C0 controls inside strings itself, so a raw newline is indentation.
    return "".join(ch if ch == "\n" or _escape(ch) is None else _json_escape(ch) for ch in text)
