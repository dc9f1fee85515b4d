"""One measured batch in a fresh process: ``python benchmarks/worker.py KIND --n N ...``.

``run.py`` starts one worker per batch so every batch begins with a cold capabilities cache,
an empty connection pool and its own resident memory, and prints one JSON line back.
KIND is ``graph`` (N whole graph runs at once: ``ainvoke`` to the approval question, then
``ainvoke(Command(resume="yes"))``; one AsyncSqliteSaver + store; the process-wide HTTP pool),
``client`` (N ``AsyncCreatok.submit`` + ``wait``) or ``reference`` (N copies of CreatOK's own
fixed 3 s poll loop over one ``httpx.AsyncClient``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any

import bench_lib as lib
import httpx


async def _graph_batch(args: argparse.Namespace) -> tuple[list[lib.Outcome], dict[str, Any]]:
    from creatok_graph.checkpointing import aopen_persistence
    from creatok_graph.graph import build_graph

    extra: dict[str, Any] = {}
    work = args.workdir or tempfile.mkdtemp(prefix="creatok-bench-")
    db = os.path.join(work, "checkpoints.sqlite")
    context = lib.graph_context(args.base_url, args.api_key, os.path.join(work, "artifacts"))
    async with aopen_persistence(f"sqlite:///{db}") as persistence:
        graph = build_graph(persistence.checkpointer, persistence.store)
        outcomes = await _gather(
            args, lambda i: lib.graph_generation(graph, context, f"{args.tag}-{i:05d}")
        )
    extra["db"] = db
    return outcomes, extra


async def _client_batch(args: argparse.Namespace) -> tuple[list[lib.Outcome], dict[str, Any]]:
    from creatok_graph.client import AsyncCreatok

    async with AsyncCreatok(api_key=args.api_key, base_url=args.base_url) as client:
        return await _gather(args, lambda i: lib.client_generation(client)), {}


async def _reference_batch(args: argparse.Namespace) -> tuple[list[lib.Outcome], dict[str, Any]]:
    size = REFERENCE_POOL or args.n
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        return await _gather(
            args, lambda i: lib.reference_generation(http, args.base_url, args.api_key)
        ), {}


async def _gather(args: argparse.Namespace, make: Any) -> list[lib.Outcome]:
    outcomes: list[lib.Outcome] = await asyncio.gather(*(make(i) for i in range(args.n)))
    return outcomes


def _set_pool_limit(size: int) -> None:
    """What-if: the package's pools with another size (graph.py reads the name at call time)."""
    import creatok_graph.client
    import creatok_graph.graph

    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    creatok_graph.client.DEFAULT_LIMITS = limits
    creatok_graph.graph.DEFAULT_LIMITS = limits  # type: ignore[attr-defined]
    global REFERENCE_POOL
    REFERENCE_POOL = size


REFERENCE_POOL = 0
"""Connections of the reference client's pool (0: one per run, like Node's fetch)."""


BATCHES = {"graph": _graph_batch, "client": _client_batch, "reference": _reference_batch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=sorted(BATCHES))
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--tag", default="run")
    parser.add_argument(
        "--pool", type=int, default=0,
        help="max connections of the HTTP pool (0: the package default); for what-if runs",
    )
    args = parser.parse_args(argv)
    if args.pool:
        _set_pool_limit(args.pool)

    rss_before = lib.rss_mib()
    cpu0, t0 = time.process_time(), time.perf_counter()
    outcomes, extra = asyncio.run(BATCHES[args.kind](args))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    errors = sorted({o.error for o in outcomes if o.error})[:3]
    print(json.dumps({
        "kind": args.kind,
        "n": args.n,
        "wall": wall,
        "cpu": cpu,
        "succeeded": sum(o.status == "succeeded" for o in outcomes),
        "seconds": [o.seconds for o in outcomes],
        "first_phase": [o.first_phase for o in outcomes],
        "rss_before_mib": rss_before,
        "rss_after_mib": lib.rss_mib(),
        "peak_rss_mib": lib.peak_rss_mib(),
        "errors": errors,
        **extra,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
