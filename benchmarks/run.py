"""Performance benchmarks of creatok-graph against the emulator (``make bench``).

Scenarios (all against ``python -m creatok_graph.emulator`` in its own process):

  cli          what a user feels: the installed ``creatok-image --yes`` and CreatOK's own
               client (re-implemented: 3 s loop, two capabilities fetches), whole commands
               side by side, server 150 ms away, no ``progress``
  startup      launch -> first request and -> task created, both clients, one run at a
               time; ``creatok-image --help``
  schedule     the poll schedule on a simulated clock: requests and lag per task duration,
               ours (with and without a progress hint) next to CreatOK's fixed 3 s loop
  latency      approval -> result for tasks of fixed durations; CreatOK's own loop (the
               baseline), our client's ``wait`` and the whole graph, side by side
  overhead     zero task time, one run at a time: bare HTTP calls vs the graph with
               in-memory and with SQLite persistence; where the time goes (``--profile``)
  concurrency  N generations at once in one process (graph.ainvoke, the SQLite saver and
               store of aopen_persistence, one HTTP pool): wall time, successes, charges,
               requests, CPU, RSS
  knee         the concurrency run at growing N (full run only by default)
  storage      checkpoint/store bytes each finished run leaves behind, per task duration
  footprint    one finished run's checkpoint KiB (target <= 16) and copies of the longest prompt
  batch        N generations as one batch (one approval) next to N threads (batch_bench.py)
  floor        what LangGraph alone costs here: launch -> import done, and N bare graph runs
               at once per checkpointer, no HTTP, no package code but the saver; then the
               same graph making only the requests the product must make (floor.py)

It prints figures and asserts nothing about timing. ``--quick`` takes about one minute;
the full run (the 60 s task series, the 500- and 1000-run knee) about 8 minutes.
``--what-if`` measures proposed changes (or a caller's choices, e.g. LangGraph's own
AsyncSqliteSaver) without editing the package (see ``worker.py``). The load average is
printed, and the machine's speed (a fixed pure-Python loop, before and after): on a shared
2-core machine, other processes and the host move wall times and even CPU times; only
variants measured side by side in one run compare directly.
Results and their reading: ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_lib as lib

HERE = Path(__file__).resolve().parent
SCENARIOS = ("cli", "startup", "schedule", "latency", "overhead", "concurrency", "knee", "storage",
             "footprint", "batch", "floor")
VARIANT_LABELS = {
    "reference": "CreatOK client (fixed 3 s)",
    "client": "AsyncCreatok.wait (ours)",
    "graph": "graph.ainvoke (ours)",
    "graph-library-saver": "graph.ainvoke, LangGraph's AsyncSqliteSaver",
}
KIND_WHAT_IF = {"graph-library-saver": ("graph", ["library-saver"])}
"""Pseudo-kinds: a worker kind run with a what-if (a caller's own choice of checkpointer)."""


@dataclass
class Plan:
    scenarios: list[str]
    latency_seconds: list[float]
    reps: int
    latency_kinds: list[str]
    overhead_runs: int
    concurrency: int
    concurrency_seconds: float
    concurrency_kinds: list[str]
    knee: list[int]
    knee_kinds: list[str]
    storage_seconds: list[float]
    profile: bool = False
    what_if: list[str] = field(default_factory=list)
    cli_seconds: list[float] = field(default_factory=lambda: [1, 2, 5, 10, 20, 30, 60])
    cli_reps: int = 3
    startup_runs: int = 5
    floor_seconds: float = 2.0
    floor_reps: int = 3
    floor_import_runs: int = 5
    with_progress: bool = False
    """Status answers carry ``progress`` (--with-progress: friendlier than the contract)."""


def make_plan(args: argparse.Namespace) -> Plan:
    if args.smoke:
        plan = Plan(list(SCENARIOS), [0.3], 2, ["reference", "graph"], 2, 4, 0.3,
                    ["client", "graph", "graph-library-saver"], [], ["graph"], [0.3])
    elif args.quick:
        plan = Plan([s for s in SCENARIOS if s != "knee"], [2.0], 3,
                    ["reference", "client", "graph"], 20, 200, 10.0,
                    ["reference", "graph"], [], ["graph"], [2.0])
    else:
        plan = Plan(list(SCENARIOS), [1.0, 2.0, 5.0, 10.0, 60.0], 5,
                    ["reference", "client", "graph"], 50, 200, 10.0,
                    ["reference", "client", "graph", "graph-library-saver"], [200, 500, 1000],
                    ["client", "graph"],
                    [2.0, 60.0])
    if args.smoke:
        plan.cli_seconds, plan.cli_reps, plan.startup_runs = [0.3], 2, 1
        plan.floor_seconds, plan.floor_reps, plan.floor_import_runs = 0.3, 1, 1
    elif args.quick:
        plan.cli_seconds, plan.startup_runs = [1, 2, 5, 10], 3
        plan.floor_reps, plan.floor_import_runs = 2, 3
    if args.cli_seconds:
        plan.cli_seconds = _floats(args.cli_seconds)
    if args.cli_reps:
        plan.cli_reps = args.cli_reps
    if args.scenarios:
        plan.scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    if args.latency_seconds:
        plan.latency_seconds = _floats(args.latency_seconds)
        plan.storage_seconds = [s for s in plan.storage_seconds if s in plan.latency_seconds] or (
            plan.latency_seconds[:1])
    if args.reps:
        plan.reps = args.reps
    if args.overhead_runs:
        plan.overhead_runs = args.overhead_runs
    if args.concurrency:
        plan.concurrency = args.concurrency
    if args.concurrency_seconds is not None:
        plan.concurrency_seconds = plan.floor_seconds = args.concurrency_seconds
    if args.knee:
        plan.knee = [int(x) for x in args.knee.split(",") if x]
        if "knee" not in plan.scenarios:
            plan.scenarios.append("knee")
    plan.profile = args.profile
    plan.what_if = args.what_if
    plan.with_progress = not args.no_progress
    return plan


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


# -- output ---------------------------------------------------------------------------------------


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
          notes: Sequence[str] = ()) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    for note in notes:
        print(f"\n{note}")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.2f}"
    return str(value)


def secs(summary: lib.Summary) -> str:
    return f"{summary.median:.2f} s"


def spread(summary: lib.Summary, unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    if summary.n == 0:
        return "-"
    return f"{summary.low * scale:.{digits}f}-{summary.high * scale:.{digits}f} {unit}"


# -- running workers ------------------------------------------------------------------------------


class Bench:
    def __init__(self, plan: Plan, emulator: lib.EmulatorProcess, root: str) -> None:
        self.plan = plan
        self.emu = emulator
        self.root = root
        self.results: dict[str, Any] = {}
        self.graph_dbs: dict[float, str] = {}

    def worker(self, kind: str, n: int, task_seconds: float, *, tag: str = "run",
               workdir: str = "", profile: bool = False) -> dict[str, Any]:
        """Run one batch in a fresh process; returns its report plus emulator figures."""
        cpu0 = self.emu.begin_batch(task_seconds)
        kind, what_if = KIND_WHAT_IF.get(kind, (kind, []))
        cmd = [sys.executable, str(HERE / "worker.py"), kind, "--n", str(n),
               "--base-url", self.emu.base_url, "--api-key", self.emu.api_key, "--tag", tag]
        workdir = workdir or tempfile.mkdtemp(prefix=f"{kind}-{n}-", dir=self.root)
        cmd += ["--workdir", workdir]  # removed with the root at the end (unless --keep)
        if profile:
            cmd.append("--profile")
        for item in [*self.plan.what_if, *what_if]:
            cmd += ["--what-if", item]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=lib.REPO_ROOT,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"worker {kind} n={n} failed:\n{done.stderr[-3000:]}")
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        report["emulator"] = self.emu.batch_figures(cpu0)
        return report

    # -- scenarios ---------------------------------------------------------------------------------

    def cli(self) -> None:
        import cli_bench

        print(f"\n(cli: {len(self.plan.cli_seconds)} task lengths x {self.plan.cli_reps} runs "
              "of both clients, one run at a time)")
        sys.stdout.flush()
        results = cli_bench.run_all(self.plan.cli_seconds, self.plan.cli_reps, self.root)
        summary = cli_bench.summary_rows(results)
        rows = []
        for row in summary:
            ref, first, learnt = row["reference"], row["first"], row["learnt"]
            cells = [f"{row['seconds']:g} s"]
            for fig in (ref, first, learnt):
                cells.append("-" if not fig["n"] else
                             f"{fig['wall']:.2f} s / {fig['lag']:+.2f} s / {fig['status']:g}")
            cells.append(f"{ref['caps']:g} / {first['caps']:g}")
            cells.append(f"{ref['submit']:.2f} / {first['submit']:.2f} s")
            cells.append(f"{ref['ok'] + first['ok'] + learnt['ok']}/"
                         f"{ref['n'] + first['n'] + learnt['n']}")
            rows.append(cells)
        self.results["cli"] = summary
        table("What a user feels: whole command, server 150 ms away, no progress field",
              ["task", "CreatOK client: wall / lag / status req",
               "creatok-image, first run (no history)",
               "creatok-image, later runs (history)", "caps fetches/run (theirs / ours)",
               "launch -> task created (theirs / ours)", "ok"], rows,
              [f"Medians; {self.plan.cli_reps} runs per row, one after another, both clients "
               "side by side (each on its own emulator, latency "
               f"{cli_bench.LATENCY:g} s per answer, `progress` none). wall = launch to exit; "
               "lag = exit - (task created + task length). 'later runs' = runs 2.. of the "
               "same row, which learnt from the first (same artifacts dir)."])

    def startup(self) -> None:
        import cli_bench

        figures = cli_bench.start_up(self.plan.startup_runs, self.root)
        self.results["startup"] = figures
        med = cli_bench.median
        table("Start-up: launch -> first request and -> task created (one run at a time)",
              ["variant", "first request", "task created", "--help"],
              [["creatok-image --yes", f"{med(figures['first_ours']):.3f} s",
                f"{med(figures['submit_ours']):.3f} s", f"{med(figures['help']):.3f} s"],
               ["CreatOK client (re-implemented)", f"{med(figures['first_reference']):.3f} s",
                f"{med(figures['submit_reference']):.3f} s", "-"]],
              [f"Medians of {self.plan.startup_runs} runs; times are when the emulator saw "
               "the request (half a round trip, 75 ms, after it was sent)."])

    def schedule(self) -> None:
        durations = [0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 120.0]
        rows = []
        for d in durations:
            ours = lib.simulate_wait(d, progress=False)
            hinted = lib.simulate_wait(d, progress=True)
            ref = lib.simulate_fixed(d, lib.REFERENCE_INTERVAL)
            rows.append([f"{d:g} s", f"{ref[0]} / {ref[1]:.2f} s",
                         f"{ours[0]} / {ours[1]:.2f} s", f"{hinted[0]} / {hinted[1]:.2f} s"])
        self.results["schedule"] = rows
        table("Poll schedule (simulated clock): status requests / seen-done lag",
              ["task", "CreatOK client (3 s)", "ours, no hint", "ours, progress hint"], rows,
              ["Simulated task like the emulator's: queued for 20 %, then running with an "
               "integer `progress`. Ours = `polling.wait_for_task` driven on a fake clock."])

    def latency(self) -> None:
        rows: list[list[Any]] = []
        out: list[dict[str, Any]] = []
        for d in self.plan.latency_seconds:
            ref_median = float("nan")
            for kind in self.plan.latency_kinds:
                workdir = ""
                if kind == "graph":
                    workdir = tempfile.mkdtemp(prefix=f"latency-{d:g}s-", dir=self.root)
                    self.graph_dbs[d] = os.path.join(workdir, "checkpoints.sqlite")
                report = self.worker(kind, self.plan.reps, d, tag=f"lat{d:g}",
                                     workdir=workdir)
                s = lib.Summary.of(report["seconds"])
                lag = lib.Summary.of([x - d for x in report["seconds"]])
                if kind == "reference":
                    ref_median = s.median
                per_task = report["emulator"]["status"] / max(1, report["emulator"]["submits"])
                rows.append([f"{d:g} s", VARIANT_LABELS[kind], s.n, secs(s), spread(s),
                             _ratio(s.median, ref_median), f"{lag.median:+.2f} s",
                             f"{per_task:.1f}", f"{report['succeeded']}/{s.n}"])
                out.append({"task_seconds": d, "kind": kind, "summary": vars(s),
                            "lag_median": lag.median, "status_per_task": per_task,
                            "succeeded": report["succeeded"]})
        self.results["latency"] = out
        table("Latency: approval (graph) or submit (clients) -> final answer",
              ["task", "variant", "runs", "median", "min-max", "vs CreatOK", "lag",
               "status req/task", "ok"], rows,
              [f"{self.plan.reps} runs per row, started together; lag = median - task duration. "
               "The graph's figure includes submit, polls, checkpoints and result files."])

    def overhead(self) -> None:
        report = self.worker("overhead", self.plan.overhead_runs, 0.0,
                             workdir=tempfile.mkdtemp(prefix="overhead-", dir=self.root),
                             profile=self.plan.profile)
        wall, cpu = report["wall"], report["cpu"]
        bare_w = lib.Summary.of(wall["bare"]).median
        bare_c = lib.Summary.of(cpu["bare"]).median
        labels = {"bare": "bare HTTP: submit + 1 status (AsyncCreatok)",
                  "graph_memory": "graph, InMemorySaver + InMemoryStore",
                  "graph_sqlite": "graph, ThreadedSqliteSaver + AsyncSqliteStore"}
        for name in wall:
            if "+" in name:
                labels[name] = "graph, SQLite, what-if: " + name.split("+", 1)[1]
        rows = []
        for name, label in labels.items():
            w, c = lib.Summary.of(wall[name]), lib.Summary.of(cpu[name])
            p10, p90 = lib.percentile(wall[name], 0.1), lib.percentile(wall[name], 0.9)
            rows.append([label, w.n, f"{w.median * 1000:.1f}",
                         f"{p10 * 1000:.1f}-{p90 * 1000:.1f}", f"{c.median * 1000:.1f}",
                         "-" if name == "bare" else f"+{(w.median - bare_w) * 1000:.1f}",
                         "-" if name == "bare" else f"+{(c.median - bare_c) * 1000:.1f}"])
        self.results["overhead"] = {"wall": {k: lib.Summary.of(v).median for k, v in wall.items()},
                                    "cpu": {k: lib.Summary.of(v).median for k, v in cpu.items()},
                                    "breakdown": report["breakdown"],
                                    "profile": report.get("profile")}
        table("Overhead per run at zero task time (sequential runs, variants interleaved)",
              ["variant", "runs", "wall ms (median)", "p10-p90 ms", "CPU ms", "overhead wall ms",
               "overhead CPU ms"], rows,
              ["A graph run = first message -> approval question -> 'yes' -> result, two "
               "ainvoke calls; its HTTP calls are the bare row's (capabilities are cached)."])
        rows = [[k, f"{v['ms_per_run']:.1f}", f"{v['calls_per_run']:.1f}"]
                for k, v in sorted(report["breakdown"].items(),
                                   key=lambda kv: -kv[1]["ms_per_run"])]
        table("Where a SQLite graph run waits (wall ms inside each kind of I/O; they overlap)",
              ["inside", "ms/run", "calls/run"], rows)
        if report.get("profile"):
            prof = report["profile"]
            table(f"cProfile, graph with SQLite ({prof['runs']} runs, process CPU clock; "
                  f"{prof['total_ms_per_run']:.0f} ms/run with the profiler's own cost)",
                  ["own CPU time by package", "ms/run"],
                  [[k, f"{v:.1f}"] for k, v in prof["by_package_ms_per_run"].items()])
            table("cProfile: cumulative CPU of selected calls", ["inside", "ms/run"],
                  [[k, f"{v:.1f}"] for k, v in prof["cumulative_ms_per_run"].items()])
            table("cProfile: top functions by own CPU time", ["function", "ms/run"],
                  [[k, f"{v:.2f}"] for k, v in prof["top_ms_per_run"]])

    def concurrency(self, sizes: Sequence[int], kinds: Sequence[str], title: str,
                    key: str) -> None:
        d = self.plan.concurrency_seconds
        rows = []
        out = []
        for n in sizes:
            for kind in kinds:
                report = self.worker(kind, n, d, tag=f"c{n}")
                emu = report["emulator"]
                totals = [a + b for a, b in zip(report["seconds"], report["first_phase"],
                                                 strict=True)]
                wall = report["wall"]
                rss_per_run = (report["peak_rss_mib"] - report["rss_before_mib"]) * 1024 / n
                row = {
                    "n": n, "kind": kind, "task_seconds": d, "wall": wall,
                    "wall_over_task": wall / d if d else float("nan"),
                    "p50": lib.percentile(totals, 0.5), "p95": lib.percentile(totals, 0.95),
                    "succeeded": report["succeeded"], "charges": emu["submits"],
                    "capabilities_fetches": emu["capabilities"],
                    "status_per_task": emu["status"] / max(1, emu["submits"]),
                    "cpu": report["cpu"], "cpu_share": report["cpu"] / wall,
                    "emulator_cpu_share": emu["cpu"] / wall,
                    "emulator_requests_per_s": emu["requests"] / wall,
                    "peak_rss_mib": report["peak_rss_mib"], "rss_kib_per_run": rss_per_run,
                    "errors": report["errors"],
                }
                out.append(row)
                rows.append([n, VARIANT_LABELS[kind], f"{wall:.1f} s",
                             f"{row['wall_over_task']:.2f}x",
                             f"{row['p50']:.1f}/{row['p95']:.1f} s",
                             f"{row['succeeded']}/{n}", row["charges"],
                             row["capabilities_fetches"], f"{row['status_per_task']:.1f}",
                             f"{report['cpu']:.1f} s ({row['cpu_share']:.0%})",
                             f"{row['emulator_cpu_share']:.0%}",
                             f"{row['emulator_requests_per_s']:.0f}",
                             f"{report['peak_rss_mib']:.0f}", f"{rss_per_run:.0f}"])
        self.results[key] = out
        errors = sorted({e for r in out for e in r["errors"]})[:3]
        table(title,
              ["runs", "variant", "wall", "wall/task", "run p50/p95", "ok", "charges",
               "caps fetches", "status req/task", "CPU (of wall)", "emulator CPU", "emulator req/s",
               "peak RSS MiB", "RSS KiB/run"], rows,
              [f"Task duration {d:g} s. wall = all runs started together until the last one "
               "finished; run = first message -> result (graph: both ainvoke calls). CPU = the "
               "worker process (one core max under the GIL); emulator CPU = its process. "
               "charges = tasks the emulator created and billed."]
              + ([f"errors: {errors}"] if errors else []))

    def footprint(self) -> None:
        import footprint

        rows = footprint.measure()
        self.results["footprint"] = rows
        table("Footprint of one finished run (SQLite checkpointer)",
              ["prompt chars", "checkpoints", "checkpoint KiB", "writes KiB", "prompt copies"],
              [[r["prompt_chars"], r["checkpoints"], f"{r['checkpoint_kib']:.1f}",
                f"{r['writes_kib']:.1f}", r["prompt_copies"]] for r in rows],
              [f"target: checkpoints <= {footprint.TARGET_KIB:g} KiB per finished run; "
               "a long prompt stored as often as a short one"])

    def storage(self) -> None:
        rows = []
        out = []
        chosen = [d for d in self.plan.storage_seconds if d in self.graph_dbs]
        for d in self.plan.storage_seconds:
            if d not in self.graph_dbs:  # latency did not run this duration: run a batch now
                workdir = tempfile.mkdtemp(prefix=f"storage-{d:g}s-", dir=self.root)
                self.worker("graph", self.plan.reps, d, tag=f"st{d:g}", workdir=workdir)
                self.graph_dbs[d] = os.path.join(workdir, "checkpoints.sqlite")
                chosen.append(d)
        for d in sorted(set(chosen)):
            st = lib.measure_storage(self.graph_dbs[d], self.emu.api_key)
            out.append({"task_seconds": d, **vars(st), "kib_per_task": st.kib_per_task})
            rows.append([f"{d:g} s", st.threads, f"{st.checkpoints_per_thread:.1f}",
                         f"{st.checkpoint_bytes / 1024:.1f}", f"{st.write_bytes / 1024:.1f}",
                         f"{st.store_bytes / 1024:.2f}", f"{st.kib_per_task:.1f}",
                         f"{st.largest_checkpoint / 1024:.1f}",
                         f"{st.latest_only_bytes / 1024:.1f}",
                         f"{st.file_bytes / 1024 / max(1, st.threads):.1f}",
                         "yes" if st.png_found else "no", "yes" if st.key_found else "no"])
        self.results["storage"] = out
        notes = []
        if out:
            top = list(out[-1]["channels"].items())[:6]
            notes.append("Largest state channels in the last checkpoint (serialized bytes): "
                         + ", ".join(f"{k} {v}" for k, v in top))
        table("Storage left per finished run (SQLite checkpointer + store)",
              ["task", "runs", "checkpoints/run", "checkpoint KiB/run", "writes KiB/run",
               "store KiB/run", "total KiB/run", "largest checkpoint KiB",
               "KiB/run if pruned to latest", "file KiB/run",
               "PNG bytes?", "API key?"], rows, notes)


def _ratio(value: float, reference: float) -> str:
    if math.isnan(reference) or not reference:
        return "-"
    return f"{value / reference:.2f}"


def header(plan: Plan) -> None:
    import httpx
    import langgraph.version

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print("# creatok-graph benchmarks")
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f}, langgraph "
          f"{langgraph.version.__version__}, httpx {httpx.__version__}, machine speed "
          f"{lib.machine_speed():.2f} s (``bench_lib.machine_speed``: lower is faster)")
    print(f"scenarios: {', '.join(plan.scenarios)}"
          + (f"; what-if: {', '.join(plan.what_if)}" if plan.what_if else ""))
    sys.stdout.flush()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a run of under two minutes")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, a few seconds: checks the script still works")
    p.add_argument("--scenarios", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--cli-seconds", help="task lengths of the cli scenario, e.g. 1,2,5,10,60")
    p.add_argument("--cli-reps", type=int, help="runs per cli row (first one without history)")
    p.add_argument("--latency-seconds", help="task durations for latency, e.g. 1,2,5,10,60")
    p.add_argument("--reps", type=int, help="runs per latency row")
    p.add_argument("--overhead-runs", type=int, help="sequential runs per overhead variant")
    p.add_argument("--concurrency", type=int,
                   help="generations at once, and the floor's bare runs (default 200)")
    p.add_argument("--concurrency-seconds", type=float,
                   help="task duration of the concurrency and knee runs (default 10) "
                        "and of the floor's sleeping node (default 2)")
    p.add_argument("--knee", help="concurrency sizes to find the knee, e.g. 200,500,1000")
    p.add_argument("--profile", action="store_true", help="cProfile the overhead runs")
    p.add_argument("--what-if", action="append", default=[], metavar="CHANGE",
                   help="measure a change or a caller's choice: pool=N, store-immediate, "
                        "library-saver, durability=MODE, nofsync (see worker.py)")
    p.add_argument("--with-progress", dest="no_progress", action="store_false",
                   help="let the emulator's status answers carry `progress` (a friendlier "
                        "setup than CreatOK's contract promises; by default they carry none, "
                        "as the cli scenario's always do)")
    p.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    p.add_argument("--keep", action="store_true", help="keep the work folder (SQLite files)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    header(plan)
    print("emulator: status answers without `progress` (scenario no-progress), as the "
          "contract promises" if args.no_progress else "emulator: status answers WITH "
          "`progress` (--with-progress: friendlier than the contract)")
    root = tempfile.mkdtemp(prefix="creatok-bench-")
    started = time.perf_counter()
    try:
        with lib.EmulatorProcess(task_seconds=0.0) as emulator:
            if args.no_progress:
                emulator.set_scenarios(["no-progress"])
            bench = Bench(plan, emulator, root)
            if "cli" in plan.scenarios:
                bench.cli()
            if "startup" in plan.scenarios:
                bench.startup()
            if "schedule" in plan.scenarios:
                bench.schedule()
            if "latency" in plan.scenarios:
                bench.latency()
            if "overhead" in plan.scenarios:
                bench.overhead()
            if "concurrency" in plan.scenarios:
                bench.concurrency([plan.concurrency], plan.concurrency_kinds,
                                  f"Concurrency: {plan.concurrency} generations at once",
                                  "concurrency")
            if "knee" in plan.scenarios and plan.knee:
                bench.concurrency(plan.knee, plan.knee_kinds,
                                  "Knee: growing numbers of generations at once", "knee")
            if "storage" in plan.scenarios:
                bench.storage()
            if "footprint" in plan.scenarios:
                bench.footprint()
            if "batch" in plan.scenarios:
                import batch_bench

                batch_bench.run(bench)
            if "floor" in plan.scenarios:  # last: it prints the other scenarios' figures too
                import floor

                floor.run(bench)
    finally:
        if args.keep:
            print(f"\nwork folder kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"\ndone in {time.perf_counter() - started:.0f} s; load average now {load[0]:.2f}, "
          f"machine speed now {lib.machine_speed():.2f} s")
    if args.json:
        results = {"plan": vars(plan), **bench.results}
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
