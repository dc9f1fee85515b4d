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
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from _helpers import (
    OFFLINE_ENV,
    PROMPT,
    REPO_ROOT,
    STATUS_PATH,
    emulator_images,
    free_port,
    stop_process_group,
    write_png,
)
from langgraph_sdk import get_client

from creatok_graph.emulator import Emulator
from creatok_graph.emulator.png import gradient_png

pytestmark = pytest.mark.slow

CLIENT_SECRET = "sk-client-sent-SECRET-0e7b41"


class Capture:
    """An HTTP server on loopback that records every request (and its Authorization)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                capture.seen.append((self.command, self.path,
                                     self.headers.get("Authorization")))
                body = json.dumps({"code": 401, "msg": "captured", "data": None}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> Capture:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

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
    alt: Emulator
    """A second CreatOK the operator allows clients to choose (CREATOK_ALLOWED_BASE_URLS)."""
    refs: Path
    """The operator's CREATOK_REFERENCE_DIR: the only server files a client may send."""
    capture: Capture
    """A server no one allowed: must never be reached."""

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
    alt = Emulator(task_seconds=0.5).start()  # same (sandbox) key as the server's
    capture = Capture().start()
    refs = tmp / "refs"
    refs.mkdir()
    port = free_port()
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "CREATOK_BASE_URL": emulator.base_url,
        "CREATOK_API_KEY": emulator.api_key,
        "CREATOK_ARTIFACTS_DIR": str(tmp / "artifacts"),
        "CREATOK_POLL_INTERVAL": "0.1",
        "CREATOK_ALLOWED_BASE_URLS": alt.base_url,
        "CREATOK_REFERENCE_DIR": str(refs),
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
    srv = Server(url, emulator, tmp / "artifacts", log, env, alt, refs, capture)
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
        alt.stop()
        capture.stop()


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


async def test_edit_with_reference_image(server: Server) -> None:
    client = get_client(url=server.url)
    ref = write_png(server.refs / "ref.png")  # the folder the operator allows
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


async def test_per_run_context(server: Server) -> None:
    """An allowed base_url, a sub-folder and a poll interval per run; the server's key."""
    client = get_client(url=server.url)
    thread_id = (await client.threads.create())["thread_id"]
    context = {"base_url": server.alt.base_url, "artifacts_dir": "per-run",
               "poll_interval": 0.05}
    before, alt_before = server.submits(), server.alt.stats()["submits"]
    await stream(client, thread_id, input={"prompt": PROMPT}, context=context)
    _, values = await stream(client, thread_id, command={"resume": "yes"}, context=context)
    assert values["status"] == "succeeded"
    assert server.alt.stats()["submits"] == alt_before + 1  # the chosen CreatOK
    assert server.submits() == before
    assert server.alt.get_task(values["task_id"]) is not None
    assert result_written(server.artifacts / "per-run", values["run_id"])
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


async def test_questions_and_error_paths(server: Server) -> None:
    """The other interrupts and the error endings, each once under the blocking-call detector."""
    client = get_client(url=server.url)
    emulator = server.alt
    emulator.reset()
    context = {"base_url": emulator.base_url, "artifacts_dir": "a", "poll_interval": 0.05}

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

    # a task that never finishes: the run ends with "timeout" (a client's timeout is kept
    # at 1 s at least, and it is the one the run started with: a resume cannot change it),
    # task id kept
    emulator.set_scenarios(["stuck-task"])
    thread_id = await new_thread()
    await stream(client, thread_id, input={"prompt": PROMPT},
                 context={**context, "timeout": 0.01})
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
    emulator.set_scenarios([])
    server.assert_no_blocking_calls()


# -- a hostile client ------------------------------------------------------------------------


def paid_or_sent(emulator: Emulator) -> tuple[int, int, int, int]:
    stats = emulator.stats()
    return (stats["submit_requests"], stats["presign_requests"], stats["upload_requests"],
            stats["credits"])


async def refused(client: Any, field: str, **run: Any) -> dict[str, Any]:
    """Run on a fresh thread; it must end invalid_request on ``field`` with no question."""
    thread_id = (await client.threads.create())["thread_id"]
    _, values = await stream(client, thread_id, **run)
    assert "__interrupt__" not in values, values
    assert values["status"] == "invalid_request", values
    assert values["error"]["field"] == field, values["error"]
    values["thread_id"] = thread_id
    return values


async def test_a_hostile_client_reaches_nothing_it_should_not(server: Server,
                                                              tmp_path: Path) -> None:
    """The issue's attacks, sent through langgraph_sdk: the server's key goes nowhere new,
    no file outside the artifacts root is written, no server file is uploaded, nothing is
    charged, and a key sent by the client is neither used nor repeated by the graph."""
    client = get_client(url=server.url)
    before = [paid_or_sent(server.emulator), paid_or_sent(server.alt)]
    capture = server.capture

    # Studio builds its context form from this schema: nothing there asks for a key
    (assistant,) = [a for a in await client.assistants.search() if a["graph_id"] == GRAPH]
    schema = (await client.assistants.get_schemas(assistant["assistant_id"]))["context_schema"]
    assert sorted(schema["properties"]) == ["artifacts_dir", "base_url", "download",
                                            "poll_interval", "timeout"]

    # 1. redirect the key: a base URL the operator never allowed (with a key of its own)
    values = await refused(client, "base_url", input={"prompt": PROMPT},
                           context={"base_url": capture.base_url, "api_key": CLIENT_SECRET})
    text = values["messages"][-1]["content"]
    assert server.emulator.base_url in text and "CREATOK_ALLOWED_BASE_URLS" in text
    # ... and at the resume of an approval asked under allowed settings
    thread_id = (await client.threads.create())["thread_id"]
    _, values = await stream(client, thread_id, input={"prompt": PROMPT})
    approval(values)
    _, values = await stream(client, thread_id, command={"resume": "yes"},
                             context={"base_url": capture.base_url + "/"})
    assert values["status"] == "invalid_request" and values["error"]["field"] == "base_url"

    # 2. a key in the context is not used: the server's own key is (the run succeeds)
    thread_id = (await client.threads.create())["thread_id"]
    ctx = {"api_key": CLIENT_SECRET, "poll_interval": 0.001}
    status_before = server.emulator.stats()["requests"].get("GET " + STATUS_PATH, 0)
    await stream(client, thread_id, input={"prompt": PROMPT}, context=ctx)
    _, done = await stream(client, thread_id, command={"resume": "yes"}, context=ctx)
    assert done["status"] == "succeeded"
    # poll_interval 0.001 is kept at 0.5 s: a 0.5 s task takes a handful of checks, not 500
    status_checks = server.emulator.stats()["requests"].get("GET " + STATUS_PATH, 0)
    assert status_checks - status_before <= 6
    graph_saw = json.dumps(await client.threads.get_state(thread_id)) + json.dumps(
        await client.threads.get_history(thread_id, limit=100))
    assert CLIENT_SECRET not in graph_saw  # not in state, checkpoints or their metadata
    charged_ok = 1

    # 3. write outside the artifacts root
    outside = tmp_path / "outside"
    for bad in (str(outside), "../../" + outside.name, "a/../../b"):
        await refused(client, "artifacts_dir", input={"prompt": PROMPT},
                      context={"artifacts_dir": bad})
    await refused(client, "run_id", input={"prompt": PROMPT, "run_id": "../../escape"})
    assert not outside.exists() and not (server.artifacts.parent / "b").exists()
    assert not (server.artifacts.parent.parent / "escape").exists()

    # 4. upload the server's files
    (server.refs / "passwd.png").symlink_to("/etc/passwd")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n server secret")
    (server.refs / "link.png").symlink_to(tmp_path / "secret.png")
    (server.refs / "notes.png").write_text("a text file named .png")
    for path, reason in (("/etc/passwd", "reference_not_allowed"),
                         (str(tmp_path / "secret.png"), "reference_not_allowed"),
                         ("passwd.png", "reference_not_allowed"),
                         ("link.png", "reference_not_allowed"),
                         ("../refs/../../secret.png", "reference_not_allowed"),
                         ("notes.png", "reference_type")):
        values = await refused(client, "reference_images",
                               input={"prompt": PROMPT, "reference_images": [path]})
        assert values["error"]["reason"] == reason, (path, values["error"])
    # ... nor through an edit of the approval
    thread_id = (await client.threads.create())["thread_id"]
    await stream(client, thread_id, input={"prompt": PROMPT})
    edit = {"decisions": [{"type": "edit", "edited_action": {
        "name": "generate_image", "args": {"reference_images": ["/etc/passwd"]}}}]}
    _, values = await stream(client, thread_id, command={"resume": edit})
    request = approval(values)  # asked again, saying why
    assert "/etc/passwd is outside the folder" in request["description"]
    assert request["args"]["reference_images"] == []

    # 5. a prompt longer than the limit costs nothing
    await refused(client, "prompt", input={"prompt": "a fox " * 1000})

    # what was reached, sent and charged in all of the above
    assert capture.seen == []  # not one request: the server's key never left for it
    after = [paid_or_sent(server.emulator), paid_or_sent(server.alt)]
    assert after[1] == before[1]
    submits, presigns, uploads, _ = after[0]
    assert (submits, presigns, uploads) == (before[0][0] + charged_ok, before[0][1],
                                           before[0][2])
    written = [p for p in server.artifacts.rglob("*") if p.is_file()]
    assert all(CLIENT_SECRET.encode() not in p.read_bytes() for p in written)
    assert CLIENT_SECRET not in server.log_text()
    # (The LangGraph server itself keeps each run's request as sent, context included, in
    # its own storage: .langgraph_api/.langgraph_ops.pckl here. docs/deployment.md says so.)
    server.assert_no_blocking_calls()


async def test_an_allowed_reference_image_shows_what_will_be_sent(server: Server) -> None:
    """A JPEG named .png in the operator's folder: the approval names the resolved file and
    its real type; it is uploaded as image/jpeg."""
    client = get_client(url=server.url)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)
    (server.refs / "photo.png").write_bytes(jpeg)
    thread_id = (await client.threads.create())["thread_id"]
    _, values = await stream(client, thread_id,
                             input={"prompt": PROMPT, "reference_images": ["photo.png"]})
    description = approval(values)["description"]
    assert str((server.refs / "photo.png").resolve()) in description
    assert "image/jpeg" in description and "211 B" in description
    uploads_before = dict(server.emulator.uploads)
    _, values = await stream(client, thread_id, command={"resume": "yes"})
    assert values["status"] == "succeeded"
    (key,) = set(server.emulator.uploads) - set(uploads_before)
    assert key.endswith("/photo.jpg") and server.emulator.uploads[key] == jpeg
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
