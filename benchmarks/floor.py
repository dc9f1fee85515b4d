"""Scenario ``floor``: what LangGraph itself costs on this machine, before any of our work.

Issue 17 asks for a start-up and a 200-runs-at-once time that may sit below what
LangGraph alone needs here. These are the floors, so anyone can check that claim
(``make bench BENCH="--scenarios floor,startup"``):

- imports: a fresh interpreter, from launch (stamped by the parent) to the end of
  ``import langgraph.graph`` (stamped by the child, same clock), next to a bare
  interpreter and ``import creatok_graph.graph``;
- graphs: a bare 8-node graph shaped like ours (``confirm`` interrupts, ``poll`` sleeps),
  N runs at once, each ``ainvoke`` then ``ainvoke(Command(resume="yes"))``: no HTTP,
  no package code but the checkpointer under test. One batch per fresh process
  (``python benchmarks/floor.py SAVER --n N --seconds S`` prints one JSON line).

Savers: ``memory`` (InMemorySaver), ``package`` (the ThreadedSqliteSaver of
``aopen_persistence``), ``library`` (LangGraph's ``AsyncSqliteSaver.from_conn_string``,
as a caller would open it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypedDict

import bench_lib as lib

HERE = Path(__file__).resolve().parent
SAVERS = ("memory", "package", "library")
SAVER_LABELS = {"memory": "InMemorySaver",
                "package": "package's ThreadedSqliteSaver (aopen_persistence)",
                "library": "LangGraph's AsyncSqliteSaver"}
IMPORTS = {"interpreter alone (python -c, no import)": "",
           "import langgraph.graph": "langgraph.graph",
           "import creatok_graph.graph": "creatok_graph.graph"}


# -- imports --------------------------------------------------------------------------------------


def _launch_to_import(module: str) -> float:
    """Seconds from launching a fresh interpreter to the end of ``import module``."""
    code = (f"import {module}; " if module else "") + "import time; print(time.time())"
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip()) - launched


def import_floor(runs: int) -> dict[str, lib.Summary]:
    """Launch -> import done, per module; modules interleaved run by run."""
    seconds: dict[str, list[float]] = {label: [] for label in IMPORTS}
    for _ in range(runs):
        for label, module in IMPORTS.items():
            seconds[label].append(_launch_to_import(module))
    return {label: lib.Summary.of(values) for label, values in seconds.items()}


# -- the bare graph -------------------------------------------------------------------------------


class State(TypedDict, total=False):
    prompt: str
    model: str
    caps: dict[str, Any]
    price: int
    task_id: str
    images: list[str]
    approved: bool


def build(task_seconds: float) -> Any:
    """clarify -> ... -> persist, trivial async nodes; ``confirm`` asks, ``poll`` sleeps."""
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    async def clarify(state: State) -> State:
        return {"prompt": state["prompt"].strip()}

    async def load_capabilities(state: State) -> State:
        return {"caps": {"m": {"price": 3}}}

    async def validate(state: State) -> State:
        return {"model": "m", "price": state["caps"]["m"]["price"]}

    async def confirm(state: State) -> State:
        return {"approved": interrupt({"question": "ok?", "price": state["price"]}) == "yes"}

    async def upload_refs(state: State) -> State:
        return {}

    async def submit(state: State) -> State:
        return {"task_id": "task"}

    async def poll(state: State) -> State:
        await asyncio.sleep(task_seconds)
        return {"images": ["https://example.invalid/1.png"]}

    async def persist(state: State) -> State:
        return {}

    builder = StateGraph(State)
    nodes = [clarify, load_capabilities, validate, confirm, upload_refs, submit, poll, persist]
    previous = START
    for node in nodes:
        builder.add_node(node.__name__, node)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    builder.add_edge(previous, END)
    return builder


@contextlib.asynccontextmanager
async def open_saver(saver: str, workdir: str) -> AsyncIterator[Any]:
    db = os.path.join(workdir, "checkpoints.sqlite")
    if saver == "package":
        from creatok_graph.checkpointing import aopen_persistence

        async with aopen_persistence(f"sqlite:///{db}") as persistence:
            yield persistence.checkpointer
    elif saver == "library":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(db) as library_saver:
            yield library_saver
    else:
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()


async def _batch(saver: str, n: int, task_seconds: float, workdir: str) -> dict[str, Any]:
    from langgraph.types import Command

    async with open_saver(saver, workdir) as checkpointer:
        graph = build(task_seconds).compile(checkpointer=checkpointer)

        async def one(i: int) -> bool:
            config: Any = {"configurable": {"thread_id": f"floor-{i:05d}"}}
            await graph.ainvoke({"prompt": f" {lib.PROMPT} {i} "}, config)
            out = await graph.ainvoke(Command(resume="yes"), config)
            return bool(out.get("approved") and out.get("images"))

        cpu0, t0 = time.process_time(), time.perf_counter()
        ok = await asyncio.gather(*(one(i) for i in range(n)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"saver": saver, "n": n, "wall": wall, "cpu": cpu, "ok": sum(ok)}


def graph_floor(n: int, task_seconds: float, saver: str, root: str) -> dict[str, Any]:
    """One batch of ``n`` bare runs at once in a fresh process."""
    workdir = tempfile.mkdtemp(prefix=f"floor-{saver}-", dir=root)
    cmd = [sys.executable, str(HERE / "floor.py"), saver, "--n", str(n),
           "--seconds", str(task_seconds), "--workdir", workdir]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=lib.REPO_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"floor {saver} n={n} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def graph_floors(n: int, task_seconds: float, reps: int, root: str
                 ) -> dict[str, list[dict[str, Any]]]:
    """``reps`` batches per saver, savers interleaved (memory, package, library, memory...)."""
    out: dict[str, list[dict[str, Any]]] = {saver: [] for saver in SAVERS}
    for _ in range(reps):
        for saver in SAVERS:
            out[saver].append(graph_floor(n, task_seconds, saver, root))
    return out


# -- the scenario as run.py calls it --------------------------------------------------------------


def run(bench: Any) -> dict[str, Any]:
    """Both tables, with the package's own figures of this run (startup, concurrency)."""
    from run import VARIANT_LABELS, spread, table

    plan = bench.plan
    n, d = plan.concurrency, plan.floor_seconds
    load = os.getloadavg()[0]
    print(f"\n(floor: {plan.floor_import_runs} x {len(IMPORTS)} fresh interpreters, then "
          f"{plan.floor_reps} x {len(SAVERS)} batches of {n} bare runs; load average "
          f"{load:.2f})")
    sys.stdout.flush()
    imports = import_floor(plan.floor_import_runs)
    graphs = graph_floors(n, d, plan.floor_reps, bench.root)
    summaries = {saver: (lib.Summary.of([r["wall"] for r in reports]),
                         lib.Summary.of([r["cpu"] for r in reports]),
                         sum(r["ok"] for r in reports), n * len(reports))
                 for saver, reports in graphs.items()}
    result: dict[str, Any] = {
        "imports": {label: vars(s) for label, s in imports.items()},
        "graphs": {saver: {"wall": vars(w), "cpu": vars(c), "ok": ok, "runs": runs,
                           "cpu_ms_per_run": c.median * 1000 / n}
                   for saver, (w, c, ok, runs) in summaries.items()},
        "n": n, "task_seconds": d, "load_average": load,
    }
    bench.results["floor"] = result

    rows = [[label, f"{s.median:.3f} s", spread(s, digits=3), s.n]
            for label, s in imports.items()]
    startup = bench.results.get("startup")
    if startup:
        from cli_bench import median

        for key, label in (("submit_ours", "creatok-image --yes: launch -> task created"),
                           ("submit_reference", "CreatOK client: launch -> task created")):
            rows.append([f"{label} (startup scenario)", f"{median(startup[key]):.3f} s",
                         "-", len(startup[key])])
    table("Floor: launch -> import done (fresh interpreter, nothing else)",
          ["what", "median", "min-max", "runs"], rows,
          ["Parent stamps the launch, the child the end of its import (same clock)."])

    rows = [[SAVER_LABELS[saver], f"{w.median:.2f} s", spread(w), f"{c.median:.2f} s",
             spread(c), f"{c.median * 1000 / n:.1f}", f"{ok}/{runs}"]
            for saver, (w, c, ok, runs) in summaries.items()]
    setup = "".join([", with `progress`"] * plan.with_progress
                    + [f", what-if {w}" for w in plan.what_if])  # friendlier or not ours
    for report in bench.results.get("concurrency", []):
        if report["kind"] in ("graph", "graph-library-saver") and report["n"] == n:
            rows.append([f"{VARIANT_LABELS[report['kind']]}, {report['task_seconds']:g} s "
                         f"tasks{setup} (concurrency scenario)", f"{report['wall']:.2f} s", "-",
                         f"{report['cpu']:.2f} s", "-",
                         f"{report['cpu'] * 1000 / n:.1f}", f"{report['succeeded']}/{n}"])
    table(f"Floor: {n} bare LangGraph runs at once, {d:g} s node, no HTTP",
          ["checkpointer", "wall (median)", "wall min-max", "CPU (median)", "CPU min-max",
           "CPU ms/run", "ok"], rows, [_reading(bench, n, d)])
    return result


def _reading(bench: Any, n: int, d: float) -> str:
    own = []
    if "startup" not in bench.results:
        own.append("`--scenarios startup` gives the package's start-up")
    if not any(r["n"] == n for r in bench.results.get("concurrency", [])):
        own.append(f"`--scenarios concurrency --concurrency {n} --concurrency-seconds {d:g}` "
                   f"gives its {n} runs at once")
    if len(own) < 2:
        own.append("rows marked with a scenario are the package's own figures, same run")
    return (f"Lower bounds ({bench.plan.floor_reps} fresh process(es) per checkpointer, "
            "interleaved): what LangGraph costs here with no HTTP and none of the package's "
            f"work (8 trivial async nodes, one interrupt, one {d:g} s sleep; wall = all runs "
            "started together until the last one finished; CPU = that process, all its "
            "threads). No graph on this LangGraph, checkpointer and machine gets below its "
            "floor; what our code may add is the target minus the floor. "
            + _sentence("; ".join(own)) + f" Load average {os.getloadavg()[0]:.2f} at the end.")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("saver", choices=SAVERS)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--workdir", default="")
    args = p.parse_args(argv)
    for module in ("langgraph.graph", "langgraph.types", "langgraph.checkpoint.memory",
                   "langgraph.checkpoint.sqlite.aio", "creatok_graph.checkpointing"):
        __import__(module)  # imports are not part of the figure
    workdir = args.workdir or tempfile.mkdtemp(prefix="creatok-floor-")
    print(json.dumps(asyncio.run(_batch(args.saver, args.n, args.seconds, workdir))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
