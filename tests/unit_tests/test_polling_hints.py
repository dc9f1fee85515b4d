"""ETA hints in a status answer, and the guard against hints that keep being wrong."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from creatok_graph import polling
from creatok_graph._flow import Send, Sleep
from creatok_graph.client import CreatokAPI
from creatok_graph.errors import TaskTimeoutError
from creatok_graph.polling import eta_hint, next_delay, wait_for_task


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"eta_seconds": 3}, 3.0),
        ({"eta": 1.5}, 1.5),
        ({"remaining_seconds": 0}, 0.0),
        ({"eta_seconds": -1}, None),
        ({"eta_seconds": True}, None),
        ({"eta_seconds": "3"}, None),
        ({}, None),
    ],
)
def test_eta_hint(raw: dict[str, Any], expected: float | None) -> None:
    assert eta_hint(raw) == expected


def test_eta_only_brings_the_check_forward() -> None:
    plain = next_delay(20.0)
    assert next_delay(20.0, eta=1.0) == pytest.approx(1.0 + polling.ETA_MARGIN)
    assert next_delay(20.0, eta=500.0) == plain
    assert next_delay(20.0, eta=0.0) == polling.MIN_DELAY
    assert next_delay(20.0, eta=1.0, retry_after=5.0) == 5.0


def _drive(answer: Any, timeout: float = 600.0) -> tuple[list[float], float, bool]:
    """Run ``wait_for_task`` on a fake clock: (check times, end time, timed out)."""
    now = 0.0
    checks: list[float] = []
    api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
    flow = wait_for_task(api, "t", timeout=timeout, clock=lambda: now)
    value: Any = None
    try:
        while True:
            effect = flow.send(value)
            if isinstance(effect, Send):
                checks.append(now)
                value = httpx.Response(200, json={"code": 0, "msg": "ok", "data": answer(now)},
                                       request=effect.request)
            else:
                assert isinstance(effect, Sleep)
                now += effect.seconds
                value = None
    except StopIteration:
        return checks, now, False
    except TaskTimeoutError:
        return checks, now, True


def test_server_eta_finds_the_finish() -> None:
    def answer(now: float) -> dict[str, Any]:
        if now >= 40.0:
            return {"status": "succeeded", "result": {"images": [{"url": "u"}]}}
        return {"status": "running", "eta_seconds": round(40.0 - now, 2)}

    checks, now, timed_out = _drive(answer)
    assert not timed_out
    assert now - 40.0 <= 2 * polling.ETA_MARGIN
    assert len(checks) <= 18


def test_a_task_stalled_at_99_costs_little_more_than_the_plain_schedule() -> None:
    plain, _, _ = _drive(lambda now: {"status": "running"}, timeout=300)
    stalled, end, timed_out = _drive(
        lambda now: {"status": "running", "progress": min(99, int(now / 5.0 * 100))},
        timeout=300,
    )
    assert timed_out and end == pytest.approx(300)
    assert len(stalled) <= len(plain) + polling.MAX_HINT_MISSES + 1
