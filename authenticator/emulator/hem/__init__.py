"""The emulated HEM: a faithful stand-in for an Encedo HEM's HTTP API (spec/hem-api.md).

:class:`HemDevice` holds one device's state and knobs; :mod:`.auth`, :mod:`.system` and
:mod:`.keyops` are its endpoints; :class:`~.routes.HemApp` serves them over HTTP with the
device's global rules; :mod:`.crypto` holds the HEM-side computations, pure and tested directly.
"""

from __future__ import annotations

from authenticator.emulator.hem.device import HemDevice, Principal, Refusal
from authenticator.emulator.hem.model import HemConfig, HemState

__all__ = ["HemConfig", "HemDevice", "HemState", "Principal", "Refusal"]
