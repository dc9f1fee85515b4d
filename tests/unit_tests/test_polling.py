"""``polling.wait_for_task`` on a simulated clock (no real sleeping, no server).

A simulated task is answered through ``httpx.MockTransport``-style responses with a
round trip of ``rtt`` seconds, so the figures are those a user ~150 ms from CreatOK sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from creatok_graph import polling
from creatok_graph._flow import Send, Sleep
from creatok_graph.client import CreatokAPI, TaskStatus
from creatok_graph.errors import ServerError, TaskTimeoutError
from creatok_graph.polling import progress_fraction, progress_unit, wait_for_task

DONE = {"status": "succeeded", "result": {"images": [{"url": "https://x/0.png"}]}}


@dataclass
class SimTask:
    """A task like the emulator's: queued 20 %, then running, then succeeded at ``duration``.

    ``progress``: None (no field, as the contract allows), "percent" or "fraction".
    ``fail``: HTTP answers to give instead of a status, by check number (0-based).
    """

    duration: float
    progress: str | None = None
    rtt: float = 0.15
    retry_after: float | None = None
    fail: dict[int, httpx.Response | Exception] = field(default_factory=dict)
    now: float = 0.0
    checks: list[float] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def data(self, at: float) -> dict[str, Any]:
        if at >= self.duration:
            return DONE
        if at < 0.2 * self.duration:
            return {"status": "queued"}
        data: dict[str, Any] = {"status": "running"}
        share = at / self.duration
        if self.progress == "percent":
            data["progress"] = int(share * 100)
        elif self.progress == "fraction":
            data["progress"] = round(share, 2)
        return data

    def answer(self, request: httpx.Request) -> httpx.Response:
        attempt = len(self.checks)
        self.now += self.rtt / 2  # the server sees the request half a round trip later
        self.checks.append(self.now)
        data = self.data(self.now)
        self.now += self.rtt / 2
        failure = self.fail.get(attempt)
        if isinstance(failure, Exception):
            raise failure
        if failure is not None:
            return failure
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
        return httpx.Response(200, json={"code": 0, "msg": "ok", "data": data},
                              headers=headers, request=request)

    def run(self, timeout: float = 600.0, **kwargs: Any) -> TaskStatus:
        api = CreatokAPI(api_key="sk-sim", base_url="https://api.test", max_retries=0)
        kwargs.setdefault("started_at", 0.0)
        flow = wait_for_task(api, "task_sim", timeout=timeout, clock=lambda: self.now, **kwargs)
        value: Any = None
        error: Exception | None = None
        while True:
            try:
                effect = flow.throw(error) if error else flow.send(value)
            except StopIteration as stop:
                result: TaskStatus = stop.value
                return result
            value, error = None, None
            if isinstance(effect, Send):
                try:
                    value = self.answer(effect.request)
                except Exception as exc:  # handed back to the flow, as the drivers do
                    error = exc
            else:
                assert isinstance(effect, Sleep)
                self.sleeps.append(effect.seconds)
                self.now += effect.seconds

    @property
    def lag(self) -> float:
        return self.now - self.duration


def creatok_loop(duration: float, rtt: float = 0.15) -> tuple[int, float]:
    """(checks, seen-done time) of CreatOK's loop: check at once, sleep 3 s after each answer."""
    now, checks = 0.0, 0
    while True:
        checks += 1
        done = now + rtt / 2 >= duration
        now += rtt
        if done:
            return checks, now
        now += 3.0


DURATIONS = [1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0, 30.0, 45.0, 60.0]


@pytest.mark.parametrize("duration", DURATIONS)
def test_without_history_or_hint_short_tasks_are_seen_soon_and_60_s_costs_20(
    duration: float,
) -> None:
    task = SimTask(duration)
    assert task.run().status == "succeeded"
    if duration < 1.5:
        assert task.lag <= 1.0 + task.rtt
    assert task.lag <= polling.GAP + task.rtt
    assert len(task.checks) <= 20


@pytest.mark.parametrize(("low", "high"), [(0.5, 5.0), (5.0, 30.0), (30.0, 60.0)])
def test_without_history_the_mean_lag_is_no_worse_than_creatoks_3_s_loop(
    low: float, high: float
) -> None:
    lengths = [low + 0.25 * i for i in range(int((high - low) / 0.25) + 1)]
    ours = theirs = 0.0
    for duration in lengths:
        task = SimTask(duration)
        task.run()
        ours += task.lag
        theirs += creatok_loop(duration)[1] - duration
    assert ours <= theirs


@pytest.mark.parametrize("duration", DURATIONS)
def test_with_history_the_task_is_seen_within_a_second_and_before_creatoks_loop(
    duration: float,
) -> None:
    window = None
    for _ in range(3):  # three earlier tasks of the same kind taught the window
        earlier = SimTask(duration)
        seen: dict[str, float] = {"running": 0.0}

        def observe(status: TaskStatus, elapsed: float, seen: dict[str, float] = seen) -> None:
            seen["done" if status.is_terminal else "running"] = elapsed

        earlier.run(expected=window, on_update=observe)
        from creatok_graph.timings import expected_window

        samples = [[seen["running"], seen["done"]]]
        window = expected_window(samples if window is None else [list(window[:2]), *samples])
    task = SimTask(duration)
    task.run(expected=window)
    theirs_checks, theirs_seen = creatok_loop(duration)
    assert task.lag <= 0.5
    assert task.now <= theirs_seen
    assert len(task.checks) <= min(20, theirs_checks + 3)


@pytest.mark.parametrize("duration", DURATIONS)
def test_the_second_task_of_a_kind_is_seen_soon_and_before_creatoks_loop(
    duration: float,
) -> None:
    """One earlier task without history leaves a window a whole ``GAP`` wide; the next
    task of the kind looks into it at most ``WINDOW_MAX_STEP`` apart (three checks over it
    saw a 20 s task 1.07 s late), within the budget, and without a sparse check just
    before the window that would leave none for its end."""
    from creatok_graph.timings import expected_window

    seen: dict[str, float] = {"running": 0.0}

    def observe(status: TaskStatus, elapsed: float) -> None:
        seen["done" if status.is_terminal else "running"] = elapsed

    SimTask(duration).run(on_update=observe)
    task = SimTask(duration)
    task.run(expected=expected_window([[seen["running"], seen["done"]]]))
    assert task.lag <= 0.7
    assert task.now <= creatok_loop(duration)[1]
    assert len(task.checks) <= 20


@pytest.mark.parametrize(("window", "duration"), [((0.5, 1.2), 60.0), ((58.0, 60.5), 1.0)])
def test_wrong_history_still_finds_the_task_within_budget(
    window: tuple[float, float], duration: float
) -> None:
    task = SimTask(duration)
    task.run(expected=polling.Forecast(*window))
    assert len(task.checks) <= 20
    assert task.lag <= polling.SPARSE_GAP + task.rtt


@pytest.mark.parametrize("duration", [1.0, 2.0, 5.0, 10.0, 20.0])
def test_scattered_history_does_not_make_a_quick_task_wait_for_the_usual_one(
    duration: float,
) -> None:
    """Tasks of one kind took 1 to 60 s (someone tried several lengths): a short one is
    still seen as soon as without history, never a sparse 6 s later."""
    from creatok_graph.timings import expected_window

    history = [[0.4, 1.2], [4.6, 5.3], [29.5, 30.2], [59.6, 60.3], [59.8, 60.4]]
    task = SimTask(duration)
    task.run(expected=expected_window(history))
    plain = SimTask(duration)
    plain.run()
    assert task.lag <= max(plain.lag, 0.5) + task.rtt
    assert len(task.checks) <= 20


@pytest.mark.parametrize("unit", ["percent", "fraction"])
def test_progress_in_either_unit_brings_the_check_to_the_finish(unit: str) -> None:
    task = SimTask(30.0, progress=unit)
    task.run()
    assert task.lag <= 1.5  # without it: up to GAP
    assert len(task.checks) <= 20


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([None], None), ([0], None), ([1], None), ([100], 1.0), ([150], None), ([-3], None),
        ([float("nan")], None), ([0.25], 0.25), ([25], 0.25), ([99.5], 0.995),
        ([0.4, 1], 1.0),  # a fraction before: 1 is 100 %
        ([30, 1], 0.01),  # percent before: 1 is 1 %
        ([30, 0.5], 0.005),
        ([0.5, 30], None),  # a fraction before: 30 is nonsense
    ],
)
def test_progress_is_read_only_when_its_unit_is_clear(
    values: list[float | None], expected: float | None
) -> None:
    unit = None
    for value in values:
        unit = progress_unit(value, unit)
    assert progress_fraction(values[-1], unit) == expected


def test_a_task_stalled_at_99_percent_costs_at_most_the_budget() -> None:
    task = SimTask(10_000.0, progress="percent")
    task.data = lambda at: {"status": "running", "progress": 99}  # type: ignore[method-assign]
    with pytest.raises(TaskTimeoutError):
        task.run(timeout=300.0)
    assert len(task.checks) <= polling.BUDGET_BURST + polling.BUDGET_RATE * 300 + 1


def test_fixed_interval_checks_at_once_then_every_interval() -> None:
    task = SimTask(7.0, rtt=0.0)
    task.run(interval=2.0)
    assert task.checks == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_retry_after_on_status_is_honoured_in_both_modes() -> None:
    for kwargs in ({}, {"interval": 0.5}):
        task = SimTask(6.0, retry_after=2.5)
        task.run(**kwargs)  # type: ignore[arg-type]
        assert task.sleeps and min(task.sleeps[1:]) >= 2.5


def _error(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": status, "msg": "busy"}, headers=headers or {},
                          request=httpx.Request("GET", "https://api.test/"))


@pytest.mark.parametrize(
    "failure",
    [_error(503), _error(500), _error(429, {"Retry-After": "4"}),
     httpx.ConnectError("refused"), httpx.ReadTimeout("slow")],
    ids=["503", "500", "429", "connect", "timeout"],
)
def test_transient_failures_are_waited_out(failure: httpx.Response | Exception) -> None:
    task = SimTask(5.0, fail={1: failure, 2: failure, 3: failure})
    assert task.run().status == "succeeded"
    if isinstance(failure, httpx.Response) and failure.status_code == 429:
        assert max(task.sleeps) >= 4.0


def test_failures_until_the_deadline_are_waited_out_then_named() -> None:
    """An outage longer than the wait ends at the deadline, not before, and says what it
    was: we could not see the task (it may still finish), not that it is still running."""
    task = SimTask(5.0, fail={i: _error(503) for i in range(1000)})
    with pytest.raises(ServerError) as info:
        task.run(timeout=60.0)
    assert task.now == pytest.approx(60.0, abs=0.5)
    assert info.value.status_code == 503 and len(task.checks) > 5


def test_a_definite_error_is_not_retried() -> None:
    from creatok_graph.errors import NotFoundError

    task = SimTask(5.0, fail={0: _error(404)})
    with pytest.raises(NotFoundError):
        task.run()
    assert len(task.checks) == 1


def test_timeout_stops_at_the_deadline_with_the_last_status() -> None:
    task = SimTask(100.0)
    with pytest.raises(TaskTimeoutError) as info:
        task.run(timeout=30.0)
    assert task.now == pytest.approx(30.0, abs=0.2)
    assert info.value.last_status is not None and info.value.last_status.status == "running"


def test_a_recovery_check_looks_at_once() -> None:
    task = SimTask(0.0)
    task.run(started_at=None)
    assert task.checks == [pytest.approx(0.075)] and not task.sleeps


def test_on_update_sees_every_answer() -> None:
    seen: list[tuple[str, float]] = []
    task = SimTask(2.0)
    task.run(on_update=lambda s, e: seen.append((s.status, e)))
    assert len(seen) == len(task.checks) and seen[-1][0] == "succeeded"
