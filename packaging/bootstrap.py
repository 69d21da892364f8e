#!/usr/bin/env python3
"""Set up and run the Encedo Desktop Authenticator from a checkout, on a fresh machine.

    python3 packaging/bootstrap.py run  [ARGS...]   install, then start the app (ARGS go to it)
    python3 packaging/bootstrap.py test [PYTEST ARGS...]
                                                    install everything, then run the whole check:
                                                    ruff, mypy --strict, import-linter, pytest

Standard library only. It creates ``.venv`` beside ``pyproject.toml`` and, when it runs as root on
Debian/Ubuntu, installs the system packages the app (Qt's xcb platform) or the tests (Xvfb, a
private session bus, a tray host, dunst, gnome-keyring, chromium, …) need and do not find.
Re-running is cheap: nothing is reinstalled unless ``pyproject.toml`` changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")

# Qt's xcb and wayland platform plugins need these at run time (offscreen tests need none of
# them); libxss1 gives the X11 desktop's idle time (gui/idle.py, MIT-SCREEN-SAVER).
APT_RUN = [
    "libegl1", "libgl1", "libfontconfig1", "libglib2.0-0", "libdbus-1-3", "libx11-xcb1",
    "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
    "libxcb-randr0", "libxcb-render-util0", "libxcb-shape0", "libxcb-xkb1", "libxkbcommon0",
    "libwayland-client0", "libwayland-cursor0", "libwayland-egl1", "libxss1",
    "fonts-dejavu-core",
]  # fmt: skip
# The real desktop parts (an X11 session, and a headless Wayland one: sway with swaybar's tray,
# mako, the desktop portal with its wlr and gtk backends, PipeWire for the wlr backend, grim to
# look at the screen), the browser test of the demo page, and the desktop-file validators.
APT_TEST = [
    *APT_RUN,
    "xvfb", "x11-utils", "dbus", "dbus-x11", "dunst", "trayer", "gnome-keyring", "libsecret-tools",
    "sway", "mako-notifier", "grim", "xdg-desktop-portal", "xdg-desktop-portal-wlr",
    "xdg-desktop-portal-gtk", "pipewire",
    "imagemagick", "xdotool", "chromium", "appstream", "desktop-file-utils", "util-linux",
    "binutils",
    "libnss3", "libatk-bridge2.0-0", "libgbm1",
]  # fmt: skip


def say(msg: str) -> None:
    print(f"[bootstrap] {msg}", flush=True)


def run(cmd: list[str], **kw: object) -> None:
    say("$ " + " ".join(str(c) for c in cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def missing_debs(packages: list[str]) -> list[str]:
    if shutil.which("dpkg-query") is None:
        return []
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    installed = {line.split()[0] for line in out.splitlines() if " ii" in line}
    return [p for p in packages if p not in installed]


def ensure_debs(packages: list[str]) -> None:
    todo = missing_debs(packages)
    if not todo:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        say("missing system packages (install them, or run as root): " + " ".join(todo))
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *todo], env=env)
    except subprocess.CalledProcessError:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *todo], env=env)


def ensure_venv(extras: str) -> None:
    stamp = VENV / f".installed-{extras or 'app'}"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except (subprocess.CalledProcessError, OSError):
            # Debian's own python3 ships ensurepip separately.
            ensure_debs(["python3-venv"])
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    target = f".[{extras}]" if extras else "."
    run([str(PY), "-m", "pip", "install", "-q", "-e", target])
    stamp.write_text(want)


def cmd_run(args: list[str]) -> int:
    ensure_debs(APT_RUN)
    ensure_venv("")
    exe = BIN / "authenticator"
    env = dict(os.environ)
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux"):
        say("no graphical display found: starting the built-in emulator only (Ctrl-C stops it).")
        say("On a desktop, this same command opens the app in the tray.")
        return subprocess.call([str(exe), "emulator", *args], cwd=ROOT, env=env)
    return subprocess.call([str(exe), *args], cwd=ROOT, env=env)


def cmd_test(args: list[str]) -> int:
    ensure_debs(APT_TEST)
    ensure_venv("dev,bundle")
    # The standalone bundle is built and smoke-tested on every run (about a minute), so every
    # change to packaging/ is checked.
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AUTHENTICATOR_BUILD_BUNDLE": os.environ.get("AUTHENTICATOR_BUILD_BUNDLE", "1"),
    }
    steps: list[list[str]] = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "lint-imports")],
    ]
    for step in steps:
        say("$ " + " ".join(step[1:] if step[0].endswith("ruff") else step))
        if subprocess.call(step, cwd=ROOT, env=env) != 0:
            say(f"FAILED: {' '.join(step)}")
            return 1
    pytest = [
        str(PY), "-m", "pytest", "-p", "no:cacheprovider",
        "--cov=authenticator", "--cov-branch", "--cov-report=", *args,
    ]  # fmt: skip
    say("$ " + " ".join(pytest[1:]))
    if subprocess.call(pytest, cwd=ROOT, env=env) != 0:
        return 1
    if not args:
        # The protocol core is the part that must be perfect.
        cover = [str(PY), "-m", "coverage", "report", "--include=authenticator/protocol/*",
                 "--fail-under=100"]  # fmt: skip
        say("$ coverage report (authenticator/protocol must be 100 %)")
        if subprocess.call(cover, cwd=ROOT, env=env) != 0:
            return 1
    say("all checks passed")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__)
        return 2
    return {"run": cmd_run, "test": cmd_test}[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
