"""A batch killed mid-way (real SIGKILL) and resumed: one charge per request, never two.

The emulator is a standalone process (it outlives the killed CLI and keeps the books:
a created task is a charge). The CLI runs a batch of 8 with at most 3 in flight and is
SIGKILLed once its progress line says 3 are done: some requests are finished, some
are being submitted or followed, some have not started. The same command with the same
run id continues only what is unfinished. Claims that hold without the emulator's
de-duplication of ``Idempotency-Key``: an item is never sent twice by us (the ledger
decides before every send), so a request killed mid-submit is reported as possibly
charged and asked about (nobody answers here: it is stopped), never resent. The live
progress line of the resumed command counts on from the requests finished before the kill.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from test_fault_injection import OFFLINE, EmulatorProcess, emulator_process  # noqa: F401

from creatok_graph.emulator import SANDBOX_API_KEY

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).with_name("creatok-image")
ITEMS = 8
PROMPT = "a lighthouse on a cliff in a storm at night, oil painting"


def test_a_batch_killed_mid_way_charges_each_request_once(
    emulator_process: EmulatorProcess, tmp_path: Path,  # noqa: F811
) -> None:
    tag = uuid.uuid4().hex[:6]
    prompts = [f"{PROMPT}, view {i} ({tag})" for i in range(ITEMS)]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    env.update(OFFLINE, CREATOK_BASE_URL=emulator_process.base_url,
               CREATOK_API_KEY=SANDBOX_API_KEY, CREATOK_BATCH_CONCURRENCY="3")
    args = [str(CLI), "--batch", str(batch), "--run-id", f"cat-{tag}", "--yes", "--json",
            "--artifacts-dir", str(tmp_path / "artifacts"), "--poll-interval", "0.2"]

    first = subprocess.Popen(args, env=env, text=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: list[str] = []
    killed = threading.Event()

    def watch() -> None:
        assert first.stderr is not None
        for line in first.stderr:
            seen.append(line)
            if re.match(r"^3/8 done", line) and not killed.is_set():
                first.send_signal(signal.SIGKILL)
                killed.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        first.wait(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        reader.join(timeout=10)
    assert killed.is_set() and first.returncode == -signal.SIGKILL, "".join(seen)
    at_kill = {p: len(emulator_process.tasks_for(p)) for p in prompts}
    assert sum(at_kill.values()) < ITEMS, at_kill  # killed mid-way, not after the end
    assert max(at_kill.values()) == 1, at_kill

    time.sleep(0.2)
    second = subprocess.run(args, env=env, text=True, stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=120)
    record = json.loads(second.stdout.strip().splitlines()[-1])
    charged = {p: emulator_process.tasks_for(p) for p in prompts}
    assert all(len(tasks) <= 1 for tasks in charged.values()), charged  # never twice
    results = record["results"]
    assert [r["prompt"] for r in results] == prompts
    for entry in results:
        tasks = charged[entry["prompt"]]
        if entry["status"] == "succeeded":
            assert [t["task_id"] for t in tasks] == [entry["task_id"]], (entry, tasks)
            assert entry["images"]
        else:  # only a request killed while its submit was in flight may be unresolved
            assert entry["error"]["kind"] == "unknown_outcome", entry
    unresolved = [r for r in results if r["status"] != "succeeded"]
    assert len(unresolved) <= 3, results  # at most the ones in flight at the kill
    assert second.returncode == (0 if not unresolved else 1), second.stderr
    # The progress line goes on from what was finished before the kill, up to 8/8.
    counts = [int(n) for n in re.findall(r"^(\d+)/8 done", second.stderr, re.M)]
    assert counts and len(counts) < ITEMS, second.stderr
    assert counts == list(range(ITEMS - len(counts) + 1, ITEMS + 1)), second.stderr
    for entry in results:  # every item's own result is whole on disk
        saved = tmp_path / "artifacts" / entry["run_id"] / "outputs" / "result.json"
        assert json.loads(saved.read_text())["task_id"] == entry["task_id"]
