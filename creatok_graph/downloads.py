"""Keep what was generated: each image of a succeeded run saved under ``outputs/images/``.

CreatOK's result URLs are signed and expire; a copy on disk does not. Each image is fetched
with a plain HTTP client that carries no credentials (the image host is object storage, not
CreatOK's API, and never sees the key), streamed into a temp file and renamed into place,
and named by what its bytes are (PNG, JPEG, WebP, GIF), never by its URL. A failed download
never undoes a paid success: the image's entry says why its file is missing, and a later
pass (the CLI's same ``--run-id``) fetches only what is still missing, without charging.

Everything here is a flow (see ``_flow``), so the sync and the async graph share it; under
``ainvoke`` the network waits on the event loop and every file operation runs in a thread.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from langgraph.config import get_stream_writer

from . import _retry, artifacts, gallery
from ._flow import Blocking, BodyTooLarge, Flow, Gather, Sleep, Streamed, StreamToFile
from .client import USER_AGENT, BoundedAsyncTransport, pool_shards, shared_ssl_context
from .image_types import sniff_image_file
from .messages import text
from .outcome import Outcome
from .replies import final_message

logger = logging.getLogger(__name__)

IMAGES_FOLDER = "images"
"""Where the copies go, inside the run's ``outputs`` folder."""
MAX_IMAGE_BYTES = 64 * 1024 * 1024
"""Largest image kept (a 4K PNG is ~20 MB); a bigger answer is refused, not half-saved."""
PARALLEL_DOWNLOADS = 4
"""Images fetched at once per run."""
SHARED_DOWNLOADS = 16
"""Images fetched at once by all the runs of one graph (its shared pool, ``GraphHttp``)."""
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

FILE_FIELDS = ("file", "sha256", "bytes", "content_type", "width", "height")
"""What a kept image adds to its entry in ``result.json`` (the URL stays as CreatOK sent it)."""
EXPIRED_STATUSES = frozenset({401, 403, 410})
"""What object storage answers a signed URL past its expiry (S3: 403 AccessDenied)."""


# -- one image -----------------------------------------------------------------------------


def new_download_http(connections: int = PARALLEL_DOWNLOADS) -> httpx.Client:
    """A client with no auth and no API headers: the image host must never see the key.
    ``SHARED_DOWNLOADS`` connections: the pool every sync run of one graph shares."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True,
                        verify=shared_ssl_context(), limits=limits)


def new_async_download_http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True,
                             verify=shared_ssl_context(),
                             limits=httpx.Limits(max_connections=PARALLEL_DOWNLOADS))


def new_shared_async_download_http() -> httpx.AsyncClient:
    """The pool every run of one graph fetches its images through, on one event loop.

    Shared, a batch of 200 reuses a few kept-alive connections instead of opening (and on
    the real service, TLS-handshaking) one client and connection per run: 1.6 ms of CPU
    per image instead of 2.8 ms on loopback. At most ``SHARED_DOWNLOADS`` bodies are open at
    once, in small pools (``client.POOL_SHARDS``); the rest wait on a semaphore rather than
    in httpcore's queue, whose bookkeeping grows with every queued request.
    """
    transport = BoundedAsyncTransport(pool_shards(SHARED_DOWNLOADS), SHARED_DOWNLOADS,
                                      streamed=True)
    return httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True,
                             transport=transport)


def _failure(kind: str, message: str, **details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"kind": kind, "message": message}
    error.update({k: v for k, v in details.items() if v is not None})
    return {"file": None, "error": error}


def _place(folder: Path, index: int, path: Path, size: int, sha256: str) -> dict[str, Any] | None:
    """Rename a complete download to ``image-<index>.<type>``; None when it is no image."""
    with open(path, "rb") as fh:
        sniffed = sniff_image_file(fh)
    if sniffed is None:
        return None
    target = folder / f"image-{index}{sniffed.extension}"
    os.replace(path, target)
    return {"file": f"{IMAGES_FOLDER}/{target.name}", "sha256": sha256, "bytes": size,
            "content_type": sniffed.content_type, "width": sniffed.width,
            "height": sniffed.height}


def _storage_error(body: bytes) -> tuple[str | None, str | None]:
    """(Code, Message) of an object-storage XML error body, when there is one."""
    found = [re.search(rf"<{tag}>([^<]{{0,300}})</{tag}>", body.decode("utf-8", "replace"))
             for tag in ("Code", "Message")]
    return tuple(m.group(1).strip() if m else None for m in found)  # type: ignore[return-value]


def _http_failure(got: Streamed) -> dict[str, Any]:
    code, detail = _storage_error(got.error_body)
    said = f"the image host answered HTTP {got.status_code}" + (f" {code}" if code else "")
    if detail:
        said += f": {detail}"
    mentions_expiry = b"expire" in got.error_body.lower()
    if got.status_code in EXPIRED_STATUSES or (400 <= got.status_code < 500 and mentions_expiry):
        return _failure("expired", f"the link has expired ({said})",
                        status_code=got.status_code)
    if got.status_code == 404:
        return _failure("not_found", said, status_code=got.status_code)
    return _failure("http_error", said, status_code=got.status_code)


def download_image(
    url: Any, folder: Path, index: int, max_bytes: int = MAX_IMAGE_BYTES
) -> Flow[dict[str, Any]]:
    """Fetch one image into ``folder``: its file fields, or why there is no file.

    Retried like CreatOK's idempotent GETs (``_retry``): connection trouble, 429, 5xx.
    """
    if not isinstance(url, str) or not url:
        return _failure("no_url", "CreatOK gave no URL for this image")
    try:
        request = httpx.Request(
            "GET", httpx.URL(url),  # verbatim: the signature covers the exact query
            headers={"Accept": "image/*", "User-Agent": USER_AGENT},
            extensions={"timeout": DOWNLOAD_TIMEOUT.as_dict()},
        )
    except (httpx.InvalidURL, ValueError) as exc:
        return _failure("bad_url", f"the image URL cannot be used ({exc})")
    finish = functools.partial(_place, folder, index)
    attempt = 0
    while True:
        try:
            got: Streamed = yield StreamToFile(request, folder, max_bytes, finish)
        except BodyTooLarge as exc:
            return _failure("too_large", f"the image is larger than {exc.limit} bytes",
                            limit=exc.limit)
        except httpx.UnsupportedProtocol as exc:
            return _failure("bad_url", f"the image URL cannot be used ({exc})")
        except httpx.TransportError as exc:
            if attempt < _retry.MAX_RETRIES and _retry.should_retry_error(
                _retry.RetryMode.IDEMPOTENT, exc
            ):
                yield Sleep(_retry.backoff_delay(attempt))
                attempt += 1
                continue
            return _failure("connection_error",
                            f"the image host could not be reached ({type(exc).__name__})")
        except httpx.HTTPError as exc:  # too many redirects, a body that cannot be decoded...
            return _failure("bad_response",
                            f"the image host's answer could not be read ({type(exc).__name__})")
        except OSError as exc:
            return _failure("write_error",
                            f"the image could not be saved ({exc.strerror or exc})")
        if 200 <= got.status_code < 300:
            if got.kept is None:
                return _failure("not_image", "the download is not a PNG, JPEG, WebP or GIF image")
            return dict(got.kept)
        if attempt < _retry.MAX_RETRIES and _retry.should_retry_status(
            _retry.RetryMode.IDEMPOTENT, got.status_code
        ):
            wait = _retry.retry_after_seconds(httpx.Response(got.status_code,
                                                             headers=got.headers))
            if wait is None or wait <= _retry.MAX_RETRY_AFTER:
                yield Sleep(wait if wait is not None else _retry.backoff_delay(attempt))
                attempt += 1
                continue
        return _http_failure(got)


# -- a run's images ------------------------------------------------------------------------


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _intact(outputs: Path, entry: dict[str, Any]) -> bool:
    """Is the file an entry names still there, inside ``images/``, with its recorded bytes?"""
    name = entry.get("file")
    if not isinstance(name, str) or not name:
        return False
    images = (outputs / IMAGES_FOLDER).resolve()
    path = (outputs / name).resolve()
    try:
        path.relative_to(images)
        return (path.is_file() and path.stat().st_size == entry.get("bytes")
                and _file_sha256(path) == entry.get("sha256"))
    except (ValueError, OSError):
        return False


STALE_TEMP_SECONDS = 3600.0
"""A temp file this old belongs to a download that was killed, not one still running."""


def _remove_stale_temps(folder: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for temp in folder.glob(".download.*.tmp"):
        with contextlib.suppress(OSError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()


def _already_kept(
    root: str, run_id: str, images: list[Any], task_id: Any
) -> tuple[Path, list[dict[str, Any] | None]]:
    """The outputs folder and, per image, the file fields of an intact earlier copy of this
    task's image (or None). Blocking: paths are resolved here, not on the event loop."""
    outputs = artifacts.outputs_dir(root, run_id)
    _remove_stale_temps(outputs / IMAGES_FOLDER)
    previous = artifacts.read_json(outputs / "result.json")
    earlier: list[Any] = []
    if isinstance(previous, dict) and previous.get("task_id") == task_id:
        earlier = list(previous.get("images") or [])
    kept: list[dict[str, Any] | None] = []
    for i in range(len(images)):
        entry = earlier[i] if i < len(earlier) and isinstance(earlier[i], dict) else {}
        kept.append({k: entry[k] for k in FILE_FIELDS if k in entry}
                    if _intact(outputs, entry) else None)
    return outputs, kept


def with_file_fields(image: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The image entry as CreatOK sent it, plus what we know of its copy (stale fields go)."""
    base = dict(image) if isinstance(image, dict) else {"url": image}
    for key in ("file", "sha256", "bytes", "content_type", "error"):
        base.pop(key, None)
    return {**base, **fields}


Announce = Callable[[dict[str, Any]], None]


Pools = tuple[Callable[[], httpx.Client], Callable[[], httpx.AsyncClient]]
"""(sync, async) getters of a download pool someone else owns (a graph's ``GraphHttp``)."""


def keep_images(
    root: str, run_id: str, record: dict[str, Any], *, max_bytes: int = MAX_IMAGE_BYTES,
    announce: Announce | None = None, pools: Pools | None = None,
) -> Flow[list[dict[str, Any]]]:
    """Download every image of ``record`` not already kept; the entries with file fields.

    ``announce`` hears {"type": "downloading", "count"} first (default: the graph's
    ``custom`` stream). ``pools``: fetch through these instead of a client of our own."""
    images = list(record.get("images") or [])
    outputs, kept = yield Blocking(_already_kept, (root, run_id, images, record.get("task_id")))
    folder = outputs / IMAGES_FOLDER
    todo = [i for i, fields in enumerate(kept) if fields is None]
    if todo:
        (announce or _announce)({"type": "downloading", "count": len(todo)})
    fetches: tuple[Callable[[], Flow[dict[str, Any]]], ...] = tuple(
        functools.partial(download_image, _url(images[i]), folder, i + 1, max_bytes)
        for i in todo
    )
    if pools is None:
        fetched = yield Gather(fetches, PARALLEL_DOWNLOADS, new_download_http,
                               new_async_download_http)
    else:
        fetched = yield Gather(fetches, PARALLEL_DOWNLOADS, *pools, shared=True)
    for i, fields in zip(todo, fetched, strict=True):
        kept[i] = fields
    return [with_file_fields(image, fields or {})
            for image, fields in zip(images, kept, strict=True)]


def _announce(event: dict[str, Any]) -> None:
    """Progress on LangGraph's ``custom`` stream, when inside a graph run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph (e.g. the CLI's later pass)
        return
    writer({"source": "creatok", **event})


def _url(image: Any) -> Any:
    return image.get("url") if isinstance(image, dict) else image


def keep(
    root: str, run_id: str, record: dict[str, Any], *, lang: str, fetch: bool = True,
    announce: Announce | None = None, pools: Pools | None = None, page: bool = True,
) -> Flow[dict[str, Any]]:
    """After a success: the images saved (when ``fetch``) and the gallery written (unless
    ``page`` is off: a batch's requests share the batch's one page).

    Returns ``record`` with each image's file fields. Never raises for a file it could not
    fetch or write: the run succeeded, and the record says what is missing.
    """
    if not record.get("images"):
        return record
    try:
        if fetch:
            images = yield from keep_images(root, run_id, record, announce=announce,
                                            pools=pools)
            record = {**record, "images": images}
        if page:
            yield Blocking(gallery.write_run_gallery, (root, run_id, record, lang))
    except Exception:  # a copy is a bonus: nothing here may fail a paid success
        logger.warning("could not keep the images of run %s", run_id, exc_info=True)
    return record


# -- telling the person --------------------------------------------------------------------


def missing(images: list[Any]) -> list[tuple[int, dict[str, Any]]]:
    """(1-based index, error) of each image whose download failed."""
    out = []
    for i, image in enumerate(images, 1):
        if isinstance(image, dict) and "file" in image and image["file"] is None:
            error = image.get("error")
            out.append((i, error if isinstance(error, dict) else {}))
    return out


def _reason(lang: str, error: dict[str, Any]) -> str:
    kind = str(error.get("kind") or "")
    if kind == "http_error":
        return text(lang, "download_reason_http", status=error.get("status_code"))
    if kind == "too_large":
        limit = int(error.get("limit") or MAX_IMAGE_BYTES) // (1024 * 1024)
        return text(lang, "download_reason_too_large", limit=limit)
    with contextlib.suppress(KeyError):
        return text(lang, f"download_reason_{kind}")
    return str(error.get("message") or kind)


def notes(lang: str, images: list[Any]) -> list[str]:
    """Plain sentences about the copies that could not be made (none when all are saved)."""
    lines = []
    for index, error in missing(images):
        if error.get("kind") == "expired":
            lines.append(text(lang, "download_expired", index=index))
        else:
            lines.append(text(lang, "download_failed", index=index, reason=_reason(lang, error)))
    if lines:
        lines.append(text(lang, "download_still_succeeded"))
    return lines


def with_notes(message: str, lang: str, record: dict[str, Any]) -> str:
    return "\n".join([message, *notes(lang, list(record.get("images") or []))])


# -- a later pass --------------------------------------------------------------------------


def complete_run(
    root: str, run_id: str, *, lang: str, announce: Announce | None = None
) -> Flow[dict[str, Any] | None]:
    """Fetch only the images a succeeded run is still missing; never calls CreatOK's API.

    Rewrites ``result.json``, ``result.md`` and the gallery when something changed; returns
    the (possibly updated) record, or None when the run left no succeeded result.
    """
    record = yield Blocking(artifacts.read_json, (artifacts.outputs_dir(root, run_id)
                                                  / "result.json",))
    if not isinstance(record, dict) or record.get("status") != "succeeded" or (
        not record.get("images")
    ):
        return None
    updated = yield from keep(root, run_id, record, lang=lang, announce=announce)
    if updated == record:
        return record  # every copy was intact: nothing fetched, nothing rewritten
    message = with_notes(final_message(lang, Outcome.of(updated)), lang, updated)
    with contextlib.suppress(OSError):
        yield Blocking(artifacts.write_result,
                       (root, run_id, updated, artifacts.result_markdown(updated, message)))
    return updated
