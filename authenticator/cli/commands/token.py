"""``token``: HEM bearer tokens for a script, after the owner approves.

With the desktop app running, the request goes to it (one click in its window or notification)
and this process waits, saying so on stderr: "Waiting for approval in Encedo Authenticator…";
while the app is locked, "Encedo Authenticator is locked: unlock it to continue…". When the app
asks for code matching, the code to pick is printed on stderr too ("Approve code 47 in Encedo
Authenticator"). Without the app, this process asks the HEM itself and the approval happens
here, on the terminal; with neither an app nor a terminal it stops at once (exit code 6).

Several ``--scope`` options make one request (at most 8): one prompt, one period, one answer.
Output on stdout only, so ``$(authenticator token --scope …)`` works:

* one scope: the token alone (``--json``: ``{"token", "exp", "scope", "hem"}``);
* several: one ``SCOPE TOKEN`` line each (``--json``: a list with one object per scope);
* ``--export``: ``NAME=TOKEN`` lines for ``eval`` (:func:`export_name`).

A scope that got no token is named on stderr (and in ``--json``) without hiding the others:
exit code 8 when some scopes were granted and others not.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import signal
import sys
from collections.abc import Iterator
from types import FrameType

from authenticator.cli import exitcodes, terminal
from authenticator.cli.commands.requests import who_rows
from authenticator.cli.context import open_core
from authenticator.cli.output import clock_time, in_words
from authenticator.cli.prompt import ask_yes_no, has_terminal, say
from authenticator.core.agent.identity import program_of
from authenticator.core.agent.protocol import MAX_SCOPES, ScopeResult, error_for, refusal
from authenticator.core.agent_client import AgentClient, AgentNotRunning, AgentTimeout
from authenticator.core.codes import new_code
from authenticator.core.model import PartResult
from authenticator.core.peer import identify_pid
from authenticator.errors import AuthenticatorError, DecodeError, UserCancelled
from authenticator.protocol.periods import Period
from authenticator.store.paths import HOME_ENV, AppPaths
from authenticator.store.vault import Vault

__all__ = ["export_name", "run"]

_EXPORT_PREFIX = "ENCEDO_TOKEN_"


def export_name(scope: str) -> str:
    """The shell variable ``--export`` sets for ``scope``: ``ENCEDO_TOKEN_`` and the scope
    without its key details, every run of other characters than ASCII letters and digits as one
    ``_``, in capitals (``keymgmt:list`` → ``ENCEDO_TOKEN_KEYMGMT_LIST``)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", scope.split("#", 1)[0]).strip("_").upper()
    return _EXPORT_PREFIX + (name or "SCOPE")


def _error_name(exc: AuthenticatorError) -> str:
    if isinstance(exc, AgentTimeout):
        return "timeout"
    if isinstance(exc, AgentNotRunning):
        return "no_app"
    return refusal(exc)[0]


def _json_out(data: object) -> None:
    sys.stdout.write(terminal.json_text(data, indent=None) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------- asking the app


def _via_app(
    args: argparse.Namespace, scopes: list[str], period: Period
) -> tuple[str | None, tuple[ScopeResult, ...]] | None:
    """Ask the running app; ``None`` when no app is running for this home."""
    code = new_code()

    def progress(line: dict[str, object]) -> None:
        state = line.get("progress")
        if state == "locked":
            say("Encedo Authenticator is locked: unlock it to continue…")
        elif state == "waiting":
            lines = []
            if line.get("code") is True:
                lines.append(f"Approve code {code} in Encedo Authenticator.")
            if line.get("merged") is True:
                lines.append("This joins the same request of this program, already shown.")
            until = line.get("renews_until")
            if isinstance(until, int) and not isinstance(until, bool):
                lines.append(f"This renews access that ends at {clock_time(until)}.")
            lines.append("Waiting for approval in Encedo Authenticator…")
            say(lines)

    try:
        answer = AgentClient.for_home(args.home).tokens(
            scopes,
            hem=args.hem,
            period=period,
            write=args.write,
            reason=args.reason,
            timeout=args.timeout,
            code=code,
            on_progress=progress,
        )
    except AgentNotRunning:
        return None
    if answer.how == "remembered":
        say("Granted without asking: you asked not to be asked again for this program.")
    elif answer.how == "renewed":
        say("Renewed without asking: you asked to renew this program's access until you lock.")
    return answer.hem, answer.results


# ---------------------------------------------------------------------------- on this terminal


class _Expired(Exception):
    pass


class _Denied(UserCancelled):
    default_message = "Denied."


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """``--timeout`` on the terminal path: the wait (HEM and question) ends after ``seconds``."""
    if seconds is None or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(_sig: int, _frame: FrameType | None) -> None:
        raise _Expired

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Expired:
        raise AgentTimeout("Nobody answered in time; nothing was granted.") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _scope_result(result: PartResult, exp: int | None) -> ScopeResult:
    if result.ok and result.token is not None:
        return ScopeResult(result.scope, result.token, result.granted, exp)
    code, message = refusal(result.error or UserCancelled())
    return ScopeResult(result.scope, error=code, message=message)


def _on_terminal(
    args: argparse.Namespace, scopes: list[str], period: Period
) -> tuple[str | None, tuple[ScopeResult, ...]]:
    core = open_core(args.home)
    try:
        with _deadline(args.timeout):
            program = program_of(identify_pid(os.getppid()))  # the shell or script that ran us
            entry, failures = core.ask_hem_many(
                scopes,
                hem=args.hem,
                period=period,
                write=args.write,
                program=program,
                reason=args.reason,
            )
            if entry is None:
                return None, tuple(_scope_result(f, None) for f in failures)
            req = entry.request
            now = core.clock.now()
            lines = [f"{req.title} — a program asks to {req.phrase}."]
            if req.is_bundle:
                lines += [f"  • {p.title}: {p.phrase_for(req.hem)}" for p in req.parts]
            verified = [d for p in req.parts for d in p.info.details if " — " not in d[0]]
            lines += [f"  {label}: {value}" for label, value in [*verified, *who_rows(req)]]
            lines += [f"  Warning: {warning}" for warning in req.warnings]
            lines.append(f"  The request expires in {in_words(req.expires_at - now)}.")
            say(lines)
            if not ask_yes_no(f"{req.grant_text(period, args.write)}: {req.phrase}?"):
                core.deny(req.id)
                raise _Denied()
            grant = core.approve(req.id, period, write=args.write and req.write_possible)
        say(f"Approved until {clock_time(grant.exp)}.")
        by_scope = {r.scope: r for r in grant.results}
        results: list[ScopeResult] = []
        for scope in dict.fromkeys(scopes):
            failure = next((f for f in failures if f.scope == scope), None)
            granted = next(
                (r for s, r in by_scope.items() if s == scope or s.startswith(scope + "#")), None
            )
            results.append(_scope_result(failure or granted or PartResult(scope), grant.exp))
        return req.hem, tuple(results)
    finally:
        core.close()


# ---------------------------------------------------------------------------- output


def _emit(
    args: argparse.Namespace, scopes: list[str], hem: str | None, results: tuple[ScopeResult, ...]
) -> int:
    json_mode = getattr(args, "json", False)
    for r in results:
        if not r.ok:
            say(f"authenticator: {r.scope}: no token — {r.message or r.error}")
    got = [r for r in results if r.ok and r.token is not None]
    if json_mode:
        if len(scopes) == 1 and got:
            r = got[0]
            _json_out({"token": r.token, "exp": r.exp, "scope": r.granted, "hem": hem})
        elif len(scopes) == 1:
            bad = results[0]
            _json_out({"ok": False, "error": bad.error, "message": bad.message, "scope": bad.scope})
        else:
            _json_out([{**r.to_json(), "hem": hem} for r in results])
    elif args.export:
        names: set[str] = set()
        lines = []
        for r in got:
            name, n = export_name(r.scope), 1
            while name in names:  # two scopes that read alike get _2, _3 …
                n += 1
                name = f"{export_name(r.scope)}_{n}"
            names.add(name)
            lines.append(f"{name}={shlex.quote(r.token or '')}")
        terminal.out(lines, limit=None)
    elif len(scopes) == 1:
        if got:
            terminal.out([got[0].token or ""], limit=None)  # a token is base64url: left as it is
    else:
        terminal.out([f"{r.scope} {r.token}" for r in got], limit=None)
    if len(got) == len(results):
        return exitcodes.SUCCESS
    if got:
        return exitcodes.PARTIAL
    first = results[0]
    return exitcodes.code_for(error_for(first.error or "failed", first.message))


def running_demo_hint(home: str | None) -> str | None:
    """When no app serves the asked home but the demo runs (in a home of its own), how to ask
    it — a newcomer's ``authenticator token`` during ``authenticator --demo``."""
    if home or os.environ.get(HOME_ENV):
        return None
    demo = AppPaths.resolve(None, os.environ).demo()
    try:
        AgentClient(demo.agent_socket).ping()
    except AuthenticatorError:
        return None
    where = shlex.quote(str(demo.data_dir))
    return (
        f"the demo is running in a home of its own: add --home {where} to ask it "
        f"(authenticator --home {where} token …)."
    )


def _has_store(home: str | None) -> bool:
    return Vault.exists(AppPaths.resolve(home, os.environ))


def run(args: argparse.Namespace) -> int:
    try:
        scopes = list(dict.fromkeys(args.scope))
        if len(scopes) > MAX_SCOPES:
            raise DecodeError(
                f"At most {MAX_SCOPES} scopes can be asked for in one request ({len(scopes)} "
                "were given); split them into several requests."
            )
        if args.timeout is not None and not 0 < args.timeout <= 86400:
            raise DecodeError("--timeout is a number of seconds, more than 0 and at most 86400.")
        period = Period.parse(args.period)
        asked = _via_app(args, scopes, period)
        if asked is None:
            hint = running_demo_hint(args.home)
            if not has_terminal() or (hint and not _has_store(args.home)):
                raise AgentNotRunning(
                    "The Encedo Authenticator app is not running"
                    + (
                        f"; {hint}"
                        if hint
                        else " and there is no terminal to ask you on; start "
                        "the app (authenticator) and try again."
                    )
                )
            if hint:
                say(f"Note: {hint}")
            asked = _on_terminal(args, scopes, period)
    except AuthenticatorError as exc:
        if getattr(args, "json", False):
            _json_out({"ok": False, "error": _error_name(exc), "message": str(exc)})
        if isinstance(exc, _Denied):  # the person said no right here: no error to report
            say(str(exc))
            return exitcodes.DENIED
        raise
    hem, results = asked
    return _emit(args, scopes, hem, results)
