"""The submission ledger: a paid request is sent at most once per approved request.

Ledger decisions are tested directly; the graph tests run the real graph over real
HTTP against the in-process emulator, with a tapping transport that counts every
paid POST *before* it reaches the server and can break the connection after it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, RetryPolicy

from creatok_graph import ledger as L
from creatok_graph import polling
from creatok_graph._flow import Send, run_sync
from creatok_graph.checkpointing import aopen_persistence, open_persistence
from creatok_graph.client import SUBMIT_PATH, CreatokAPI
from creatok_graph.connections import GraphHttp
from creatok_graph.context import CreatokContext
from creatok_graph.emulator import Emulator
from creatok_graph.graph import NO_RETRY, build_builder, build_graph

PROMPT = "a red fox sitting in a snowy birch forest at dawn, watercolor style"
APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}
BODY: dict[str, Any] = {"prompt": PROMPT, "model": "m", "resolution": "2K", "n": 1}
HASH = L.params_hash(L.approved_params(BODY, []))


@pytest.fixture(autouse=True)
def _fresh_capabilities(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("CREATOK_API_KEY", "CREATOK_BASE_URL", "CREATOK_ARTIFACTS_DIR",
                 "CREATOK_TIMEOUT", "CREATOK_POLL_INTERVAL"):
        monkeypatch.delenv(name, raising=False)
    yield


# -- the ledger on its own -------------------------------------------------------------------


def _begin(ledger: L.Ledger, run_id: str = "r1", phash: str = HASH) -> tuple[str, L.LedgerEntry]:
    return run_sync(ledger.begin(run_id, phash, BODY))


def _stored(store: BaseStore, run_id: str = "r1") -> L.LedgerEntry | None:
    item = store.get(L.NAMESPACE, run_id)
    return L._entry(item.value) if item else None


def _on_disk(root: Path, run_id: str = "r1") -> L.LedgerEntry | None:
    return L._entry(json.loads((root / run_id / L.LEDGER_FILE).read_text(encoding="utf-8")))


def test_intent_is_recorded_in_store_and_file_before_sending(tmp_path: Path) -> None:
    store = InMemoryStore()
    ledger = L.Ledger(store, str(tmp_path))
    decision, intent = _begin(ledger)
    assert decision == L.SEND
    assert intent.state == L.PENDING and intent.attempts == 1 and intent.body == BODY
    assert _stored(store) == intent == _on_disk(tmp_path)

    # The same run again (a resume, a retry policy, a second invocation): never sent again.
    decision, again = _begin(ledger)
    assert decision == L.UNKNOWN and again.idempotency_key == intent.idempotency_key


def test_a_task_id_is_reused_and_never_resent(tmp_path: Path) -> None:
    ledger = L.Ledger(InMemoryStore(), str(tmp_path))
    _, intent = _begin(ledger)
    assert run_sync(ledger.record(intent.submitted("task_1")))
    decision, entry = _begin(ledger)
    assert decision == L.REUSE and entry.task_id == "task_1"


def test_a_task_id_anywhere_wins_over_a_newer_record(tmp_path: Path) -> None:
    store = InMemoryStore()
    ledger = L.Ledger(store, str(tmp_path))
    _, intent = _begin(ledger)
    L._write_file(str(tmp_path), intent.submitted("task_1"))  # the store write was lost
    store.put(L.NAMESPACE, "r1", dataclasses.replace(intent, seq=99).to_dict())
    decision, entry = _begin(ledger)
    assert (decision, entry.task_id) == (L.REUSE, "task_1")


def test_the_newest_record_wins_across_store_and_file(tmp_path: Path) -> None:
    """A refusal left in one sink must not hide a newer intent that was sent."""
    store = InMemoryStore()
    ledger = L.Ledger(store, str(tmp_path))
    _, first = _begin(ledger)
    run_sync(ledger.record(first.refused("api_error: insufficient credits")))
    decision, second = _begin(ledger)
    assert decision == L.SEND and second.idempotency_key != first.idempotency_key
    L._write_file(str(tmp_path), first.refused("stale"))  # the file lags behind the store
    decision, entry = _begin(ledger)
    assert decision == L.UNKNOWN and entry.idempotency_key == second.idempotency_key


def test_a_refusal_allows_a_new_attempt_with_a_new_key(tmp_path: Path) -> None:
    ledger = L.Ledger(None, str(tmp_path))
    _, first = _begin(ledger)
    run_sync(ledger.record(first.refused("rate_limited")))
    decision, second = _begin(ledger)
    assert decision == L.SEND and second.idempotency_key != first.idempotency_key
    assert second.seq > first.seq


def test_another_request_under_the_same_run_id_is_a_conflict(tmp_path: Path) -> None:
    ledger = L.Ledger(None, str(tmp_path))
    _begin(ledger)
    decision, _ = _begin(ledger, phash="0" * 64)
    assert decision == L.CONFLICT


def test_a_persons_retry_is_spent_by_exactly_one_send(tmp_path: Path) -> None:
    store = InMemoryStore()
    ledger = L.Ledger(store, str(tmp_path))
    _, intent = _begin(ledger)
    run_sync(ledger.put(intent.approve_resend()))
    decision, armed = _begin(ledger)
    assert decision == L.RESEND
    assert armed.idempotency_key == intent.idempotency_key and armed.attempts == 2
    assert _stored(store) == armed and not armed.resend_approved
    # The process dies during that send: the next pass asks again instead of sending.
    assert _begin(ledger)[0] == L.UNKNOWN


def test_upload_keys_are_not_part_of_the_approved_request() -> None:
    with_keys = {**BODY, "imageObjectKeys": ["open-skills/reference-images/x/a.png"]}
    other_keys = {**BODY, "imageObjectKeys": ["open-skills/reference-images/y/a.png"]}
    assert L.params_hash(L.approved_params(with_keys, ["a.png"])) == L.params_hash(
        L.approved_params(other_keys, ["a.png"])
    )
    assert L.params_hash(L.approved_params(with_keys, ["a.png"])) != L.params_hash(
        L.approved_params(with_keys, ["b.png"])
    )


def test_simultaneous_invocations_of_one_run_id_send_once(tmp_path: Path) -> None:
    results: list[str] = []
    gate = threading.Barrier(8)

    def one() -> None:
        ledger = L.Ledger(None, str(tmp_path))
        gate.wait()
        results.append(_begin(ledger)[0])

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [L.SEND] + [L.UNKNOWN] * 7


def test_no_intent_on_record_means_nothing_is_sent(tmp_path: Path) -> None:
    class BrokenStore(InMemoryStore):
        def put(self, *args: Any, **kwargs: Any) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):
        _begin(L.Ledger(BrokenStore(), str(tmp_path)))
    # The claim on disk was taken back: nothing left, so nobody is asked about it later.
    assert not (tmp_path / "r1" / L.LEDGER_FILE).exists()
    assert _begin(L.Ledger(InMemoryStore(), str(tmp_path)))[0] == L.SEND


def test_the_store_alone_is_enough_when_the_folder_is_unwritable(tmp_path: Path) -> None:
    root = tmp_path / "not-a-dir"
    root.write_text("a file where the artifacts folder should be")
    store = InMemoryStore()
    decision, intent = _begin(L.Ledger(store, str(root)))
    assert decision == L.SEND and _stored(store) == intent
    with pytest.raises(OSError):
        _begin(L.Ledger(None, str(root)))  # with no store, the file is required


# -- the graph -------------------------------------------------------------------------------


class Tap(httpx.BaseTransport):
    """Real HTTP, but every paid POST is counted first and may be broken on purpose."""

    def __init__(
        self,
        on_submit: Callable[[httpx.BaseTransport, httpx.Request, int], httpx.Response] | None,
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self.on_submit = on_submit
        self.posts: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == SUBMIT_PATH:
            request.read()
            self.posts.append(request)
            if self.on_submit is not None:
                return self.on_submit(self.inner, request, len(self.posts))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    @property
    def keys(self) -> list[str]:
        return [r.headers["Idempotency-Key"] for r in self.posts]


def drop_after_sending(first_only: bool = True) -> Callable[..., httpx.Response]:
    """The server takes (and charges) the request; the answer never arrives."""

    def handler(inner: httpx.BaseTransport, request: httpx.Request, n: int) -> httpx.Response:
        response = inner.handle_request(request)
        if first_only and n > 1:
            return response
        response.read()
        response.close()
        raise httpx.ReadError("connection reset by peer", request=request)

    return handler


@pytest.fixture
def wire() -> Iterator[Tap]:
    """The transport of the test's graph (``build_graph(http=GraphHttp(transport=...))``)."""
    transport = Tap(None)
    yield transport
    transport.close()


@pytest.fixture
def tap(wire: Tap) -> Callable[..., Tap]:
    def install(on_submit: Callable[..., httpx.Response] | None = None) -> Tap:
        wire.on_submit = on_submit
        return wire

    return install


@dataclasses.dataclass
class Run:
    emulator: Emulator
    root: Path
    graph: Any
    store: BaseStore

    @property
    def context(self) -> CreatokContext:
        return CreatokContext(api_key=self.emulator.api_key, base_url=self.emulator.base_url,
                              artifacts_dir=str(self.root), poll_interval=0.05)

    def invoke(self, value: Any, thread: str = "t1") -> dict[str, Any]:
        result: dict[str, Any] = self.graph.invoke(
            value, {"configurable": {"thread_id": thread}}, context=self.context
        )
        return result

    def start(self, run_id: str = "r1", thread: str = "t1") -> dict[str, Any]:
        first = self.invoke({"prompt": PROMPT, "run_id": run_id}, thread)
        assert "action_requests" in first["__interrupt__"][0].value
        return self.invoke(Command(resume=APPROVE), thread)

    def ledger(self, run_id: str = "r1") -> L.LedgerEntry:
        entry = run_sync(L.Ledger(self.store, str(self.root)).get(run_id))
        assert entry is not None
        return entry

    def charged(self) -> list[dict[str, Any]]:
        return list(self.emulator.tasks.values())


def _graph(submit_retry: RetryPolicy | None = None, checkpointer: Any = None,
           store: BaseStore | None = None, transport: httpx.BaseTransport | None = None) -> Any:
    builder = build_builder(http=GraphHttp(transport=transport))
    if submit_retry is not None:
        spec = builder.nodes["submit"]
        builder.nodes["submit"] = dataclasses.replace(spec, retry_policy=submit_retry)
    return builder.compile(checkpointer=checkpointer or InMemorySaver(), store=store)


@pytest.fixture
def make_run(emulator_factory: Any, tmp_path: Path, wire: Tap) -> Callable[..., Run]:
    def make(submit_retry: RetryPolicy | None = None, **emulator_options: Any) -> Run:
        emulator_options.setdefault("task_seconds", 0.2)
        store = InMemoryStore()
        return Run(emulator_factory(**emulator_options), tmp_path / "artifacts",
                   _graph(submit_retry, store=store, transport=wire), store)

    return make


def _question(result: dict[str, Any]) -> dict[str, Any]:
    (pending,) = result["__interrupt__"]
    value: dict[str, Any] = pending.value
    assert value["type"] == "unknown_outcome", value
    return value


GREEDY_RETRY = RetryPolicy(max_attempts=5, initial_interval=0.01, jitter=False,
                           retry_on=Exception)


def test_no_node_that_can_reach_the_paid_call_is_ever_retried() -> None:
    builder = build_builder()
    for name, spec in builder.nodes.items():
        policy = spec.retry_policy
        policies = [policy] if isinstance(policy, RetryPolicy) or policy is None else policy
        if name == "poll":
            continue  # status checks are idempotent
        assert all(p is not None and p.max_attempts == 1 for p in policies), name
    assert builder.nodes["submit"].retry_policy == NO_RETRY


@pytest.mark.parametrize("policy", [None, GREEDY_RETRY, RetryPolicy()], ids=["ours", "greedy",
                                                                             "langgraph-default"])
def test_a_dropped_connection_after_sending_posts_exactly_once(
    make_run: Callable[..., Run], tap: Callable[..., Tap], policy: RetryPolicy | None
) -> None:
    run = make_run(policy)
    wire = tap(drop_after_sending())
    question = _question(run.start())
    assert len(wire.posts) == 1 and len(run.charged()) == 1
    assert "https://www.creatok.ai" in question["question"]
    assert question["options"] == ["retry", "stop"]
    assert question["idempotency_key"] == wire.keys[0]

    done = run.invoke(Command(resume="stop"))
    assert done["status"] == "cancelled" and done["error"]["kind"] == "unknown_outcome"
    assert len(wire.posts) == 1 and len(run.charged()) == 1
    assert run.ledger().state == L.PENDING  # still unresolved on record


@pytest.mark.parametrize("policy", [GREEDY_RETRY, RetryPolicy(retry_on=httpx.HTTPError)],
                         ids=["greedy", "httpx"])
def test_a_raw_httpx_error_inside_the_submit_flow_posts_exactly_once(
    make_run: Callable[..., Run], tap: Callable[..., Tap], monkeypatch: pytest.MonkeyPatch,
    policy: RetryPolicy,
) -> None:
    run = make_run(policy)
    wire = tap()
    real_submit = CreatokAPI.submit

    def submit(self: CreatokAPI, body: dict[str, Any], *, idempotency_key: str | None = None
               ) -> Any:
        flow = real_submit(self, body, idempotency_key=idempotency_key)
        effect = next(flow)  # the Send effect the real flow asks for
        assert isinstance(effect, Send)
        request = effect.request
        yield Send(request)  # it reaches the server...
        raise httpx.RemoteProtocolError("server disconnected", request=request)  # ...no answer

    monkeypatch.setattr(CreatokAPI, "submit", submit)
    _question(run.start())
    assert len(wire.posts) == 1 and len(run.charged()) == 1


def test_retry_after_an_unknown_outcome_resends_the_same_key_and_is_deduplicated(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run()
    wire = tap(drop_after_sending())
    _question(run.start())
    done = run.invoke(Command(resume="retry"))
    assert done["status"] == "succeeded"
    assert len(wire.posts) == 2 and wire.keys[0] == wire.keys[1]
    (task,) = run.charged()
    assert done["task_id"] == task["task_id"]
    assert run.emulator.stats()["idempotent_replays"] == 1
    entry = run.ledger()
    assert (entry.state, entry.task_id, entry.attempts) == (L.SUBMITTED, task["task_id"], 2)


def test_retry_while_the_first_request_is_still_processing_waits_for_it(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run(scenarios=["slow-submit"], slow_submit_seconds=1.0)
    background: list[threading.Thread] = []

    def in_flight(inner: httpx.BaseTransport, request: httpx.Request, n: int) -> httpx.Response:
        if n > 1:
            return inner.handle_request(request)
        t = threading.Thread(target=lambda: inner.handle_request(request).read())
        t.start()  # the server is working on it ...
        background.append(t)
        raise httpx.ReadTimeout("timed out", request=request)  # ... we gave up waiting

    wire = tap(in_flight)
    _question(run.start())
    done = run.invoke(Command(resume="retry"))
    for t in background:
        t.join()
    assert done["status"] == "succeeded"
    assert len(run.charged()) == 1 and done["task_id"] == run.charged()[0]["task_id"]
    assert len(set(wire.keys)) == 1 and len(wire.posts) >= 3  # 1st, a 409 or more, the replay


def test_a_second_invocation_of_the_run_id_reuses_the_task(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run()
    wire = tap()
    first = run.start()
    assert first["status"] == "succeeded"
    # A new process: fresh checkpoints, same ledger.
    run.graph = _graph(store=run.store, transport=wire)
    again = run.start(thread="t2")
    assert again["status"] == "succeeded" and again["task_id"] == first["task_id"]
    assert len(wire.posts) == 1 and len(run.charged()) == 1


def test_the_same_run_id_for_a_different_request_is_refused(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run()
    wire = tap()
    run.start()
    run.graph = _graph(store=run.store, transport=wire)
    run.invoke({"prompt": PROMPT + ", at night", "run_id": "r1"}, "t2")
    done = run.invoke(Command(resume=APPROVE), "t2")
    assert done["status"] == "invalid_request" and done["error"]["field"] == "run_id"
    assert len(wire.posts) == 1


def test_a_refusal_is_recorded_and_a_later_attempt_gets_a_new_key(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run(scenarios=["submit-error"])
    wire = tap()
    assert run.start()["status"] == "api_error"
    assert run.ledger().state == L.REFUSED and not run.charged()
    run.emulator.set_scenarios([])
    run.graph = _graph(store=run.store, transport=wire)
    assert run.start(thread="t2")["status"] == "succeeded"
    assert len(set(wire.keys)) == 2 and len(run.charged()) == 1


def test_an_answer_without_task_id_keeps_the_intent_open(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run(scenarios=["missing-task-id"])
    wire = tap()
    done = run.start()
    assert done["status"] == "contract_error" and len(run.charged()) == 1
    entry = run.ledger()
    assert entry.state == L.PENDING and "task_id" in (entry.note or "")
    # Anyone running this request again is asked first: it was accepted (and charged).
    run.emulator.set_scenarios([])
    run.graph = _graph(store=run.store, transport=wire)
    _question(run.start(thread="t2"))
    assert len(wire.posts) == 1


def test_the_intent_is_on_record_when_the_paid_post_leaves(
    make_run: Callable[..., Run], tap: Callable[..., Tap]
) -> None:
    run = make_run()
    seen: list[L.LedgerEntry | None] = []

    def check(inner: httpx.BaseTransport, request: httpx.Request, n: int) -> httpx.Response:
        seen.append(_stored(run.store))
        seen.append(_on_disk(run.root))
        return inner.handle_request(request)

    wire = tap(check)
    assert run.start()["status"] == "succeeded"
    assert [e.state if e else None for e in seen] == [L.PENDING, L.PENDING]
    assert all(e and e.idempotency_key == wire.keys[0] for e in seen)


def test_the_task_id_is_checkpointed_and_on_disk_before_polling_starts(
    emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulator_factory(task_seconds=0.2)
    db = tmp_path / "checkpoints.sqlite"
    root = tmp_path / "artifacts"
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(root))
    cfg: RunnableConfig = {"configurable": {"thread_id": "r1"}}
    seen: dict[str, Any] = {}
    real_wait = polling.wait_for_task

    def wait_for_task(api: CreatokAPI, task_id: str, **kwargs: Any) -> Any:
        # What a brand-new process would find if this one died right now.
        conn = sqlite3.connect(db)
        try:
            snapshot = build_graph(SqliteSaver(conn)).get_state(cfg)
        finally:
            conn.close()
        seen["checkpointed"] = snapshot.values["generation"].get("task_id")
        seen["result_json"] = json.loads(
            (root / "r1" / "outputs" / "result.json").read_text(encoding="utf-8"))["task_id"]
        seen["ledger"] = _on_disk(root).task_id  # type: ignore[union-attr]
        seen["polling"] = task_id
        return (yield from real_wait(api, task_id, **kwargs))

    monkeypatch.setattr(polling, "wait_for_task", wait_for_task)
    with open_persistence(f"sqlite:///{db}") as p:
        graph = build_graph(p.checkpointer, p.store)
        list(graph.stream({"prompt": PROMPT, "run_id": "r1"}, cfg, context=ctx,
                          durability="sync"))
        list(graph.stream(Command(resume=APPROVE), cfg, context=ctx, durability="sync"))
        assert graph.get_state(cfg).values["status"] == "succeeded"
    task_id = seen["polling"]
    assert seen == {"checkpointed": task_id, "result_json": task_id, "ledger": task_id,
                    "polling": task_id}


async def test_async_runs_keep_the_same_promises(
    emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ainvoke + the async SQLite saver: a dropped answer is asked about, a retry deduped."""
    emulator = emulator_factory(task_seconds=0.2)
    posts: list[httpx.Request] = []

    class AsyncTap(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if request.method == "POST" and request.url.path == SUBMIT_PATH:
                posts.append(request)
                if len(posts) == 1:
                    await response.aread()
                    await response.aclose()
                    raise httpx.ReadError("connection reset by peer", request=request)
            return response

    http = GraphHttp(async_transport=AsyncTap())
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05)
    cfg: RunnableConfig = {"configurable": {"thread_id": "r1"}}
    try:
        async with aopen_persistence(f"sqlite:///{tmp_path / 'c.sqlite'}") as p:
            graph = build_graph(p.checkpointer, p.store, http=http)
            await graph.ainvoke({"prompt": PROMPT, "run_id": "r1"}, cfg, context=ctx)
            _question(await graph.ainvoke(Command(resume=APPROVE), cfg, context=ctx))
            assert len(posts) == 1 and emulator.stats()["submits"] == 1
            done = await graph.ainvoke(Command(resume="retry"), cfg, context=ctx)
            item = await p.store.aget(L.NAMESPACE, "r1")
    finally:
        await http.aclose()
    assert done["status"] == "succeeded"
    keys = [r.headers["Idempotency-Key"] for r in posts]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert emulator.stats()["submits"] == 1
    assert item is not None and item.value["task_id"] == done["task_id"]


# -- one SQLite file, many runs at once -----------------------------------------------------


def test_many_threads_with_their_own_connections_share_one_sqlite_file(
    emulator_factory: Any, tmp_path: Path
) -> None:
    """Like several CLI processes: each opens the (brand-new) file itself, all at once."""
    emulator = emulator_factory(task_seconds=0.3)
    db = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05)
    gate = threading.Barrier(6)
    outcomes: dict[str, Any] = {}

    def one(run_id: str) -> None:
        try:
            gate.wait()
            with open_persistence(db) as p:
                graph = build_graph(p.checkpointer, p.store)
                cfg: RunnableConfig = {"configurable": {"thread_id": run_id}}
                graph.invoke({"prompt": f"{PROMPT} #{run_id}", "run_id": run_id}, cfg,
                             context=ctx, durability="sync")
                done = graph.invoke(Command(resume=APPROVE), cfg, context=ctx,
                                    durability="sync")
                outcomes[run_id] = done["status"]
        except Exception:  # reported below, with the run id and the whole traceback
            outcomes[run_id] = traceback.format_exc()

    threads = [threading.Thread(target=one, args=(f"run-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {f"run-{i}": "succeeded" for i in range(6)}
    assert emulator.stats()["submits"] == 6


async def test_concurrent_async_runs_share_one_async_sqlite_saver(
    emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = emulator_factory(task_seconds=0.3)
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05)
    async with aopen_persistence(f"sqlite:///{tmp_path / 'shared.sqlite'}") as p:
        graph = build_graph(p.checkpointer, p.store)

        async def one(run_id: str) -> str:
            cfg: RunnableConfig = {"configurable": {"thread_id": run_id}}
            await graph.ainvoke({"prompt": f"{PROMPT} #{run_id}", "run_id": run_id}, cfg,
                                context=ctx)
            done = await graph.ainvoke(Command(resume=APPROVE), cfg, context=ctx)
            return str(done["status"])

        statuses = await asyncio.gather(*(one(f"arun-{i}") for i in range(8)))
        assert statuses == ["succeeded"] * 8
        entries = [await p.store.aget(L.NAMESPACE, f"arun-{i}") for i in range(8)]
        assert all(e is not None and e.value["state"] == L.SUBMITTED for e in entries)
    assert emulator.stats()["submits"] == 8
    await asyncio.sleep(0)  # let aiosqlite's worker threads finish closing
