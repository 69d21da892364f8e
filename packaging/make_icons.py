#!/usr/bin/env python3
"""Generate the app's icon set: the SVGs from one shared geometry, then the PNG renderings.

    python3 packaging/make_icons.py            write the SVGs and render the PNGs (rsvg-convert)
    python3 packaging/make_icons.py --svg      write the SVGs only (no renderer needed)
    python3 packaging/make_icons.py --check    exit 1 when a committed SVG differs from this script

Every icon is drawn from the same shield, check mark, padlock and badge, so the app icon, the
monochrome (symbolic) tray icon and the tray's state variants always agree. The SVGs use only
what Qt's SVG renderer (SVG Tiny 1.2) draws: paths, circles and rectangles with plain fills and
strokes; no masks, filters, gradients or clip paths. The PNGs are committed; rendering them needs
``rsvg-convert`` (Debian: ``apt-get install librsvg2-bin``).

Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons" / "hicolor"
APP_ID = "com.encedo.Authenticator"
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)

# The palette: a deep blue-teal shield, lit on its right half; white marks; an amber badge.
SHIELD_DARK = "#0b5f86"
SHIELD_LIGHT = "#1283b3"
RIM = "#08476a"
MARK = "#ffffff"
BADGE = "#f59e0b"
GREY_DARK = "#7d8a92"
GREY_LIGHT = "#98a4ab"
GREY_RIM = "#66727a"
GREY_MARK = "#eef1f3"
SYMBOLIC = "#2e3436"  # the freedesktop symbolic colour (themes recolour it)

# Geometry on a 128 × 128 canvas.
SHIELD = "M64 6C79 17 96 21 114 21V58C114 89 94 111 64 123C34 111 14 89 14 58V21C32 21 49 17 64 6Z"
SHIELD_RIGHT = "M64 6C79 17 96 21 114 21V58C114 89 94 111 64 123Z"
CHECK = ((38, 64), (56, 82), (91, 47))
CHECK_WIDTH = 14.0
BADGE_CENTER = (104.0, 24.0)
BADGE_RADIUS = 20.0


def _svg(body: str, *, title: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="128" height="128" '
        'viewBox="0 0 128 128">\n'
        f"  <title>{title}</title>\n{body}</svg>\n"
    )


def _shield(dark: str, light: str, rim: str) -> str:
    return (
        f'  <path d="{SHIELD}" fill="{dark}"/>\n'
        f'  <path d="{SHIELD_RIGHT}" fill="{light}"/>\n'
        f'  <path d="{SHIELD}" fill="none" stroke="{rim}" stroke-width="3" '
        'stroke-linejoin="round"/>\n'
    )


def _check(colour: str) -> str:
    points = " ".join(f"{x},{y}" for x, y in CHECK)
    return (
        f'  <polyline points="{points}" fill="none" stroke="{colour}" '
        f'stroke-width="{CHECK_WIDTH:g}" stroke-linecap="round" stroke-linejoin="round"/>\n'
    )


def _padlock(colour: str, hole: str) -> str:
    """A padlock in the middle of the shield (the body, its shackle, a keyhole)."""
    return (
        f'  <path d="M49 58V48C49 39.7 55.7 33 64 33C72.3 33 79 39.7 79 48V58" fill="none" '
        f'stroke="{colour}" stroke-width="8" stroke-linecap="round"/>\n'
        f'  <rect x="40" y="56" width="48" height="38" rx="6" fill="{colour}"/>\n'
        f'  <circle cx="64" cy="71" r="5.5" fill="{hole}"/>\n'
        f'  <rect x="61" y="72" width="6" height="12" rx="2" fill="{hole}"/>\n'
    )


def _badge(colour: str, ring: str | None) -> str:
    x, y = BADGE_CENTER
    ring_part = (
        f'  <circle cx="{x:g}" cy="{y:g}" r="{BADGE_RADIUS + 5:g}" fill="{ring}"/>\n'
        if ring
        else ""
    )
    return ring_part + f'  <circle cx="{x:g}" cy="{y:g}" r="{BADGE_RADIUS:g}" fill="{colour}"/>\n'


Point = tuple[float, float]


def _offset_polyline(points: tuple[tuple[int, int], ...], width: float) -> list[Point]:
    """The outline of a thick polyline with square caps and mitred joins (for cut-outs)."""
    half = width / 2

    def unit(ax: float, ay: float, bx: float, by: float) -> tuple[float, float]:
        length = math.hypot(bx - ax, by - ay)
        return (bx - ax) / length, (by - ay) / length

    segments = [unit(*points[i], *points[i + 1]) for i in range(len(points) - 1)]
    left: list[Point] = []
    right: list[Point] = []
    for index, (x, y) in enumerate(points):
        px, py = float(x), float(y)
        if index == 0:
            dx, dy = segments[0]
            px, py = px - dx * half, py - dy * half  # square cap
            normal = (-dy, dx)
            scale = 1.0
        elif index == len(points) - 1:
            dx, dy = segments[-1]
            px, py = px + dx * half, py + dy * half
            normal = (-dy, dx)
            scale = 1.0
        else:
            (ax, ay), (bx, by) = segments[index - 1], segments[index]
            na, nb = (-ay, ax), (-by, bx)
            mx, my = na[0] + nb[0], na[1] + nb[1]
            norm = math.hypot(mx, my)
            normal = (mx / norm, my / norm)
            scale = 1 / (normal[0] * na[0] + normal[1] * na[1])  # the mitre length
        left.append((px + normal[0] * half * scale, py + normal[1] * half * scale))
        right.append((px - normal[0] * half * scale, py - normal[1] * half * scale))
    return left + right[::-1]


def _path_of(outline: list[Point]) -> str:
    head, *rest = outline
    return f"M{head[0]:.2f} {head[1]:.2f}" + "".join(f"L{x:.2f} {y:.2f}" for x, y in rest) + "Z"


def _symbolic(inner: str) -> str:
    """A one-colour shield with ``inner`` (a path) cut out of it (even-odd fill)."""
    return f'  <path d="{SHIELD}{inner}" fill="{SYMBOLIC}" fill-rule="evenodd"/>\n'


SYMBOLIC_PADLOCK = (
    "M50 60V49C50 41.3 56.3 35 64 35C71.7 35 78 41.3 78 49V60H71V49C71 45.1 67.9 42 64 42"
    "C60.1 42 57 45.1 57 49V60Z"
    "M42 60H86V92H42Z"
    "M64 66.5C67 66.5 69.5 69 69.5 72C69.5 73.9 68.5 75.6 67 76.5V84H61V76.5"
    "C59.5 75.6 58.5 73.9 58.5 72C58.5 69 61 66.5 64 66.5Z"  # the keyhole: filled again
)


def icons() -> dict[str, str]:
    """File name (under ``scalable/apps``) → SVG text, for every icon of the set."""
    check_cut = _path_of(_offset_polyline(CHECK, CHECK_WIDTH))
    out = {
        f"{APP_ID}.svg": _svg(
            _shield(SHIELD_DARK, SHIELD_LIGHT, RIM) + _check(MARK), title="Encedo Authenticator"
        ),
        f"{APP_ID}-pending.svg": _svg(
            _shield(SHIELD_DARK, SHIELD_LIGHT, RIM) + _check(MARK) + _badge(BADGE, "#ffffff"),
            title="Encedo Authenticator: a request is waiting",
        ),
        f"{APP_ID}-locked.svg": _svg(
            _shield(SHIELD_DARK, SHIELD_LIGHT, RIM) + _padlock(MARK, SHIELD_DARK),
            title="Encedo Authenticator: locked",
        ),
        f"{APP_ID}-offline.svg": _svg(
            _shield(GREY_DARK, GREY_LIGHT, GREY_RIM) + _check(GREY_MARK),
            title="Encedo Authenticator: offline",
        ),
        f"{APP_ID}-symbolic.svg": _svg(_symbolic(check_cut), title="Encedo Authenticator"),
        f"{APP_ID}-pending-symbolic.svg": _svg(
            _symbolic(check_cut) + _badge(BADGE, None),
            title="Encedo Authenticator: a request is waiting",
        ),
        f"{APP_ID}-locked-symbolic.svg": _svg(
            f'  <path d="{SHIELD}{SYMBOLIC_PADLOCK}" fill="{SYMBOLIC}" fill-rule="evenodd"/>\n',
            title="Encedo Authenticator: locked",
        ),
        f"{APP_ID}-offline-symbolic.svg": _svg(
            f'  <path d="{SHIELD}{check_cut}" fill="{SYMBOLIC}" fill-rule="evenodd" '
            'opacity="0.5"/>\n',
            title="Encedo Authenticator: offline",
        ),
    }
    return out


def write_svgs() -> list[Path]:
    target = ICONS / "scalable" / "apps"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in icons().items():
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def render_pngs() -> list[Path]:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        sys.exit("rsvg-convert is missing: apt-get install librsvg2-bin (or use --svg)")
    source = ICONS / "scalable" / "apps" / f"{APP_ID}.svg"
    written = []
    for size in PNG_SIZES:
        target = ICONS / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [tool, "--width", str(size), "--height", str(size), "--output", str(target), source],
            check=True,
        )
        written.append(target)
    return written


def check() -> int:
    stale = [
        name
        for name, text in icons().items()
        if (ICONS / "scalable" / "apps" / name).read_text(encoding="utf-8") != text
    ]
    for name in stale:
        print(f"out of date: {name} (run python3 packaging/make_icons.py)")
    return 1 if stale else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", action="store_true", help="write the SVGs only")
    parser.add_argument("--check", action="store_true", help="compare the committed SVGs")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    for path in write_svgs():
        print(f"wrote {path.relative_to(ROOT)}")
    if not args.svg:
        for path in render_pngs():
            print(f"rendered {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
