"""The agent's limits: per program (uid + executable + script) and per user, with a fake clock."""

from __future__ import annotations

import contextlib

import pytest

from authenticator.core.agent.ratelimit import USER_CONCURRENT, USER_PER_MINUTE, RateLimiter
from authenticator.errors import RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def program(uid: int, script: str) -> tuple[int, str, str]:
    return uid, "/usr/bin/python3", script


def test_the_defaults_are_documented_figures() -> None:
    limiter = RateLimiter()
    assert (limiter.concurrent, limiter.per_minute) == (3, 10)
    assert (limiter.user_concurrent, limiter.user_per_minute) == (8, 30)
    assert (USER_CONCURRENT, USER_PER_MINUTE) == (8, 30)
    # Raising the per-program caps (a load test) raises the per-user default with them.
    assert RateLimiter(concurrent=50, per_minute=500).user_concurrent == 50
    assert RateLimiter(concurrent=50, per_minute=500).user_per_minute == 500


def test_per_program_waiting_cap() -> None:
    limiter = RateLimiter(clock=Clock())
    with contextlib.ExitStack() as held:
        for _ in range(3):
            held.enter_context(limiter.slot(program(1000, "/a.py"), 1000))
        with pytest.raises(RateLimitedError, match="This program already has 3 requests"):
            held.enter_context(limiter.slot(program(1000, "/a.py"), 1000))
        # another script of the same python is another program
        held.enter_context(limiter.slot(program(1000, "/b.py"), 1000))
    with limiter.slot(program(1000, "/a.py"), 1000):  # released: room again
        pass


def test_per_user_waiting_cap_across_many_programs() -> None:
    limiter = RateLimiter(clock=Clock())
    with contextlib.ExitStack() as held:
        for i in range(8):  # eight scripts, one request each
            held.enter_context(limiter.slot(program(1000, f"/copy{i}.py"), 1000))
        with pytest.raises(RateLimitedError, match="Your programs already have 8 requests"):
            held.enter_context(limiter.slot(program(1000, "/copy8.py"), 1000))
        held.enter_context(limiter.slot(program(1001, "/copy8.py"), 1001))  # another user
    with limiter.slot(program(1000, "/copy8.py"), 1000):
        pass


def test_per_minute_caps_and_their_window() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    for _ in range(10):
        with limiter.slot(program(1000, "/a.py"), 1000):
            pass
    with pytest.raises(RateLimitedError, match="This program asked too often"):
        limiter.slot(program(1000, "/a.py"), 1000).__enter__()
    for i in range(20):  # other programs of the same user, up to the user's 30 a minute
        with limiter.slot(program(1000, f"/o{i}.py"), 1000):
            pass
    with pytest.raises(RateLimitedError, match="Your programs asked more than 30 times"):
        limiter.slot(program(1000, "/new.py"), 1000).__enter__()
    clock.now += 59.9
    with pytest.raises(RateLimitedError):
        limiter.slot(program(1000, "/new.py"), 1000).__enter__()
    clock.now += 0.1  # 60 s after the first ones: the window moved on
    with limiter.slot(program(1000, "/a.py"), 1000):
        pass


def test_a_refused_request_counts_against_nobody() -> None:
    limiter = RateLimiter(concurrent=1, per_minute=100, user_concurrent=2, clock=Clock())
    with limiter.slot(program(1000, "/a.py"), 1000):
        for _ in range(50):
            with pytest.raises(RateLimitedError):
                limiter.slot(program(1000, "/a.py"), 1000).__enter__()
        with limiter.slot(program(1000, "/b.py"), 1000):  # the user still has a free slot
            pass


def test_without_a_user_only_the_program_counts() -> None:
    limiter = RateLimiter(concurrent=1, clock=Clock())
    with limiter.slot("legacy-key"), pytest.raises(RateLimitedError):
        limiter.slot("legacy-key").__enter__()
