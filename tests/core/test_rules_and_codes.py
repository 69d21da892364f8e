"""The small pieces behind fewer, safer prompts, on their own: remembered rules and their limits,
the registry of access in use, code matching, and the count of what waits while locked."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from authenticator.core.codes import (
    CODE_RANGE,
    code_from_note,
    new_code,
    offer,
    parse_code,
    program_needs_code,
    same_code,
)
from authenticator.core.grants import GrantRegistry
from authenticator.core.lockwait import LockWait
from authenticator.core.model import AccessRequest, PartResult, Program, ScopePart
from authenticator.core.remember import RENEW_LIMIT, Remembered, program_key
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import describe
from tests.core.conftest import wait_for

SCRIPT = Program(
    name="tunnel.sh", pid=10, path="/usr/bin/bash", uid=1000, script="/home/o/tunnel.sh",
    interpreter=True,
)  # fmt: skip
INLINE = Program(name="python3 -c", pid=11, path="/usr/bin/python3", uid=1000, interpreter=True)
T0 = 1_800_000_000


# ---------------------------------------------------------------------------- remembered rules


def test_renew_without_asking_stays_within_what_was_approved() -> None:
    changes: list[int] = []
    memory = Remembered(on_change=lambda: changes.append(1))
    assert (
        memory.add_renewal(SCRIPT, "hem", "keymgmt:list", now=T0, period=Period.H1, write=False)
        is None
    )
    assert changes == [1]
    renew = memory.renewal_period
    assert (
        renew(SCRIPT, "hem", "keymgmt:list", period=Period.H1, write=False, now=T0 + 60)
        is Period.H1
    )
    assert (
        renew(SCRIPT, "hem", "keymgmt:list", period=Period.MIN15, write=False, now=T0)
        is Period.MIN15
    )
    # Never longer, never with write access, never another scope, HEM or program.
    assert renew(SCRIPT, "hem", "keymgmt:list", period=Period.H8, write=False, now=T0) is None
    assert renew(SCRIPT, "hem", "keymgmt:list", period=Period.H1, write=True, now=T0) is None
    assert renew(SCRIPT, "hem", "system:config", period=Period.H1, write=False, now=T0) is None
    assert renew(SCRIPT, "other", "keymgmt:list", period=Period.H1, write=False, now=T0) is None
    other = Program(name="x", pid=12, path="/usr/bin/bash", uid=1000, script="/home/o/x.sh",
                    interpreter=True)  # fmt: skip
    assert renew(other, "hem", "keymgmt:list", period=Period.H1, write=False, now=T0) is None
    # Never beyond 24 h from the approval: the period shrinks, then the owner is asked.
    end = T0 + RENEW_LIMIT
    assert renew(SCRIPT, "hem", "keymgmt:list", period=Period.H1, write=False, now=end - 1800) is (
        Period.MIN15
    )
    assert (
        renew(SCRIPT, "hem", "keymgmt:list", period=Period.H1, write=False, now=end - 600) is None
    )
    assert renew(SCRIPT, "hem", "keymgmt:list", period=Period.H1, write=False, now=end) is None


def test_rules_are_listed_forgotten_and_never_for_code_on_a_command_line() -> None:
    memory = Remembered()
    assert memory.add_renewal(INLINE, "hem", "keymgmt:list", now=T0, period=Period.H1, write=False)
    assert (
        memory.add(SCRIPT, "hem", "keymgmt:use:ab12#eyJ9", exp=T0 + 900, write=False, now=T0)
        is None
    )
    memory.add_renewal(SCRIPT, "hem", "storage:disk0:rw", now=T0 + 1, period=Period.H1, write=True)
    rules = memory.rules(T0 + 10)
    assert [(r.kind, r.scope) for r in rules] == [
        ("until_expiry", "keymgmt:use:ab12"),
        ("renew", "storage:disk0"),
    ]
    assert rules[1].write is True
    assert rules[1].period is Period.H1
    assert rules[1].title == "Unlock a drive"
    assert rules[0].to_json()["script"] == "/home/o/tunnel.sh"
    assert memory.rules(T0 + 901)[0].kind == "renew"  # the expired one is gone
    assert memory.forget(rules[1].id) == rules[1]
    assert memory.forget(rules[1].id) is None
    assert memory.forget_all() == 0


# ---------------------------------------------------------------------------- access in use


def _request(*scopes: str, program: Program | None = SCRIPT) -> AccessRequest:
    parts = tuple(ScopePart(s, describe(s)) for s in scopes)
    return AccessRequest(
        id="LABCDE",
        hem="hem",
        hem_hostname="hem",
        source="local",
        scope=scopes[0],
        info=parts[0].info,
        created=T0,
        expires_at=T0 + 900,
        program=program,
        bundle=parts if len(parts) > 1 else (),
    )


def test_the_registry_holds_no_token_and_finds_renewals() -> None:
    changes: list[int] = []
    registry = GrantRegistry(on_change=lambda: changes.append(1))
    request = _request("keymgmt:list", "system:config:rw", "logger:get")
    results = (
        PartResult("keymgmt:list", "keymgmt:list", "tok-1"),
        PartResult("system:config", error=None),  # never granted
        PartResult("logger:get", "logger:get", "tok-3"),
    )
    holder = program_key(SCRIPT)
    rows = registry.add(request, results, issued_at=T0, exp=T0 + 3600, how="clicked", holder=holder)
    assert [r.scope for r in rows] == ["keymgmt:list", "logger:get"]
    assert changes == [1]
    assert "tok" not in repr(rows) + str([r.to_json() for r in rows])
    assert rows[0].who == "tunnel.sh (pid 10)"
    assert registry.held(holder, "hem", "keymgmt:list", T0 + 10) == T0 + 3600
    assert registry.held(holder, "hem", "keymgmt:list#meta", T0 + 10) == T0 + 3600
    assert registry.held(holder, "other", "keymgmt:list", T0 + 10) is None
    assert registry.held(("x",), "hem", "keymgmt:list", T0 + 10) is None
    assert registry.held(holder, "hem", "keymgmt:list", T0 + 3600) is None
    registry.copied("LABCDE")
    assert {r.holders for r in registry.current(T0)} == {2}
    assert registry.current(T0 + 3600) == []  # expired rows go
    registry.add(request, results, issued_at=T0, exp=T0 + 60, how="renewed", holder=holder)
    registry.discard("LABCDE")
    assert registry.current(T0) == []


# ---------------------------------------------------------------------------- code matching


def test_codes_offered_and_compared() -> None:
    seen: Counter[int] = Counter()
    for _ in range(300):
        right = new_code()
        assert right in CODE_RANGE
        choices = offer(right)
        assert right in choices
        assert len(set(choices)) == 3
        assert all(c in CODE_RANGE for c in choices)
        seen[choices.index(right)] += 1
    assert set(seen) == {0, 1, 2}  # shuffled: the right one is not always in one place
    assert same_code(47, 47)
    assert not same_code(47, 74)


@pytest.mark.parametrize(
    ("note", "code"),
    [
        ("code:47", 47),
        ("Demo Manager page; code:47; it stops waiting at 14:05", 47),
        ("CODE:12 then code:34", 12),
        ("zipcode:47", None),
        ("code:7", None),
        ("code:470", None),
        ("code:07", None),
        ("code 47", None),
        ("", None),
        (None, None),
    ],
)
def test_a_code_in_a_note(note: str | None, code: int | None) -> None:
    assert code_from_note(note) == code


def test_what_a_request_may_state_as_a_code() -> None:
    assert parse_code(47) == 47
    assert parse_code("47") == 47
    for bad in (True, 9, 100, "4", "470", "4a", 47.0, None, [47]):
        assert parse_code(bad) is None


def test_which_programs_must_show_a_code() -> None:
    remote = Program(name="x", remote=True)
    local = Program(name="x")
    assert not program_needs_code("off", remote)
    assert program_needs_code("remote", remote)
    assert not program_needs_code("remote", local)
    assert program_needs_code("always", local)


# ---------------------------------------------------------------------------- locked


def test_what_waits_while_locked_is_one_count() -> None:
    locked = [True]
    told: list[int] = []
    waits = LockWait(lambda: locked[0], told.append)
    waits.set_broker(2)
    assert waits.total == 2
    gone = threading.Event()
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(waits.wait(gone.is_set, 0.02)))
    waiter.start()
    wait_for(lambda: waits.total == 3)
    assert told[-1] == 3
    locked[0] = False
    waits.unlocked()
    waiter.join(5)
    assert results == [True]
    assert told[-1] == 0
    locked[0] = True
    gone.set()
    assert waits.wait(gone.is_set, 0.02) is False  # the waiter went away
    assert waits.total == 0
