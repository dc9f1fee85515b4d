"""Exclusive, per-run locks that die with their process.

* ``hold``: one ``creatok-image`` process at a time per run id. Several processes started
  with the same ``--run-id`` share one LangGraph thread: racing on it, they would answer
  each other's questions and report each other's half-finished state. The first takes
  ``<run>/.lock``; the others say truthfully that another process is handling the run.
* ``try_lock``: the primitive, also used by the submission ledger around a paid request
  in flight (``<run>/.sending.lock``), so another process waits for its answer instead of
  taking it for a crash.

``flock`` locks are released by the kernel when their process dies, so a killed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .artifacts import run_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock; the ledger still sends once
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class RunBusy(Exception):
    """Another process holds this run id right now."""


def try_lock(path: Path) -> IO[str] | None:
    """``path`` opened and exclusively locked (close it to release), or None when another
    open file holds the lock. Without ``fcntl`` every lock is granted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - the open file is the lock
    if fcntl is not None:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return None
    return fh


@contextlib.contextmanager
def hold(artifacts_root: str, run_id: str) -> Iterator[None]:
    """Hold the run's lock for the duration; :class:`RunBusy` at once if it is taken."""
    lock = try_lock(run_dir(artifacts_root, run_id) / LOCK_FILE)
    if lock is None:
        raise RunBusy(run_id)
    try:
        yield
    finally:
        lock.close()


__all__ = ["LOCK_FILE", "RunBusy", "hold", "try_lock"]
