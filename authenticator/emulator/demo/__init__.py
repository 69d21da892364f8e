"""The demo Manager page: a small web page, served by the emulator at ``/demo/``, that plays the
Encedo Manager in a browser (pair an authenticator by QR code, ask for access, see the token).

``backend.py`` drives a :class:`~authenticator.emulator.requester.Requester` against the
emulator's own URLs; ``routes.py`` serves the static page and its JSON endpoints.
"""

from __future__ import annotations

from authenticator.emulator.demo.routes import demo_routes

__all__ = ["demo_routes"]
