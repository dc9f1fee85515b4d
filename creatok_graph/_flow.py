"""One implementation, two drivers: how sync and async share every line of logic.

Client calls and graph nodes are written once, as generators ("flows") that
*yield* the I/O they need (an HTTP exchange, a pause, a blocking file call, a
call on an object with ``x``/``ax`` twins such as a store or chat model) and
receive its result. :func:`run_sync` performs those effects with blocking
calls; :func:`run_async` awaits them and moves blocking file work off the event
loop, which is what ``langgraph dev``'s blocking-call detector demands.
This is the "sans-I/O" pattern of h11/h2, kept as small as we need it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class Effect:
    """Something a flow needs done; each driver knows how."""

    def run_sync(self, http: httpx.Client | None) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def run_async(self, http: httpx.AsyncClient | None) -> Any:  # pragma: no cover
        raise NotImplementedError


Flow = Generator[Effect, Any, T]


@dataclass(frozen=True)
class Send(Effect):
    """One HTTP exchange; the response body is read before it is returned."""

    request: httpx.Request

    def run_sync(self, http: httpx.Client | None) -> httpx.Response:
        assert http is not None, "a sync HTTP client is required"
        return http.send(self.request)

    async def run_async(self, http: httpx.AsyncClient | None) -> httpx.Response:
        assert http is not None, "an async HTTP client is required"
        return await http.send(self.request)


@dataclass(frozen=True)
class Sleep(Effect):
    seconds: float

    def run_sync(self, http: httpx.Client | None) -> None:
        if self.seconds > 0:
            time.sleep(self.seconds)

    async def run_async(self, http: httpx.AsyncClient | None) -> None:
        if self.seconds > 0:
            await asyncio.sleep(self.seconds)


class Signal:
    """A counter that wakes the flows napping on it (:class:`Nap`) when it moves.

    Bumped from any thread; sync nappers wait on a condition, async ones on a future of
    their own event loop, so one signal serves threads and event loops at once.
    """

    def __init__(self) -> None:
        self.version = 0
        self._condition = threading.Condition()
        self._futures: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}

    def bump(self) -> None:
        with self._condition:
            self.version += 1
            self._condition.notify_all()
            waiting, self._futures = self._futures, {}
        for loop, future in waiting.items():
            with contextlib.suppress(RuntimeError):  # a closed loop has nobody waiting
                loop.call_soon_threadsafe(_wake, future)

    def wait_sync(self, seen: int, seconds: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self.version != seen, timeout=seconds)

    async def wait_async(self, seen: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        with self._condition:
            if self.version != seen:
                return
            future = self._futures.get(loop)
            if future is None:
                future = self._futures[loop] = loop.create_future()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), seconds)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(frozen=True)
class Nap(Effect):
    """A pause that ends early once ``signal`` has moved past ``seen``."""

    seconds: float
    signal: Signal
    seen: int

    def run_sync(self, http: httpx.Client | None) -> None:
        if self.seconds > 0:
            self.signal.wait_sync(self.seen, self.seconds)

    async def run_async(self, http: httpx.AsyncClient | None) -> None:
        if self.seconds > 0:
            await self.signal.wait_async(self.seen, self.seconds)


@dataclass(frozen=True)
class Blocking(Effect):
    """A blocking call (file I/O): inline when sync, in a worker thread when async."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()

    def run_sync(self, http: httpx.Client | None) -> Any:
        return self.fn(*self.args)

    async def run_async(self, http: httpx.AsyncClient | None) -> Any:
        return await asyncio.to_thread(self.fn, *self.args)


@dataclass(frozen=True)
class Dual(Effect):
    """A call on an object that offers sync and async twins (``put``/``aput``)."""

    sync_fn: Callable[..., Any]
    async_fn: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def run_sync(self, http: httpx.Client | None) -> Any:
        return self.sync_fn(*self.args, **self.kwargs)

    async def run_async(self, http: httpx.AsyncClient | None) -> Any:
        return await self.async_fn(*self.args, **self.kwargs)


@dataclass(frozen=True)
class Gather(Effect):
    """Run flows side by side, at most ``limit`` at once; their results in order.

    Sync: a thread pool; async: tasks on the running loop. With ``sync_http`` /
    ``async_http`` factories the flows share a client of their own, opened for the
    batch (off the event loop) and closed after it, instead of the driver's; with
    ``shared`` those return a pool someone else owns (and closes), taken as it is.
    """

    flows: tuple[Callable[[], Flow[Any]], ...]
    limit: int
    sync_http: Callable[[], httpx.Client] | None = None
    async_http: Callable[[], httpx.AsyncClient] | None = None
    shared: bool = False

    def run_sync(self, http: httpx.Client | None) -> list[Any]:
        if not self.flows:
            return []
        own = self.sync_http() if self.sync_http else None
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(self.limit, len(self.flows)))) as pool:
                futures = [pool.submit(run_sync, make(), own or http) for make in self.flows]
                return [future.result() for future in futures]
        finally:
            if own is not None and not self.shared:
                own.close()

    async def run_async(self, http: httpx.AsyncClient | None) -> list[Any]:
        if not self.flows:
            return []
        own = None
        if self.async_http is not None:
            own = self.async_http() if self.shared else await asyncio.to_thread(self.async_http)
        slots = asyncio.Semaphore(max(1, self.limit))

        async def one(make: Callable[[], Flow[Any]]) -> Any:
            async with slots:
                return await run_async(make(), own or http)

        tasks = [asyncio.ensure_future(one(make)) for make in self.flows]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            if own is not None and not self.shared:
                await own.aclose()


class BodyTooLarge(Exception):
    """A streamed body went over its limit; nothing of it was kept."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit
        self.declared = declared


@dataclass(frozen=True)
class Streamed:
    """What :class:`StreamToFile` got: the status, and for a 2xx what ``finish`` made of it."""

    status_code: int
    headers: httpx.Headers
    size: int = 0
    sha256: str = ""
    kept: Any = None
    error_body: bytes = b""
    """The start of a non-2xx body (object storage explains itself in XML)."""


ERROR_BODY_LIMIT = 8192
WRITE_CHUNK = 1 << 20
"""Async downloads hand the file this much at a time to a worker thread."""


class _TempFile:
    """A new hidden file in ``folder`` (mode 0666 minus umask), hashed as it is written."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = folder / f".download.{secrets.token_hex(6)}.tmp"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:  # pragma: no cover - 48 random bits
                continue
            break
        self.path = path
        self.file = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)

    def finish(self, finish: Callable[[Path, int, str], Any]) -> Any:
        """fsync and close, then ``finish(path, size, sha256)``; the temp file never stays."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            return finish(self.path, self.size, self.hash.hexdigest())
        finally:
            self.discard()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _spill(sink: _TempFile | None, folder: Path, data: bytes) -> _TempFile:
    """``data`` into the download's temp file, made now if this is its first part (one
    trip to a worker thread, not two)."""
    if sink is not None:
        sink.write(data)
        return sink
    sink = _TempFile(folder)
    try:
        sink.write(data)
    except BaseException:
        sink.discard()
        raise
    return sink


def _complete(sink: _TempFile | None, folder: Path, rest: bytes,
              finish: Callable[[Path, int, str], Any]) -> tuple[int, str, Any]:
    """The last part, then ``finish``: (size, sha256, what ``finish`` returned). A body
    that fits in one part is written, hashed and finished in a single trip."""
    if rest or sink is None:
        sink = _spill(sink, folder, rest)
    return sink.size, sink.hash.hexdigest(), sink.finish(finish)


class _ErrorHead:
    """The start of a non-2xx body, enough to read object storage's XML error."""

    def __init__(self) -> None:
        self.data = b""

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; True once there is enough."""
        self.data += chunk
        return len(self.data) >= ERROR_BODY_LIMIT

    def streamed(self, response: httpx.Response) -> Streamed:
        return Streamed(response.status_code, response.headers,
                        error_body=self.data[:ERROR_BODY_LIMIT])


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True)
class StreamToFile(Effect):
    """Stream a GET's body into a temp file in ``folder``, then ``finish(path, size, sha256)``.

    The body goes to disk as it arrives and is refused (:class:`BodyTooLarge`) beyond
    ``max_bytes``; ``finish`` (blocking: it may rename the file into place) runs once the
    body is complete and fsynced. The temp file never outlives the effect, whatever happens.
    Async, every file operation runs in a worker thread.
    """

    request: httpx.Request
    folder: Path
    max_bytes: int
    finish: Callable[[Path, int, str], Any]

    def _refuse_declared(self, response: httpx.Response) -> None:
        declared = _declared_length(response)
        if declared is not None and declared > self.max_bytes:
            raise BodyTooLarge(self.max_bytes, declared)

    def run_sync(self, http: httpx.Client | None) -> Streamed:
        assert http is not None, "a sync HTTP client is required"
        response = http.send(self.request, stream=True)
        try:
            if not response.is_success:
                head = _ErrorHead()
                for chunk in response.iter_bytes():
                    if head.add(chunk):
                        break
                return head.streamed(response)
            self._refuse_declared(response)
            sink = _TempFile(self.folder)
            try:
                for chunk in response.iter_bytes():
                    if sink.size + len(chunk) > self.max_bytes:
                        raise BodyTooLarge(self.max_bytes)
                    sink.write(chunk)
            except BaseException:
                sink.discard()
                raise
            size, digest = sink.size, sink.hash.hexdigest()
            kept = sink.finish(self.finish)
            return Streamed(response.status_code, response.headers, size, digest, kept)
        finally:
            response.close()

    async def run_async(self, http: httpx.AsyncClient | None) -> Streamed:
        assert http is not None, "an async HTTP client is required"
        response = await http.send(self.request, stream=True)
        try:
            if not response.is_success:
                head = _ErrorHead()
                async for chunk in response.aiter_bytes():
                    if head.add(chunk):
                        break
                return head.streamed(response)
            self._refuse_declared(response)
            sink: _TempFile | None = None
            try:
                pending = bytearray()
                received = 0
                async for chunk in response.aiter_bytes():
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise BodyTooLarge(self.max_bytes)
                    pending += chunk
                    if len(pending) >= WRITE_CHUNK:
                        sink = await asyncio.to_thread(_spill, sink, self.folder,
                                                       bytes(pending))
                        pending.clear()
                size, digest, kept = await asyncio.to_thread(
                    _complete, sink, self.folder, bytes(pending), self.finish)
            except BaseException:
                if sink is not None:
                    # Shielded: a cancelled run still removes its temp file, off the loop.
                    await asyncio.shield(asyncio.to_thread(sink.discard))
                raise
            return Streamed(response.status_code, response.headers, size, digest, kept)
        finally:
            await response.aclose()


class SingleFlight:
    """A TTL cache whose misses are fetched once, however many callers wait.

    200 runs starting together must cause one capabilities request, not 200.
    The sync side serialises on a thread lock; the async side on one
    ``asyncio.Lock`` per event loop.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._values: dict[Any, tuple[float, Any]] = {}
        self._thread_lock = threading.Lock()
        self._registry_lock = threading.Lock()  # never held across I/O
        self._async_locks: dict[tuple[asyncio.AbstractEventLoop, Any], list[Any]] = {}

    @contextlib.asynccontextmanager
    async def _async_lock(self, key: Any) -> AsyncIterator[None]:
        """Hold ``key``'s lock on the running loop; forgotten once nobody waits for it."""
        slot = (asyncio.get_running_loop(), key)
        with self._registry_lock:
            entry = self._async_locks.setdefault(slot, [asyncio.Lock(), 0])
            entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            with self._registry_lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._async_locks[slot]

    def _fresh(self, key: Any) -> tuple[bool, Any]:
        hit = self._values.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return True, hit[1]
        return False, None

    def _store(self, key: Any, value: Any) -> None:
        self._values[key] = (time.monotonic(), value)

    def clear(self) -> None:
        self._values.clear()

    def seed(self, key: Any, value: Any) -> None:
        """Store a value fetched elsewhere (the CLI's start-up prefetch)."""
        self._store(key, value)

    def effect(self, key: Any, fetch: Callable[[], Flow[T]]) -> Effect:
        return _CachedFetch(self, key, fetch)


@dataclass(frozen=True)
class _CachedFetch(Effect):
    cache: SingleFlight
    key: Any
    fetch: Callable[[], Flow[Any]]

    def run_sync(self, http: httpx.Client | None) -> Any:
        ok, value = self.cache._fresh(self.key)
        if ok:
            return value
        with self.cache._thread_lock:
            ok, value = self.cache._fresh(self.key)
            if not ok:
                value = run_sync(self.fetch(), http)
                self.cache._store(self.key, value)
        return value

    async def run_async(self, http: httpx.AsyncClient | None) -> Any:
        ok, value = self.cache._fresh(self.key)
        if ok:
            return value
        async with self.cache._async_lock(self.key):
            ok, value = self.cache._fresh(self.key)
            if not ok:
                value = await run_async(self.fetch(), http)
                self.cache._store(self.key, value)
        return value


def run_sync(flow: Flow[T], http: httpx.Client | None = None) -> T:
    """Drive ``flow`` with blocking calls."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                value, error = effect.run_sync(http), None
            except Exception as exc:  # handed back to the flow, which decides
                value, error = None, exc
    finally:
        flow.close()  # interrupted (KeyboardInterrupt...): the flow's cleanup runs now


async def run_async(flow: Flow[T], http: httpx.AsyncClient | None = None) -> T:
    """Drive ``flow`` on the running event loop."""
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            try:
                value, error = await effect.run_async(http), None
            except Exception as exc:
                value, error = None, exc
    finally:
        flow.close()  # cancelled: the flow's cleanup runs now, not at garbage collection
