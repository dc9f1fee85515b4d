"""How long finished tasks took, per model, resolution and count: learned waiting.

Without a hint from the server (the contract promises none), the best a poller can do
is to check often enough everywhere. With history it can do better: tasks of the same
kind take about as long as last time, so ``polling`` spends its checks around that
moment. Each finished task leaves the window in which it finished (last check that saw
it running, first check that saw it done) in the run's LangGraph store, so the CLI's
SQLite database carries it from one process to the next. The windows of the last few
tasks narrow each other down: a steady task length is seen done within ~0.25 s from
the third run on.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import polling
from ._flow import Dual, Flow
from .polling import Forecast, Window

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from .client import CreatokAPI, TaskStatus

logger = logging.getLogger(__name__)

NAMESPACE = ("creatok", "task_timings")
MAX_SAMPLES = 8
"""Windows kept per kind of task: recent enough to follow a service getting slower."""


def timing_key(request: Mapping[str, Any]) -> str | None:
    """``model|resolution|n`` of a request, or None when one of them is unknown."""
    parts = [request.get("model"), request.get("resolution"), request.get("n")]
    if any(part in (None, "") for part in parts):
        return None
    return "|".join(str(part) for part in parts)


def expected_window(samples: list[list[float]]) -> Forecast | None:
    """Where the next task of this kind should finish, from earlier finish windows.

    Windows that agree (steady task length) are intersected; otherwise the medians of
    their ends are used, so one odd task does not move the estimate much, and the
    quickest task seen says from when on the plain loop must cover a quick one again.
    """
    windows = [(float(lo), float(hi)) for lo, hi in samples if 0 <= lo < hi]
    if not windows:
        return None
    earliest = min(hi for _, hi in windows)
    low = max(lo for lo, _ in windows)
    high = min(hi for _, hi in windows)
    if low < high:
        return Forecast(low, high, earliest)
    low = statistics.median(lo for lo, _ in windows)
    high = statistics.median(hi for _, hi in windows)
    return Forecast(low, high if low < high else low + 0.5, earliest)


def load(store: BaseStore, key: str) -> Flow[Forecast | None]:
    """The expected window of ``key`` from the store (None without history)."""
    item = yield Dual(store.get, store.aget, (NAMESPACE, key))
    samples = (item.value or {}).get("samples") if item is not None else None
    return expected_window(samples) if isinstance(samples, list) else None


def record(store: BaseStore, key: str, window: Window) -> Flow[None]:
    """Add one finished task's window to ``key``'s history (the last ``MAX_SAMPLES``)."""
    item = yield Dual(store.get, store.aget, (NAMESPACE, key))
    samples = (item.value or {}).get("samples") if item is not None else None
    kept = [s for s in samples if isinstance(s, list) and len(s) == 2] if samples else []
    kept = [*kept, [round(window[0], 3), round(window[1], 3)]][-MAX_SAMPLES:]
    yield Dual(store.put, store.aput, (NAMESPACE, key, {"samples": kept}))


def wait_and_learn(
    api: CreatokAPI,
    task_id: str,
    store: BaseStore | None,
    request: Mapping[str, Any],
    *,
    timeout: float,
    on_update: Callable[[TaskStatus, float], None] | None = None,
    started_at: float | None = None,
    interval: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[TaskStatus]:
    """``polling.wait_for_task`` with this kind of task's history, then add to it.

    Only a wait timed from the submit (``started_at``) teaches anything; history is a
    help, never a reason to fail: a store error only costs the learning.
    """
    key = timing_key(request) if store is not None and started_at is not None else None
    expected: Forecast | None = None
    if store is not None and key is not None and interval is None:
        try:
            expected = yield from load(store, key)
        except Exception:  # learning is best effort: a store error costs only the history
            logger.warning("could not read task timings", exc_info=True)
    window = [0.0, -1.0]  # [last seen running, first seen done]

    def observe(status: TaskStatus, elapsed: float) -> None:
        window[1 if status.is_terminal else 0] = elapsed
        if on_update is not None:
            on_update(status, elapsed)

    result = yield from polling.wait_for_task(
        api, task_id, timeout=timeout, on_update=observe, started_at=started_at,
        interval=interval, expected=expected, clock=clock,
    )
    if store is not None and key is not None and result.status == "succeeded" and window[1] >= 0:
        try:
            yield from record(store, key, (window[0], window[1]))
        except Exception:  # as above
            logger.warning("could not save task timings", exc_info=True)
    return result
