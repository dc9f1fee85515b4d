"""A request keeps the settings it started with: a resume with another context (or none)
cannot switch the API it was priced on, its folder or its waiting limits. Over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from graph_support import APPROVE, PROMPT, Harness, action_of

from creatok_graph.context import CreatokContext


async def test_a_resume_with_another_context_pays_where_it_was_priced(
    h2: Harness, emulator_factory: Any, tmp_path: Path
) -> None:
    other = emulator_factory()  # another API the resuming caller points at
    elsewhere = tmp_path / "elsewhere"
    first = await h2.invoke({"prompt": PROMPT})
    assert action_of(first)["args"]["prompt"] == PROMPT  # priced on the start's API
    assert h2.stats()["capabilities"] == 1

    switched = CreatokContext(api_key=other.api_key, base_url=other.base_url,
                              artifacts_dir=str(elsewhere), timeout=0.01)
    done = await h2.resume(APPROVE, context=switched)

    assert done["status"] == "succeeded"  # the start's 600 s, not 0.01 s: it waited
    assert h2.emulator.get_task(done["task_id"]) is not None  # paid where it was priced
    assert h2.stats()["submits"] == 1
    assert other.stats()["submit_requests"] == 0 and other.stats()["requests"] == {}
    assert h2.result_json()["task_id"] == done["task_id"]  # in the start's folder
    assert done["artifacts_dir"] == str(h2.root / "t1")
    assert not await asyncio.to_thread(elsewhere.exists)


async def test_a_resume_cannot_lengthen_the_wait(h1: Harness) -> None:
    h1.emulator.set_scenarios(["stuck-task"])
    short = CreatokContext(api_key=h1.emulator.api_key, base_url=h1.emulator.base_url,
                           artifacts_dir=str(h1.root), timeout=0.5)
    await h1.invoke({"prompt": PROMPT}, context=short)
    done = await h1.resume(APPROVE)  # the default context waits 600 s
    assert done["status"] == "timeout" and done["task_id"]


async def test_the_next_request_takes_the_new_context(h1: Harness, emulator_factory: Any) -> None:
    await h1.invoke({"prompt": PROMPT})
    assert (await h1.resume(APPROVE))["status"] == "succeeded"
    other = emulator_factory(task_seconds=0.0)
    moved = CreatokContext(api_key=other.api_key, base_url=other.base_url,
                           artifacts_dir=str(h1.root))
    await h1.invoke({"prompt": PROMPT + ", again"}, context=moved)
    done = await h1.resume(APPROVE)  # resumed without it: still the new request's API
    assert done["status"] == "succeeded"
    assert other.get_task(done["task_id"]) is not None
    assert h1.stats()["submits"] == 1
