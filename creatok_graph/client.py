"""The CreatOK image API client: async first, the same logic for sync code.

Every endpoint is written once as a flow in :class:`CreatokAPI` (see
``_flow``); :class:`AsyncCreatok` and :class:`Creatok` only choose how to drive
it. Status mapping lives in :func:`raise_for_response`, retry policy in
``_retry``. Each client owns one connection pool; pass ``transport=`` (for
example ``httpx.MockTransport``) to test without a server.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import re
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from . import _retry
from ._flow import Blocking, Flow, Send, Sleep, run_async, run_sync
from .api_paths import CAPABILITIES_PATH, PRESIGN_PATH, STATUS_PATH, SUBMIT_PATH
from .api_paths import IMAGE_TASK_TYPE as TASK_TYPE
from .errors import (
    API_KEYS_URL,
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ContractError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    UploadError,
    auth_error_message,
)
from .polling import wait_for_task
from .references import (
    ANY_LOCAL_FILE,
    UPLOAD_PREFIX,
    FileStream,
    LocalFiles,
    ReferenceFile,
    inspect_reference,
)

if TYPE_CHECKING:  # pydantic loads on first use: the CLI's first request need not wait for it
    from .capabilities import ImageCapabilities

DEFAULT_BASE_URL = "https://www.creatok.ai"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)
"""The sync pool (one request at a time per thread)."""
MAX_IN_FLIGHT = 16
"""Async requests allowed inside the connection pools at once; the rest queue on a semaphore.

httpcore's pool does work proportional to connections x queued requests on every request
event, so hundreds of concurrent runs sharing one big pool slow to a crawl (measured: 1000
concurrent ``AsyncCreatok`` waits all hit pool timeouts; with this bound all succeed in ~16 s,
see docs/performance.md). A semaphore queue costs O(1).
"""
POOL_SHARDS = 4
"""The async requests in flight are spread over this many small pools (least busy first).

On every request event httpcore's pool checks each connection, and for each idle one counts
all of them again: O(connections^2). Four pools of four connections do a quarter of that
work for the same 16 requests in flight: 1.1 ms of CPU per request instead of 2.4 ms at 200
concurrent requests (``benchmarks/http_bench.py``).
"""
USER_AGENT = "creatok-graph/0.1"


TERMINAL_STATUSES = frozenset({"succeeded", "failed"})
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
"""A key is printable ASCII without spaces; anything else cannot go in a header."""


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building it costs ~0.1 s, too much for every client."""
    return httpx.create_ssl_context()


class BoundedAsyncTransport(httpx.AsyncBaseTransport):
    """At most ``limit`` requests inside the wrapped pools at once (see ``MAX_IN_FLIGHT``),
    each sent through the least busy of them (see ``POOL_SHARDS``).

    A request's slot is free once its body is read; with ``streamed``, once the caller
    closes the body (a download streamed to disk), and the body is not read here.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | Sequence[httpx.AsyncBaseTransport],
        limit: int = MAX_IN_FLIGHT,
        *,
        streamed: bool = False,
    ) -> None:
        self.shards = [inner] if isinstance(inner, httpx.AsyncBaseTransport) else list(inner)
        self.limit = limit
        self.streamed = streamed
        self._busy = [0] * len(self.shards)
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def inner(self) -> httpx.AsyncBaseTransport:
        return self.shards[0]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        await self._semaphore.acquire()
        shard = min(range(len(self.shards)), key=self._busy.__getitem__)
        self._busy[shard] += 1
        release = functools.partial(self._release, shard)
        try:
            response = await self.shards[shard].handle_async_request(request)
            if self.streamed:
                body = _ReleasingBody(response.stream, release)
                return httpx.Response(response.status_code, headers=response.headers,
                                      stream=body, extensions=response.extensions)
            try:
                await response.aread()  # free the connection before the slot
            finally:
                await response.aclose()
        except BaseException:
            release()
            raise
        release()
        return response

    def _release(self, shard: int) -> None:
        self._busy[shard] -= 1
        assert self._semaphore is not None
        self._semaphore.release()

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()


class _ReleasingBody(httpx.AsyncByteStream):
    """A streamed body that gives its slot back when it is closed (once)."""

    def __init__(self, inner: Any, release: Callable[[], None]) -> None:
        self.inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


def pool_shards(size: int) -> list[httpx.AsyncBaseTransport]:
    """``size`` connections as ``POOL_SHARDS`` small pools (shared TLS context)."""
    each = max(1, size // POOL_SHARDS)
    limits = httpx.Limits(max_connections=each, max_keepalive_connections=each)
    return [httpx.AsyncHTTPTransport(limits=limits, verify=shared_ssl_context())
            for _ in range(POOL_SHARDS)]


def new_async_http(
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    """The async pools every caller shares the settings of: bounded, one TLS context."""
    shards = [transport] if transport is not None else pool_shards(MAX_IN_FLIGHT)
    return httpx.AsyncClient(transport=BoundedAsyncTransport(shards), timeout=timeout)


def new_sync_http(
    transport: httpx.BaseTransport | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.Client:
    inner = transport or httpx.HTTPTransport(limits=DEFAULT_LIMITS, verify=shared_ssl_context())
    return httpx.Client(transport=inner, timeout=timeout)


def resolve_base_url(base_url: str | None = None) -> str:
    """The explicit URL, else ``CREATOK_BASE_URL``, else the real service; no trailing slash."""
    url = base_url or os.environ.get("CREATOK_BASE_URL") or DEFAULT_BASE_URL
    return url.strip().rstrip("/")


def resolve_api_key(api_key: str | None = None) -> str | None:
    """The explicit key, else ``CREATOK_API_KEY``; None when there is none."""
    key = api_key if api_key is not None else os.environ.get("CREATOK_API_KEY")
    key = (key or "").strip()
    return key or None


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    object_key: str


@dataclass(frozen=True)
class SubmitResult:
    task_id: str
    status: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class TaskStatus:
    """One status answer; ``raw`` is ``data`` exactly as CreatOK sent it."""

    task_id: str
    status: str
    images: list[dict[str, Any]] = field(default_factory=list)
    error_message: str | None = None
    progress: float | None = None
    retry_after: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


def public_url(url: httpx.URL) -> str:
    """``url`` as it may be shown: scheme, host, port and path; no query, no credentials."""
    port = f":{url.port}" if url.port is not None else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}{url.path}"


def raise_for_response(response: httpx.Response, what: str) -> dict[str, Any]:
    """Map an answer to its ``data`` or to the right error: the one place that does."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    url = public_url(response.request.url)
    wait = _retry.retry_after_seconds(response)
    later = f"in {math.ceil(wait)} s" if wait else "later"
    if status == 401:
        raise AuthenticationError(auth_error_message(), status_code=401, body=body, url=url)
    if status == 404:
        task_id = response.request.url.params.get("task_id")
        if response.request.url.path.endswith(STATUS_PATH) and task_id:
            message = (f"CreatOK has no task {task_id} ({url} answered 404): check the task id "
                       "and CREATOK_BASE_URL.")
        else:
            task_id = None
            message = (f"{url} does not exist (HTTP 404) for {what}: CREATOK_BASE_URL looks "
                       "wrong.")
        raise NotFoundError(message, task_id=task_id, status_code=404, body=body, url=url)
    if status == 429:
        raise RateLimitError(
            "CreatOK is limiting requests right now; try again "
            f"{later if wait else 'in a minute'}.",
            retry_after=wait,
            status_code=429,
            body=body,
            url=url,
        )
    if status >= 500:
        raise ServerError(
            f"CreatOK had a server problem (HTTP {status} from {url}) with {what}; "
            f"try again {later}.",
            status_code=status,
            body=body,
            url=url,
            retry_after=wait,
        )
    if body is None:
        ctype = response.headers.get("content-type", "unknown type")
        raise InvalidResponseError(
            f"CreatOK's answer to {what} was not JSON (HTTP {status}, {ctype}, from {url}): a "
            "proxy may be in the way or CREATOK_BASE_URL may point at the wrong server.",
            status_code=status,
            url=url,
        )
    if status >= 400:
        msg = body.get("msg") if isinstance(body, dict) else None
        raise APIStatusError(
            f"CreatOK refused {what} (HTTP {status}): {msg or 'no reason given'}",
            status_code=status,
            code=_int_or_none(body.get("code")) if isinstance(body, dict) else None,
            body=body,
            url=url,
            retry_after=wait,
        )
    if not isinstance(body, dict):
        raise InvalidResponseError(
            f"CreatOK's answer to {what} is JSON but not the expected envelope "
            "(code, msg, data): CREATOK_BASE_URL may point at the wrong server.",
            status_code=status,
            body=body,
        )
    code = body.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise ContractError(
            f"CreatOK's answer to {what} has no integer 'code' (the contract's envelope)",
            field="code",
        )
    if code != 0:
        msg = str(body.get("msg") or "no reason given")
        raise APIResponseError(msg, status_code=status, code=code, body=body, url=url,
                               retry_after=wait)
    data = body.get("data")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ContractError(
            f"CreatOK's answer to {what} has a 'data' that is not an object", field="data"
        )
    return data


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class CreatokAPI:
    """The four endpoints as flows: requests built, answers parsed, retries decided."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = _retry.MAX_RETRIES,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self._api_key = resolve_api_key(api_key)
        self.max_retries = max_retries
        self.timeout = timeout

    def __repr__(self) -> str:  # never show the key
        return f"CreatokAPI(base_url={self.base_url!r})"

    # -- requests ---------------------------------------------------------------
    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Auth and JSON headers; a missing or malformed key fails here, before any request."""
        if not self._api_key:
            raise AuthenticationError(auth_error_message(), status_code=None)
        if not _KEY_CHARS.fullmatch(self._api_key):
            raise AuthenticationError(
                "The CreatOK API key contains characters no key has (spaces, line breaks or "
                f"non-ASCII letters): copy it again from {API_KEYS_URL} and set it in the "
                "CREATOK_API_KEY environment variable.",
                status_code=None,
            )
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if extra:
            headers.update(extra)
        return headers

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        mode: _retry.RetryMode,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Flow[tuple[dict[str, Any], httpx.Response]]:
        request = httpx.Request(
            method,
            self.base_url + path,
            params=params,
            json=json,
            headers=self._headers(headers),
            extensions={"timeout": self.timeout.as_dict()},
        )
        response = yield from self._send_with_retries(request, what=what, mode=mode)
        return raise_for_response(response, what), response

    def _send_with_retries(
        self, request: httpx.Request, *, what: str, mode: _retry.RetryMode
    ) -> Flow[httpx.Response]:
        """Send, retrying only what ``mode`` allows; returns the last answer."""
        attempt = 0
        while True:
            try:
                response: httpx.Response = yield Send(request)
            except httpx.TransportError as exc:
                if attempt < self.max_retries and _retry.should_retry_error(mode, exc):
                    yield Sleep(_retry.backoff_delay(attempt))
                    attempt += 1
                    continue
                raise _connection_error(exc, what, request.url) from None
            if attempt < self.max_retries and _retry.should_retry_status(
                mode, response.status_code
            ):
                wait = _retry.retry_after_seconds(response)
                if wait is None or wait <= _retry.MAX_RETRY_AFTER:
                    yield Sleep(wait if wait is not None else _retry.backoff_delay(attempt))
                    attempt += 1
                    continue
            return response

    # -- endpoints --------------------------------------------------------------
    def get_capabilities(self) -> Flow[ImageCapabilities]:
        """``capabilities.image``, validated strictly."""
        data, _ = yield from self._request(
            "GET",
            CAPABILITIES_PATH,
            what="the capabilities request",
            mode=_retry.RetryMode.IDEMPOTENT,
        )
        from .capabilities import parse_capabilities  # pydantic: not before the request leaves

        return parse_capabilities(data)

    def presign_upload(
        self, file_name: str, file_type: str, file_size: int, prefix: str = UPLOAD_PREFIX
    ) -> Flow[PresignedUpload]:
        """Step one of an upload: a signed URL and the objectKey it will hold."""
        data, _ = yield from self._request(
            "POST",
            PRESIGN_PATH,
            what="the upload request",
            mode=_retry.RetryMode.IDEMPOTENT,
            json={"fileName": file_name, "fileType": file_type, "fileSize": file_size,
                  "prefix": prefix},
        )
        url, key = data.get("presignedUploadUrl"), data.get("objectKey")
        if not isinstance(url, str) or not url:
            raise ContractError("the upload answer has no presignedUploadUrl",
                                field="data.presignedUploadUrl")
        if not isinstance(key, str) or not key:
            raise ContractError("the upload answer has no objectKey", field="data.objectKey")
        return PresignedUpload(url=url, object_key=key)

    def put_object(self, url: str, content: bytes | FileStream, content_type: str) -> Flow[None]:
        """PUT to the signed URL verbatim, with no Authorization header.

        A :class:`FileStream` is sent in chunks with its checked size as Content-Length,
        and reopened for each attempt of the (idempotent) PUT.
        """
        target = httpx.URL(url)  # parsed, never re-encoded: the signature covers the raw query
        if isinstance(content, FileStream):  # httpx adds neither header to a given stream
            body: dict[str, Any] = {"stream": content}
            headers = {"Content-Type": content_type, "Content-Length": str(content.ref.size),
                       "Host": target.netloc.decode("ascii")}
        else:
            body, headers = {"content": content}, {"Content-Type": content_type}
        request = httpx.Request(
            "PUT",
            target,
            headers=headers,
            extensions={"timeout": UPLOAD_TIMEOUT.as_dict()},
            **body,
        )
        response = yield from self._send_with_retries(
            request, what="the image upload", mode=_retry.RetryMode.IDEMPOTENT
        )
        if response.status_code >= 300:
            raise UploadError(
                f"the storage service refused the reference image (HTTP {response.status_code})"
                + _xml_error_code(response.text),
                status_code=response.status_code,
                body=response.text[:500],
            )

    def upload_image(
        self, path: str | os.PathLike[str], files: LocalFiles = ANY_LOCAL_FILE
    ) -> Flow[str]:
        """Check the file (where from, type by content, size), presign, stream it; returns the
        usable ``objectKey``. ``files``: which local files may be sent (default: any)."""
        ref: ReferenceFile = yield Blocking(inspect_reference, (os.fspath(path), files))
        presigned = yield from self.presign_upload(ref.name, ref.content_type, ref.size)
        yield from self.put_object(presigned.url, FileStream(ref), ref.content_type)
        return presigned.object_key

    def submit(
        self, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> Flow[SubmitResult]:
        """The paid call. Never retried once a byte may have left this machine."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        data, _ = yield from self._request(
            "POST",
            SUBMIT_PATH,
            what="the image generation request",
            mode=_retry.RetryMode.PAID,
            json=body,
            headers=headers,
        )
        task_id = data.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise ContractError(
                "CreatOK accepted the request but sent no task_id", field="data.task_id"
            )
        return SubmitResult(task_id=task_id, status=str(data.get("status") or "queued"), raw=data)

    def get_status(self, task_id: str) -> Flow[TaskStatus]:
        """One status check (retried like every GET)."""
        data, response = yield from self._request(
            "GET",
            STATUS_PATH,
            what=f"the status check of task {task_id}",
            mode=_retry.RetryMode.IDEMPOTENT,
            params={"task_id": task_id, "task_type": TASK_TYPE},
        )
        return parse_status(task_id, data, _retry.retry_after_seconds(response))

    def wait(
        self,
        task_id: str,
        *,
        timeout: float = 600.0,
        on_update: Callable[[TaskStatus, float], None] | None = None,
    ) -> Flow[TaskStatus]:
        """Poll until done: the succeeded status, or :class:`TaskFailedError`."""
        status = yield from wait_for_task(self, task_id, timeout=timeout, on_update=on_update)
        if status.status == "failed":
            raise TaskFailedError(
                f"CreatOK could not generate the images of task {task_id}: "
                f"{status.error_message or 'no reason given'}",
                task_id=task_id,
                status=status,
            )
        return status


def parse_status(task_id: str, data: dict[str, Any], retry_after: float | None) -> TaskStatus:
    """A status answer's ``data`` as a :class:`TaskStatus`; a success must carry image URLs."""
    status = data.get("status")
    if not isinstance(status, str) or not status.strip():
        raise ContractError("a status answer has no status", field="data.status")
    result = data.get("result")
    images_raw = result.get("images") if isinstance(result, dict) else None
    images = [img for img in images_raw if isinstance(img, dict)] if isinstance(
        images_raw, list
    ) else []
    if status == "succeeded":
        if not isinstance(images_raw, list) or not images_raw:
            raise ContractError(
                "the task succeeded but no images were sent", field="data.result.images"
            )
        for i, img in enumerate(images_raw):
            url = img.get("url") if isinstance(img, dict) else None
            if not isinstance(url, str) or not url:
                raise ContractError(
                    f"image {i + 1} of the finished task has no url",
                    field=f"data.result.images[{i}].url",
                )
    error = data.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    progress = data.get("progress")
    return TaskStatus(
        task_id=task_id,
        status=status,
        images=images,
        error_message=str(message) if message else None,
        progress=(
            float(progress)
            if isinstance(progress, (int, float)) and not isinstance(progress, bool)
            else None
        ),
        retry_after=retry_after,
        raw=data,
    )


def _connection_error(exc: httpx.TransportError, what: str, url: httpx.URL) -> APIConnectionError:
    """The error for a transport failure; ``request_sent`` tells a caller if it may have landed."""
    sent = not isinstance(exc, _retry.NOT_SENT_ERRORS)
    where = public_url(url)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{where} did not answer {what} in time; try again later.", request_sent=sent,
            url=where,
        )
    return APIConnectionError(
        f"Could not reach {where} for {what}: check the network and "
        f"CREATOK_BASE_URL ({type(exc).__name__}).",
        request_sent=sent,
        url=where,
    )


def _xml_error_code(text: str) -> str:
    start, end = text.find("<Code>"), text.find("</Code>")
    return f": {text[start + 6:end]}" if 0 <= start < end else ""


class _ClientBase:
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        max_retries: int,
        timeout: httpx.Timeout | float | None,
    ) -> None:
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(10.0, float(timeout)))
        self.api = CreatokAPI(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout
        )

    @property
    def base_url(self) -> str:
        return self.api.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class AsyncCreatok(_ClientBase):
    """Async client; one connection pool, safe to share across tasks on one loop."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = _retry.MAX_RETRIES,
        timeout: httpx.Timeout | float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout
        )
        self._owns_http = http_client is None
        self.http = http_client or new_async_http(transport, self.api.timeout)

    async def _run(self, flow: Flow[Any]) -> Any:
        return await run_async(flow, self.http)

    async def get_capabilities(self) -> ImageCapabilities:
        result: ImageCapabilities = await self._run(self.api.get_capabilities())
        return result

    async def upload_image(self, path: str | os.PathLike[str]) -> str:
        result: str = await self._run(self.api.upload_image(path))
        return result

    async def submit(
        self, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> SubmitResult:
        result: SubmitResult = await self._run(
            self.api.submit(body, idempotency_key=idempotency_key)
        )
        return result

    async def get_status(self, task_id: str) -> TaskStatus:
        result: TaskStatus = await self._run(self.api.get_status(task_id))
        return result

    async def wait(
        self,
        task_id: str,
        *,
        timeout: float = 600.0,
        on_update: Callable[[TaskStatus, float], None] | None = None,
    ) -> TaskStatus:
        """Poll until done; raises :class:`TaskFailedError` when the task failed."""
        result: TaskStatus = await self._run(
            self.api.wait(task_id, timeout=timeout, on_update=on_update)
        )
        return result

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncCreatok:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Creatok(_ClientBase):
    """Blocking client with the same behaviour as :class:`AsyncCreatok`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = _retry.MAX_RETRIES,
        timeout: httpx.Timeout | float | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout
        )
        self._owns_http = http_client is None
        self.http = http_client or new_sync_http(transport, self.api.timeout)

    def _run(self, flow: Flow[Any]) -> Any:
        return run_sync(flow, self.http)

    def get_capabilities(self) -> ImageCapabilities:
        result: ImageCapabilities = self._run(self.api.get_capabilities())
        return result

    def upload_image(self, path: str | os.PathLike[str]) -> str:
        result: str = self._run(self.api.upload_image(path))
        return result

    def submit(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> SubmitResult:
        result: SubmitResult = self._run(self.api.submit(body, idempotency_key=idempotency_key))
        return result

    def get_status(self, task_id: str) -> TaskStatus:
        result: TaskStatus = self._run(self.api.get_status(task_id))
        return result

    def wait(
        self,
        task_id: str,
        *,
        timeout: float = 600.0,
        on_update: Callable[[TaskStatus, float], None] | None = None,
    ) -> TaskStatus:
        """Poll until done; raises :class:`TaskFailedError` when the task failed."""
        result: TaskStatus = self._run(self.api.wait(task_id, timeout=timeout, on_update=on_update))
        return result

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Creatok:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
