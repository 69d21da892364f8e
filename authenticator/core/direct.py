"""The direct path: requests the app itself asks a HEM for, and requests pasted or linked.

* A **local program** asks (through the agent or ``authenticator token``): the app makes its own
  ephemeral key, asks the HEM for an ``authreq`` (``/api/auth/ext/request``), verifies the HEM's
  signature (it holds the key), opens its own entry (scope tag), checks the HEM asked for exactly
  the scope the program wanted, and puts the request in the inbox. Approving redeems the
  ``authreply`` at ``/api/auth/ext/token``; the token goes back to the program.
* A **pasted** ``authreq`` (or an ``encedo-auth:authreq`` link) is opened the same way, except
  that its signature cannot be checked (someone else holds its key): the scope tag is what
  proves the HEM asked.
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING

from authenticator.core.inbox import DirectRoute, Entry
from authenticator.core.model import AccessRequest, PairingPreview, Program
from authenticator.errors import (
    AlreadyAnsweredError,
    BadResponseError,
    DecodeError,
    ExpiredError,
    IntegrityError,
    LockedError,
    NoSuchHemError,
    ProtocolError,
    StateError,
)
from authenticator.protocol.access import AuthReq, open_authreq
from authenticator.protocol.keys import KeyPair
from authenticator.protocol.links import AuthreqLink, PairLink, parse_link
from authenticator.protocol.periods import Period
from authenticator.protocol.scopes import describe, require_known

if TYPE_CHECKING:
    from authenticator.core.app import Core
    from authenticator.store.records import PairingRecord

__all__ = ["ask_hem", "new_request_id", "open_pasted"]

_ID_CHARS = string.ascii_uppercase + string.digits
MAX_REASON = 200


def new_request_id(prefix: str) -> str:
    """``L7K2QX``-style ids for requests that have no broker event id."""
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(5))


def _clean_reason(reason: str | None) -> str | None:
    if not reason:
        return None
    text = "".join(c if c.isprintable() else " " for c in reason).strip()
    return text[:MAX_REASON] or None


def ask_hem(
    core: Core,
    *,
    scope: str,
    hem: str | None = None,
    period: Period = Period.MIN15,
    write: bool = False,
    program: Program | None = None,
    reason: str | None = None,
    quiet: bool = False,
) -> Entry:
    """Ask the HEM for an ``authreq`` for ``scope`` and queue it for the person to answer
    (``quiet``: build the request without queueing or announcing it)."""
    from authenticator.core.app import hem_url_of, keys_of
    from authenticator.core.requests import _pem

    if core.locked:
        raise LockedError()
    info = require_known(describe(scope))
    if write and not info.write_possible:
        raise StateError("Write access cannot be granted for this kind of request.")
    rec = core.pairing(hem)
    url = hem_url_of(rec)
    epk = KeyPair.generate(core.rng)
    with core.net.hem(url, pinned_cert=_pem(rec)) as client:
        text, _ = client.ext_request(epk.public.b64, scope)
    try:
        authreq = AuthReq.parse(text)
    except DecodeError as exc:
        raise BadResponseError("The HEM answered with a malformed access request.") from exc
    now = core.clock.now()
    try:
        authreq.verify_signature(epk)
        opened = open_authreq(authreq, keys_of(rec), now=now)
    except IntegrityError:
        core.requests.reject(
            rec.name,
            reason="tampered",
            text="The HEM's answer failed its integrity check; nothing was shown.",
            source="local",
            scope=scope,
        )
        raise
    except ExpiredError as exc:  # the HEM made (and signed) it just now: its clock is behind
        raise ExpiredError(
            f"{rec.name} made a request that had already expired by this computer's clock: the "
            "HEM's clock is behind. Let the Encedo Manager check it in (or check this "
            "computer's clock), then try again."
        ) from exc
    if opened != scope and not opened.startswith(scope + "#"):
        text = "The HEM sealed a different access than the one asked for."
        core.requests.reject(
            rec.name, reason="scope_mismatch", text=text, source="local", scope=scope
        )
        raise IntegrityError(text)
    request = AccessRequest(
        id=new_request_id("L"),
        hem=rec.name,
        hem_hostname=rec.hostname,
        source="local",
        scope=opened,
        info=describe(opened),
        created=now,
        expires_at=authreq.exp,
        program=program,
        reason=_clean_reason(reason),
        default_period=period,
        default_write=write,
    )
    entry = Entry(request, DirectRoute(url, authreq))
    if not quiet:
        core.requests.show(
            entry,
            program=program.describe() if program else None,
            path=program.path if program else None,
            reason=request.reason,
        )
    return entry


def _pairing_for(core: Core, authreq: AuthReq) -> PairingRecord:
    from authenticator.core.app import keys_of

    candidates = [r for r in core.vault.pairings if keys_of(r).eid == authreq.eid]
    if not candidates:
        raise NoSuchHemError("This request comes from a HEM that is not paired with this computer.")
    for rec in candidates:
        try:
            authreq.entry_for(keys_of(rec))
            return rec
        except ProtocolError:
            continue
    raise ProtocolError(
        "This request is not addressed to this computer (the HEM may have unpaired it)."
    )


def open_pasted(core: Core, text: str) -> AccessRequest | PairingPreview:
    """Open a pasted ``authreq``, an ``encedo-auth:`` link, or a pairing code."""
    from authenticator.core.app import keys_of
    from authenticator.core.pairing import preview_qr

    body = text.strip()
    hem_url: str | None = None
    if body.lower().startswith("encedo-auth:"):
        link = parse_link(body)
        if isinstance(link, PairLink):
            return preview_qr(core, link.qr)
        assert isinstance(link, AuthreqLink)  # noqa: S101 - the union has two members
        authreq, hem_url = link.authreq, link.hem_url
    elif body.count(".") == 2 and not body.startswith(("{", "http")):
        authreq = AuthReq.parse(body)
    else:
        return preview_qr(core, body)
    if core.locked:
        raise LockedError()
    rec = _pairing_for(core, authreq)
    now = core.clock.now()
    try:
        scope = open_authreq(authreq, keys_of(rec), now=now)
    except IntegrityError:
        core.requests.reject(
            rec.name,
            reason="tampered",
            text="A pasted request failed its integrity check; it was not shown.",
            source="link",
        )
        raise
    from authenticator.core.requests import jti_key

    for pending in core.inbox.requests():  # the same request pasted twice: show it once
        route = core.inbox.entry(pending.id).route
        if isinstance(route, DirectRoute) and jti_key(route.authreq.jti) == jti_key(authreq.jti):
            return pending
    if jti_key(authreq.jti) in core.handled:
        core.requests.reject(
            rec.name,
            reason="replayed",
            text="A pasted request was already answered; it was not shown again.",
            source="link",
        )
        raise AlreadyAnsweredError("This request was already answered; ask for a new one.")
    info = require_known(describe(scope))
    request = AccessRequest(
        id=new_request_id("P"),
        hem=rec.name,
        hem_hostname=rec.hostname,
        source="link",
        scope=scope,
        info=info,
        created=now,
        expires_at=authreq.exp,
        reason=authreq.note,
    )
    core.requests.show(Entry(request, DirectRoute(hem_url, authreq)))
    return request
