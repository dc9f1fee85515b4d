"""A tiny, dependency-free PNG encoder.

The emulator serves generated "images" so that clients can download and
inspect them like real results. They must be real, valid PNG files (a client
may check the signature, open them, or compare sizes), but nothing about them
needs to be pretty, so a few lines of ``struct`` + ``zlib`` are enough.
"""

from __future__ import annotations

import colorsys
import struct
import zlib
from functools import lru_cache

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: Size of a square (1:1) image; other aspect ratios keep the longer side at
#: twice this value, so 16:9 gives 128x72 and 9:16 gives 72x128.
SQUARE_SIDE = 64
LONG_SIDE = 128


def _chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC over type+data."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def encode_rgb(width: int, height: int, pixels: bytes) -> bytes:
    """Encode raw 8-bit RGB pixels (row-major, ``width*height*3`` bytes) as PNG."""
    if width <= 0 or height <= 0:
        raise ValueError("PNG dimensions must be positive")
    stride = width * 3
    if len(pixels) != stride * height:
        raise ValueError("pixel buffer does not match width*height*3")
    raw = bytearray()
    for row in range(height):
        raw.append(0)  # filter type 0 (None) for every scanline
        raw += pixels[row * stride : (row + 1) * stride]
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + _chunk(b"IEND", b"")
    )


def dimensions_for_aspect_ratio(aspect_ratio: str | None) -> tuple[int, int]:
    """Pixel size following ``"W:H"``: 64x64 for 1:1 (or unknown), longer side 128 otherwise."""
    if not aspect_ratio or ":" not in aspect_ratio:
        return SQUARE_SIDE, SQUARE_SIDE
    left, _, right = aspect_ratio.partition(":")
    try:
        w, h = float(left), float(right)
    except ValueError:
        return SQUARE_SIDE, SQUARE_SIDE
    if not (w > 0 and h > 0) or w == h or w / h > 50 or h / w > 50:
        return SQUARE_SIDE, SQUARE_SIDE
    if w > h:
        return LONG_SIDE, max(1, round(LONG_SIDE * h / w))
    return max(1, round(LONG_SIDE * w / h)), LONG_SIDE


def _rgb(hue: float, sat: float, val: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, sat, val)
    return int(r * 255), int(g * 255), int(b * 255)


def gradient_pixels(width: int, height: int, seed: int) -> bytes:
    """RGB pixels of a diagonal two-colour gradient; ``seed`` picks the colours."""
    hue = (seed * 0.618033988749895) % 1.0
    c1 = _rgb(hue, 0.75, 0.95)
    c2 = _rgb(hue + 0.33, 0.85, 0.55)
    span = max(1, (width - 1) + (height - 1))
    pixels = bytearray()
    for y in range(height):
        for x in range(width):
            t = (x + y) / span
            pixels += bytes(
                (
                    int(c1[0] + (c2[0] - c1[0]) * t),
                    int(c1[1] + (c2[1] - c1[1]) * t),
                    int(c1[2] + (c2[2] - c1[2]) * t),
                )
            )
    return bytes(pixels)


@lru_cache(maxsize=512)
def gradient_png(width: int, height: int, seed: int) -> bytes:
    """A diagonal two-colour gradient as PNG; ``seed`` picks the colours so images differ.

    Cached because status polling clients download the same few images often.
    """
    return encode_rgb(width, height, gradient_pixels(width, height, seed))


def read_png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; raises ``ValueError`` if not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


__all__ = [
    "PNG_SIGNATURE",
    "dimensions_for_aspect_ratio",
    "encode_rgb",
    "gradient_pixels",
    "gradient_png",
    "read_png_size",
]
