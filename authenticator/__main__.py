"""``python -m authenticator`` and the ``authenticator`` console script."""

from __future__ import annotations

import sys


def main() -> int:
    if sys.argv[1:2] == ["--portal-helper"]:  # a bundle's desktop-portal helper (gui/portal.py)
        from authenticator.gui.portal import helper_main

        return helper_main(sys.argv[2:])

    from authenticator.core.hardening import protect_process

    # No core files from any authenticator process. The command line stays dumpable so that the
    # running app can read its /proc entry when it asks the agent for a token; the desktop app
    # makes itself undumpable when it starts (gui/app.py).
    protect_process(dumpable=True)

    from authenticator.cli.main import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
