"""Known-answer vectors (JSON data) and the helpers that make their tampered twins."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@cache
def load(name: str) -> Any:
    """The vector file ``<name>.json`` next to this module."""
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def b(text: str) -> bytes:
    """Decode a standard-base64 vector value."""
    return base64.b64decode(text)


def flip_bit(data: bytes, bit: int) -> bytes:
    """``data`` with one bit inverted (bit 0 is the lowest bit of the first byte)."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def flip_char(text: str, index: int) -> str:
    """``text`` with the base64 character at ``index`` replaced by a different one."""
    c = text[index]
    return text[:index] + ("B" if c == "A" else "A") + text[index + 1 :]


def ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]
