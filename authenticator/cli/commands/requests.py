"""``requests``, ``approve``, ``deny``."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from authenticator.cli import exitcodes, terminal
from authenticator.cli.context import open_core
from authenticator.cli.output import clock_time, emit, in_words
from authenticator.core.agent_client import AgentClient
from authenticator.core.app import Core
from authenticator.core.codes import CodeRequiredError
from authenticator.core.model import AccessRequest
from authenticator.errors import AuthenticatorError, NoSuchRequestError
from authenticator.protocol.periods import Period


def _text(value: object) -> str:
    """The text of a field, whether the model gives a str or cleaned outside text."""
    return str(getattr(value, "text", value) or "")


def who_rows(req: AccessRequest) -> list[tuple[str, str]]:
    """What outsiders say about the request, each row named with whose claim it is."""
    rows = [(row, value.text) for row, value in req.claims()]
    if req.source == "broker" and not any(row.startswith("Location") for row, _ in rows):
        rows.insert(0, ("Location — reported by the broker", "not reported"))
    return rows


def asked_lines(
    title: str, sentence: str, parts: list[tuple[str, str]], renews_until: int | None
) -> list[str]:
    """What is asked, from the verified scopes: the title and the sentence on one line, or for
    several scopes (a bundle) one line each (``    • List the keys: list the keys on my-hem``);
    a renewal says until when the program already holds the access."""
    if len(parts) > 1:
        lines = [
            f"  Renew {len(parts)} accesses — asks to renew its access to:"
            if renews_until is not None
            else f"  {len(parts)} accesses — asks to:"
        ]
        lines += [f"    • {part_title}: {phrase}" for part_title, phrase in parts]
    else:
        lines = [f"  {title} — {sentence}"]
    if renews_until is not None:
        lines.append(f"  Renewal: it already holds this access until {clock_time(renews_until)}.")
    return lines


def request_lines(req: AccessRequest, now: int) -> list[str]:
    """What a person reads about one request: the verified title and sentence first (a line
    per scope for several), then the details, then who asks (labelled claims). One item per
    terminal line."""
    renew = "renew its access to " if req.is_renewal else ""
    lines = [
        f"{req.id}  {req.hem}  ({req.source}, expires in {in_words(req.expires_at - now)})",
        *asked_lines(
            req.title,
            f"asks to {renew}{req.info.phrase_for(req.hem)}.",
            [(p.title, p.phrase_for(req.hem)) for p in req.parts],
            req.renews_until,
        ),
    ]
    verified = [
        (label, value)
        for part in req.parts
        for label, value in part.info.details
        if " — " not in label
    ]
    rows = [*verified, *who_rows(req)]
    lines += [f"  {label}: {value}" for label, value in rows]
    lines += [f"  Warning: {warning}" for warning in req.warnings]
    if req.codes:
        lines.append(
            "  Code matching: approve it with --code and the two digits the requester shows."
        )
    if req.write_possible:
        lines.append("  Write access can be granted with --write.")
    return lines


class _Arrival:
    """Sets ``event`` when a request arrives (a partial core listener)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def request_added(self, request: AccessRequest) -> None:
        self._event.set()


def _waiting_in_the_app(home: str | None, known: set[str]) -> list[dict[str, Any]]:
    """The requests the running app holds that this process cannot see itself (a local
    program's, a pasted one): listed so nothing waits unseen; answered in the app's window."""
    try:
        held = AgentClient.for_home(home).pending()
    except AuthenticatorError:  # no app, or it is locked: nothing more to list
        return []
    return [r for r in held if r.get("id") not in known and r.get("source") != "broker"]


def _in_app_lines(obj: dict[str, Any], now: int) -> list[str]:
    expires = obj.get("expires_at")
    left = in_words(expires - now) if isinstance(expires, int) else "?"
    parts = obj.get("parts")
    renews = obj.get("renews_until")
    lines = [
        f"{obj.get('id')}  {obj.get('hem')}  ({obj.get('source')}, expires in {left}; waiting "
        "in the app's window — answer it there)",
        *asked_lines(
            str(obj.get("title")),
            str(obj.get("text")),
            [
                (str(p.get("title")), str(p.get("phrase")))
                for p in (parts if isinstance(parts, list) else [])
                if isinstance(p, dict)
            ],
            renews if isinstance(renews, int) else None,
        ),
    ]
    claims = obj.get("claims")
    for claim in claims if isinstance(claims, list) else []:
        if isinstance(claim, dict):
            lines.append(f"  {claim.get('row')}: {claim.get('text')}")
    return lines


def list_requests(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        pending = core.refresh()
        if not pending and args.wait > 0:
            # Wait as the app does: the core's poller brings requests in as they arrive.
            arrived = threading.Event()
            core.add_listener(_Arrival(arrived))
            core.start(agent=False)
            arrived.wait(args.wait)
            pending = core.pending()
        now = core.clock.now()
        in_app = _waiting_in_the_app(args.home, {r.id for r in pending})
        lines = [line for r in pending for line in request_lines(r, now)]
        lines += [line for r in in_app for line in _in_app_lines(r, now)]
        data = [r.to_json() for r in pending] + [{**r, "in_app": True} for r in in_app]
        emit(args, data, lines or ["No pending requests."])
        return exitcodes.SUCCESS
    finally:
        core.close()


def _find(core: Core, request_id: str) -> AccessRequest:
    core.refresh()
    for req in core.pending():
        if req.id == request_id or req.id.lower() == request_id.lower():
            return req
    raise NoSuchRequestError(
        f"No pending request has the id {request_id!r}; 'authenticator requests' lists them."
    )


def approve(args: argparse.Namespace) -> int:
    period = Period.parse(args.period)
    core = open_core(args.home)
    try:
        req = _find(core, args.id)
        try:
            grant = core.approve(req.id, period, write=args.write, code=args.code)
        except CodeRequiredError:
            terminal.err(
                "authenticator: this request needs the code the requester shows: approve it "
                "with --code NN (a wrong code denies it)."
            )
            return exitcodes.USAGE
        text = [
            f"Approved: {req.grant_text(period, args.write)} — {req.phrase} "
            f"(until {clock_time(grant.exp)})."
        ]
        emit(
            args,
            {
                "id": req.id,
                "scope": grant.scope,
                "period": period.flag,
                "write": grant.write,
                "exp": grant.exp,
            },
            text,
        )
        return exitcodes.SUCCESS
    finally:
        core.close()


def deny(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        req = _find(core, args.id)
        core.deny(req.id, report=args.report)
        what = "Denied and reported" if args.report else "Denied"
        emit(
            args,
            {"id": req.id, "denied": True, "reported": args.report},
            [f"{what}: {req.phrase}."],
        )
        return exitcodes.SUCCESS
    finally:
        core.close()
