"""How long reading a QR code from a screen grab takes: ``python benchmarks/qr_decode.py [DIR]``.

Prints, per picture, the pictures handed to zxing-cpp and the median time (of 20 runs) of
``core.qrimage.decode_image`` — and of one plain zxing-cpp reading, which is what the app did
before the retries. The pictures: a 1280×800 grab of the demo page with its code at 100 % zoom
as it is drawn now (whole pixels per module) and as it was drawn before (scaled by a fraction),
made on this machine under Xvfb when DIR holds ``after.png`` / ``before.png``, else synthetic;
the same grab with the code painted over (nothing to find: every retry runs). Nothing here is a
test: tests never assert timings.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw

from authenticator.core import qrimage

RUNS = 20
HERE = Path(__file__).resolve().parent
BEFORE_CODE = HERE.parent / "tests" / "core" / "data" / "demo-qr-chromium-100pct-before.png"


def synthetic(code: Image.Image) -> Image.Image:
    shot = Image.new("L", (1280, 800), 243)
    draw = ImageDraw.Draw(shot)
    for y in range(100, 760, 24):
        draw.text((120, y), "Hostname  hem0.emulator.test   User  Demo user", 30, font_size=16)
    draw.rectangle((590, 440, 900, 760), fill=255, outline=210)
    shot.paste(code, (608, 458))
    return shot


def new_code() -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=4, border=4)
    qr.add_data("x" * 230)
    qr.make(fit=True)
    return qr.make_image().get_image().convert("L")


def pictures(folder: Path | None) -> dict[str, Image.Image]:
    found: dict[str, Image.Image] = {}
    for name in ("after", "before"):
        path = folder / f"{name}.png" if folder else None
        if path is not None and path.is_file():
            with Image.open(path) as image:
                found[f"{name}: real grab, code at 100 %"] = image.convert("RGB")
        elif name == "after":
            found["after: synthetic grab, 4 px modules"] = synthetic(new_code()).convert("RGB")
        else:
            code = Image.open(BEFORE_CODE).convert("L")
            found["before: synthetic grab, real old code"] = synthetic(code).convert("RGB")
    blank = next(iter(found.values())).copy()
    ImageDraw.Draw(blank).rectangle((560, 420, 920, 780), fill="white")
    found["no code at all"] = blank
    return found


def old_decoder(image: Image.Image) -> str | None:
    """What ``core.qrimage`` did before the retries: one zxing-cpp reading, default options."""
    import zxingcpp

    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    results = zxingcpp.read_barcodes(image.convert("RGB"), formats=formats)
    texts = [r.text for r in results if r.valid and r.text]
    return str(texts[0]) if texts else None


class Counted:
    """zxing-cpp's reading, counting the pictures it is handed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, picture: Image.Image) -> str | None:
        self.calls += 1
        return qrimage._read(picture)


def timed(fn: object) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        try:
            result = fn()  # type: ignore[operator]
        except qrimage.DecodeError:
            result = None
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, result


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else None
    print(f"{'picture':44} {'before (one reading)':>22} {'decode_image':>26}")
    for name, image in pictures(folder).items():
        alone_ms, alone = timed(lambda image=image: old_decoder(image))
        counted = Counted()
        new_ms, found = timed(
            lambda image=image, counted=counted: qrimage.decode_image(image, read=counted)
        )
        attempts = counted.calls // RUNS
        print(
            f"{name:44} {('read' if alone else 'NOT read'):>9} {alone_ms:8.1f} ms"
            f"   {('read' if found else 'NOT read'):>9} {new_ms:7.1f} ms ({attempts} tries)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
