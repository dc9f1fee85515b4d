"""Building blocks of ``benchmarks/run.py``: the emulator process, the runners, the numbers.

Every runner talks to the emulator over real HTTP. The emulator always runs in its own
process (``python -m creatok_graph.emulator``) so it never shares a GIL with the code
being measured; on a 2-core machine that is the difference between measuring the graph
and measuring the emulator.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from creatok_graph.api_paths import IMAGE_TASK_TYPE, STATUS_PATH, SUBMIT_PATH

REPO_ROOT = Path(__file__).resolve().parent.parent
PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"
SUBMIT_BODY = {"prompt": PROMPT, "model": "nano-banana-2", "resolution": "2K", "n": 1}

REFERENCE_INTERVAL = 3.0
"""CreatOK's published image skill polls every 3 s (``pollInterval = 3``)..."""
REFERENCE_TIMEOUT = 300.0
"""...gives up after 300 s (checked before each status call), and checks once right after
the submit answer. It sends no retries and ignores ``Retry-After``."""


# -- the emulator, in its own process -------------------------------------------------------------


class EmulatorProcess:
    """``python -m creatok_graph.emulator --port 0`` plus its admin endpoints."""

    def __init__(self, task_seconds: float = 2.0) -> None:
        self.task_seconds = task_seconds
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.api_key = ""
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        self._admin: httpx.Client | None = None

    def start(self) -> EmulatorProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep
               + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "creatok_graph.emulator", "--port", "0",
             "--task-seconds", str(self.task_seconds)],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env, cwd=REPO_ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        # "CreatOK emulator listening on http://127.0.0.1:PORT (api key: KEY)"
        if " on " not in line or "(api key: " not in line:
            self.stop()
            self._stderr.seek(0)
            raise RuntimeError(f"emulator did not start: {line!r} {self._stderr.read()[-500:]}")
        self.base_url = line.split(" on ", 1)[1].split(" ", 1)[0]
        self.api_key = line.rsplit("(api key: ", 1)[1].rstrip(")")
        self._admin = httpx.Client(base_url=self.base_url, timeout=30)
        return self

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self._admin is not None
        answer: dict[str, Any] = self._admin.post(path, json=body or {}).json()["data"]
        return answer

    def configure(self, task_seconds: float) -> None:
        self._post("/_emulator/config", {"task_seconds": task_seconds})
        self.task_seconds = task_seconds

    def set_scenarios(self, names: list[str]) -> None:
        self._post("/_emulator/scenarios", {"scenarios": names})

    def reset(self) -> None:
        """Forget tasks and counters (a long benchmark would otherwise grow its task table)."""
        self._post("/_emulator/reset")

    def stats(self) -> dict[str, Any]:
        assert self._admin is not None
        answer: dict[str, Any] = self._admin.get("/_emulator/stats").json()["data"]
        return answer

    def begin_batch(self, task_seconds: float) -> float:
        """Set the task length, forget earlier tasks and counters; the CPU to pass to
        :meth:`batch_figures` afterwards."""
        self.configure(task_seconds)
        self.reset()
        return self.cpu_seconds()

    def batch_figures(self, cpu0: float) -> dict[str, Any]:
        """What the emulator saw and spent since :meth:`begin_batch` returned ``cpu0``."""
        stats = self.stats()
        return {
            "cpu": self.cpu_seconds() - cpu0,
            "submits": stats["submits"],
            "credits": stats["credits"],
            "status": stats["status"],
            "capabilities": stats["capabilities"],
            "requests": sum(stats["requests"].values()),
            "rss_mib": self.rss_mib(),
        }

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return process_cpu_seconds(self.proc.pid)

    def rss_mib(self) -> float:
        assert self.proc is not None
        return rss_mib(self.proc.pid)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        self._stderr.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- process figures ------------------------------------------------------------------------------


def machine_speed() -> float:
    """Seconds of CPU for a fixed pure-Python loop (10 million additions), best of three.

    This machine's CPU speed drifts (the same loop took 0.81 s, and 1.28-1.53 s minutes
    later): printed beside the figures, it says which state of the machine they are from.
    Only variants measured side by side in one run compare directly."""
    best = float("inf")
    for _ in range(3):
        start, total = time.process_time(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best


def _proc_status(pid: int | str, key: str) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024  # kB -> MiB
    except OSError:
        return None
    return None


def rss_mib(pid: int | str = "self") -> float:
    """Resident memory now (MiB); ``ru_maxrss`` where /proc is missing."""
    value = _proc_status(pid, "VmRSS")
    if value is not None:
        return value
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mib(pid: int | str = "self") -> float:
    value = _proc_status(pid, "VmHWM")
    if value is not None:
        return value
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process (0 where /proc is missing)."""
    if pid == "self":
        return time.process_time()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# -- summaries ------------------------------------------------------------------------------------


@dataclass
class Summary:
    n: int
    median: float
    low: float
    high: float
    p90: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        return cls(len(ordered), statistics.median(ordered), ordered[0], ordered[-1], p90)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the reference client: CreatOK's own poll loop ------------------------------------------------


@dataclass
class Outcome:
    status: str
    seconds: float
    """From the approval (graph) or the submit call (clients) to the final answer."""
    first_phase: float = 0.0
    """Graph only: from the first message to the approval question."""
    error: str | None = None


def api_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}


async def reference_generation(
    http: httpx.AsyncClient,
    base_url: str,
    api_key: str,
    *,
    interval: float = REFERENCE_INTERVAL,
    timeout: float = REFERENCE_TIMEOUT,
) -> Outcome:
    """What CreatOK's published client does, re-implemented: submit, then check the status
    at once and every ``interval`` seconds until succeeded/failed; the timeout is checked
    before each check; no retry, no ``Retry-After``."""
    headers = api_headers(api_key)
    started = time.perf_counter()
    try:
        answer = (await http.post(base_url + SUBMIT_PATH, json=SUBMIT_BODY,
                                  headers=headers)).json()
        if answer.get("code") != 0:
            return Outcome("submit_error", time.perf_counter() - started, error=str(answer))
        task_id = answer["data"]["task_id"]
        while True:
            if time.perf_counter() - started > timeout:
                return Outcome("timeout", time.perf_counter() - started)
            response = await http.get(
                base_url + STATUS_PATH,
                params={"task_id": task_id, "task_type": IMAGE_TASK_TYPE},
                headers=headers,
            )
            body = response.json()
            if response.status_code >= 400 or body.get("code") != 0:
                return Outcome("status_error", time.perf_counter() - started, error=str(body))
            status = str(body["data"].get("status") or "")
            if status in ("succeeded", "failed"):
                return Outcome(status, time.perf_counter() - started)
            await asyncio.sleep(interval)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return Outcome("error", time.perf_counter() - started, error=repr(exc))


# -- our client, without the graph ----------------------------------------------------------------


async def client_generation(client: Any) -> Outcome:
    """``AsyncCreatok.submit`` + ``wait`` (the adaptive schedule, no graph)."""
    started = time.perf_counter()
    try:
        submitted = await client.submit(SUBMIT_BODY)
        status = await client.wait(submitted.task_id, timeout=REFERENCE_TIMEOUT)
    except Exception as exc:  # a benchmark reports failures, it does not stop on them
        return Outcome("error", time.perf_counter() - started, error=repr(exc))
    return Outcome(status.status, time.perf_counter() - started)


async def bare_calls(client: Any) -> Outcome:
    """The HTTP calls one graph run makes at zero task time: submit + one status check."""
    started = time.perf_counter()
    submitted = await client.submit(SUBMIT_BODY)
    status = await client.get_status(submitted.task_id)
    return Outcome(status.status, time.perf_counter() - started)


# -- the graph ------------------------------------------------------------------------------------


DURABILITY: str | None = None
"""``durability=`` for every ``ainvoke`` (None: LangGraph's default, "async"); "exit-first":
"exit" for the first call (to the approval question), the default for the second."""


async def graph_generation(graph: Any, context: Any, thread_id: str,
                           durability: str | None = None) -> Outcome:
    """One whole run: first message -> approval question -> "yes" -> result."""
    from langgraph.types import Command

    config = {"configurable": {"thread_id": thread_id}}
    mode = durability or DURABILITY
    first: dict[str, Any] = {"context": context}
    second: dict[str, Any] = {"context": context}
    if mode == "exit-first":  # only the approval phase (nothing paid yet) saves at exit
        first["durability"] = "exit"
    elif mode:
        first["durability"] = second["durability"] = mode
    t0 = time.perf_counter()
    try:
        out = await graph.ainvoke({"prompt": PROMPT}, config, **first)
        t1 = time.perf_counter()
        if not out.get("__interrupt__"):
            return Outcome(str(out.get("status")), 0.0, t1 - t0, error="no approval question")
        out = await graph.ainvoke(Command(resume="yes"), config, **second)
    except Exception as exc:
        return Outcome("error", time.perf_counter() - t0, error=repr(exc))
    t2 = time.perf_counter()
    return Outcome(str(out.get("status")), t2 - t1, t1 - t0,
                   error=None if out.get("status") == "succeeded" else str(out.get("error")))


def graph_context(base_url: str, api_key: str, artifacts_dir: str) -> Any:
    from creatok_graph.context import CreatokContext

    return CreatokContext(api_key=api_key, base_url=base_url, artifacts_dir=artifacts_dir)


# -- storage --------------------------------------------------------------------------------------


@dataclass
class Storage:
    threads: int
    checkpoints_per_thread: float
    checkpoint_bytes: float
    """Per thread: checkpoint + metadata blobs."""
    write_bytes: float
    """Per thread: pending-write blobs."""
    store_bytes: float
    """Per thread: the submission ledger rows in the store."""
    largest_checkpoint: int
    latest_only_bytes: float
    """Per thread: what pruning to the latest checkpoint (and its writes) would keep."""
    file_bytes: int
    png_found: bool
    key_found: bool
    channels: dict[str, int] = field(default_factory=dict)
    """Bytes of each state channel in the last checkpoint of one thread (serialized)."""

    @property
    def kib_per_task(self) -> float:
        return (self.checkpoint_bytes + self.write_bytes + self.store_bytes) / 1024


def measure_storage(db_path: str, api_key: str) -> Storage:
    """Bytes the finished runs left in the SQLite checkpointer and store, per thread."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT thread_id, COUNT(*), SUM(LENGTH(checkpoint) + LENGTH(metadata)), "
            "MAX(LENGTH(checkpoint) + LENGTH(metadata)) FROM checkpoints GROUP BY thread_id"
        ).fetchall()
        writes = conn.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes").fetchone()[0]
        try:
            store = conn.execute(
                "SELECT COALESCE(SUM(LENGTH(value) + LENGTH(key) + LENGTH(prefix)), 0) FROM store"
            ).fetchone()[0]
        except sqlite3.OperationalError:
            store = 0
        latest = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(c.checkpoint) + LENGTH(c.metadata)), 0) + COALESCE(("
            " SELECT SUM(LENGTH(w.value)) FROM writes w JOIN ("
            "  SELECT thread_id, MAX(checkpoint_id) AS cid FROM checkpoints GROUP BY thread_id"
            " ) m ON w.thread_id = m.thread_id AND w.checkpoint_id = m.cid), 0) "
            "FROM checkpoints c JOIN ("
            " SELECT thread_id, MAX(checkpoint_id) AS cid FROM checkpoints GROUP BY thread_id"
            ") m ON c.thread_id = m.thread_id AND c.checkpoint_id = m.cid"
        ).fetchone()[0]
        png = key = False
        for (blob,) in _blobs(conn):
            data = bytes(blob or b"")
            png = png or b"\x89PNG" in data
            key = key or (bool(api_key) and api_key.encode() in data)
        channels = _last_channels(conn)
    finally:
        conn.close()
    threads = len(rows) or 1
    size = sum(os.path.getsize(p) for p in (db_path, db_path + "-wal") if os.path.exists(p))
    return Storage(
        threads=len(rows),
        checkpoints_per_thread=sum(r[1] for r in rows) / threads,
        checkpoint_bytes=sum(r[2] or 0 for r in rows) / threads,
        write_bytes=writes / threads,
        store_bytes=store / threads,
        largest_checkpoint=max((r[3] or 0 for r in rows), default=0),
        latest_only_bytes=(latest + store) / threads,
        file_bytes=size,
        png_found=png,
        key_found=key,
        channels=channels,
    )


def _blobs(conn: sqlite3.Connection) -> Iterable[tuple[bytes]]:
    yield from conn.execute("SELECT checkpoint FROM checkpoints")
    yield from conn.execute("SELECT metadata FROM checkpoints")
    yield from conn.execute("SELECT value FROM writes")


def _last_channels(conn: sqlite3.Connection) -> dict[str, int]:
    row = conn.execute(
        "SELECT type, checkpoint FROM checkpoints ORDER BY rowid DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return {}
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    checkpoint = serde.loads_typed((row[0], row[1]))
    out: dict[str, int] = {}
    for name, value in (checkpoint.get("channel_values") or {}).items():
        try:
            out[name] = len(serde.dumps_typed(value)[1])
        except Exception:
            out[name] = len(json.dumps(value, default=str))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# -- the poll schedule on a simulated clock -------------------------------------------------------


def simulate_wait(duration: float, *, progress: bool, timeout: float = 600.0) -> tuple[int, float]:
    """(status requests, seen-done lag) of ``polling.wait_for_task`` for a task like the
    emulator's (queued for 20 %, then running with an integer ``progress``); no real sleeping."""
    from creatok_graph._flow import Send, Sleep
    from creatok_graph.client import CreatokAPI
    from creatok_graph.polling import wait_for_task

    now = 0.0
    checks = 0
    api = CreatokAPI(api_key="sk-sim", base_url="https://sim.invalid")
    flow = wait_for_task(api, "task_sim", timeout=timeout, clock=lambda: now, started_at=0.0)
    value: Any = None
    while True:
        try:
            effect = flow.send(value)
        except StopIteration:
            return checks, now - duration
        if isinstance(effect, Send):
            checks += 1
            data: dict[str, Any]
            if now >= duration:
                data = {"status": "succeeded", "result": {"images": [{"url": "u"}]}}
            elif now < 0.2 * duration:
                data = {"status": "queued"}
            else:
                data = {"status": "running"}
                if progress:
                    data["progress"] = int(now / duration * 100)
            value = httpx.Response(200, json={"code": 0, "msg": "ok", "data": data},
                                   request=effect.request)
        else:
            assert isinstance(effect, Sleep)
            now += effect.seconds
            value = None


def simulate_fixed(duration: float, interval: float) -> tuple[int, float]:
    """(status requests, lag) of CreatOK's loop: check at once, then every ``interval``."""
    checks = math.floor(duration / interval) + 1
    if (checks - 1) * interval < duration:
        checks += 1
    return checks, (checks - 1) * interval - duration
