"""Where runs are remembered: a checkpointer and a store from one URL.

``sqlite:///path`` (the default, in the artifacts dir) or ``postgresql://...`` (the
``postgres`` extra) via ``CREATOK_CHECKPOINT_URL``. SQLite is opened in WAL mode
with a busy timeout so several processes can share one file; async runs get
:class:`ThreadedSqliteSaver`. The LangGraph server brings its own and needs none of this.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore

from .errors import ConfigurationError

if TYPE_CHECKING:
    from langgraph.store.sqlite.aio import AsyncSqliteStore

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


def _postgres_conninfo(url: str) -> str:
    """What libpq accepts: SQLAlchemy-style ``postgresql+psycopg://`` loses its driver tag."""
    return "postgresql://" + url.split("://", 1)[1] if url.startswith("postgresql+") else url


SETUP_LOCK_KEY = 0x43_52_45_41_54_4F_4B  # "CREATOK"
"""Session advisory lock that serialises schema set-up when many workers start at once.

Taken with ``pg_try_advisory_lock`` in a polling loop, never the blocking
``pg_advisory_lock``: a session blocked in that statement holds a snapshot, and the
``CREATE INDEX CONCURRENTLY`` of a migration run by the lock holder waits for every
such snapshot, a deadlock PostgreSQL does not detect."""
SETUP_LOCK_POLL = 0.1
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock(%s)"


def _took_lock(row: Any) -> bool:
    return bool(row and next(iter(row.values() if isinstance(row, dict) else row)))


def _postgres_missing() -> ConfigurationError:
    return ConfigurationError(
        "PostgreSQL checkpoints need the optional extra: pip install 'creatok-graph[postgres]'"
    )


def _sqlite_connect(path: str, *, autocommit: bool) -> sqlite3.Connection:
    """A connection with our PRAGMAs, which run under the set-up retry: switching a new
    file to WAL fails at once ("database is locked", no busy wait) while another process
    holds its write lock to create the schema."""
    conn = sqlite3.connect(
        path,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None if autocommit else "DEFERRED",
    )
    try:
        _sqlite_setup(*(functools.partial(conn.execute, pragma) for pragma in SQLITE_PRAGMAS))
    except BaseException:
        conn.close()
        raise
    return conn


SETUP_ATTEMPTS = 20


def _setup_race(exc: Exception) -> bool:
    """Another process is creating the same schema right now (first use of a new file):
    its migration row or column appeared between our check and our write."""
    said = str(exc).lower()
    return isinstance(exc, sqlite3.IntegrityError) or any(
        s in said for s in ("duplicate column", "already exists", "database is locked")
    )


def _sqlite_setup(*steps: Callable[[], object]) -> None:
    """Run set-up steps; a step that lost a race with another process is run again."""
    for step in steps:
        for attempt in range(SETUP_ATTEMPTS):
            try:
                step()
                break
            except (sqlite3.IntegrityError, sqlite3.OperationalError) as exc:
                if attempt == SETUP_ATTEMPTS - 1 or not _setup_race(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))


async def _asqlite_setup(*steps: Callable[[], Awaitable[object]]) -> None:
    for step in steps:
        for attempt in range(SETUP_ATTEMPTS):
            try:
                await step()
                break
            except (sqlite3.IntegrityError, sqlite3.OperationalError) as exc:
                if attempt == SETUP_ATTEMPTS - 1 or not _setup_race(exc):
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))


@functools.cache
def _immediate_async_sqlite_store() -> type[AsyncSqliteStore]:
    """``AsyncSqliteStore`` whose transactions begin IMMEDIATE.

    Concurrent ``aget``/``aput`` calls are batched into one transaction that reads, then
    writes. Begun DEFERRED, its first write fails at once with "database is locked"
    whenever another connection (our checkpointer, another process) committed after the
    read: SQLite cannot wait on a stale snapshot, so the busy timeout never applies.
    IMMEDIATE takes the write lock first, and waits for it.
    """
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    class ImmediateAsyncSqliteStore(AsyncSqliteStore):
        @asynccontextmanager
        async def _cursor(self, *, transaction: bool = True) -> AsyncIterator[Any]:
            if not self.is_setup:
                await self.setup()
            async with self.lock:
                if transaction:
                    await self.conn.execute("BEGIN IMMEDIATE")
                async with self.conn.cursor() as cur:
                    try:
                        yield cur
                    finally:
                        if transaction:
                            await self.conn.execute("COMMIT")

    return ImmediateAsyncSqliteStore


class ThreadedSqliteSaver(SqliteSaver):
    """``SqliteSaver`` for ``ainvoke``: operations run in order on one dedicated thread.

    Why not ``AsyncSqliteSaver``: it holds one ``asyncio.Lock`` across three aiosqlite
    hops per operation, and each hop waits for a turn of the event loop. With hundreds
    of runs in one loop that lock, ~2 ms per operation and ~20 operations per run, became
    the ceiling (``docs/performance.md``, P3). Here the loop only waits for a future; the
    single thread runs operations in the order they were asked for, so a run's writes
    keep their order, and the sync methods keep working from any thread.

    The operations asked for while the thread is busy go over in one hop and come back in
    one wake-up of the loop: with 200 runs at once a hop per operation (a
    ``concurrent.futures.Future``, its condition variable, a thread switch and a wake-up
    each) cost ~10 % of the process's CPU. Each operation still commits on its own.
    """

    def __init__(self, conn: sqlite3.Connection, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="creatok-checkpoints"
        )
        self._queue: list[_Operation] = []
        self._queue_lock = threading.Lock()
        self._draining = False

    async def _hop(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        with self._queue_lock:
            self._queue.append(_Operation(fn, args, loop, done))
            start = not self._draining
            self._draining = True
        if start:
            try:
                self._executor.submit(self._drain)
            except RuntimeError as exc:  # shut down (``aclose``): fail what is queued
                with self._queue_lock:
                    stranded, self._queue, self._draining = self._queue, [], False
                _settle([(op, None, exc) for op in stranded])
        return await done

    def _drain(self) -> None:
        """On the saver's thread: run what is queued, in order, until nothing is."""
        while True:
            with self._queue_lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._draining = False
                    return
            outcomes: dict[asyncio.AbstractEventLoop, list[tuple[_Operation, Any, Any]]] = {}
            for op in batch:
                try:
                    outcome: tuple[_Operation, Any, Any] = (op, op.fn(*op.args), None)
                except BaseException as exc:  # handed to the caller, as a hop would
                    outcome = (op, None, exc)
                outcomes.setdefault(op.loop, []).append(outcome)
            for loop, settled in outcomes.items():
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                    loop.call_soon_threadsafe(_settle, settled)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found: CheckpointTuple | None = await self._hop(self.get_tuple, config)
        return found

    async def alist(  # type: ignore[override]  # an async generator, as in the base class
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def fetch() -> list[CheckpointTuple]:
            return list(self.list(config, filter=filter, before=before, limit=limit))

        for item in await self._hop(fetch):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        saved: RunnableConfig = await self._hop(
            self.put, config, checkpoint, metadata, new_versions
        )
        return saved

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._hop(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._hop(self.delete_thread, thread_id)

    async def aget_delta_channel_history(self, *args: Any, **kwargs: Any) -> Any:
        return await self._hop(functools.partial(self.get_delta_channel_history, *args, **kwargs))

    async def aclose(self) -> None:
        """Finish the operations already asked for, then stop the thread."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)


@dataclass(frozen=True)
class _Operation:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any]


def _settle(settled: list[tuple[_Operation, Any, Any]]) -> None:
    """On the caller's loop: hand each operation its result or its exception."""
    for op, result, error in settled:
        if op.done.cancelled():
            continue
        if error is not None:
            op.done.set_exception(error)
        else:
            op.done.set_result(result)


@contextmanager
def open_persistence(url: str) -> Iterator[Persistence]:
    """Blocking checkpointer + store for ``graph.invoke``."""
    if _kind(url) == "sqlite":
        from langgraph.store.sqlite import SqliteStore

        path = _sqlite_path(url)
        saver_conn = _sqlite_connect(path, autocommit=False)
        store_conn = _sqlite_connect(path, autocommit=True)
        try:
            saver = SqliteSaver(saver_conn)
            store = SqliteStore(store_conn)
            _sqlite_setup(saver.setup, store.setup)
            yield Persistence(saver, store)
        finally:
            saver_conn.close()
            store_conn.close()
        return
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from langgraph.store.postgres import PostgresStore
    except ImportError:
        raise _postgres_missing() from None
    conninfo = _postgres_conninfo(url)
    with (
        PostgresSaver.from_conn_string(conninfo) as pg_saver,
        PostgresStore.from_conn_string(conninfo) as pg_store,
    ):
        # Workers starting together would race on the migrations: one at a time.
        with psycopg.connect(conninfo, autocommit=True) as lock:
            while not _took_lock(lock.execute(TRY_LOCK_SQL, (SETUP_LOCK_KEY,)).fetchone()):
                time.sleep(SETUP_LOCK_POLL)
            pg_saver.setup()
            pg_store.setup()
        yield Persistence(pg_saver, pg_store)  # closing the lock's session released it


@asynccontextmanager
async def aopen_persistence(url: str) -> AsyncIterator[Persistence]:
    """Async checkpointer + store for ``graph.ainvoke``."""
    if _kind(url) == "sqlite":
        import aiosqlite

        path = await asyncio.to_thread(_sqlite_path, url)
        saver = ThreadedSqliteSaver(
            await asyncio.to_thread(_sqlite_connect, path, autocommit=False)
        )
        try:
            store_conn = await aiosqlite.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except BaseException:
            await saver.aclose()
            saver.conn.close()
            raise
        try:
            await _asqlite_setup(*(functools.partial(store_conn.execute, pragma)
                                   for pragma in SQLITE_PRAGMAS))
            store = _immediate_async_sqlite_store()(store_conn)
            await saver._hop(_sqlite_setup, saver.setup)
            await _asqlite_setup(store.setup)
            yield Persistence(saver, store)
        finally:
            await saver.aclose()
            saver.conn.close()
            await store_conn.close()
        return
    try:
        import psycopg
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from langgraph.store.postgres.aio import AsyncPostgresStore
    except ImportError:
        raise _postgres_missing() from None
    conninfo = _postgres_conninfo(url)
    async with (
        AsyncPostgresSaver.from_conn_string(conninfo) as asaver,
        AsyncPostgresStore.from_conn_string(conninfo) as astore,
    ):
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as alock:
            while True:
                cursor = await alock.execute(TRY_LOCK_SQL, (SETUP_LOCK_KEY,))
                if _took_lock(await cursor.fetchone()):
                    break
                await asyncio.sleep(SETUP_LOCK_POLL)
            await asaver.setup()
            await astore.setup()
        yield Persistence(asaver, astore)
