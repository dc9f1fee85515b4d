"""Fixtures of the graph tests (helpers and the harness itself: ``graph_support.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from graph_support import ENV_VARS, FULL, ONE, PAIR, TASK_SECONDS, Harness
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CREATOK_* variable of the machine leaks in (each harness graph has its own
    capabilities cache and pools: ``build_graph(http=...)``)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


async def _harness(
    request: pytest.FixtureRequest,
    emulator_factory: Any,
    tmp_path: Path,
    task_seconds: float = TASK_SECONDS,
) -> AsyncIterator[Harness]:
    mode, saver = request.param
    emulator = emulator_factory(task_seconds=task_seconds)
    root = tmp_path / "artifacts"
    db = tmp_path / "checkpoints.sqlite"
    if saver == "memory":
        yield Harness(mode, saver, emulator, root, InMemorySaver())
    elif mode == "sync":
        conn = sqlite3.connect(db, check_same_thread=False)
        try:
            yield Harness(mode, saver, emulator, root, SqliteSaver(conn), db)
        finally:
            conn.close()
    else:
        async with AsyncSqliteSaver.from_conn_string(str(db)) as checkpointer:
            yield Harness(mode, saver, emulator, root, checkpointer, db)


def _ids(param: tuple[str, str]) -> str:
    return "-".join(param)


@pytest.fixture(params=FULL, ids=_ids)
async def h4(
    request: pytest.FixtureRequest, emulator_factory: Any, tmp_path: Path, isolated: None
) -> AsyncIterator[Harness]:
    """The graph under every driver x checkpointer combination (4 runs per test)."""
    async for harness in _harness(request, emulator_factory, tmp_path):
        yield harness


@pytest.fixture(params=PAIR, ids=_ids)
async def h2(
    request: pytest.FixtureRequest, emulator_factory: Any, tmp_path: Path, isolated: None
) -> AsyncIterator[Harness]:
    """Sync + InMemorySaver and async + SQLite (2 runs per test)."""
    async for harness in _harness(request, emulator_factory, tmp_path):
        yield harness


@pytest.fixture(params=ONE, ids=_ids)
async def h1(
    request: pytest.FixtureRequest, emulator_factory: Any, tmp_path: Path, isolated: None
) -> AsyncIterator[Harness]:
    """Async + InMemorySaver (1 run per test), for tables of cases.

    Tasks finish at once here (``task_seconds=0``) to keep tables fast; tests about the
    task's lifecycle set ``h1.emulator.task_seconds`` themselves (the others use 0.2 s)."""
    async for harness in _harness(request, emulator_factory, tmp_path, task_seconds=0.0):
        yield harness


@pytest.fixture(params=[("async", "sqlite")], ids=_ids)
async def h1_sqlite(
    request: pytest.FixtureRequest, emulator_factory: Any, tmp_path: Path, isolated: None
) -> AsyncIterator[Harness]:
    """Async + SQLite, the way ``langgraph dev`` and the CLI run (1 run per test)."""
    async for harness in _harness(request, emulator_factory, tmp_path):
        yield harness
