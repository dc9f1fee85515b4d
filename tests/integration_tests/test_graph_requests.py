"""One request per generation: what a new request, an edit or a reused run id must (not) keep."""

from __future__ import annotations

import copy
import sqlite3
from typing import Any

import httpx
import pytest
from graph_support import APPROVE, PROMPT, Harness, action_of, edit, last_text

from creatok_graph.capabilities import MAX_PROMPT_CHARS
from creatok_graph.client import STATUS_PATH
from creatok_graph.connections import GraphHttp
from creatok_graph.emulator.server import load_capabilities


def capabilities_with_default_resolution(model: str, resolution: str) -> dict[str, Any]:
    """The emulator's capabilities, with ``model`` the default and ``resolution`` its own
    default: a resolution the other models do not all offer."""
    caps = copy.deepcopy(load_capabilities())
    image = caps["data"]["capabilities"]["image"]
    image["default_model"] = model
    for entry in image["models"]:
        if entry["id"] == model:
            entry["defaults"]["resolution"] = resolution
    return caps


# -- an edit of the model alone ------------------------------------------------------------


@pytest.mark.parametrize("whole_args", [False, True], ids=["model-only", "every-arg-sent-back"])
async def test_an_edit_of_the_model_takes_that_models_defaults(
    h1: Harness, emulator_factory: Any, whole_args: bool
) -> None:
    """nano-banana-2 defaults to 1K here; seedream offers 2K and 4K only (default 2K)."""
    caps = capabilities_with_default_resolution("nano-banana-2", "1K")
    h1.use(emulator_factory(capabilities=caps, task_seconds=0.0))
    first = action_of(await h1.invoke({"prompt": PROMPT}))
    assert (first["args"]["model"], first["args"]["resolution"]) == ("nano-banana-2", "1K")
    args = {**first["args"], "model": "seedream-5.0-lite"} if whole_args else {
        "model": "seedream-5.0-lite"}
    second = action_of(await h1.resume(edit(**args)))
    assert (second["args"]["model"], second["args"]["resolution"]) == ("seedream-5.0-lite", "2K")
    assert "can't be used" not in second["description"]
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    task = h1.emulator.get_task(done["task_id"])
    assert task is not None and (task["model"], task["resolution"]) == ("seedream-5.0-lite", "2K")


async def test_an_edit_keeps_what_the_person_chose(h1: Harness, emulator_factory: Any) -> None:
    caps = capabilities_with_default_resolution("nano-banana-2", "1K")
    h1.use(emulator_factory(capabilities=caps, task_seconds=0.0))
    await h1.invoke({"prompt": PROMPT, "resolution": "4K", "n": 2})
    second = action_of(await h1.resume(edit(model="seedream-5.0-lite")))
    assert (second["args"]["resolution"], second["args"]["n"]) == ("4K", 2)


# -- answers the approval cannot use ------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"decisions": [{"type": "approved"}]}, "approved"),
        ({"foo": 1}, "type"),
        ({"decisions": []}, "got 0"),
        ({"decisions": [{"type": "edit"}]}, "edited_action"),
        ({"decisions": "approve"}, "list"),
        (42, "int"),
    ],
)
async def test_a_malformed_answer_asks_again_and_says_why(
    h1: Harness, answer: Any, named: str
) -> None:
    await h1.invoke({"prompt": PROMPT})
    again = await h1.resume(answer)
    action = action_of(again)  # asked again: never cancelled, nothing charged
    first_line = action["description"].splitlines()[0]
    assert "can't be used" in first_line and named in first_line, first_line
    assert "Nothing has been generated or charged" in first_line
    assert h1.stats()["submit_requests"] == 0
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    assert h1.stats()["submits"] == 1


# -- a run id names one request ---------------------------------------------------------------


async def test_another_prompt_under_a_used_run_id_is_refused_at_once(h2: Harness) -> None:
    await h2.invoke({"prompt": PROMPT, "run_id": "shared"}, "t1")
    first = await h2.resume(APPROVE, "t1")
    assert first["status"] == "succeeded"
    before = (h2.root / "shared" / "outputs" / "result.json").read_bytes()
    stats = h2.stats()

    other = await h2.invoke({"prompt": "a lighthouse in a storm, oil painting", "run_id": "shared"},
                            "t2")
    assert "__interrupt__" not in other  # refused before anything is asked
    assert other["status"] == "invalid_request"
    assert other["error"]["reason"] == "run_id_used"
    assert "shared" in last_text(other) and "Nothing was charged" in last_text(other)
    assert other["artifacts_dir"] is None
    assert h2.stats()["submit_requests"] == stats["submit_requests"]
    assert h2.stats()["capabilities"] == stats["capabilities"]  # not even that
    assert (h2.root / "shared" / "outputs" / "result.json").read_bytes() == before


async def test_other_settings_under_a_used_run_id_are_refused_before_the_approval(
    h1: Harness,
) -> None:
    await h1.invoke({"prompt": PROMPT, "run_id": "shared"}, "t1")
    await h1.resume(APPROVE, "t1")
    before = h1.result_json("shared")
    other = await h1.invoke({"prompt": PROMPT, "n": 3, "run_id": "shared"}, "t2")
    assert "__interrupt__" not in other
    assert other["status"] == "invalid_request" and other["error"]["reason"] == "run_id_used"
    assert h1.stats()["submits"] == 1
    assert h1.result_json("shared") == before


async def test_the_same_request_under_its_run_id_follows_the_earlier_task(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT, "run_id": "shared"}, "t1")
    first = await h1.resume(APPROVE, "t1")
    before = h1.result_json("shared")
    await h1.invoke({"prompt": PROMPT, "run_id": "shared"}, "t2")
    declined = await h1.resume("no", "t2")  # a no leaves the earlier results alone
    assert declined["status"] == "cancelled" and declined["artifacts_dir"] is None
    assert h1.result_json("shared") == before
    await h1.invoke({"prompt": PROMPT, "run_id": "shared"}, "t3")
    again = await h1.resume("yes", "t3")  # a yes follows the task it already has
    assert again["status"] == "succeeded" and again["task_id"] == first["task_id"]
    assert again["images"] == first["images"]
    assert h1.stats()["submit_requests"] == 1


# -- polling ------------------------------------------------------------------------------------


class StatusReadTimeouts(httpx.BaseTransport):
    """Real HTTP, except that every status check times out while reading the answer."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.timeouts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == STATUS_PATH:
            self.timeouts += 1
            raise httpx.ReadTimeout("timed out reading the answer", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


async def test_a_read_timeout_while_polling_is_a_connection_error_not_timeout(
    h1: Harness,
) -> None:
    """``timeout`` means "we stopped waiting, the task may still finish"; a status check
    that could not be read is a connection problem (the task id is kept for a recheck)."""
    transport = StatusReadTimeouts()
    with GraphHttp(transport=transport) as http:
        h1.mode = "sync"  # the injected transport is a sync one
        h1.build(http=http)
        await h1.invoke({"prompt": PROMPT})
        done = await h1.resume(APPROVE)
    assert transport.timeouts >= 2  # the client retried the idempotent GET
    assert done["status"] == "connection_error"
    assert done["error"]["kind"] == "timeout"
    assert done["task_id"] and h1.stats()["submits"] == 1
    assert "couldn't reach CreatOK" in last_text(done)
    assert h1.result_json()["status"] == "connection_error"


# -- what a run keeps ----------------------------------------------------------------------------


def stored_bytes(db: str, thread: str) -> tuple[int, bytes]:
    """(checkpoint + metadata bytes, every stored blob) of one thread in a SQLite saver."""
    conn = sqlite3.connect(db)
    try:
        size = conn.execute(
            "SELECT SUM(LENGTH(checkpoint) + LENGTH(metadata)) FROM checkpoints "
            "WHERE thread_id = ?", (thread,)).fetchone()[0]
        blobs = [bytes(b or b"") for (b,) in conn.execute(
            "SELECT checkpoint FROM checkpoints WHERE thread_id = ? UNION ALL "
            "SELECT value FROM writes WHERE thread_id = ?", (thread, thread))]
    finally:
        conn.close()
    return int(size), b"\0".join(blobs)


async def test_a_finished_run_is_small_and_a_long_prompt_is_stored_a_few_times(
    h1_sqlite: Harness,
) -> None:
    h = h1_sqlite
    marker = "QX7-MARKER"
    short = f"a red fox in a snowy birch forest at dawn, watercolor {marker}"
    await h.invoke({"prompt": short}, "short")
    assert (await h.resume(APPROVE, "short"))["status"] == "succeeded"
    # as long as a prompt may be (longer ones are refused before any call)
    long = (f"{marker} " + "a red fox in a snowy birch forest at dawn, " * 100)[:MAX_PROMPT_CHARS]
    assert len(long) == MAX_PROMPT_CHARS
    await h.invoke({"prompt": long}, "long")
    assert (await h.resume(APPROVE, "long"))["status"] == "succeeded"

    assert h.db_path is not None
    short_size, short_blobs = stored_bytes(str(h.db_path), "short")
    _, long_blobs = stored_bytes(str(h.db_path), "long")
    assert short_size <= 16 * 1024, short_size
    copies = long_blobs.count(marker.encode())
    assert copies == short_blobs.count(marker.encode())  # the same few places, whatever size
    assert copies <= 10, copies
    # what the long prompt adds is those few copies of it, nothing per step or per poll
    assert len(long_blobs) - len(short_blobs) < (copies + 1) * (len(long) - len(short))
