"""The graph served by the LangGraph API (``langgraph dev``), driven with the SDK.

One ``langgraph dev`` for the whole module (start-up takes seconds), pointed at an
in-process emulator through its environment (``CREATOK_BASE_URL``/``CREATOK_API_KEY``),
with every LangChain/LangSmith network feature switched off. ``langgraph dev`` fails
a run with ``BlockingError`` when an async node makes a blocking call, so every path
(approval, edit, reject, reference upload, recovery, failed task) runs here once.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from _helpers import (
    OFFLINE_ENV,
    PROMPT,
    REPO_ROOT,
    emulator_images,
    free_port,
    stop_process_group,
    write_png,
)
from langgraph_sdk import get_client

from creatok_graph.emulator import Emulator
from creatok_graph.emulator.png import gradient_png

pytestmark = pytest.mark.slow

GRAPH = "generate_image"
START_TIMEOUT = 90.0
LANGGRAPH = Path(sys.executable).with_name("langgraph")


@dataclass
class Server:
    url: str
    emulator: Emulator
    artifacts: Path
    log: Path
    env: dict[str, str]

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def assert_no_blocking_calls(self) -> None:
        assert "BlockingError" not in self.log_text(), self.log_text()[-4000:]

    def submits(self) -> int:
        count: int = self.emulator.stats()["submits"]
        return count


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not LANGGRAPH.exists():
        pytest.skip(f"langgraph CLI not installed beside {sys.executable} (dev extra)")
    tmp = tmp_path_factory.mktemp("server")
    emulator = Emulator(task_seconds=0.5).start()
    port = free_port()
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "CREATOK_BASE_URL": emulator.base_url,
        "CREATOK_API_KEY": emulator.api_key,
        "CREATOK_ARTIFACTS_DIR": str(tmp / "artifacts"),
        "CREATOK_POLL_INTERVAL": "0.1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CREATOK_CHECKPOINT_URL", None)
    log = tmp / "langgraph-dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(LANGGRAPH), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
             "--port", str(port), "--config", str(REPO_ROOT / "langgraph.json")],
            # cwd: where the in-memory runtime keeps .langgraph_api/ (fresh per session)
            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    srv = Server(url, emulator, tmp / "artifacts", log, env)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited with {proc.returncode}:\n"
                            f"{srv.log_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer within {START_TIMEOUT:.0f}s:\n"
                            f"{srv.log_text()[-4000:]}")
            time.sleep(0.3)
        yield srv
    finally:
        stop_process_group(proc)
        emulator.stop()


async def stream(client: Any, thread_id: str, **kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """Run to the end (or an interrupt); the custom events and the last values."""
    custom: list[Any] = []
    values: dict[str, Any] = {}
    async for part in client.runs.stream(thread_id, GRAPH, stream_mode=["custom", "values"],
                                         **kwargs):
        assert part.event != "error", part.data  # e.g. a BlockingError fails the run
        if part.event == "custom":
            custom.append(part.data)
        elif part.event == "values" and isinstance(part.data, dict):
            values = part.data
    return custom, values


def approval(values: dict[str, Any]) -> dict[str, Any]:
    (intr,) = values["__interrupt__"]
    request: dict[str, Any] = intr["value"]["action_requests"][0]
    assert request["name"] == "generate_image"
    return request


async def check_interrupted(client: Any, thread_id: str) -> dict[str, Any]:
    """The thread as Studio shows it: interrupted, a readable approval, a response schema."""
    thread = await client.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    state = await client.threads.get_state(thread_id)
    assert state["next"] == ["confirm"]
    (intr,) = state["tasks"][0]["interrupts"]
    assert intr["response_schema"]["anyOf"]  # Studio renders a form from it
    value: dict[str, Any] = intr["value"]
    assert value["review_configs"][0]["allowed_decisions"] == ["approve", "edit", "reject"]
    description = value["action_requests"][0]["description"]
    assert "Nano Banana 2" in description and "credits" in description
    return value


def result_written(root: Path, run_id: str) -> bool:
    return (root / run_id / "outputs" / "result.json").is_file()


def check_images(server: Server, values: dict[str, Any], n: int) -> None:
    assert values["status"] == "succeeded", values
    served = emulator_images(server.emulator.base_url, server.emulator.api_key,
                             values["task_id"])
    assert len(values["images"]) == n == len(served)
    assert [i["url"] for i in values["images"]] == [i["url"] for i in served]


async def test_approve_with_yes_streams_progress(server: Server) -> None:
    client = get_client(url=server.url)
    assert any(a["graph_id"] == GRAPH for a in await client.assistants.search())
    thread_id = (await client.threads.create())["thread_id"]
    before = server.submits()

    _, values = await stream(client, thread_id, input={"prompt": PROMPT, "n": 2})
    assert approval(values)["args"]["n"] == 2
    await check_interrupted(client, thread_id)
    assert server.submits() == before

    custom, values = await stream(client, thread_id, command={"resume": "yes"})
    kinds = [event["type"] for event in custom]
    assert kinds[:2] == ["submitting", "submitted"] and kinds[-1] == "done"
    assert "progress" in kinds and all(e["source"] == "creatok" for e in custom)
    check_images(server, values, 2)
    state: Any = (await client.threads.get_state(thread_id))["values"]
    check_images(server, state, 2)
    final = state["messages"][-1]["content"]  # the text, then the pictures
    assert state["images"][0]["url"] in final[0]["text"]
    assert [b["url"] for b in final if b["type"] == "image"] == [
        i["url"] for i in state["images"]]
    assert server.submits() == before + 1
    assert result_written(Path(server.artifacts), state["run_id"])
    # Copies of the images, streamed and written off the event loop (downloads.py).
    outputs = Path(server.artifacts) / state["run_id"] / "outputs"
    async with httpx.AsyncClient() as plain:
        for image in state["images"]:
            served = (await plain.get(image["url"])).content
            assert (outputs / image["file"]).read_bytes() == served
    assert (outputs / "index.html").is_file()
    server.assert_no_blocking_calls()


async def test_decisions_reject_and_pending_second_run(server: Server) -> None:
    client = get_client(url=server.url)
    before = server.submits()

    # HITL decision: approve (another thread)
    approved = (await client.threads.create())["thread_id"]
    await stream(client, approved, input={"prompt": PROMPT, "n": 2})
    _, values = await stream(client, approved,
                             command={"resume": {"decisions": [{"type": "approve"}]}})
    check_images(server, values, 2)

    # reject
    rejected = (await client.threads.create())["thread_id"]
    await stream(client, rejected, input={"prompt": PROMPT})
    _, values = await stream(client, rejected, command={"resume": {
        "decisions": [{"type": "reject", "message": "too expensive"}]}})
    assert values["status"] == "cancelled"

    # a second run on a thread whose approval is pending submits nothing
    pending = (await client.threads.create())["thread_id"]
    await stream(client, pending, input={"prompt": PROMPT})
    _, values = await stream(client, pending, input={"prompt": PROMPT})
    approval(values)
    _, values = await stream(client, pending, input=None)
    approval(values)
    await check_interrupted(client, pending)
    assert server.submits() == before + 1  # only the approved thread
    server.assert_no_blocking_calls()


async def test_edit_with_reference_image(server: Server, tmp_path: Path) -> None:
    client = get_client(url=server.url)
    ref = write_png(tmp_path / "ref.png")
    before = server.emulator.stats()
    thread_id = (await client.threads.create())["thread_id"]
    _, values = await stream(client, thread_id,
                             input={"prompt": PROMPT, "n": 2, "reference_images": [ref]})
    assert approval(values)["args"]["reference_images"] == [ref]

    edit = {"decisions": [{"type": "edit", "edited_action": {
        "name": "generate_image", "args": {"n": 1, "aspect_ratio": "16:9"}}}]}
    _, values = await stream(client, thread_id, command={"resume": edit})
    request = approval(values)  # asked again for the edited request
    assert request["args"]["n"] == 1 and request["args"]["aspect_ratio"] == "16:9"
    assert "ref.png" in request["description"] and "16:9" in request["description"]
    assert server.emulator.stats()["uploads"] == before["uploads"]  # nothing before the yes

    custom, values = await stream(client, thread_id, command={"resume": "yes"})
    assert any(e["type"] == "upload" for e in custom)
    check_images(server, values, 1)
    after = server.emulator.stats()
    assert after["uploads"] == before["uploads"] + 1
    assert after["submits"] == before["submits"] + 1
    task = server.emulator.get_task(values["task_id"])
    assert task is not None and len(task["imageObjectKeys"]) == 1
    assert task["aspect_ratio"] == "16:9"
    server.assert_no_blocking_calls()


async def test_failed_task_then_recovery_by_task_id(server: Server) -> None:
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    await stream(client, thread_id, input={"prompt": PROMPT + " [fail]"})
    _, failed = await stream(client, thread_id, command={"resume": "yes"})
    assert failed["status"] == "failed"
    assert failed["error"]["message"]

    # a succeeded task, recovered on a fresh thread by its id alone
    done_thread = (await client.threads.create())["thread_id"]
    await stream(client, done_thread, input={"prompt": PROMPT, "n": 2})
    _, done = await stream(client, done_thread, command={"resume": "yes"})
    before = server.submits()
    for task_id, status in ((done["task_id"], "succeeded"), (failed["task_id"], "failed")):
        recovery = (await client.threads.create())["thread_id"]
        custom, values = await stream(client, recovery, input={"task_id": task_id})
        assert "__interrupt__" not in values  # nothing to approve: nothing is paid
        assert values["status"] == status and values["task_id"] == task_id
        assert any(e["type"] == "progress" for e in custom)
    check_images(server, values if status == "succeeded" else done, 2)
    assert server.submits() == before
    server.assert_no_blocking_calls()


async def test_per_run_context(server: Server, emulator: Emulator, tmp_path: Path) -> None:
    """base_url, artifacts_dir and poll_interval per run; the key stays in the server's env."""
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    context = {"base_url": emulator.base_url, "artifacts_dir": str(tmp_path / "per-run"),
               "poll_interval": 0.05}
    before = server.submits()
    await stream(client, thread_id, input={"prompt": PROMPT}, context=context)
    _, values = await stream(client, thread_id, command={"resume": "yes"}, context=context)
    assert values["status"] == "succeeded"
    assert emulator.stats()["submits"] == 1  # this run's emulator, not the server's
    assert server.submits() == before
    assert emulator.get_task(values["task_id"]) is not None
    assert result_written(tmp_path / "per-run", values["run_id"])
    server.assert_no_blocking_calls()


def test_sdk_client_example(server: Server, tmp_path: Path) -> None:
    before = server.submits()
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / "sdk_client.py"), "--url", server.url,
         "--yes", "--n", "1"],
        cwd=tmp_path, env=server.env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "status: succeeded" in proc.stdout
    assert "Shall I go ahead?" in proc.stdout
    assert server.submits() == before + 1
    server.assert_no_blocking_calls()


async def test_questions_and_error_paths(server: Server, emulator: Emulator,
                                         tmp_path: Path) -> None:
    """The other interrupts and the error endings, each once under the blocking-call detector."""
    client = get_client(url=server.url)
    context = {"base_url": emulator.base_url, "artifacts_dir": str(tmp_path / "a"),
               "poll_interval": 0.05}

    async def new_thread() -> str:
        thread_id: str = (await client.threads.create())["thread_id"]
        return thread_id

    # no prompt: asked for one; then the approval; declined
    thread_id = await new_thread()
    _, values = await stream(client, thread_id, input={}, context=context)
    assert values["__interrupt__"][0]["value"]["type"] == "question"
    _, values = await stream(client, thread_id, command={"resume": PROMPT}, context=context)
    assert approval(values)["args"]["prompt"] == PROMPT
    _, values = await stream(client, thread_id, command={"resume": "no"}, context=context)
    assert values["status"] == "cancelled"

    # a very short prompt, no chat model configured: taken as written, straight to approval
    thread_id = await new_thread()
    _, values = await stream(client, thread_id, input={"prompt": "a fox"}, context=context)
    assert approval(values)["args"]["prompt"] == "a fox"

    # a task that never finishes: the run ends with "timeout", task id kept (the limit
    # is the one the run started with: a resume cannot change it)
    emulator.set_scenarios(["stuck-task"])
    thread_id = await new_thread()
    await stream(client, thread_id, input={"prompt": PROMPT}, context={**context, "timeout": 0.5})
    _, values = await stream(client, thread_id, command={"resume": "yes"}, context=context)
    assert values["status"] == "timeout" and values["task_id"]

    # the key refused at submit time (capabilities are cached): a clear status
    emulator.set_scenarios(["unauthorized"])
    thread_id = await new_thread()
    await stream(client, thread_id, input={"prompt": PROMPT}, context=context)
    _, values = await stream(client, thread_id, command={"resume": "yes"}, context=context)
    assert values["status"] == "auth_error"
    assert "CREATOK_API_KEY" in values["messages"][-1]["content"]
    assert emulator.stats()["submits"] == 1  # only the stuck task
    server.assert_no_blocking_calls()


async def test_chat_with_a_picture_as_studio_sends_it(server: Server) -> None:
    """What Studio and chat UIs do: read the input schema, send a message with a picture,
    answer with a button, show the pictures of the final message."""
    client = get_client(url=server.url)
    (assistant,) = await client.assistants.search(graph_id=GRAPH)
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    fields = schemas["input_schema"]["properties"]
    assert fields and all(field.get("description") for field in fields.values())

    picture = base64.b64encode(gradient_png(8, 8, 3)).decode()
    message = {"role": "user", "content": [
        {"type": "text", "text": "Please draw a red fox in this style, 2 images, 16:9"},
        {"type": "image", "base64": picture, "mime_type": "image/png"},
    ]}
    thread_id = (await client.threads.create())["thread_id"]
    uploads = server.emulator.stats()["uploads"]
    _, values = await stream(client, thread_id, input={"messages": [message]})
    request = approval(values)
    assert (request["args"]["prompt"], request["args"]["n"], request["args"]["aspect_ratio"]) == (
        "a red fox in this style", 2, "16:9")
    (ref,) = request["args"]["reference_images"]
    assert "/inputs/" in ref and ref.endswith(".png")
    assert "(yes/no)" not in request["description"]  # Studio shows buttons
    state = (await client.threads.get_state(thread_id))["values"]
    assert picture[:40] not in json.dumps(state)  # the thread keeps a path, not the bytes

    _, values = await stream(client, thread_id,
                             command={"resume": {"decisions": [{"type": "approve"}]}})
    check_images(server, values, 2)
    assert server.emulator.stats()["uploads"] == uploads + 1
    final = values["messages"][-1]["content"]
    assert [b["url"] for b in final if b["type"] == "image"] == [
        i["url"] for i in values["images"]]
    server.assert_no_blocking_calls()
