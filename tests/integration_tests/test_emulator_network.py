"""The emulator's network-realism options: a distant server and the unit of ``progress``.

Benchmarks use them to measure what a user feels (round trips of ~150 ms, status answers
without any progress hint, as the contract allows); clients are tested against the three
progress shapes a server may send.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from creatok_graph.emulator import SANDBOX_API_KEY, Emulator
from creatok_graph.emulator.cli import build_parser

SUBMIT = "/api/open/skills/image-generation"
STATUS = "/api/open/skills/tasks/status"
AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "Accept": "application/json"}
GOOD = {"prompt": "a red fox", "model": "nano-banana-2", "resolution": "2K", "n": 1}
Factory = Callable[..., Emulator]


def _status(client: httpx.Client, task_id: str) -> dict[str, Any]:
    body = client.get(STATUS, params={"task_id": task_id, "task_type": "image_generation"}).json()
    assert body["code"] == 0, body
    data: dict[str, Any] = body["data"]
    return data


def _running_status(emu: Emulator) -> dict[str, Any]:
    """The status answer of a task half-way through its 1 s."""
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        task_id = client.post(SUBMIT, json=GOOD).json()["data"]["task_id"]
        time.sleep(0.5)
        return _status(client, task_id)


def test_latency_delays_every_api_answer_but_not_the_admin_plane(emulator_factory: Factory) -> None:
    emu = emulator_factory(latency=0.2)
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        client.get("/_emulator/health")  # open the connection: only round trips count below
        started = time.perf_counter()
        assert client.get("/api/open/skills/capabilities").status_code == 200
        api_round_trip = time.perf_counter() - started
        started = time.perf_counter()
        assert client.get("/_emulator/stats").status_code == 200
        admin_round_trip = time.perf_counter() - started
    assert 0.2 <= api_round_trip < 0.6
    assert admin_round_trip < 0.15  # benchmarks read counters without paying the latency


def test_latency_can_be_changed_at_run_time(emulator_factory: Factory) -> None:
    emu = emulator_factory()
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        answer = client.post("/_emulator/config", json={"latency": 0.15, "progress": "none"})
        assert answer.json()["data"]["latency"] == 0.15
        assert answer.json()["data"]["progress"] == "none"
        started = time.perf_counter()
        client.get("/api/open/skills/capabilities")
        assert time.perf_counter() - started >= 0.15
        refused = client.post("/_emulator/config", json={"progress": "permille"})
        assert refused.status_code == 400 and "percent, fraction, none" in refused.json()["msg"]
        refused = client.post("/_emulator/config", json={"latency": -1})
        assert refused.status_code == 400
    assert emu.latency == 0.15 and emu.progress_unit == "none"


@pytest.mark.parametrize(
    ("unit", "low", "high"), [("percent", 20, 99), ("fraction", 0.2, 0.99)]
)
def test_progress_unit(emulator_factory: Factory, unit: str, low: float, high: float) -> None:
    data = _running_status(emulator_factory(task_seconds=1.0, progress=unit))
    assert data["status"] == "running"
    assert low <= data["progress"] <= high


def test_progress_none_sends_no_progress_field_at_all(emulator_factory: Factory) -> None:
    emu = emulator_factory(task_seconds=0.3, progress="none")
    with httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=10) as client:
        task_id = client.post(SUBMIT, json=GOOD).json()["data"]["task_id"]
        assert "progress" not in _status(client, task_id)
        time.sleep(0.4)
        done = _status(client, task_id)
    assert done["status"] == "succeeded" and "progress" not in done


def test_first_request_time_is_recorded_for_start_up_measurements(emulator: Emulator) -> None:
    assert emulator.stats()["first_request_at"] is None
    before = time.time()
    httpx.get(emulator.base_url + "/api/open/skills/capabilities", headers=AUTH, timeout=10)
    first = emulator.stats()["first_request_at"]
    assert before <= first <= time.time()
    emulator.reset()
    assert emulator.stats()["first_request_at"] is None


def test_bad_options_are_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValueError, match="percent, fraction, none"):
        Emulator(progress="0-1")
    with pytest.raises(ValueError, match="latency"):
        Emulator(latency=float("inf"))
    args = build_parser().parse_args(["--latency", "0.15", "--progress", "fraction"])
    assert (args.latency, args.progress) == (0.15, "fraction")


def test_tasks_listing_counts_status_checks_and_exact_creation_time(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.base_url, headers=AUTH, timeout=10) as client:
        before = time.time()
        task_id = client.post(SUBMIT, json=GOOD).json()["data"]["task_id"]
        for _ in range(3):
            _status(client, task_id)
        listed = client.get("/_emulator/tasks").json()["data"]["tasks"]
    task = next(t for t in listed if t["task_id"] == task_id)
    assert task["status_checks"] == 3
    assert before <= task["created_epoch"] <= time.time()
