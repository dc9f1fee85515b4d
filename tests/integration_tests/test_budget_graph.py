"""The spend guard in the real graph, over real HTTP against the emulator.

What CreatOK charged is read from the emulator's own counters (``stats()``), never from
what the graph says about itself. The emulator's pricing is the sample capabilities':
Nano Banana 2 at 2K costs 1 credit per image.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from creatok_graph import budget as B
from creatok_graph._flow import run_sync
from creatok_graph.checkpointing import aopen_persistence
from creatok_graph.connections import GraphHttp
from creatok_graph.context import CreatokContext
from creatok_graph.emulator import Emulator
from creatok_graph.graph import build_graph

PROMPT = "a red fox sitting in a snowy birch forest at dawn, watercolor style"
APPROVE: dict[str, Any] = {"decisions": [{"type": "approve"}]}
OVERRIDE: dict[str, Any] = {"decisions": [{"type": "override"}]}
UNPRICED_MODEL = "gpt-image-2"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("CREATOK_"):
            monkeypatch.delenv(name)


def _ctx(emu: Emulator, tmp_path: Path, **limits: Any) -> CreatokContext:
    return CreatokContext(api_key=emu.api_key, base_url=emu.base_url,
                          artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05,
                          budget=B.BudgetLimits(**limits))


class Runs:
    """One graph, one store; each run is a thread."""

    def __init__(self, emu: Emulator, ctx: CreatokContext, http: GraphHttp | None = None) -> None:
        self.emu, self.ctx = emu, ctx
        self.store = InMemoryStore()
        self.graph = build_graph(InMemorySaver(), self.store, http=http)

    def invoke(self, run: str, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.graph.invoke(
            value, {"configurable": {"thread_id": run}}, context=self.ctx)
        return out

    def start(self, run: str, **inputs: Any) -> dict[str, Any]:
        """Start a run up to its approval question; returns the question."""
        out = self.invoke(run, {"prompt": PROMPT, "refine": False, **inputs})
        return _question(out)

    def charged(self) -> tuple[int, float]:
        stats = self.emu.stats()
        return stats["tasks"], stats["credits"]


def _question(out: dict[str, Any]) -> dict[str, Any]:
    assert "__interrupt__" in out, out.get("status")
    value: dict[str, Any] = out["__interrupt__"][0].value
    return value


def _described(question: dict[str, Any]) -> str:
    text: str = question["action_requests"][0]["description"]
    return text


def test_the_question_shows_what_is_left_and_the_output_the_figures(
    emulator: Emulator, tmp_path: Path
) -> None:
    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=5))
    question = runs.start("a", n=2)
    assert "Credits left today: 5 of 5." in _described(question)
    assert question["budget"]["verdict"] == B.FITS
    done = runs.invoke("a", Command(resume=APPROVE))
    assert done["status"] == "succeeded" and runs.charged() == (1, 2)
    assert done["budget"]["state"] == B.COMMITTED and done["budget"]["credits"] == 2
    assert (done["budget"]["committed_today"], done["budget"]["left_today"]) == (2, 3)
    assert "Credits left today: 3 of 5." in _described(runs.start("b", n=1))


def test_above_the_budget_a_yes_is_asked_again_and_editing_down_goes_through(
    emulator: Emulator, tmp_path: Path
) -> None:
    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=3))
    question = runs.start("a", n=4)
    assert question["budget"]["verdict"] == B.OVER_DAY
    assert "(credits: 4 estimated, 3 left)" in _described(question)
    assert question["review_configs"][0]["allowed_decisions"] == ["edit", "reject"]
    again = _question(runs.invoke("a", Command(resume=APPROVE)))
    assert _described(again).startswith("That answer does not approve this request")
    assert "(credits: 4 estimated, 3 left)" in _described(again)
    again = _question(runs.invoke("a", Command(resume=OVERRIDE)))  # not allowed here
    assert runs.charged() == (0, 0)
    edit = {"decisions": [{"type": "edit", "edited_action": {"args": {"n": 3}}}]}
    fits = _question(runs.invoke("a", Command(resume=edit)))
    assert fits["budget"]["verdict"] == B.FITS
    done = runs.invoke("a", Command(resume=APPROVE))
    assert done["status"] == "succeeded" and runs.charged() == (1, 3)


def test_the_operator_may_allow_an_explicit_override(emulator: Emulator, tmp_path: Path) -> None:
    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=1, allow_override=True))
    question = runs.start("a", n=2)
    assert question["budget"]["allowed"] == [B.OVERRIDE]
    assert "“override”" in _described(question)
    _question(runs.invoke("a", Command(resume=APPROVE)))  # a plain yes is not enough
    assert runs.charged() == (0, 0)
    done = runs.invoke("a", Command(resume=OVERRIDE))
    assert done["status"] == "succeeded" and runs.charged() == (1, 2)
    assert done["budget"]["override"] is True and done["budget"]["left_today"] == 0


def test_the_per_run_maximum(emulator: Emulator, tmp_path: Path) -> None:
    runs = Runs(emulator, _ctx(emulator, tmp_path, max_credits_per_run=1))
    question = runs.start("a", n=2)
    assert question["budget"]["verdict"] == B.OVER_RUN
    assert "(credits: 2 estimated, at most 1 per run)" in _described(question)
    _question(runs.invoke("a", Command(resume="yes")))
    assert runs.charged() == (0, 0)
    assert runs.invoke("a", Command(resume="no"))["status"] == "cancelled"


def _without_price(emu: Emulator) -> None:
    envelope = copy.deepcopy(emu.capabilities)
    for model in envelope["data"]["capabilities"]["image"]["models"]:
        if model["id"] == UNPRICED_MODEL:
            model.pop("pricing", None)
    emu.set_capabilities(envelope)


def test_a_model_without_a_price_needs_an_explicit_decision(
    emulator: Emulator, tmp_path: Path
) -> None:
    _without_price(emulator)
    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=10))
    question = runs.start("a", model=UNPRICED_MODEL)
    assert question["budget"]["verdict"] == B.UNPRICED
    assert "“approve unpriced”" in _described(question)
    _question(runs.invoke("a", Command(resume=APPROVE)))
    assert runs.charged()[0] == 0
    done = runs.invoke("a", Command(resume={"decisions": [{"type": "approve_unpriced"}]}))
    assert done["status"] == "succeeded" and runs.charged()[0] == 1
    assert done["budget"]["unpriced"] is True


def test_a_refused_request_gives_its_credits_back(emulator_factory: Any, tmp_path: Path) -> None:
    emu = emulator_factory(scenarios=["submit-error"])
    runs = Runs(emu, _ctx(emu, tmp_path, daily_credits=2))
    runs.start("a", n=2)
    done = runs.invoke("a", Command(resume=APPROVE))
    assert done["status"] == "api_error" and runs.charged() == (0, 0)
    assert done["budget"]["state"] == B.RELEASED and done["budget"]["left_today"] == 2


def test_a_rejection_reserves_nothing(emulator: Emulator, tmp_path: Path) -> None:
    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=2))
    runs.start("a", n=2)
    done = runs.invoke("a", Command(resume="no"))
    assert done["status"] == "cancelled" and done.get("budget") is None
    assert "Credits left today: 2 of 2." in _described(runs.start("b", n=2))


async def test_many_runs_approved_at_once_never_spend_more_than_the_budget(
    emulator: Emulator, tmp_path: Path
) -> None:
    """24 runs wait at their approval; all are approved at the same moment."""
    ctx = _ctx(emulator, tmp_path, daily_credits=10)
    async with aopen_persistence(f"sqlite:///{tmp_path / 'checkpoints.sqlite'}") as p:
        graph = build_graph(p.checkpointer, p.store)

        async def call(run: str, value: Any) -> dict[str, Any]:
            out: dict[str, Any] = await graph.ainvoke(
                value, {"configurable": {"thread_id": run}}, context=ctx)
            return out

        runs = [f"run-{i}" for i in range(24)]
        for run in runs:
            _question(await call(run, {"prompt": PROMPT, "refine": False, "n": 1}))
        results = await asyncio.gather(*(call(run, Command(resume=APPROVE)) for run in runs))
    succeeded = [r for r in results if r.get("status") == "succeeded"]
    asked_again = [_question(r) for r in results if "__interrupt__" in r]
    tasks, credits = emulator.stats()["tasks"], emulator.stats()["credits"]
    print(f"24 approvals, 10-credit budget: {len(succeeded)} charged, "
          f"{len(asked_again)} asked again, {credits:g} credits charged")
    assert credits <= 10 and tasks == len(succeeded)
    assert len(succeeded) + len(asked_again) == 24
    assert all(q["budget"]["verdict"] == B.OVER_DAY for q in asked_again)


# -- the CLI --------------------------------------------------------------------------------


def _cli(emu: Emulator, tmp_path: Path, *args: str, stdin: str = "",
         **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    return subprocess.run(
        [sys.executable, "-m", "creatok_graph.cli", *args], input=stdin, text=True,
        capture_output=True, timeout=120,
        env={**base, "CREATOK_BASE_URL": emu.base_url, "CREATOK_API_KEY": emu.api_key,
             "CREATOK_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
             "CREATOK_POLL_INTERVAL": "0.05", **env})


def test_cli_yes_never_goes_over_the_budget_nor_buys_an_unpriced_model(
    emulator: Emulator, tmp_path: Path
) -> None:
    over = _cli(emulator, tmp_path, "--yes", "--prompt", PROMPT, "--n", "3",
                CREATOK_DAILY_CREDITS="2", CREATOK_BUDGET_OVERRIDE="1")
    assert over.returncode == 2, over.stderr
    assert "(credits: 3 estimated, 2 left)" in over.stdout
    assert "--yes does not approve this request" in over.stderr
    _without_price(emulator)
    unpriced = _cli(emulator, tmp_path, "--yes", "--prompt", PROMPT, "--model", UNPRICED_MODEL,
                    CREATOK_DAILY_CREDITS="2")
    assert unpriced.returncode == 2 and "no listed price" in unpriced.stdout
    assert emulator.stats()["tasks"] == 0
    # The person typing the word is what approves it.
    typed = _cli(emulator, tmp_path, "--prompt", PROMPT, "--model", UNPRICED_MODEL,
                 stdin="approve unpriced\n", CREATOK_DAILY_CREDITS="2")
    assert typed.returncode == 0, typed.stderr
    assert emulator.stats()["tasks"] == 1


def test_cli_spend_prints_todays_figures(emulator: Emulator, tmp_path: Path) -> None:
    done = _cli(emulator, tmp_path, "--yes", "--prompt", PROMPT, "--n", "2",
                CREATOK_DAILY_CREDITS="5")
    assert done.returncode == 0, done.stderr
    spend = _cli(emulator, tmp_path, "--spend", CREATOK_DAILY_CREDITS="5")
    assert spend.returncode == 0, spend.stderr
    assert "in credits: 2 approved, 2 of them charged" in spend.stdout
    assert "Credits left today: 3 of 5." in spend.stdout
    as_json = json.loads(_cli(emulator, tmp_path, "--spend", "--json").stdout.splitlines()[-1])
    assert (as_json["approved"], as_json["committed"], as_json["left"]) == (2, 2, None)


@pytest.mark.slow
def test_cli_processes_racing_for_the_budget(emulator: Emulator, tmp_path: Path) -> None:
    """Ten ``creatok-image --yes`` processes, one SQLite file, a 5-credit day."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    env = {**base, "CREATOK_BASE_URL": emulator.base_url, "CREATOK_API_KEY": emulator.api_key,
           "CREATOK_ARTIFACTS_DIR": str(tmp_path / "artifacts"), "CREATOK_POLL_INTERVAL": "0.05",
           "CREATOK_DAILY_CREDITS": "5"}
    procs = [subprocess.Popen([sys.executable, "-m", "creatok_graph.cli", "--yes", "--prompt",
                               PROMPT, "--json"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(10)]
    codes = [p.wait(timeout=180) for p in procs]
    for p in procs:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.close()
        p.stderr.close()
    stats = emulator.stats()
    print(f"10 processes, 5-credit day: exit codes {sorted(codes)}, "
          f"{stats['credits']:g} credits charged")
    assert stats["credits"] <= 5 and codes.count(0) == stats["tasks"]
    assert set(codes) <= {0, 2}


# -- outcomes, scopes, configuration ---------------------------------------------------------


@pytest.fixture
def dropping() -> Iterator[GraphHttp]:
    """Pools whose first paid POST reaches CreatOK (and is charged) but gets no answer."""
    from test_ledger import Tap, drop_after_sending

    tap = Tap(drop_after_sending())
    http = GraphHttp(transport=tap)
    yield http
    http.close()
    tap.close()


def _unknown_outcome(emu: Emulator, tmp_path: Path,
                     http: GraphHttp) -> tuple[Runs, dict[str, Any]]:
    """CreatOK takes (and charges) the request, but the answer never arrives."""
    runs = Runs(emu, _ctx(emu, tmp_path, daily_credits=2), http)
    runs.start("a", n=2)
    question = _question(runs.invoke("a", Command(resume=APPROVE)))
    assert question["type"] == "unknown_outcome"
    held = run_sync(B.SpendBook(runs.store).get("a", B.utc_day()))
    assert held is not None and held.state == B.RESERVED  # unresolved: still counted
    assert "Credits left today: 0 of 2." in _described(runs.start("b", n=1))
    return runs, question


def test_an_unknown_outcome_resolved_as_stop_releases(
    emulator: Emulator, tmp_path: Path, dropping: GraphHttp
) -> None:
    runs, _ = _unknown_outcome(emulator, tmp_path, dropping)
    done = runs.invoke("a", Command(resume="stop"))
    assert done["status"] == "cancelled" and done["budget"]["state"] == B.RELEASED
    assert done["budget"]["left_today"] == 2


def test_an_unknown_outcome_resolved_as_retry_commits_once(
    emulator: Emulator, tmp_path: Path, dropping: GraphHttp
) -> None:
    """The resend carries the same Idempotency-Key; the emulator de-duplicates it (CreatOK's
    contract does too), so one task, one charge, one commitment."""
    runs, _ = _unknown_outcome(emulator, tmp_path, dropping)
    done = runs.invoke("a", Command(resume="retry"))
    assert done["status"] == "succeeded" and runs.charged() == (1, 2)
    assert done["budget"]["state"] == B.COMMITTED and done["budget"]["approved_today"] == 2


def test_each_authenticated_user_has_a_budget_of_their_own(
    emulator: Emulator, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=2))

    def as_user(name: str, run: str, value: Any) -> dict[str, Any]:
        config = {"configurable": {"thread_id": run,
                                   "langgraph_auth_user": SimpleNamespace(identity=name)}}
        out: dict[str, Any] = runs.graph.invoke(value, config, context=runs.ctx)
        return out

    as_user("ann", "ann-1", {"prompt": PROMPT, "refine": False, "n": 2})
    assert as_user("ann", "ann-1", Command(resume=APPROVE))["status"] == "succeeded"
    ann = _question(as_user("ann", "ann-2", {"prompt": PROMPT, "refine": False, "n": 1}))
    bob = _question(as_user("bob", "bob-1", {"prompt": PROMPT, "refine": False, "n": 1}))
    assert ann["budget"]["verdict"] == B.OVER_DAY
    assert "Credits left today: 0 of 2." in _described(ann)
    assert bob["budget"]["verdict"] == B.FITS
    assert "Credits left today: 2 of 2." in _described(bob)


def test_a_daily_budget_without_a_store_is_a_clear_error(
    emulator: Emulator, tmp_path: Path
) -> None:
    graph = build_graph(InMemorySaver())  # no store: today's spend cannot be counted
    out = graph.invoke({"prompt": PROMPT, "refine": False}, {"configurable": {"thread_id": "a"}},
                       context=_ctx(emulator, tmp_path, daily_credits=2))
    assert out["status"] == "configuration_error" and "needs a store" in out["error"]["message"]
    assert emulator.stats()["tasks"] == 0


def test_a_bad_limit_in_the_environment_stops_before_anything_is_paid(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(B.ENV_DAILY, "ten")
    runs = Runs(emulator, CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url,
                                         artifacts_dir=str(tmp_path / "artifacts")))
    out = runs.invoke("a", {"prompt": PROMPT, "refine": False})
    assert out["status"] == "configuration_error" and B.ENV_DAILY in out["error"]["message"]
    assert emulator.stats()["tasks"] == 0


def test_a_reservation_given_back_before_the_paid_call_is_taken_again_or_re_asked(
    emulator: Emulator, tmp_path: Path
) -> None:
    """A run resumed long after a crash may find its reservation reconciled away: it takes
    the credits again if they are still there, else the person is asked again."""
    from creatok_graph.graph import build_builder

    runs = Runs(emulator, _ctx(emulator, tmp_path, daily_credits=2))
    runs.graph = build_builder().compile(checkpointer=InMemorySaver(), store=runs.store,
                                         interrupt_before=["submit"])
    book, day = B.SpendBook(runs.store), B.utc_day()
    for run in ("a", "b"):
        runs.start(run, n=1)
        runs.invoke(run, Command(resume=APPROVE))  # reserved; stopped before submit
    run_sync(book.release("a", day))  # as a reconcile would have done
    done = runs.invoke("a", None)
    assert done["status"] == "succeeded" and done["budget"]["state"] == B.COMMITTED
    run_sync(book.release("b", day))
    assert run_sync(book.reserve("other", 1, day, 2)) is not None  # the day is spent now
    question = _question(runs.invoke("b", None))
    assert "Meanwhile other runs used the budget" in _described(question)
    assert runs.charged() == (1, 1)
