"""The adaptive poll schedule, and ``wait_for_task`` on a simulated clock (no real sleeping)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from creatok_graph import polling
from creatok_graph._flow import Send, Sleep
from creatok_graph.client import CreatokAPI, TaskStatus
from creatok_graph.errors import TaskTimeoutError
from creatok_graph.polling import next_delay, wait_for_task

ELAPSED = [0.0, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 600, 3600]


# -- next_delay ----------------------------------------------------------------------------


def test_first_delay_is_small() -> None:
    assert 0 < next_delay(0.0) <= 0.5


def test_delay_grows_with_time_waited() -> None:
    delays = [next_delay(e) for e in ELAPSED]
    assert delays == sorted(delays)
    assert next_delay(30) > 3 * next_delay(0)


def test_delay_is_capped() -> None:
    assert max(next_delay(e) for e in ELAPSED) == polling.MAX_DELAY
    assert next_delay(10**6) == polling.MAX_DELAY <= 15


@pytest.mark.parametrize("elapsed", ELAPSED)
@pytest.mark.parametrize("retry_after", [0.0, 1.0, 5.0, 30.0])
def test_retry_after_is_honoured(elapsed: float, retry_after: float) -> None:
    assert next_delay(elapsed, retry_after=retry_after) >= retry_after
    assert next_delay(elapsed, progress=99, retry_after=retry_after) >= retry_after


@pytest.mark.parametrize("elapsed", [2.0, 10.0, 30.0, 120.0])
def test_progress_eta_shortens_the_wait(elapsed: float) -> None:
    plain = next_delay(elapsed)
    near_end = next_delay(elapsed, progress=98)
    assert 0 < near_end < plain
    eta = elapsed * 2 / 98
    assert near_end >= eta  # never earlier than the estimated finish
    assert next_delay(elapsed, progress=1) == plain  # far from done: no change


@pytest.mark.parametrize("progress", [None, 0, 100, -5, 150])
def test_progress_out_of_range_ignored(progress: float | None) -> None:
    assert next_delay(20, progress=progress) == next_delay(20)


@pytest.mark.parametrize("elapsed", ELAPSED)
@pytest.mark.parametrize("remaining", [0.0, 0.05, 0.3, 2.0, 100.0])
def test_never_past_the_deadline(elapsed: float, remaining: float) -> None:
    for kwargs in ({}, {"progress": 50.0}, {"retry_after": 30.0}):
        delay = next_delay(elapsed, remaining=remaining, **kwargs)  # type: ignore[arg-type]
        assert 0 <= delay <= remaining


# -- wait_for_task on a simulated clock ----------------------------------------------------------


@dataclass
class SimTask:
    """A task like the emulator's: queued 20 %, running with progress, then succeeded."""

    duration: float
    progress: bool = True
    retry_after: float | None = None
    now: float = 0.0
    checks: list[float] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.checks.append(self.now)
        e = self.now
        data: dict[str, Any]
        if e >= self.duration:
            data = {"status": "succeeded", "result": {"images": [{"url": "https://x/0.png"}]}}
        elif e < 0.2 * self.duration:
            data = {"status": "queued"}
        else:
            data = {"status": "running"}
            if self.progress:
                data["progress"] = int(e / self.duration * 100)
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
        body = {"code": 0, "msg": "ok", "data": data}
        return httpx.Response(200, json=body, headers=headers, request=request)

    def run(self, timeout: float = 600.0) -> TaskStatus:
        api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
        flow = wait_for_task(api, "task_sim", timeout=timeout, clock=lambda: self.now)
        value: Any = None
        while True:
            try:
                effect = flow.send(value)
            except StopIteration as stop:
                result: TaskStatus = stop.value
                return result
            if isinstance(effect, Send):
                value = self.answer(effect.request)
            else:
                assert isinstance(effect, Sleep)
                self.sleeps.append(effect.seconds)
                self.now += effect.seconds
                value = None


def fixed_poller_requests(duration: float, interval: float = 3.0) -> int:
    """Requests a fixed-interval poller (check at once, then every ``interval``) needs."""
    return math.ceil(duration / interval) + 1


@pytest.mark.parametrize("progress", [True, False], ids=["progress", "no-progress"])
def test_short_task_seen_done_quickly(progress: bool) -> None:
    task = SimTask(duration=2.0, progress=progress)
    assert task.run().status == "succeeded"
    assert task.now - task.duration <= 0.5  # a 3 s poller would notice only at 3 s
    assert len(task.checks) <= 10


@pytest.mark.parametrize("duration", [0.3, 1.0, 2.0, 5.0, 10.0, 30.0])
def test_tasks_seen_done_without_long_lag(duration: float) -> None:
    task = SimTask(duration=duration)
    task.run()
    assert task.now - duration <= max(0.5, 0.1 * duration)


@pytest.mark.parametrize("progress", [True, False], ids=["progress", "no-progress"])
def test_long_task_needs_no_more_requests_than_a_3s_poller(progress: bool) -> None:
    task = SimTask(duration=60.0, progress=progress)
    task.run()
    assert len(task.checks) <= fixed_poller_requests(60.0)  # 21
    assert task.now - task.duration <= polling.MAX_DELAY  # and seen done within one pause


def test_sleeps_follow_next_delay() -> None:
    task = SimTask(duration=20.0, progress=False)
    task.run()
    for checked_at, slept in zip(task.checks, task.sleeps, strict=False):
        assert slept == pytest.approx(next_delay(checked_at, remaining=600.0 - checked_at))


def test_retry_after_on_status_is_honoured() -> None:
    task = SimTask(duration=3.0, retry_after=2.0)
    task.run()
    assert task.sleeps and min(task.sleeps) >= 2.0


def test_timeout_stops_at_the_deadline() -> None:
    task = SimTask(duration=100.0)  # running, not done, at the 30 s deadline
    with pytest.raises(TaskTimeoutError) as info:
        task.run(timeout=30.0)
    assert task.now == pytest.approx(30.0)  # the last wait was cut to the deadline
    assert info.value.task_id == "task_sim"
    assert info.value.last_status is not None and info.value.last_status.status == "running"


def test_on_update_sees_every_check() -> None:
    seen: list[tuple[str, float]] = []
    api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
    task = SimTask(duration=1.0)
    flow = wait_for_task(
        api, "t", timeout=60, clock=lambda: task.now,
        on_update=lambda s, e: seen.append((s.status, e)),
    )
    value: Any = None
    try:
        while True:
            effect = flow.send(value)
            if isinstance(effect, Send):
                value = task.answer(effect.request)
            else:
                task.now += effect.seconds
                value = None
    except StopIteration:
        pass
    assert [s for s, _ in seen][-1] == "succeeded" and len(seen) == len(task.checks)
    assert [e for _, e in seen] == task.checks
