"""What an image file is, judged by its bytes (never its name): type, extension and size.

PNG, JPEG, WebP and GIF by their magic numbers, with the width and height the header
states. Reads only headers (a JPEG's segments are skipped with ``seek``), so it is cheap
on a file of any size. Standard library only.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class SniffedImage:
    """An image type judged by its leading bytes, and the size its header states."""

    content_type: str
    extension: str
    width: int | None
    height: int | None


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD,
                       0xCE, 0xCF})
"""Start-of-frame markers: baseline, progressive, lossless, arithmetic (not DHT/JPG/DAC)."""


def _jpeg_size(fh: IO[bytes]) -> tuple[int, int] | None:
    """Walk the segments after SOI to the first SOF (EXIF and ICC blocks may come first)."""
    fh.seek(2)
    while True:
        byte = fh.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue
        marker = fh.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fh.read(1)
        if not marker:
            return None
        kind = marker[0]
        if kind == 0x01 or 0xD0 <= kind <= 0xD8:  # no length field
            continue
        if kind in (0xD9, 0xDA):  # end of image, start of scan: no frame header before it
            return None
        raw = fh.read(2)
        if len(raw) < 2:
            return None
        (length,) = struct.unpack(">H", raw)
        if kind in _JPEG_SOF:
            frame = fh.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">xHH", frame)
            return width, height
        fh.seek(length - 2, io.SEEK_CUR)


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(head[26:28], "little") & 0x3FFF
        height = int.from_bytes(head[28:30], "little") & 0x3FFF
        return width, height
    return None


def sniff_image_file(fh: IO[bytes]) -> SniffedImage | None:
    """PNG, JPEG, WebP or GIF by magic bytes, with the header's width and height; else None.

    Reads only headers (a JPEG's segments are skipped with ``seek``), so it is cheap on a
    file of any size. Standard library only.
    """
    head = fh.read(32)
    size: tuple[int, int] | None = None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if head[12:16] == b"IHDR" and len(head) >= 24:
            size = struct.unpack(">II", head[16:24])
        kind = ("image/png", ".png")
    elif head.startswith(b"\xff\xd8\xff"):
        size = _jpeg_size(fh)
        kind = ("image/jpeg", ".jpg")
    elif head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        size = struct.unpack("<HH", head[6:10])
        kind = ("image/gif", ".gif")
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        size = _webp_size(head)
        kind = ("image/webp", ".webp")
    else:
        return None
    width, height = size if size else (None, None)
    return SniffedImage(kind[0], kind[1], width, height)


def sniff_image_bytes(data: bytes) -> SniffedImage | None:
    return sniff_image_file(io.BytesIO(data))
