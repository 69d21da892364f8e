"""Words a person can act on: no decoder jargon, key types in words, one wording for a denial.

* A pasted or read code that does not decode ("The access request header is not valid JSON")
  becomes what to do: the pairing wizard asks to show the QR code again, the Requests page to
  copy the request again.
* A key-use request shows its key type in words ("Ed25519 signing key"), never the HEM's flag
  names.
* Deny says the same sentence wherever it is given — the window's button, the request's
  notification (through the core), the journal.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from authenticator.core.app import Core
from authenticator.emulator.requester import Requester
from authenticator.gui.context import AppContext
from authenticator.gui.windows.main import MainWindow
from authenticator.gui.windows.pairing import PairingWizard
from authenticator.protocol.b64 import b64encode
from tests.gui.conftest import bring_in, paired

NOT_CODES = ["{", "eyJhbGciOiJ9.e30.x", "abc.def.ghi", "e30.e30.e30", "garbage"]
JARGON = ("JSON", "header", "malformed", "base64", "scope map", "decode")


@pytest.mark.parametrize("text", NOT_CODES)
def test_the_pairing_wizard_says_what_to_do_with_a_code_it_cannot_read(
    qtbot: QtBot, ctx: AppContext, text: str
) -> None:
    wizard = PairingWizard(ctx)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.read_text(text)
    qtbot.waitUntil(lambda: wizard.source_banner.kind == "error", timeout=10_000)
    said = wizard.source_banner.text()
    assert said.startswith("This is not a pairing code from the Encedo Manager.")
    assert "Show the QR code again" in said
    assert not any(word.lower() in said.lower() for word in JARGON), said


@pytest.mark.parametrize("text", NOT_CODES)
def test_a_pasted_text_that_is_nothing_says_what_to_do(
    qtbot: QtBot, window: MainWindow, text: str
) -> None:
    page = window.requests
    page.open_text(text)
    qtbot.waitUntil(lambda: page.banner.kind == "error", timeout=10_000)
    said = page.banner.text()
    assert "Copy it again" in said
    assert not any(word.lower() in said.lower() for word in JARGON), said


def test_a_key_type_is_in_words(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester
) -> None:
    paired(core, requester)
    kid = requester.find_key("PGP main")
    meta = b64encode(b'{"t":"AC16","l":"PGP main"}')
    rid = bring_in(qtbot, core, requester.request_access(f"keymgmt:use:{kid}#{meta}"))
    window.show_request(rid)
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    shown = " ".join(
        w.text() for i in range(view.form.count()) if (w := view.form.itemAt(i).widget())
    )
    assert "Ed25519 signing key" in shown
    assert "ED25519" not in shown
    assert "ExDSA" not in shown


@pytest.mark.parametrize("where", ["window", "notification"])
def test_deny_says_one_thing_wherever_it_is_given(
    qtbot: QtBot, window: MainWindow, core: Core, requester: Requester, where: str
) -> None:
    paired(core, requester)
    rid = bring_in(qtbot, core, requester.request_access("logger:get"))
    view = window.requests.view
    qtbot.waitUntil(lambda: view.request is not None and view.request.id == rid)
    if where == "window":
        qtbot.mouseClick(view.deny_button, Qt.MouseButton.LeftButton)
    else:
        core.deny(rid)  # what the notification's Deny does
    qtbot.waitUntil(lambda: view.state == "done", timeout=10_000)
    journal = core.journal_entries()[0]
    assert journal.kind == "request.denied"
    assert journal.text in view.banner.text()
    assert journal.text.startswith("Denied: read the audit log of ")
    assert view.deny_button.text().replace("&", "") == "Deny"  # the bubble's action, too
