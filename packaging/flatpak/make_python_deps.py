#!/usr/bin/env python3
"""Regenerate ``python-deps.json``: the app's Python dependencies as Flatpak sources.

    python3 packaging/flatpak/make_python_deps.py

flatpak-builder builds without network, so every dependency is a pinned file with its sha256,
as flatpak-pip-generator would write it. This asks pip (from PyPI, ignoring local pip
configuration) which wheels ``pyproject.toml``'s dependencies resolve to for the runtime's
Python and glibc, and writes one module installing them all. ``python-build-deps`` (setuptools
and wheel, to build the app itself) is removed from the finished app by its ``cleanup``.
Re-run it after changing the dependencies; tests/packaging/test_flatpak.py checks it is current.
Standard library only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUTPUT = HERE / "python-deps.json"
# The runtime in com.encedo.Authenticator.json (KDE 6.8 = freedesktop 24.08: Python 3.12,
# glibc 2.39).
PYTHON = "3.12"
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 40)] + ["manylinux2014_x86_64"]
BUILD_REQUIREMENTS = ["setuptools>=68", "wheel"]


def resolve(requirements: list[str]) -> list[dict[str, str]]:
    """Name, version, url and sha256 of every wheel ``requirements`` resolve to."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--quiet",
            "--ignore-installed", "--report", str(report), "--only-binary=:all:",
            "--python-version", PYTHON, "--implementation", "cp", "--target", str(Path(tmp) / "t"),
            "--index-url", "https://pypi.org/simple",
            *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
            *requirements,
        ]  # fmt: skip
        subprocess.run(cmd, check=True)
        data = json.loads(report.read_text())
    wheels = []
    for item in data["install"]:
        info = item["download_info"]
        wheels.append(
            {
                "name": item["metadata"]["name"],
                "version": item["metadata"]["version"],
                "url": info["url"],
                "sha256": info["archive_info"]["hashes"]["sha256"],
            }
        )
    return sorted(wheels, key=lambda w: w["name"].lower())


def module(name: str, wheels: list[dict[str, str]], *, build_only: bool) -> dict[str, object]:
    install = (
        "pip3 install --verbose --exists-action=i --no-index --no-deps --no-build-isolation "
        '--find-links="file://${PWD}" --prefix=${FLATPAK_DEST} *.whl'
    )
    out: dict[str, object] = {
        "name": name,
        "buildsystem": "simple",
        "build-commands": [install],
        "sources": [
            {"type": "file", "url": wheel["url"], "sha256": wheel["sha256"]} for wheel in wheels
        ],
    }
    if build_only:
        out["cleanup"] = ["*"]  # needed to build the app, not to run it
    return out


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = resolve(list(project["dependencies"]))
    build = resolve(BUILD_REQUIREMENTS)
    manifest = {
        "name": "python-deps",
        "buildsystem": "simple",
        "build-commands": [],
        "modules": [
            module("python-build-deps", build, build_only=True),
            module("python-runtime-deps", runtime, build_only=False),
        ],
    }
    OUTPUT.write_text(json.dumps(manifest, indent=2) + "\n")
    for wheel in runtime:
        print(f"{wheel['name']} {wheel['version']}")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
