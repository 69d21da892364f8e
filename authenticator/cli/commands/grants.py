"""``grants [--forget RULE|all]``: access in use, asked of the running app.

Lists every token the app handed out that has not expired (who got it, the scope in words, the
HEM, until when, how it was approved) and every remembered rule, with its id for ``--forget``.
The list lives in the running app only (it is never written to disk), so without the app this
command says so (exit code 6). A HEM token cannot be revoked: the listing says so, and
forgetting a rule only stops new tokens.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from authenticator.cli import exitcodes
from authenticator.cli.output import clock_time, emit, in_words
from authenticator.core.agent_client import AgentClient, AgentNotRunning

__all__ = ["run"]

_HOW = {
    "clicked": "you approved it",
    "remembered": "without asking (don't ask again)",
    "renewed": "renewed without asking",
}


def _grant_lines(grants: list[dict[str, Any]], now: int) -> list[str]:
    lines = ["Access in use (tokens handed out that have not expired):"]
    if not grants:
        lines.append("  none")
    for g in grants:
        exp = int(g.get("expires_at") or 0)
        holders = int(g.get("holders") or 1)
        shared = f", handed to {holders} waiting clients" if holders > 1 else ""
        lines.append(
            f"  {g.get('title')} — {g.get('text')}; to {g.get('who')}; "
            f"until {clock_time(exp)} (in {in_words(exp - now)}); "
            f"{_HOW.get(str(g.get('how')), str(g.get('how')))}{shared}."
        )
    return lines


def _rule_lines(rules: list[dict[str, Any]]) -> list[str]:
    lines = ["Remembered (forget with: authenticator grants --forget ID):"]
    if not rules:
        lines.append("  none")
    for r in rules:
        who = r.get("script") or r.get("path") or r.get("program")
        if r.get("kind") == "renew":
            what = (
                f"renew {str(r.get('title')).lower()} on {r.get('hem')} without asking, "
                f"{r.get('period')} at a time, until {clock_time(int(r.get('until') or 0))} "
                "or the app locks"
            )
        else:
            what = (
                f"don't ask again for {str(r.get('title')).lower()} on {r.get('hem')} until "
                f"{clock_time(int(r.get('until') or 0))} or the app locks"
            )
        lines.append(f"  {r.get('id')}  {r.get('program')} ({who}): {what}.")
    return lines


def run(args: argparse.Namespace) -> int:
    client = AgentClient.for_home(args.home)
    try:
        if args.forget:
            forgotten = client.forget(args.forget)
            text = (
                [f"Forgot {', '.join(forgotten)}."]
                if forgotten
                else [f"There is no remembered rule {args.forget!r}; nothing was forgotten."]
            )
            emit(args, {"running": True, "forgotten": forgotten}, text)
            return exitcodes.SUCCESS if forgotten or args.forget == "all" else exitcodes.OTHER
        answer = client.grants()
    except AgentNotRunning:
        message = (
            "Encedo Authenticator is not running, so nothing in use is known here (the list "
            "lives in the running app). Tokens it handed out earlier stay valid until they expire."
        )
        emit(args, {"running": False, "message": message}, [message])
        return exitcodes.NO_APP
    grants = list(answer.get("grants") or [])
    rules = list(answer.get("rules") or [])
    note = str(answer.get("note") or "")
    now = int(time.time())
    emit(
        args,
        {"running": True, "grants": grants, "rules": rules, "note": note},
        [*_grant_lines(grants, now), *_rule_lines(rules), note],
    )
    return exitcodes.SUCCESS
