"""One ``creatok-image`` process at a time per run id.

Several processes started with the same ``--run-id`` share one LangGraph thread: racing on
it, they would answer each other's questions and report each other's half-finished state.
The first takes an exclusive lock on ``<run>/.lock``; the others say truthfully that
another process is handling the run. ``flock`` locks die with their process, so a killed
run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from .artifacts import run_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock; the ledger still sends once
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class RunBusy(Exception):
    """Another process holds this run id right now."""


@contextlib.contextmanager
def hold(artifacts_root: str, run_id: str) -> Iterator[None]:
    """Hold the run's lock for the duration; :class:`RunBusy` at once if it is taken."""
    path = run_dir(artifacts_root, run_id) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunBusy(run_id) from None
        yield
    finally:
        os.close(fd)
