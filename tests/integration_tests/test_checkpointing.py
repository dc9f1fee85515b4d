"""The async SQLite checkpointer of ``aopen_persistence`` (``ThreadedSqliteSaver``).

It replaces ``AsyncSqliteSaver`` for speed under hundreds of runs (docs/performance.md,
P3), so it must be a drop-in: the same file format (a thread started with ``ainvoke`` is
resumed by the CLI's sync saver and by LangGraph's own async saver), the same answers
to every query, writes in order, and an event loop that keeps running while SQLite
waits for another process's lock.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from creatok_graph import CreatokContext, build_graph
from creatok_graph.checkpointing import ThreadedSqliteSaver, aopen_persistence, open_persistence

PROMPT = "a red fox sitting in a snowy birch forest at dawn, watercolor style"
APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}


def _cfg(thread: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


async def _save(saver: BaseCheckpointSaver[Any], thread: str, n: int) -> list[str]:
    """n checkpoints in a row on one thread, each with one pending write; their ids."""
    ids: list[str] = []
    parent: str | None = None
    for step in range(n):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"step": step}
        saved = await saver.aput(
            _cfg(thread, parent), checkpoint, {"source": "loop", "step": step}, {}
        )
        await saver.aput_writes(saved, [("note", f"w{step}")], task_id=f"task-{step}")
        parent = saved["configurable"]["checkpoint_id"]
        ids.append(parent)
    return ids


async def _answers(saver: BaseCheckpointSaver[Any], ids: list[str]) -> dict[str, Any]:
    """What a saver answers to each kind of query about the threads ``_save`` wrote."""
    return {
        "latest": await saver.aget_tuple(_cfg("a")),
        "by_id": await saver.aget_tuple(_cfg("a", ids[1])),
        "all": [c async for c in saver.alist(_cfg("a"))],
        "limit": [c async for c in saver.alist(_cfg("a"), limit=2)],
        "before": [c async for c in saver.alist(_cfg("a"), before=_cfg("a", ids[2]))],
        "filter": [c async for c in saver.alist(None, filter={"step": 1})],
    }


async def test_answers_like_the_library_saver_on_the_same_file(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    async with aopen_persistence(f"sqlite:///{db}") as p:
        saver = p.checkpointer
        assert isinstance(saver, ThreadedSqliteSaver)
        ids = await _save(saver, "a", 4)
        await _save(saver, "b", 2)
        ours = await _answers(saver, ids)
    async with AsyncSqliteSaver.from_conn_string(db) as library:
        theirs = await _answers(library, ids)
    assert ours == theirs
    latest = ours["latest"]
    assert latest is not None and latest.checkpoint["id"] == ids[-1]
    assert latest.checkpoint["channel_values"] == {"step": 3}
    assert latest.pending_writes == [("task-3", "note", "w3")]
    assert [c.checkpoint["id"] for c in ours["all"]] == ids[::-1]
    assert len(ours["limit"]) == 2 and len(ours["before"]) == 2
    assert len(ours["filter"]) == 2  # step 1 of thread a and of thread b

    async with aopen_persistence(f"sqlite:///{db}") as p:
        await p.checkpointer.adelete_thread("a")
        assert await p.checkpointer.aget_tuple(_cfg("a")) is None
        assert await p.checkpointer.aget_tuple(_cfg("b")) is not None


async def test_writes_land_in_the_order_they_were_asked_for(tmp_path: Path) -> None:
    """LangGraph fires a run's writes without waiting for each: they must not overtake."""
    async with aopen_persistence(f"sqlite:///{tmp_path / 'c.sqlite'}") as p:
        saved = await p.checkpointer.aput(_cfg("t"), empty_checkpoint(), {}, {})
        await asyncio.gather(
            *(
                p.checkpointer.aput_writes(saved, [("ch", i)], task_id="same-task")
                for i in range(50)
            )
        )
        latest = await p.checkpointer.aget_tuple(_cfg("t"))
    assert latest is not None
    # A task's second write to the same slot is ignored: the first one asked must win.
    assert latest.pending_writes == [("same-task", "ch", 0)]


async def test_operations_sent_together_fail_one_by_one_and_none_hangs_after_close(
    tmp_path: Path,
) -> None:
    """Operations asked for together go to SQLite in one hop: one that fails (a bad
    config) fails its own caller only; after ``aclose`` a new one fails at once."""
    async with aopen_persistence(f"sqlite:///{tmp_path / 'c.sqlite'}") as p:
        saver = p.checkpointer
        saved = await saver.aput(_cfg("t"), empty_checkpoint(), {}, {})
        bad: RunnableConfig = {"configurable": {}}  # no thread id: SqliteSaver raises
        outcomes = await asyncio.gather(
            *(saver.aput_writes(saved, [("ch", i)], task_id=f"task-{i}") for i in range(20)),
            saver.aput(bad, empty_checkpoint(), {}, {}),
            return_exceptions=True,
        )
        latest = await saver.aget_tuple(_cfg("t"))
    assert outcomes[:20] == [None] * 20 and isinstance(outcomes[20], Exception)
    assert latest is not None and len(latest.pending_writes or []) == 20
    try:
        await asyncio.wait_for(saver.aget_tuple(_cfg("t")), 5)
    except RuntimeError:
        pass  # refused: the saver is closed
    else:  # pragma: no cover - the saver must not answer after it was closed
        raise AssertionError("a closed saver answered")


async def test_the_loop_keeps_running_while_sqlite_waits_for_another_writer(
    tmp_path: Path,
) -> None:
    db = tmp_path / "c.sqlite"
    async with aopen_persistence(f"sqlite:///{db}") as p:
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        tick = asyncio.create_task(ticker())
        write = asyncio.create_task(p.checkpointer.aput(_cfg("t"), empty_checkpoint(), {}, {}))
        await asyncio.sleep(0.3)
        assert not write.done()  # waiting in SQLite's busy handler, off the loop
        assert ticks >= 10
        threading.Thread(target=other.commit).start()
        await asyncio.wait_for(write, 10)
        tick.cancel()
        other.close()
        assert await p.checkpointer.aget_tuple(_cfg("t")) is not None


def test_every_async_method_the_sync_saver_backs_is_offered() -> None:
    """A LangGraph release that adds a checkpointer method must not leave ours raising
    NotImplementedError where the sync saver has an answer."""
    missing = []
    def is_async(member: Any) -> bool:
        return inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)

    for name, _ in inspect.getmembers(BaseCheckpointSaver, is_async):
        sync_name = name[1:]
        implemented_sync = getattr(SqliteSaver, sync_name, None) is not getattr(
            BaseCheckpointSaver, sync_name, None
        )
        async_twin = getattr(ThreadedSqliteSaver, name)
        inherited_async = async_twin in (
            getattr(BaseCheckpointSaver, name),
            getattr(SqliteSaver, name, None),
        )
        if implemented_sync and inherited_async and name != "aget":
            missing.append(name)
    assert missing == []


async def test_a_thread_started_async_is_resumed_by_the_sync_saver(
    emulator_factory: Any, tmp_path: Path
) -> None:
    """``ainvoke`` (an agent, a batch) asks; the CLI (sync) answers, on the same file."""
    emulator = emulator_factory(task_seconds=0.2)
    url = f"sqlite:///{tmp_path / 'c.sqlite'}"
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05)
    cfg: RunnableConfig = {"configurable": {"thread_id": "r1"}}
    async with aopen_persistence(url) as p:
        asked = await build_graph(p.checkpointer, p.store).ainvoke(
            {"prompt": PROMPT, "run_id": "r1"}, cfg, context=ctx
        )
    assert asked.get("__interrupt__")

    def answer() -> dict[str, Any]:
        with open_persistence(url) as p:
            done: dict[str, Any] = build_graph(p.checkpointer, p.store).invoke(
                Command(resume=APPROVE), cfg, context=ctx
            )
            return done

    done = await asyncio.to_thread(answer)
    assert done["status"] == "succeeded" and done["images"]
    assert emulator.stats()["submits"] == 1
