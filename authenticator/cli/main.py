"""The ``authenticator`` command line: argument parsing and dispatch.

The command names, options and exit codes are a stable contract (users, scripts and our own
end-to-end tests call them); docs/cli.md describes them. Every error becomes one sentence on
stderr and a documented exit code; nothing secret is printed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from authenticator import __version__
from authenticator.cli import exitcodes, terminal
from authenticator.errors import AuthenticatorError

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``--home`` and ``--json`` are accepted before or after the command."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=default,
        help="data and configuration directory (default: the platform's; env AUTHENTICATOR_HOME)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="machine-readable output",
    )


def _code(text: str) -> int:
    """``--code``: two digits, 10 to 99 (as the requester shows them)."""
    # imported on use: the parser is built for every command, before any of them loads the core
    from authenticator.core.codes import parse_code

    code = parse_code(text.strip())
    if code is None:
        raise argparse.ArgumentTypeError("a code is two digits, 10 to 99")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authenticator",
        description=(
            "Encedo Desktop Authenticator: approve or deny access to your Encedo HEM with one "
            "click. With no command it starts the desktop app in the tray."
        ),
        epilog="Exit codes: "
        + "; ".join(f"{code} {text}" for code, text in exitcodes.TABLE.items())
        + ".",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common(parser, top=True)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start the built-in HEM + broker emulator and the app wired to it (separate home)",
    )
    parser.add_argument(
        "--diagnostics",
        action="store_true",
        help="print versions, paths and capabilities for a bug report (nothing secret)",
    )
    parser.add_argument("--verbose", "-v", action="count", default=0, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        return p

    p = command("emulator", "run the built-in HEM + broker emulator alone")
    p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    p = command("pair", "pair with a HEM: from its QR code, or directly with --direct")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("qr", nargs="?", metavar="QR_TEXT|LINK", help="the QR code's text or link")
    src.add_argument("--image", metavar="FILE", help="read the QR code from a picture")
    src.add_argument("--screen", action="store_true", help="read the QR code from the screen")
    src.add_argument("--clipboard", action="store_true", help="read the QR code from the clipboard")
    src.add_argument("--direct", metavar="HEM_URL", help="pair directly with a HEM you can reach")
    p.add_argument("--name", help="what this app calls the HEM (default: its hostname)")
    p.add_argument("--label", help='how this computer appears on the HEM (default "<host> (<OS>)")')
    p.add_argument(
        "--hem-passphrase-stdin",
        action="store_true",
        help="read the HEM passphrase (direct pairing) from standard input",
    )
    p.add_argument("--yes", "-y", action="store_true", help="accept without asking")

    command("hems", "list the paired HEMs")

    p = command("requests", "pending requests, in plain words")
    p.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        default=0.0,
        help="wait up to SECONDS for a request to arrive",
    )

    p = command("approve", "approve a pending request")
    p.add_argument("id", metavar="ID")
    p.add_argument("--for", dest="period", default="15m", metavar="15m|1h|8h|24h")
    p.add_argument("--write", action="store_true", help="grant write access (drives only)")
    p.add_argument(
        "--code",
        type=_code,
        metavar="NN",
        help="the two-digit code the requester shows (code matching; a wrong one denies)",
    )

    p = command("deny", "deny a pending request")
    p.add_argument("id", metavar="ID")
    p.add_argument("--report", action="store_true", help="I didn't ask for this: report and mute")

    p = command("token", "print HEM bearer tokens after you approve (for scripts)")
    p.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPE",
        help="the access asked for; repeat it for several in one prompt (at most 8)",
    )
    p.add_argument("--hem", metavar="NAME")
    p.add_argument("--for", dest="period", default="15m", metavar="15m|1h|8h|24h")
    p.add_argument("--write", action="store_true")
    p.add_argument("--reason", help="a few words shown with the request")
    p.add_argument(
        "--export",
        action="store_true",
        help="print NAME=TOKEN lines for eval (ENCEDO_TOKEN_<SCOPE>)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up (exit code 7) when nobody answered in SECONDS",
    )

    p = command("grants", "access in use: tokens that have not expired, remembered rules")
    p.add_argument("--forget", metavar="RULE", help="forget a remembered rule by id, or 'all'")

    p = command("unpair", "unpair a HEM")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--local-only", action="store_true", help="forget it on this computer only")
    p.add_argument(
        "--hem-passphrase-stdin",
        action="store_true",
        help="read the HEM passphrase from standard input to remove the key from the HEM too",
    )

    p = command("journal", "what happened, newest first")
    p.add_argument(
        "--verify",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="check the journal's chain (or that of an exported FILE)",
    )
    p.add_argument("--export", metavar="FILE", help="write the journal to FILE for an audit")
    p.add_argument("--limit", type=int, default=50, metavar="N")

    command("lock", "lock the running app")
    return parser


def _handlers() -> dict[str, Handler]:
    from authenticator.cli.commands import grants, hems, journal, misc, pair, requests, token

    return {
        "emulator": misc.emulator,
        "pair": pair.run,
        "hems": hems.list_hems,
        "unpair": hems.unpair,
        "requests": requests.list_requests,
        "approve": requests.approve,
        "deny": requests.deny,
        "token": token.run,
        "grants": grants.run,
        "journal": journal.run,
        "lock": misc.lock,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if args_list[:1] == ["emulator"]:  # the emulator parses its own options
        from authenticator.cli.commands.misc import run_emulator

        return run_emulator(args_list[1:])
    # ``authenticator encedo-auth:…`` (a clicked link, the .desktop file's %u) opens the app on
    # that link; links are taken out before parsing so they never look like a command.
    links = [a for a in args_list if a.lower().startswith("encedo-auth:")]
    try:
        args = parser.parse_args([a for a in args_list if a not in links])
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else exitcodes.USAGE
    args.links = links
    logging.basicConfig(
        level=logging.DEBUG
        if args.verbose > 1
        else logging.INFO
        if args.verbose
        else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.diagnostics:
            from authenticator.cli.commands.misc import diagnostics

            return diagnostics(args)
        if args.command is None:
            from authenticator.cli.commands.misc import start_app

            return start_app(args)
        return _handlers()[args.command](args)
    except AuthenticatorError as exc:
        terminal.err([f"authenticator: {exc}"])  # a peer's words may be in it: one line, escaped
        return exitcodes.code_for(exc)
    except KeyboardInterrupt:
        terminal.err("authenticator: interrupted.")
        return exitcodes.DENIED
