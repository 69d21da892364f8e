"""``--state FILE``: the emulated HEMs survive a restart.

What is kept, per HEM (:meth:`~authenticator.emulator.hem.model.HemState.to_json`): the identity
keys, ``devid``, the configuration, the user and master public keys, the key repository with its
pairings. Never the per-boot keys, nonces or knobs. The file is JSON with a format tag and a
version::

    {"format": "encedo-emulator-state", "version": 1, "hems": [{…HEM 0…}, {…HEM 1…}]}

It is rewritten after every change of any HEM, atomically (a temporary file created 0600 in the
same directory, written and fsynced, then renamed over the old one) — it holds private keys.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from authenticator.emulator.hem.model import HemState
from authenticator.errors import CorruptStoreError, DecodeError, StoreError

__all__ = ["FORMAT", "VERSION", "StateFile"]

FORMAT = "encedo-emulator-state"
VERSION = 1


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"Could not write the emulator state {path} ({exc.strerror}).") from exc


class StateFile:
    """One state file: :meth:`load` at start, :meth:`save` after every change; thread-safe."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._hems: dict[int, dict[str, Any]] = {}

    def load(self) -> list[HemState]:
        """The saved HEMs in order (empty when the file does not exist yet)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"Could not read the emulator state {self.path}.") from exc
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise DecodeError("not an emulator state file")
            if doc.get("version") != VERSION:
                raise DecodeError(f"version {doc.get('version')!r} is not {VERSION}")
            hems = doc.get("hems")
            if not isinstance(hems, list) or not all(isinstance(h, dict) for h in hems):
                raise DecodeError("no list of HEMs")
            states = [HemState.from_json(h) for h in hems]
        except (ValueError, DecodeError) as exc:
            raise CorruptStoreError(f"The emulator state {self.path} is damaged: {exc}") from exc
        with self._lock:
            self._hems = {i: s.to_json() for i, s in enumerate(states)}
        return states

    def save(self, index: int, snapshot: dict[str, Any]) -> None:
        """Record HEM ``index``'s new state and rewrite the file with every HEM."""
        with self._lock:
            self._hems[index] = snapshot
            doc = {
                "format": FORMAT,
                "version": VERSION,
                "hems": [self._hems[i] for i in sorted(self._hems)],
            }
            data = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
            _write_atomic(self.path, data)

    def forget(self, keep: int) -> None:
        """Drop the HEMs with an index of ``keep`` or more (after a reset removed them)."""
        with self._lock:
            self._hems = {i: h for i, h in self._hems.items() if i < keep}
