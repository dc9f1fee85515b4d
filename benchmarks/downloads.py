"""How keeping copies of the images behaves: speed, memory, the event loop, concurrency.

A local stdlib server plays the image host (optionally ~150 ms away, as a CDN in another
region would be) and serves "images": a PNG header followed by incompressible bytes.
Measured, with ``downloads.keep_images`` as the graph runs it:

  stream    4 images of --mb MB each, sync and async: wall time, MB/s, and the peak of
            Python memory (tracemalloc) while they stream: it stays far below one image
  loop      the async run again, with a 5 ms ticker on the same loop: its worst lateness
            is what any other run on that loop (``langgraph dev``) would wait
  parallel  8 small images from a host 150 ms away, one at a time vs PARALLEL_DOWNLOADS

It prints figures and asserts nothing. ``python benchmarks/downloads.py [--mb 16]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import sys
import tempfile
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creatok_graph import downloads
from creatok_graph._flow import run_async, run_sync


def fake_png(size: int) -> bytes:
    """A PNG signature and IHDR (so the bytes sniff as a 4096x4096 PNG), then noise."""
    ihdr = struct.pack(">IIBBBBB", 4096, 4096, 8, 2, 0, 0, 0)
    head = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
    return head + os.urandom(size - len(head))


@contextmanager
def image_host(body: bytes, delay: float) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            view = memoryview(body)
            for start in range(0, len(body), 256 * 1024):
                self.wfile.write(view[start:start + 256 * 1024])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def record(base: str, n: int, task: str) -> dict[str, Any]:
    return {"task_id": task,
            "images": [{"url": f"{base}/{task}/{i}.png?X-Amz-Signature=x"} for i in range(n)]}


def run_sync_keep(root: str, rec: dict[str, Any]) -> list[dict[str, Any]]:
    return run_sync(downloads.keep_images(root, rec["task_id"], rec))


async def run_async_keep(root: str, rec: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    """The downloads, and the worst lateness of a 5 ms ticker on the same loop."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    tick = asyncio.ensure_future(ticker())
    try:
        kept = await run_async(downloads.keep_images(root, rec["task_id"], rec))
    finally:
        done.set()
        await tick
    return kept, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=16, help="size of each big image (MB)")
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as root, image_host(fake_png(size), 0.0) as base:
        print(f"\nstream: 4 images x {args.mb} MB from a local host")
        print("| driver | wall | throughput | peak Python memory while streaming |")
        print("| --- | --- | --- | --- |")
        for driver in ("sync", "async"):
            rec = record(base, 4, f"{driver}-mem")
            tracemalloc.start()
            start = time.perf_counter()
            if driver == "sync":
                kept = run_sync_keep(root, rec)
            else:
                kept, _ = asyncio.run(run_async_keep(root, rec))
            wall = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert all(k["bytes"] == size for k in kept), kept
            print(f"| {driver} | {wall:.2f} s | {4 * args.mb / wall:.0f} MB/s "
                  f"| {peak / 1024 / 1024:.1f} MB |")
        rec = record(base, 4, "loop")
        start = time.perf_counter()
        kept, worst = asyncio.run(run_async_keep(root, rec))
        wall = time.perf_counter() - start
        print(f"\nloop: async, 4 x {args.mb} MB in {wall:.2f} s; worst lateness of a 5 ms "
              f"ticker on the same loop: {worst * 1000:.1f} ms")
    with tempfile.TemporaryDirectory() as root, image_host(fake_png(64 * 1024), 0.15) as base:
        print("\nparallel: 8 images of 64 KB from a host 150 ms away")
        print("| at once | wall (sync) | wall (async) |")
        print("| --- | --- | --- |")
        for limit in (1, downloads.PARALLEL_DOWNLOADS):
            walls = []
            with mock.patch.object(downloads, "PARALLEL_DOWNLOADS", limit):
                for driver in ("sync", "async"):
                    rec = record(base, 8, f"p{limit}-{driver}")
                    start = time.perf_counter()
                    if driver == "sync":
                        run_sync_keep(root, rec)
                    else:
                        asyncio.run(run_async_keep(root, rec))
                    walls.append(time.perf_counter() - start)
            print(f"| {limit} | {walls[0]:.2f} s | {walls[1]:.2f} s |")


if __name__ == "__main__":
    main()
