"""The hand-kept package list in pyproject.toml matches the packages on disk."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_on_disk_is_listed() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    on_disk = {
        p
        for p in find_namespace_packages(where=str(ROOT), include=["authenticator*"])
        if (ROOT / p.replace(".", "/") / "__init__.py").exists()
    }
    missing = sorted(on_disk - listed)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert "authenticator.resources.data" in listed
    stale = sorted(p for p in listed - on_disk if p != "authenticator.resources.data")
    assert not stale, f"remove these from [tool.setuptools] packages: {stale}"


def test_the_top_level_is_exactly_the_product_layout() -> None:
    tracked = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}
    ignored = {"build", "dist", "encedo_authenticator.egg-info", "shots"}
    allowed = {
        "pyproject.toml",
        "authenticator",
        "resources",
        "tests",
        "packaging",
        "README.md",
        "docs",
        "benchmarks",
    }
    assert tracked - ignored <= allowed, sorted(tracked - ignored - allowed)
