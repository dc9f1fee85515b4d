"""Many reservers race for the last credits of one budget, on every store we support.

Each test starts ≥ 20 reservers at once (threads released by one barrier, or coroutines
gathered on one loop), each asking for 1-3 credits of a 10-credit day, and checks what
the store holds afterwards: the reservations kept never add up to more than the budget,
and every reserver told "yes" is among them. SQLite and PostgreSQL reservers in threads
use a connection each, as separate processes would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from test_postgres import postgres_url  # noqa: F401  (the private PostgreSQL cluster)

from creatok_graph import budget as B
from creatok_graph._flow import run_async, run_sync
from creatok_graph.checkpointing import aopen_persistence, open_persistence

RACERS = 24
DAILY = 10.0
DAY = "2026-11-30"


def _amount(i: int) -> float:
    return float(1 + i % 3)


def _check(store: BaseStore, granted: dict[str, float]) -> None:
    held = run_sync(B.SpendBook(store).holding(DAY))
    kept = {r.run_id: r.credits for r in held}
    print(f"granted {len(granted)} of {RACERS} reservers, {sum(kept.values()):g} of "
          f"{DAILY:g} credits")
    assert sum(kept.values()) <= DAILY
    assert granted == kept  # a "yes" is held; a "no" holds nothing
    assert all(r.state == B.RESERVED for r in held)
    # Nobody was refused while the firm reservations still left room for them.
    assert sum(kept.values()) > DAILY - 3


def _thread_race(store_for: Callable[[int], BaseStore]) -> dict[str, float]:
    stores = [store_for(i) for i in range(RACERS)]
    barrier = threading.Barrier(RACERS)
    granted: dict[str, float] = {}
    errors: list[BaseException] = []

    def reserver(i: int) -> None:
        try:
            barrier.wait()
            got = run_sync(B.SpendBook(stores[i]).reserve(f"run-{i}", _amount(i), DAY, DAILY))
            if got is not None:
                granted[got.run_id] = got.credits
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reserver, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return granted


async def _async_race(stores: list[BaseStore]) -> dict[str, float]:
    async def reserver(i: int) -> B.Reservation | None:
        store = stores[i % len(stores)]
        return await run_async(B.SpendBook(store).reserve(f"run-{i}", _amount(i), DAY, DAILY))

    results = await asyncio.gather(*(reserver(i) for i in range(RACERS)))
    return {r.run_id: r.credits for r in results if r is not None}


def test_in_memory_store_threads() -> None:
    store = InMemoryStore()
    _check(store, _thread_race(lambda i: store))


async def test_in_memory_store_coroutines() -> None:
    store = InMemoryStore()
    _check(store, await _async_race([store]))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'checkpoints.sqlite'}"


def test_sqlite_store_a_connection_per_reserver(sqlite_url: str) -> None:
    with ExitStack() as stack:
        opened = [stack.enter_context(open_persistence(sqlite_url)).store
                  for _ in range(RACERS)]
        granted = _thread_race(lambda i: opened[i])
        _check(opened[0], granted)


async def test_async_sqlite_store_three_connections(sqlite_url: str) -> None:
    async with (aopen_persistence(sqlite_url) as a, aopen_persistence(sqlite_url) as b,
                aopen_persistence(sqlite_url) as c):
        granted = await _async_race([a.store, b.store, c.store])
    with open_persistence(sqlite_url) as p:
        _check(p.store, granted)


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:  # noqa: F811
    yield postgres_url
    import psycopg  # a clean day for the next test

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DELETE FROM store WHERE prefix LIKE 'creatok_graph.budget.%'")


@pytest.mark.slow
def test_postgres_store_a_connection_per_reserver(pg_url: str) -> None:
    with ExitStack() as stack:
        opened = [stack.enter_context(open_persistence(pg_url)).store for _ in range(RACERS)]
        granted = _thread_race(lambda i: opened[i])
        _check(opened[0], granted)


@pytest.mark.slow
async def test_async_postgres_store(pg_url: str) -> None:
    async with aopen_persistence(pg_url) as a, aopen_persistence(pg_url) as b:
        granted = await _async_race([a.store, b.store])
    with open_persistence(pg_url) as p:
        _check(p.store, granted)


def test_a_day_full_of_firm_reservations_refuses_at_once() -> None:
    """No back-off rounds when the firm reservations alone leave no room."""
    calls: list[Any] = []

    class CountingStore(InMemoryStore):
        def search(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return super().search(*args, **kwargs)

    store = CountingStore()
    assert run_sync(B.SpendBook(store).reserve("a", 10, DAY, DAILY)) is not None
    calls.clear()
    assert run_sync(B.SpendBook(store).reserve("b", 1, DAY, DAILY)) is None
    assert len(calls) == 1
    assert run_sync(B.SpendBook(store).get("b", DAY)).state == B.RELEASED  # type: ignore[union-attr]


def test_a_reserver_short_of_room_reconciles_a_crashed_runs_reservation(tmp_path: Path) -> None:
    from creatok_graph import ledger as L

    store = InMemoryStore()
    book, ledger = B.SpendBook(store), L.Ledger(store, str(tmp_path))
    stale = B.Reservation("crashed", 8, B.RESERVED, at=1.0)  # long ago, never submitted
    unanswered = B.Reservation("in-doubt", 2, B.RESERVED, at=1.0)
    for res in (stale, unanswered):
        store.put(B.namespace(B.STORE_SCOPE, DAY), res.run_id, res.to_dict())
    run_sync(ledger.begin("in-doubt", "hash", {"prompt": "p"}))  # an intent, no answer
    assert run_sync(book.reserve("late", 5, DAY, DAILY)) is None  # without the ledger: full
    kept = run_sync(book.reserve("late", 5, DAY, DAILY, ledger=ledger))
    assert kept is not None and kept.state == B.RESERVED
    states = {r.run_id: r.state for r in run_sync(book.holding(DAY))}
    assert states == {"in-doubt": B.RESERVED, "late": B.RESERVED}  # "crashed" was released
