"""What the fuzz tests share: their budget, their example counter, and input strategies.

Budget: the hypothesis profile loaded by ``tests/conftest.py`` ("ci": 150 examples per test, the
default; "fuzz": 20 000, ``HYPOTHESIS_PROFILE=fuzz``). :func:`fuzz_settings` scales it per test
(network round trips get a share of it) and adds a deadline per example, so a hang is a failure,
not a stuck run; pytest-timeout stands behind it for the whole test.

Counting: :func:`counted` wraps a test's body so every generated input is counted;
``tests/fuzz/conftest.py`` prints the counts at the end of the run and, with
``FUZZ_COUNTS_FILE`` set, writes them there as JSON (``benchmarks/fuzz.py`` adds them up).
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from authenticator.errors import AuthenticatorError

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FULL = PROFILE == "fuzz"
TEST_TIMEOUT = 3 * 3600 if FULL else 120
"""pytest-timeout for one fuzz test: a whole test that hangs fails instead of blocking CI."""

COUNTS: Counter[str] = Counter()

_F = TypeVar("_F", bound=Callable[..., Any])


def counted(fn: _F) -> _F:
    """Count every call of a test body (each is one generated input)."""
    key = f"{fn.__module__.rsplit('.', 1)[-1]}::{fn.__name__}"

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        COUNTS[key] += 1
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def fuzz_settings(share: float = 1.0, deadline_s: float = 5.0) -> settings:
    """The profile's budget times ``share`` (at least 10 examples), with a per-example deadline."""
    return settings(
        max_examples=max(10, int(settings.default.max_examples * share)),
        deadline=timedelta(seconds=deadline_s),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
            HealthCheck.large_base_example,
        ],
        database=None,
    )


def only_typed(call: Callable[[], object]) -> object:
    """Run ``call``; an ``AuthenticatorError`` is a fine outcome, anything else fails the test
    (hypothesis then shrinks and reports the input)."""
    try:
        return call()
    except AuthenticatorError as exc:
        if not str(exc):
            raise AssertionError("a typed error must carry a message") from exc
        return exc


def write_counts() -> None:
    path = os.environ.get("FUZZ_COUNTS_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dict(COUNTS), f, indent=1, sort_keys=True)


# ---------------------------------------------------------------------------- strategies

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
"""Anything a JSON parser can hand us (and a little more: NaN, huge integers)."""


def deep_nesting() -> st.SearchStrategy[str]:
    """JSON nested deeper than Python's recursion limit (a list or an object), whole or cut off."""

    def build(depth: int, as_list: bool, closed: bool) -> str:
        opener, closer = ("[", "]") if as_list else ('{"a":', "}")
        return opener * depth + ("1" + closer * depth if closed else "")

    return st.builds(build, st.integers(500, 20_000), st.booleans(), st.booleans())


def mutated_text(base: str) -> st.SearchStrategy[str]:
    """``base`` with a few characters replaced, inserted or deleted."""

    def apply(edits: list[tuple[int, int, str]]) -> str:
        text = base
        for kind, pos, char in edits:
            i = pos % (len(text) + 1)
            if kind == 0:
                text = text[:i] + char + text[i + 1 :]
            elif kind == 1:
                text = text[:i] + char + text[i:]
            else:
                text = text[:i] + text[i + 1 :]
        return text

    edit = st.tuples(st.integers(0, 2), st.integers(0, 10_000), st.characters())
    return st.lists(edit, min_size=1, max_size=4).map(apply)


def flipped(data: bytes) -> st.SearchStrategy[bytes]:
    """``data`` with one to three bits flipped."""

    def apply(bits: list[int]) -> bytes:
        out = bytearray(data)
        for bit in bits:
            out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
        return bytes(out)

    return st.lists(st.integers(0, 8 * len(data) - 1), min_size=1, max_size=3, unique=True).map(
        apply
    )
