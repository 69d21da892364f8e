"""Reading QR codes from pictures: clean codes at once, hard ones through the retries.

The pictures are made here: a code drawn by ``qrcode`` with modules of a given size, put on a
1280×800 "screen" with lines of text beside it, then blurred, washed out, inverted or cut tight;
and one real grab of a code a browser scaled by a fraction (the demo page's, before the fix). The cases marked
*hard* are ones zxing-cpp alone does not read (the test checks that too, so each one shows a
retry earning its keep). A real screen grab of the demo page is read in
``tests/emulator/test_demo_qr.py``; timings are printed by ``benchmarks/qr_decode.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from authenticator.core import qrimage
from authenticator.core.qrimage import MAX_WORK_PIXELS, decode_image, decode_image_file
from authenticator.errors import DecodeError

TEXT = (
    '{"link":"http://127.0.0.1:36187/notify/pairing/9ow7sX_bSn79VtLGkalIHA",'
    '"hash":"NwrcfHTur0LZpkR/nM+yOS4HW4dPbOFvlOy7kGmEV+I=","user":"Demo user",'
    '"email":"demo@example.com","hostname":"hem0.emulator.test","url":"http://127.0.0.1:36187"}'
)
AT = (600, 460)
BEFORE = Path(__file__).parent / "data" / "demo-qr-chromium-100pct-before.png"
"""A real screen grab (Xvfb, Debian's Chromium 156, 100 % zoom) of the demo page's pairing code
before it was drawn with whole pixels: an 8 px/module picture shown 200 px wide, so its modules
are 2 or 3 pixels wide. Its text is :data:`TEXT`."""


def code(module: int, *, border: int = 4) -> Image.Image:
    """The pairing code's picture, black on white, ``module`` pixels per module."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=module, border=border
    )
    qr.add_data(TEXT)
    qr.make(fit=True)
    return qr.make_image().get_image().convert("L")


def screen(picture: Image.Image, *, background: int = 255, ink: int = 0) -> Image.Image:
    """A 1280×800 screen: lines of text on the left, ``picture`` on the right."""
    shot = Image.new("L", (1280, 800), background)
    draw = ImageDraw.Draw(shot)
    font = ImageFont.load_default(size=16)
    for y in range(100, 760, 24):
        draw.text((30, y), "The quick brown fox jumps over the lazy dog 0123456789", ink, font)
    shot.paste(picture, AT)
    return shot


def washed_out(picture: Image.Image, dark: int, light: int) -> Image.Image:
    return picture.point(lambda v: dark if v < 128 else light)


def zxing_alone(picture: Image.Image) -> str | None:
    return qrimage._read(picture.convert("L"))


class Counting:
    """A reader that counts the pictures it was handed (and their sizes)."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def __call__(self, picture: Image.Image) -> str | None:
        self.sizes.append(picture.size)
        return qrimage._read(picture)


# ---------------------------------------------------------------- clean codes: one reading

EASY: dict[str, Callable[[], Image.Image]] = {
    "1 px modules (a copied picture)": lambda: code(1),
    "2 px modules on a screen": lambda: screen(code(2)),
    "3 px modules on a screen": lambda: screen(code(3)),
    "4 px modules on a screen": lambda: screen(code(4)),
    "4 px modules, slightly blurred": lambda: screen(code(4)).filter(ImageFilter.GaussianBlur(1)),
    "cut tight: no quiet zone": lambda: code(3, border=0),
}


@pytest.mark.parametrize("name", list(EASY))
def test_a_clean_code_is_read_at_the_first_attempt(name: str) -> None:
    reader = Counting()
    assert decode_image(EASY[name](), read=reader) == TEXT
    assert len(reader.sizes) == 1


# ---------------------------------------------------------------- hard codes: the retries

HARD: dict[str, Callable[[], Image.Image]] = {
    "blurred (σ 2 px on 4 px modules)": lambda: screen(code(4)).filter(ImageFilter.GaussianBlur(2)),
    "blurred (σ 1.5 px on 3 px modules)": lambda: screen(code(3)).filter(
        ImageFilter.GaussianBlur(1.5)
    ),
    "low contrast (grey 120 on 140)": lambda: screen(washed_out(code(4), 120, 140), background=140),
    "low contrast (grey 124 on 136)": lambda: screen(washed_out(code(4), 124, 136), background=136),
    "low contrast and blurred": lambda: screen(
        washed_out(code(3), 120, 140), background=140
    ).filter(ImageFilter.GaussianBlur(1)),
    "inverted screen": lambda: ImageOps.invert(screen(code(4))),
    "light code on a dark page": lambda: screen(ImageOps.invert(code(3)), background=20, ink=230),
    "scaled by a fraction: the demo page's old code as Chromium drew it at 100 %": lambda: screen(
        Image.open(BEFORE).convert("L")
    ),
    "the same, cut out": lambda: Image.open(BEFORE),
}


@pytest.mark.parametrize("name", list(HARD))
def test_retries_read_what_a_single_reading_cannot(name: str) -> None:
    picture = HARD[name]()
    if zxing_alone(picture) is not None:
        pytest.fail(f"{name}: zxing-cpp alone reads it; the case no longer tests a retry")
    reader = Counting()
    assert decode_image(picture, read=reader) == TEXT
    assert len(reader.sizes) > 1


def test_a_transparent_background_counts_as_white() -> None:
    modules = code(3)
    clear = Image.new("RGBA", modules.size, (0, 0, 0, 0))
    clear.paste((0, 0, 0, 255), mask=ImageOps.invert(modules))  # black modules, nothing else
    assert decode_image(clear) == TEXT


def test_a_palette_picture_with_transparency() -> None:
    picture = code(2).convert("P")
    picture.info["transparency"] = 255
    assert decode_image(picture) == TEXT


# ---------------------------------------------------------------- the parts


def test_the_largest_square_region_is_the_code() -> None:
    for shot in (screen(code(3)), screen(code(2)), ImageOps.invert(screen(code(4)))):
        regions = qrimage.square_regions(shot.convert("L"))
        assert regions, "the code is found"
        first = regions[0]
        side = code(3).width
        assert abs(first.left - AT[0]) <= 24
        assert abs(first.top - AT[1]) <= 24
        assert 0.75 <= first.width / first.height <= 1.34
        assert first.width <= side * 4 / 3 + 16


def test_a_page_of_text_has_no_square_region() -> None:
    assert qrimage.square_regions(screen(Image.new("L", (4, 4), 255))) == []


def test_otsu_splits_two_levels() -> None:
    picture = Image.new("L", (100, 100), 200)
    picture.paste(60, (0, 0, 50, 100))
    assert 60 <= qrimage.otsu_threshold(picture) < 200
    assert qrimage.otsu_threshold(Image.new("L", (0, 0))) == 127


def test_no_code_is_a_decode_error_after_bounded_work() -> None:
    reader = Counting()
    with pytest.raises(DecodeError, match="No QR code was found"):
        decode_image(screen(Image.new("L", (10, 10), 255)), read=reader)
    assert 1 < len(reader.sizes) <= 60
    assert all(w * h <= MAX_WORK_PIXELS for w, h in reader.sizes)


def test_refusals() -> None:
    with pytest.raises(DecodeError, match="too large"):
        decode_image(Image.new("L", (8000, 6000)))
    with pytest.raises(DecodeError, match="empty"):
        decode_image(Image.new("L", (0, 10)))


def test_files(tmp_path: Path) -> None:
    good = tmp_path / "code.png"
    screen(code(3)).save(good)
    assert decode_image_file(good) == TEXT
    with pytest.raises(DecodeError, match="There is no file"):
        decode_image_file(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    with pytest.raises(DecodeError, match="not a picture"):
        decode_image_file(junk)
