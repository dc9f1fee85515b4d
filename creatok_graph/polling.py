"""Waiting for a task: one wait loop for every caller, written once.

CreatOK's own client checks at once, then every 3 s (3.15 s with a 150 ms round
trip), so a 2 s task is seen done after ~3 s and a 60 s task costs 21 status
requests. Ours:

- **No history, no hint**: checks at 0.5 and 1.5 s, then every ``GAP`` (3.25) s: a
  short task is seen within ~1 s, a 60 s task costs 20 requests, and the mean lag of
  longer tasks is no worse than that of a 3 s loop (``docs/performance.md``).
- **History** (how long tasks of the same kind took, see ``timings``): the budget is
  spent around the expected finish, a few checks inside the window where earlier tasks
  finished, sparse checks before it; a task later than usual falls back to ``GAP``.
- **Side by side** (``peers``, see ``timings.KindPeers``): waits for tasks of one kind in
  one process (a batch's items, concurrent runs) split the work of looking: the first
  keeps the early checks, the others spread theirs over the gap, and the first to see
  its task done wakes the others, which look at once (within the budget). 200 tasks of
  2 s submitted together are seen done at ~2 s, not at the 4.75 s check.
- **Hints**: ``progress`` (read only when its unit is unambiguous: 0-1 or 0-100) or a
  server ETA (``eta_seconds``...) can bring a check forward; ``Retry-After`` always
  pushes it back; no pause runs past the caller's deadline.
- **Fixed interval** (``interval=``, ``CREATOK_POLL_INTERVAL``): check at once, then
  every ``interval`` s (longer when ``Retry-After`` says so).
- **Budget**: never more checks than ``BUDGET_BURST + BUDGET_RATE * elapsed``, i.e. at
  most 20 over a 60 s task, whatever the hints or the history say.
- **Transient failures** (5xx, 429, connection trouble, after the client's own retries)
  are waited out with backoff: only a definite answer or the deadline ends the wait.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from . import _retry
from ._flow import Flow, Nap, Signal, Sleep
from .errors import APIConnectionError, RateLimitError, ServerError, TaskTimeoutError

if TYPE_CHECKING:
    from .client import CreatokAPI, TaskStatus

EARLY_CHECKS = (0.5, 1.5)
"""Seconds after the submit of the first checks: short tasks are seen within ~1 s."""

GAP = 3.25
"""Pause after the early checks without history: 2 + 18 checks reach 60 s (20 in all), and
the mean lag over 5-60 s tasks (1.6 s) is no worse than that of CreatOK's 3 s loop."""

SPARSE_GAP = 6.0
"""Pause before the expected window, when history says the task will not be done yet."""

WINDOW_CHECKS = 3
"""Inside the window in which earlier tasks of the same kind finished, checks come a third
of its width apart (at least three over it)..."""

WINDOW_MIN_STEP = 0.15
"""...but no closer together than this (seconds)..."""

WINDOW_MAX_STEP = 0.75
"""...and no further apart: a window learnt without history is a whole ``GAP`` wide, and
three checks over it let the next task of the kind be seen up to 1.1 s late. Each check in
the window comes one step after the previous one, so a sparse check that fell into it
takes the place of the first."""

MIN_PAUSE = 0.05
"""Shortest pause between two checks (guards against a busy loop)."""

ETA_MARGIN = 0.1
"""How long after an estimated finish we look again."""

MAX_HINT_MISSES = 3
"""A progress/ETA hint that was early this many times is not trusted any more."""

BUDGET_BURST = 3.5
BUDGET_RATE = 0.275
"""Checks allowed by elapsed ``t``: ``BUDGET_BURST + BUDGET_RATE * t`` (20 by 60 s)."""

MAX_ERROR_DELAY = 15.0
"""Longest pause after a transient status failure (unless ``Retry-After`` asks more)."""

ETA_FIELDS = ("eta_seconds", "eta", "remaining_seconds", "estimated_remaining_seconds")
"""Names under which a status answer may carry the server's seconds-to-finish estimate."""

TRANSIENT_ERRORS = (ServerError, RateLimitError, APIConnectionError)
"""Status failures that say nothing about the task: waited out until the deadline, then the
last one is raised (we could not see the task; it may still finish)."""

Window = tuple[float, float]
"""(last check that saw it running, first check that saw it done), seconds after submit."""


class Forecast(NamedTuple):
    """What history says about the next task of a kind (``timings.expected_window``)."""

    low: float
    high: float
    """The window in which it should be seen done (seconds after the submit)."""
    earliest: float | None = None
    """When the quickest task of that kind was seen done; before it, checks are sparse.
    Scattered history (a 2 s task after 60 s ones) moves it before the window, and the
    plain ``GAP`` loop covers the time in between. None: at ``low``."""


def eta_hint(raw: dict[str, Any]) -> float | None:
    """The server's seconds-to-finish estimate in a status answer, if it sent one."""
    for name in ETA_FIELDS:
        value = raw.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def progress_unit(value: float | None, unit: str | None) -> str | None:
    """The unit ``progress`` is in, learnt from the values seen so far: a value above 1
    means percent, one strictly between 0 and 1 a fraction; 0 and 1 tell nothing."""
    if unit is not None or value is None or not math.isfinite(value):
        return unit
    if 1 < value <= 100:
        return "percent"
    if 0 < value < 1:
        return "fraction"
    return None


def progress_fraction(value: float | None, unit: str | None) -> float | None:
    """``progress`` as a share of the work done, or None when its unit is unclear.

    ``unit`` (see :func:`progress_unit`) settles the ambiguous values: 1 is 1 % or 100 %.
    Anything outside 0-100 (or 0-1 for a fraction) says nothing usable.
    """
    if value is None or not math.isfinite(value) or value <= 0:
        return None
    if unit == "percent" and value <= 100:
        return value / 100
    if unit == "fraction" and value <= 1:
        return value
    return None


class Peers(Protocol):
    """Waits for tasks of the same kind in this process (a batch's items, concurrent runs):
    one that sees its task done bumps ``signal``, and the others plan again with what it
    saw (``forecast``) instead of sleeping through it (``timings.peers_of``)."""

    signal: Signal

    def forecast(self) -> Forecast | None: ...

    def join(self) -> float:
        """Count this wait in; its phase (0 when it is the only one)."""
        ...

    def leave(self) -> None: ...


def planned_check(elapsed: float, forecast: Forecast | None = None, phase: float = 0.0) -> float:
    """When (seconds after the submit) the next check should be answered, hints aside.

    ``phase`` (0-2): one of several waits for tasks of one kind side by side (``Peers``).
    The first (phase 0) keeps the early checks; the others make none, and their first
    check falls that share of ``GAP`` after the first early one: together they look every
    ``GAP / n`` seconds, and the first to see its task done wakes the others (who then
    look when their own task should be done). Beyond 1, a wait that leaves the looking
    to others: its first check comes a gap later, unless a finish wakes it first.
    """
    early = (EARLY_CHECKS[0] + GAP * phase,) if phase else EARLY_CHECKS
    later = [t for t in early if t > elapsed + MIN_PAUSE][:1]
    if forecast is not None and elapsed < forecast.high:
        low, high, earliest = forecast
        step = min(WINDOW_MAX_STEP, max(WINDOW_MIN_STEP, (high - low) / WINDOW_CHECKS))
        # Inside the window, one step after the last check (a sparse one included).
        inside = low + step if elapsed < low else elapsed + step
        earliest = low if earliest is None else earliest
        if elapsed + MIN_PAUSE < earliest:  # nothing of this kind was done this soon
            return min(elapsed + SPARSE_GAP, max(earliest, elapsed + MIN_PAUSE), inside)
        return min(elapsed + GAP, inside)  # done this soon before: the plain loop
    return later[0] if later else elapsed + GAP


def budget_allows_at(checks: int) -> float:
    """The earliest elapsed time at which check number ``checks + 1`` is within budget."""
    return max(0.0, (checks + 1 - BUDGET_BURST) / BUDGET_RATE)


def _pause_until(target: float, now: float, round_trip: float, checks: int) -> float:
    """The pause after which a request sent at ``now`` is seen by the server at ``target``
    (half a round trip after it leaves), and which keeps within the budget."""
    return max(MIN_PAUSE, target - now - round_trip / 2, budget_allows_at(checks) - now)


def hinted_check(elapsed: float, fraction: float | None, eta: float | None) -> float | None:
    """When a hint says the task will be done (seconds after the submit), if it says so."""
    hints = []
    if fraction is not None and elapsed > 0:
        hints.append(elapsed / fraction + ETA_MARGIN)  # linear extrapolation
    if eta is not None:
        hints.append(elapsed + eta + ETA_MARGIN)
    return min(hints) if hints else None


def wait_for_task(
    api: CreatokAPI,
    task_id: str,
    *,
    timeout: float,
    on_update: Callable[[TaskStatus, float], None] | None = None,
    started_at: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    interval: float | None = None,
    expected: Forecast | None = None,
    peers: Peers | None = None,
) -> Flow[TaskStatus]:
    """Poll until the task is terminal; raise :class:`TaskTimeoutError` at ``timeout``
    (or, when the status checks were failing then, the last failure: see ``TRANSIENT_ERRORS``).

    ``started_at``: when the task was submitted (``clock`` time); without it the task's
    age is unknown (a recovery check) and the first check is made at once.
    ``interval``: a fixed pause instead of the adaptive schedule. ``expected``: when
    tasks of this kind finished before (``timings``); ``peers``: the other waits for
    tasks of this kind right now, whose finishes wake this one (see :class:`Peers`).
    ``on_update(status, elapsed)`` runs after every answer so callers can report
    progress; ``elapsed`` is when the server looked (mid-way through the exchange), and
    every planned time here is in those terms, so a round trip shifts nothing. Hints
    that brought a check forward and were wrong ``MAX_HINT_MISSES`` times (a task
    stalled at 99 %) are ignored from then on.
    """
    if peers is not None and interval is None:
        phase = peers.join()
        try:
            return (yield from _wait(api, task_id, timeout, on_update, started_at, clock,
                                     interval, expected, peers, phase))
        finally:
            peers.leave()
    return (yield from _wait(api, task_id, timeout, on_update, started_at, clock, interval,
                             expected, None, 0.0))


def _wait(
    api: CreatokAPI, task_id: str, timeout: float,
    on_update: Callable[[TaskStatus, float], None] | None, started_at: float | None,
    clock: Callable[[], float], interval: float | None, expected: Forecast | None,
    peers: Peers | None, phase: float,
) -> Flow[TaskStatus]:
    start = started_at if started_at is not None else clock()
    checks = misses = errors = 0
    hinted = False
    unit: str | None = None  # of progress, once a value has told it
    status: TaskStatus | None = None
    round_trip = 0.0
    elapsed = clock() - start
    if started_at is not None and interval is None:
        first = planned_check(-1.0, expected, phase)
        if elapsed < first and peers is not None:  # a peer's finish may come first
            expected = yield from _nap(peers, expected, start, clock, first, -1.0, checks,
                                       round_trip, timeout)
        elif elapsed < first:  # just submitted: nothing to see before the first planned check
            yield Sleep(min(first - elapsed, max(0.0, timeout - elapsed)))
    while True:
        sent = clock()
        try:
            status = yield from api.get_status(task_id)
        except TRANSIENT_ERRORS as exc:
            elapsed = clock() - start
            remaining = timeout - elapsed
            if remaining <= 0:  # the outage outlasted the wait: say so (the task id is kept)
                raise
            pause = min(MAX_ERROR_DELAY, _retry.backoff_delay(errors) * 2)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                pause = max(pause, retry_after)
            errors += 1
            yield Sleep(min(pause, remaining))
            continue
        errors = 0
        checks += 1
        now = clock()
        round_trip = now - sent
        elapsed = (sent + now) / 2 - start  # when the server looked: half a round trip ago
        if on_update is not None:
            on_update(status, elapsed)
        if status.is_terminal:
            return status
        remaining = timeout - (now - start)
        if remaining <= 0:
            raise TaskTimeoutError(
                f"task {task_id} is still {status.status} after {int(elapsed)} s",
                task_id=task_id,
                last_status=status,
            )
        if interval is not None:
            pause = interval
        else:
            misses += hinted  # the hint said "done by now" and it was not
            unit = progress_unit(status.progress, unit)
            target = planned_check(elapsed, expected, phase)
            hint = hinted_check(elapsed, progress_fraction(status.progress, unit),
                                eta_hint(status.raw))
            hinted = hint is not None and hint < target and misses < MAX_HINT_MISSES
            if hint is not None and hinted:
                target = max(hint, elapsed + MIN_PAUSE)
            pause = _pause_until(target, now - start, round_trip, checks)
        if status.retry_after is not None:
            pause = max(pause, status.retry_after)
        if peers is None or interval is not None or status.retry_after is not None:
            yield Sleep(max(0.0, min(pause, remaining)))
        else:
            expected = yield from _nap(peers, expected, start, clock, now - start + pause,
                                       elapsed, checks, round_trip, timeout)


def _nap(
    peers: Peers, expected: Forecast | None, start: float, clock: Callable[[], float],
    until: float, last: float, checks: int, round_trip: float, timeout: float,
) -> Flow[Forecast | None]:
    """Sleep until ``until`` (seconds after the submit), or less: when another task of this
    kind is seen done meanwhile, plan again with its finish, and look at once if ours
    should be done by now too and was not looked at since (``last``: when it was), within
    the budget. The forecast to go on with."""
    seen = peers.signal.version
    while True:
        now = clock() - start
        yield Nap(max(0.0, min(until, timeout) - now), peers.signal, seen)
        if peers.signal.version == seen:
            return expected
        seen = peers.signal.version
        expected = peers.forecast() or expected
        now = clock() - start
        if expected is None or last >= expected.high:  # seen running after theirs ended
            continue
        target = now if now >= expected.low else planned_check(now, expected)
        until = min(until, now + _pause_until(target, now, round_trip, checks))
