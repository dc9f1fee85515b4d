"""Issue 13: a crashed thread is continued truthfully, whatever the working directory.

Real processes, a real SIGKILL while the paid request is in flight, and an emulator that
ignores ``Idempotency-Key`` (CreatOK's contract does not promise de-duplication), so
every charge counted here is one a real user could pay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _helpers import OFFLINE_ENV, wait_until

HERE = Path(__file__).resolve().parent
NO_STORE_WORKER = HERE / "_nostore_worker.py"
PROMPT = "a lighthouse on a cliff in a storm at night, oil painting"
RETRY_MAY_CHARGE = "may charge a second time"


def _env(emulator: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    env.update(OFFLINE_ENV, CREATOK_BASE_URL=emulator.base_url, CREATOK_API_KEY=emulator.api_key)
    return env


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("answer", ["stop", "retry"])
def test_killed_in_flight_without_a_store_then_resumed_elsewhere_asks_first(
    emulator_factory: Any, tmp_path: Path, answer: str
) -> None:
    emulator = emulator_factory(scenarios=["slow-submit"], slow_submit_seconds=1.5,
                                task_seconds=0.2, honour_idempotency=False)
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    db = str(tmp_path / "threads.sqlite")
    env = _env(emulator)

    worker = subprocess.Popen(
        [sys.executable, str(NO_STORE_WORKER), "start", db, "r1", PROMPT],
        cwd=here, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_until(lambda: emulator.stats()["submit_requests"] == 1, 60), (
            worker.poll(), worker.stderr.read() if worker.poll() is not None else "")
    finally:
        worker.kill()
        worker.communicate(timeout=30)
    assert wait_until(lambda: len(emulator.tasks) == 1, 30)  # the server charged it anyway
    assert (here / "generate-image" / ".artifacts" / "r1" / "submission.json").exists()

    resumed = subprocess.run(
        [sys.executable, str(NO_STORE_WORKER), "resume", db, "r1", answer],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=90,
    )
    lines = _lines(resumed.stdout)
    context = resumed.stdout + resumed.stderr
    assert lines and lines[0]["next"] == ["submit"], context
    asked = [line for line in lines if "question" in line]
    assert [q["question"] for q in asked] == ["unknown_outcome"], context
    assert RETRY_MAY_CHARGE in asked[0]["text"], context  # said before anything is re-sent
    final = lines[-1]
    if answer == "stop":
        assert final["status"] == "cancelled", context
        assert final["error"]["kind"] == "unknown_outcome", context
        assert emulator.stats()["submit_requests"] == 1 and len(emulator.tasks) == 1
    else:  # the person chose to send again, knowing it may charge again: it did
        assert final["status"] == "succeeded", context
        assert emulator.stats()["submit_requests"] == 2 and len(emulator.tasks) == 2
        assert final["task_id"] in emulator.tasks


def test_a_lost_ledger_with_an_intent_in_state_asks_instead_of_sending(tmp_path: Path) -> None:
    from creatok_graph import ledger as L
    from creatok_graph._flow import run_sync

    body = {"prompt": PROMPT, "model": "m", "resolution": "2K", "n": 1}
    approved = L.params_hash(L.approved_params(body, []))
    first = L.Ledger(None, str(tmp_path / "one"))
    _, intent = run_sync(first.begin("r1", approved, body))
    remembered = L.intent_from_state(intent.unanswered("timeout: no answer").to_dict())
    # The ledger's folder is gone (another machine, a wiped disk): state still remembers.
    elsewhere = L.Ledger(None, str(tmp_path / "two"))
    decision, entry = run_sync(elsewhere.begin("r1", approved, body, remembered))
    assert decision == L.UNKNOWN and entry.idempotency_key == intent.idempotency_key
    # Another run id, or another request, is not concerned by that memory.
    assert run_sync(elsewhere.begin("r2", approved, body, remembered))[0] == L.SEND


def test_the_ledger_folder_recorded_in_state_is_used_only_for_the_same_relative_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from creatok_graph.ledger import ledger_root

    monkeypatch.chdir(tmp_path)
    recorded = str(tmp_path / "first-cwd" / "generate-image" / ".artifacts")
    assert ledger_root(recorded, "generate-image/.artifacts") == recorded
    assert ledger_root(None, "generate-image/.artifacts") == str(
        tmp_path / "generate-image" / ".artifacts")
    # An absolute folder configured by the operator always wins; state cannot point elsewhere.
    assert ledger_root(recorded, str(tmp_path / "mine")) == str(tmp_path / "mine")
    assert ledger_root("/etc", "generate-image/.artifacts") == str(
        tmp_path / "generate-image" / ".artifacts")


def test_an_invocation_waits_for_a_request_in_flight_elsewhere(tmp_path: Path) -> None:
    """Two invocations of one run id (two processes, say): the second neither sends nor asks
    about a crash while the first one's request is in flight; it takes its answer."""
    import threading

    from creatok_graph import ledger as L
    from creatok_graph._flow import run_sync

    body = {"prompt": PROMPT, "model": "m", "resolution": "2K", "n": 1}
    approved = L.params_hash(L.approved_params(body, []))
    for answer in ("submitted", "unanswered"):
        root = str(tmp_path / answer)
        sender = L.Ledger(None, root)
        decision, intent = run_sync(sender.begin("r1", approved, body))
        assert decision == L.SEND
        seen: list[tuple[str, L.LedgerEntry]] = []
        def second(root: str = root, seen: list[Any] = seen) -> None:
            seen.append(run_sync(L.Ledger(None, root).begin("r1", approved, body)))

        other = threading.Thread(target=second)
        other.start()
        other.join(0.6)
        assert other.is_alive() and not seen  # waiting: the request is still in flight
        outcome = (intent.submitted("task_1") if answer == "submitted"
                   else intent.unanswered("timeout: no answer"))
        run_sync(sender.record(outcome))  # the answer (or its absence) is on record
        other.join(10)
        ((decision, entry),) = seen
        if answer == "submitted":
            assert (decision, entry.task_id) == (L.REUSE, "task_1")  # follows the same task
        else:
            assert decision == L.UNKNOWN  # now, and only now, a person must decide
