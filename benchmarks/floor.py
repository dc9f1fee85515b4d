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
  (``python benchmarks/floor.py SAVER --n N --seconds S`` prints one JSON line);
- graphs + requests: the same graph whose nodes make the HTTP requests the product must
  make, against the emulator (``--base-url URL --api-key KEY``): one capabilities GET
  shared by all runs, the paid POST, status GETs, a GET of the first image URL (see
  :class:`Network`). Nothing else: no ledger, no files, no spend guard. A floor for any
  graph that makes those requests.

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
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypedDict

import bench_lib as lib
import httpx

from creatok_graph.api_paths import CAPABILITIES_PATH, IMAGE_TASK_TYPE, STATUS_PATH, SUBMIT_PATH

HERE = Path(__file__).resolve().parent
SAVERS = ("memory", "package", "library")
SAVER_LABELS = {"memory": "InMemorySaver",
                "package": "package's ThreadedSqliteSaver (aopen_persistence)",
                "library": "LangGraph's AsyncSqliteSaver"}
VARIANTS = {"bare": "bare graph", "requests": "bare graph + requests"}
"""Result keys of the two graph floors (``graphs``, ``graphs_requests``) and their labels."""
POLL_INTERVAL = 0.25
"""Status checks after the first one (at the task length after the submit answer)."""
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
    answered_at: float
    images: list[str]
    image_bytes: int
    approved: bool


class Network:
    """The requests one run of the product must make, and nothing else.

    One ``httpx.AsyncClient`` for all runs, built by the package's ``new_async_http`` (its
    bounded, sharded pools); the image GETs share it (the package gives downloads a pool of
    their own). The API key goes in the ``Authorization`` header of API calls only, as
    ``client.py`` sends it. The poll schedule is friendlier than the product's: it knows the
    task length, so it checks first when the task ends (no history could tell the product
    that), then every ``POLL_INTERVAL``.
    """

    def __init__(self, base_url: str, api_key: str, first_check: float) -> None:
        from creatok_graph.client import USER_AGENT, new_async_http

        self.http = new_async_http()
        self.base_url = base_url
        self.headers = {**lib.api_headers(api_key), "User-Agent": USER_AGENT}
        self.first_check = first_check
        self._caps: dict[str, Any] | None = None
        self._caps_lock = asyncio.Lock()

    async def _api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        extra = kwargs.pop("headers", {})
        response = await self.http.request(method, self.base_url + path,
                                           headers={**self.headers, **extra}, **kwargs)
        body = response.json()
        if response.status_code >= 400 or body.get("code") != 0:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {body}")
        data: dict[str, Any] = body["data"]
        return data

    async def capabilities(self) -> dict[str, Any]:
        """``capabilities.image``, fetched once for all runs (as the package does)."""
        async with self._caps_lock:
            if self._caps is None:
                self._caps = (await self._api("GET", CAPABILITIES_PATH))["capabilities"]["image"]
            return self._caps

    async def submit(self, body: dict[str, Any]) -> tuple[str, float]:
        """The paid POST, with a fresh ``Idempotency-Key``: (task id, when it answered)."""
        data = await self._api("POST", SUBMIT_PATH, json=body,
                               headers={"Idempotency-Key": str(uuid.uuid4())})
        return str(data["task_id"]), time.monotonic()

    async def wait(self, task_id: str, answered_at: float) -> list[str]:
        """Status GETs until terminal; the image URLs of a success."""
        await asyncio.sleep(max(0.0, answered_at + self.first_check - time.monotonic()))
        params = {"task_id": task_id, "task_type": IMAGE_TASK_TYPE}
        while True:
            data = await self._api("GET", STATUS_PATH, params=params)
            if data.get("status") == "succeeded":
                return [str(image["url"]) for image in data["result"]["images"]]
            if data.get("status") == "failed":
                raise RuntimeError(f"task {task_id} failed: {data}")
            await asyncio.sleep(POLL_INTERVAL)

    async def fetch(self, url: str) -> int:
        """GET the image URL verbatim (the signature covers the exact query), into memory."""
        response = await self.http.get(httpx.URL(url))
        response.raise_for_status()
        return len(response.content)

    async def aclose(self) -> None:
        await self.http.aclose()


def build(task_seconds: float, net: Network | None = None) -> Any:
    """clarify -> ... -> persist, trivial async nodes; ``confirm`` asks, ``poll`` sleeps.

    With ``net``, ``load_capabilities``, ``submit``, ``poll`` and ``persist`` make their
    requests instead (``poll`` then waits by its status checks, not by a sleep).
    """
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    async def clarify(state: State) -> State:
        return {"prompt": state["prompt"].strip()}

    async def load_capabilities(state: State) -> State:
        if net is None:
            return {"caps": {"m": {"price": 3}}}
        models = {m["id"]: m for m in (await net.capabilities())["models"]}
        model = models[lib.SUBMIT_BODY["model"]]
        return {"caps": {model["id"]: {
            "price": model["pricing"]["by_resolution"][lib.SUBMIT_BODY["resolution"]]}}}

    async def validate(state: State) -> State:
        model = next(iter(state["caps"]))
        return {"model": model, "price": state["caps"][model]["price"]}

    async def confirm(state: State) -> State:
        return {"approved": interrupt({"question": "ok?", "price": state["price"]}) == "yes"}

    async def upload_refs(state: State) -> State:
        return {}

    async def submit(state: State) -> State:
        if net is None:
            return {"task_id": "task"}
        task_id, answered_at = await net.submit({**lib.SUBMIT_BODY, "prompt": state["prompt"],
                                                 "model": state["model"]})
        return {"task_id": task_id, "answered_at": answered_at}

    async def poll(state: State) -> State:
        if net is None:
            await asyncio.sleep(task_seconds)
            return {"images": ["https://example.invalid/1.png"]}
        return {"images": await net.wait(state["task_id"], state["answered_at"])}

    async def persist(state: State) -> State:
        if net is None:
            return {}
        return {"image_bytes": await net.fetch(state["images"][0])}

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


async def _batch(saver: str, n: int, task_seconds: float, workdir: str,
                 net: Network | None = None) -> dict[str, Any]:
    from langgraph.types import Command

    errors: list[str] = []
    async with open_saver(saver, workdir) as checkpointer:
        graph = build(task_seconds, net).compile(checkpointer=checkpointer)

        async def one(i: int) -> bool:
            config: Any = {"configurable": {"thread_id": f"floor-{i:05d}"}}
            try:
                await graph.ainvoke({"prompt": f" {lib.PROMPT} {i} "}, config)
                out = await graph.ainvoke(Command(resume="yes"), config)
            except Exception as exc:  # counted, not raised: the batch reports its failures
                errors.append(repr(exc))
                return False
            return bool(out.get("approved") and out.get("images")
                        and (net is None or out.get("image_bytes")))

        cpu0, t0 = time.process_time(), time.perf_counter()
        ok = await asyncio.gather(*(one(i) for i in range(n)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"saver": saver, "n": n, "wall": wall, "cpu": cpu, "ok": sum(ok),
            "errors": errors[:3]}


def graph_floor(n: int, task_seconds: float, saver: str, root: str,
                emu: lib.EmulatorProcess | None = None) -> dict[str, Any]:
    """One batch of ``n`` runs at once in a fresh process: bare, or with the requests
    against ``emu`` (then with the emulator's figures of the batch)."""
    workdir = tempfile.mkdtemp(prefix=f"floor-{saver}-", dir=root)
    cmd = [sys.executable, str(HERE / "floor.py"), saver, "--n", str(n),
           "--seconds", str(task_seconds), "--workdir", workdir]
    if emu is not None:
        cmd += ["--base-url", emu.base_url, "--api-key", emu.api_key]
        cpu0 = emu.begin_batch(task_seconds)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=lib.REPO_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"floor {saver} n={n} failed:\n{done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if emu is not None:
        report["emulator"] = emu.batch_figures(cpu0)
    return report


def graph_floors(n: int, task_seconds: float, reps: int, root: str,
                 emu: lib.EmulatorProcess | None = None
                 ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``reps`` batches per saver and variant, interleaved (memory bare, memory + requests,
    package bare, ...); the variant with requests only with an emulator."""
    variants = list(VARIANTS) if emu is not None else ["bare"]
    out: dict[str, dict[str, list[dict[str, Any]]]] = {
        variant: {saver: [] for saver in SAVERS} for variant in variants}
    for _ in range(reps):
        for saver in SAVERS:
            for variant in variants:
                out[variant][saver].append(graph_floor(
                    n, task_seconds, saver, root, emu if variant == "requests" else None))
    return out


# -- the scenario as run.py calls it --------------------------------------------------------------


def run(bench: Any) -> dict[str, Any]:
    """Both tables, with the package's own figures of this run (startup, concurrency)."""
    from run import VARIANT_LABELS, spread, table

    plan = bench.plan
    n, d = plan.concurrency, plan.floor_seconds
    load = os.getloadavg()[0]
    print(f"\n(floor: {plan.floor_import_runs} x {len(IMPORTS)} fresh interpreters, then "
          f"{plan.floor_reps} x {len(SAVERS) * len(VARIANTS)} batches of {n} runs; load "
          f"average {load:.2f})")
    sys.stdout.flush()
    imports = import_floor(plan.floor_import_runs)
    graphs = graph_floors(n, d, plan.floor_reps, bench.root, bench.emu)
    figures = {variant: {saver: _figures(reports, n) for saver, reports in by_saver.items()}
               for variant, by_saver in graphs.items()}
    result: dict[str, Any] = {
        "imports": {label: vars(s) for label, s in imports.items()},
        "graphs": figures["bare"], "graphs_requests": figures["requests"],
        "n": n, "task_seconds": d, "poll_interval": POLL_INTERVAL, "load_average": load,
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

    rows = []
    for saver in SAVERS:
        for variant, by_saver in figures.items():
            fig = by_saver[saver]
            w, c = lib.Summary(**fig["wall"]), lib.Summary(**fig["cpu"])
            ok = f"{fig['ok']}/{fig['runs']}"
            if variant == "requests":
                ok += f", {fig['charges']} charged"
            rows.append([f"{VARIANTS[variant]}, {SAVER_LABELS[saver]}", f"{w.median:.2f} s",
                         spread(w), f"{c.median:.2f} s", spread(c),
                         f"{fig['cpu_ms_per_run']:.1f}",
                         f"{fig['requests_per_run']:.2f}" if variant == "requests" else "0",
                         ok])
    setup = "".join([", with `progress`"] * plan.with_progress
                    + [f", what-if {w}" for w in plan.what_if])  # friendlier or not ours
    for report in bench.results.get("concurrency", []):
        if report["kind"] in ("graph", "graph-library-saver") and report["n"] == n:
            requests = report["emulator_requests_per_s"] * report["wall"] / n
            rows.append([f"{VARIANT_LABELS[report['kind']]}, {report['task_seconds']:g} s "
                         f"tasks{setup} (concurrency scenario)", f"{report['wall']:.2f} s", "-",
                         f"{report['cpu']:.2f} s", "-",
                         f"{report['cpu'] * 1000 / n:.1f}", f"{requests:.2f}",
                         f"{report['succeeded']}/{n}, {report['charges']} charged"])
    errors = sorted({e for by_saver in graphs.values() for reports in by_saver.values()
                     for r in reports for e in r.get("errors", [])})[:3]
    table(f"Floor: {n} LangGraph runs at once, {d:g} s tasks: bare, and + the requests",
          ["graph, checkpointer", "wall (median)", "wall min-max", "CPU (median)",
           "CPU min-max", "CPU ms/run", "requests/run", "ok"], rows,
          [_reading(bench, n, d)] + ([f"errors: {errors}"] if errors else []))
    return result


def _figures(reports: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """Medians and spreads of one saver and variant over its batches (JSON-ready)."""
    wall = lib.Summary.of([r["wall"] for r in reports])
    cpu = lib.Summary.of([r["cpu"] for r in reports])
    out: dict[str, Any] = {"wall": vars(wall), "cpu": vars(cpu),
                           "ok": sum(r["ok"] for r in reports), "runs": n * len(reports),
                           "cpu_ms_per_run": cpu.median * 1000 / n}
    emulator = [r["emulator"] for r in reports if "emulator" in r]
    if emulator:
        runs = out["runs"]
        out.update({
            "charges": sum(e["submits"] for e in emulator),
            "credits": sum(e["credits"] for e in emulator),
            "requests_per_run": sum(e["requests"] for e in emulator) / runs,
            "status_per_run": sum(e["status"] for e in emulator) / runs,
            "capabilities_fetches": sum(e["capabilities"] for e in emulator),
            "emulator_cpu": vars(lib.Summary.of([e["cpu"] for e in emulator])),
        })
    return out


def _reading(bench: Any, n: int, d: float) -> str:
    own = []
    if "startup" not in bench.results:
        own.append("`--scenarios startup` gives the package's start-up")
    if not any(r["n"] == n for r in bench.results.get("concurrency", [])):
        own.append(f"`--scenarios concurrency --concurrency {n} --concurrency-seconds {d:g}` "
                   f"gives its {n} runs at once")
    if len(own) < 2:
        own.append("rows marked with a scenario are the package's own figures, same run")
    return (f"Lower bounds ({bench.plan.floor_reps} fresh process(es) per checkpointer and "
            "variant, interleaved): what LangGraph costs here with none of the package's work "
            f"(8 trivial async nodes, one interrupt; bare: one {d:g} s sleep, no HTTP; + "
            "requests: one shared capabilities GET, the paid POST, status GETs from "
            f"{d:g} s after the submit answer every {POLL_INTERVAL:g} s (a schedule that knows "
            "the task length, friendlier than any the product can have), a GET of the first "
            "image into memory, over the package's bounded pools to the emulator in its own "
            "process; no ledger, no files). wall = all runs started together until the last "
            "one finished; CPU = that process, all its threads; charges = tasks the emulator "
            "created and billed. No graph on this LangGraph, checkpointer and machine that "
            "makes these requests gets below its floor; what our code may add is the target "
            "minus the floor. " + _sentence("; ".join(own))
            + f" Load average {os.getloadavg()[0]:.2f} at the end.")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("saver", choices=SAVERS)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--workdir", default="")
    p.add_argument("--base-url", default="",
                   help="make the requests, against this emulator (with --api-key)")
    p.add_argument("--api-key", default="")
    args = p.parse_args(argv)
    for module in ("langgraph.graph", "langgraph.types", "langgraph.checkpoint.memory",
                   "langgraph.checkpoint.sqlite.aio", "creatok_graph.checkpointing",
                   "creatok_graph.client"):
        __import__(module)  # imports are not part of the figure
    workdir = args.workdir or tempfile.mkdtemp(prefix="creatok-floor-")
    print(json.dumps(asyncio.run(_main_batch(args, workdir))))
    return 0


async def _main_batch(args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    if not args.base_url:
        return await _batch(args.saver, args.n, args.seconds, workdir)
    net = Network(args.base_url, args.api_key, first_check=args.seconds)
    try:
        return await _batch(args.saver, args.n, args.seconds, workdir, net)
    finally:
        await net.aclose()


if __name__ == "__main__":
    sys.exit(main())
