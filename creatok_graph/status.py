"""How a run can end, defined once: the CLI's exit codes, replies and docs derive from here.

A *run status* says where the person stands (``succeeded``, ``timeout`` = we stopped
waiting and the task may still finish...). An *error kind* (``errors.CreatokError.kind``)
says what went wrong on the wire. They are different things: a read timeout while
polling is the error kind ``timeout`` but ends the run as ``connection_error``, because
nobody decided to stop waiting.
"""

from __future__ import annotations

from typing import Literal, get_args

from .errors import APITimeoutError, CreatokError

RunStatus = Literal[
    "succeeded",
    "failed",
    "queued",
    "running",
    "cancelled",
    "timeout",
    "invalid_request",
    "auth_error",
    "connection_error",
    "server_error",
    "rate_limited",
    "api_error",
    "contract_error",
    "invalid_response",
    "not_found",
    "upload_error",
    "configuration_error",
    "partial",
    "error",
]
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)

FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
"""The task (or the request) is over for good: re-using its run id only reprints it."""

IN_PROGRESS: frozenset[str] = frozenset({"queued", "running"})
"""A recovery check without waiting found the task still being made."""

DECLINED_OR_INVALID: frozenset[str] = frozenset({"cancelled", "invalid_request"})
"""The person said no, or the request could not be sent: nothing was charged."""

WAIT_ENDED: frozenset[str] = frozenset({"timeout", "server_error", "connection_error",
                                        "rate_limited"})
"""How the wait for an accepted task can end without an answer about the task itself: it
is still running as far as anyone knows, and the same run id continues it."""

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PENDING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
"""``creatok-image`` exit codes (documented in its ``--help``)."""


def exit_code(status: str | None, *, task_id: str | None = None,
              error_kind: str | None = None) -> int:
    """The CLI's exit code for a run that ended with ``status``.

    ``task_id``: the task CreatOK accepted, if any; a wait for it that ended (``WAIT_ENDED``)
    is "still running", not a failure (issue 13). ``error_kind`` ``unknown_outcome``: a paid
    request that may have been charged was left unresolved, which is not a "no".
    """
    if status == "succeeded":
        return EXIT_OK
    if status in WAIT_ENDED and task_id:
        return EXIT_PENDING
    if error_kind == "unknown_outcome":
        return EXIT_ERROR
    if status in DECLINED_OR_INVALID:
        return EXIT_USAGE
    if status in IN_PROGRESS:
        return EXIT_PENDING
    return EXIT_ERROR  # failed and every other error status


def status_for(exc: CreatokError) -> RunStatus:
    """The run status an error ends a run with."""
    if isinstance(exc, APITimeoutError):
        return "connection_error"  # one request timed out; we did not stop waiting
    kind = exc.kind
    return kind if kind in RUN_STATUSES else "error"  # type: ignore[return-value]


def task_status(raw_status: str) -> RunStatus:
    """CreatOK's word for a task's state, as one of ours ("pending", "processing" -> running)."""
    if raw_status in ("succeeded", "failed") or raw_status in IN_PROGRESS:
        return raw_status  # type: ignore[return-value]
    return "running"
