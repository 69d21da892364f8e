"""Reading QR codes from pictures (a file, a screenshot, a clipboard image) with zxing-cpp.

A screenshot is not a photo of a printed code: the code may be drawn with modules of two or
three pixels (a browser at 100 % zoom), smoothed by scaling, in low contrast, light on dark (a
dark theme), or cut tight by a region selection with no quiet zone left. zxing-cpp alone reads
the clean cases; :func:`decode_image` then retries, cheapest first, until one reading works:

1. the picture as it is (zxing's own local binariser and downscaling);
2. the picture with a light border added (a tight selection has lost its quiet zone);
3. each *square region* that looks like a code (full of edges, half-dark, about square: found
   on a coarse grid of the picture, largest first), cut out with a margin and a border, then
   upscaled (nearest neighbour ×2, ×3), binarised (Otsu's threshold), redrawn on an even grid
   (a code scaled by a fraction), sharpened (a blurred code) and inverted;
4. the whole picture upscaled (×2, while it stays under :data:`MAX_WORK_PIXELS`), binarised
   (Otsu's and fixed thresholds), sharpened and inverted.

Everything here is pure (Pillow and zxing-cpp, no Qt) and may run on a worker thread. A full
1280×800 screen grab with a readable code decodes in the first step (a few milliseconds); a
picture without a code costs every retry (:data:`MAX_WORK_PIXELS` bounds each of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageOps, UnidentifiedImageError

from authenticator.errors import DecodeError

__all__ = [
    "MAX_PIXELS",
    "MAX_WORK_PIXELS",
    "Region",
    "attempts",
    "decode_image",
    "decode_image_file",
    "otsu_threshold",
    "square_regions",
]

MAX_PIXELS = 40_000_000
"""A bigger picture is refused outright."""
MAX_WORK_PIXELS = 10_000_000
"""No retry works on a picture bigger than this (an upscaled whole screen stays below it)."""
CELL = 8
"""Side of a grid cell, in pixels, when looking for square regions."""
MAX_UPSCALED_SIDE = 1400
"""A region is upscaled only while its longer side stays below this."""
MIN_GRADIENT = 3
"""A cell's mean gradient (0–510) from which it may be part of a code."""
MAX_REGIONS = 3
QR_SIDES = tuple(range(21, 178, 4))
"""The side of a QR code in modules, versions 1 to 40."""
FIXED_THRESHOLDS = (96, 160)
NOT_FOUND = "No QR code was found in the picture; try a sharper or larger one."

_can_turn_off_invert: bool | None = None


@dataclass(frozen=True, slots=True)
class Region:
    """A part of the picture that looks like a QR code (pixels; ``right``/``bottom`` excluded)."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.right, self.bottom)


# ---------------------------------------------------------------- reading one picture


def _options() -> dict[str, Any]:
    """zxing-cpp's options: QR codes only; no automatic inversion where the version lets us
    turn it off (we invert on purpose, late, so a plain failure stays cheap). Made per call: a
    zxing-cpp object kept in a global outlives its module and nanobind reports it as leaked."""
    global _can_turn_off_invert  # noqa: PLW0603 - one probe of the installed zxing-cpp
    import zxingcpp  # loaded on first use, not at start-up (the decoder is rarely needed)

    options: dict[str, Any] = {"formats": zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)}
    if _can_turn_off_invert is None:
        try:
            zxingcpp.read_barcodes(Image.new("L", (8, 8), 255), try_invert=False, **options)
            _can_turn_off_invert = True
        except TypeError:  # zxing-cpp older than 2.3: always tries inverted codes itself
            _can_turn_off_invert = False
    if _can_turn_off_invert:
        options["try_invert"] = False
    return options


def _read(image: Image.Image) -> str | None:
    """The text of the first valid QR code zxing-cpp finds in ``image`` (grey), or ``None``."""
    import zxingcpp  # loaded on first use, not at start-up (the decoder is rarely needed)

    for result in zxingcpp.read_barcodes(image, **_options()):
        if result.valid and result.text:
            return str(result.text)
    return None


# ---------------------------------------------------------------- picture helpers


def _grey(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit grey; transparency counts as white (a copied code often has none)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return image.convert("L")


def otsu_threshold(image: Image.Image) -> int:
    """Otsu's threshold of a grey picture: the level that best splits it into two classes
    (pixels ``<= t`` are dark)."""
    hist = image.histogram()[:256]
    total = sum(hist)
    if total == 0:
        return 127
    sum_all = sum(i * h for i, h in enumerate(hist))
    weight_dark = 0
    sum_dark = 0
    best, best_t = -1.0, 127
    for t in range(256):
        weight_dark += hist[t]
        if weight_dark == 0:
            continue
        weight_light = total - weight_dark
        if weight_light == 0:
            break
        sum_dark += t * hist[t]
        mean_dark = sum_dark / weight_dark
        mean_light = (sum_all - sum_dark) / weight_light
        between = weight_dark * weight_light * (mean_dark - mean_light) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def _binarise(image: Image.Image, threshold: int) -> Image.Image:
    """Black (0) at or below ``threshold``, white (255) above."""
    return image.point([0] * (threshold + 1) + [255] * (255 - threshold))


def _upscale(image: Image.Image, factor: int) -> Image.Image:
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def _border(image: Image.Image, size: int | None = None) -> Image.Image:
    """``image`` with a white border (a quiet zone): ``size`` pixels, by default a tenth of the
    picture's shorter side (at least 8)."""
    pad = size if size is not None else max(8, min(image.size) // 10)
    return ImageOps.expand(image, border=pad, fill=255)


def _fits(width: int, height: int, factor: int = 1) -> bool:
    return width * height * factor * factor <= MAX_WORK_PIXELS


def _small(image: Image.Image, factor: int) -> bool:
    """Whether a region is worth upscaling ``factor`` times: only small modules need it, and a
    code of small modules is a small region (a large one is read as it is)."""
    return max(image.size) * factor <= MAX_UPSCALED_SIDE


# ---------------------------------------------------------------- looking for the code


def _busy_cells(image: Image.Image, cols: int, rows: int) -> bytearray:
    """1 for each :data:`CELL`-pixel cell that looks like part of a code: its mean gradient
    (horizontal plus vertical neighbour differences) is at least :data:`MIN_GRADIENT` and it is
    between a fifth and four fifths dark. The total gradient survives blurring and works for any
    contrast; plain text is too light, flat areas have no gradient. Then one closing step: a
    cell with at least 5 busy neighbours is busy too (blur and noise leave holes)."""
    right = image.transform(image.size, Image.Transform.AFFINE, (1, 0, 1, 0, 1, 0))
    below = image.transform(image.size, Image.Transform.AFFINE, (1, 0, 0, 0, 1, 1))
    gradient = ImageChops.add(
        ImageChops.difference(image, right), ImageChops.difference(image, below)
    )
    grad = gradient.resize((cols, rows), Image.Resampling.BOX).tobytes()
    mean = image.resize((cols, rows), Image.Resampling.BOX).tobytes()
    busy = bytearray(cols * rows)
    for i in range(cols * rows):
        if grad[i] >= MIN_GRADIENT and 50 <= mean[i] <= 205:
            busy[i] = 1
    closed = bytearray(busy)
    for y in range(1, rows - 1):
        for x in range(1, cols - 1):
            i = y * cols + x
            if not busy[i]:
                around = (
                    busy[i - cols - 1] + busy[i - cols] + busy[i - cols + 1] + busy[i - 1]
                    + busy[i + 1] + busy[i + cols - 1] + busy[i + cols] + busy[i + cols + 1]
                )  # fmt: skip
                if around >= 5:
                    closed[i] = 1
    return closed


def square_regions(image: Image.Image, *, limit: int = MAX_REGIONS) -> list[Region]:
    """Parts of ``image`` (grey) that look like a QR code, largest first: busy cells
    (:func:`_busy_cells`) that touch form a region, kept when it is about square (sides within
    3:4), at least 3 cells wide and at least half busy."""
    cols, rows = image.width // CELL, image.height // CELL
    if cols < 3 or rows < 3:
        return []
    busy = _busy_cells(image, cols, rows)
    found: list[tuple[int, Region]] = []
    seen = bytearray(cols * rows)
    for start in range(cols * rows):
        if not busy[start] or seen[start]:
            continue
        seen[start] = 1
        stack = [start]
        count = 0
        left, top, right, bottom = cols, rows, -1, -1
        while stack:
            i = stack.pop()
            count += 1
            y, x = divmod(i, cols)
            left, right = min(left, x), max(right, x)
            top, bottom = min(top, y), max(bottom, y)
            around = [i - cols, i + cols]
            if x > 0:
                around.append(i - 1)
            if x + 1 < cols:
                around.append(i + 1)
            for j in around:
                if 0 <= j < cols * rows and busy[j] and not seen[j]:
                    seen[j] = 1
                    stack.append(j)
        w, h = right - left + 1, bottom - top + 1
        if min(w, h) < 3 or 4 * min(w, h) < 3 * max(w, h) or 2 * count < w * h:
            continue
        region = Region(left * CELL, top * CELL, (right + 1) * CELL, (bottom + 1) * CELL)
        found.append((w * h, region))
    found.sort(key=lambda item: -item[0])
    return [region for _, region in found[:limit]]


def _cut(image: Image.Image, region: Region) -> Image.Image:
    """``region`` with a margin of one cell and a tenth of its size, clamped to the picture."""
    margin = CELL + max(region.width, region.height) // 10
    box = (
        max(0, region.left - margin),
        max(0, region.top - margin),
        min(image.width, region.right + margin),
        min(image.height, region.bottom + margin),
    )
    return image.crop(box)


def _code_box(image: Image.Image, region: Region) -> Region | None:
    """The dark code inside ``region`` (give or take a cell): the box of its dark pixels after
    Otsu's threshold, when that box is about square."""
    near = image.crop(
        (
            max(0, region.left - CELL),
            max(0, region.top - CELL),
            min(image.width, region.right + CELL),
            min(image.height, region.bottom + CELL),
        )
    )
    box = ImageOps.invert(_binarise(near, otsu_threshold(near))).getbbox()
    if box is None:
        return None
    left, top = max(0, region.left - CELL) + box[0], max(0, region.top - CELL) + box[1]
    code = Region(left, top, left + box[2] - box[0], top + box[3] - box[1])
    if min(code.width, code.height) < QR_SIDES[0] or 10 * abs(code.width - code.height) > max(
        code.width, code.height
    ):
        return None
    return code


def _regridded(image: Image.Image, code: Region) -> Iterator[Image.Image]:
    """The code redrawn on an even grid: for every QR size (21, 25 … 177 modules) whose module
    would be 1.2 to 12 pixels wide here, the code box averaged down to one pixel per module,
    thresholded, framed by a quiet zone and scaled up 4×. A code a browser scaled by a fraction
    has modules of uneven widths (2 and 3 pixels, say) that zxing-cpp may not follow; on the
    right grid they are even again."""
    part = image.crop(code.box)
    side = max(code.width, code.height)
    for modules in QR_SIDES:
        if not 1.2 <= side / modules <= 12:
            continue
        small = part.resize((modules, modules), Image.Resampling.BOX)
        yield _upscale(_border(_binarise(small, otsu_threshold(small)), 4), 4)


# ---------------------------------------------------------------- the retries


def _sharpened(image: Image.Image) -> Image.Image:
    """A blurred code made crisp again: unsharp mask, then Otsu's threshold."""
    sharp = image.filter(ImageFilter.UnsharpMask(radius=3, percent=200, threshold=0))
    return _binarise(sharp, otsu_threshold(sharp))


def _region_variants(image: Image.Image, region: Region) -> Iterator[Image.Image]:
    """Retries of a region cut out of the picture (small: every retry is cheap)."""
    cut = _cut(image, region)
    framed = _border(cut)
    yield framed
    yield _border(ImageOps.invert(cut))
    for factor in (2, 3):
        if _small(framed, factor):
            yield _upscale(framed, factor)
    binary = _border(_binarise(cut, otsu_threshold(cut)))
    yield binary
    if _small(binary, 2):
        yield _upscale(binary, 2)
    code = _code_box(image, region)
    if code is not None:
        yield from _regridded(image, code)
    yield _border(_sharpened(cut))
    inverted = _border(ImageOps.invert(cut))
    if _small(inverted, 2):
        yield _upscale(inverted, 2)


def _whole_variants(image: Image.Image) -> Iterator[Image.Image]:
    """Retries of the whole picture (each bounded by :data:`MAX_WORK_PIXELS`)."""
    w, h = image.size
    if _fits(w, h, 2):
        yield _upscale(image, 2)
    threshold = otsu_threshold(image)
    yield _border(_binarise(image, threshold))
    for fixed in FIXED_THRESHOLDS:
        if abs(fixed - threshold) > 16:
            yield _border(_binarise(image, fixed))
    yield _border(_sharpened(image))
    inverted = ImageOps.invert(image)
    yield _border(inverted)
    if _fits(w, h, 2):
        yield _upscale(_border(inverted), 2)


def attempts(image: Image.Image) -> Iterator[Image.Image]:
    """Every picture :func:`decode_image` hands to zxing-cpp, in order (made lazily: a reading
    that works stops the rest from being made). ``image`` is grey (mode ``L``)."""
    yield image
    yield _border(image)
    for region in square_regions(image):
        yield from _region_variants(image, region)
    yield from _whole_variants(image)


def decode_image(image: Image.Image, *, read: Callable[[Image.Image], str | None] = _read) -> str:
    """The text of the first QR code in ``image`` (``DecodeError`` when there is none).

    ``read`` reads one picture (zxing-cpp by default; a test may count the attempts)."""
    if image.width * image.height > MAX_PIXELS:
        raise DecodeError("The picture is too large to search for a QR code.")
    if image.width == 0 or image.height == 0:
        raise DecodeError("The picture is empty.")
    for candidate in attempts(_grey(image)):
        text = read(candidate)
        if text:
            return text
    raise DecodeError(NOT_FOUND)


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
    except Image.DecompressionBombError as exc:
        raise DecodeError(f"{path} is too large to search for a QR code.") from exc
