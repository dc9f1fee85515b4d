"""Image sniffing, and one download's edge cases over ``httpx.MockTransport``."""

from __future__ import annotations

import struct
from pathlib import Path

import httpx
import pytest

from creatok_graph import _flow, _retry
from creatok_graph._flow import run_async, run_sync
from creatok_graph.downloads import download_image
from creatok_graph.emulator.jpeg import gradient_jpeg
from creatok_graph.emulator.png import gradient_png
from creatok_graph.image_types import sniff_image_bytes

URL = "https://storage.example/img/0.png?X-Amz-Signature=abc"


# -- sniffing ------------------------------------------------------------------------------


def _with_app_segments(jpeg: bytes, payload: int) -> bytes:
    """An EXIF-like APP1 segment of ``payload`` bytes before the frame header."""
    app1 = b"\xff\xe1" + struct.pack(">H", payload + 2) + b"Exif\x00\x00" + b"\xff" * (
        payload - 6)
    return jpeg[:2] + app1 + jpeg[2:]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (gradient_png(128, 72, 3), ("image/png", ".png", 128, 72)),
        (gradient_jpeg(72, 128, 3), ("image/jpeg", ".jpg", 72, 128)),
        (_with_app_segments(gradient_jpeg(64, 40, 1), 40_000), ("image/jpeg", ".jpg", 64, 40)),
        (b"GIF89a" + struct.pack("<HH", 300, 200) + b"\x00" * 20, ("image/gif", ".gif", 300, 200)),
        (b"GIF87a" + struct.pack("<HH", 1, 2) + b"\x00" * 20, ("image/gif", ".gif", 1, 2)),
        (b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x0a\x00\x00\x00" + b"\x00" * 4
         + (1919).to_bytes(3, "little") + (1079).to_bytes(3, "little"),
         ("image/webp", ".webp", 1920, 1080)),
        (b"RIFF\x00\x00\x00\x00WEBPVP8L" + b"\x00" * 4 + b"\x2f"
         + ((640 - 1) | ((480 - 1) << 14)).to_bytes(4, "little") + b"\x00" * 8,
         ("image/webp", ".webp", 640, 480)),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 4 + b"\x00\x00\x00\x9d\x01\x2a"
         + struct.pack("<HH", 800, 600) + b"\x00" * 4, ("image/webp", ".webp", 800, 600)),
        (gradient_jpeg(16, 16, 1)[:40], ("image/jpeg", ".jpg", None, None)),  # cut short
    ],
    ids=["png", "jpeg", "jpeg-exif-first", "gif89a", "gif87a", "webp-vp8x", "webp-vp8l",
         "webp-vp8", "jpeg-truncated"],
)
def test_images_are_known_by_their_bytes(data: bytes, expected: tuple[object, ...]) -> None:
    sniffed = sniff_image_bytes(data)
    assert sniffed is not None
    assert (sniffed.content_type, sniffed.extension, sniffed.width, sniffed.height) == expected


@pytest.mark.parametrize("data", [b"", b"<html>expired</html>", b"%PDF-1.7\n", b"RIFF1234WAVE"])
def test_other_bytes_are_no_image(data: bytes) -> None:
    assert sniff_image_bytes(data) is None


# -- one download ----------------------------------------------------------------------------


def _client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler)


def test_an_image_over_the_size_cap_is_refused_and_nothing_stays(tmp_path: Path) -> None:
    big = gradient_png(64, 64, 1)

    def stream_without_length(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([big[:300], big[300:]]))  # chunked, no length

    with _client(httpx.MockTransport(stream_without_length)) as http:
        entry = run_sync(download_image(URL, tmp_path, 1, max_bytes=400), http)
    assert entry["file"] is None and entry["error"]["kind"] == "too_large"
    assert list(tmp_path.iterdir()) == []

    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big)

    with _client(httpx.MockTransport(declared)) as http:
        entry = run_sync(download_image(URL, tmp_path, 1, max_bytes=400), http)
    assert entry["error"]["kind"] == "too_large" and list(tmp_path.iterdir()) == []


def test_a_page_instead_of_an_image_is_not_kept(tmp_path: Path) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>Sign in to continue</html>")

    with _client(httpx.MockTransport(page)) as http:
        entry = run_sync(download_image(URL, tmp_path, 1), http)
    assert entry["error"]["kind"] == "not_image"
    assert list(tmp_path.iterdir()) == []


def test_storage_asking_to_slow_down_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_retry, "backoff_delay", lambda attempt, rng=None: 0.0)
    body = gradient_png(8, 8, 2)
    answers = [httpx.Response(503, text="<Error><Code>SlowDown</Code></Error>"),
               httpx.Response(500), httpx.Response(200, content=body)]
    seen: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    with _client(httpx.MockTransport(flaky)) as http:
        entry = run_sync(download_image(URL, tmp_path, 2), http)
    assert entry["file"] == "images/image-2.png"
    assert (tmp_path / "image-2.png").read_bytes() == body
    assert len(seen) == 3 and all(str(r.url) == URL for r in seen)  # verbatim every time


def test_a_missing_object_is_not_retried_and_says_why(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def gone(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, text="<Error><Code>NoSuchKey</Code>"
                                        "<Message>The specified key does not exist.</Message>"
                                        "</Error>")

    with _client(httpx.MockTransport(gone)) as http:
        entry = run_sync(download_image(URL, tmp_path, 1), http)
    assert len(seen) == 1
    assert entry["error"]["kind"] == "not_found" and entry["error"]["status_code"] == 404
    assert "NoSuchKey" in entry["error"]["message"]


async def test_the_async_driver_streams_the_same_way(tmp_path: Path) -> None:
    body = gradient_jpeg(40, 24, 4)

    async def serve(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(200, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        entry = await run_async(download_image(URL, tmp_path, 3), http)
    assert entry["file"] == "images/image-3.jpg"
    assert (entry["width"], entry["height"], entry["bytes"]) == (40, 24, len(body))
    assert (tmp_path / "image-3.jpg").read_bytes() == body


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _in_parts(data: bytes, size: int) -> httpx.AsyncByteStream:
    class Parts(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[override]
            for start in range(0, len(data), size):
                yield data[start:start + size]

    return Parts()


async def test_a_body_written_in_several_parts_lands_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body larger than one hand-over to the worker thread (``WRITE_CHUNK``) goes to disk
    in several parts, and the file is the body, byte for byte."""
    monkeypatch.setattr(_flow, "WRITE_CHUNK", 200)
    body = gradient_png(96, 96, 5)
    assert len(body) > 3 * 200

    async def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_in_parts(body, 150))  # no length, 150 at a time

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        entry = await run_async(download_image(URL, tmp_path, 1), http)
    assert entry["file"] == "images/image-1.png" and entry["bytes"] == len(body)
    assert (tmp_path / "image-1.png").read_bytes() == body
    assert _names(tmp_path) == ["image-1.png"]  # no temp file left


async def test_a_body_over_the_cap_after_its_first_part_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_flow, "WRITE_CHUNK", 100)
    body = gradient_png(64, 64, 1)

    async def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_in_parts(body, 150))  # part written, then too big

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        entry = await run_async(download_image(URL, tmp_path, 1, max_bytes=400), http)
    assert entry["file"] is None and entry["error"]["kind"] == "too_large"
    assert _names(tmp_path) == []
