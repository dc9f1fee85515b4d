"""The spend guard in the served graph: ``langgraph dev`` with a daily budget in its
environment, many threads approved at once through the SDK, and a client that tries to
raise its own limit through the run's context."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _helpers import OFFLINE_ENV, PROMPT, REPO_ROOT, free_port, stop_process_group
from langgraph_sdk import get_client
from test_server import LANGGRAPH, START_TIMEOUT, stream

from creatok_graph.emulator import Emulator

pytestmark = pytest.mark.slow

DAILY = 4
RUNS = 10


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Emulator]]:
    if not LANGGRAPH.exists():
        pytest.skip(f"langgraph CLI not installed beside {LANGGRAPH.parent} (dev extra)")
    tmp = tmp_path_factory.mktemp("budget-server")
    emulator = Emulator(task_seconds=0.3).start()
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")},
           **OFFLINE_ENV, "CREATOK_BASE_URL": emulator.base_url,
           "CREATOK_API_KEY": emulator.api_key, "CREATOK_ARTIFACTS_DIR": str(tmp / "artifacts"),
           "CREATOK_POLL_INTERVAL": "0.1", "CREATOK_DAILY_CREDITS": str(DAILY),
           "PYTHONUNBUFFERED": "1"}
    log = tmp / "langgraph-dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
             "--port", str(port), "--config", str(REPO_ROOT / "langgraph.json")],
            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.3)
        yield url, emulator
    finally:
        stop_process_group(proc)
        emulator.stop()


def _budget(values: dict[str, Any]) -> dict[str, Any]:
    (intr,) = values["__interrupt__"]
    found: dict[str, Any] = intr["value"]["budget"]
    return found


async def test_served_runs_approved_at_once_and_a_client_cannot_raise_its_limit(
    served: tuple[str, Emulator],
) -> None:
    url, emulator = served
    client = get_client(url=url)
    threads = [(await client.threads.create())["thread_id"] for _ in range(RUNS)]
    for thread in threads:
        _, values = await stream(client, thread, input={"prompt": PROMPT, "refine": False})
        assert _budget(values)["left_today"] == DAILY
    approve = {"resume": {"decisions": [{"type": "approve"}]}}
    results = await asyncio.gather(*(stream(client, t, command=approve) for t in threads))
    done = [v for _, v in results if v.get("status") == "succeeded"]
    asked_again = [v for _, v in results if "__interrupt__" in v]
    stats = emulator.stats()
    print(f"{RUNS} served runs approved at once, {DAILY}-credit day: {len(done)} charged, "
          f"{len(asked_again)} asked again, {stats['credits']:g} credits charged")
    assert stats["credits"] <= DAILY and stats["tasks"] == len(done)
    assert len(done) + len(asked_again) == RUNS
    # A client's context cannot lift the operator's limit nor allow an override.
    thread = next(t for t, (_, v) in zip(threads, results, strict=True) if "__interrupt__" in v)
    raised = {"budget": {"daily_credits": 1000, "allow_override": True}}
    _, values = await stream(client, thread, command={"resume": {"decisions": [
        {"type": "override"}]}}, context=raised)
    assert _budget(values)["daily_credits"] == DAILY and _budget(values)["allowed"] == []
    assert emulator.stats()["tasks"] == stats["tasks"]
