"""The tamper-evident journal (``journal.jsonl``): what happened, never a secret.

One canonical JSON object per line. Each entry carries ``mac = HMAC-SHA256(journal key,
previous mac ‖ canonical JSON of the entry without "mac")``; the first entry chains from 32 zero
bytes. The journal key lives in the vault, so anyone can *read* the journal (the history window
shows it before any check) but only the app can extend it, and an edited, deleted, reordered or
inserted entry breaks the chain at a place ``verify`` names.

A chain alone cannot see entries cut off the end, so a second file, ``journal.head``, keeps a
keyed record (HMAC tag) of the last entry written. ``verify`` requires that entry to be present;
the head may lag behind the journal (a crash between the two writes) but never run ahead of it.
Once the journal disagrees with the head, the head is no longer advanced, so the evidence stays.

Crash rule (the "torn line"): an entry is appended with a single write of the whole line,
newline included, then fsynced. Bytes after the last newline can only be an interrupted write
(or a cut); they are not an entry. ``verify`` and ``entries`` ignore them, and the next
``append`` truncates them before writing, so the file up to the last complete line is
authoritative. If that fragment was the tail of a real entry, the head still names it and
``verify`` reports it missing.

**Export** (``journal --export FILE``, for audits): a header line, then every entry as it is in
the journal. The header says how many entries follow and which one is the last (its ``seq`` and
``mac``), with a keyed tag (HMAC with the journal key) over it, so :meth:`Journal.verify_export`
— with the vault open, the key never leaves it — checks the chain of the exported entries and
finds an export that was edited, reordered, cut short or padded, naming the first bad entry.

Pruning replaces a prefix of the journal by one marker entry (kind ``journal.pruned``) with
``fields = {"count": entries pruned so far, "anchor": mac of the last dropped entry}``; the
marker's mac chains from the anchor, and the next kept entry still chains from the anchor, so the
remaining file verifies without rewriting any kept entry, and the count cannot be changed unseen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import FileIO
from pathlib import Path

from authenticator.errors import CorruptStoreError, DecodeError, StoreError
from authenticator.store.atomic import fsync_dir, read_private, write_error, write_private_atomic
from authenticator.store.filelock import store_lock
from authenticator.store.paths import AppPaths

__all__ = [
    "EXPORT_FORMAT",
    "PRUNED_KIND",
    "FieldValue",
    "Journal",
    "JournalEntry",
    "VerifyReport",
]

FieldValue = str | int | bool | None

PRUNED_KIND = "journal.pruned"
_ZERO_MAC = bytes(32)
_HEAD_CONTEXT = b"EDAJ-head-1"
_EXPORT_CONTEXT = b"EDAJ-export-1"
EXPORT_FORMAT = "encedo-authenticator-journal"
_EXPORT_KEYS = frozenset(
    {"format", "version", "exported_at", "entries", "last_seq", "last_mac", "tag"}
)
_KEYS = frozenset({"seq", "ts", "kind", "hem", "outcome", "text", "fields", "mac"})
_KIND_MAX = 64
_SHORT_MAX = 256
_TEXT_MAX = 4096
_FIELDS_MAX = 64
_LINE_MAX = 64 * 1024
_TAIL_BLOCK = 2 * _LINE_MAX
_MAX_FILE = 256 * 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DAY = 86_400

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal line. ``fields`` holds small scalar details chosen by the core."""

    seq: int
    ts: int
    kind: str
    hem: str | None
    outcome: str | None
    text: str
    fields: Mapping[str, FieldValue]
    mac: str = field(repr=False)

    def __post_init__(self) -> None:
        _check_int(self.seq, "seq", minimum=1)
        _check_int(self.ts, "ts", minimum=0)
        _check_str(self.kind, "kind", _KIND_MAX, empty=False, control=False)
        if self.hem is not None:
            _check_str(self.hem, "hem", _SHORT_MAX, empty=False, control=False)
        if self.outcome is not None:
            _check_str(self.outcome, "outcome", _SHORT_MAX, empty=False, control=False)
        _check_str(self.text, "text", _TEXT_MAX, empty=True, control=True)
        _check_fields(self.fields)
        _mac_bytes(self.mac)

    @property
    def is_marker(self) -> bool:
        """Whether this is the marker that stands for pruned entries."""
        return self.kind == PRUNED_KIND

    def body(self) -> dict[str, object]:
        """The entry without its mac: what the mac covers."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "hem": self.hem,
            "outcome": self.outcome,
            "text": self.text,
            "fields": dict(self.fields),
        }

    def to_line(self) -> bytes:
        """The canonical line, newline included."""
        return _canonical({**self.body(), "mac": self.mac}) + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> JournalEntry:
        """Parse one line (without its newline); ``DecodeError`` for anything not an entry."""
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise DecodeError("A journal line is not valid JSON.") from None
        if not isinstance(obj, dict) or set(obj) != _KEYS:
            raise DecodeError("A journal line is not a journal entry.")
        fields = obj["fields"]
        if not isinstance(fields, dict):
            raise DecodeError("A journal entry's fields must be an object.")
        return cls(
            seq=obj["seq"],
            ts=obj["ts"],
            kind=obj["kind"],
            hem=obj["hem"],
            outcome=obj["outcome"],
            text=obj["text"],
            fields=fields,
            mac=obj["mac"],
        )


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of ``Journal.verify``.

    ``entries`` counts the entries that verified (all of them when ``ok``), the marker excluded;
    ``pruned`` is how many entries pruning removed over time; ``first_broken`` is the sequence
    number of the first entry that is missing, altered or out of place (``None`` when ``ok`` or
    when the damage cannot be placed); ``reason`` says what was found, in words.
    """

    ok: bool
    entries: int
    pruned: int
    first_broken: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class _Head:
    seq: int
    mac: str


class Journal:
    """The journal of one home, keyed with the journal key from the vault."""

    def __init__(self, paths: AppPaths, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != 32:
            raise DecodeError("The journal key must be 32 bytes.")
        self._paths = paths
        self._key = key

    def __repr__(self) -> str:
        return f"Journal({str(self._paths.journal)!r})"

    # ------------------------------------------------------------------ writing

    def append(
        self,
        kind: str,
        *,
        ts: int,
        hem: str | None = None,
        outcome: str | None = None,
        text: str = "",
        fields: Mapping[str, FieldValue] | None = None,
    ) -> JournalEntry:
        """Add an entry chained to the last one and return it.

        A trailing fragment left by an interrupted write is removed first (see the module doc).
        """
        if kind == PRUNED_KIND:
            raise DecodeError(f"The journal kind {PRUNED_KIND!r} is reserved for pruning.")
        details = dict(fields or {})
        JournalEntry(1, ts, kind, hem, outcome, text, details, _b64(_ZERO_MAC))  # validate early
        path = self._paths.journal
        with store_lock(self._paths.lockfile), _open_journal(path) as handle:
            lines = _complete_tail(handle, path)
            last = _last_entry(lines) if lines else None
            if lines and last is None:  # the last line is damaged: chain after the last good one
                last = _last_entry(_split(_read_all(handle))[0])
            entry = self._sign(
                seq=1 if last is None else last.seq + 1,
                prev=_ZERO_MAC if last is None else _chain_mac(last),
                ts=ts,
                kind=kind,
                hem=hem,
                outcome=outcome,
                text=text,
                fields=details,
            )
            line = entry.to_line()
            if len(line) > _LINE_MAX:
                raise DecodeError("This journal entry is too large.")
            _append_line(handle, line, path)
            self._advance_head(handle, last, entry)
        return entry

    def prune(self, *, keep_last: int | None = None, older_than: int | None = None) -> int:
        """Drop the oldest entries and put one marker in their place; return how many went.

        Drops every entry but the newest ``keep_last`` and every leading entry older than
        ``older_than`` (unix seconds). A journal that fails verification is never pruned (that
        would erase the evidence): ``CorruptStoreError``.
        """
        if keep_last is not None and keep_last < 0:
            raise DecodeError("keep_last must not be negative.")
        path = self._paths.journal
        with store_lock(self._paths.lockfile):
            if not path.exists():
                return 0
            lines = _split(read_private(path, max_size=_MAX_FILE))[0]
            report = self._verify_lines(lines)
            if not report.ok:
                raise CorruptStoreError(
                    f"The journal {path} failed verification ({report.reason}); it was not "
                    "pruned. Keep a copy of it; move it and journal.head away to start a new one."
                )
            entries = [JournalEntry.from_line(line) for line in lines]
            offset = 1 if entries and entries[0].is_marker else 0
            regular = entries[offset:]
            drop = 0
            if keep_last is not None:
                drop = max(drop, len(regular) - keep_last)
            if older_than is not None:
                old = next((i for i, e in enumerate(regular) if e.ts >= older_than), len(regular))
                drop = max(drop, old)
            if drop == 0:
                return 0
            parts = _marker_parts(entries[0]) if offset else None
            count = drop + (0 if parts is None else parts[0])
            last_dropped = regular[drop - 1]
            marker = self._sign(
                seq=last_dropped.seq,
                prev=_mac_bytes(last_dropped.mac),
                ts=last_dropped.ts,
                kind=PRUNED_KIND,
                hem=None,
                outcome=None,
                text=f"{count} older entries were removed from the journal.",
                fields={"count": count, "anchor": last_dropped.mac},
            )
            kept = lines[offset + drop :]
            write_private_atomic(path, marker.to_line() + b"".join(x + b"\n" for x in kept))
            # The file verified just before, so the head may be brought up to date (it could
            # lag and name an entry that is now pruned).
            self._write_head(JournalEntry.from_line(kept[-1]) if kept else marker)
        _log.info("journal pruned: %d entries removed", drop)
        return drop

    def apply_retention(
        self, max_entries: int = 5000, max_age_days: int | None = None, *, now: int
    ) -> int:
        """Keep at most ``max_entries`` entries, none older than ``max_age_days`` (if given)."""
        older_than = None if max_age_days is None else now - max_age_days * _DAY
        return self.prune(keep_last=max_entries, older_than=older_than)

    # ------------------------------------------------------------------ reading

    def entries(self, limit: int | None = None, newest_first: bool = False) -> list[JournalEntry]:
        """The entries in the file (the newest ``limit`` ones), without checking the chain.

        Lines that are not entries are skipped; ``verify`` reports them.
        """
        path = self._paths.journal
        if not path.exists():
            return []
        found: list[JournalEntry] = []
        for line in _split(read_private(path, max_size=_MAX_FILE))[0]:
            try:
                found.append(JournalEntry.from_line(line))
            except DecodeError:
                continue
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found[::-1] if newest_first else found

    def verify(self) -> VerifyReport:
        """Check the whole chain and the head; never raises for a damaged journal."""
        path = self._paths.journal
        try:
            data = read_private(path, max_size=_MAX_FILE) if path.exists() else b""
        except StoreError as exc:
            return VerifyReport(False, 0, 0, None, str(exc))
        lines, fragment = _split(data)
        report = self._verify_lines(lines)
        if report.ok and fragment:
            note = " An incomplete last line (an interrupted write) was ignored."
            return VerifyReport(True, report.entries, report.pruned, None, report.reason + note)
        return report

    # ------------------------------------------------------------------ export

    def export(self, dest: Path, *, now: int) -> int:
        """Write the journal to ``dest`` (private, atomically): a keyed header, then every
        entry as it is (see the module doc). Returns how many entries were written."""
        path = self._paths.journal
        with store_lock(self._paths.lockfile):
            data = read_private(path, max_size=_MAX_FILE) if path.exists() else b""
        lines = _split(data)[0]
        last = _parse(lines[-1]) if lines else None
        header = self._export_header(
            exported_at=now,
            entries=len(lines),
            last_seq=last.seq if last is not None else None,
            last_mac=last.mac if last is not None else None,
        )
        write_private_atomic(dest, header + b"\n" + b"".join(line + b"\n" for line in lines))
        return len(lines)

    def verify_export(self, source: Path) -> VerifyReport:
        """Check an export made by :meth:`export` with this journal's key; never raises for a
        damaged export (the report says what is wrong and the first bad entry)."""
        try:
            data = read_private(source, max_size=_MAX_FILE)
        except StoreError as exc:
            return VerifyReport(False, 0, 0, None, str(exc))
        lines, fragment = _split(data)
        if fragment:
            lines.append(fragment)  # an export has no torn line: a cut one is a cut export
        if not lines:
            return VerifyReport(False, 0, 0, None, "the file is empty: it is not an export")
        try:
            obj = json.loads(lines[0].decode("utf-8"))
            if not isinstance(obj, dict) or set(obj) != _EXPORT_KEYS:
                raise ValueError
            header = self._export_header(
                exported_at=obj["exported_at"],
                entries=obj["entries"],
                last_seq=obj["last_seq"],
                last_mac=obj["last_mac"],
            )
            good = obj["format"] == EXPORT_FORMAT and obj["version"] == 1
            good = good and hmac.compare_digest(header, _canonical(obj))
        except (UnicodeDecodeError, ValueError, TypeError, RecursionError, DecodeError):
            return VerifyReport(False, 0, 0, None, "the file is not a journal export")
        if not good:
            return VerifyReport(
                False,
                0,
                0,
                None,
                "the export's header was altered, or the export comes from another store",
            )
        entries = lines[1:]
        chain = self._chain(entries)
        if isinstance(chain, VerifyReport):
            return chain
        verified, pruned, expected, by_seq = chain
        last = by_seq.get(obj["last_seq"]) if isinstance(obj["last_seq"], int) else None
        if len(entries) != obj["entries"] or (
            entries and (last is None or last.mac != obj["last_mac"] or expected != last.seq + 1)
        ):
            if len(entries) < obj["entries"]:
                reason = f"entries from {expected} on were removed from the end"
            else:
                reason = f"entry {obj['last_seq']} is not the last one exported"
            return VerifyReport(False, verified, pruned, expected, reason)
        noun = "entry" if verified == 1 else "entries"
        return VerifyReport(
            True, verified, pruned, None, f"The export is intact ({verified} {noun})."
        )

    def _export_header(
        self, *, exported_at: object, entries: object, last_seq: object, last_mac: object
    ) -> bytes:
        body = {
            "format": EXPORT_FORMAT,
            "version": 1,
            "exported_at": exported_at,
            "entries": entries,
            "last_seq": last_seq,
            "last_mac": last_mac,
        }
        tag = hmac.new(self._key, _EXPORT_CONTEXT + _canonical(body), hashlib.sha256).digest()
        return _canonical({**body, "tag": _b64(tag)})

    # ------------------------------------------------------------------ internals

    def _sign(
        self,
        *,
        seq: int,
        prev: bytes,
        ts: int,
        kind: str,
        hem: str | None,
        outcome: str | None,
        text: str,
        fields: Mapping[str, FieldValue],
    ) -> JournalEntry:
        unsigned = JournalEntry(seq, ts, kind, hem, outcome, text, fields, _b64(_ZERO_MAC))
        mac = self._mac(prev, unsigned)
        return JournalEntry(seq, ts, kind, hem, outcome, text, fields, _b64(mac))

    def _mac(self, prev: bytes, entry: JournalEntry) -> bytes:
        return hmac.new(self._key, prev + _canonical(entry.body()), hashlib.sha256).digest()

    def _mac_ok(self, prev: bytes, entry: JournalEntry) -> bool:
        return hmac.compare_digest(self._mac(prev, entry), _mac_bytes(entry.mac))

    def _chain(
        self, lines: list[bytes]
    ) -> VerifyReport | tuple[int, int, int, dict[int, JournalEntry]]:
        """Check the chain of ``lines``: a report when it is broken, else (entries verified,
        entries pruned, the next seq expected, the entries by seq)."""
        prev = _ZERO_MAC
        expected = 1
        verified = 0
        pruned = 0
        by_seq: dict[int, JournalEntry] = {}

        def broken(seq: int | None, reason: str) -> VerifyReport:
            return VerifyReport(False, verified, pruned, seq, reason)

        for index, line in enumerate(lines):
            try:
                entry = JournalEntry.from_line(line)
            except DecodeError:
                return broken(expected, f"entry {expected} is not a readable journal entry")
            if entry.to_line() != line + b"\n":
                return broken(expected, f"entry {expected} was edited")
            if entry.is_marker:
                if index != 0:
                    return broken(expected, f"entry {expected} is a misplaced pruning marker")
                parts = _marker_parts(entry)
                if parts is None or not self._mac_ok(parts[1], entry):
                    return broken(entry.seq, "the pruning marker was altered")
                pruned, prev = parts
                expected = entry.seq + 1
            else:
                if entry.seq != expected:
                    return broken(
                        expected,
                        f"entry {expected} is missing or out of place "
                        f"(entry {entry.seq} is in its place)",
                    )
                if not self._mac_ok(prev, entry):
                    return broken(expected, f"entry {expected} was altered, inserted or moved")
                prev, expected = _mac_bytes(entry.mac), expected + 1
                verified += 1
            by_seq[entry.seq] = entry
        return verified, pruned, expected, by_seq

    def _verify_lines(self, lines: list[bytes]) -> VerifyReport:
        chain = self._chain(lines)
        if isinstance(chain, VerifyReport):
            return chain
        verified, pruned, expected, by_seq = chain

        def broken(seq: int | None, reason: str) -> VerifyReport:
            return VerifyReport(False, verified, pruned, seq, reason)

        head = self._read_head()
        if head is None:
            if len(lines) > 1:
                return broken(None, "the record of the last entry (journal.head) is missing")
        elif isinstance(head, str):
            return broken(None, head)
        elif head.seq >= expected:
            return broken(expected, f"entries from {expected} on were removed from the end")
        elif not _matches_head(by_seq.get(head.seq), head):
            return broken(head.seq, f"entry {head.seq} differs from the one written last")
        noun = "entry" if verified == 1 else "entries"
        return VerifyReport(
            True, verified, pruned, None, f"The journal is intact ({verified} {noun})."
        )

    def _head_tag(self, seq: int, mac: str) -> bytes:
        body = _HEAD_CONTEXT + _canonical({"seq": seq, "mac": mac})
        return hmac.new(self._key, body, hashlib.sha256).digest()

    def _read_head(self) -> _Head | str | None:
        """The head record, ``None`` when absent, or the reason it cannot be trusted."""
        path = self._paths.journal_head
        if not path.exists():
            return None
        try:
            obj = json.loads(read_private(path, max_size=4096))
            seq, mac, tag = obj["seq"], obj["mac"], obj["tag"]
            head = _Head(seq=seq, mac=mac)
            good = hmac.compare_digest(self._head_tag(seq, mac), _mac_bytes(tag))
        except (StoreError, ValueError, TypeError, KeyError, RecursionError):
            return "the record of the last entry (journal.head) is damaged"
        if not good or isinstance(seq, bool) or not isinstance(seq, int):
            return "the record of the last entry (journal.head) was altered"
        return head

    def _advance_head(
        self, handle: FileIO, previous: JournalEntry | None, entry: JournalEntry
    ) -> None:
        """Point the head at ``entry`` unless the journal disagrees with the current head."""
        head = self._read_head()
        if head is None:
            # Only the very first append can have crashed before writing the head.
            advance = previous is None or (previous.seq == 1 and not previous.is_marker)
        elif isinstance(head, str):
            advance = False
        elif previous is not None and previous.seq > head.seq:
            # The head lags (an earlier head write failed): the entry it names must still match.
            earlier = (_parse(line) for line in _split(_read_all(handle))[0])
            match = next((e for e in earlier if e is not None and e.seq == head.seq), None)
            advance = _matches_head(match, head)
        else:
            advance = _matches_head(previous, head)
        if not advance:
            _log.warning("journal disagrees with its head record; the head is kept as evidence")
            return
        self._write_head(entry)

    def _write_head(self, entry: JournalEntry) -> None:
        """Record ``entry`` as the last one written (a failure only leaves the head lagging)."""
        tag = _b64(self._head_tag(entry.seq, entry.mac))
        record = _canonical({"seq": entry.seq, "mac": entry.mac, "tag": tag})
        try:
            write_private_atomic(self._paths.journal_head, record)
        except StoreError as exc:
            _log.warning("journal head not updated: %s", exc)


# ---------------------------------------------------------------------- file helpers


@contextmanager
def _open_journal(path: Path) -> Iterator[FileIO]:
    """The journal opened for reading and appending (created 0600 when missing)."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    created = not path.exists()
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise StoreError(f"Could not open the journal {path} ({exc.strerror}).") from exc
    with FileIO(fd, "r+") as handle:
        if created:
            fsync_dir(path.parent)
        yield handle


def _complete_tail(handle: FileIO, path: Path) -> list[bytes]:
    """The last complete lines of the file (at least the last one), fragment truncated away."""
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - _TAIL_BLOCK)
    while True:
        handle.seek(start)
        data = handle.read(size - start)
        end = data.rfind(b"\n")
        if start == 0 or data.rfind(b"\n", 0, max(end, 0)) != -1:
            break
        start = max(0, start - _TAIL_BLOCK)
    cut = end + 1
    if cut < len(data):
        try:
            handle.truncate(start + cut)
            os.fsync(handle.fileno())
        except OSError as exc:
            raise StoreError(f"Could not repair the journal {path} ({exc.strerror}).") from exc
        _log.warning("removed an incomplete last journal line (%d bytes)", len(data) - cut)
    lines = data[:cut].split(b"\n")[:-1]
    return lines[1:] if start > 0 else lines


def _read_all(handle: FileIO) -> bytes:
    handle.seek(0)
    return handle.read()


def _append_line(handle: FileIO, line: bytes, path: Path) -> None:
    """Write the whole line at the end and fsync; a short write leaves only a fragment."""
    try:
        handle.seek(0, os.SEEK_END)
        view = memoryview(line)
        while view:
            written = handle.write(view)
            view = view[written or 0 :]
        os.fsync(handle.fileno())
    except OSError as exc:
        raise write_error(path, exc) from exc


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (without newlines) and the trailing fragment after the last newline."""
    cut = data.rfind(b"\n") + 1
    return data[:cut].split(b"\n")[:-1], data[cut:]


def _parse(line: bytes) -> JournalEntry | None:
    try:
        return JournalEntry.from_line(line)
    except DecodeError:
        return None


def _last_entry(lines: list[bytes]) -> JournalEntry | None:
    for line in reversed(lines):
        entry = _parse(line)
        if entry is not None:
            return entry
    return None


# ---------------------------------------------------------------------- chain helpers


def _chain_mac(entry: JournalEntry) -> bytes:
    """What the entry after ``entry`` chains from: its mac, or a marker's anchor."""
    parts = _marker_parts(entry) if entry.is_marker else None
    return _mac_bytes(entry.mac) if parts is None else parts[1]


def _marker_parts(entry: JournalEntry) -> tuple[int, bytes] | None:
    """A marker's (count, anchor), or ``None`` when its fields are not a marker's."""
    count, anchor = entry.fields.get("count"), entry.fields.get("anchor")
    if set(entry.fields) != {"count", "anchor"} or isinstance(count, bool):
        return None
    if not isinstance(count, int) or count < 1 or not isinstance(anchor, str):
        return None
    try:
        return count, _mac_bytes(anchor)
    except DecodeError:
        return None


def _matches_head(entry: JournalEntry | None, head: _Head) -> bool:
    """Whether ``entry`` is the one the head names (or the marker that replaced it)."""
    if entry is None or entry.seq != head.seq:
        return False
    if entry.mac == head.mac:
        return True
    return entry.is_marker and entry.fields.get("anchor") == head.mac


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _mac_bytes(value: object) -> bytes:
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
        else:
            if len(raw) == 32 and _b64(raw) == value:
                return raw
    raise DecodeError("A journal mac must be standard base64 of 32 bytes.")


# ---------------------------------------------------------------------- validation


def _check_int(value: object, what: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DecodeError(f"A journal entry's {what} must be an integer ≥ {minimum}.")


def _check_str(value: object, what: str, limit: int, *, empty: bool, control: bool) -> None:
    if not isinstance(value, str) or (not empty and not value) or len(value) > limit:
        raise DecodeError(f"A journal entry's {what} must be text of at most {limit} characters.")
    if not control and _CONTROL.search(value):
        raise DecodeError(f"A journal entry's {what} must not contain control characters.")


def _check_fields(fields: object) -> None:
    if not isinstance(fields, Mapping) or len(fields) > _FIELDS_MAX:
        raise DecodeError(f"A journal entry has at most {_FIELDS_MAX} fields.")
    for key, value in fields.items():
        if not isinstance(key, str) or not key or len(key) > _KIND_MAX:
            raise DecodeError("A journal field name must be text of 1 to 64 characters.")
        if isinstance(value, str):
            if len(value) > _TEXT_MAX:
                raise DecodeError(f"The journal field {key!r} is too long.")
        elif value is not None and not isinstance(value, int):  # bool is an int
            raise DecodeError(
                f"The journal field {key!r} must be text, an integer, true/false or null."
            )
