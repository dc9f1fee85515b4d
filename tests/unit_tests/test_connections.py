"""``GraphHttp``: one pool per graph (per event loop when async), closable; a seedable cache."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from creatok_graph._flow import run_async, run_sync
from creatok_graph.api_paths import CAPABILITIES_PATH
from creatok_graph.client import CreatokAPI
from creatok_graph.connections import CapabilitiesCache, GraphHttp

SAMPLE = Path(__file__).resolve().parents[2] / "creatok_graph" / "emulator" / "data"


def _capabilities_transport(calls: list[httpx.Request]) -> httpx.MockTransport:
    body = json.loads((SAMPLE / "capabilities.json").read_text(encoding="utf-8"))

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        assert request.url.path == CAPABILITIES_PATH
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler)


def test_one_sync_pool_until_closed() -> None:
    http = GraphHttp(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    first = http.sync()
    assert http.sync() is first
    http.close()
    assert first.is_closed
    assert http.sync() is not first and not http.sync().is_closed
    http.close()


def test_one_async_pool_per_event_loop_closed_by_aclose() -> None:
    http = GraphHttp(async_transport=httpx.MockTransport(lambda r: httpx.Response(200)))

    async def use() -> httpx.AsyncClient:
        client = http.for_loop()
        assert http.for_loop() is client
        await http.aclose()
        return client

    first = asyncio.run(use())
    second = asyncio.run(use())
    assert first is not second and first.is_closed and second.is_closed


def test_capabilities_are_fetched_once_for_many_runs_and_can_be_seeded() -> None:
    calls: list[httpx.Request] = []
    api = CreatokAPI(api_key="sk-test", base_url="http://creatok.test")
    cache = CapabilitiesCache()
    with httpx.Client(transport=_capabilities_transport(calls)) as client:
        for _ in range(5):
            run_sync(cache.get(api, "sk-test"), client)
    assert len(calls) == 1

    async def many() -> None:
        async with httpx.AsyncClient(transport=_capabilities_transport(calls)) as client:
            await asyncio.gather(*(run_async(cache.get(api, "other-key"), client)
                                   for _ in range(20)))

    asyncio.run(many())
    assert len(calls) == 2  # one more: another key is another account

    seeded = CapabilitiesCache()
    caps = run_sync(cache.get(api, "sk-test"), None)  # cached: no HTTP client needed
    seeded.seed(api, "sk-test", caps)
    assert run_sync(seeded.get(api, "sk-test"), None) is caps


def test_image_pools_are_shared_by_runs_carry_no_key_and_close_with_the_graph() -> None:
    http = GraphHttp()
    sync_images, loop_images = http.images()
    first = sync_images()
    assert sync_images() is first and "authorization" not in first.headers

    async def use() -> httpx.AsyncClient:
        client = loop_images()
        assert loop_images() is client and "authorization" not in client.headers
        await http.aclose()
        return client

    client = asyncio.run(use())
    assert client.is_closed and first.is_closed


def test_open_image_bodies_are_bounded_and_each_slot_comes_back_when_its_body_closes() -> None:
    """Many runs' downloads share one pool: at most ``limit`` bodies are open at once, a
    failed answer gives its slot back, and every download still completes."""
    from creatok_graph.client import BoundedAsyncTransport

    open_now = peak = 0

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0.01)
            yield b"x" * 10

        async def aclose(self) -> None:
            nonlocal open_now
            open_now -= 1

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        status = 404 if request.url.path.endswith("/7") else 200
        return httpx.Response(status, stream=Body())

    async def main() -> list[int]:
        transport = BoundedAsyncTransport(httpx.MockTransport(handler), 3, streamed=True)
        async with httpx.AsyncClient(transport=transport) as client:

            async def fetch(i: int) -> int:
                async with client.stream("GET", f"http://images.test/{i}") as response:
                    async for _ in response.aiter_bytes():
                        pass
                    return response.status_code

            return await asyncio.wait_for(asyncio.gather(*(fetch(i) for i in range(20))), 10)

    statuses = asyncio.run(main())
    assert statuses.count(200) == 19 and statuses[7] == 404
    assert peak == 3 and open_now == 0
