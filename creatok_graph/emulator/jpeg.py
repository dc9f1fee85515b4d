"""A tiny, dependency-free baseline JPEG encoder (flat 8x8 blocks).

The emulator serves some images as JPEG (scenario ``jpeg-images``) so that clients must
judge a file by its bytes, not by the ``.png`` in its URL. The files must be real JPEGs
that browsers and decoders open; they need not be pretty, so every 8x8 block carries only
its average colour (the DC coefficient; all AC coefficients are zero): a few dozen lines.
"""

from __future__ import annotations

import struct
from functools import lru_cache

from .png import gradient_pixels

# Annex K's standard luminance DC table (categories 0..11), used for every component.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
# An AC table with a single code, end-of-block, as "0": blocks have no AC coefficients.
_AC_BITS = (1,) + (0,) * 15
_AC_VALUES = (0,)


def _codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """value -> (code, length), canonical Huffman as JPEG builds it from BITS/HUFFVAL."""
    table: dict[int, tuple[int, int]] = {}
    code, k = 0, 0
    for length, count in enumerate(bits, 1):
        for _ in range(count):
            table[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return table


_DC_CODES = _codes(_DC_BITS, _DC_VALUES)
_EOB = _codes(_AC_BITS, _AC_VALUES)[0]


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, code: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((code >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc, self.n = 0, 0

    def flush(self) -> bytes:
        while self.n:
            self.put(1, 1)  # pad with ones
        return bytes(self.out)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def encode_rgb_jpeg(width: int, height: int, pixels: bytes) -> bytes:
    """Encode 8-bit RGB pixels (row-major) as a baseline 4:4:4 JPEG of 8x8 flat blocks."""
    if width <= 0 or height <= 0 or len(pixels) != width * height * 3:
        raise ValueError("pixel buffer does not match width*height*3")
    bits = _Bits()
    previous = [0, 0, 0]
    for by in range(0, height, 8):
        for bx in range(0, width, 8):
            total = [0.0, 0.0, 0.0]
            count = 0
            for y in range(by, min(by + 8, height)):
                for x in range(bx, min(bx + 8, width)):
                    i = (y * width + x) * 3
                    for c in range(3):
                        total[c] += pixels[i + c]
                    count += 1
            r, g, b = (t / count for t in total)
            ycc = (0.299 * r + 0.587 * g + 0.114 * b,
                   128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                   128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
            for c in range(3):
                dc = max(-1024, min(1016, round(8 * (ycc[c] - 128))))
                diff = dc - previous[c]
                previous[c] = dc
                size = abs(diff).bit_length()
                bits.put(*_DC_CODES[size])
                if size:
                    bits.put(diff if diff > 0 else diff + (1 << size) - 1, size)
                bits.put(*_EOB)
    components = b"".join(struct.pack(">BBB", c, 0x11, 0) for c in (1, 2, 3))
    return b"".join((
        b"\xff\xd8",
        _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
        _segment(0xDB, b"\x00" + b"\x01" * 64),
        _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components),
        _segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALUES)
                 + b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALUES)),
        _segment(0xDA, b"\x03" + b"".join(struct.pack(">BB", c, 0) for c in (1, 2, 3))
                 + b"\x00\x3f\x00"),
        bits.flush(),
        b"\xff\xd9",
    ))


@lru_cache(maxsize=256)
def gradient_jpeg(width: int, height: int, seed: int) -> bytes:
    """The same gradient as :func:`~.png.gradient_png`, as a JPEG."""
    return encode_rgb_jpeg(width, height, gradient_pixels(width, height, seed))


__all__ = ["encode_rgb_jpeg", "gradient_jpeg"]
