"""A batch run again: which requests are kept, followed or asked again, under which key."""

from __future__ import annotations

from typing import Any

import pytest

from creatok_graph.batch_rounds import next_key, plan

REQUEST = {"prompt": "a fox", "model": "m", "resolution": "2K", "n": 1, "aspect_ratio": None}


def earlier(status: str | None, task_id: str | None = None, run_id: str = "cat-1",
            **error: Any) -> dict[str, Any]:
    return {**REQUEST, "index": 1, "run_id": run_id, "status": status, "task_id": task_id,
            "images": [{"url": "u"}] if status == "succeeded" else [],
            "error": error or None}


@pytest.mark.parametrize(("before", "key", "kept", "followed", "asked"), [
    (earlier("succeeded", "t1"), "cat-1", True, False, False),
    (earlier("succeeded", "t9", run_id="cat-1.2"), "cat-1.2", True, False, False),
    (earlier("cancelled"), "cat-1", True, False, False),  # declined: stays declined
    (earlier("failed", "t1"), "cat-1.2", False, False, True),  # a new attempt, a new key
    (earlier("failed", "t2", run_id="cat-1.2"), "cat-1.3", False, False, True),
    (earlier("timeout", "t1"), "cat-1", False, True, False),  # still running: followed
    (earlier("api_error", kind="api_error"), "cat-1", False, False, True),  # refused
    # stopped in doubt: asked again under the same key (the ledger asks before any send)
    (earlier("cancelled", kind="unknown_outcome"), "cat-1", False, False, True),
    (None, "cat-1", False, False, False),  # nothing earlier: a new request
    ({**earlier("failed", "t1"), "prompt": "a cat"}, "cat-1", False, False, False),  # another
])
def test_a_request_run_again(before: dict[str, Any] | None, key: str, kept: bool,
                             followed: bool, asked: bool) -> None:
    got_key, added = plan("cat", 1, REQUEST, before)
    assert got_key == key
    assert ("done" in added) is kept
    assert bool(added.get("follow")) is followed
    assert ("earlier" in added) is asked
    if asked:  # a "no" this time leaves it as it ended, under the key it ended with
        assert added["earlier"]["status"] == before["status"]  # type: ignore[index]
        assert added["earlier"]["key"] == before["run_id"]  # type: ignore[index]
    if key != "cat-1":
        assert added["key"] == key


def test_attempt_keys_count_up_and_never_reuse_a_key() -> None:
    assert next_key("cat", 1, "cat-1") == "cat-1.2"
    assert next_key("cat", 1, "cat-1.2") == "cat-1.3"
    assert next_key("cat", 1, None) == "cat-1.2"
    assert next_key("cat-1", 2, "cat-1-2") == "cat-1-2.2"
