"""Waiting for a task: an adaptive schedule, written once for every caller.

CreatOK's own client polls every 3 s, so a 2 s task is seen done after ~3 s.
We poll quickly at first and back off in proportion to the time already
waited, which finds short tasks within a fraction of a second while making
fewer requests than a fixed 3 s poller over a minute. A ``progress`` hint in
the status narrows the next wait to the estimated finish; ``Retry-After`` is
always honoured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._flow import Flow, Sleep
from .errors import TaskTimeoutError

if TYPE_CHECKING:
    from .client import CreatokAPI, TaskStatus

FIRST_DELAY = 0.25
"""Shortest pause between two status checks (seconds)."""

GROWTH = 0.3
"""Later pauses are this share of the time waited so far..."""

MAX_DELAY = 10.0
"""...but never longer than this."""

ETA_MARGIN = 0.1
"""How long after the estimated finish we look again."""


def next_delay(
    elapsed: float,
    *,
    progress: float | None = None,
    retry_after: float | None = None,
    remaining: float | None = None,
) -> float:
    """Seconds to wait before the next status check."""
    delay = min(MAX_DELAY, max(FIRST_DELAY, GROWTH * elapsed))
    if progress is not None and 0 < progress < 100 and elapsed > 0:
        eta = elapsed * (100 - progress) / progress
        delay = min(delay, max(FIRST_DELAY / 2, eta + ETA_MARGIN))
    if retry_after is not None:
        delay = max(delay, retry_after)
    if remaining is not None:
        delay = max(0.0, min(delay, remaining))
    return delay


def wait_for_task(
    api: CreatokAPI,
    task_id: str,
    *,
    timeout: float,
    on_update: Callable[[TaskStatus, float], None] | None = None,
    started_at: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[TaskStatus]:
    """Poll until the task is terminal; raise :class:`TaskTimeoutError` at ``timeout``.

    ``on_update(status, elapsed)`` runs after every check, so callers can report
    progress; it decides itself whether anything changed.
    """
    start = started_at if started_at is not None else clock()
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
        yield Sleep(
            next_delay(
                elapsed,
                progress=status.progress,
                retry_after=status.retry_after,
                remaining=remaining,
            )
        )
