"""Package list for setuptools: what ``pyproject.toml`` cannot say on its own.

The app's data (icons, the desktop entry, the AppStream metadata, the autostart entry) lives in the
top-level ``resources/`` directory, where packagers (Flatpak, distributions) expect it.
``[tool.setuptools.package-dir]`` in ``pyproject.toml`` maps that directory to the package
``authenticator.resources.data``, so wheels carry it and editable installs find it; but
pyproject's ``packages.find`` only discovers packages by their directory, never a mapped one, so
the list is made here: every ``authenticator*`` package found on disk, plus the mapped one.
Everything else about the build stays in ``pyproject.toml``.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["authenticator*"]), "authenticator.resources.data"]
)
