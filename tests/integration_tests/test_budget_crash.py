"""A real SIGKILL between the reservation and CreatOK's answer, reconciled from the ledger.

The worker (``_budget_worker.py``: the real CLI with one window widened) is killed inside
the window; the emulator runs in this process and keeps the books. Then the run is either
resumed (``creatok-image --run-id``) or abandoned and reconciled as ``--spend`` does once
the reservation is stale: a task id in the ledger commits it, no intent releases it, an
intent without an answer keeps it reserved (it may have been charged).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from creatok_graph import budget as B
from creatok_graph._flow import run_sync
from creatok_graph.checkpointing import checkpoint_url, open_persistence
from creatok_graph.emulator import Emulator
from creatok_graph.ledger import Ledger

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_budget_worker.py")
PROMPT = "a lighthouse on a cliff in a storm at night, oil painting"
RUN = "crash-run"


def _env(emu: Emulator, root: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    return {**base, "CREATOK_BASE_URL": emu.base_url, "CREATOK_API_KEY": emu.api_key,
            "CREATOK_ARTIFACTS_DIR": str(root), "CREATOK_POLL_INTERVAL": "0.05",
            "CREATOK_DAILY_CREDITS": "5", "PYTHONUNBUFFERED": "1"}


def _kill_in(window: str, emu: Emulator, root: Path) -> None:
    """Run the worker until it announces ``window``, then SIGKILL it there."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), window, "60", "--", "--yes", "--run-id", RUN,
         "--prompt", PROMPT, "--n", "2"],
        env=_env(emu, root), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    seen = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(f"FAULT-WINDOW {window}"):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(90), "".join(lines)
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(5)


def _reservation(root: Path) -> B.Reservation | None:
    with open_persistence(checkpoint_url(str(root))) as p:
        return run_sync(B.SpendBook(p.store).get(RUN, B.utc_day()))


def _reconcile_stale(root: Path) -> B.Spend:
    """What ``--spend`` does, as if the reservation had been left for STALE_AFTER."""
    with open_persistence(checkpoint_url(str(root))) as p:
        book = B.SpendBook(p.store)
        run_sync(book.reconcile(B.utc_day(), Ledger(p.store, str(root)),
                                now=time.time() + B.STALE_AFTER + 1))
        return run_sync(book.spend(B.utc_day(), 5))


def _cli(emu: Emulator, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "creatok_graph.cli", *args],
                          env=_env(emu, root), stdin=subprocess.DEVNULL, text=True,
                          capture_output=True, timeout=120)


def test_killed_after_reserving_then_abandoned_the_credits_come_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    _kill_in("reserved", emulator, tmp_path)
    held = _reservation(tmp_path)
    assert held is not None and held.state == B.RESERVED and held.credits == 2
    assert emulator.stats()["tasks"] == 0
    # Right after the crash --spend still counts it: a live run could be about to send.
    spend = _cli(emulator, tmp_path, "--spend")
    assert "in credits: 2 approved, 0 of them charged" in spend.stdout, spend.stderr
    # Once stale, the ledger shows no intent: nothing was sent, the credits are free again.
    after = _reconcile_stale(tmp_path)
    assert (after.approved, after.left) == (0, 5)
    assert _reservation(tmp_path).state == B.RELEASED  # type: ignore[union-attr]


def test_killed_after_reserving_then_resumed_it_is_charged_and_counted_once(
    emulator: Emulator, tmp_path: Path
) -> None:
    _kill_in("reserved", emulator, tmp_path)
    resumed = _cli(emulator, tmp_path, "--yes", "--run-id", RUN)
    assert resumed.returncode == 0, resumed.stderr
    assert (emulator.stats()["tasks"], emulator.stats()["credits"]) == (1, 2)
    held = _reservation(tmp_path)
    assert held is not None and held.state == B.COMMITTED and held.credits == 2
    assert "in credits: 2 approved, 2 of them charged" in _cli(emulator, tmp_path, "--spend").stdout


def test_killed_after_the_task_id_was_recorded_it_is_committed(
    emulator: Emulator, tmp_path: Path
) -> None:
    _kill_in("recorded", emulator, tmp_path)
    assert _reservation(tmp_path).state == B.RESERVED  # type: ignore[union-attr]
    after = _reconcile_stale(tmp_path)
    assert (after.approved, after.committed) == (2, 2) == (2, emulator.stats()["credits"])
    assert _reservation(tmp_path).task_id in emulator.tasks  # type: ignore[union-attr]


def test_killed_while_the_paid_request_was_in_flight_it_stays_reserved(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emu = emulator_factory(scenarios=["slow-submit"], slow_submit_seconds=1.0)
    _kill_in("submit", emu, tmp_path)
    time.sleep(1.5)  # the emulator creates (and charges) the task anyway
    assert emu.stats()["credits"] == 2
    after = _reconcile_stale(tmp_path)
    assert (after.approved, after.committed) == (2, 0)  # unknown outcome: still counted
    assert _reservation(tmp_path).state == B.RESERVED  # type: ignore[union-attr]
