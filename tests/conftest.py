"""Test-suite wide settings: hypothesis profiles and an offscreen Qt platform."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.support_emulator", "tests.support_bus"]

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# No test may touch the developer's real keychain by accident: the tests that want a keychain
# install their own backend, or run against a private gnome-keyring in a subprocess.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

# "ci" is the default budget; `HYPOTHESIS_PROFILE=fuzz` runs the full one (see benchmarks/fuzz).
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
