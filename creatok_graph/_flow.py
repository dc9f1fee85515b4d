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
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
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
class Nested(Effect):
    """Run another flow, possibly with another pair of HTTP clients."""

    flow_factory: Callable[[], Flow[Any]]
    sync_http: httpx.Client | None = None
    async_http: httpx.AsyncClient | None = None

    def run_sync(self, http: httpx.Client | None) -> Any:
        return run_sync(self.flow_factory(), self.sync_http or http)

    async def run_async(self, http: httpx.AsyncClient | None) -> Any:
        return await run_async(self.flow_factory(), self.async_http or http)


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
