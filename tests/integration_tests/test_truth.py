"""Issue 13: failures named by their real cause, found by mutation testing before.

Graph tests run the real graph over HTTP against the in-process emulator; client tests
use ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from graph_support import PROMPT, Harness, last_text
from langgraph.types import Command

from creatok_graph._flow import run_sync
from creatok_graph.checkpointing import aopen_persistence, open_persistence
from creatok_graph.client import CreatokAPI
from creatok_graph.context import CreatokContext
from creatok_graph.errors import (
    APIConnectionError,
    AuthenticationError,
    CreatokError,
    RateLimitError,
    ServerError,
    is_submission_failure,
)
from creatok_graph.messages import text
from creatok_graph.replies import error_message, error_record

# -- a brand-new SQLite file, opened while another process creates its schema ---------------


def _hold_write_lock(path: Path, seconds: float) -> threading.Timer:
    """Another connection in the middle of creating the schema of a brand-new file."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE someone_elses_setup (x)")
    release = threading.Timer(seconds, lambda: (other.execute("COMMIT"), other.close()))
    release.start()
    return release


def test_a_new_sqlite_file_being_set_up_elsewhere_is_waited_for(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    release = _hold_write_lock(db, 0.5)
    try:
        with open_persistence(f"sqlite:///{db}") as p:  # was: database is locked, at once
            assert p.checkpointer.get_tuple({"configurable": {"thread_id": "t"}}) is None
    finally:
        release.join()


async def test_a_new_sqlite_file_being_set_up_elsewhere_is_waited_for_async(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.sqlite"
    release = _hold_write_lock(db, 0.5)
    try:
        async with aopen_persistence(f"sqlite:///{db}") as p:
            assert await p.store.aget(("x",), "y") is None
    finally:
        await asyncio.to_thread(release.join)


# -- the capabilities cache belongs to one key -----------------------------------------------


async def test_a_wrong_key_fails_before_the_approval_even_after_a_right_one(
    h1: Harness,
) -> None:
    first = await h1.invoke({"prompt": PROMPT}, "right")
    assert "__interrupt__" in first  # capabilities fetched (and cached) with the right key
    wrong = CreatokContext(api_key="sk-wrong", base_url=h1.emulator.base_url,
                           artifacts_dir=str(h1.root))
    done = await h1.invoke({"prompt": PROMPT}, "wrong", context=wrong)
    assert "__interrupt__" not in done  # not asked to approve on another key's capabilities
    assert done["status"] == "auth_error"
    assert h1.emulator.stats()["submit_requests"] == 0


# -- wrong input types ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "field"), [
    ({"prompt": 123}, "prompt"),
    ({"prompt": PROMPT, "reference_images": [7]}, "reference_images"),
    ({"prompt": PROMPT, "n": 2.5}, "n"),
    ({"task_id": 42}, "task_id"),
    ({"prompt": PROMPT, "wait": "yes"}, "wait"),
])
async def test_a_wrong_input_type_is_an_invalid_request(
    h1: Harness, value: dict[str, Any], field: str
) -> None:
    done = await h1.invoke(value)
    assert done["status"] == "invalid_request" and done["error"]["field"] == field
    assert field in last_text(done) and "Nothing was charged" in last_text(done)
    assert h1.emulator.stats()["submit_requests"] == 0


async def test_a_single_reference_path_names_that_file(h1: Harness, tmp_path: Path) -> None:
    missing = str(tmp_path / "sketch.png")
    done = await h1.invoke({"prompt": PROMPT, "reference_images": missing})
    assert done["status"] == "invalid_request"
    assert "sketch.png" in last_text(done)  # was: a message about a file named ""


# -- the "integration may be outdated" hint: repeated submission failures only ---------------


async def test_the_outdated_hint_follows_repeated_submission_failures_only(
    h1: Harness,
) -> None:
    h1.emulator.set_scenarios(["submit-error"])
    hint = text("en", "upgrade_link")
    for attempt, run_id in enumerate(("r1", "r2")):
        await h1.invoke({"prompt": PROMPT, "run_id": run_id})
        done = await h1.invoke(Command(resume="yes"))
        assert done["status"] == "api_error"
        assert (hint in last_text(done)) == (attempt == 1), last_text(done)
    assert "https://www.creatok.ai/agent-skills" in hint


def test_auth_network_and_server_errors_are_not_submission_failures() -> None:
    assert not is_submission_failure(AuthenticationError("no", status_code=401))
    assert not is_submission_failure(APIConnectionError("down"))
    assert not is_submission_failure(ServerError("503", status_code=503))
    assert not is_submission_failure(RateLimitError("busy", status_code=429))


# -- messages name the cause: Retry-After, the URL ------------------------------------------


def _api(handler: Any) -> tuple[CreatokAPI, httpx.Client]:
    api = CreatokAPI(api_key="sk-secret-key", base_url="http://user:pw@api.example:8443/base",
                     max_retries=0)
    return api, httpx.Client(transport=httpx.MockTransport(handler))


def _failure(handler: Any, flow: str = "status") -> CreatokError:
    api, http = _api(handler)
    with http, pytest.raises(CreatokError) as caught:
        run_sync(api.get_status("task_1") if flow == "status" else api.get_capabilities(), http)
    return caught.value


def test_a_rate_limit_message_quotes_retry_after() -> None:
    exc = _failure(lambda r: httpx.Response(429, headers={"Retry-After": "2"},
                                            json={"code": 429, "msg": "slow down"}))
    assert "in 2 s" in exc.message and "minute" not in exc.message
    said = error_message("en", error_record(exc))
    assert said == text("en", "rate_limited_after", seconds=2)


def test_a_server_error_message_quotes_retry_after() -> None:
    exc = _failure(lambda r: httpx.Response(503, headers={"Retry-After": "7"}, json={}))
    assert error_message("en", error_record(exc)) == text("en", "server_error_after", seconds=7)


def test_a_404_off_the_task_endpoint_names_the_url_without_query_or_credentials() -> None:
    exc = _failure(lambda r: httpx.Response(404, json={"code": 404, "msg": "nope"}), "caps")
    url = "http://api.example:8443/base/api/open/skills/capabilities"
    said = error_message("en", error_record(exc))
    assert said == text("en", "endpoint_not_found", url=url)
    assert "task" not in said
    task = _failure(lambda r: httpx.Response(404, json={"code": 404, "msg": "nope"}))
    said = error_message("en", error_record(task))
    assert "task_1" in said and "http://api.example:8443/base/api/open/skills/tasks/status" in said
    for exc_ in (exc, task):
        shown = str(error_record(exc_))
        assert "task_type" not in shown and "pw" not in shown and "sk-secret-key" not in shown


def test_a_connection_error_names_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    exc = _failure(refuse)
    url = "http://api.example:8443/base/api/open/skills/tasks/status"
    assert url in exc.message and "?" not in exc.message
    assert error_message("en", error_record(exc)) == text("en", "connection_error_url", url=url)


# -- the emulator can be as strict as the contract ------------------------------------------


@pytest.mark.parametrize("honour", [True, False])
def test_the_emulator_deduplicates_a_key_only_when_asked_to(
    emulator_factory: Any, honour: bool
) -> None:
    emulator = emulator_factory(task_seconds=0.0, honour_idempotency=honour)
    body = {"prompt": PROMPT, "model": "nano-banana-2", "resolution": "2K", "n": 1}
    headers = {"Authorization": f"Bearer {emulator.api_key}", "Idempotency-Key": "k-1"}
    url = emulator.base_url + "/api/open/skills/image-generation"
    ids = [httpx.post(url, json=body, headers=headers, timeout=10).json()["data"]["task_id"]
           for _ in range(2)]
    assert (ids[0] == ids[1]) is honour
    assert emulator.stats()["submits"] == (1 if honour else 2)
    assert all(t["idempotency_key"] == "k-1" for t in emulator.tasks.values())
    # and the switch is reachable over HTTP, for emulators in another process
    config = httpx.post(emulator.base_url + "/_emulator/config",
                        json={"honour_idempotency": not honour}, timeout=10).json()["data"]
    assert config["honour_idempotency"] is (not honour)
    assert emulator.honour_idempotency is (not honour)
