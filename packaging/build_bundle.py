#!/usr/bin/env python3
"""Build the standalone bundle of the app with PyInstaller: one command, from a checkout.

    python3 packaging/build_bundle.py             the bundle for this platform, in dist/
    python3 packaging/build_bundle.py --archive   also pack it (.tar.gz on Linux, .zip elsewhere)

On Linux the result is the one-dir bundle ``dist/authenticator/`` (run ``dist/authenticator/
authenticator``; ``install.sh`` inside it adds the menu entry and icons). On Windows it is
``dist\\Encedo Authenticator\\`` with ``Encedo Authenticator.exe`` (the tray app, no console) and
``authenticator.exe`` (the command line); on macOS ``dist/Encedo Authenticator.app``.

Like ``bootstrap.py`` it needs only Python 3.11 to start: it makes the project's ``.venv`` with
the ``bundle`` extra (PyInstaller) and, as root on Debian, installs ``binutils`` (PyInstaller
reads the libraries' dependencies with ``objdump``). It refuses to build when the code imports a
Qt module the bundle leaves out (``packaging/bundle_common.py``), then prints the build time and
the bundle's size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bootstrap  # noqa: E402 - the sibling module, found through the line above
import bundle_common  # noqa: E402

ROOT = bootstrap.ROOT
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
SPECS = {
    "linux": HERE / "authenticator.spec",
    "win32": HERE / "authenticator-windows.spec",
    "darwin": HERE / "authenticator-macos.spec",
}
OUTPUT = {
    "linux": DIST / "authenticator",
    "win32": DIST / bundle_common.APP_NAME,
    "darwin": DIST / f"{bundle_common.APP_NAME}.app",
}


def platform_key() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform in ("win32", "darwin"):
        return sys.platform
    sys.exit(f"no bundle recipe for {sys.platform}")


def check_qt_modules() -> None:
    extra = {
        name: files
        for name, files in bundle_common.qt_modules_in_source().items()
        if name not in bundle_common.QT_USED
    }
    if extra:
        lines = [f"  PySide6.{name}: {', '.join(files)}" for name, files in sorted(extra.items())]
        sys.exit(
            "The code imports Qt modules the bundle leaves out:\n"
            + "\n".join(lines)
            + "\nAdd them to QT_USED in packaging/bundle_common.py."
        )


def size_of(path: Path) -> tuple[int, int]:
    """(bytes, files) of everything under ``path``."""
    total = count = 0
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            total += item.stat().st_size
            count += 1
    return total, count


def archive(output: Path, key: str, version: str) -> Path:
    machine = os.uname().machine if hasattr(os, "uname") else "x86_64"
    stem = f"encedo-authenticator-{version}-{key}-{machine}"
    if key == "linux":
        target = DIST / f"{stem}.tar.gz"
        with tarfile.open(target, "w:gz") as tar:
            tar.add(output, arcname=f"encedo-authenticator-{version}")
        return target
    target = DIST / f"{stem}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in sorted(output.rglob("*")):
            zf.write(item, Path(output.name) / item.relative_to(output))
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", action="store_true", help="also pack the bundle")
    args = parser.parse_args(argv)
    key = platform_key()
    check_qt_modules()

    started = time.monotonic()
    if key == "linux":
        bootstrap.ensure_debs([*bootstrap.APT_RUN, "binutils"])
    bootstrap.ensure_venv("bundle")
    prepared = time.monotonic()
    output = OUTPUT[key]
    cmd = [
        str(bootstrap.PY), "-m", "PyInstaller", str(SPECS[key]), "--noconfirm", "--clean",
        "--log-level", "WARN", "--distpath", str(DIST), "--workpath", str(WORK),
    ]  # fmt: skip
    bootstrap.say("$ " + " ".join(cmd[1:]))
    subprocess.run(cmd, check=True, cwd=ROOT)
    if key == "linux":
        installer = output / "install.sh"
        shutil.copy2(HERE / "linux" / "install.sh", installer)
        installer.chmod(0o755)
    built = time.monotonic()

    exe = output / ("authenticator.exe" if key == "win32" else "authenticator")
    if key == "darwin":
        exe = output / "Contents" / "MacOS" / "authenticator"
    version = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    size, files = size_of(output)
    bootstrap.say(f"built {output.relative_to(ROOT)} ({version})")
    bootstrap.say(f"size: {size / 2**20:.1f} MiB in {files} files")
    bootstrap.say(
        f"time: {built - prepared:.0f} s for PyInstaller, {built - started:.0f} s in all "
        "(with setting up the venv)"
    )
    if args.archive:
        packed = archive(output, key, version.split()[-1])
        bootstrap.say(
            f"archive: {packed.relative_to(ROOT)} ({packed.stat().st_size / 2**20:.1f} MiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
