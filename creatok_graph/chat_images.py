"""Images inside chat messages: reference images the person attached, result images in
our answer.

Studio, agent UIs and the SDK send pictures as content blocks of the human message:
LangChain's standard ``{"type": "image", "base64": ..., "mime_type": ...}`` (and the older
``{"type": "image", "source_type": "base64", "data": ...}``), ``data:`` URLs in ``url``, and
OpenAI's ``{"type": "image_url", "image_url": {"url": "data:..."}}``. Each is decoded,
judged by its bytes (PNG, JPEG, WebP or GIF, at most :data:`MAX_IMAGE_BYTES`), and written
once to ``<artifacts>/<run>/inputs/<sha256>.<ext>``: the graph state, and so every
checkpoint, carries that path, never the bytes. The upload step then treats it like any
other reference file. Links to images elsewhere (``https://...``) are refused: the server
must not fetch URLs its clients choose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from .artifacts import INPUTS_FOLDER, atomic_write, run_dir
from .errors import InvalidRequestError
from .image_types import sniff_image_bytes
from .references import ACCEPTED, MAX_REFERENCE_BYTES

MAX_IMAGE_BYTES = MAX_REFERENCE_BYTES
"""Largest picture accepted from a message (decoded): the limit of any reference image."""

@dataclass(frozen=True)
class ChatImage:
    """One decoded, checked image from a message."""

    data: bytes = b""
    content_type: str = ""
    extension: str = ""
    sha256: str = ""

    @property
    def file_name(self) -> str:
        """Named by the bytes: their hash, and the extension of the type they are."""
        return self.sha256 + self.extension


def _refuse(message: str, reason: str, index: int, **params: Any) -> InvalidRequestError:
    """A refusal whose ``reason`` (``message_image_*``) has a sentence in every language."""
    return InvalidRequestError(message, field="messages", reason=f"message_image_{reason}",
                               params={"index": index, **params})


def _image_source(block: Mapping[str, Any]) -> tuple[str, str] | None:
    """("base64", data) or ("url", url) for an image block; None for other blocks."""
    kind = block.get("type")
    if kind == "image_url":  # OpenAI chat format
        inner = block.get("image_url")
        url = inner.get("url") if isinstance(inner, Mapping) else inner
        return ("url", str(url or ""))
    if kind != "image":
        return None
    if block.get("base64"):
        return ("base64", str(block["base64"]))
    if block.get("source_type") == "base64" and block.get("data"):
        return ("base64", str(block["data"]))
    if block.get("url"):
        return ("url", str(block["url"]))
    if block.get("file_id") or (block.get("id") and block.get("source_type") == "id"):
        return ("file_id", str(block.get("file_id") or block.get("id")))
    return ("empty", "")


def _label(index: int) -> str:
    return f"image {index} of the message"


def _decode(payload: str, index: int) -> bytes:
    # A base64 text this long decodes to more than the limit: refuse before decoding it.
    if len(payload) > (MAX_IMAGE_BYTES * 4) // 3 + 8:
        raise _too_large(index)
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _refuse(f"{_label(index)} is not valid base64 image data", "undecodable",
                      index) from None


def _too_large(index: int) -> InvalidRequestError:
    limit = MAX_IMAGE_BYTES // (1024 * 1024)
    return _refuse(f"{_label(index)} is larger than {limit} MB", "too_large", index,
                   max_mb=limit)


def _from_url(url: str, index: int) -> bytes:
    head, sep, payload = url.partition(",")
    if url.startswith("data:") and sep:
        if not head.endswith(";base64"):
            raise _refuse(f"{_label(index)} is a data URL without base64 data", "undecodable",
                          index)
        return _decode(payload, index)
    raise _refuse(
        f"{_label(index)} is a link ({_shorten(url)}); links are not fetched: attach the "
        "image itself (base64 data or a data: URL)",
        "remote", index,
    )


def _shorten(url: str, limit: int = 60) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def has_images(message: BaseMessage) -> bool:
    """Whether ``message`` has image blocks at all (cheap: nothing is decoded)."""
    content = message.content
    return not isinstance(content, str) and any(
        isinstance(block, Mapping) and _image_source(block) is not None for block in content)


def images_in(message: BaseMessage) -> list[ChatImage]:
    """Every image attached to ``message``, decoded and checked (pure: no file written).

    Raises :class:`InvalidRequestError` naming the image ("image 2 of the message"), the
    problem and what is accepted.
    """
    content = message.content
    if isinstance(content, str):
        return []
    images: list[ChatImage] = []
    index = 0
    for block in content:
        if not isinstance(block, Mapping):
            continue
        source = _image_source(block)
        if source is None:
            continue
        index += 1
        kind, value = source
        if kind == "empty":
            raise _refuse(f"{_label(index)} has no image data", "empty", index)
        if kind == "file_id":
            raise _refuse(f"{_label(index)} refers to a stored file ({_shorten(value)}); "
                          "attach the image itself (base64 data or a data: URL)", "remote",
                          index)
        data = _decode(value, index) if kind == "base64" else _from_url(value, index)
        images.append(_checked(data, index))
    return images


def _checked(data: bytes, index: int) -> ChatImage:
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(index)
    if not data:
        raise _refuse(f"{_label(index)} has no image data", "empty", index)
    sniffed = sniff_image_bytes(data)
    if sniffed is None:
        allowed = list(ACCEPTED)
        raise _refuse(
            f"{_label(index)} is not an image type CreatOK accepts: use {', '.join(allowed)}",
            "type", index, allowed=allowed,
        )
    return ChatImage(data=data, content_type=sniffed.content_type, extension=sniffed.extension,
                     sha256=hashlib.sha256(data).hexdigest())


def inputs_dir(root: str, run_id: str) -> Path:
    return run_dir(root, run_id) / INPUTS_FOLDER


def save_images(root: str, run_id: str, images: Iterable[ChatImage]) -> list[str]:
    """Write each image once, named by its hash; their paths, in order, without repeats.

    Blocking: run it off the event loop. A file already there has the same bytes (its name
    is their hash), so a resumed or repeated step writes nothing again.
    """
    folder = inputs_dir(root, run_id)
    paths: list[str] = []
    for image in images:
        path = folder / image.file_name
        if str(path) in paths:
            continue
        if not path.is_file():
            atomic_write(path, image.data)
        paths.append(str(path))
    return paths


def result_content(message: str, images: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Our final message's content: the text, then one standard image block per image
    with its URL exactly as CreatOK gave it (chat UIs and Studio show the pictures).

    Plain blocks without the optional ``id``: they are checkpointed with the thread, and
    an id per block would add bytes to every finished run for nothing."""
    blocks: list[Any] = [{"type": "text", "text": message}]
    for image in images:
        url = image.get("url")
        if isinstance(url, str) and url:
            blocks.append({"type": "image", "url": url})
    return blocks


def attach_references(
    message: BaseMessage, root: str, run_id: str, given: list[str]
) -> tuple[list[str], BaseMessage] | None:
    """The images of ``message`` saved as reference files: the reference list (``given``
    first) and the message to keep in its place, whose image blocks are replaced by a short
    note naming the file, so the conversation's checkpoints carry no image bytes.

    None when the message has no images. Blocking (it writes files).
    """
    images = images_in(message)
    if not images:
        return None
    paths = save_images(root, run_id, images)
    refs = given + [p for p in paths if p not in given]
    return refs, _without_bytes(message)


NOTE_MARK = "creatok_reference_image"
"""Marks (in a text block's ``extras``) the note that stands for a saved picture."""


def said(message: BaseMessage) -> str:
    """What the person wrote in ``message``: its text without our notes for its pictures."""
    content = message.content
    if isinstance(content, str):
        return content.strip()
    parts = [str(block.get("text") or "") for block in content
             if isinstance(block, Mapping) and block.get("type") == "text"
             and NOTE_MARK not in (block.get("extras") or {})]
    return " ".join(p for p in parts if p).strip()


def _without_bytes(message: BaseMessage) -> BaseMessage:
    content: list[Any] = []
    index = 0
    for block in message.content:
        if isinstance(block, Mapping) and _image_source(block) is not None:
            index += 1
            content.append({"type": "text", "text": f"[reference image {index}]",
                            "extras": {NOTE_MARK: index}})
        else:
            content.append(block)
    return message.model_copy(update={"content": content})
