"""Waiting for a task: an adaptive schedule, written once for every caller.

CreatOK's own client checks at once, then every 3 s, so a 2 s task is seen
done after ~3 s and a 60 s task costs 21 status requests. We check at once,
then quickly, and back off in proportion to the time already waited (each
pause is ``GROWTH`` of it, at most ``MAX_DELAY``): a 2 s task is seen within
~0.1 s, a 10 s task costs 10 requests and a 60 s task 20 (see ``docs/performance.md``).
A hint in the status answer (``progress`` in percent, or a server ETA such as
``eta_seconds``) can only bring the next check forward, to just after the
estimated finish; ``Retry-After`` is always honoured; no pause runs past the
caller's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._flow import Flow, Sleep
from .errors import TaskTimeoutError

if TYPE_CHECKING:
    from .client import CreatokAPI, TaskStatus

FIRST_DELAY = 0.5
"""Pause after the first checks (seconds): short tasks are seen within ~0.5 s."""

GROWTH = 0.4
"""Later pauses are this share of the time waited so far (a geometric schedule: the
n-th check is ~1.4x later than the one before, so a task of a few seconds is seen done
within ~40 % of its duration without hints)..."""

MAX_DELAY = 5.0
"""...but never longer than this: the worst lag of a long task without hints. Reached
after ~12 s, it spends the budget of CreatOK's own 3 s loop (21 checks over 60 s; we make
20) on seeing long tasks sooner rather than on saving requests."""

ETA_MARGIN = 0.1
"""How long after the estimated finish we look again."""

MIN_DELAY = FIRST_DELAY / 2
"""Shortest pause a hint can ask for (guards against a busy loop near the end)."""

MAX_HINT_MISSES = 3
"""A progress/ETA hint that was early this many times is not trusted any more."""

ETA_FIELDS = ("eta_seconds", "eta", "remaining_seconds", "estimated_remaining_seconds")
"""Names under which a status answer may carry the server's seconds-to-finish estimate."""


def next_delay(
    elapsed: float,
    *,
    progress: float | None = None,
    retry_after: float | None = None,
    remaining: float | None = None,
    eta: float | None = None,
) -> float:
    """Seconds to wait before the next status check.

    ``elapsed``: seconds since the task was submitted. ``progress``: percent done, as
    the status reported it. ``eta``: the server's own estimate of seconds left.
    ``retry_after``: the server's ``Retry-After``. ``remaining``: seconds until the
    caller stops waiting.
    """
    delay = min(MAX_DELAY, max(FIRST_DELAY, GROWTH * elapsed))
    if progress is not None and 0 < progress < 100 and elapsed > 0:
        # Linear extrapolation. Progress counted only after a queue makes it err late
        # (bounded by the plain schedule); a stalling task makes it err early, which
        # costs a few extra checks at MIN_DELAY intervals at most.
        left = elapsed * (100 - progress) / progress
        delay = min(delay, max(MIN_DELAY, left + ETA_MARGIN))
    if eta is not None and eta >= 0:
        delay = min(delay, max(MIN_DELAY, eta + ETA_MARGIN))
    if retry_after is not None:
        delay = max(delay, retry_after)
    if remaining is not None:
        delay = max(0.0, min(delay, remaining))
    return delay


def eta_hint(raw: dict[str, Any]) -> float | None:
    """The server's seconds-to-finish estimate in a status answer, if it sent one."""
    for name in ETA_FIELDS:
        value = raw.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def wait_for_task(
    api: CreatokAPI,
    task_id: str,
    *,
    timeout: float,
    on_update: Callable[[TaskStatus, float], None] | None = None,
    started_at: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    interval: float | None = None,
) -> Flow[TaskStatus]:
    """Poll until the task is terminal; raise :class:`TaskTimeoutError` at ``timeout``.

    ``on_update(status, elapsed)`` runs after every check, so callers can report
    progress; it decides itself whether anything changed. Hints that brought a
    check forward and were wrong ``MAX_HINT_MISSES`` times (a task stalled at
    99 %) are ignored from then on, so a stuck task costs no more than the plain
    schedule. ``interval`` replaces the schedule with fixed pauses (``Retry-After`` still wins).
    """
    start = started_at if started_at is not None else clock()
    misses = 0
    hinted = False
    while True:
        status: TaskStatus = yield from api.get_status(task_id)
        elapsed = clock() - start
        if on_update is not None:
            on_update(status, elapsed)
        if status.is_terminal:
            return status
        remaining = timeout - elapsed
        if remaining <= 0:
            raise TaskTimeoutError(
                f"task {task_id} is still {status.status} after {int(elapsed)} s",
                task_id=task_id,
                last_status=status,
            )
        if interval is not None:
            yield Sleep(max(interval, status.retry_after or 0.0))
            continue
        misses += hinted  # the hint said "done by now" and it was not
        delay = plain = next_delay(elapsed, retry_after=status.retry_after, remaining=remaining)
        if misses < MAX_HINT_MISSES:
            delay = next_delay(
                elapsed,
                progress=status.progress,
                retry_after=status.retry_after,
                remaining=remaining,
                eta=eta_hint(status.raw),
            )
        hinted = delay < plain
        yield Sleep(delay)
