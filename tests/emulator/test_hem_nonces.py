"""Single-use nonces with a deadline, and the device clock they age on."""

from __future__ import annotations

from authenticator.emulator.clock import EmuClock
from authenticator.emulator.hem.nonces import NoncePool


def test_a_nonce_is_used_once_and_expires() -> None:
    pool: NoncePool[str] = NoncePool()
    pool.put("a", "login", exp=10, now=0)
    pool.put("b", "init", exp=10, now=0)
    assert pool.peek("a", now=10) == "login"  # now == exp is still valid
    assert pool.take("a", now=10) == "login"
    assert pool.take("a", now=10) is None
    assert pool.take("b", now=11) is None
    assert pool.take("unknown", now=0) is None


def test_the_oldest_go_first_beyond_the_limit() -> None:
    pool: NoncePool[int] = NoncePool(limit=2)
    for n in range(3):
        pool.put(str(n), n, exp=100, now=0)
    assert len(pool) == 2
    assert pool.peek("0", now=0) is None
    assert pool.peek("2", now=0) == 2
    pool.put("late", 9, exp=200, now=150)  # the expired ones are pruned first
    assert len(pool) == 1
    pool.clear()
    assert len(pool) == 0


def test_clock_skew_time_and_uptime() -> None:
    now = [1000.0]
    mono = [5.0]
    clock = EmuClock(lambda: now[0], lambda: mono[0])
    clock.set_skew(30)
    assert (clock.now(), clock.skew) == (1030, 30.0)
    clock.set_time(2000)
    assert (clock.now(), clock.skew) == (2000, 1000.0)
    mono[0] = 8.5
    assert clock.uptime() == 3
    clock.restart()
    assert clock.uptime() == 0
