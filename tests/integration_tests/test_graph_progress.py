"""Waiting: progress events, bounded checkpoints, artifacts, and the graph as a subgraph."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from itertools import pairwise
from typing import Any

import httpx
from graph_support import APPROVE, PROMPT, Harness, action_of, interrupt_of, last_text
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

from creatok_graph import Creatok, CreatokContext, build_graph
from creatok_graph.graph import graph


def progress_events(chunks: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [c for mode, c in chunks if mode == "custom" and c.get("type") == "progress"]


async def test_progress_is_streamed_once_per_status_change(h2: Harness) -> None:
    h2.emulator.task_seconds = 0.8
    await h2.invoke({"prompt": PROMPT})
    chunks = await h2.stream(Command(resume=APPROVE))
    custom = [c for mode, c in chunks if mode == "custom"]
    kinds = [c["type"] for c in custom]
    assert kinds[0] == "submitting" and kinds[-1] == "done"
    assert "submitted" in kinds
    progress = progress_events(chunks)
    statuses = [e["status"] for e in progress]
    assert statuses[-1] == "succeeded"
    assert "running" in statuses
    # One event per change (no heartbeat within a second), in lifecycle order.
    assert all(a != b for a, b in pairwise(statuses))
    assert statuses == sorted(statuses, key=["queued", "running", "succeeded"].index)
    elapsed = [e["elapsed"] for e in progress]
    assert elapsed == sorted(elapsed) and elapsed[-1] >= 0.5
    task_id = progress[-1]["task_id"]
    assert all(e["task_id"] == task_id for e in progress)
    assert h2.stats()["status"] >= len(progress)
    updates = [c for mode, c in chunks if mode == "updates"]
    steps = [next(iter(u)) for u in updates]
    # No reference images: the approval goes straight to the paid call.
    assert steps == ["confirm", "submit", "poll", "persist"]


async def test_checkpoints_do_not_grow_with_waiting(h1_sqlite: Harness) -> None:
    """One step for the whole wait: a long task costs no more checkpoints than a short one."""
    h = h1_sqlite
    await h.invoke({"prompt": PROMPT}, "short")
    await h.resume(APPROVE, "short")
    short = len(await h.checkpoints("short"))
    short_checks = h.stats()["status"]

    h.emulator.task_seconds = 2.0
    await h.invoke({"prompt": PROMPT}, "long")
    # Four steps remain after approval (confirm, submit, poll, persist): a limit this
    # tight fails if waiting took steps, as an hour-long task would.
    done = await h.resume(APPROVE, "long", recursion_limit=5)
    assert done["status"] == "succeeded"
    long_checks = h.stats()["status"] - short_checks
    assert long_checks >= 4
    assert len(await h.checkpoints("long")) == short
    assert short <= 12


async def test_artifacts_hold_every_field_and_url_verbatim(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT, "n": 3, "aspect_ratio": "9:16", "run_id": "my-run_1.0"})
    done = await h1.resume(APPROVE)
    assert done["status"] == "succeeded"
    assert done["run_id"] == "my-run_1.0"
    folder = h1.root / "my-run_1.0"
    assert done["artifacts_dir"] == str(folder)
    record = json.loads((folder / "outputs" / "result.json").read_text(encoding="utf-8"))
    expected = {
        "run_id": "my-run_1.0", "task_id": done["task_id"], "status": "succeeded",
        "model": "nano-banana-2", "resolution": "2K", "n": 3, "error": None,
    }
    assert {k: record[k] for k in expected} == expected
    assert record["aspect_ratio"] == "9:16"
    assert record["estimated_credits"] == 3
    # Images exactly as CreatOK sent them: compare with the raw status answer.
    assert record["raw"]["status"] == "succeeded"
    sent = record["raw"]["result"]["images"]
    assert record["images"] == done["images"]
    # Every field as CreatOK sent it; the local copy is described beside (test_downloads.py).
    assert [{k: i[k] for k in sent[0]} for i in record["images"]] == sent
    assert len(sent) == 3
    for image in sent:
        assert image["url"].startswith(h1.emulator.base_url + "/_files/" + done["task_id"])
    markdown = (folder / "outputs" / "result.md").read_text(encoding="utf-8")
    message = last_text(done)
    for image in sent:
        assert image["url"] in markdown
        assert image["url"] in message
    assert done["task_id"] in markdown
    # Written atomically: no temporary files are left behind.
    assert sorted(p.name for p in (folder / "outputs").iterdir()) == [
        "images", "index.html", "result.json", "result.md"]


async def test_files_of_a_run_get_the_users_usual_permissions(h1: Harness) -> None:
    """Like any file the user makes (umask 022: rw-r--r--), not owner-only temp files."""
    previous = os.umask(0o022)
    try:
        await h1.invoke({"prompt": PROMPT})
        await h1.resume(APPROVE)
    finally:
        os.umask(previous)
    run = h1.root / "t1"
    files = {p.relative_to(run).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in run.rglob("*") if p.is_file()}
    assert {"outputs/result.json", "outputs/result.md", "submission.json"} <= set(files)
    assert set(files.values()) == {0o644}, files


async def test_urls_are_byte_identical_to_the_service(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT, "n": 2})
    done = await h1.resume(APPROVE)
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            h1.emulator.base_url + "/api/open/skills/tasks/status",
            params={"task_id": done["task_id"], "task_type": "image_generation"},
            headers={"Authorization": f"Bearer {h1.emulator.api_key}"},
        )
        images = answer.json()["data"]["result"]["images"]
        assert [{k: i[k] for k in images[0]} for i in done["images"]] == images
        for image in images:
            assert image["url"] in last_text(done)
            assert image["url"] in h1.result_md()
            # The signed URL works as given.
            assert (await client.get(image["url"])).status_code == 200


async def test_wait_false_checks_once_after_submitting(h1: Harness) -> None:
    h1.emulator.task_seconds = 5
    await h1.invoke({"prompt": PROMPT, "wait": False})
    done = await h1.resume(APPROVE)
    assert done["status"] in ("queued", "running")
    assert h1.stats()["status"] == 1
    assert done["task_id"] in last_text(done)
    assert h1.result_json()["status"] == done["status"]


async def test_ainvoke_and_invoke_of_the_module_graph(h1: Harness) -> None:
    """``graph`` (no checkpointer) runs requests that need no question."""
    task_id = _submit_directly(h1)
    done = await graph.ainvoke(
        {"task_id": task_id, "wait": True, "run_id": "served"}, context=h1.context
    )
    assert done["status"] == "succeeded"
    assert (h1.root / "served" / "outputs" / "result.json").is_file()
    refused = graph.invoke({"prompt": PROMPT, "n": 9}, context=h1.context)
    assert refused["status"] == "invalid_request"


class Parent(TypedDict, total=False):
    messages: list[Any]
    prompt: str
    status: str
    task_id: str
    images: list[dict[str, Any]]
    note: str


async def test_as_a_subgraph_node(h2: Harness) -> None:
    """The interrupt surfaces to the parent; resuming the parent completes the child."""

    def after(state: Parent) -> Parent:
        return {"note": f"child said {state['status']}"}

    parent_builder = StateGraph(Parent, context_schema=CreatokContext)
    parent_builder.add_node("generate", build_graph())
    parent_builder.add_node("after", after)
    parent_builder.add_edge(START, "generate")
    parent_builder.add_edge("generate", "after")
    parent_builder.add_edge("after", END)
    parent = parent_builder.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "parent"}}

    if h2.mode == "sync":
        first = parent.invoke({"prompt": PROMPT}, cfg, context=h2.context)
    else:
        first = await parent.ainvoke({"prompt": PROMPT}, cfg, context=h2.context)
    action = action_of(first)
    assert action["args"]["prompt"] == PROMPT
    assert h2.stats()["submit_requests"] == 0

    if h2.mode == "sync":
        done = parent.invoke(Command(resume="yes"), cfg, context=h2.context)
    else:
        done = await parent.ainvoke(Command(resume="yes"), cfg, context=h2.context)
    assert "__interrupt__" not in done
    assert done["status"] == "succeeded"
    assert done["note"] == "child said succeeded"
    assert len(done["images"]) == 1
    assert h2.stats()["submits"] == 1
    assert (h2.root / "parent" / "outputs" / "result.json").is_file()


async def test_subgraph_question_surfaces_too(h1: Harness) -> None:
    parent_builder = StateGraph(Parent, context_schema=CreatokContext)
    parent_builder.add_node("generate", build_graph())
    parent_builder.add_edge(START, "generate")
    parent = parent_builder.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "p"}}
    first = await parent.ainvoke({}, cfg, context=h1.context)
    assert interrupt_of(first)["kind"] == "prompt"
    second = await parent.ainvoke(Command(resume=PROMPT), cfg, context=h1.context)
    action_of(second)
    done = await parent.ainvoke(Command(resume="yes"), cfg, context=h1.context)
    assert done["status"] == "succeeded"


def _submit_directly(h: Harness) -> str:
    with Creatok(api_key=h.emulator.api_key, base_url=h.emulator.base_url) as client:
        body = {"prompt": PROMPT, "model": "nano-banana-2", "resolution": "2K", "n": 1}
        return client.submit(body).task_id


async def test_undocumented_fields_are_kept_verbatim(h1: Harness) -> None:
    """The real API may add fields at any time: images are handed on exactly as sent."""
    h1.emulator.set_scenarios(["extra-fields"])
    await h1.invoke({"prompt": PROMPT, "aspect_ratio": "16:9"})
    done = await h1.resume(APPROVE)
    assert done["status"] == "succeeded"
    (image,) = done["images"]
    assert {"url", "thumbnail_url", "width", "height", "mime_type"} <= set(image)
    assert h1.result_json()["images"] == done["images"]


async def test_many_runs_at_once(h1: Harness) -> None:
    """Concurrent runs on one event loop: one capabilities fetch, one charge each."""
    h1.emulator.task_seconds = 0.3
    threads = [f"run-{i}" for i in range(12)]
    firsts = await asyncio.gather(*(h1.invoke({"prompt": PROMPT}, t) for t in threads))
    assert all(action_of(f) for f in firsts)
    dones = await asyncio.gather(*(h1.resume("yes", t) for t in threads))
    assert [d["status"] for d in dones] == ["succeeded"] * len(threads)
    assert len({d["task_id"] for d in dones}) == len(threads)
    stats = h1.stats()
    assert (stats["capabilities"], stats["submits"]) == (1, len(threads))


async def test_tracers_see_each_node_once(h2: Harness) -> None:
    """LangSmith (any callback handler) sees every node as one run under the graph's run,
    named after the node: no anonymous wrapper level between the graph and a node."""
    from langchain_core.callbacks import BaseCallbackHandler

    class Runs(BaseCallbackHandler):
        def __init__(self) -> None:
            self.parents: dict[Any, Any] = {}
            self.names: dict[Any, str] = {}

        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any,
                           parent_run_id: Any = None, **kwargs: Any) -> None:
            self.names[run_id] = kwargs.get("name") or ""
            self.parents[run_id] = parent_run_id

    runs = Runs()
    await h2.invoke({"prompt": PROMPT}, callbacks=[runs])
    await h2.resume(APPROVE, callbacks=[runs])
    roots = {r for r, parent in runs.parents.items() if parent is None}
    assert {runs.names[r] for r in roots} == {"generate_image"}
    children = [runs.names[r] for r, parent in runs.parents.items() if parent in roots]
    nodes = ["clarify", "load_capabilities", "validate", "confirm", "submit", "poll", "persist"]
    assert sorted(set(children) & set(nodes)) == sorted(nodes)
    # A node's own run has no second run of the same name inside it.
    for run_id, parent in runs.parents.items():
        if parent in runs.names and runs.names[parent] in nodes:
            assert runs.names[run_id] != runs.names[parent], runs.names[run_id]
