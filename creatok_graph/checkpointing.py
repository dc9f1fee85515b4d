"""Where runs are remembered: a checkpointer and a store from one URL.

``sqlite:///path`` (the default, in the artifacts dir) or ``postgresql://...`` (the
``postgres`` extra) via ``CREATOK_CHECKPOINT_URL``. SQLite is opened in WAL mode
with a busy timeout so several processes can share one file; async runs get
the async saver. The LangGraph server brings its own and needs none of this.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from .errors import ConfigurationError

CHECKPOINT_FILE = "checkpoints.sqlite"
BUSY_TIMEOUT_MS = 30_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",  # durable across process crashes in WAL mode
)


@dataclass(frozen=True)
class Persistence:
    checkpointer: BaseCheckpointSaver[Any]
    store: BaseStore


def checkpoint_url(artifacts_dir: str, url: str | None = None) -> str:
    """The URL to use: explicit, ``CREATOK_CHECKPOINT_URL``, or SQLite in the artifacts dir."""
    chosen = url or os.environ.get("CREATOK_CHECKPOINT_URL")
    if chosen:
        return chosen
    path = Path(artifacts_dir).expanduser() / CHECKPOINT_FILE
    return f"sqlite:///{path}"


def _sqlite_path(url: str) -> str:
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    if path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return path


def _kind(url: str) -> str:
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return "postgres"
    raise ConfigurationError(
        f"unsupported checkpoint URL {url.split('://')[0]}://...: use sqlite:///path or "
        "postgresql://user@host/db"
    )


def _postgres_missing() -> ConfigurationError:
    return ConfigurationError(
        "PostgreSQL checkpoints need the optional extra: pip install 'creatok-graph[postgres]'"
    )


def _sqlite_connect(path: str, *, autocommit: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None if autocommit else "",
    )
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


@contextmanager
def open_persistence(url: str) -> Iterator[Persistence]:
    """Blocking checkpointer + store for ``graph.invoke``."""
    if _kind(url) == "sqlite":
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.store.sqlite import SqliteStore

        path = _sqlite_path(url)
        saver_conn = _sqlite_connect(path, autocommit=False)
        store_conn = _sqlite_connect(path, autocommit=True)
        try:
            saver = SqliteSaver(saver_conn)
            saver.setup()
            store = SqliteStore(store_conn)
            store.setup()
            yield Persistence(saver, store)
        finally:
            saver_conn.close()
            store_conn.close()
        return
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.store.postgres import PostgresStore
    except ImportError:
        raise _postgres_missing() from None
    with PostgresSaver.from_conn_string(url) as saver, PostgresStore.from_conn_string(url) as store:
        saver.setup()
        store.setup()
        yield Persistence(saver, store)


@asynccontextmanager
async def aopen_persistence(url: str) -> AsyncIterator[Persistence]:
    """Async checkpointer + store for ``graph.ainvoke``."""
    if _kind(url) == "sqlite":
        import asyncio

        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
        from langgraph.store.sqlite.aio import AsyncSqliteStore

        path = await asyncio.to_thread(_sqlite_path, url)
        saver_conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        store_conn = await aiosqlite.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        try:
            for conn in (saver_conn, store_conn):
                for pragma in SQLITE_PRAGMAS:
                    await conn.execute(pragma)
            saver = AsyncSqliteSaver(saver_conn)
            await saver.setup()
            store = AsyncSqliteStore(store_conn)
            await store.setup()
            yield Persistence(saver, store)
        finally:
            await saver_conn.close()
            await store_conn.close()
        return
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from langgraph.store.postgres.aio import AsyncPostgresStore
    except ImportError:
        raise _postgres_missing() from None
    async with (
        AsyncPostgresSaver.from_conn_string(url) as asaver,
        AsyncPostgresStore.from_conn_string(url) as astore,
    ):
        await asaver.setup()
        await astore.setup()
        yield Persistence(asaver, astore)
