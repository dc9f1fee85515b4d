"""Reference files: judged by their bytes, from allowed places only, streamed in chunks."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from creatok_graph._flow import run_async, run_sync
from creatok_graph.client import CreatokAPI
from creatok_graph.emulator.png import gradient_png
from creatok_graph.errors import InvalidRequestError, UploadError
from creatok_graph.references import (
    CHUNK_BYTES,
    MAX_REFERENCE_BYTES,
    FileStream,
    LocalFiles,
    describe_reference,
    inspect_reference,
    sniff_image_type,
    upload_name,
)

PNG = gradient_png(8, 8, 1)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
GIF = b"GIF89a" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20
SIGNED = "https://bucket.storage.test/o/a.png?X-Amz-Signature=abc%2Fdef"


@pytest.mark.parametrize(
    ("data", "kind"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (b"GIF87a...", "image/gif"),
     (WEBP, "image/webp"), (b"not an image at all", None), (b"RIFF\x00\x00\x00\x00WAVE", None),
     (b"\x89PN", None), (b"", None), (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
     (b"BM\x00\x00", None)],
)
def test_sniffing_reads_the_magic_bytes(data: bytes, kind: str | None) -> None:
    assert sniff_image_type(data[:12]) == kind


@pytest.mark.parametrize(
    ("name", "kind", "sent_as"),
    [("a.png", "image/png", "a.png"), ("a.png", "image/jpeg", "a.jpg"),
     ("a.JPEG", "image/jpeg", "a.JPEG"), ("a.jpg", "image/gif", "a.gif"),
     ("noext", "image/webp", "noext.webp"), ("notes.txt", "image/png", "notes.png")],
)
def test_the_presigned_name_gets_the_extension_of_the_content(
    name: str, kind: str, sent_as: str
) -> None:
    assert upload_name(name, kind) == sent_as


def test_a_jpeg_named_png_is_sent_as_jpeg(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(JPEG)
    ref = inspect_reference(str(tmp_path / "photo.png"))
    assert (ref.content_type, ref.name, ref.size) == ("image/jpeg", "photo.jpg", len(JPEG))
    assert "image/jpeg" in describe_reference(ref.describe())
    assert str(tmp_path / "photo.png") in describe_reference(ref.describe())


def test_text_named_png_is_refused_naming_file_and_types(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("just some text")
    with pytest.raises(InvalidRequestError) as info:
        inspect_reference(str(tmp_path / "notes.png"))
    message = str(info.value)
    assert info.value.reason == "reference_type" and "notes.png" in message
    for accepted in ("PNG", "JPEG", "WebP", "GIF"):
        assert accepted in message


def test_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as fh:  # sparse: the check reads the size, not the bytes
        fh.write(PNG[:16])
        fh.truncate(MAX_REFERENCE_BYTES + 1)
    with pytest.raises(InvalidRequestError) as info:
        inspect_reference(str(big))
    assert info.value.reason == "reference_too_large" and "20 MiB" in str(info.value)
    with big.open("r+b") as fh:
        fh.truncate(MAX_REFERENCE_BYTES)
    assert inspect_reference(str(big)).size == MAX_REFERENCE_BYTES


def test_a_client_gets_no_server_file_without_a_reference_dir(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    with pytest.raises(InvalidRequestError) as info:
        inspect_reference(str(tmp_path / "a.png"), LocalFiles(anywhere=False, folder=None))
    assert info.value.reason == "reference_not_allowed"
    assert "CREATOK_REFERENCE_DIR" in str(info.value)


def test_a_client_gets_files_of_the_reference_dir_only(tmp_path: Path) -> None:
    allowed = tmp_path / "refs"
    allowed.mkdir()
    (allowed / "ok.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    (allowed / "link.png").symlink_to(tmp_path / "secret.png")  # resolved before the check
    (allowed / "passwd.png").symlink_to("/etc/passwd")
    files = LocalFiles(anywhere=False, folder=str(allowed))
    assert inspect_reference("ok.png", files).path == str((allowed / "ok.png").resolve())
    assert inspect_reference(str(allowed / "ok.png"), files).content_type == "image/png"
    for path in ("link.png", "passwd.png", "../secret.png", str(tmp_path / "secret.png"),
                 "/etc/passwd", "~/x.png"):
        with pytest.raises(InvalidRequestError) as info:
            inspect_reference(path, files)
        assert info.value.reason in ("reference_not_allowed", "reference_missing"), path


def test_the_operator_may_send_any_readable_file(tmp_path: Path) -> None:
    (tmp_path / "target.webp").write_bytes(WEBP)
    (tmp_path / "link.png").symlink_to(tmp_path / "target.webp")
    ref = inspect_reference(str(tmp_path / "link.png"))
    assert ref.path == str((tmp_path / "target.webp").resolve())  # what is really sent
    assert (ref.content_type, ref.name) == ("image/webp", "link.webp")


def _big_png(tmp_path: Path) -> Path:
    path = tmp_path / "big.png"
    path.write_bytes(PNG + os.urandom(5 * CHUNK_BYTES + 123))
    return path


def test_the_stream_reads_chunks_and_reopens_for_each_attempt(tmp_path: Path) -> None:
    path = _big_png(tmp_path)
    stream = FileStream(inspect_reference(str(path)))
    first = list(stream)
    assert max(len(c) for c in first) <= CHUNK_BYTES and len(first) > 5
    assert b"".join(first) == path.read_bytes()
    assert b"".join(stream) == path.read_bytes()  # a retry sends it all again

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in stream])

    assert asyncio.run(collect()) == path.read_bytes()


def test_the_stream_refuses_a_file_changed_since_the_check(tmp_path: Path) -> None:
    path = _big_png(tmp_path)
    stream = FileStream(inspect_reference(str(path)))
    path.write_bytes(b"now plain text, and longer than before" * 10)
    with pytest.raises(UploadError):
        list(stream)
    path.write_bytes(PNG[:20])  # right type, too short
    with pytest.raises(UploadError):
        list(stream)


class _FlakyStorage:
    """Fails the first PUT after reading its body; records every body it received."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read())
        assert request.headers["Content-Length"] == str(len(self.bodies[-1]))
        assert request.headers["Host"] == "bucket.storage.test"
        assert "authorization" not in request.headers
        return httpx.Response(503 if len(self.bodies) == 1 else 200)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_signed_put_streams_and_is_retried_from_the_start(tmp_path: Path, driver: str) -> None:
    path = _big_png(tmp_path)
    storage = _FlakyStorage()
    api = CreatokAPI(api_key="sk-unit", base_url="https://api.test")
    flow = api.put_object(SIGNED, FileStream(inspect_reference(str(path))), "image/png")
    if driver == "sync":
        with httpx.Client(transport=httpx.MockTransport(storage)) as http:
            run_sync(flow, http)
    else:
        async def go() -> None:
            async with httpx.AsyncClient(transport=httpx.MockTransport(storage)) as http:
                await run_async(flow, http)

        asyncio.run(go())
    assert storage.bodies == [path.read_bytes()] * 2
