"""TLS for HEMs with their own (often self-signed) certificate: look, confirm, then pin.

A HEM on the desk usually has a certificate no public authority signed. The app fetches it
without trusting it (:func:`fetch_certificate`), shows its SHA-256 fingerprint in the pairing
preview, and — once the person confirms — pins it: :func:`pinned_context` trusts *that
certificate only* (as its own trust anchor, whatever its issuer, name or dates), so a different
certificate, even one a public authority signed, is refused before any byte of a request is sent.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from authenticator.errors import ConnectError, NetTimeoutError, TLSError, TransportError

__all__ = ["CertificateInfo", "fetch_certificate", "fingerprint", "pinned_context"]

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: a pin is about identity, not dates (a desk HEM's
# self-signed certificate may well have expired). Python does not name the flag.
_NO_CHECK_TIME = 0x200000


def fingerprint(der: bytes) -> str:
    """SHA-256 of the DER certificate, lowercase hex."""
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """A certificate as fetched (untrusted): PEM, DER fingerprint."""

    pem: str
    sha256: str

    @property
    def grouped(self) -> str:
        """The fingerprint as people compare it: ``AB:CD:…``."""
        return ":".join(self.sha256[i : i + 2] for i in range(0, len(self.sha256), 2)).upper()


def fetch_certificate(url: str, *, timeout: float = 5.0) -> CertificateInfo:
    """Fetch the certificate an ``https://`` server presents, without trusting it."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise TransportError("Only an https:// address has a certificate to check.")
    host, port = parts.hostname, parts.port or 443
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we only look; trust comes from the person's confirmation
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            ctx.wrap_socket(sock, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except TimeoutError as exc:
        raise NetTimeoutError(f"{host}:{port} did not answer in time.") from exc
    except ssl.SSLError as exc:
        raise TLSError(f"{host}:{port} did not complete a TLS handshake.") from exc
    except OSError as exc:
        raise ConnectError(f"Could not connect to {host}:{port}; check the address.") from exc
    if not der:  # pragma: no cover - a TLS server always presents a certificate to us
        raise TLSError(f"{host}:{port} presented no certificate.")
    return CertificateInfo(pem=ssl.DER_cert_to_PEM_cert(der), sha256=fingerprint(der))


def pinned_context(pem: str) -> ssl.SSLContext:
    """An SSL context that trusts exactly the certificate ``pem`` and nothing else."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False  # the pin names the server; a desk HEM is often reached by IP
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ctx.load_verify_locations(cadata=pem)
    except ssl.SSLError as exc:
        raise TLSError("The pinned certificate is damaged; pair the HEM again.") from exc
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | _NO_CHECK_TIME
    return ctx
