"""The one terminal writer: every character a terminal obeys or hides is shown as an escape.

Independent of where outside text was cleaned: the writer itself is fed raw hostile strings, in
a real pty rendered by pyte, and its JSON is checked to be exact.
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authenticator.cli import terminal
from tests.cli.screen import Shown, assert_honest, run_in_terminal
from tests.hostile import CORPUS, MARK


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2K\x1b]0;t\x07", "\\x1b[2K\\x1b]0;t\\x07"),
        ("a\nb\r\tc", "a\\nb\\r\\tc"),
        ("\x9b2J\x85\x7f\x00", "\\x9b2J\\x85\\x7f\\x00"),
        ("\u202eabc\u2066\u200d\ufeff", "\\u202eabc\\u2066\\u200d\\ufeff"),
        ("\u2028\u2029\ue000\udc80", "\\u2028\\u2029\\ue000\\udc80"),
        ("tag\U000e0041 \u3164 \u034f", "tag\\U000e0041 \\u3164 \\u034f"),
        ("Kraków ❤️ C:\\dir <b>&amp;", "Kraków ❤️ C:\\dir <b>&amp;"),
    ],
)
def test_visible(raw: str, shown: str) -> None:
    assert terminal.visible(raw) == shown


def test_lines_are_capped_with_escapes_counted_as_shown() -> None:
    assert terminal.visible("x" * 20, limit=10) == "x" * 9 + "…"
    assert terminal.visible("x" * 10, limit=10) == "x" * 10
    assert terminal.visible("\x1b" * 3, limit=10) == "\\x1b\\x1b…"
    assert terminal.visible("y" * 5000, limit=None) == "y" * 5000
    assert len(terminal.visible("A" * 10_000)) == terminal.LINE_LIMIT
    assert terminal.visible(42) == "42"


def test_a_string_is_split_on_its_own_lines_a_list_is_one_line_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    terminal.out("one\ntwo")
    terminal.out(["three\nfour", "five"])
    terminal.err(["bad\x1b[2Kline"])
    captured = capsys.readouterr()
    assert captured.out == "one\ntwo\nthree\\nfour\nfive\n"
    assert captured.err == "bad\\x1b[2Kline\n"


_RAW = set("\x1b\x9b\x9c\x9d\x07\u202e\u2066\u2069\u200d\u2028\u2029\x85\x7f")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
)


@given(JSON_VALUES)
def test_json_is_exact_and_carries_nothing_a_terminal_obeys(data: object) -> None:
    text = terminal.json_text(data)
    assert json.loads(text) == data
    assert not _RAW & set(text)
    assert all(
        unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or c == "\n"
        for c in text
    )


def test_json_of_hostile_strings() -> None:
    data = dict(CORPUS)
    for indent in (2, None):
        text = terminal.json_text(data, indent=indent)
        assert json.loads(text) == data
        assert not _RAW & set(text)
    assert (
        terminal.json_text({"astral": "\U000e0041"}, indent=None) == '{"astral": "\\udb40\\udc41"}'
    )


WRITER = """
import sys
from authenticator.cli import terminal
from tests.hostile import CORPUS
terminal.out(["truth: approve nothing"])
terminal.out([f"{name}: {value}" for name, value in CORPUS])
terminal.err([f"error: {value}" for _, value in CORPUS])
terminal.out(["truth: the last line"])
"""


def test_the_writer_on_a_real_terminal() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHENTICATOR_")}
    shown: Shown = run_in_terminal([sys.executable, "-c", WRITER], env=env, cwd=str(root))
    assert_honest(shown)
    rows = shown.rows
    assert rows[0] == "truth: approve nothing"
    assert rows[-1] == "truth: the last line"
    names = [name for name, _ in CORPUS]
    assert [r.split(":")[0] for r in rows[1 : 1 + len(names)]] == names
    errors = rows[1 + len(names) : -1]
    assert len(errors) == len(names)  # no hostile string made or hid a line
    assert all(r.startswith("error: ") for r in errors)
    assert not any(r.lstrip().startswith(MARK) for r in rows)
