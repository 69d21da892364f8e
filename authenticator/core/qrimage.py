"""Reading QR codes from pictures (a file, a screenshot, a clipboard image) with zxing-cpp."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from authenticator.errors import DecodeError

__all__ = ["decode_image", "decode_image_file"]

MAX_PIXELS = 40_000_000


def decode_image(image: Image.Image) -> str:
    """The text of the first QR code in ``image`` (``DecodeError`` when there is none)."""
    import zxingcpp

    if image.width * image.height > MAX_PIXELS:
        raise DecodeError("The picture is too large to search for a QR code.")
    results = zxingcpp.read_barcodes(
        image.convert("RGB"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    texts = [r.text for r in results if r.valid and r.text]
    if not texts:
        raise DecodeError("No QR code was found in the picture; try a sharper or larger one.")
    return str(texts[0])


def decode_image_file(path: str | Path) -> str:
    """The text of the QR code in the image file at ``path``."""
    try:
        with Image.open(path) as image:
            image.load()
            return decode_image(image)
    except FileNotFoundError as exc:
        raise DecodeError(f"There is no file {path}.") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise DecodeError(f"{path} is not a picture this app can read.") from exc
