"""Access periods."""

from __future__ import annotations

import pytest

from authenticator.errors import DecodeError
from authenticator.protocol.periods import Period


@pytest.mark.parametrize(
    ("text", "period"),
    [("15m", Period.MIN15), ("15min", Period.MIN15), ("900", Period.MIN15), ("1h", Period.H1),
     ("60 minutes", Period.H1), ("3600s", Period.H1), ("8h", Period.H8), ("24H", Period.H24),
     (" 24 hours ", Period.H24)],
)  # fmt: skip
def test_parse(text: str, period: Period) -> None:
    assert Period.parse(text) is period


@pytest.mark.parametrize("text", ["", "2h", "30m", "1d", "h", "9" * 20, None, 3600])
def test_parse_rejects(text: object) -> None:
    with pytest.raises(DecodeError, match="15m, 1h, 8h, 24h"):
        Period.parse(text)


def test_labels_flags_default_and_coerce() -> None:
    assert [p.label for p in Period] == ["15 min", "1 h", "8 h", "24 h"]
    assert [p.flag for p in Period] == ["15m", "1h", "8h", "24h"]
    assert Period.default() is Period.MIN15
    assert Period.coerce(28800) is Period.H8
    assert Period.coerce(12345) is Period.MIN15
