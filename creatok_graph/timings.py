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
import math
import statistics
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import polling
from ._flow import Dual, Flow, Signal
from .polling import Forecast, Window

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from .client import CreatokAPI, TaskStatus

logger = logging.getLogger(__name__)

NAMESPACE = ("creatok", "task_timings")
MAX_SAMPLES = 8
"""Windows kept per kind of task: recent enough to follow a service getting slower."""
WAKE_EVERY = 0.2
"""Seconds between two wake-ups of the waits of one kind (finishes in between wait)."""
GOLDEN = 0.6180339887498949
"""Phase step between waits side by side: any number of them spread evenly (Weyl)."""
PROBES = 16
"""Waits of one kind side by side that look before any of them has seen its task done;
the others leave the looking to them and are woken. 16 over the 3.25 s gap look every
0.2 s (as often as a finish wakes the others, ``WAKE_EVERY``); with 200 all looking, a
batch of 200 two-second tasks made 280-410 status requests instead of ~210."""


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
    samples = yield from _samples(store, key)
    return expected_window(samples)


def _samples(store: BaseStore, key: str) -> Flow[list[list[float]]]:
    item = yield Dual(store.get, store.aget, (NAMESPACE, key))
    samples = (item.value or {}).get("samples") if item is not None else None
    return [s for s in samples if isinstance(s, list) and len(s) == 2] if samples else []


class KindPeers:
    """The waits for tasks of one kind in this process, and what the finished ones saw.

    200 items of a batch (or 200 runs) submitted together have no history yet; the
    first to see its task done tells the others, which look again at once instead of
    at their next planned check (``polling.Peers``).
    """

    def __init__(self) -> None:
        self.signal = Signal()
        self.windows: list[list[float]] = []
        self.stored: list[list[float]] = []
        self.waiting = 0
        self._lock = threading.Lock()
        self._forecast: tuple[Forecast | None] | None = None
        self._last_wake = -math.inf
        self._wake_pending = False
        self._burst = 0
        """Tasks seen done since the waits of this kind were last all over."""

    def remember(self, stored: list[list[float]]) -> None:
        """The store's history of this kind, as a new wait just read it."""
        with self._lock:
            if stored != self.stored:
                self.stored, self._forecast = stored, None

    def join(self) -> float:
        """A wait starts; its phase: 0 alone, else spread over 0-1 (golden-ratio steps),
        so however many run side by side their checks fall evenly over a gap; 1-2 beyond
        the first ``PROBES``: a gap later, unless a finish wakes it first."""
        with self._lock:
            index, self.waiting = self.waiting, self.waiting + 1
        phase = (index * GOLDEN) % 1.0
        return phase if index < PROBES else 1.0 + phase

    def leave(self) -> None:
        with self._lock:
            self.waiting = max(0, self.waiting - 1)
            if not self.waiting:
                self._burst = 0

    def finished(self, window: Window) -> bool:
        """Tell the others, at most every ``WAKE_EVERY`` seconds: 200 tasks ending together
        wake each wait a few times, not 200 times. True when the window should also go to
        the store: the first ``MAX_SAMPLES`` of a burst (the store keeps no more anyway)."""
        with self._lock:
            self.windows = [*self.windows, [window[0], window[1]]][-MAX_SAMPLES:]
            self._forecast = None
            self._burst += 1
            keep = self._burst <= MAX_SAMPLES
            if self._wake_pending:
                return keep
            wait = self._last_wake + WAKE_EVERY - time.monotonic()
            self._wake_pending = wait > 0
        if wait > 0:
            timer = threading.Timer(wait, self._wake)
            timer.daemon = True
            timer.start()
        else:
            self._wake()
        return keep

    def _wake(self) -> None:
        with self._lock:
            self._wake_pending = False
            self._last_wake = time.monotonic()
        self.signal.bump()

    def forecast(self) -> Forecast | None:
        with self._lock:
            if self._forecast is None:
                self._forecast = (expected_window([*self.stored, *self.windows][-MAX_SAMPLES:]),)
            return self._forecast[0]


_PEERS: weakref.WeakKeyDictionary[BaseStore, dict[str, KindPeers]] = weakref.WeakKeyDictionary()
_PEERS_LOCK = threading.Lock()


def peers_of(store: BaseStore, key: str) -> KindPeers:
    """This process's waits for tasks of kind ``key`` that learn in ``store`` (what one
    store's runs saw says nothing to another's: another service, another test)."""
    with _PEERS_LOCK:
        kinds = _PEERS.setdefault(store, {})
        peers = kinds.get(key)
        if peers is None:
            peers = kinds[key] = KindPeers()
        return peers


def record(store: BaseStore, key: str, window: Window) -> Flow[None]:
    """Add one finished task's window to ``key``'s history (the last ``MAX_SAMPLES``)."""
    kept = yield from _samples(store, key)
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
    peers = None
    if store is not None and key is not None and interval is None:
        peers = peers_of(store, key)
        try:
            peers.remember((yield from _samples(store, key)))
            expected = peers.forecast()
        except Exception:  # learning is best effort: a store error costs only the history
            logger.warning("could not read task timings", exc_info=True)
    window = [0.0, -1.0]  # [last seen running, first seen done]

    def observe(status: TaskStatus, elapsed: float) -> None:
        window[1 if status.is_terminal else 0] = elapsed
        if on_update is not None:
            on_update(status, elapsed)

    result = yield from polling.wait_for_task(
        api, task_id, timeout=timeout, on_update=observe, started_at=started_at,
        interval=interval, expected=expected, clock=clock, peers=peers,
    )
    if store is not None and key is not None and result.status == "succeeded" and window[1] >= 0:
        if peers is not None and not peers.finished((window[0], window[1])):
            return result  # the store has the first ones of this burst: enough to learn
        try:
            yield from record(store, key, (window[0], window[1]))
        except Exception:  # as above
            logger.warning("could not save task timings", exc_info=True)
    return result
