"""Qt's own tray balloon is readable in both themes (WCAG AA, 4.5:1), measured on a real X server.

Under an XEmbed tray host (trayer) Qt draws its balloon itself: a pale yellow ``QBalloonTip``
whose labels took the app's text colour — light grey on pale yellow in the dark theme, 1.2:1.
The theme's style sheet now gives the balloon the theme's tooltip colours. The balloon is shown
by a child process on the session's display (``balloon_side.py``), grabbed, and each label's
darkest-against-lightest pixel is compared with the balloon's background beside it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.desktop.session import private_desktop_session

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parents[3]
TEXT = 4.5


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_tray_balloon_text_is_readable(tmp_path: Path, theme: str) -> None:
    with private_desktop_session(
        tmp_path / "x11", tray=True, notifications=False, keyring=False
    ) as env:
        done = subprocess.run(
            [sys.executable, "-m", "tests.gui.desktop.balloon_side", theme],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    report = json.loads(lines[-1])
    assert "error" not in report, report
    texts = [label["text"] for label in report["labels"]]
    assert "A request is waiting" in texts
    for label in report["labels"]:
        assert label["ratio"] >= TEXT, label
        assert label["palette_ratio"] >= TEXT, label
