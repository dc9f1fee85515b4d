"""Scenario ``batch``: N generations as one batch (one approval) next to N threads.

    python benchmarks/batch_bench.py --sizes 200,1000 [--task-seconds 2] [--profile]

or ``make bench`` (``run.py`` calls :func:`run`). Each batch runs in a fresh process
(``worker`` below) against the emulator in its own process: ``graph.ainvoke`` with the
``requests`` of N different prompts, then the timed part, ``Command(resume="yes")``
until every result is in. The per-thread way is ``run.py``'s concurrency worker (N
threads, each asked and approved on its own, all at once). Figures: wall after the
approval, CPU per item, peak RSS, charges and capabilities fetches counted by the
emulator, checkpoint bytes per item (target <= 8 KiB) on the CLI's SQLite saver.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bench_lib as lib

HERE = Path(__file__).resolve().parent
TARGET_KIB_PER_ITEM = 8.0


def requests_of(n: int) -> list[dict[str, Any]]:
    return [{"prompt": f"{lib.PROMPT}, catalogue item {i:05d}"} for i in range(n)]


def checkpoint_bytes(db: str, thread: str) -> int:
    conn = sqlite3.connect(db)
    try:
        (checkpoints,) = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) FROM checkpoints "
            "WHERE thread_id = ?", (thread,)).fetchone()
        (writes,) = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes WHERE thread_id = ?",
            (thread,)).fetchone()
    finally:
        conn.close()
    return int(checkpoints) + int(writes)


async def _batch(args: argparse.Namespace) -> dict[str, Any]:
    from langgraph.types import Command

    from creatok_graph.checkpointing import aopen_persistence
    from creatok_graph.graph import build_graph

    work = args.workdir
    db = os.path.join(work, "checkpoints.sqlite")
    context = lib.graph_context(args.base_url, args.api_key, os.path.join(work, "artifacts"))
    config: Any = {"configurable": {"thread_id": "batch"}}
    async with aopen_persistence(f"sqlite:///{db}") as persistence:
        graph = build_graph(persistence.checkpointer, persistence.store)
        t0 = time.perf_counter()
        first = await graph.ainvoke({"requests": requests_of(args.n)}, config, context=context)
        t1 = time.perf_counter()
        assert first.get("__interrupt__"), first.get("error")
        cpu0 = lib.process_cpu_seconds()
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        done = await graph.ainvoke(Command(resume="yes"), config, context=context)
        if profiler:
            profiler.disable()
        t2 = time.perf_counter()
        cpu = lib.process_cpu_seconds() - cpu0
    statuses = [r["status"] for r in done.get("results") or []]
    report = {
        "n": args.n, "first_phase": t1 - t0, "wall": t2 - t1, "cpu": cpu,
        "succeeded": statuses.count("succeeded"), "status": done.get("status"),
        "peak_rss_mib": lib.peak_rss_mib(),
        "checkpoint_bytes": checkpoint_bytes(db, "batch"),
    }
    if profiler:  # the same summary as run.py's overhead profile, per item
        from worker import summarize_profile

        report["profile"] = summarize_profile(profiler, args.n)
    return report


def worker(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--api-key", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    print(json.dumps(asyncio.run(_batch(args))))
    return 0


def measure(emu: lib.EmulatorProcess, n: int, task_seconds: float, root: str,
            profile: bool = False) -> dict[str, Any]:
    """One batch of ``n`` in a fresh process, with the emulator's counts."""
    emu.configure(task_seconds)
    emu.reset()
    cpu0 = emu.cpu_seconds()
    workdir = tempfile.mkdtemp(prefix=f"batch-{n}-", dir=root)
    cmd = [sys.executable, str(HERE / "batch_bench.py"), "worker", "--n", str(n),
           "--base-url", emu.base_url, "--api-key", emu.api_key, "--workdir", workdir]
    if profile:
        cmd.append("--profile")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=lib.REPO_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"batch worker n={n} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    stats = emu.stats()
    report.update(charges=stats["submits"], capabilities=stats["capabilities"],
                  status_requests=stats["status"],
                  emulator_cpu=emu.cpu_seconds() - cpu0)
    return report


def rows_for(n: int, batch: dict[str, Any], threads: dict[str, Any] | None) -> list[list[Any]]:
    rows = [[n, "one batch, one approval", f"{batch['wall']:.2f} s",
             f"{batch['first_phase']:.2f} s", f"{batch['succeeded']}/{n}", batch["charges"],
             batch["capabilities"], f"{batch['cpu'] * 1000 / n:.1f}",
             f"{batch['peak_rss_mib']:.0f}", f"{batch['checkpoint_bytes'] / n / 1024:.2f}"]]
    if threads:
        asked = max(threads["first_phase"]) if threads["first_phase"] else float("nan")
        after = max(threads["seconds"]) if threads["seconds"] else float("nan")
        rows.append([n, f"{n} threads, {n} approvals", f"{after:.2f} s", f"{asked:.2f} s",
                     f"{threads['succeeded']}/{n}", threads["emulator"]["submits"],
                     threads["emulator"]["capabilities"],
                     f"{threads['cpu'] * 1000 / n:.1f}", f"{threads['peak_rss_mib']:.0f}", "-"])
    return rows


HEADERS = ["n", "way", "approval -> last result", "until asked", "ok", "charges",
           "caps fetches", "CPU ms/item", "peak RSS MiB", "checkpoint KiB/item"]
NOTE = ("Task duration {d:g} s; emulator in its own process; SQLite saver and store. "
        "Batch: wall from the resume (yes) to the last result. Threads: the slowest run's "
        "time after its own yes (run.py's concurrency worker; its CPU includes asking). "
        f"Target: 200 x 2 s <= 4 s after the approval, checkpoints <= {TARGET_KIB_PER_ITEM:g} "
        "KiB per item.")


def run(bench: Any, sizes: Sequence[int] | None = None, task_seconds: float = 2.0,
        compare: bool = True) -> list[dict[str, Any]]:
    """The scenario as ``run.py`` calls it (a small hook there): prints one table."""
    from run import table

    if not sizes:
        smoke = bench.plan.concurrency <= 10
        sizes = [bench.plan.concurrency] if smoke else [200] if not bench.plan.knee \
            else [200, 1000]
        task_seconds = 0.3 if smoke else task_seconds
    out, rows = [], []
    for n in sizes:
        batch = measure(bench.emu, n, task_seconds, bench.root)
        threads = bench.worker("graph", n, task_seconds, tag=f"b{n}") if compare else None
        out.append({"n": n, "batch": batch,
                    "threads": {k: v for k, v in (threads or {}).items() if k != "outcomes"}})
        rows += rows_for(n, batch, threads)
    bench.results["batch"] = out
    table("Batch: one approval for N generations, next to N threads", HEADERS, rows,
          [NOTE.format(d=task_seconds)])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        return worker(argv[1:])
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="200,1000")
    p.add_argument("--task-seconds", type=float, default=2.0)
    p.add_argument("--no-compare", action="store_true", help="batches only, no threads")
    p.add_argument("--profile", action="store_true", help="cProfile the batch after the yes")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="creatok-batch-bench-") as root, \
            lib.EmulatorProcess(task_seconds=args.task_seconds) as emu:
        if args.profile:  # the main thread only: file and SQLite threads show as epoll
            for n in sizes:
                report = measure(emu, n, args.task_seconds, root, profile=True)
                prof = report.pop("profile")
                print(json.dumps(report))
                for key in ("by_package_ms_per_run", "top_ms_per_run"):
                    print(f"\n{key.replace('_run', '_item')} (under cProfile)")
                    items = prof[key].items() if isinstance(prof[key], dict) else prof[key]
                    for name, ms in items:
                        print(f"  {ms:7.2f}  {name}")
            return 0
        import run as bench_run

        plan = bench_run.make_plan(bench_run.parse_args(["--quick"]))
        bench = bench_run.Bench(plan, emu, root)
        run(bench, sizes, args.task_seconds, compare=not args.no_compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
