"""The bundle's entry script (PyInstaller needs a file): exactly the ``authenticator`` command."""

from __future__ import annotations

import sys

from authenticator.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
