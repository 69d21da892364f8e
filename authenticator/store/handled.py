"""The memory of requests already answered (``handled.json``).

The broker may keep offering an event for a while after it was answered, and several processes
(the tray app, a CLI ``approve``) may answer requests of the same home. This set remembers which
request keys were handled, survives restarts, and is merged on every write: under the store lock
the file is re-read, the new key added and the result written atomically, so two processes never
lose each other's keys. Only the newest ``capacity`` keys are kept.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable

from authenticator.errors import CorruptStoreError, DecodeError
from authenticator.store.atomic import read_private, write_private_atomic
from authenticator.store.filelock import store_lock
from authenticator.store.paths import AppPaths

__all__ = ["HandledRequests"]

_FORMAT = 1
_KEY_MAX = 512
_MAX_FILE = 8 * 1024 * 1024

_Signature = tuple[int, int, int]
_Change = Callable[[dict[str, int]], dict[str, int]]


class HandledRequests:
    """A persistent, bounded set of handled request keys, each with the time it was handled."""

    def __init__(self, paths: AppPaths, capacity: int = 2000) -> None:
        if capacity < 1:
            raise DecodeError("The handled-request memory needs a capacity of at least 1.")
        self._paths = paths
        self._capacity = capacity
        self._guard = threading.Lock()
        self._items: dict[str, int] = {}
        self._seen: _Signature | None = None

    def __repr__(self) -> str:
        return f"HandledRequests({str(self._paths.handled)!r}, capacity={self._capacity})"

    def __contains__(self, request_key: object) -> bool:
        with self._guard:
            self._refresh()
            return request_key in self._items

    def __len__(self) -> int:
        with self._guard:
            self._refresh()
            return len(self._items)

    def add(self, request_key: str, ts: int) -> None:
        """Remember ``request_key`` as handled at ``ts`` (unix seconds)."""
        self.add_all((request_key,), ts)

    def add_all(self, request_keys: Iterable[str], ts: int) -> None:
        """Remember several keys as handled at ``ts``, in one write of the file."""
        keys = tuple(request_keys)
        for request_key in keys:
            if not isinstance(request_key, str) or not request_key or len(request_key) > _KEY_MAX:
                raise DecodeError("A request key must be text of 1 to 512 characters.")
        if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
            raise DecodeError("A handled time must be a non-negative unix time.")

        def change(items: dict[str, int]) -> dict[str, int]:
            for request_key in keys:
                items[request_key] = max(ts, items.get(request_key, ts))
            return items

        self._update(change)

    def prune_older_than(self, ts: int) -> int:
        """Forget keys handled before ``ts``; return how many were forgotten."""
        removed: list[int] = []

        def change(items: dict[str, int]) -> dict[str, int]:
            kept = {key: when for key, when in items.items() if when >= ts}
            removed.append(len(items) - len(kept))
            return kept

        self._update(change)
        return removed[0]

    def _update(self, change: _Change) -> None:
        with self._guard, store_lock(self._paths.lockfile):
            self._seen = None
            self._refresh()
            items = change(dict(self._items))
            newest = sorted(items.items(), key=lambda item: item[1])[-self._capacity :]
            data = {"format": _FORMAT, "handled": [[key, when] for key, when in newest]}
            write_private_atomic(
                self._paths.handled, json.dumps(data, separators=(",", ":")).encode("utf-8")
            )
            self._items = dict(newest)
            self._seen = _signature(self._paths)

    def _refresh(self) -> None:
        """Re-read the file when it changed since we last read or wrote it.

        A change is seen from the file's (mtime, size, inode); writes never rely on this (they
        always re-read under the lock), only the freshness of ``in`` does.
        """
        signature = _signature(self._paths)
        if signature == self._seen:
            return
        if signature is None:
            self._items = {}
        else:
            raw = read_private(self._paths.handled, max_size=_MAX_FILE)
            self._items = _parse(self._paths, raw)
        self._seen = signature


def _signature(paths: AppPaths) -> _Signature | None:
    try:
        info = os.stat(paths.handled)
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _parse(paths: AppPaths, raw: bytes) -> dict[str, int]:
    items = _items(raw)
    if items is None:
        raise CorruptStoreError(
            f"The list of answered requests {paths.handled} is damaged. Move it away; the app "
            "then only forgets which requests it already answered."
        )
    return items


def _items(raw: bytes) -> dict[str, int] | None:
    """The key → time map stored in ``raw``, or ``None`` when it is not a valid file."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
        return None
    pairs = obj.get("handled")
    if not isinstance(pairs, list):
        return None
    items: dict[str, int] = {}
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2:
            return None
        key, when = pair
        if not isinstance(key, str) or isinstance(when, bool) or not isinstance(when, int):
            return None
        items[key] = when
    return items
