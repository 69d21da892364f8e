"""Key-management endpoints of the emulated HEM (``/api/keymgmt/*``).

Roles: ``U`` and paired authenticators (``ext``); a master token (``M``) gets 403 everywhere here.
418 (TLS required) is behind the ``tls_required`` knob, off by default so the demo works on plain
HTTP. Scopes (prefix match): list ``keymgmt:list``; search ``keymgmt:search``, ``keymgmt:list`` or
``auth:ext:pair`` — or none for an anonymous ``^``-anchored needle of at least 6 bytes when
``allow_keysearch`` is on; get ``keymgmt:get``, ``keymgmt:gen`` or exactly ``keymgmt:use:<kid>``;
create ``keymgmt:gen``; delete ``keymgmt:del`` (deleting a pairing's key unpairs it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from authenticator.emulator.hem.device import HemDevice, Principal, Refusal, require, text_field
from authenticator.emulator.hem.keymgmt import MAX_DESCR
from authenticator.errors import DecodeError, StateError
from authenticator.protocol.b64 import b64decode

__all__ = [
    "keymgmt_create",
    "keymgmt_delete",
    "keymgmt_get",
    "keymgmt_list",
    "keymgmt_search",
]

SEARCH_SCOPES = ("keymgmt:search", "keymgmt:list", "auth:ext:pair")
_KID = re.compile(r"[0-9a-fA-F]{32}")
_DIGITS = re.compile(r"[0-9]{1,9}")


def _keymgmt(
    dev: HemDevice, who: Principal | None, scopes: tuple[str, ...], *, https: bool
) -> None:
    if dev.tls_required and not https:
        raise Refusal(418, "key management needs TLS")
    dev.need_ready()
    require(who, scopes, roles=("U", "ext"))


def keymgmt_list(
    dev: HemDevice,
    who: Principal | None,
    offset: str = "0",
    count: str = "15",
    *,
    https: bool = False,
) -> dict[str, Any]:
    """``GET /api/keymgmt/list[/<offset>[/<count>]]``."""
    with dev.lock:
        _keymgmt(dev, who, ("keymgmt:list",), https=https)
        if not _DIGITS.fullmatch(offset) or not _DIGITS.fullmatch(count):
            raise Refusal(406, "offset and count are decimal numbers")
        keys = list(dev.state.keys)
        return dev.state.keys.page(keys, int(offset), int(count))


def keymgmt_search(
    dev: HemDevice, who: Principal | None, body: Mapping[str, Any], *, https: bool = False
) -> dict[str, Any]:
    """``POST /api/keymgmt/search {descr[, offset][, limit]}``: a base64 needle, ``^`` and
    ``$`` anchor it; anonymous for a ``^`` needle of ≥6 bytes when allow_keysearch is on."""
    with dev.lock:
        if dev.tls_required and not https:
            raise Refusal(418, "key management needs TLS")
        dev.need_ready()
        text = text_field(body, "descr")
        start, end = text.startswith("^"), text.endswith("$") and len(text) > 1
        core = text[1 if start else 0 : len(text) - (1 if end else 0)]
        try:
            needle = b64decode(core, what="descr")
        except DecodeError as exc:
            raise Refusal(400, "descr is not base64") from exc
        if not needle:
            raise Refusal(400, "descr is empty")
        if len(needle) > MAX_DESCR:
            raise Refusal(406, "descr is longer than 64 bytes")
        anonymous = dev.config.allow_keysearch and start and len(needle) >= 6
        if not anonymous:
            require(who, SEARCH_SCOPES, roles=("U", "ext"))
        offset, limit = body.get("offset", 0), body.get("limit", 15)
        for value in (offset, limit):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise Refusal(400, "offset and limit are numbers")
        found = dev.state.keys.search(needle, start=start, end=end)
        return dev.state.keys.page(found, offset, limit)


def _kid(kid: str) -> str:
    if not _KID.fullmatch(kid):
        raise Refusal(400, "a key id is 32 hexadecimal characters")
    return kid.lower()


def keymgmt_get(
    dev: HemDevice, who: Principal | None, kid: str, *, https: bool = False
) -> dict[str, Any]:
    """``GET /api/keymgmt/get/<kid>`` (keymgmt:get, keymgmt:gen, or exactly
    keymgmt:use:<kid>)."""
    with dev.lock:
        kid = _kid(kid)
        if who is not None and who.scope.lower() == f"keymgmt:use:{kid}":
            _keymgmt(dev, who, (who.scope,), https=https)
        else:
            _keymgmt(dev, who, ("keymgmt:get", "keymgmt:gen"), https=https)
        key = dev.state.keys.get(kid)
        if key is None:
            raise Refusal(406, "no such key")
        return key.get_entry()


def keymgmt_create(
    dev: HemDevice, who: Principal | None, body: Mapping[str, Any], *, https: bool = False
) -> dict[str, Any]:
    """``POST /api/keymgmt/create {label, type[, mode][, descr]}`` → ``{kid}``."""
    with dev.lock:
        _keymgmt(dev, who, ("keymgmt:gen",), https=https)
        mode = body.get("mode")
        descr = body.get("descr")
        if not isinstance(mode, (str, type(None))):
            raise Refusal(400, "mode is text")
        try:
            key = dev.state.keys.generate(
                text_field(body, "type"),
                label=text_field(body, "label"),
                now=dev.clock.now(),
                descr=b"" if descr is None else b64decode(descr, what="descr"),
                mode=mode,
                rng=dev.rng,
            )
        except DecodeError as exc:
            raise Refusal(400, str(exc)) from exc
        except StateError as exc:
            raise Refusal(406, str(exc)) from exc
        dev.changed()
        return {"kid": key.kid}


def keymgmt_delete(dev: HemDevice, who: Principal | None, kid: str, *, https: bool = False) -> None:
    """``DELETE /api/keymgmt/delete/<kid>``; deleting a pairing's key unpairs it."""
    with dev.lock:
        kid = _kid(kid)
        _keymgmt(dev, who, ("keymgmt:del",), https=https)
        if not dev.state.keys.delete(kid):
            raise Refusal(406, "no such key")
        dev.changed()
