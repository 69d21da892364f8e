"""What the poller needs while the vault is locked (``poll.json``): brokers and pairing ids.

A locked app must still notice that a request waits, or a request that arrives while the owner
works elsewhere times out unseen. Listing a broker's waiting events needs only the broker's
address and the pairing ids (``pid``) — not the keys, which stay in the vault. So the app keeps
those two, and nothing else, in this file (0600, written atomically).

Why this is not a secret: a pid is the identifier the broker sees on every call of this pairing.
Knowing it shows *that* an event waits (and the broker's idea of where it comes from) and would
let someone refuse it at the broker; it never lets anyone read what is asked (sealed for the key
in the vault) nor approve it (an approval is signed with that key). docs/security.md says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from authenticator.errors import CorruptStoreError
from authenticator.store.atomic import read_private, write_private_atomic
from authenticator.store.filelock import store_lock
from authenticator.store.paths import AppPaths

__all__ = ["PollList"]

_FORMAT = 1
_MAX_FILE = 256 * 1024


class PollList:
    """Broker origin → the pids of its pairings, readable without the vault."""

    def __init__(self, paths: AppPaths) -> None:
        self._paths = paths
        self.file = paths.data_dir / "poll.json"

    def save(self, brokers: Mapping[str, Iterable[str]]) -> None:
        """Replace the list (called whenever the pairings change, with the vault open)."""
        body = {
            "format": _FORMAT,
            "brokers": {origin: sorted(set(pids)) for origin, pids in sorted(brokers.items())},
        }
        with store_lock(self._paths.lockfile):
            write_private_atomic(self.file, json.dumps(body, indent=1).encode("utf-8"))

    def load(self) -> dict[str, list[str]]:
        """The list as last saved; empty when there is none. ``CorruptStoreError`` when damaged."""
        file = self.file
        if not file.exists():
            return {}
        raw = read_private(file, max_size=_MAX_FILE)
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise CorruptStoreError(
                f"{file} is damaged; delete it (the app writes it again when it is unlocked)."
            ) from exc
        brokers = obj.get("brokers") if isinstance(obj, dict) else None
        if not isinstance(brokers, dict) or obj.get("format") != _FORMAT:
            raise CorruptStoreError(
                f"{file} is not a poll list; delete it (the app writes it again when unlocked)."
            )
        return {
            str(origin): [p for p in pids if isinstance(p, str)]
            for origin, pids in brokers.items()
            if isinstance(pids, list)
        }
