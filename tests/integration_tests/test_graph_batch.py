"""Batches (``requests``): one capabilities fetch, one approval, one charge per approved item."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import pytest
from graph_support import Harness, interrupt_of

from creatok_graph.approval import read_decisions
from creatok_graph.client import SUBMIT_PATH
from creatok_graph.messages import text

FOX = "a red fox sitting in a snowy birch forest at dawn, watercolor style"
WHALE = "a blue whale breaching at sunset over a calm sea, oil painting"
CAT = "a ginger cat asleep on a stack of old books, soft morning light"
REQUESTS = [{"prompt": FOX}, {"prompt": WHALE, "n": 2}, {"prompt": CAT, "resolution": "1K"}]


def decisions(*kinds: Any) -> dict[str, Any]:
    return {"decisions": [k if isinstance(k, dict) else {"type": k} for k in kinds]}


async def test_one_question_for_the_batch_then_one_charge_per_approved_item(
    h2: Harness,
) -> None:
    first = await h2.invoke({"requests": REQUESTS, "run_id": "cat1"})
    value = interrupt_of(first)
    actions = value["action_requests"]
    assert [a["args"]["prompt"] for a in actions] == [FOX, WHALE, CAT]
    assert [a["args"]["n"] for a in actions] == [1, 2, 1]
    assert [a["args"]["resolution"] for a in actions] == ["2K", "2K", "1K"]
    prices = [a["estimated_credits"] for a in actions]
    assert all(isinstance(p, (int, float)) and p > 0 for p in prices)
    total = sum(prices)
    assert value["estimated_credits"] == total == first["estimated_credits"]
    assert text("en", "batch_total", credits=f"{total:g}") in value["description"]
    assert h2.stats()["capabilities"] == 1
    assert h2.stats()["submit_requests"] == 0  # nothing sent before the answer

    events = await h2.stream(_resume(decisions("approve", "reject", "approve")), "t1",
                             modes=("custom", "values"))
    done = [chunk for mode, chunk in events if mode == "values"][-1]
    assert h2.stats()["submits"] == 2
    assert h2.stats()["capabilities"] == 1
    results = done["results"]
    assert [r["index"] for r in results] == [0, 1, 2]
    assert [r["status"] for r in results] == ["succeeded", "cancelled", "succeeded"]
    assert results[1]["task_id"] is None and results[1]["images"] == []
    for entry in (results[0], results[2]):
        task = h2.emulator.get_task(entry["task_id"])
        assert task is not None and task["prompt"] == entry["prompt"]
        assert len(entry["images"]) == 1 and entry["images"][0]["url"].startswith("http")
    assert done["status"] == "succeeded"
    assert done["estimated_credits"] == prices[0] + prices[2]
    progress = [c for m, c in events if m == "custom" and c.get("type") == "batch_item"]
    assert sorted(p["done"] for p in progress) == [1, 2]
    assert {p["total"] for p in progress} == {2}  # the approved ones
    saved = h2.result_json("cat1")
    assert [r["status"] for r in saved["results"]] == ["succeeded", "cancelled", "succeeded"]
    assert results[0]["images"][0]["url"] in h2.result_md("cat1")
    # one gallery page for the batch, showing each request's saved copy from its own folder
    page = (h2.root / "cat1" / "outputs" / "index.html").read_text(encoding="utf-8")
    for entry in (results[0], results[2]):
        copy = entry["images"][0]["file"]
        assert (h2.root / entry["run_id"] / "outputs" / copy).is_file()
        assert f"../../{entry['run_id']}/outputs/{copy}" in page
        assert not (h2.root / entry["run_id"] / "outputs" / "index.html").exists()  # one page


def _resume(value: Any) -> Any:
    from langgraph.types import Command

    return Command(resume=value)


async def test_invalid_items_are_reported_together_by_index_and_nothing_is_asked(
    h1: Harness,
) -> None:
    requests = [{"prompt": FOX}, {"prompt": WHALE, "resolution": "9K"}, {"prompt": ""},
                {"prompt": CAT, "colour": "red"}, "a dog"]
    done = await h1.invoke({"requests": requests})
    assert "__interrupt__" not in done
    assert done["status"] == "invalid_request"
    assert h1.stats()["capabilities"] == 1 and h1.stats()["submit_requests"] == 0
    problems = done["error"]["problems"]
    assert [p["index"] for p in problems] == [1, 2, 3, 4]
    assert "1K" in problems[0]["message"] and "4K" in problems[0]["message"]  # allowed values
    assert "prompt" in problems[1]["message"]
    assert "colour" in problems[2]["message"] and "aspect_ratio" in problems[2]["message"]
    assert [r["status"] for r in done["results"]] == [None] + ["invalid_request"] * 4
    message = done["messages"][-1].content
    assert "request 2" in message and "9K" in message


async def test_yes_approves_all_and_no_rejects_all(h1: Harness) -> None:
    await h1.invoke({"requests": REQUESTS[:2]}, "yes")
    done = await h1.resume("yes", "yes")
    assert [r["status"] for r in done["results"]] == ["succeeded", "succeeded"]
    await h1.invoke({"requests": REQUESTS[:2]}, "no")
    declined = await h1.resume("no", "no")
    assert declined["status"] == "cancelled"
    assert [r["status"] for r in declined["results"]] == ["cancelled", "cancelled"]
    assert h1.stats()["submits"] == 2


async def test_after_an_edit_only_the_edited_request_is_asked_again(h1: Harness) -> None:
    """Approve 1, edit 2, reject 3: the next question lists request 2 alone, re-priced, with
    the new total (1 + the new 2); the other answers stand through a bad edit too."""
    first = interrupt_of(await h1.invoke({"requests": REQUESTS}))
    prices = [a["estimated_credits"] for a in first["action_requests"]]
    edited = {"type": "edit", "edited_action": {"name": "generate_image",
                                                "args": {"prompt": WHALE, "n": 4}}}
    again = interrupt_of(await h1.resume(decisions("approve", edited, "reject")))
    assert [a["args"]["prompt"] for a in again["action_requests"]] == [WHALE]
    assert again["batch"]["indexes"] == [1] and again["batch"]["count"] == 1
    (action,) = again["action_requests"]
    assert action["args"]["n"] == 4 and action["estimated_credits"] == prices[1] * 2
    total = prices[0] + prices[1] * 2
    assert again["estimated_credits"] == total
    description = again["description"]
    assert text("en", "batch_total", credits=f"{total:g}") in description
    assert text("en", "batch_edited", numbers="2") in description
    assert text("en", "batch_decided", approved=1, declined=1) in description
    assert FOX not in description and CAT not in description  # decided: not asked again
    assert h1.stats()["submit_requests"] == 0

    bad = {"type": "edit", "edited_action": {"args": {"resolution": "9K"}}}
    third = interrupt_of(await h1.resume(decisions(bad)))
    assert "request 2" in third["description"] and "9K" in third["description"]
    (action,) = third["action_requests"]
    assert action["args"]["n"] == 4  # the earlier edit is kept
    assert text("en", "batch_decided", approved=1, declined=1) in third["description"]

    done = await h1.resume(decisions("approve"))
    assert [r["status"] for r in done["results"]] == ["succeeded", "succeeded", "cancelled"]
    tasks = [h1.emulator.get_task(r["task_id"]) for r in done["results"][:2]]
    assert [t["n"] for t in tasks if t] == [1, 4]
    assert h1.stats()["submits"] == 2
    assert done["estimated_credits"] == total


async def test_a_wrong_number_of_decisions_asks_again(h1: Harness) -> None:
    await h1.invoke({"requests": REQUESTS})
    again = interrupt_of(await h1.resume(decisions("approve")))
    assert "expected 3 decisions" in again["description"]
    assert h1.stats()["submit_requests"] == 0


async def test_a_failed_item_does_not_hide_the_others(h1: Harness) -> None:
    requests = [{"prompt": FOX}, {"prompt": "[fail] " + WHALE}]
    await h1.invoke({"requests": requests, "run_id": "mixed"})
    done = await h1.resume("yes")
    assert done["status"] == "partial"
    ok, failed = done["results"]
    assert ok["status"] == "succeeded" and ok["images"]
    assert failed["status"] == "failed" and failed["error"]["kind"] == "failed"
    assert failed["task_id"]
    assert h1.stats()["submits"] == 2


async def test_the_same_batch_again_under_its_run_id_charges_nothing_more(h1: Harness) -> None:
    await h1.invoke({"requests": REQUESTS[:2], "run_id": "again"}, "a")
    first = await h1.resume("yes", "a")
    asked = h1.stats()["requests"]
    # another thread, the same requests under the same run id: all succeeded, nothing asked
    second = await h1.invoke({"requests": REQUESTS[:2], "run_id": "again"}, "b")
    assert "__interrupt__" not in second and second["status"] == "succeeded"
    assert h1.stats()["submit_requests"] == 2
    assert [r["task_id"] for r in second["results"]] == [r["task_id"] for r in first["results"]]
    assert [r["images"] for r in second["results"]] == [r["images"] for r in first["results"]]
    after = h1.stats()["requests"]
    assert sum(after.values()) - sum(asked.values()) <= 1  # at most the capabilities


@pytest.mark.parametrize("limit", [1, 2])
async def test_no_more_items_in_flight_than_the_limit(h1: Harness, limit: int) -> None:
    import dataclasses

    h1.context = dataclasses.replace(h1.context, batch_concurrency=limit)
    requests = [{"prompt": f"{FOX}, variation {i}"} for i in range(4)]
    await h1.invoke({"requests": requests})
    events = await h1.stream(_resume("yes"), "t1", modes=("custom",))
    in_flight = peak = 0
    for _, event in events:
        if event.get("type") == "submitting":
            in_flight += 1
            peak = max(peak, in_flight)
        elif event.get("type") == "batch_item":
            in_flight -= 1
    assert 1 <= peak <= limit
    assert h1.stats()["submits"] == 4


def test_read_decisions_one_per_item_or_one_for_all() -> None:
    kinds = read_decisions(decisions("approve", "reject"), 2)
    assert isinstance(kinds, list) and [d.type for d in kinds] == ["approve", "reject"]
    everyone = read_decisions("sí", 3)
    assert isinstance(everyone, list) and [d.type for d in everyone] == ["approve"] * 3
    wrong = read_decisions(decisions("approve", "maybe"), 2)
    assert not isinstance(wrong, list) and wrong.type == "malformed"
    assert json.dumps(wrong.reason).find("request 2") >= 0


async def test_a_client_cannot_choose_the_key_or_the_concurrency(
    h1: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A served graph's client sends a dict: a key in it refuses the batch before any call;
    ``batch_concurrency`` is the operator's (not a client setting: it is dropped)."""
    monkeypatch.setenv("CREATOK_BASE_URL", h1.emulator.base_url)
    monkeypatch.setenv("CREATOK_API_KEY", h1.emulator.api_key)
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(h1.root))
    secret = "sk-client-sent-secret-1234"
    refused = await h1.graph.ainvoke({"requests": REQUESTS}, h1.config("r1"),
                                     context={"api_key": secret})
    assert refused["status"] == "invalid_request"
    assert "api_key" in refused["messages"][-1].content
    assert sum(h1.stats()["requests"].values()) == 0
    assert secret not in repr(refused)

    asked = await h1.graph.ainvoke({"requests": REQUESTS[:1]}, h1.config("r2"),
                                   context={"batch_concurrency": 100000})
    assert interrupt_of(asked)["action_requests"]
    done = await h1.graph.ainvoke(_resume("yes"), h1.config("r2"), context={})
    assert done["status"] == "succeeded"


def test_the_batch_total_counts_against_the_daily_budget(
    emulator: Any, tmp_path: Any,
) -> None:
    """Daily budget 2, three 1-credit requests: the question says items 1 and 2 fit and a
    plain yes is not enough; approving just those two fits, and today's spend is 2."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore
    from langgraph.types import Command

    from creatok_graph import budget as B
    from creatok_graph import build_graph
    from creatok_graph.context import CreatokContext

    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05,
                         budget=B.BudgetLimits(daily_credits=2))
    store = InMemoryStore()
    graph = build_graph(InMemorySaver(), store)
    cfg: Any = {"configurable": {"thread_id": "budgeted"}}
    three = [{"prompt": FOX}, {"prompt": CAT}, {"prompt": f"{FOX}, at night"}]
    asked = graph.invoke({"requests": three}, cfg, context=ctx)["__interrupt__"][0].value
    assert asked["budget"]["fits"] == [True, True, False]
    assert asked["budget"]["needs"] == "override"
    assert text("en", "budget_items_fit", items="1, 2") in asked["description"]

    again = graph.invoke(Command(resume="yes"), cfg, context=ctx)["__interrupt__"][0].value
    assert text("en", "budget_not_approved") in again["description"]
    assert emulator.stats()["submit_requests"] == 0

    done = graph.invoke(Command(resume=decisions("approve", "approve", "reject")), cfg,
                        context=ctx)
    assert [r["status"] for r in done["results"]] == ["succeeded", "succeeded", "cancelled"]
    assert emulator.stats()["submits"] == 2
    from creatok_graph._flow import run_sync

    spent = run_sync(B.today(store, ctx.artifacts_dir, B.BudgetLimits(daily_credits=2)))
    assert spent.committed == 2 and spent.left == 0  # one reservation per item, committed


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_without_limits_every_item_of_a_batch_is_still_counted(
    emulator: Any, tmp_path: Any, driver: str,
) -> None:
    """No budget set: the items reserve side by side, and each is counted and committed
    once (what ``creatok-image --spend`` reports), with either driver."""
    import asyncio

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore
    from langgraph.types import Command

    from creatok_graph import budget as B
    from creatok_graph import build_graph
    from creatok_graph._flow import run_sync
    from creatok_graph.context import CreatokContext

    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                         artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05)
    store = InMemoryStore()
    graph = build_graph(InMemorySaver(), store)
    cfg: Any = {"configurable": {"thread_id": f"counted-{driver}"}}
    five = [{"prompt": f"{FOX}, number {i}"} for i in range(5)]
    if driver == "sync":
        graph.invoke({"requests": five}, cfg, context=ctx)
        done = graph.invoke(Command(resume="yes"), cfg, context=ctx)
    else:
        async def both() -> Any:
            await graph.ainvoke({"requests": five}, cfg, context=ctx)
            return await graph.ainvoke(Command(resume="yes"), cfg, context=ctx)

        done = asyncio.run(both())
    assert [r["status"] for r in done["results"]] == ["succeeded"] * 5
    assert emulator.stats()["submits"] == 5
    spent = run_sync(B.today(store, ctx.artifacts_dir, B.BudgetLimits()))
    assert spent.committed == done["estimated_credits"] > 0
    assert spent.approved == spent.committed  # nothing left reserved


async def test_a_partly_failed_batch_run_again_asks_and_sends_only_what_failed(
    h1: Harness,
) -> None:
    """Run 1: 1 succeeds, 2 fails (its task), 3 declined, 4 succeeds. The same requests
    again under the run id: only 2 is asked about (priced) and sent, under a new ledger key;
    the results merge the kept ones with the new outcome, in input order."""
    dog = "a sleepy beagle on a porch in the rain, pencil sketch"
    requests = [{"prompt": FOX}, {"prompt": "[fail] " + WHALE}, {"prompt": CAT}, {"prompt": dog}]
    await h1.invoke({"requests": requests, "run_id": "again"})
    first = await h1.resume(decisions("approve", "approve", "reject", "approve"))
    assert [r["status"] for r in first["results"]] == [
        "succeeded", "failed", "cancelled", "succeeded"]
    assert h1.stats()["submits"] == 3

    asked = interrupt_of(await h1.invoke({"requests": requests, "run_id": "again"}))
    assert [a["args"]["prompt"] for a in asked["action_requests"]] == ["[fail] " + WHALE]
    assert asked["batch"]["indexes"] == [1]
    price = asked["action_requests"][0]["estimated_credits"]
    assert asked["estimated_credits"] == price
    assert text("en", "batch_total", credits=f"{price:g}") in asked["description"]
    assert text("en", "batch_retrying", kept=3, total=4) in asked["description"]
    assert h1.stats()["submit_requests"] == 3  # nothing sent before the answer

    events = await h1.stream(_resume("yes"), "t1", modes=("custom", "values"))
    done = [chunk for mode, chunk in events if mode == "values"][-1]
    results = done["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == ["succeeded", "failed", "cancelled", "succeeded"]
    for kept in (0, 2, 3):  # never sent again: the same task, the same images
        assert results[kept]["task_id"] == first["results"][kept]["task_id"]
        assert results[kept]["images"] == first["results"][kept]["images"]
        assert results[kept]["run_id"] == f"again-{kept}"
    assert results[1]["run_id"] == "again-1.2"  # a fresh ledger key for the new attempt
    assert results[1]["task_id"] not in (None, first["results"][1]["task_id"])
    stats = h1.stats()
    assert stats["submits"] == 4 and stats["submit_requests"] == 4  # exactly one more
    progress = [c for m, c in events if m == "custom" and c.get("type") == "batch_item"]
    assert [(p["index"], p["done"], p["total"]) for p in progress] == [(1, 1, 1)]
    saved = h1.result_json("again")
    assert [r["task_id"] for r in saved["results"]] == [r["task_id"] for r in results]

    # Again, and this time "no": nothing is sent, request 2 stays as it ended.
    await h1.invoke({"requests": requests, "run_id": "again"})
    declined = await h1.resume("no")
    assert [r["status"] for r in declined["results"]] == [
        "succeeded", "failed", "cancelled", "succeeded"]
    assert declined["results"][1]["task_id"] == results[1]["task_id"]
    assert declined["results"][1]["run_id"] == "again-1.2"
    assert h1.stats()["submit_requests"] == 4
    assert declined["status"] == "partial"


class DiesWhileFollowingTheThird(httpx.AsyncBaseTransport):
    """Real HTTP; the status check of the third task submitted raises, as if the process
    died there (the run ends with the exception, its finished items saved)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.dying = True
        self.submitted: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == SUBMIT_PATH:
            await response.aread()
            self.submitted.append(json.loads(response.content)["data"]["task_id"])
        elif (self.dying and len(self.submitted) >= 3
              and request.url.params.get("task_id") == self.submitted[2]):
            await response.aread()
            raise RuntimeError("the process died here")
        return response


async def test_the_progress_counts_on_after_a_crash(h1: Harness) -> None:
    """Four requests, one in flight at a time; the run dies following the third. Resumed by
    a process that knows nothing of the batch, the progress goes on 3/4, 4/4."""
    import dataclasses

    from creatok_graph import batch
    from creatok_graph.connections import GraphHttp

    wire = DiesWhileFollowingTheThird()
    h1.build(http=GraphHttp(async_transport=wire))
    h1.context = dataclasses.replace(h1.context, batch_concurrency=1, poll_interval=0.05)
    await h1.invoke({"requests": [{"prompt": f"{FOX}, view {i}"} for i in range(4)]})

    async def progress(value: Any) -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        with contextlib.suppress(RuntimeError):
            async for event in h1.graph.astream(value, h1.config("t1"), context=h1.context,
                                                stream_mode="custom"):
                if event.get("type") == "batch_item":
                    seen.append((event["done"], event["total"]))
        return seen

    assert await progress(_resume("yes")) == [(1, 4), (2, 4)]
    batch._SLOTS.clear()  # a new process: nothing of the round in memory
    wire.dying = False
    assert await progress(None) == [(3, 4), (4, 4)]
    done = await h1.values()
    assert [r["status"] for r in done["results"]] == ["succeeded"] * 4
    assert h1.stats()["submits"] == 4  # the third task was followed again, not resent
