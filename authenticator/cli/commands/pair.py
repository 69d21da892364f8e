"""``pair``: from a QR code (text, link, picture, screen, clipboard) or directly with a HEM."""

from __future__ import annotations

import argparse
import sys

from authenticator.cli import exitcodes
from authenticator.cli.context import open_core
from authenticator.cli.output import emit
from authenticator.cli.prompt import ask_passphrase, ask_yes_no, has_terminal, say
from authenticator.core.app import Core
from authenticator.core.model import DirectPreview, PairingPreview
from authenticator.errors import UserCancelled


def _qr_text(args: argparse.Namespace) -> str:
    if args.qr:
        return str(args.qr)
    if args.image:
        from authenticator.core.qrimage import decode_image_file

        return decode_image_file(args.image)
    from authenticator.gui.capture import clipboard_qr_text, screen_qr_text

    return screen_qr_text() if args.screen else clipboard_qr_text()


def _confirm(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not has_terminal():
        raise UserCancelled("Nothing was paired: there is no terminal to confirm on; add --yes.")
    return ask_yes_no(question)


def _show_preview(preview: PairingPreview) -> None:
    qr = preview.qr
    where = preview.location.describe()
    lines = [
        "Pairing request (as the pairing code states it; nothing here is verified yet)",
        f"  HEM:        {qr.hostname or '(not given)'}",
        f"  User:       {qr.user or '(not given)'}",
        f"  E-mail:     {qr.email or '(not given)'}",
        f"  Shown from — reported by the broker: {where or 'unknown'}",
        f"  Broker:     {preview.broker_url}",
    ]
    if not preview.has_fingerprint:
        lines.append(
            "  Note: this code carries no fingerprint of the request; pair only if you just"
        )
        lines.append("  opened it in your own Encedo Manager.")
    say(lines)


def _by_qr(core: Core, args: argparse.Namespace) -> int:
    preview = core.preview_qr(_qr_text(args))
    _show_preview(preview)
    if not _confirm(args, "Accept this pairing?"):
        core.refuse_pairing(preview)
        say("Refused; the Manager was told.")
        return exitcodes.DENIED
    hem = core.accept_pairing(preview, name=args.name, label=args.label)
    emit(
        args,
        hem.to_json(),
        [f"Paired with {hem.hostname or hem.name}; this app calls it {hem.name!r}."],
    )
    return exitcodes.SUCCESS


def _show_direct(preview: DirectPreview) -> None:
    lines = [f"HEM at {preview.url}"]
    if preview.firmware:
        lines.append(f"  Firmware — as the HEM reports it: {preview.firmware}")
    if preview.certificate is not None:
        trust = (
            "trusted by this computer"
            if preview.trusted_by_system
            else "NOT signed by a known authority"
        )
        lines.append(f"  Certificate ({trust}), SHA-256:")
        lines.append(f"    {preview.certificate.grouped}")
        if preview.needs_pin:
            lines.append("  Compare it with the fingerprint your HEM shows; it will be pinned.")
    say(lines)


def _direct(core: Core, args: argparse.Namespace) -> int:
    preview = core.preview_direct(args.direct)
    _show_direct(preview)
    if preview.needs_pin and not _confirm(args, "Trust this certificate and continue?"):
        return exitcodes.DENIED
    if args.hem_passphrase_stdin:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    elif has_terminal():
        passphrase = ask_passphrase("HEM passphrase (used once, never stored): ")
    else:
        raise UserCancelled(
            "Nothing was paired: give the HEM passphrase with --hem-passphrase-stdin."
        )
    hem = core.pair_direct(preview, passphrase, name=args.name, label=args.label)
    emit(
        args,
        hem.to_json(),
        [f"Paired directly with {hem.hostname}; this app calls it {hem.name!r}."],
    )
    return exitcodes.SUCCESS


def run(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        return _direct(core, args) if args.direct else _by_qr(core, args)
    finally:
        core.close()
