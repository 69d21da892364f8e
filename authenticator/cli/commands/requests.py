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


def _describe(req: AccessRequest, now: int) -> str:
    lines = [
        f"{req.id}  {req.hem}  ({req.source}, expires in {in_words(req.expires_at - now)})",
        f"  {req.title}: {req.text}",
    ]
    lines += [f"  {label}: {value}" for label, value in req.info.details]
    if req.reason:
        lines.append(f"  Reason given (not verified): {req.reason}")
    if req.write_possible:
        lines.append("  Write access can be granted with --write.")
    return "\n".join(lines)


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
        text = "\n".join(_describe(r, now) for r in pending) or "No pending requests."
        emit(args, [r.to_json() for r in pending], text)
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
        text = (
            f"Approved: {req.grant_text(period, args.write)} — {req.info.phrase_for(req.hem)} "
            f"(until {clock_time(grant.exp)})."
        )
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
            f"{what}: {req.info.phrase_for(req.hem)}.",
        )
        return exitcodes.SUCCESS
    finally:
        core.close()
