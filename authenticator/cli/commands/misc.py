"""``emulator``, ``lock``, the desktop app itself, and ``--diagnostics``."""

from __future__ import annotations

import argparse
import os

from authenticator.cli import exitcodes
from authenticator.cli.output import emit


def run_emulator(argv: list[str]) -> int:
    """``authenticator emulator …``: the emulator parses its own options."""
    from authenticator.emulator.server import main as emulator_main

    return emulator_main(argv)


def emulator(args: argparse.Namespace) -> int:
    return run_emulator(list(args.args))


def lock(args: argparse.Namespace) -> int:
    from authenticator.core.agent_client import AgentClient, AgentNotRunning

    try:
        AgentClient.for_home(args.home).lock()
    except AgentNotRunning:
        emit(
            args,
            {"locked": False, "running": False},
            ["The app is not running; nothing is unlocked."],
        )
        return exitcodes.SUCCESS
    emit(args, {"locked": True, "running": True}, ["Locked."])
    return exitcodes.SUCCESS


def start_app(args: argparse.Namespace) -> int:
    """The desktop app (tray); ``--demo`` wires it to a built-in emulator."""
    from authenticator.gui.app import run

    if getattr(args, "demo", False):
        from authenticator.cli.commands.demo import start_demo

        return run(args, demo_starter=start_demo)
    return run(args)


def diagnostics(args: argparse.Namespace) -> int:
    from authenticator.cli.diagnostics import collect, render

    report = collect(args.home, os.environ)
    emit(args, report, render(report))
    return exitcodes.SUCCESS
