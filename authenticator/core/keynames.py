"""What a key is really called: the HEM's own labels, to check what a key-use request states.

A ``keymgmt:use:<kid>#<meta>`` request carries a label and type in ``#meta`` that the requester
wrote (the HEM seals it as given), so they are only a claim. The app can learn the real ones
from the HEM's key list — but only with a token for it. Whenever the owner approves a
``keymgmt:list`` for a program or a pasted request, the app redeems that token itself, so it
keeps it (in memory only, until it expires or the app locks) and, when a key-use request
arrives for that HEM, asks the HEM for its list once and compares: the real label is shown as
the HEM's word and a different stated one is flagged loudly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authenticator.errors import AuthenticatorError
from authenticator.protocol.outside import LIMITS, Origin, Outside, clean
from authenticator.protocol.scopes import ScopeInfo

__all__ = ["KeyCheck", "KeyNames"]

log = logging.getLogger(__name__)

LIST_SCOPES = ("keymgmt:list",)


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """What the HEM says about the key a request names: its label (the HEM's word), and the
    warnings to show when the request states something else."""

    label: Outside | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    exp: int


def _keys_of(answer: Mapping[str, Any]) -> dict[str, str]:
    """kid → label from a ``keymgmt/list`` answer (``{"list": [{"kid", "label", …}]}``)."""
    found: dict[str, str] = {}
    for key in ("list", "keys", "result"):
        items = answer.get(key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping) and isinstance(item.get("kid"), str):
                    label = item.get("label")
                    found[str(item["kid"]).lower()] = label if isinstance(label, str) else ""
    return found


class KeyNames:
    """Per HEM: the last key-list token the owner approved, and the labels learned with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._labels: dict[str, dict[str, str]] = {}

    def remember_token(self, hem: str, scope: str, token: str | None, exp: int) -> None:
        """Keep a token the app redeemed, when it allows listing the keys."""
        if token and scope.startswith(LIST_SCOPES):
            with self._lock:
                self._tokens[hem] = _Token(token, exp)
                self._labels.pop(hem, None)  # learn again with it: the keys may have changed

    def forget_all(self) -> None:
        """The app locks: tokens and what was learned go."""
        with self._lock:
            self._tokens.clear()
            self._labels.clear()

    def check(
        self,
        hem: str,
        info: ScopeInfo,
        *,
        now: int,
        fetch: Callable[[str], Mapping[str, Any]],
    ) -> KeyCheck:
        """Compare a key-use request with the HEM's own list (``fetch(token)`` → the answer of
        ``keymgmt/list``); an empty check when this is not a key use or the app cannot learn it."""
        if info.key is None:
            return KeyCheck()
        labels = self._labels_for(hem, now, fetch)
        if labels is None:
            return KeyCheck()
        kid = info.key.kid.lower()
        stated = info.key.stated_label
        if kid not in labels:
            return KeyCheck(
                None,
                (
                    f"The HEM lists no key with the id {info.key.short_kid}; whatever the "
                    "request says about it cannot be checked.",
                ),
            )
        real = clean(labels[kid], Origin.HEM, limit=LIMITS.key_label)
        warnings: tuple[str, ...] = ()
        if stated and stated.text != real.text:
            warnings = (
                f"The request calls this key “{stated.text}”, but the HEM calls it "
                f"“{real.text or 'no name'}”: the name in the request is not the key's name.",
            )
        return KeyCheck(real if real else None, warnings)

    def _labels_for(
        self, hem: str, now: int, fetch: Callable[[str], Mapping[str, Any]]
    ) -> dict[str, str] | None:
        with self._lock:
            labels = self._labels.get(hem)
            token = self._tokens.get(hem)
        if labels is not None:
            return labels
        if token is None or now >= token.exp:
            return None
        try:
            labels = _keys_of(fetch(token.value))
        except AuthenticatorError as exc:
            log.info("could not list the keys of %s to check a key name: %s", hem, exc.code)
            with self._lock:
                self._tokens.pop(hem, None)  # one failure: don't slow every request down
            return None
        with self._lock:
            self._labels[hem] = labels
        return labels
