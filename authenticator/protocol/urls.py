"""URL rules: which broker links and HEM addresses the app accepts, and their origins.

Links must be ``https://``. The single exception is plain ``http://`` to a loopback host
(``127.0.0.1``, ``localhost``, ``::1``, whole-host match, any port) for local brokers and the
built-in emulator.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from authenticator.errors import DecodeError

__all__ = ["LOOPBACK_HOSTS", "check_url", "is_loopback_url", "origin_of"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_URL = 2048


def _split(url: object, what: str) -> tuple[str, str, str, int | None]:
    """(stripped url, scheme, lower-case host, port) of an http(s) URL."""
    if not isinstance(url, str) or not url.strip() or len(url) > _MAX_URL or not url.isprintable():
        raise DecodeError(f"The {what} is not a web address.")
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise DecodeError(f"The {what} is not a valid web address.") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in {"http", "https"} or not host:
        raise DecodeError(f"The {what} must be an https:// address.")
    if parts.username is not None or parts.password is not None:
        raise DecodeError(f"The {what} must not carry a user name or password.")
    return text, parts.scheme, host, port


def is_loopback_url(url: str) -> bool:
    _, _, host, _ = _split(url, "address")
    return host in LOOPBACK_HOSTS


def check_url(url: object, *, what: str = "link") -> str:
    """Return ``url`` (stripped) if the app may talk to it, else ``DecodeError``."""
    text, scheme, host, _ = _split(url, what)
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise DecodeError(
            f"The {what} must use https:// (plain http is only allowed to this computer)."
        )
    return text


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an accepted URL (IPv6 hosts bracketed)."""
    _, scheme, host, port = _split(check_url(url), "address")
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{shown}" + (f":{port}" if port not in (None, default) else "")
