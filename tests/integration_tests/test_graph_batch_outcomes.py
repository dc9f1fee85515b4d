"""A batch whose paid calls have an unknown outcome: asked about per request, never resent
on its own.

Real HTTP to the emulator, which runs without Idempotency-Key de-duplication
(``honour_idempotency=False``, the CLI's ``--no-idempotency``): every POST it accepts is a
charge, so a second charge is visible. The transport drops the answer to the paid POST of
the requests marked ``LOST`` after the emulator took (and charged) it: the connection broke
after the request left, an unknown outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from creatok_graph import CreatokContext, build_graph
from creatok_graph import ledger as L
from creatok_graph._flow import run_sync
from creatok_graph.client import SUBMIT_PATH
from creatok_graph.connections import GraphHttp
from creatok_graph.messages import text

FOX = "a red fox sitting in a snowy birch forest at dawn, watercolor style"
WHALE = "a blue whale breaching at sunset over a calm sea, oil painting"
CAT = "a ginger cat asleep on a stack of old books, soft morning light"
LOST = "(answer lost)"
MAY_CHARGE_AGAIN = "this may charge a second time"


class LosesAnswers(httpx.BaseTransport):
    """Real HTTP; the answer to a paid POST whose prompt holds ``LOST`` never arrives."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.losing = True
        self.posts: list[tuple[str, str]] = []  # (prompt, Idempotency-Key), in order

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST" or request.url.path != SUBMIT_PATH:
            return self.inner.handle_request(request)
        request.read()
        prompt = json.loads(request.content)["prompt"]
        self.posts.append((prompt, request.headers["Idempotency-Key"]))
        response = self.inner.handle_request(request)
        if self.losing and LOST in prompt:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()

    def keys_for(self, words: str) -> list[str]:
        return [key for prompt, key in self.posts if words in prompt]


class Batch:
    def __init__(self, emulator: Any, tmp_path: Path) -> None:
        self.emulator = emulator
        self.wire = LosesAnswers()
        self.store = InMemoryStore()
        self.graph = build_graph(InMemorySaver(), self.store, http=GraphHttp(transport=self.wire))
        self.root = tmp_path / "artifacts"
        self.context = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                                      artifacts_dir=str(self.root), poll_interval=0.05)
        self.config: Any = {"configurable": {"thread_id": "t1"}}

    def invoke(self, value: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.graph.invoke(value, self.config, context=self.context)
        return result

    def stream(self, value: Any) -> list[tuple[str, Any]]:
        return list(self.graph.stream(value, self.config, context=self.context,
                                      stream_mode=["custom", "updates"]))

    def charges_for(self, words: str) -> list[dict[str, Any]]:
        return [t for t in self.emulator.tasks.values() if words in t["prompt"]]


def _question(chunks: list[tuple[str, Any]]) -> dict[str, Any]:
    pending = [i for mode, c in chunks if mode == "updates" for i in c.get("__interrupt__", ())]
    assert len(pending) == 1, chunks
    value: dict[str, Any] = pending[0].value
    return value


def test_each_request_in_doubt_is_asked_about_and_only_a_warned_retry_charges_again(
    emulator_factory: Any, tmp_path: Path
) -> None:
    run = Batch(emulator_factory(task_seconds=0.2, honour_idempotency=False), tmp_path)
    requests = [{"prompt": FOX}, {"prompt": f"{WHALE} {LOST}"}, {"prompt": f"{CAT} {LOST}"}]
    run.invoke({"requests": requests, "run_id": "doubt"})
    chunks = run.stream(Command(resume="yes"))

    # The other request went on and finished; the two in doubt were sent once each, charged
    # once each by the server, and not sent again: one question lists just those two.
    ended = {c["index"]: c["status"] for m, c in chunks
             if m == "custom" and c.get("type") == "batch_item"}
    assert ended == {0: "succeeded", 1: "error", 2: "error"}
    question = _question(chunks)
    assert question["type"] == "unknown_outcome"
    assert [item["index"] for item in question["items"]] == [1, 2]
    assert question["batch"]["indexes"] == [1, 2]
    assert MAY_CHARGE_AGAIN in question["question"] and "https://www.creatok.ai" in question[
        "question"]
    assert WHALE in question["question"] and FOX not in question["question"]
    keys = [item["idempotency_key"] for item in question["items"]]
    assert keys == [run.wire.keys_for(WHALE)[0], run.wire.keys_for(CAT)[0]]
    assert len(run.wire.posts) == 3
    assert [len(run.charges_for(p)) for p in (FOX, WHALE, CAT)] == [1, 1, 1]
    fox_task = run.charges_for(FOX)[0]["task_id"]

    # A wrong number of answers is asked again, saying why; nothing is sent meanwhile.
    chunks = run.stream(Command(resume={"decisions": [{"type": "retry"}]}))
    assert "expected 2 answers" in _question(chunks)["question"]
    assert len(run.wire.posts) == 3

    # Retry the whale (warned: may charge again), stop the cat.
    run.wire.losing = False
    done = run.invoke(Command(resume="retry, stop"))
    results = done["results"]
    assert [r["status"] for r in results] == ["succeeded", "succeeded", "cancelled"]
    assert results[0]["task_id"] == fox_task  # untouched
    assert results[2]["error"]["kind"] == "unknown_outcome"
    assert results[2]["task_id"] is None
    # the retry: the same body under the same key, once; without de-duplication, a 2nd charge
    assert run.wire.keys_for(WHALE) == [keys[0], keys[0]]
    assert len(run.charges_for(WHALE)) == 2
    assert results[1]["task_id"] in {t["task_id"] for t in run.charges_for(WHALE)}
    # the stopped one and the finished one are never sent again
    assert len(run.wire.keys_for(CAT)) == 1 and len(run.wire.keys_for(FOX)) == 1
    assert done["status"] == "partial"
    assert text("en", "unknown_outcome_stopped") in done["messages"][-1].content
    saved = json.loads((run.root / "doubt" / "outputs" / "result.json").read_text())
    assert [r["status"] for r in saved["results"]] == ["succeeded", "succeeded", "cancelled"]


def test_a_task_id_recorded_meanwhile_is_followed_instead_of_asking(
    emulator_factory: Any, tmp_path: Path
) -> None:
    """The ledger is read again before the answer is used (as a single run's second look):
    another process that got CreatOK's answer meanwhile recorded the task id."""
    run = Batch(emulator_factory(task_seconds=0.2, honour_idempotency=False), tmp_path)
    requests = [{"prompt": FOX}, {"prompt": f"{WHALE} {LOST}"}]
    run.invoke({"requests": requests, "run_id": "meanwhile"})
    question = _question(run.stream(Command(resume="yes")))
    assert [item["index"] for item in question["items"]] == [1]

    (charged,) = run.charges_for(WHALE)
    ledger = L.Ledger(run.store, str(run.root.resolve()))
    entry = run_sync(ledger.get("meanwhile-1"))
    assert entry is not None and entry.state == L.PENDING
    run_sync(ledger.record(entry.submitted(charged["task_id"])))

    done = run.invoke(Command(resume="retry"))  # the answer is not needed any more
    assert [r["status"] for r in done["results"]] == ["succeeded", "succeeded"]
    assert done["results"][1]["task_id"] == charged["task_id"]
    assert len(run.wire.keys_for(WHALE)) == 1 and len(run.charges_for(WHALE)) == 1
