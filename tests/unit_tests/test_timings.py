"""Learned waiting: finish windows kept per kind of task, in the run's LangGraph store."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from langgraph.store.memory import InMemoryStore

from creatok_graph import timings
from creatok_graph._flow import Nap, Send, Sleep, run_async, run_sync
from creatok_graph.client import CreatokAPI
from creatok_graph.timings import expected_window, timing_key, wait_and_learn

REQUEST = {"model": "nano-banana-2", "resolution": "2K", "n": 1}


def test_key_needs_model_resolution_and_count() -> None:
    assert timing_key(REQUEST) == "nano-banana-2|2K|1"
    assert timing_key({**REQUEST, "n": None}) is None
    assert timing_key({"model": "m", "resolution": ""}) is None


@pytest.mark.parametrize(
    ("samples", "window"),
    [
        ([], None),
        ([[57.0, 60.6]], (57.0, 60.6, 60.6)),
        # steady length: windows intersect
        ([[57.0, 60.6], [59.8, 61.0]], (59.8, 60.6, 60.6)),
        # disagreeing: medians, and a quick task was once seen done at 2 s
        ([[1.0, 2.0], [9.0, 10.0], [10.0, 11.0]], (9.0, 10.0, 2.0)),
        ([[3.0, 2.0]], None),  # nonsense is ignored
    ],
)
def test_expected_window(
    samples: list[list[float]], window: tuple[float, float, float] | None
) -> None:
    assert expected_window(samples) == window


def test_history_is_kept_per_kind_and_bounded() -> None:
    store = InMemoryStore()
    for i in range(timings.MAX_SAMPLES + 3):
        run_sync(timings.record(store, "a|2K|1", (10.0 + i, 11.0 + i)))
    run_sync(timings.record(store, "b|2K|1", (1.0, 2.0)))
    item = store.get(timings.NAMESPACE, "a|2K|1")
    assert item is not None and len(item.value["samples"]) == timings.MAX_SAMPLES
    last = 10.0 + timings.MAX_SAMPLES + 2
    assert item.value["samples"][-1] == [last, last + 1]
    assert run_sync(timings.load(store, "b|2K|1")) == (1.0, 2.0, 2.0)
    assert run_sync(timings.load(store, "c|2K|1")) is None


def status_answer(done: bool, request: httpx.Request | None = None) -> httpx.Response:
    """CreatOK's status answer: running, or succeeded with one image."""
    data: dict[str, Any] = (
        {"status": "succeeded", "result": {"images": [{"url": "https://x/0.png"}]}}
        if done else {"status": "running"}
    )
    return httpx.Response(200, json={"code": 0, "msg": "ok", "data": data}, request=request)


class Clock:
    """A fake clock the mock server moves: each status answer costs ``rtt``."""

    def __init__(self, duration: float, rtt: float = 0.15) -> None:
        self.now = 0.0
        self.duration = duration
        self.rtt = rtt
        self.checks = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.checks += 1
        self.now += self.rtt / 2
        done = self.now >= self.duration
        self.now += self.rtt / 2
        return status_answer(done, request)


def _wait(store: Any, duration: float) -> Clock:
    """One wait timed from the submit, on the fake clock (store calls run for real)."""
    clock = Clock(duration)
    api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
    flow = wait_and_learn(api, "t", store, REQUEST, timeout=600, started_at=0.0,
                          clock=lambda: clock.now)
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            effect = flow.throw(error) if error else flow.send(value)
        except StopIteration:
            return clock
        value, error = None, None
        if isinstance(effect, (Sleep, Nap)):  # alone on its clock: no peer wakes it
            clock.now += effect.seconds
        elif isinstance(effect, Send):
            value = clock.handler(effect.request)
        else:
            try:
                value = effect.run_sync(None)
            except Exception as exc:  # handed back to the flow, as the drivers do
                error = exc


def test_each_finished_task_teaches_the_next_one_of_its_kind() -> None:
    store = InMemoryStore()
    lags = [_wait(store, 40.0).now - 40.0 for _ in range(3)]
    assert lags[0] <= 3.6 + 0.15  # no history: the plain schedule
    assert lags[-1] <= 0.5  # with history: seen done right after the finish
    item = store.get(timings.NAMESPACE, "nano-banana-2|2K|1")
    assert item is not None and len(item.value["samples"]) == 3


def test_a_recovery_check_teaches_nothing() -> None:
    store = InMemoryStore()
    api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
    clock = Clock(0.0)
    http = httpx.AsyncClient(transport=httpx.MockTransport(clock.handler))
    flow = wait_and_learn(api, "t", store, REQUEST, timeout=60)  # no started_at: age unknown
    assert asyncio.run(run_async(flow, http)).status == "succeeded"
    assert store.get(timings.NAMESPACE, "nano-banana-2|2K|1") is None


def test_a_broken_store_only_costs_the_learning() -> None:
    class Broken(InMemoryStore):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise OSError("disk gone")

    clock = _wait(Broken(), 2.0)  # type: ignore[arg-type]
    assert clock.now >= 2.0


def _side_by_side(store: InMemoryStore, count: int, done_at: float
                  ) -> tuple[list[float], list[float]]:
    """``count`` waits of one kind started together, every task done ``done_at`` s later:
    when each wait ended, and when each status check was answered."""
    api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
    checks: list[float] = []

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()

        def handler(request: httpx.Request) -> httpx.Response:
            checks.append(loop.time() - t0)
            return status_answer(loop.time() - t0 >= done_at)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:

            async def one(i: int) -> float:
                flow = wait_and_learn(api, f"t{i}", store, REQUEST, timeout=30,
                                      started_at=time.monotonic())
                assert (await run_async(flow, http)).status == "succeeded"
                return loop.time() - t0

            return await asyncio.gather(*(one(i) for i in range(count)))

    return asyncio.run(main()), checks


def test_waits_side_by_side_spread_their_checks_and_the_first_done_wakes_the_others() -> None:
    """20 tasks of one kind submitted together, no history, no progress: alone, each
    would be seen done at its 1.5 s check. Side by side they look at different moments,
    and the first to see its task done (0.6 s) makes the others look at once."""
    store = InMemoryStore()
    ends, checks = _side_by_side(store, 20, 0.6)
    assert max(ends) < 1.2  # alone, each would have waited for its 1.5 s check
    assert len(checks) <= 2 * 20  # no more checks than alone (0.5 s and 1.5 s each)
    assert timings.peers_of(store, "nano-banana-2|2K|1").waiting == 0


def test_many_waits_side_by_side_leave_the_looking_to_a_few() -> None:
    """100 tasks of one kind submitted together, done at 2 s, no history: only
    ``PROBES`` of the waits look before any task is seen done; the rest are woken and
    look once, when their own task should be done. All are seen done soon after 2 s."""
    ends, checks = _side_by_side(InMemoryStore(), 100, 2.0)
    assert max(ends) < 2.8  # none waited for a check of its own, 3.75 s or later
    early = [t for t in checks if t < 2.0]  # looked before anything was done
    assert len(early) <= timings.PROBES + 1  # all 100 looking: ~47
    assert len(checks) <= 100 + timings.PROBES + 1


def test_threads_waiting_side_by_side_are_woken_too() -> None:
    """The CLI's batch waits in threads (the sync driver): the same wake-up."""
    from concurrent.futures import ThreadPoolExecutor

    store = InMemoryStore()
    api = CreatokAPI(api_key="sk-sim", base_url="https://api.test")
    t0 = time.monotonic()

    def handler(request: httpx.Request) -> httpx.Response:
        return status_answer(time.monotonic() - t0 >= 0.6)

    def one(i: int) -> float:
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            flow = wait_and_learn(api, f"t{i}", store, REQUEST, timeout=30,
                                  started_at=time.monotonic())
            assert run_sync(flow, http).status == "succeeded"
        return time.monotonic() - t0

    with ThreadPoolExecutor(max_workers=12) as pool:
        ends = list(pool.map(one, range(12)))
    assert max(ends) < 1.2
