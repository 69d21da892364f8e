"""``requests``, ``approve``, ``deny``."""

from __future__ import annotations

import argparse
import time

from authenticator.cli import exitcodes
from authenticator.cli.context import open_core
from authenticator.cli.output import clock_time, emit, in_words
from authenticator.core.app import Core
from authenticator.core.model import AccessRequest
from authenticator.errors import NoSuchRequestError
from authenticator.protocol.periods import Period


def _text(value: object) -> str:
    """The text of a field, whether the model gives a str or cleaned outside text."""
    return str(getattr(value, "text", value) or "")


def who_rows(req: AccessRequest) -> list[tuple[str, str]]:
    """Who asks, each row named with whose claim it is (none of it is verified)."""
    rows: list[tuple[str, str]] = []
    if req.program is not None:
        rows.append(("Program — claimed by the program", req.program.describe()))
        if req.program.path:
            rows.append(("Path", _text(req.program.path)))
    elif req.source == "broker":
        where = req.location.describe()
        rows.append(("From — reported by the broker", where or "not reported"))
    if req.reason:
        name = "Reason — claimed by the program" if req.program else "Their note — not verified"
        rows.append((name, _text(req.reason)))
    return rows


def request_lines(req: AccessRequest, now: int) -> list[str]:
    """What a person reads about one request: the verified title and sentence first, then the
    details, then who asks (labelled claims). One item per terminal line."""
    lines = [
        f"{req.id}  {req.hem}  ({req.source}, expires in {in_words(req.expires_at - now)})",
        f"  {req.title} — asks to {req.info.phrase_for(req.hem)}.",
    ]
    rows = [*req.info.details, *who_rows(req)]
    lines += [f"  {label}: {value}" for label, value in rows]
    if req.write_possible:
        lines.append("  Write access can be granted with --write.")
    return lines


def list_requests(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        deadline = time.monotonic() + max(0.0, args.wait)
        pending = core.refresh()
        while not pending and time.monotonic() < deadline:
            time.sleep(
                min(float(core.settings.poll_interval_s), max(0.05, deadline - time.monotonic()))
            )
            pending = core.refresh()
        now = core.clock.now()
        lines = [line for r in pending for line in request_lines(r, now)]
        emit(args, [r.to_json() for r in pending], lines or ["No pending requests."])
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
        grant = core.approve(req.id, period, write=args.write)
        text = [
            f"Approved: {req.grant_text(period, args.write)} — {req.info.phrase_for(req.hem)} "
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
            [f"{what}: {req.info.phrase_for(req.hem)}."],
        )
        return exitcodes.SUCCESS
    finally:
        core.close()
