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
    say("Pairing request")
    say(f"  HEM:       {qr.hostname or '(not given)'}")
    say(f"  User:      {qr.user or '(not given)'}  {qr.email}")
    where = preview.location.describe()
    say(f"  Shown from: {where or 'unknown'}")
    say(f"  Broker:    {preview.broker_url}")
    if not preview.has_fingerprint:
        say("  Note: this code carries no fingerprint of the request; pair only if you just")
        say("  opened it in your own Encedo Manager.")


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
        f"Paired with {hem.hostname or hem.name}; this app calls it {hem.name!r}.",
    )
    return exitcodes.SUCCESS


def _show_direct(preview: DirectPreview) -> None:
    say(f"HEM at {preview.url}")
    if preview.firmware:
        say(f"  Firmware: {preview.firmware}")
    if preview.certificate is not None:
        trust = (
            "trusted by this computer"
            if preview.trusted_by_system
            else "NOT signed by a known authority"
        )
        say(f"  Certificate ({trust}), SHA-256:")
        say(f"    {preview.certificate.grouped}")
        if preview.needs_pin:
            say("  Compare it with the fingerprint your HEM shows; it will be pinned.")


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
        args, hem.to_json(), f"Paired directly with {hem.hostname}; this app calls it {hem.name!r}."
    )
    return exitcodes.SUCCESS


def run(args: argparse.Namespace) -> int:
    core = open_core(args.home)
    try:
        return _direct(core, args) if args.direct else _by_qr(core, args)
    finally:
        core.close()
