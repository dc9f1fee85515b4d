"""What a user feels: the installed ``creatok-image --yes`` against CreatOK's own client.

Both run as whole commands (launch to exit, as subprocesses) against emulators whose
every answer takes ``LATENCY`` (a server ~150 ms away) and whose status answers carry
no ``progress`` (what the contract promises). Each task length has its own pair of
emulators (one per client, same settings), so task clocks and request counts never
mix. Rows and runs go one after another (the 60 s row dominates: ~7 min in all): run
side by side, CPU-heavy phases of our CLI (start-up, then checkpoints, result files
and exit) overlapped with other runs' and cost it up to ~1.5 s of lag on this 2-core
machine, which would measure the benchmark, not the client. The two clients of a
run are launched together (CreatOK's costs ~50 ms of CPU). The first run
of ``creatok-image`` has no history, later ones learn from it (``timings``), as a user
running the same kind of task again would.

Lag = exit time - (the moment the emulator created the task + the task's length).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench_lib as lib

LATENCY = 0.15
OURS = Path(sys.executable).parent / "creatok-image"
REFERENCE = Path(__file__).resolve().parent / "creatok_reference.py"


@dataclass
class CliRun:
    variant: str
    rep: int
    wall: float
    lag: float
    status_checks: int
    ok: bool
    submit: float
    """Launch -> the emulator created the task (start-up, capabilities, the paid call)."""
    caps_per_run: float = float("nan")


def _emulator(task_seconds: float) -> lib.EmulatorProcess:
    emu = lib.EmulatorProcess(task_seconds).start()
    emu._post("/_emulator/config", {"latency": LATENCY, "progress": "none"})
    return emu


def _command(variant: str, emu: lib.EmulatorProcess, workdir: str, prompt: str
             ) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "CREATOK_BASE_URL": emu.base_url, "CREATOK_API_KEY": emu.api_key,
           "CREATOK_ARTIFACTS_DIR": workdir}
    if variant == "reference":
        return [sys.executable, str(REFERENCE), prompt, os.path.join(workdir, "ref")], env
    return [str(OURS), "--yes", "--json", "--prompt", prompt], env


def _start(variant: str, emu: lib.EmulatorProcess, workdir: str, prompt: str
           ) -> tuple[subprocess.Popen[str], float]:
    cmd, env = _command(variant, emu, workdir, prompt)
    launched = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    return proc, launched


def _finish(proc: subprocess.Popen[str], launched: float) -> tuple[float, int, str]:
    _, err = proc.communicate(timeout=600)
    return time.time(), proc.returncode, err


def _finish_all(started: dict[str, tuple[str, subprocess.Popen[str], float]]
                ) -> dict[str, tuple[float, int, str]]:
    """Each command's exit time, waited for side by side: waiting for one after the other
    would stamp a client that ended first with the other's exit (as a first version did)."""
    with ThreadPoolExecutor(max_workers=len(started)) as pool:
        futures = {variant: pool.submit(_finish, proc, launched)
                   for variant, (_, proc, launched) in started.items()}
        return {variant: future.result() for variant, future in futures.items()}


def _task_of(emu: lib.EmulatorProcess, prompt: str) -> dict[str, Any]:
    assert emu._admin is not None
    tasks = emu._admin.get("/_emulator/tasks").json()["data"]["tasks"]
    return next(t for t in tasks if t["prompt"] == prompt)


def run_row(seconds: float, reps: int, root: str,
            out: dict[float, list[CliRun]]) -> None:
    """All runs of one task length: both clients side by side, ``reps`` times in a row."""
    emus = {v: _emulator(seconds) for v in ("reference", "ours")}
    workdir = tempfile.mkdtemp(prefix=f"cli-{seconds:g}s-", dir=root)  # ours keeps history
    runs: list[CliRun] = []
    try:
        for rep in range(reps):
            started = {}
            for variant, emu in emus.items():
                prompt = f"{lib.PROMPT} ({variant} {seconds:g}s #{rep})"
                started[variant] = (prompt, *_start(variant, emu, workdir, prompt))
            finished = _finish_all(started)
            for variant, (prompt, _, launched) in started.items():
                exited, code, err = finished[variant]
                task = _task_of(emus[variant], prompt)
                runs.append(CliRun(
                    variant, rep, exited - launched,
                    exited - (task["created_epoch"] + seconds), task["status_checks"],
                    code == 0, submit=task["created_epoch"] - launched))
                if code != 0:
                    print(f"  {variant} {seconds:g}s #{rep} exited {code}: {err[-400:]}",
                          file=sys.stderr)
        for variant, emu in emus.items():
            caps = emu.stats()["capabilities"] / reps
            for run in runs:
                if run.variant == variant:
                    run.caps_per_run = caps
    finally:
        for emu in emus.values():
            emu.stop()
    out[seconds] = runs


def run_all(seconds: Sequence[float], reps: int, root: str) -> dict[float, list[CliRun]]:
    """Every row, one after another."""
    out: dict[float, list[CliRun]] = {}
    for length in seconds:
        run_row(length, reps, root, out)
    return out


def start_up(runs: int, root: str) -> dict[str, list[float]]:
    """Launch -> first request and launch -> submit, one run at a time; ``--help`` times."""
    figures: dict[str, list[float]] = {"first_ours": [], "first_reference": [],
                                       "submit_ours": [], "submit_reference": [], "help": []}
    emu = _emulator(0.5)
    try:
        for i in range(runs):
            for variant in ("ours", "reference"):
                emu.reset()
                prompt = f"{lib.PROMPT} (start-up {variant} #{i})"
                proc, launched = _start(variant, emu, tempfile.mkdtemp(dir=root), prompt)
                _finish(proc, launched)
                first = emu.stats()["first_request_at"]
                figures[f"first_{variant}"].append(first - launched)
                figures[f"submit_{variant}"].append(
                    _task_of(emu, prompt)["created_epoch"] - launched)
            t0 = time.perf_counter()
            subprocess.run([str(OURS), "--help"], capture_output=True, check=True)
            figures["help"].append(time.perf_counter() - t0)
    finally:
        emu.stop()
    return figures


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary_rows(results: dict[float, list[CliRun]]) -> list[dict[str, Any]]:
    rows = []
    for seconds in sorted(results):
        runs = results[seconds]
        ref = [r for r in runs if r.variant == "reference"]
        first = [r for r in runs if r.variant == "ours" and r.rep == 0]
        learnt = [r for r in runs if r.variant == "ours" and r.rep > 0]

        def fig(group: list[CliRun]) -> dict[str, float]:
            return {"wall": median([r.wall for r in group]), "lag": median([r.lag for r in group]),
                    "status": median([r.status_checks for r in group]),
                    "ok": sum(r.ok for r in group), "n": len(group),
                    "submit": median([r.submit for r in group]),
                    "caps": group[0].caps_per_run if group else float("nan")}

        rows.append({"seconds": seconds, "reference": fig(ref), "first": fig(first),
                     "learnt": fig(learnt)})
    return rows
