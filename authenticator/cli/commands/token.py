"""``token``: a HEM bearer token for a script, after the owner approves.

With the desktop app running, the request goes to it (one click in its window or notification).
Without it, this process asks the HEM itself and the approval happens here, on the terminal.
Only the token is printed on stdout, so ``$(authenticator token --scope …)`` works.
"""

from __future__ import annotations

import argparse
import os
import sys

from authenticator.cli import exitcodes, terminal
from authenticator.cli.commands.requests import who_rows
from authenticator.cli.context import open_core
from authenticator.cli.output import clock_time, in_words
from authenticator.cli.prompt import ask_yes_no, has_terminal, say
from authenticator.core.agent.identity import program_of
from authenticator.core.peer import identify_pid
from authenticator.errors import UserCancelled
from authenticator.protocol.periods import Period


def _print_token(token: str) -> None:
    terminal.out([token], limit=None)  # a token is base64url: the writer leaves it as it is


def _print_json(data: object) -> None:
    sys.stdout.write(terminal.json_text(data, indent=None) + "\n")
    sys.stdout.flush()


def _via_app(args: argparse.Namespace, period: Period) -> int | None:
    """Ask the running app; ``None`` when no app is running for this home."""
    from authenticator.core.agent_client import AgentClient, AgentNotRunning

    try:
        client = AgentClient.for_home(args.home)
        answer = client.token(
            scope=args.scope, hem=args.hem, period=period, write=args.write, reason=args.reason
        )
    except AgentNotRunning:
        return None
    if getattr(args, "json", False):
        _print_json(answer.to_json())
    else:
        _print_token(answer.token)
    return exitcodes.SUCCESS


def run(args: argparse.Namespace) -> int:
    period = Period.parse(args.period)
    code = _via_app(args, period)
    if code is not None:
        return code
    if not has_terminal():
        raise UserCancelled(
            "The authenticator app is not running and there is no terminal to ask you; "
            "start the app (authenticator) and try again."
        )
    core = open_core(args.home)
    try:
        program = program_of(identify_pid(os.getppid()))  # the shell or script that ran us
        entry = core.ask_hem(
            args.scope,
            hem=args.hem,
            period=period,
            write=args.write,
            program=program,
            reason=args.reason,
        )
        req = entry.request
        now = core.clock.now()
        what = req.info.phrase_for(req.hem)
        rows = [*req.info.details, *who_rows(req)]
        say(
            [
                f"{req.title} — a program asks to {what}.",
                *(f"  {label}: {value}" for label, value in rows),
                f"  The request expires in {in_words(req.expires_at - now)}.",
            ]
        )
        if not ask_yes_no(f"{req.grant_text(period, args.write)}: {what}?"):
            core.deny(req.id)
            say("Denied.")
            return exitcodes.DENIED
        grant = core.approve(req.id, period, write=args.write)
        say(f"Approved until {clock_time(grant.exp)}.")
        assert grant.token is not None  # noqa: S101 - a direct grant always carries the token
        if getattr(args, "json", False):
            _print_json(
                {"token": grant.token, "exp": grant.exp, "scope": grant.scope, "hem": req.hem}
            )
        else:
            _print_token(grant.token)
        return exitcodes.SUCCESS
    finally:
        core.close()
