"""Local reference images: which files may be sent, what they are, how they are streamed.

Three rules, all checked before any call:

- **Where from** (:class:`LocalFiles`): the operator (CLI, a Python caller with a
  ``CreatokContext``) may send any file it can read; a client of the served graph only
  files inside the folder the operator named in ``CREATOK_REFERENCE_DIR``, and none when
  it named none. Symlinks are resolved before that check.
- **What**: the type is sniffed from the first bytes (PNG, JPEG, WebP, GIF), never taken
  from the name; anything else is refused, naming the file and the accepted types.
- **How big**: at most :data:`MAX_REFERENCE_BYTES`. The upload streams the file
  (:class:`FileStream`), reopening it for each attempt, and never holds it in memory.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from .errors import InvalidRequestError, UploadError

UPLOAD_PREFIX = "open-skills/reference-images"

REFERENCE_DIR_ENV = "CREATOK_REFERENCE_DIR"
"""The one folder clients of the served graph may name reference images from."""

MAX_REFERENCE_BYTES = 20 * 1024 * 1024
"""Largest reference image sent (20 MiB): refused before any call above it."""

SNIFF_BYTES = 12
CHUNK_BYTES = 64 * 1024

IMAGE_EXTENSIONS: dict[str, str] = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}
"""The types CreatOK accepts, each with the extension the presigned file name gets."""

ACCEPTED = ("PNG (.png)", "JPEG (.jpg, .jpeg)", "WebP (.webp)", "GIF (.gif)")
"""How a refusal names the accepted types."""


def sniff_image_type(head: bytes) -> str | None:
    """The image type the first bytes of a file announce (magic numbers), else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def upload_name(name: str, content_type: str) -> str:
    """``name``, its extension matching its content (``photo.png`` holding JPEG: ``photo.jpg``)."""
    stem, ext = os.path.splitext(name)
    ext = ext.lower()
    if ext == ".jpeg" and content_type == "image/jpeg":
        return name
    if ext == IMAGE_EXTENSIONS[content_type]:
        return name
    return (stem or "image") + IMAGE_EXTENSIONS[content_type]


def _refuse(message: str, reason: str, name: str, **params: object) -> InvalidRequestError:
    return InvalidRequestError(message, field="reference_images", reason=reason,
                               params={"name": name, **params})


@dataclass(frozen=True)
class LocalFiles:
    """Which local files a run may send: anywhere (the operator), or one folder (a client)."""

    anywhere: bool = True
    folder: str | None = None
    inputs: str | None = None
    """The run's own folder of pictures taken from its messages (``chat_images``): always
    allowed, whoever the caller."""

    def with_inputs(self, folder: str) -> LocalFiles:
        return LocalFiles(anywhere=self.anywhere, folder=self.folder, inputs=folder)

    @classmethod
    def for_client(cls) -> LocalFiles:
        """The rule for a client of the served graph: only ``CREATOK_REFERENCE_DIR``."""
        folder = os.environ.get(REFERENCE_DIR_ENV, "").strip()
        return cls(anywhere=False, folder=folder or None)

    def resolve(self, path: str) -> Path:
        """The real file ``path`` names, symlinks resolved, or a refusal."""
        if self.anywhere:
            return Path(os.path.expanduser(path)).resolve()
        if self.inputs is not None:
            real = Path(path).resolve()
            if real.is_relative_to(Path(self.inputs).resolve()):
                return real
        if self.folder is None:
            raise _refuse(
                f"reference image {path} is a path on the server, and this server accepts no "
                f"reference images from its files (the operator can allow a folder with "
                f"{REFERENCE_DIR_ENV})",
                "reference_not_allowed", str(path))
        root = Path(self.folder).resolve()
        real = (root / path).resolve()  # an absolute path stays absolute
        if not real.is_relative_to(root):
            raise _refuse(
                f"reference image {path} is outside the folder this server sends reference "
                f"images from; name a file inside it (for example a name relative to it)",
                "reference_not_allowed", str(path))
        return real


ANY_LOCAL_FILE = LocalFiles()


@dataclass(frozen=True)
class ReferenceFile:
    """A checked reference image: what will be sent, as the approval shows it."""

    path: str
    """The resolved file (symlinks followed): the bytes that will be sent."""
    name: str
    """The ``fileName`` for the presign call: the given name, extension matching the type."""
    content_type: str
    """Sniffed from the bytes."""
    size: int

    def describe(self) -> dict[str, object]:
        return {"path": self.path, "type": self.content_type, "size": self.size}


def inspect_reference(path: str, files: LocalFiles = ANY_LOCAL_FILE) -> ReferenceFile:
    """Check one file (blocking: run it off the event loop)."""
    shown = str(path)
    real = files.resolve(shown)
    try:
        if not real.is_file():
            raise _refuse(f"reference image {shown} does not exist or is not a file",
                          "reference_missing", shown)
        size = real.stat().st_size
        if size == 0:
            raise _refuse(f"reference image {shown} is empty", "reference_empty", shown)
        if size > MAX_REFERENCE_BYTES:
            raise _refuse(
                f"reference image {shown} is {size / 2**20:.1f} MiB; the limit is "
                f"{MAX_REFERENCE_BYTES // 2**20} MiB",
                "reference_too_large", shown, size=size, limit=MAX_REFERENCE_BYTES,
                limit_mib=MAX_REFERENCE_BYTES // 2**20)
        with real.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise _refuse(
            f"reference image {shown} cannot be read ({exc.strerror or type(exc).__name__}; "
            "check its permissions)", "reference_unreadable", shown) from None
    content_type = sniff_image_type(head)
    if content_type is None:
        raise _refuse(
            f"{Path(shown).name} is not an image type CreatOK accepts: judged by its content "
            f"(not its name) it must be one of {', '.join(ACCEPTED)}",
            "reference_type", Path(shown).name, allowed=list(ACCEPTED))
    return ReferenceFile(path=str(real), name=upload_name(Path(shown).name, content_type),
                         content_type=content_type, size=size)


def inspect_references(paths: list[str], files: LocalFiles = ANY_LOCAL_FILE) -> list[ReferenceFile]:
    """Check every file before anything is uploaded or paid."""
    return [inspect_reference(p, files) for p in paths]


class FileStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A checked file as an upload body, read in chunks, for sync and async clients.

    Each iteration opens the file afresh, so a retried PUT sends it again from the
    start. It sends exactly the size that was presigned and checked, and fails if the
    file shrank or its content no longer starts as the type that was presigned.
    Async reads run in a worker thread: the event loop never blocks on the disk.
    """

    def __init__(self, ref: ReferenceFile) -> None:
        self.ref = ref

    def _open(self) -> BinaryIO:
        # O_NOFOLLOW: the checked path is already resolved; a symlink put there since is refused
        try:
            fd = os.open(self.ref.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise UploadError(f"reference image {self.ref.path} cannot be read any more "
                              f"({exc.strerror or type(exc).__name__})") from None
        return os.fdopen(fd, "rb")

    def _check(self, chunk: bytes, first: bool, left: int) -> bytes:
        if not chunk and left > 0:
            raise UploadError(f"reference image {self.ref.path} changed while being sent "
                              "(it is shorter now); nothing was generated")
        if first and sniff_image_type(chunk[:SNIFF_BYTES]) != self.ref.content_type:
            raise UploadError(f"reference image {self.ref.path} changed while being sent "
                              "(its content is no longer what was checked)")
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        fh, left = self._open(), self.ref.size
        try:
            first = True
            while left > 0:
                chunk = self._check(fh.read(min(CHUNK_BYTES, left)), first, left)
                first = False
                left -= len(chunk)
                yield chunk
        finally:
            fh.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        fh, left = await asyncio.to_thread(self._open), self.ref.size
        try:
            first = True
            while left > 0:
                data = await asyncio.to_thread(fh.read, min(CHUNK_BYTES, left))
                chunk = self._check(data, first, left)
                first = False
                left -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(fh.close)


def describe_reference(file: dict[str, object]) -> str:
    """One file of the approval question: ``/abs/cat.png (image/jpeg, 1.2 MiB)``."""
    size = int(file.get("size") or 0)  # type: ignore[call-overload]
    shown = f"{size} B" if size < 1024 else (
        f"{size / 1024:.1f} KiB" if size < 2**20 else f"{size / 2**20:.1f} MiB")
    return f"{file.get('path')} ({file.get('type')}, {shown})"
