"""Byte-exact JSON out, strict JSON in, and typed field access that names the missing field.

Out: compact separators, raw UTF-8, ``/`` not escaped, keys in insertion order — what JavaScript's
``JSON.stringify`` and serde_json produce, so our bytes match the peers'.
In: an object at the top, no duplicate keys (two readers could disagree on which one counts), no
``NaN``/``Infinity``; anything else is a ``DecodeError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from authenticator.errors import DecodeError

__all__ = [
    "compact_json",
    "get_int",
    "get_object",
    "get_optional_int",
    "get_optional_str",
    "get_str",
    "parse_object",
]


def compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DecodeError(f"The field {key!r} appears twice.")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise DecodeError(f"{name} is not a JSON number.")


def parse_object(data: bytes | str, *, what: str = "message") -> dict[str, Any]:
    """Parse a JSON object strictly; ``what`` names the message in errors."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except DecodeError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError(f"The {what} is not valid JSON.") from exc
    if not isinstance(value, dict):
        raise DecodeError(f"The {what} is not a JSON object.")
    return value


def get_str(obj: Mapping[str, Any], name: str, *, what: str = "message") -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise DecodeError(f"The {what} has no text field {name!r}.")
    return value


def get_optional_str(obj: Mapping[str, Any], name: str, *, what: str = "message") -> str | None:
    if obj.get(name) is None:
        return None
    return get_str(obj, name, what=what)


def get_int(obj: Mapping[str, Any], name: str, *, what: str = "message") -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"The {what} has no integer field {name!r}.")
    return value


def get_optional_int(obj: Mapping[str, Any], name: str, *, what: str = "message") -> int | None:
    if obj.get(name) is None:
        return None
    return get_int(obj, name, what=what)


def get_object(obj: Mapping[str, Any], name: str, *, what: str = "message") -> dict[str, Any]:
    value = obj.get(name)
    if not isinstance(value, dict):
        raise DecodeError(f"The {what} has no object field {name!r}.")
    return value
