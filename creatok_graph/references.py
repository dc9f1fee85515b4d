"""Local reference images: which files the contract accepts, checked before any call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InvalidRequestError

IMAGE_TYPES: dict[str, str] = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
"""File extension -> the ``fileType`` the presign call expects."""

UPLOAD_PREFIX = "open-skills/reference-images"


@dataclass(frozen=True)
class ReferenceFile:
    path: str
    name: str
    content_type: str
    size: int


def content_type_for(path: str) -> str:
    """The ``fileType`` for ``path``'s extension, or a refusal listing the accepted ones."""
    ext = Path(path).suffix.lower()
    try:
        return IMAGE_TYPES[ext]
    except KeyError:
        allowed = ", ".join(sorted(IMAGE_TYPES))
        raise InvalidRequestError(
            f"{Path(path).name} is not an image type CreatOK accepts: use {allowed}",
            field="reference_images",
            reason="reference_type",
            params={"name": Path(path).name, "allowed": sorted(IMAGE_TYPES)},
        ) from None


def inspect_reference(path: str) -> ReferenceFile:
    """Check one local file (blocking: run it off the event loop)."""
    p = Path(os.path.expanduser(path))
    content_type = content_type_for(str(p))
    if not p.is_file():
        raise InvalidRequestError(
            f"reference image {path} does not exist or is not a file",
            field="reference_images",
            reason="reference_missing",
            params={"name": str(path)},
        )
    if not os.access(p, os.R_OK):
        raise InvalidRequestError(
            f"reference image {path} cannot be read (check its permissions)",
            field="reference_images",
            reason="reference_unreadable",
            params={"name": str(path)},
        )
    size = p.stat().st_size
    if size == 0:
        raise InvalidRequestError(
            f"reference image {path} is empty",
            field="reference_images",
            reason="reference_empty",
            params={"name": str(path)},
        )
    return ReferenceFile(path=str(p.resolve()), name=p.name, content_type=content_type, size=size)


def inspect_references(paths: list[str]) -> list[ReferenceFile]:
    """Check every file before anything is uploaded or paid."""
    return [inspect_reference(p) for p in paths]


def read_bytes(path: str) -> bytes:
    """The file's bytes; an unreadable file is a refused request, not a traceback."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidRequestError(
            f"reference image {path} cannot be read ({exc.strerror or type(exc).__name__})",
            field="reference_images",
            reason="reference_unreadable",
            params={"name": str(path)},
        ) from None
