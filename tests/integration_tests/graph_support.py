"""Shared harness of the graph tests: the graph over real HTTP against the emulator.

One :class:`Harness` per test: a fresh emulator, an artifacts root in ``tmp_path``, a
checkpointer (``InMemorySaver`` or SQLite in a ``tmp_path`` file) and a driver (``invoke``
or ``ainvoke``). Tests are ``async`` and call ``await h.invoke(...)`` whichever the driver:
the sync driver runs ``graph.invoke`` in a worker thread, so both drivers share each test.

The fixtures live in ``conftest.py`` beside this file: ``h4`` (every driver x checkpointer
combination), ``h2`` (sync + InMemorySaver, async + SQLite), ``h1_sqlite`` (async + SQLite),
all with 0.2 s tasks, and ``h1`` (async + InMemorySaver, instant tasks) for tables of cases.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command

from creatok_graph import CreatokContext, build_graph
from creatok_graph.connections import GraphHttp
from creatok_graph.emulator import Emulator
from creatok_graph.emulator.png import gradient_png

TASK_SECONDS = 0.2
APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}
ENV_VARS = (
    "CREATOK_API_KEY",
    "CREATOK_BASE_URL",
    "CREATOK_ARTIFACTS_DIR",
    "CREATOK_TIMEOUT",
    "CREATOK_POLL_INTERVAL",
    "CREATOK_ALLOWED_BASE_URLS",
    "CREATOK_REFERENCE_DIR",
)
# A long prompt is never "vague", so it goes straight to the approval question.
PROMPT = "a red fox sitting in a snowy birch forest at dawn, watercolor style"

FULL = [("sync", "memory"), ("sync", "sqlite"), ("async", "memory"), ("async", "sqlite")]
PAIR = [("sync", "memory"), ("async", "sqlite")]
ONE = [("async", "memory")]


@dataclass
class Harness:
    mode: str
    saver: str
    emulator: Emulator
    root: Path
    checkpointer: BaseCheckpointSaver[Any]
    db_path: Path | None = None
    store: BaseStore | None = None
    graph: CompiledStateGraph[Any, Any, Any, Any] = field(init=False)
    context: CreatokContext = field(init=False)

    def __post_init__(self) -> None:
        self.context = CreatokContext(
            api_key=self.emulator.api_key,
            base_url=self.emulator.base_url,
            artifacts_dir=str(self.root),
        )
        self.build()

    def build(
        self, chat_model: BaseChatModel | None = None, http: GraphHttp | None = None
    ) -> None:
        """(Re)compile the graph on the same checkpointer, optionally with a chat model or
        HTTP of its own."""
        self.graph = build_graph(self.checkpointer, self.store, chat_model=chat_model, http=http)

    def use(self, emulator: Emulator) -> None:
        """Talk to another emulator (e.g. one with another API key) from now on."""
        self.emulator = emulator
        self.__post_init__()

    def config(self, thread: str, **extra: Any) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread}, **extra}

    async def _run(self, fn_name: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(getattr(self.graph, fn_name), *args, **kwargs)
        return await getattr(self.graph, "a" + fn_name)(*args, **kwargs)

    async def invoke(
        self,
        value: Any,
        thread: str = "t1",
        *,
        context: CreatokContext | None = None,
        **config: Any,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(
            "invoke", value, self.config(thread, **config), context=context or self.context
        )
        return result

    async def resume(self, value: Any, thread: str = "t1", **kwargs: Any) -> dict[str, Any]:
        return await self.invoke(Command(resume=value), thread, **kwargs)

    async def stream(
        self,
        value: Any,
        thread: str = "t1",
        modes: tuple[str, ...] = ("custom", "updates"),
        **config: Any,
    ) -> list[tuple[str, Any]]:
        """Every (mode, chunk) the run streams."""
        cfg = self.config(thread, **config)
        if self.mode == "sync":
            def collect() -> list[tuple[str, Any]]:
                return list(
                    self.graph.stream(value, cfg, context=self.context, stream_mode=list(modes))
                )

            return await asyncio.to_thread(collect)
        return [
            chunk
            async for chunk in self.graph.astream(
                value, cfg, context=self.context, stream_mode=list(modes)
            )
        ]

    async def checkpoints(self, thread: str = "t1") -> list[Any]:
        cfg = self.config(thread)
        if self.mode == "sync":
            return await asyncio.to_thread(lambda: list(self.checkpointer.list(cfg)))
        return [c async for c in self.checkpointer.alist(cfg)]

    async def values(self, thread: str = "t1") -> dict[str, Any]:
        cfg = self.config(thread)
        if self.mode == "sync":
            snap = await asyncio.to_thread(self.graph.get_state, cfg)
        else:
            snap = await self.graph.aget_state(cfg)
        return dict(snap.values)

    # -- what the run left behind ----------------------------------------------------------

    def result_json(self, run_id: str = "t1") -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.root / run_id / "outputs" / "result.json").read_text(encoding="utf-8")
        )
        return data

    def result_md(self, run_id: str = "t1") -> str:
        return (self.root / run_id / "outputs" / "result.md").read_text(encoding="utf-8")

    def stats(self) -> dict[str, Any]:
        return self.emulator.stats()

    def png(self, name: str, seed: int = 1) -> str:
        path = self.root.parent / "refs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gradient_png(8, 8, seed))
        return str(path)


# -- helpers ---------------------------------------------------------------------------------


def interrupt_of(result: dict[str, Any]) -> Any:
    """The value of the run's single pending interrupt (fails when there is none)."""
    pending = result.get("__interrupt__")
    assert pending, f"expected an interrupt, got status {result.get('status')!r}: {result}"
    assert len(pending) == 1
    return pending[0].value


def action_of(result: dict[str, Any]) -> dict[str, Any]:
    """The approval request's single action (name, args, description)."""
    value = interrupt_of(result)
    assert set(value) >= {"action_requests", "review_configs"}, value
    (action,) = value["action_requests"]
    assert action["name"] == "generate_image"
    return dict(action)


OUTPUT_KEYS = ("status", "task_id", "images", "estimated_credits", "artifacts_dir", "error")


def last_text(result: dict[str, Any]) -> str:
    """The final message of a finished run (checking every output key is there)."""
    missing = [key for key in OUTPUT_KEYS if key not in result]
    assert not missing, f"output lacks {missing}"
    message = result["messages"][-1]
    assert message.type == "ai"
    return str(message.text)


def edit(**args: Any) -> dict[str, Any]:
    return {
        "decisions": [
            {"type": "edit", "edited_action": {"name": "generate_image", "args": args}}
        ]
    }


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())
