"""One measured batch in a fresh process: ``python benchmarks/worker.py KIND --n N ...``.

``run.py`` starts one worker per batch, so every batch begins with a cold capabilities
cache, an empty connection pool and its own resident memory, and prints one JSON line.

KIND:
  graph      N whole graph runs at once: ``ainvoke`` to the approval question, then
             ``ainvoke(Command(resume="yes"))``; ``aopen_persistence`` (ThreadedSqliteSaver +
             AsyncSqliteStore); the process-wide HTTP pool of ``creatok_graph.graph``.
  client     N ``AsyncCreatok.submit`` + ``wait`` at once (the adaptive schedule, no graph).
  reference  N copies of CreatOK's own loop at once (check at once, then every 3 s).
  overhead   N runs one after the other at zero task time, interleaved: bare HTTP calls,
             the graph with in-memory persistence, the graph with SQLite persistence, and
             that graph under each ``--what-if`` (side by side, same process, same runs).

``--what-if`` patches a change in (this process only) to measure it before anyone edits
the package, or to measure a setting a caller may choose:
  pool=N           N pooled connections and at most N requests in flight (BoundedTransport)
  store-immediate  the SQLite store takes its write lock when its transaction begins
  library-saver    LangGraph's AsyncSqliteSaver instead of ThreadedSqliteSaver (what a
                   caller who brings that checkpointer gets)
  durability=MODE  ainvoke(..., durability=MODE); "exit-first": only the approval phase
  nofsync          result and ledger files written without fsync
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from typing import Any

import bench_lib as lib
import httpx

from creatok_graph.client import BoundedAsyncTransport

REFERENCE_POOL = 0
"""Connections of the reference client's pool (0: ``REFERENCE_CONNECTIONS``)."""
REFERENCE_CONNECTIONS = 32


# -- what-if patches ------------------------------------------------------------------------------


# The bounded transport now ships in the package (P1 applied); ``pool=N`` resizes it.
BoundedTransport = BoundedAsyncTransport


Undo = Any
"""A patch returns the callable that takes it out again."""
RUN_TIME = ("nofsync", "durability")
"""Patches switched on around each run (the others act when a graph is built)."""


def apply_what_if(items: list[str]) -> list[Undo]:
    patches = {"pool": _patch_pool, "nofsync": _patch_nofsync,
               "store-immediate": _patch_store_immediate, "durability": _patch_durability,
               "library-saver": _patch_library_saver}
    undo = []
    for item in items:
        name, _, value = item.partition("=")
        if name not in patches:
            raise SystemExit(f"unknown --what-if {item!r}; known: {', '.join(patches)}")
        undo.append(patches[name](value))
    return undo


def _swap(owner: Any, name: str, value: Any) -> Undo:
    original = getattr(owner, name)
    setattr(owner, name, value)
    return lambda: setattr(owner, name, original)


def _patch_pool(value: str) -> Undo:
    import creatok_graph.client as client_mod
    import creatok_graph.graph as graph_mod

    size = int(value or 32)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)

    def bounded_client(*args: Any, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.pop("limits", None)
        verify = kwargs.pop("verify", True)
        inner = kwargs.pop("transport", None) or httpx.AsyncHTTPTransport(limits=limits,
                                                                          verify=verify)
        return httpx.AsyncClient(*args, transport=BoundedTransport(inner, size), **kwargs)

    class _Httpx:  # graph.py and client.py call httpx.AsyncClient(limits=..., timeout=...)
        def __getattr__(self, name: str) -> Any:
            return getattr(httpx, name)

        AsyncClient = staticmethod(bounded_client)

    global REFERENCE_POOL
    REFERENCE_POOL = size
    undo = [_swap(graph_mod, "httpx", _Httpx()), _swap(client_mod, "httpx", _Httpx())]
    return lambda: [u() for u in undo]


def _patch_nofsync(value: str = "") -> Undo:
    """Result files and the ledger file written without fsync (SQLite keeps its own)."""
    import creatok_graph.artifacts as artifacts
    import creatok_graph.ledger as ledger

    class _Os:
        def __getattr__(self, name: str) -> Any:
            return getattr(os, name)

        @staticmethod
        def fsync(fd: int) -> None:
            del fd

    undo = [_swap(artifacts, "os", _Os()), _swap(ledger, "os", _Os())]
    return lambda: [u() for u in undo]


def _patch_store_immediate(value: str = "") -> Undo:
    """AsyncSqliteStore.abatch runs ``BEGIN`` (deferred), the ledger's get, then its put: a
    read snapshot upgraded to a write fails at once with SQLITE_BUSY when the saver's
    connection committed a checkpoint in between (no busy timeout applies)."""
    import langgraph.store.sqlite.aio as store_aio

    from creatok_graph.checkpointing import _immediate_async_sqlite_store

    ImmediateAsyncSqliteStore = _immediate_async_sqlite_store()  # applied in the package (P2)
    return _swap(store_aio, "AsyncSqliteStore", ImmediateAsyncSqliteStore)


def _patch_durability(value: str) -> Undo:
    """``graph.ainvoke(..., durability=value)``: "exit" saves a checkpoint when the run
    stops (interrupt or end) instead of after every step; the ledger already protects the
    paid call, so a crash mid-run re-runs steps without a second charge."""
    return _swap(lib, "DURABILITY", value or "exit")


LIBRARY_SAVER = False


def _patch_library_saver(value: str = "") -> Undo:
    """``aopen_persistence`` gives ``ThreadedSqliteSaver`` (P3 applied): one hop per
    operation to one dedicated thread. LangGraph's ``AsyncSqliteSaver`` holds one
    asyncio.Lock across ~3 thread hops per operation, each waiting for a turn of the busy
    event loop. This measures the graph on the library saver, as a caller who brings
    their own checkpointer runs it."""
    global LIBRARY_SAVER
    LIBRARY_SAVER = True

    def undo() -> None:
        global LIBRARY_SAVER
        LIBRARY_SAVER = False

    return undo


@contextlib.asynccontextmanager
async def open_persistence(url: str) -> Any:
    """``aopen_persistence``, or (what-if ``library-saver``) that store with LangGraph's
    AsyncSqliteSaver on the same file."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    from creatok_graph.checkpointing import (
        BUSY_TIMEOUT_MS,
        SQLITE_PRAGMAS,
        Persistence,
        aopen_persistence,
    )

    async with aopen_persistence(url) as persistence:
        if not LIBRARY_SAVER:
            yield persistence
            return
        conn = await aiosqlite.connect(url.removeprefix("sqlite:///"),
                                       timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            for pragma in SQLITE_PRAGMAS:
                await conn.execute(pragma)
            saver = AsyncSqliteSaver(conn)
            await saver.setup()
            yield Persistence(saver, persistence.store)
        finally:
            await conn.close()


# -- batches --------------------------------------------------------------------------------------


async def _gather(n: int, make: Any) -> list[lib.Outcome]:
    outcomes: list[lib.Outcome] = await asyncio.gather(*(make(i) for i in range(n)))
    return outcomes


async def _graph_batch(args: argparse.Namespace) -> dict[str, Any]:
    from creatok_graph.graph import build_graph

    work = args.workdir or tempfile.mkdtemp(prefix="creatok-bench-")
    db = os.path.join(work, "checkpoints.sqlite")
    context = lib.graph_context(args.base_url, args.api_key, os.path.join(work, "artifacts"))
    async with open_persistence(f"sqlite:///{db}") as persistence:
        graph = build_graph(persistence.checkpointer, persistence.store)
        outcomes = await _gather(
            args.n, lambda i: lib.graph_generation(graph, context, f"{args.tag}-{i:05d}")
        )
    return {"outcomes": outcomes, "db": db}


async def _client_batch(args: argparse.Namespace) -> dict[str, Any]:
    from creatok_graph.client import AsyncCreatok

    async with AsyncCreatok(api_key=args.api_key, base_url=args.base_url) as client:
        return {"outcomes": await _gather(args.n, lambda i: lib.client_generation(client))}


async def _reference_batch(args: argparse.Namespace) -> dict[str, Any]:
    # CreatOK's client is Node: fetch keeps a connection per request in flight. httpcore's
    # pool costs O(connections x queued requests) per request, which would tax the baseline
    # for our HTTP stack, not for its poll schedule: a small bounded pool keeps it cheap.
    size = REFERENCE_POOL or min(args.n, REFERENCE_CONNECTIONS)
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    transport = BoundedTransport(httpx.AsyncHTTPTransport(limits=limits), size)
    async with httpx.AsyncClient(transport=transport, timeout=60) as http:
        outcomes = await _gather(
            args.n, lambda i: lib.reference_generation(http, args.base_url, args.api_key)
        )
    return {"outcomes": outcomes}


async def _overhead_batch(args: argparse.Namespace) -> dict[str, Any]:
    """Zero task time, one run at a time; the three variants interleaved run by run."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from creatok_graph.client import AsyncCreatok
    from creatok_graph.graph import build_graph

    work = args.workdir or tempfile.mkdtemp(prefix="creatok-bench-")
    context = lib.graph_context(args.base_url, args.api_key, os.path.join(work, "artifacts"))
    what_ifs = [w for w in args.what_if if not w.startswith("pool")]
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            AsyncCreatok(api_key=args.api_key, base_url=args.base_url))

        async def sqlite_graph(name: str, patches: list[str]) -> Any:
            """A graph (and persistence) built under ``patches``; run-time patches are
            switched on around each of its runs only."""
            build = [w for w in patches if w.partition("=")[0] not in RUN_TIME]
            undo = apply_what_if(build)
            try:
                url = f"sqlite:///{os.path.join(work, name + '.sqlite')}"
                persistence = await stack.enter_async_context(open_persistence(url))
                graph = build_graph(persistence.checkpointer, persistence.store)
            finally:
                for u in reversed(undo):
                    u()
            return _graph_runner(graph, context, name,
                                 run_patches=[w for w in patches
                                              if w.partition("=")[0] in RUN_TIME])

        variants: dict[str, Any] = {
            "bare": lambda i: lib.bare_calls(client),
            "graph_memory": _graph_runner(build_graph(InMemorySaver(), InMemoryStore()),
                                          context, "mem"),
            "graph_sqlite": await sqlite_graph("sql", []),
        }
        for w in what_ifs:
            variants[f"graph_sqlite+{w}"] = await sqlite_graph(
                "sql-" + "".join(c if c.isalnum() else "-" for c in w), [w])
        if len(what_ifs) > 1:
            variants["graph_sqlite+" + "+".join(what_ifs)] = await sqlite_graph("sql-all",
                                                                               what_ifs)
        wall: dict[str, list[float]] = {k: [] for k in variants}
        cpu: dict[str, list[float]] = {k: [] for k in variants}
        for run in variants.values():  # warm up: imports, pools, the capabilities cache
            await run(-1)
        for i in range(args.n):
            for name, run in variants.items():
                c0, t0 = time.process_time(), time.perf_counter()
                outcome = await run(i)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                if outcome.status != "succeeded":
                    raise RuntimeError(f"{name} run {i}: {outcome.status} {outcome.error}")
        breakdown = await _breakdown(variants["graph_sqlite"], args.n)
        profile = await _profile(variants["graph_sqlite"], args.n) if args.profile else None
    return {"wall": wall, "cpu": cpu, "breakdown": breakdown, "profile": profile}


def _graph_runner(graph: Any, context: Any, prefix: str, run_patches: Any = ()) -> Any:
    async def run(i: int) -> lib.Outcome:
        undo = apply_what_if(list(run_patches))
        try:
            outcome = await lib.graph_generation(graph, context,
                                                 f"{prefix}-{i + 1:05d}-{os.getpid()}")
        finally:
            for u in reversed(undo):
                u()
        outcome.seconds += outcome.first_phase  # one figure per run: both ainvoke calls
        return outcome

    return run


async def _breakdown(run: Any, n: int) -> dict[str, dict[str, float]]:
    """Wall time spent inside each kind of I/O per graph run (they overlap: LangGraph
    saves checkpoints while the next node runs)."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    from creatok_graph import _flow
    from creatok_graph.checkpointing import ThreadedSqliteSaver

    spent: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: Any) -> None:
        original = getattr(owner, name)

        async def timed(self: Any, *a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await original(self, *a, **k)
            finally:
                key = label(self) if callable(label) else label
                spent[key] += time.perf_counter() - t0
                calls[key] += 1

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(_flow.Send, "run_async", "HTTP request (Send)")
    wrap(_flow.Blocking, "run_async", lambda e: f"file I/O thread: {e.fn.__name__}")
    for saver in (ThreadedSqliteSaver, AsyncSqliteSaver):
        wrap(saver, "aput", "checkpointer.aput")
        wrap(saver, "aput_writes", "checkpointer.aput_writes")
        wrap(saver, "aget_tuple", "checkpointer.aget_tuple")
    wrap(AsyncSqliteStore, "abatch", "store.abatch (ledger get/put)")
    try:
        runs = max(5, min(n, 30))
        t0 = time.perf_counter()
        for i in range(runs):
            await run(100_000 + i)
        total = time.perf_counter() - t0
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)
    out = {k: {"ms_per_run": spent[k] / runs * 1000, "calls_per_run": calls[k] / runs}
           for k in spent}
    out["(whole run)"] = {"ms_per_run": total / runs * 1000, "calls_per_run": 1.0}
    return out


CUMULATIVE = (
    ("inspect.signature (all callers)", "inspect.py", "signature"),
    ("langchain_core callback managers", "langchain_core/runnables/config.py",
     "get_async_callback_manager_for_config"),
    ("httpx AsyncClient.send", "httpx/_client.py", "send"),
    ("asyncio.to_thread (file I/O hops)", "asyncio/threads.py", "to_thread"),
    ("aiosqlite calls (main-thread side)", "aiosqlite/core.py", "_execute"),
    ("checkpoint serialization", "langgraph/checkpoint/serde/jsonplus.py", "dumps_typed"),
    ("creatok_graph node flows (all effects)", "creatok_graph/_flow.py", "run_async"),
)


async def _profile(run: Any, n: int) -> dict[str, Any]:
    """cProfile (on the process CPU clock, so other load on the machine does not count)
    over sequential graph runs."""
    profiler = cProfile.Profile(time.process_time)
    runs = max(5, min(n, 30))
    profiler.enable()
    for i in range(runs):
        await run(200_000 + i)
    profiler.disable()
    return summarize_profile(profiler, runs)


def summarize_profile(profiler: cProfile.Profile, runs: int) -> dict[str, Any]:
    """CPU by package (a C builtin counts for the package that called it), selected
    cumulative figures, and the top functions by own time, all per run."""
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    groups: Counter[str] = Counter()
    top: list[tuple[float, str]] = []
    cumulative: Counter[str] = Counter()
    for (path, line, func), (_, _, own, cum, callers) in raw.items():
        top.append((own, f"{_short(path)}:{line}({func})"))
        for label, where, name in CUMULATIVE:
            if func == name and path.endswith(where):
                cumulative[label] += cum
        if path.startswith("~") and "poll" not in func and callers:
            total = sum(v[2] for v in callers.values()) or 1.0
            for (cpath, _, cfunc), v in callers.items():
                groups[_package(cpath, cfunc)] += own * v[2] / total
        else:
            groups[_package(path, func)] += own
    top.sort(reverse=True)
    per_run = 1000 / max(1, runs)
    return {
        "runs": runs,
        "total_ms_per_run": sum(groups.values()) * per_run,
        "by_package_ms_per_run": {k: v * per_run for k, v in groups.most_common(14)},
        "cumulative_ms_per_run": {k: cumulative[k] * per_run for k, _, _ in CUMULATIVE},
        "top_ms_per_run": [(name, own * per_run) for own, name in top[:14]],
    }


def _package(path: str, func: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if "creatok_graph" in path:
        return "creatok_graph"
    if path.startswith(("~", "<")):
        if "poll" in func:
            return "in epoll (= CPU of the SQLite and file threads meanwhile)"
        return "builtins"
    if "/asyncio/" in path or path.endswith("selectors.py"):
        return "asyncio event loop"
    return "stdlib " + os.path.basename(path)


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _preload() -> None:
    import importlib

    for name in ("langgraph.checkpoint.memory", "langgraph.checkpoint.sqlite.aio",
                 "langgraph.store.memory", "langgraph.store.sqlite.aio", "langgraph.types",
                 "creatok_graph.checkpointing", "creatok_graph.client", "creatok_graph.graph"):
        importlib.import_module(name)


BATCHES = {
    "graph": _graph_batch,
    "client": _client_batch,
    "reference": _reference_batch,
    "overhead": _overhead_batch,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=sorted(BATCHES))
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--tag", default="run")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--what-if", action="append", default=[])
    args = parser.parse_args(argv)
    if args.kind != "overhead":  # overhead compares them side by side instead
        apply_what_if(args.what_if)
    _preload()  # imports are not part of any figure

    rss_before = lib.rss_mib()
    profiler = None
    if args.profile and args.kind != "overhead":  # overhead profiles sequential runs itself
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = asyncio.run(BATCHES[args.kind](args))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        result["profile"] = summarize_profile(profiler, args.n)
    outcomes: list[lib.Outcome] = result.pop("outcomes", [])
    report = {
        "kind": args.kind,
        "n": args.n,
        "wall": wall,
        "cpu": cpu,
        "rss_before_mib": rss_before,
        "rss_after_mib": lib.rss_mib(),
        "peak_rss_mib": lib.peak_rss_mib(),
        **result,
    }
    if outcomes:
        report.update(
            succeeded=sum(o.status == "succeeded" for o in outcomes),
            statuses=dict(Counter(o.status for o in outcomes)),
            seconds=[o.seconds for o in outcomes],
            first_phase=[o.first_phase for o in outcomes],
            errors=sorted({o.error for o in outcomes if o.error})[:3],
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
