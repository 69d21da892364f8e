"""docs/architecture.md stays true: every module it names exists, and the core's map is whole.

The doc names modules three ways: paths (``core/session.py``), the package map's table (a
package, then its modules in backticks, with sub-packages as ``hem/`` (``device``, …)), and the
layer diagram of the core. A rename or a removal that forgets the doc fails here; so does a new
module of ``authenticator/core`` that the doc does not place.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "authenticator"
PACKAGES = ("protocol", "store", "net", "core", "emulator", "gui", "cli")


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def exists(package: str, name: str) -> bool:
    base = PACKAGE / package / name
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_every_path_named_exists() -> None:
    paths = set(re.findall(r"`?((?:authenticator/)?(?:[a-z_]+/)+[a-z_]+\.py)`?", doc()))
    assert paths
    missing = []
    for path in sorted(paths):
        relative = path.removeprefix("authenticator/")
        if relative.split("/", 1)[0] not in (*PACKAGES, "tests", "docs"):
            continue
        where = ROOT / path if path.startswith(("authenticator/", "tests/")) else PACKAGE / path
        if not where.is_file():
            missing.append(path)
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def package_map() -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z]+)` \| (.+?) \|$", doc(), re.M)
    return dict(rows)


def test_every_module_in_the_package_map_exists() -> None:
    table = package_map()
    assert set(table) == set(PACKAGES)
    missing = []
    for package, cell in table.items():
        if package == "core":
            continue  # mapped in detail in "Inside core"
        # ``hem/`` (``device``, ``auth``) → modules of a sub-package
        for sub, inner in re.findall(r"`([a-z_]+)/` \(([^)]*)\)", cell):
            missing += [
                f"{package}/{sub}/{n}"
                for n in re.findall(r"`([a-z_]+)`", inner)
                if not exists(f"{package}/{sub}", n)
            ]
        outer = re.sub(r"`[a-z_]+/` \([^)]*\)", "", cell)
        missing += [
            f"{package}/{n}" for n in re.findall(r"`([a-z_]+)`", outer) if not exists(package, n)
        ]
    assert not missing, f"the package map names modules that do not exist: {missing}"


def core_modules() -> set[str]:
    found = {p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__"}
    found |= {
        f"agent/{p.stem}" for p in (PACKAGE / "core" / "agent").glob("*.py") if p.stem != "__init__"
    }
    return found


def test_the_core_map_places_every_module_of_the_core() -> None:
    text = doc()
    section = text[text.index("## Inside core") : text.index("## One request's path")]
    unplaced = sorted(m for m in core_modules() if f"core/{m}.py" not in section)
    assert not unplaced, f"docs/architecture.md does not say where these live: {unplaced}"
    layers = section[section.index("```") : section.index("```", section.index("```") + 3)]
    named = set(re.findall(r"\b([a-z_]+)\b", layers))
    unlayered = sorted(m for m in core_modules() if m.split("/")[0] not in named)
    assert not unlayered, f"the core's layer diagram leaves out: {unlayered}"
