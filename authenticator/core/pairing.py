"""Pairing with a HEM: by the Manager's QR code (through the broker) or directly.

By QR (design flow 1): read the code → ``GET link`` → check the QR hash against the request the
link serves, the required claims, the expiry, and that this HEM is not paired already — all
before anything is sent → preview → Accept (``POST link``) or Refuse (``DELETE link``).

Directly (flow 2): fetch the HEM's certificate to show its fingerprint (pinned once confirmed) →
passphrase login for ``auth:ext:pair`` → ``ext/init`` with our own ephemeral key (so we verify the
HEM signed the request) → ``ext/validate`` with a fresh 32-byte pid → check the HEM's ``code``.
The passphrase is used for the login only and never stored.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from authenticator.core.journal_kinds import Paired, PairFailed, PairOutcome, PairRefused
from authenticator.core.model import DirectPreview, HemView, PairingPreview
from authenticator.core.pairings import default_label, keys_of
from authenticator.core.session import Session
from authenticator.errors import (
    AlreadyPairedError,
    AuthenticatorError,
    BadResponseError,
    DecodeError,
    ExpiredError,
    Forbidden,
    HemFullError,
    IntegrityError,
    LockedError,
    NotAcceptable,
    NotFound,
    StateError,
    TLSError,
    Unauthorized,
    WrongHemPassphraseError,
)
from authenticator.protocol.access import IpInfo
from authenticator.protocol.keys import KeyPair, PublicKey
from authenticator.protocol.pairing import (
    QrPayload,
    answer_pairing,
    check_pairing_code,
    check_pairing_request,
    new_pid,
    parse_qr,
)
from authenticator.protocol.urls import check_url, origin_of
from authenticator.store.records import PairingRecord

__all__ = ["accept", "pair_direct", "preview_direct", "preview_qr", "refuse"]


def _unique_name(session: Session, wanted: str) -> str:
    taken = {r.name.lower() for r in session.pairings()}
    base = (wanted.strip() or "HEM")[:60]
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base} {n}", n + 1
    return name


def _already_paired(session: Session, eid: str) -> None:
    key = PublicKey.from_b64(eid, what="HEM identity")
    for rec in session.pairings():
        if keys_of(rec).eid == key:
            raise AlreadyPairedError(
                f"This HEM is already paired with this computer as {rec.name!r}."
            )


def preview_qr(session: Session, qr: QrPayload | str) -> PairingPreview:
    """Read the code, fetch what the link serves, and check everything before showing it."""
    payload = parse_qr(qr) if isinstance(qr, str) else qr
    broker_url = origin_of(payload.link)
    try:
        served = session.net.broker(broker_url).get_pairing(payload.link)
    except NotFound as exc:
        raise ExpiredError(
            "The pairing code has expired; ask the Manager to show a new QR code."
        ) from exc
    request = check_pairing_request(
        served["request"], qr_hash=payload.hash, now=session.clock.now()
    )
    _already_paired(session, request.iss)
    return PairingPreview(
        qr=payload,
        request=request,
        location=IpInfo.from_json(served.get("ipinfo_eid")),
        broker_url=broker_url,
        suggested_name=_unique_name(session, payload.hostname or payload.user or "HEM"),
        default_label=default_label(),
    )


def accept(
    session: Session,
    preview: PairingPreview,
    *,
    name: str | None = None,
    label: str | None = None,
) -> HemView:
    """Accept the pairing: a fresh key pair for this HEM, the reply, ``POST link``, store it."""
    if session.locked:
        raise LockedError()
    _already_paired(session, preview.request.iss)
    label = (label or preview.default_label).strip()
    chosen = _unique_name(session, name or preview.suggested_name)
    aid = KeyPair.generate(session.rng)
    answer = answer_pairing(preview.request, aid, label=label)
    try:
        pid = session.net.broker(preview.broker_url).accept_pairing(preview.qr.link, answer.body())
    except NotFound as exc:
        session.record(PairFailed(chosen, PairOutcome.EXPIRED, str(exc)))
        raise ExpiredError("The pairing code expired before it was accepted; try again.") from exc
    except Unauthorized as exc:
        session.record(
            PairFailed(chosen, PairOutcome.UNAUTHORIZED, "The broker refused the pairing.")
        )
        raise StateError("The broker refused the pairing; nothing was stored.") from exc
    except AuthenticatorError as exc:
        session.record(PairFailed(chosen, PairOutcome.FAILED, str(exc), error=exc.code))
        raise
    rec = PairingRecord(
        name=chosen,
        eid=preview.request.eid.b64,
        pid=pid,
        aid=aid.public.b64,
        aid_prv=aid.private.raw,
        label=label,
        hostname=preview.qr.hostname,
        user=preview.qr.user,
        email=preview.qr.email,
        source="broker",
        broker_url=preview.broker_url,
        hem_url=preview.qr.hem_url,
        cert_sha256=None,
        kid=None,
        paired_at=session.clock.now(),
    )
    session.vault.put_pairing(rec)
    session.record(
        Paired(
            rec.name,
            f"Paired with {rec.hostname or rec.name} through the broker; it knows this computer "
            f"as {label!r}.",
            {
                "hostname": rec.hostname,
                "user": rec.user,
                "email": rec.email,
                "label": label,
                "source": "broker",
                "broker": rec.broker_url,
                "fingerprint_checked": preview.has_fingerprint,
                "location": preview.location.describe(),
            },
        )
    )
    session.pairings_changed()
    return HemView.of(rec)


def refuse(session: Session, preview: PairingPreview) -> None:
    """Refuse: ``DELETE link`` with a reply made with a throwaway key (never a kept secret)."""
    answer = answer_pairing(
        preview.request, KeyPair.generate(session.rng), label=preview.default_label
    )
    told = "the broker was told"
    try:
        session.net.broker(preview.broker_url).refuse_pairing(preview.qr.link, answer.body())
    except AuthenticatorError as exc:
        told = f"the broker could not be told ({exc.code})"
    session.record(
        PairRefused(
            preview.qr.hostname or None,
            f"A pairing with {preview.qr.hostname or 'a HEM'} was refused; {told}.",
            {"hostname": preview.qr.hostname, "user": preview.qr.user},
        )
    )


# ---------------------------------------------------------------------------- direct


def preview_direct(session: Session, url: str) -> DirectPreview:
    """Reach the HEM at ``url``; fetch its certificate (https) to show before trusting it."""
    clean = check_url(url, what="HEM address").rstrip("/")
    certificate = None
    trusted = True
    if clean.startswith("https://"):
        certificate = session.net.certificate(clean)
        try:
            with session.net.hem(clean) as hem:
                version = hem.version()
        except TLSError:
            trusted = False
            with session.net.hem(clean, pinned_cert=certificate.pem) as hem:
                version = hem.version()
    else:
        with session.net.hem(clean) as hem:
            version = hem.version()
    firmware = version.get("fwv")
    return DirectPreview(
        url=clean,
        certificate=certificate,
        trusted_by_system=trusted,
        hostname=urlsplit(clean).hostname or clean,
        firmware=firmware if isinstance(firmware, str) else "",
    )


def pair_direct(
    session: Session,
    preview: DirectPreview,
    passphrase: str,
    *,
    name: str | None = None,
    label: str | None = None,
) -> HemView:
    """Pair with a reachable HEM using its passphrase (used once, never stored)."""
    if session.locked:
        raise LockedError()
    label = (label or default_label()).strip()
    pinned = preview.certificate.pem if preview.needs_pin and preview.certificate else None
    now = session.clock.now()
    with session.net.hem(preview.url, pinned_cert=pinned) as hem:
        try:
            token = hem.login(passphrase, scope="auth:ext:pair", now=now, lifetime=600)
        except Unauthorized as exc:
            raise WrongHemPassphraseError() from exc
        except Forbidden as exc:
            raise StateError(
                "The HEM refused the login because its clock is not set; let the Encedo Manager "
                "check it in, then try again."
            ) from exc
        config = hem.config(token)
        eid = config.get("eid")
        if not isinstance(eid, str):
            raise BadResponseError("The HEM's configuration has no identity (eid).")
        _already_paired(session, eid)
        epk = KeyPair.generate(session.rng)
        request_text, _ = hem.ext_init(token, epk.public.b64)
        request = check_pairing_request(request_text, qr_hash=None, now=now)
        request.verify_signature(epk)
        if eid not in (request.iss, request.eid.b64):
            raise IntegrityError("The HEM's pairing request names another identity.")
        aid = KeyPair.generate(session.rng)
        answer = answer_pairing(request, aid, label=label)
        pid = new_pid(session.rng)
        try:
            result = hem.ext_validate(token, pid, answer.reply)
        except NotAcceptable as exc:
            raise HemFullError() from exc
        check_pairing_code(result.code, reply=answer.reply, epk=epk, eid=request.eid)

    def text(key: str) -> str:
        value = config.get(key)
        return value if isinstance(value, str) else ""

    hostname = text("hostname") or preview.hostname
    try:
        rec = PairingRecord(
            name=_unique_name(session, name or hostname),
            eid=request.eid.b64,
            pid=pid,
            aid=aid.public.b64,
            aid_prv=aid.private.raw,
            label=label,
            hostname=hostname,
            user=text("user"),
            email=text("email"),
            source="direct",
            broker_url=None,
            hem_url=preview.url,
            cert_sha256=preview.certificate.sha256 if pinned and preview.certificate else None,
            kid=result.kid,
            paired_at=now,
        )
    except DecodeError as exc:
        raise BadResponseError(f"The HEM's details cannot be stored: {exc}") from exc
    if pinned:
        rec = rec.replace(cert_pem=pinned)
    session.vault.put_pairing(rec)
    session.record(
        Paired(
            rec.name,
            f"Paired directly with {hostname}; it knows this computer as {label!r}.",
            {
                "hostname": hostname,
                "user": rec.user,
                "label": label,
                "source": "direct",
                "url": preview.url,
                "certificate": rec.cert_sha256,
            },
        )
    )
    session.pairings_changed()
    return HemView.of(rec)
