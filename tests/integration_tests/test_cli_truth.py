"""Issue 13: what ``creatok-image`` prints and returns tells the truth, for every ending.

The installed command runs as a subprocess against an emulator on 127.0.0.1 that ignores
``Idempotency-Key`` (CreatOK's contract does not promise de-duplication): every charge
counted here is one a real user would pay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _helpers import OFFLINE_ENV, wait_until

CLI = Path(sys.executable).with_name("creatok-image")
PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"
TIMEOUT = 90


class World:
    def __init__(self, emulator: Any, tmp: Path, base_url: str | None = None) -> None:
        self.emulator = emulator
        self.root = tmp / "artifacts"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
        self.env.update(OFFLINE_ENV, CREATOK_BASE_URL=base_url or emulator.base_url,
                        CREATOK_API_KEY=emulator.api_key, CREATOK_ARTIFACTS_DIR=str(self.root))

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CLI), *args], input=stdin, capture_output=True, text=True,
                              env=self.env, timeout=TIMEOUT)

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([str(CLI), *args], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env)


def _json(done: subprocess.CompletedProcess[str] | str) -> dict[str, Any]:
    out = done if isinstance(done, str) else done.stdout
    record: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return record


def _show(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"


@pytest.mark.timeout(180)
def test_reaching_the_timeout_is_still_running_and_the_same_run_id_continues(
    emulator_factory: Any, tmp_path: Path
) -> None:
    world = World(emulator_factory(task_seconds=4.0, honour_idempotency=False), tmp_path)
    first = world.run("--prompt", PROMPT, "--yes", "--run-id", "slow", "--timeout", "0.5",
                      "--json")
    assert first.returncode == 3, _show(first)  # not 1: nothing failed, the task goes on
    record = _json(first)
    assert record["ok"] is False and record["status"] == "timeout", _show(first)
    assert record["task_id"] and "creatok-image --run-id slow" in first.stderr, _show(first)

    again = world.run("--run-id", "slow", "--json")  # the command it printed
    assert again.returncode == 0, _show(again)
    assert _json(again)["ok"] is True and _json(again)["task_id"] == record["task_id"]
    stats = world.emulator.stats()
    assert stats["submit_requests"] == 1 and stats["submits"] == 1, stats


@pytest.mark.timeout(180)
def test_an_outage_while_waiting_leaves_a_way_to_continue_the_same_task(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = emulator_factory(task_seconds=3.0, honour_idempotency=False)
    world = World(emulator, tmp_path)
    proc = world.start("--prompt", PROMPT, "--yes", "--run-id", "outage", "--json",
                       "--timeout", "3")
    assert wait_until(lambda: emulator.stats()["submits"] == 1, 60)
    emulator.set_scenarios(["status-500"])  # the status checks fail from now on
    out, err = proc.communicate(timeout=TIMEOUT)
    shown = f"exit {proc.returncode}\n{out}{err}"
    assert proc.returncode == 3, shown  # the task was accepted: still running, not failed
    assert "creatok-image --run-id outage" in err, shown
    assert _json(out)["ok"] is False, shown

    emulator.set_scenarios([])
    again = world.run("--run-id", "outage", "--json")
    assert again.returncode == 0 and _json(again)["ok"] is True, _show(again)
    assert emulator.stats()["submits"] == 1 and emulator.stats()["submit_requests"] == 1


@pytest.mark.parametrize(("prompt", "stdin", "status", "code"), [
    (PROMPT + " [fail]", "yes\n", "failed", 1),
    (PROMPT, "no\n", "cancelled", 2),
])
def test_json_ok_is_true_only_for_a_succeeded_run(
    emulator_factory: Any, tmp_path: Path, prompt: str, stdin: str, status: str, code: int
) -> None:
    world = World(emulator_factory(task_seconds=0.2), tmp_path)
    done = world.run("--prompt", prompt, "--json", "--poll-interval", "0.1", stdin=stdin)
    assert done.returncode == code, _show(done)
    record = _json(done)
    assert (record["ok"], record["status"]) == (False, status), _show(done)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("same_prompt", [True, False], ids=["same-command", "run-id-only"])
def test_a_refused_submit_is_retried_with_the_same_run_id_after_a_new_yes(
    emulator_factory: Any, tmp_path: Path, same_prompt: bool
) -> None:
    emulator = emulator_factory(task_seconds=0.2, scenarios=["submit-error"],
                                honour_idempotency=False)
    world = World(emulator, tmp_path)
    args = ("--prompt", PROMPT, "--run-id", "refused", "--json", "--poll-interval", "0.1")
    refused = world.run(*args, "--yes")
    assert refused.returncode == 1 and _json(refused)["status"] == "api_error", _show(refused)
    assert emulator.stats()["submits"] == 0

    emulator.set_scenarios([])
    again = args if same_prompt else args[2:]  # the same command, or its --run-id alone
    retried = world.run(*again, stdin="yes\n")  # without --yes
    assert "Shall I go ahead" in retried.stderr, _show(retried)  # a new yes was asked for
    assert retried.returncode == 0 and _json(retried)["ok"] is True, _show(retried)
    stats = emulator.stats()
    assert stats["submits"] == 1 and stats["submit_requests"] == 2, stats


@pytest.mark.timeout(180)
def test_several_processes_on_one_run_id_charge_once_and_say_what_happened(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = emulator_factory(task_seconds=0.5, scenarios=["slow-submit"],
                                slow_submit_seconds=2.0, honour_idempotency=False)
    world = World(emulator, tmp_path)
    args = ("--prompt", PROMPT, "--yes", "--run-id", "shared", "--json",
            "--poll-interval", "0.1")
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: world.run(*args), range(4)))
    assert emulator.stats()["submits"] == 1 and emulator.stats()["submit_requests"] == 1
    codes = sorted(r.returncode for r in runs)
    assert codes.count(0) >= 1 and set(codes) <= {0, 3}, [_show(r) for r in runs]
    for run in runs:
        record = _json(run)
        assert "nothing was charged" not in run.stdout + run.stderr, _show(run)
        assert record["status"] in ("succeeded", "busy"), _show(run)
        if record["status"] == "busy":
            assert run.returncode == 3, _show(run)
            assert "another creatok-image process" in record["error"]["message"], _show(run)
            assert "creatok-image --run-id shared" in run.stderr, _show(run)


def test_a_non_json_answer_to_the_paid_request_is_an_unknown_outcome(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = emulator_factory(task_seconds=0.2, honour_idempotency=False)
    world = World(emulator, tmp_path)
    proc = world.start("--prompt", PROMPT, "--run-id", "html", "--json")
    assert proc.stdin is not None
    try:
        # The approval question is up (capabilities read): now a proxy breaks the answers.
        assert wait_until(lambda: emulator.stats()["capabilities"] == 1, 60)
        emulator.set_scenarios(["non-json"])
        out, err = proc.communicate("yes\n", timeout=TIMEOUT)  # then no answer to the question
    finally:
        proc.kill()
    shown = f"exit {proc.returncode}\n{out}{err}"
    assert proc.returncode == 1, shown  # not 2: nobody declined anything
    assert "not its usual JSON" in err and "connection broke" not in err, shown
    assert "may charge a second time" in err, shown
    assert _json(out)["error"]["kind"] == "unknown_outcome", shown
    assert emulator.stats()["submit_requests"] == 1


def test_a_wrong_base_url_path_names_the_url_not_a_task(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = emulator_factory(task_seconds=0.2)
    world = World(emulator, tmp_path, base_url=emulator.base_url + "/api/open/skills")
    done = world.run("--prompt", PROMPT, "--yes", "-v")
    url = f"{emulator.base_url}/api/open/skills/api/open/skills/capabilities"
    assert done.returncode == 1, _show(done)
    assert "could not find that task" not in done.stdout + done.stderr, _show(done)
    assert url in done.stdout, _show(done)  # said to the person, port and path included
    assert url in done.stderr, _show(done)  # and in the -v details
    assert emulator.api_key not in done.stdout + done.stderr
