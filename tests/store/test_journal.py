from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authenticator.errors import CorruptStoreError, DecodeError
from authenticator.store.journal import PRUNED_KIND, Journal, JournalEntry
from authenticator.store.paths import AppPaths

KEY = bytes(range(32))


def _journal(paths: AppPaths, count: int = 0) -> Journal:
    journal = Journal(paths, KEY)
    for n in range(1, count + 1):
        journal.append(
            "test.event",
            ts=1000 + n,
            hem="office",
            outcome="ok",
            text=f"event {n}",
            fields={"n": n},
        )
    return journal


def _lines(paths: AppPaths) -> list[bytes]:
    return paths.journal.read_bytes().splitlines(keepends=True)


def _write(paths: AppPaths, lines: list[bytes]) -> None:
    paths.journal.write_bytes(b"".join(lines))


def _edit(line: bytes, **changes: object) -> bytes:
    obj = json.loads(line)
    obj.update(changes)
    return (
        json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    )


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# ---------------------------------------------------------------------- appending and reading


def test_append_chains_as_specified(paths: AppPaths) -> None:
    journal = _journal(paths)
    first = journal.append("pair.ok", ts=10, hem="office", text="Paired ✓", fields={"a": True})
    second = journal.append("lock", ts=11)
    assert (first.seq, second.seq) == (1, 2)
    prev = bytes(32)
    for entry in (first, second):
        body = {k: v for k, v in json.loads(entry.to_line()).items() if k != "mac"}
        expected = hmac.new(KEY, prev + _canonical(body), hashlib.sha256).digest()
        assert base64.b64decode(entry.mac) == expected
        prev = expected
    assert "✓" in paths.journal.read_text(encoding="utf-8")  # stored as UTF-8, not escaped
    assert stat.S_IMODE(os.stat(paths.journal).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(paths.journal_head).st_mode) == 0o600


def test_entries_limit_and_order(paths: AppPaths) -> None:
    journal = _journal(paths, 5)
    assert [e.seq for e in journal.entries()] == [1, 2, 3, 4, 5]
    assert [e.seq for e in journal.entries(limit=2)] == [4, 5]
    assert [e.seq for e in journal.entries(limit=2, newest_first=True)] == [5, 4]
    assert journal.entries(limit=0) == []
    entry = journal.entries()[0]
    assert entry == JournalEntry(
        1, 1001, "test.event", "office", "ok", "event 1", {"n": 1}, entry.mac
    )
    assert entry.mac not in repr(entry)


def test_entries_are_readable_with_any_key(paths: AppPaths) -> None:
    _journal(paths, 3)
    stranger = Journal(paths, b"\x01" * 32)
    assert [e.text for e in stranger.entries()] == ["event 1", "event 2", "event 3"]
    report = stranger.verify()
    assert not report.ok
    assert report.first_broken == 1


def test_empty_journal(paths: AppPaths) -> None:
    journal = _journal(paths)
    assert journal.entries() == []
    report = journal.verify()
    assert report.ok
    assert (report.entries, report.pruned, report.first_broken) == (0, 0, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": ""}, "kind"),
        ({"kind": PRUNED_KIND}, "reserved"),
        ({"kind": "a\nb"}, "control"),
        ({"ts": -1}, "ts"),
        ({"hem": ""}, "hem"),
        ({"text": "x" * 5000}, "text"),
        ({"fields": {"f": 1.5}}, "must be text, an integer"),
        ({"fields": {"f": [1]}}, "must be text, an integer"),
        ({"fields": {"": 1}}, "field name"),
        ({"fields": {f"k{i}": i for i in range(65)}}, "at most 64"),
    ],
)
def test_invalid_entries_are_refused_before_touching_the_file(
    paths: AppPaths, kwargs: dict[str, object], message: str
) -> None:
    journal = _journal(paths)
    call: dict[str, object] = {"kind": "k", "ts": 1, **kwargs}
    with pytest.raises(DecodeError, match=message):
        journal.append(call.pop("kind"), **call)  # type: ignore[arg-type]
    assert not paths.journal.exists()


def test_key_must_be_32_bytes(paths: AppPaths) -> None:
    with pytest.raises(DecodeError):
        Journal(paths, b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        Journal(paths, "x" * 32)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- tampering


def test_intact_journal_verifies(paths: AppPaths) -> None:
    report = _journal(paths, 10).verify()
    assert report.ok
    assert report.entries == 10
    assert "intact" in report.reason


def test_edited_field_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    lines[4] = _edit(lines[4], outcome="denied")  # canonical, but the mac no longer matches
    _write(paths, lines)
    report = journal.verify()
    assert (report.ok, report.first_broken, report.entries) == (False, 5, 4)
    assert "5" in report.reason


def test_non_canonical_edit_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    lines[6] = lines[6].replace(b'"text":', b'"text" :')
    _write(paths, lines)
    assert journal.verify().first_broken == 7


def test_deleted_line_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    del lines[3]
    _write(paths, lines)
    report = journal.verify()
    assert (report.ok, report.first_broken) == (False, 4)
    assert "missing" in report.reason


def test_swapped_lines_are_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    lines[5], lines[6] = lines[6], lines[5]
    _write(paths, lines)
    assert journal.verify().first_broken == 6


def test_inserted_line_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    forged = _edit(lines[2], seq=4, text="forged")
    lines.insert(3, forged)
    _write(paths, lines)
    assert journal.verify().first_broken == 4


def test_inserted_copy_of_a_real_line_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    lines.insert(8, lines[2])
    _write(paths, lines)
    assert journal.verify().first_broken == 9


def test_bad_json_line_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    lines[7] = b"{not json\n"
    _write(paths, lines)
    report = journal.verify()
    assert (report.ok, report.first_broken) == (False, 8)
    assert "not a readable journal entry" in report.reason
    assert len(journal.entries()) == 9  # the history still shows the readable entries


def test_lines_removed_from_the_end_are_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    _write(paths, _lines(paths)[:7])
    report = journal.verify()
    assert (report.ok, report.first_broken) == (False, 8)
    assert "removed from the end" in report.reason


def test_a_file_cut_inside_the_last_line_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    data = paths.journal.read_bytes()
    paths.journal.write_bytes(data[:-20])
    assert journal.verify().first_broken == 10


def test_emptied_journal_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    paths.journal.unlink()
    assert journal.verify().first_broken == 1


def test_truncation_stays_visible_after_later_appends(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    _write(paths, _lines(paths)[:7])
    for n in range(5):  # the app keeps journalling; the head is not moved past the damage
        journal.append("later", ts=2000 + n)
    report = journal.verify()
    assert not report.ok
    assert report.first_broken == 10


def test_missing_or_forged_head_is_found(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    head = paths.journal_head.read_bytes()
    paths.journal_head.unlink()
    assert not journal.verify().ok
    obj = json.loads(head)
    obj["seq"] = 2
    paths.journal_head.write_text(json.dumps(obj))
    assert "altered" in journal.verify().reason
    paths.journal_head.write_text("garbage")
    assert "damaged" in journal.verify().reason
    paths.journal_head.write_bytes(head)
    assert journal.verify().ok


def test_a_damaged_head_is_kept_as_evidence(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    paths.journal_head.write_text("garbage")
    journal.append("later", ts=1)
    assert paths.journal_head.read_text() == "garbage"
    assert "damaged" in journal.verify().reason


def test_a_crash_before_the_first_head_write_is_tolerated(paths: AppPaths) -> None:
    journal = _journal(paths, 1)
    paths.journal_head.unlink()
    assert journal.verify().ok
    journal.append("next", ts=5)
    assert journal.verify().ok
    assert paths.journal_head.exists()


def test_a_lagging_head_is_tolerated_and_caught_up(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    lagging = paths.journal_head.read_bytes()
    journal.append("a", ts=1)
    journal.append("b", ts=2)
    paths.journal_head.write_bytes(lagging)  # as if two head writes had failed
    assert journal.verify().ok
    journal.append("c", ts=3)
    assert json.loads(paths.journal_head.read_bytes())["seq"] == 6
    assert journal.verify().ok


# ---------------------------------------------------------------------- torn last line


def test_torn_last_line_is_ignored_then_repaired(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    intact = paths.journal.read_bytes()
    would_be = _edit(_lines(paths)[2], seq=4)
    paths.journal.write_bytes(intact + would_be[:25])  # a crash in the middle of a write
    report = journal.verify()
    assert report.ok
    assert "incomplete last line" in report.reason
    assert [e.seq for e in journal.entries()] == [1, 2, 3]
    entry = journal.append("after.crash", ts=99)
    assert entry.seq == 4
    assert paths.journal.read_bytes() == intact + entry.to_line()
    assert journal.verify().ok


def test_a_long_fragment_after_many_entries_is_repaired(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    with paths.journal.open("ab") as handle:
        handle.write(b"\x00" * 300_000)  # zeros a power cut may leave behind
    assert journal.verify().ok
    assert journal.append("x", ts=1).seq == 4
    assert journal.verify().ok


def test_appends_to_a_journal_longer_than_the_tail_block(
    paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _journal(paths)
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # only to build a big journal fast
    for n in range(700):
        journal.append("bulk", ts=n, text="y" * 400)
    monkeypatch.undo()
    assert paths.journal.stat().st_size > 256 * 1024
    assert journal.append("last", ts=1).seq == 701
    report = journal.verify()
    assert (report.ok, report.entries) == (True, 701)


@pytest.mark.parametrize("garbage", [b"garbage", b"g" * 300_000], ids=["short", "long"])
def test_damaged_last_line_keeps_the_evidence(paths: AppPaths, garbage: bytes) -> None:
    journal = _journal(paths, 3)
    with paths.journal.open("ab") as handle:
        handle.write(garbage + b"\n")
    entry = journal.append("after", ts=1)
    assert entry.seq == 4  # chained after the last readable entry
    assert _lines(paths)[3] == garbage + b"\n"
    report = journal.verify()
    assert (report.ok, report.first_broken) == (False, 4)


# ---------------------------------------------------------------------- pruning


def test_prune_keeps_the_chain_verifiable(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    assert journal.prune(keep_last=4) == 6
    entries = journal.entries()
    assert [e.seq for e in entries] == [6, 7, 8, 9, 10]  # the marker takes seq 6
    marker = entries[0]
    assert marker.kind == PRUNED_KIND
    assert marker.fields["count"] == 6
    report = journal.verify()
    assert (report.ok, report.entries, report.pruned) == (True, 4, 6)
    journal.append("after", ts=5000)
    assert journal.prune(keep_last=2) == 3
    report = journal.verify()
    assert (report.ok, report.entries, report.pruned) == (True, 2, 9)
    assert journal.prune(keep_last=2) == 0
    assert stat.S_IMODE(os.stat(paths.journal).st_mode) == 0o600


def test_pruning_everything_leaves_only_the_marker(paths: AppPaths) -> None:
    journal = _journal(paths, 5)
    assert journal.prune(keep_last=0) == 5
    assert [e.kind for e in journal.entries()] == [PRUNED_KIND]
    assert journal.verify().ok
    assert journal.append("next", ts=1).seq == 6
    report = journal.verify()
    assert (report.ok, report.entries, report.pruned) == (True, 1, 5)


def test_prune_brings_a_lagging_head_up_to_date(paths: AppPaths) -> None:
    journal = _journal(paths, 3)
    lagging = paths.journal_head.read_bytes()
    for n in range(4):
        journal.append("more", ts=2000 + n)
    paths.journal_head.write_bytes(lagging)  # names entry 3, which pruning removes
    assert journal.verify().ok
    journal.prune(keep_last=2)
    assert journal.verify().ok
    assert json.loads(paths.journal_head.read_bytes())["seq"] == 7


def test_pruned_count_and_marker_are_tamper_evident(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    journal.prune(keep_last=3)
    lines = _lines(paths)
    marker = json.loads(lines[0])
    lowered = _edit(lines[0], fields={**marker["fields"], "count": 1})
    _write(paths, [lowered, *lines[1:]])
    report = journal.verify()
    assert (report.ok, report.first_broken) == (False, 7)
    assert "marker" in report.reason
    _write(paths, lines[1:])  # marker deleted
    assert journal.verify().first_broken == 1
    _write(paths, [lines[0], *lines[2:]])  # first kept entry deleted
    assert journal.verify().first_broken == 8
    _write(paths, [*lines[:2], lines[0], *lines[2:]])  # a marker in the middle
    assert "misplaced" in journal.verify().reason


def test_prune_by_age_and_retention(paths: AppPaths) -> None:
    journal = _journal(paths, 10)  # ts 1001..1010
    assert journal.prune(older_than=1004) == 3
    assert journal.entries()[1].ts == 1004
    assert journal.apply_retention(max_entries=5, now=0) == 2
    day = 86_400
    assert journal.apply_retention(max_entries=100, max_age_days=1, now=1008 + day) == 2
    assert [e.ts for e in journal.entries()[1:]] == [1008, 1009, 1010]
    report = journal.verify()
    assert (report.ok, report.pruned) == (True, 7)
    with pytest.raises(DecodeError):
        journal.prune(keep_last=-1)
    fresh = AppPaths.for_home(paths.data_dir / "fresh", {})
    fresh.ensure()
    assert Journal(fresh, KEY).prune(keep_last=0) == 0


def test_a_tampered_journal_is_never_pruned(paths: AppPaths) -> None:
    journal = _journal(paths, 10)
    lines = _lines(paths)
    lines[1] = _edit(lines[1], text="rewritten")
    _write(paths, lines)
    before = paths.journal.read_bytes()
    with pytest.raises(CorruptStoreError, match="not pruned"):
        journal.prune(keep_last=2)
    assert paths.journal.read_bytes() == before


# ---------------------------------------------------------------------- fuzzing

_fuzz = settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_fuzz
@given(st.data())
def test_random_damage_never_makes_verify_raise_and_is_found(
    paths: AppPaths, data: st.DataObject
) -> None:
    if not paths.journal.with_suffix(".orig").exists():
        _journal(paths, 6)
        paths.journal.with_suffix(".orig").write_bytes(paths.journal.read_bytes())
    original = paths.journal.with_suffix(".orig").read_bytes().splitlines(keepends=True)
    lines = list(original)
    index = data.draw(st.integers(0, len(lines) - 1))
    junk = data.draw(st.binary(max_size=80) | st.text(max_size=80).map(str.encode))
    action = data.draw(st.sampled_from(["replace", "insert", "splice"]))
    if action == "replace":
        lines[index] = junk + b"\n"
    elif action == "insert":
        lines.insert(index, junk + b"\n")
    else:
        lines[index] = lines[index][: len(junk) % len(lines[index])] + junk + b"\n"
    _write(paths, lines)
    journal = Journal(paths, KEY)
    report = journal.verify()
    journal.entries()
    if b"".join(lines) != b"".join(original):
        assert not report.ok
        assert report.first_broken is not None
        assert report.first_broken <= index + 1
