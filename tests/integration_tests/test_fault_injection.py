"""Fault injection with real processes and a real SIGKILL: a user never pays twice and
never loses a task.

Each case starts ``creatok-image`` (``_fault_worker.py``: the real CLI with one internal
call widened into a window it announces on stderr), SIGKILLs it inside that window at a
jittered moment, then resumes the run in a new process with the installed
``creatok-image --run-id`` on the same SQLite file and artifacts folder. The emulator is a
standalone process, so it outlives the killed worker and keeps the books: a created task
is a charge. Every case runs its repetitions concurrently, as separate processes sharing
one SQLite file (a test of that as well).

The emulator ignores ``Idempotency-Key`` (``--no-idempotency``): CreatOK's contract does not
promise de-duplication, so what is measured here is what a user could really pay.

Checked each time: charges for that run 0 or 1, and a second charge only after the
person's explicit "retry" to a question that said beforehand a retry may charge again; the
task id recovered (result and ledger name the newest task the emulator charged, under the
ledger's idempotency key); the final status; every JSON artifact whole, after the kill and
at the end. The random seed is printed (``CREATOK_FAULT_SEED`` replays it).

Set ``CREATOK_FAULT_REPORT=path.md`` to write the measured table (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from _helpers import wait_until

from creatok_graph.emulator import SANDBOX_API_KEY
from creatok_graph.emulator.png import gradient_png

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_fault_worker.py"
CLI = Path(sys.executable).with_name("creatok-image")
REPETITIONS = 3
PROMPT = "a lighthouse on a cliff in a storm at night, oil painting"
QUESTION_MARK = "may already have been charged"
RETRY_MAY_CHARGE = "may charge a second time"
OFFLINE = {"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false",
           "LANGSMITH_API_KEY": "", "LANGCHAIN_API_KEY": ""}
SEED = int(os.environ.get("CREATOK_FAULT_SEED") or time.time())


# -- the emulator, in its own process ---------------------------------------------------------


@dataclass
class EmulatorProcess:
    proc: subprocess.Popen[str]
    base_url: str

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, self.base_url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()["data"]

    def configure(self, **options: Any) -> None:
        self.admin("POST", "/_emulator/scenarios", options)

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = self.admin("GET", "/_emulator/stats")
        return data

    def tasks_for(self, prompt: str) -> list[dict[str, Any]]:
        return [t for t in self.admin("GET", "/_emulator/tasks")["tasks"] if t["prompt"] == prompt]


@pytest.fixture(scope="module")
def emulator_process(request: pytest.FixtureRequest) -> Iterator[EmulatorProcess]:
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\nfault injection: seed {SEED} (CREATOK_FAULT_SEED={SEED} replays it)")
    proc = subprocess.Popen(
        [sys.executable, "-m", "creatok_graph.emulator", "--port", "0", "--task-seconds", "1",
         "--no-idempotency"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        line = _read_line(proc.stdout, timeout=60)
        found = re.search(r"listening on (http://\S+)", line)
        assert found, f"no URL in the emulator's first line: {line!r}"
        yield EmulatorProcess(proc, found.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_line(stream: Any, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


# -- the processes under test -----------------------------------------------------------------


class Worker:
    """``_fault_worker.py`` with its output collected; ``window`` is set when it gets there."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), *args], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.window = threading.Event()
        self.entered_at = 0.0
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)
            if line.startswith("FAULT-WINDOW") and not self.window.is_set():
                self.entered_at = time.monotonic()
                self.window.set()

    def wait_for_window(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.window.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(
                    f"worker never reached its window (exit {self.proc.returncode}):\n"
                    + "".join(self.out) + "".join(self.err)
                )

    def kill(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=5)
        if self.proc.stdin:
            self.proc.stdin.close()
        return code


@dataclass(frozen=True)
class Case:
    name: str
    window: str
    """The window in ``_fault_worker.py``."""
    hold: float
    """How long the worker lingers in the window."""
    kill_after: tuple[float, float]
    """SIGKILL this long (uniformly jittered) after the worker announced the window."""
    expect_charged_at_kill: tuple[int, ...]
    """Charges the emulator may have made for the run when the worker died."""
    answer: str | None = None
    """What the person answers if the resumed run asks about an unknown outcome."""
    expect_question: bool = False
    expect_status: str = "succeeded"
    approve_first: bool = True
    with_reference: bool = False
    emulator: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    repetitions: int = REPETITIONS


CASES = [
    Case("a-approval", "approval", 0.0, (0.05, 0.6), (0,), approve_first=False,
         label="approval pending (CLI waiting on stdin)"),
    Case("b-upload", "upload", 3.0, (0.05, 2.0), (0,), with_reference=True,
         label="during the reference upload (before the PUT)"),
    Case("c-inflight-stop", "submit", 0.0, (0.3, 1.6), (0, 1), answer="stop",
         expect_question=True, expect_status="cancelled",
         emulator={"scenarios": ["slow-submit"], "slow_submit_seconds": 2.5}, repetitions=2,
         label="submit request in flight, person answers `stop`"),
    Case("c-inflight-retry", "submit", 0.0, (0.3, 1.6), (0, 1), answer="retry",
         expect_question=True,
         emulator={"scenarios": ["slow-submit"], "slow_submit_seconds": 2.5}, repetitions=2,
         label="submit request in flight, person answers `retry`"),
    Case("d-answered-unrecorded", "unrecorded", 3.0, (0.05, 2.0), (1,), answer="retry",
         expect_question=True, repetitions=2,
         label="submit answered, ledger not yet written (the unknown window)"),
    Case("d-answered-recorded", "recorded", 3.0, (0.05, 2.0), (1,),
         label="right after the submit answered (ledger written, result.json being written)"),
    Case("e-poll", "poll", 0.0, (0.1, 1.2), (1,), emulator={"task_seconds": 2.5},
         label="mid-poll"),
    Case("f-persist", "persist", 1.5, (0.05, 2.9), (1,),
         label="while persisting result.json / result.md"),
]
REPORT: list[dict[str, Any]] = []


@dataclass
class Outcome:
    run_id: str
    kill_delay: float
    killed_in_window: bool
    charged_at_kill: int
    charged_final: int
    task_ids: list[str]
    status: str | None
    asked: bool
    exit_code: int
    artifacts_whole: bool
    stale_temp_files: int
    result_task_id: str | None
    warned_before_retry: bool
    """Asked, answered "retry", and the question said a retry may charge again."""


def _whole(run_dir: Path) -> tuple[bool, int]:
    """Every JSON artifact parses; count leftover temp files of interrupted atomic writes."""
    if not run_dir.exists():
        return True, 0
    ok = True
    for path in run_dir.rglob("*.json"):
        if path.name.startswith("."):
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            ok = False
    temps = sum(1 for p in run_dir.rglob(".*.tmp"))
    return ok, temps


def _env(emulator: EmulatorProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    env.update(OFFLINE)
    env.update(CREATOK_BASE_URL=emulator.base_url, CREATOK_API_KEY=SANDBOX_API_KEY)
    return env


def _one_run(case: Case, rep: int, emulator: EmulatorProcess, root: Path,
             rng: random.Random) -> Outcome:
    run_id = f"{case.name}-{rep}-{uuid.uuid4().hex[:6]}"
    prompt = f"{PROMPT} ({run_id})"
    env = _env(emulator)
    common = ["--run-id", run_id, "--artifacts-dir", str(root), "--poll-interval", "0.2"]
    first = ["--prompt", prompt, *common]
    if case.approve_first:
        first.insert(0, "--yes")
    if case.with_reference:
        ref = root.parent / f"{run_id}.png"
        ref.write_bytes(gradient_png(16, 16, rep))
        first += ["--reference-image", str(ref)]

    # 1. the worker, killed inside its window
    worker = Worker([case.window, str(case.hold), "--", *first], env)
    worker.wait_for_window()
    delay = rng.uniform(*case.kill_after)
    time.sleep(max(0.0, worker.entered_at + delay - time.monotonic()))
    killed = worker.kill() == -signal.SIGKILL
    assert killed, f"{case.name} rep {rep}: the worker left its window before the kill"
    # Let the server finish (and charge) a request it was still processing.
    assert wait_until(lambda: emulator.stats()["submits_in_flight"] == 0, 60)
    charged_at_kill = len(emulator.tasks_for(prompt))
    whole_at_kill, _ = _whole(root / run_id)

    # 2. the same run, resumed by a new process on the same files
    resumed = subprocess.run(
        [str(CLI), "--yes", *common], env=env, text=True, capture_output=True, timeout=120,
        input=f"{case.answer}\n" if case.answer else "",
    )
    output = resumed.stdout + resumed.stderr
    tasks = emulator.tasks_for(prompt)
    result = _json(root / run_id / "outputs" / "result.json")
    ledger = _json(root / run_id / "submission.json")
    whole_at_end, temps = _whole(root / run_id)

    context = f"{case.name} rep {rep} (seed {SEED}, kill +{delay:.2f}s): {output}"
    assert "database is locked" not in output, context
    assert charged_at_kill in case.expect_charged_at_kill, context
    asked = QUESTION_MARK in output
    # Nothing is sent again on its own. Only the person's "retry", after a question that
    # said it may charge again, sends once more; without de-duplication that charges again.
    resent = asked and case.answer == "retry"
    if asked:  # the outcome was unknown: only the person's answer may send (once)
        assert len(tasks) == charged_at_kill + resent, context
    else:  # nothing had been sent, or the task id was on record: exactly one charge
        assert len(tasks) == (1 if case.expect_status == "succeeded" else 0), context
    assert len(tasks) <= 1 or (resent and RETRY_MAY_CHARGE in output), context
    assert whole_at_kill and whole_at_end, context
    assert asked == case.expect_question, context
    assert result is not None and result["status"] == case.expect_status, context
    if case.expect_status == "succeeded":
        assert resumed.returncode == 0, context
        task = tasks[-1]  # the newest: the one this run follows
        assert result["task_id"] == task["task_id"] and result["images"], context
        assert ledger is not None and ledger["state"] == "submitted", context
        assert ledger["task_id"] == task["task_id"], context
        assert ledger["idempotency_key"] == task["idempotency_key"], context
        md = (root / run_id / "outputs" / "result.md").read_text(encoding="utf-8")
        assert all(img["url"] in md for img in result["images"]), context
        if case.with_reference:
            assert task["imageObjectKeys"], context
    else:  # stopped at the unknown-outcome question: nothing more was sent
        assert resumed.returncode == 1, context  # unresolved, maybe charged: not a "no"
        assert len(tasks) == charged_at_kill, context
        assert ledger is not None and ledger["state"] == "pending", context
        assert ledger["attempts"] == 1, context
        if tasks:
            assert tasks[0]["idempotency_key"] == ledger["idempotency_key"], context
    return Outcome(run_id, delay, killed, charged_at_kill, len(tasks),
                   [t["task_id"] for t in tasks], result.get("status"),
                   asked, resumed.returncode, whole_at_kill and whole_at_end,
                   temps, result.get("task_id"), resent and RETRY_MAY_CHARGE in output)


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else None


@pytest.mark.timeout(150)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kill_and_resume(case: Case, emulator_process: EmulatorProcess, tmp_path: Path) -> None:
    emulator_process.configure(scenarios=case.emulator.get("scenarios", []),
                               slow_submit_seconds=case.emulator.get("slow_submit_seconds", 5.0),
                               task_seconds=case.emulator.get("task_seconds", 1.0))
    before = emulator_process.stats()
    root = tmp_path / "artifacts"  # one folder, one SQLite file, for all repetitions at once
    root.mkdir()
    rngs = [random.Random(f"{SEED}-{case.name}-{rep}") for rep in range(case.repetitions)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=case.repetitions) as pool:
        futures = [pool.submit(_one_run, case, rep, emulator_process, root, rngs[rep])
                   for rep in range(case.repetitions)]
        outcomes = [f.result() for f in futures]
    after = emulator_process.stats()
    REPORT.append({
        "case": case, "outcomes": outcomes, "seconds": time.monotonic() - started,
        "posts": after["submit_requests"] - before["submit_requests"],
        "charges": after["submits"] - before["submits"],
        "replays": after["idempotent_replays"] - before["idempotent_replays"],
    })
    assert after["submits"] - before["submits"] == sum(o.charged_final for o in outcomes)


def test_write_report() -> None:
    """Not a check: writes the measured table when ``CREATOK_FAULT_REPORT`` names a file."""
    target = os.environ.get("CREATOK_FAULT_REPORT")
    if not target or not REPORT:
        pytest.skip("set CREATOK_FAULT_REPORT=path.md to write the measured table")
    lines = [
        f"seed {SEED}; the runs of a case run concurrently, on one SQLite file; the emulator "
        "ignores Idempotency-Key",
        "",
        "| case | kill point | runs | SIGKILL after window entry (s) | charged at kill | "
        "charged in the end (per run) | 2nd charges after a warned \"retry\" | "
        "POSTs / replays seen | asked | recovered task id | "
        "final status | artifacts whole | leftover .tmp |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in REPORT:
        case, outs = row["case"], row["outcomes"]
        recovered = sum(1 for o in outs if o.status == "succeeded" and o.task_ids
                        and o.result_task_id == o.task_ids[-1])
        second = [o for o in outs if o.charged_final > 1]
        warned = sum(o.warned_before_retry for o in second)
        lines.append(
            f"| {case.name} | {case.label} | {len(outs)} | "
            + ", ".join(f"{o.kill_delay:.2f}" for o in outs) + " | "
            + ", ".join(str(o.charged_at_kill) for o in outs) + " | "
            + ", ".join(str(o.charged_final) for o in outs) + " | "
            + (f"{warned}/{len(second)}" if second else "none") + " | "
            + f"{row['posts']} / {row['replays']} | "
            + f"{sum(o.asked for o in outs)}/{len(outs)} | "
            + (f"{recovered}/{len(outs)}" if case.expect_status == "succeeded" else "n/a (stopped)")
            + " | " + ", ".join(sorted({str(o.status) for o in outs})) + " | "
            + ("yes" if all(o.artifacts_whole for o in outs) else "NO") + " | "
            + str(sum(o.stale_temp_files for o in outs)) + " |"
        )
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
