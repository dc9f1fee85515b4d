"""CPU per HTTP request with many requests at once: one pool, or the package's small pools.

    python benchmarks/http_bench.py [--requests 3000] [--at-once 200]

Against the emulator in its own process (a status request for an unknown task, answered
at once), the same ``BoundedAsyncTransport`` bound of requests in flight
(``client.MAX_IN_FLIGHT``) in front of:

- one httpcore pool of ``MAX_IN_FLIGHT`` connections (before ``POOL_SHARDS``);
- ``client.pool_shards``: the package's pools (``POOL_SHARDS`` of them, least busy first).

httpcore's pool scans every connection on each request event and, for each idle one,
counts all of them again; the CPU per request shows it. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence

import bench_lib as lib
import httpx

from creatok_graph.api_paths import STATUS_PATH
from creatok_graph.client import (
    MAX_IN_FLIGHT,
    POOL_SHARDS,
    BoundedAsyncTransport,
    pool_shards,
    shared_ssl_context,
)


def one_pool() -> list[httpx.AsyncBaseTransport]:
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    return [httpx.AsyncHTTPTransport(limits=limits, verify=shared_ssl_context())]


async def cpu_per_request(emu: lib.EmulatorProcess, shards: list[httpx.AsyncBaseTransport],
                          requests: int, at_once: int) -> float:
    """Milliseconds of this process's CPU per request, the warm-up left out."""
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    url = f"{emu.base_url}{STATUS_PATH}?task_id=task_unknown&task_type=image_generation"
    transport = BoundedAsyncTransport(shards, MAX_IN_FLIGHT)
    async with httpx.AsyncClient(transport=transport, headers=headers, timeout=60) as http:
        slots = asyncio.Semaphore(at_once)

        async def one() -> int:
            async with slots:
                return (await http.get(url)).status_code

        await asyncio.gather(*(one() for _ in range(at_once)))  # connections open
        cpu0 = time.process_time()
        await asyncio.gather(*(one() for _ in range(requests)))
        return (time.process_time() - cpu0) / requests * 1000


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--at-once", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    figures: dict[str, list[float]] = {"one pool": [], f"{POOL_SHARDS} pools": []}
    with lib.EmulatorProcess(task_seconds=0) as emu:
        for _ in range(args.rounds):  # interleaved: the machine's load moves both alike
            for name, make in (("one pool", one_pool),
                               (f"{POOL_SHARDS} pools", lambda: pool_shards(MAX_IN_FLIGHT))):
                figures[name].append(asyncio.run(
                    cpu_per_request(emu, make(), args.requests, args.at_once)))
    print(f"{args.requests} requests, {args.at_once} at a time, {MAX_IN_FLIGHT} in flight, "
          f"load average {os.getloadavg()[0]:.2f}")
    for name, values in figures.items():
        print(f"  {name:10s} CPU per request: median {statistics.median(values):.2f} ms "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
