"""What every run of one compiled graph shares: HTTP pools and the capabilities cache.

``build_graph(..., http=GraphHttp(...))`` injects them (a test transport, your own
pool); by default each compiled graph makes its own. Hundreds of concurrent runs of
one graph therefore share one connection pool (sync: one per graph; async: one per
event loop) and one capabilities fetch per TTL. Close it with ``close()``/``aclose()``
(or ``with``) when the graph is done.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import httpx

from ._flow import Effect, Flow, SingleFlight
from .capabilities import ImageCapabilities
from .client import CreatokAPI, new_async_http, new_sync_http
from .downloads import (
    SHARED_DOWNLOADS,
    Pools,
    new_download_http,
    new_shared_async_download_http,
)

CAPABILITIES_TTL = 60.0
"""Seconds a capabilities answer is reused before CreatOK is asked again."""


class CapabilitiesCache:
    """Capabilities per (base URL, key), fetched once per TTL however many runs ask.

    ``seed`` lets a front end that already holds a fresh answer (e.g. the CLI) skip the
    fetch.
    """

    def __init__(self, ttl: float = CAPABILITIES_TTL) -> None:
        self._cache = SingleFlight(ttl=ttl)

    @staticmethod
    def key(api: CreatokAPI, api_key: str | None) -> tuple[str, int]:
        return (api.base_url, hash(api_key))

    def fetch(self, api: CreatokAPI, api_key: str | None) -> Effect:
        """An effect that yields the capabilities (cached, or fetched by one caller)."""
        fetch: Any = api.get_capabilities
        return self._cache.effect(self.key(api, api_key), fetch)

    def get(self, api: CreatokAPI, api_key: str | None) -> Flow[ImageCapabilities]:
        caps: ImageCapabilities = yield self.fetch(api, api_key)
        return caps

    def seed(self, api: CreatokAPI, api_key: str | None, caps: ImageCapabilities) -> None:
        self._cache.seed(self.key(api, api_key), caps)

    def clear(self) -> None:
        self._cache.clear()


class GraphHttp:
    """The HTTP pools and capabilities cache of one compiled graph; closable."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        capabilities: CapabilitiesCache | None = None,
    ) -> None:
        self._transport = transport
        self._async_transport = async_transport
        self.capabilities = capabilities or CapabilitiesCache()
        self._sync: httpx.Client | None = None
        self._lock = threading.Lock()
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._images: httpx.Client | None = None
        self._async_images: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()

    def sync(self) -> httpx.Client:
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = new_sync_http(self._transport)
        return self._sync

    def for_loop(self) -> httpx.AsyncClient:
        """The running event loop's pool (an ``httpx.AsyncClient`` is bound to one loop)."""
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = new_async_http(self._async_transport)
            self._async[loop] = client
        return client

    def images(self) -> Pools:
        """The image-download pools (no credentials: the image host never sees the key)."""
        return (self._sync_images, self._loop_images)

    def _sync_images(self) -> httpx.Client:
        if self._images is None:
            with self._lock:
                if self._images is None:
                    self._images = new_download_http(SHARED_DOWNLOADS)
        return self._images

    def _loop_images(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._async_images.get(loop)
        if client is None:
            client = self._async_images[loop] = new_shared_async_download_http()
        return client

    def close(self) -> None:
        """Close the sync pools (async pools: ``aclose`` on their loop)."""
        for client in (self._sync, self._images):
            if client is not None:
                client.close()
        self._sync = self._images = None

    async def aclose(self) -> None:
        """Close the sync pools and the running loop's async pools."""
        self.close()
        loop = asyncio.get_running_loop()
        for pools in (self._async, self._async_images):
            client = pools.pop(loop, None)
            if client is not None:
                await client.aclose()

    def __enter__(self) -> GraphHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> GraphHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
