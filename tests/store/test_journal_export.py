"""``journal --export FILE`` / ``--verify FILE``: an export an auditor can check later with the
vault's key, and every way of tampering with it named at its first bad entry."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from authenticator.store.journal import EXPORT_FORMAT, Journal
from authenticator.store.paths import AppPaths

KEY = bytes(range(32))


def _journal(paths: AppPaths, count: int) -> Journal:
    journal = Journal(paths, KEY)
    for n in range(1, count + 1):
        journal.append("test.event", ts=1000 + n, hem="office", text=f"event {n}", fields={"n": n})
    return journal


def _edit(line: bytes, **changes: object) -> bytes:
    obj = json.loads(line)
    obj.update(changes)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture
def exported(paths: AppPaths, tmp_path: Path) -> tuple[Journal, Path]:
    journal = _journal(paths, 6)
    dest = tmp_path / "audit.jsonl"
    assert journal.export(dest, now=5000) == 6
    return journal, dest


def test_an_export_verifies_and_is_private(exported: tuple[Journal, Path]) -> None:
    journal, dest = exported
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    lines = dest.read_bytes().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == EXPORT_FORMAT
    assert header["entries"] == 6
    assert header["last_seq"] == 6
    assert [json.loads(line)["seq"] for line in lines[1:]] == [1, 2, 3, 4, 5, 6]
    report = journal.verify_export(dest)
    assert report.ok, report.reason
    assert report.entries == 6


def test_an_export_after_pruning(paths: AppPaths, tmp_path: Path) -> None:
    journal = _journal(paths, 8)
    journal.prune(keep_last=3)
    dest = tmp_path / "audit.jsonl"
    journal.export(dest, now=5000)
    report = journal.verify_export(dest)
    assert report.ok, report.reason
    assert (report.entries, report.pruned) == (3, 5)


def _tamper(dest: Path, index: int, **changes: object) -> None:
    lines = dest.read_bytes().splitlines()
    lines[index] = _edit(lines[index], **changes)
    dest.write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize(
    ("change", "first_broken"),
    [
        (lambda d: _tamper(d, 3, text="nothing happened"), 3),
        (lambda d: _tamper(d, 5, ts=1), 5),
        (lambda d: _remove(d, 2), 2),
        (lambda d: _swap(d, 4, 5), 4),
        (lambda d: _remove(d, 6), 6),  # the last one cut off
        (lambda d: _remove(d, 6, 5), 5),
    ],
    ids=["edited text", "edited time", "deleted", "reordered", "last cut", "two cut"],
)
def test_a_tampered_export_names_its_first_bad_entry(
    exported: tuple[Journal, Path], change: object, first_broken: int
) -> None:
    journal, dest = exported
    change(dest)  # type: ignore[operator]
    report = journal.verify_export(dest)
    assert not report.ok
    assert report.first_broken == first_broken, report.reason


def _remove(dest: Path, *indexes: int) -> None:
    lines = dest.read_bytes().splitlines()
    for index in sorted(indexes, reverse=True):
        del lines[index]
    dest.write_bytes(b"\n".join(lines) + b"\n")


def _swap(dest: Path, a: int, b: int) -> None:
    lines = dest.read_bytes().splitlines()
    lines[a], lines[b] = lines[b], lines[a]
    dest.write_bytes(b"\n".join(lines) + b"\n")


def test_a_forged_header_or_another_store(
    exported: tuple[Journal, Path], paths: AppPaths, tmp_path: Path
) -> None:
    journal, dest = exported
    # Cutting the end and "fixing" the header's count needs the key.
    lines = dest.read_bytes().splitlines()
    forged = _edit(lines[0], entries=5, last_seq=5, last_mac=json.loads(lines[5])["mac"])
    dest.write_bytes(b"\n".join([forged, *lines[1:6]]) + b"\n")
    report = journal.verify_export(dest)
    assert not report.ok
    assert "header was altered" in report.reason
    other = Journal(paths, bytes(32))
    dest.write_bytes(b"\n".join(lines) + b"\n")
    assert "another store" in other.verify_export(dest).reason
    for junk in (b"", b"not json\n", b'{"format": "x"}\n'):
        dest.write_bytes(junk)
        report = journal.verify_export(dest)
        assert not report.ok
        assert report.first_broken is None
    assert not journal.verify_export(tmp_path / "missing.jsonl").ok
