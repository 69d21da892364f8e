"""``encedo-auth:`` links: how a web page or a program hands the app a pairing or a request.

::

    encedo-auth:pair?link=<broker link>&hash=<b64>&user=…&email=…&hostname=…[&url=<HEM>]
    encedo-auth:authreq?authreq=<JWT>[&url=<HEM address>]

The query is ordinary URL encoding. The app registers the scheme (``.desktop`` ``MimeType``), so a
click on such a link opens the pairing preview or the approval of that request.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from authenticator.errors import DecodeError
from authenticator.protocol.access import AuthReq
from authenticator.protocol.pairing import QrPayload, parse_qr
from authenticator.protocol.urls import check_url

__all__ = ["SCHEME", "AuthreqLink", "PairLink", "make_authreq_link", "make_pair_link", "parse_link"]

SCHEME = "encedo-auth"
_MAX_LINK = 16 * 1024


@dataclass(frozen=True, slots=True)
class PairLink:
    qr: QrPayload


@dataclass(frozen=True, slots=True)
class AuthreqLink:
    authreq: AuthReq
    hem_url: str | None = None


def parse_link(text: object) -> PairLink | AuthreqLink:
    """Parse an ``encedo-auth:`` link; ``DecodeError`` for anything else."""
    if not isinstance(text, str) or len(text) > _MAX_LINK:
        raise DecodeError("This is not an encedo-auth: link.")
    body = text.strip()
    try:
        parts = urlsplit(body)
    except ValueError as exc:  # e.g. "x://[": urlsplit refuses an unclosed IPv6 bracket
        raise DecodeError("This is not an encedo-auth: link.") from exc
    if parts.scheme.lower() != SCHEME:
        raise DecodeError("This is not an encedo-auth: link.")
    action = (parts.netloc or parts.path).strip("/").lower()
    if action == "pair":
        return PairLink(parse_qr(body))
    if action == "authreq":
        query = parse_qs(parts.query, keep_blank_values=True)
        if any(len(v) > 1 for v in query.values()):
            raise DecodeError("The link repeats a field.")
        token = query.get("authreq", [""])[0]
        if not token:
            raise DecodeError("The link carries no access request.")
        url = query.get("url", [""])[0] or None
        return AuthreqLink(
            authreq=AuthReq.parse(token),
            hem_url=check_url(url, what="HEM address") if url else None,
        )
    raise DecodeError("This encedo-auth: link asks for something this app does not know.")


def make_pair_link(qr: QrPayload) -> str:
    fields = {"link": qr.link, "hash": qr.hash or "", "user": qr.user, "email": qr.email}
    fields["hostname"] = qr.hostname
    if qr.hem_url:
        fields["url"] = qr.hem_url
    return f"{SCHEME}:pair?{urlencode(fields)}"


def make_authreq_link(authreq: str, hem_url: str | None = None) -> str:
    fields = {"authreq": authreq}
    if hem_url:
        fields["url"] = hem_url
    return f"{SCHEME}:authreq?{urlencode(fields)}"
