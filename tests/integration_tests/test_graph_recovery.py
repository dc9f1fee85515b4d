"""Recovery: continuing from a task id, and re-invoking a thread after a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graph_support import (
    APPROVE,
    PROMPT,
    Harness,
    action_of,
    interrupt_of,
    last_text,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from creatok_graph import Creatok, artifacts, build_graph
from creatok_graph.messages import text


def create_task(h: Harness, prompt: str = PROMPT, **body: Any) -> str:
    """A task submitted outside the graph, as an earlier session would have."""
    with Creatok(api_key=h.emulator.api_key, base_url=h.emulator.base_url) as client:
        return client.submit(
            {"prompt": prompt, "model": "nano-banana-2", "resolution": "2K", "n": 1, **body}
        ).task_id


async def test_recovery_checks_once_then_waits(h2: Harness) -> None:
    h2.emulator.task_seconds = 1.0
    task_id = create_task(h2, n=2)
    submits = h2.stats()["submits"]

    once = await h2.invoke({"task_id": task_id}, "recover")
    assert "__interrupt__" not in once
    assert once["status"] in ("queued", "running")
    assert once["task_id"] == task_id
    assert once["images"] == []
    message = last_text(once)
    assert task_id in message
    assert message == text("en", "still_running", task_id=task_id, status=once["status"])
    assert h2.result_json("recover")["status"] == once["status"]
    assert h2.stats()["status"] == 1  # checked once, did not wait

    done = await h2.invoke({"task_id": task_id, "wait": True}, "recover")
    assert done["status"] == "succeeded"
    assert len(done["images"]) == 2
    for image in done["images"]:
        assert image["url"] in last_text(done)
    record = h2.result_json("recover")
    assert record["status"] == "succeeded" and record["task_id"] == task_id
    assert record["images"] == done["images"]
    assert h2.stats()["submits"] == submits  # recovery never submits


async def test_recovery_of_a_finished_task_with_a_fresh_thread(h1: Harness) -> None:
    task_id = create_task(h1)
    h1.emulator.task_seconds = 0  # (only affects new tasks)
    await _wait_done(h1, task_id)
    done = await h1.invoke({"task_id": task_id, "run_id": "earlier-run"}, "another-thread")
    assert done["status"] == "succeeded"
    assert done["run_id"] == "earlier-run"
    assert h1.result_json("earlier-run")["images"] == done["images"]
    assert h1.stats()["capabilities"] == 0  # nothing but the status check


async def test_recovery_of_a_failed_task_explains_and_suggests(h1: Harness) -> None:
    task_id = create_task(h1, prompt="a cat [fail]")
    done = await h1.invoke({"task_id": task_id, "wait": True}, "recover")
    assert done["status"] == "failed"
    reason = done["error"]["message"]
    assert reason and reason in last_text(done)
    assert "try again" in last_text(done)
    record = h1.result_json("recover")
    assert record["status"] == "failed" and record["error"]["message"] == reason


async def test_recovery_of_an_unknown_task(h1: Harness) -> None:
    done = await h1.invoke({"task_id": "task_does_not_exist"}, "recover")
    assert done["status"] == "not_found"
    assert "task" in last_text(done).lower()


async def test_recovery_in_chinese(h1: Harness) -> None:
    h1.emulator.task_seconds = 1.0
    task_id = create_task(h1)
    once = await h1.invoke({"task_id": task_id, "language": "zh"}, "recover")
    assert last_text(once) == text("zh", "still_running", task_id=task_id, status=once["status"])


async def test_reinvoking_a_finished_thread_rechecks_its_task(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT})
    done = await h1.resume(APPROVE)
    again = await h1.invoke({"task_id": done["task_id"]})
    assert again["status"] == "succeeded" and again["images"] == done["images"]
    assert h1.stats()["submits"] == 1


async def test_crash_after_submit_continues_without_asking_or_paying(h2: Harness) -> None:
    await h2.invoke({"prompt": PROMPT})
    # The process "dies" right after the paid call was recorded.
    seen = await _stream_until(h2, APPROVE, "submit")
    assert "submit" in seen and "poll" not in seen
    assert h2.stats()["submits"] == 1
    assert h2.result_json()["status"] == "submitted"  # task id on disk before polling

    done = await h2.invoke(None)
    assert "__interrupt__" not in done
    assert done["status"] == "succeeded"
    assert h2.stats()["submits"] == 1


async def test_a_crash_with_durability_exit_never_pays_twice(h1: Harness) -> None:
    """Batch callers may save checkpoints only when a run stops (README). A process that
    dies after the paid call leaves no checkpoint of it; the ledger still knows the task."""

    class DyingSaver(InMemorySaver):
        """Writes nothing once the process has "died" (as if it never got to write)."""

        dead = False

        async def aput(self, *args: Any, **kwargs: Any) -> Any:
            return args[0] if self.dead else await super().aput(*args, **kwargs)

        async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
            if not self.dead:
                await super().aput_writes(*args, **kwargs)

    saver = DyingSaver()
    graph = build_graph(saver, InMemoryStore())
    cfg = h1.config("t1")
    first = await graph.ainvoke({"prompt": PROMPT}, cfg, context=h1.context, durability="exit")
    action_of(first)
    async for update in graph.astream(Command(resume=APPROVE), cfg, context=h1.context,
                                      stream_mode="updates", durability="exit"):
        if "submit" in update:
            saver.dead = True  # killed right after the paid call answered
            break
    assert h1.stats()["submits"] == 1

    saver.dead = False  # the next process, on the same checkpointer and store
    after = await graph.ainvoke(None, cfg, context=h1.context, durability="exit")
    action_of(after)  # back at the approval question: the "yes" was never saved
    assert h1.stats()["submits"] == 1
    after = await graph.ainvoke(Command(resume=APPROVE), cfg, context=h1.context,
                                durability="exit")
    assert after["status"] == "succeeded"
    assert h1.stats()["submits"] == 1
    assert h1.result_json()["task_id"] == after["task_id"]


async def test_crash_inside_submit_after_the_answer(
    h2: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paid call answered, then the node died before returning: the ledger saves us."""
    real = artifacts.write_result
    calls = {"n": 0}

    def flaky_write(*args: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk vanished")
        return real(*args)

    await h2.invoke({"prompt": PROMPT})
    monkeypatch.setattr(artifacts, "write_result", flaky_write)
    with pytest.raises(RuntimeError, match="disk vanished"):
        await h2.resume(APPROVE)
    assert h2.stats()["submits"] == 1

    done = await h2.invoke(None)
    assert "__interrupt__" not in done
    assert done["status"] == "succeeded"
    assert h2.stats()["submits"] == 1


async def test_waiting_at_approval_survives_a_new_graph_instance(h2: Harness) -> None:
    first = await h2.invoke({"prompt": PROMPT})
    interrupt_of(first)
    h2.build()  # a new process would compile the graph again on the same checkpointer
    done = await h2.resume("yes")
    assert done["status"] == "succeeded"
    assert h2.stats()["submits"] == 1


# -- helpers ---------------------------------------------------------------------------------


async def _wait_done(h: Harness, task_id: str) -> None:
    for _ in range(100):
        task = h.emulator.get_task(task_id)
        if task and task["status"] in ("succeeded", "failed"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("task did not finish")


async def _stream_until(h: Harness, resume: Any, node: str) -> list[str]:
    """Resume the run and abandon it (as a dying process would) once ``node`` has finished."""
    cfg = h.config("t1")
    seen: list[str] = []

    def run_sync() -> None:
        stream = h.graph.stream(
            Command(resume=resume), cfg, context=h.context, stream_mode="updates"
        )
        for update in stream:
            seen.extend(update)
            if node in update:
                stream.close()
                return

    if h.mode == "sync":
        await asyncio.to_thread(run_sync)
        return seen
    astream = h.graph.astream(
        Command(resume=resume), cfg, context=h.context, stream_mode="updates"
    )
    async for update in astream:
        seen.extend(update)
        if node in update:
            await astream.aclose()
            break
    return seen


async def test_recovering_another_task_in_a_finished_thread(h1: Harness) -> None:
    """Its own run id: the earlier request's artifacts and choices stay out of it."""
    await h1.invoke({"prompt": PROMPT})
    first = await h1.resume(APPROVE)
    other = create_task(h1, prompt="zzz", model="gpt-image-2", n=2)
    await _wait_done(h1, other)
    done = await h1.invoke({"task_id": other})
    assert done["status"] == "succeeded" and done["task_id"] == other
    assert len(done["images"]) == 2
    assert done["run_id"] != first["run_id"]
    assert h1.result_json(first["run_id"])["task_id"] == first["task_id"]
    record = h1.result_json(done["run_id"])
    assert record["task_id"] == other and record["model"] != "nano-banana-2"


async def test_recovery_with_other_in_progress_words(h1: Harness) -> None:
    h1.emulator.task_seconds = 5
    h1.emulator.set_scenarios(["alt-statuses"])
    task_id = create_task(h1)
    once = await h1.invoke({"task_id": task_id}, "recover")
    assert once["status"] in ("queued", "running")
    assert h1.result_json("recover")["raw"]["status"] in ("pending", "processing")
    assert last_text(once) == text("en", "still_running", task_id=task_id, status=once["status"])


async def test_crash_while_waiting_continues_the_same_wait(h1_sqlite: Harness) -> None:
    """The process dies mid-wait (async: the run is cancelled); re-invoking goes on waiting."""
    h = h1_sqlite
    h.emulator.task_seconds = 0.8
    await h.invoke({"prompt": PROMPT})
    stream = h.graph.astream(
        Command(resume=APPROVE), h.config("t1"), context=h.context, stream_mode="custom"
    )
    async for event in stream:
        if event.get("type") == "progress":
            break  # the first status answer arrived: poll is running
    await stream.aclose()
    assert (await h.graph.aget_state(h.config("t1"))).next == ("poll",)
    assert h.result_json()["status"] == "submitted"

    await asyncio.sleep(0.3)  # the process restarts a little later
    chunks = await h.stream(None, modes=("custom",))
    progress = [c for _, c in chunks if c.get("type") == "progress"]
    assert progress[-1]["status"] == "succeeded"
    assert progress[0]["elapsed"] >= 0.3  # the clock started at the submission, not now
    assert (await h.values())["status"] == "succeeded"
    assert h.stats()["submits"] == 1
