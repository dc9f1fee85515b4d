"""Run statuses are defined once (``status.RunStatus``): exit codes, replies and docs follow."""

from __future__ import annotations

from pathlib import Path

import pytest

from creatok_graph.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    TaskTimeoutError,
)
from creatok_graph.messages import text
from creatok_graph.outcome import Outcome
from creatok_graph.replies import final_message
from creatok_graph.status import (
    RUN_STATUSES,
    WAIT_ENDED,
    exit_code,
    status_for,
    task_status,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_a_request_that_timed_out_is_a_connection_problem_not_a_stopped_wait() -> None:
    assert status_for(APITimeoutError("read timed out")) == "connection_error"
    assert status_for(APIConnectionError("refused")) == "connection_error"
    assert status_for(TaskTimeoutError("still running")) == "timeout"
    assert status_for(AuthenticationError("bad key")) == "auth_error"
    assert status_for(InvalidRequestError("n")) == "invalid_request"


@pytest.mark.parametrize(("status", "code"), [
    ("succeeded", 0), ("cancelled", 2), ("invalid_request", 2), ("queued", 3), ("running", 3),
    ("failed", 1), ("timeout", 1), ("connection_error", 1), ("error", 1),
])
def test_exit_codes(status: str, code: int) -> None:
    assert exit_code(status) == code


@pytest.mark.parametrize("status", sorted(WAIT_ENDED))
def test_a_wait_for_an_accepted_task_that_ended_is_still_running(status: str) -> None:
    """Issue 13: a script can tell "stopped waiting, the task goes on" from a failure."""
    assert exit_code(status, task_id="t1") == 3
    assert exit_code(status) == 1  # no task was accepted: a failure


def test_a_stop_on_an_unknown_outcome_is_not_a_no() -> None:
    assert exit_code("cancelled") == 2
    assert exit_code("cancelled", error_kind="unknown_outcome") == 1
    assert exit_code("failed", task_id="t1") == 1


def test_every_status_has_an_exit_code_and_a_reply() -> None:
    for status in RUN_STATUSES:
        assert exit_code(status) in (0, 1, 2, 3)
        reply = final_message("en", Outcome.of({"status": status, "task_id": "t1",
                                                "error": {"kind": status, "message": "x"}}))
        assert reply and "{" not in reply, status


def test_the_docs_name_every_status() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [s for s in RUN_STATUSES if s != "error" and f"`{s}`" not in docs]
    assert missing == []


def test_task_words_map_to_ours() -> None:
    assert task_status("processing") == "running"
    assert task_status("queued") == "queued"
    assert task_status("succeeded") == "succeeded"


def test_a_stopped_wait_says_the_task_may_still_finish() -> None:
    outcome = Outcome.of({"status": "timeout", "task_id": "t1",
                          "error": {"kind": "timeout", "params": {"seconds": 600}}})
    assert final_message("en", outcome) == text("en", "timed_out", seconds=600, task_id="t1")
