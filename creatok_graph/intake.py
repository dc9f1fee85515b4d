"""The first step of every invocation: a new request, a recovery check, or a refusal.

The caller's input keys hold only what this invocation sent (see ``_upstream``), so
a new request simply starts a new :class:`~creatok_graph.state.Generation`; nothing
of an earlier one needs clearing.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from langgraph.types import Command

from . import artifacts
from ._flow import Flow
from .errors import InvalidRequestError
from .ledger import REFUSED, Ledger
from .node_env import NodeEnv, generation, latest_human, start, with_update
from .replies import error_record
from .state import SETTING_KEYS, Generation, ImageSettings, State

UNSENT_PHASES = frozenset({"clarify", "approve"})
"""A request in these phases was never sent: a newer message replaces it under its run id."""


def _asked(state: State) -> ImageSettings:
    asked: dict[str, Any] = {k: state.get(k) for k in SETTING_KEYS if state.get(k) is not None}
    if isinstance(asked.get("prompt"), str):
        asked["prompt"] = asked["prompt"].strip() or None
    return asked  # type: ignore[return-value]


def _default_run_id(env: NodeEnv, number: int) -> str:
    base = env.thread_id or time.strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    return base if number <= 1 else f"{base}-{number}"


def run_id_conflict(run_id: str, task_id: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(
        f"run id {run_id} was already used for a different request"
        + (f" (task {task_id})" if task_id else "") + "; use another run id",
        field="run_id", reason="run_id_used", params={"value": run_id})


def intake(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    previous = generation(state)
    human = latest_human(state)
    fresh_message = human is not None and human.id != state.get("consumed_message_id")
    asked = _asked(state)
    task_id = state.get("task_id")
    update: dict[str, Any] = {}
    if fresh_message:
        assert human is not None
        update["consumed_message_id"] = human.id

    if task_id and not asked.get("prompt") and not fresh_message:
        # A recovery check: the task of this thread's request, or another one.
        if task_id == previous.get("task_id"):
            gen: Generation = {**previous}  # type: ignore[typeddict-item]
        else:
            number = int(previous.get("number") or 0) + 1
            gen = {"number": number, "asked": {}, "task_id": task_id,
                   "language": previous.get("language") or ""}
            gen["run_id"] = state.get("run_id") or _default_run_id(env, number)
        if state.get("run_id"):
            gen["run_id"] = str(state.get("run_id"))
        if state.get("language"):
            gen["language"], gen["language_chosen"] = str(state["language"]), True
        gen.update(phase="recheck", wait=state.get("wait"), status=None, error=None)
        return (yield from _checked(gen, "poll", update, env))

    replaces_unsent = previous.get("phase") in UNSENT_PHASES
    number = int(previous.get("number") or 0) + (0 if replaces_unsent and previous else 1)
    number = max(number, 1)
    run_id = state.get("run_id") or (
        previous.get("run_id") if replaces_unsent and previous.get("run_id")
        else _default_run_id(env, number)
    )
    chosen = state.get("language")
    gen = {
        "run_id": str(run_id),
        "number": number,
        "language": str(chosen or previous.get("language") or ""),
        "language_chosen": bool(chosen),
        "asked": asked,
        "read_chat": fresh_message and not asked.get("prompt"),
        "refine": state.get("refine") is not False,
        "phase": "clarify",
        "images": [],
    }
    if state.get("wait") is not None:
        gen["wait"] = state.get("wait")
    return (yield from _checked(gen, "clarify", update, env))


def _checked(
    gen: Generation, goto: str, update: dict[str, Any], env: NodeEnv
) -> Flow[Command[Any]]:
    """Refuse an unsafe run id, and a new prompt under a run id already used for another."""
    run_id = gen["run_id"]
    refusal: InvalidRequestError | None = None
    try:
        artifacts.check_run_id(run_id)
    except InvalidRequestError as exc:
        refusal = exc
    prompt = (gen.get("asked") or {}).get("prompt")
    if refusal is None and goto == "clarify" and prompt:
        entry = yield from Ledger(env.store, env.artifacts_root).get(run_id)
        if entry is not None and entry.state != REFUSED and (entry.body or {}).get(
            "prompt"
        ) not in (None, prompt):
            refusal = run_id_conflict(run_id, entry.task_id)
    if refusal is not None:
        gen = {**gen, "status": "invalid_request", "error": error_record(refusal),
               "no_artifacts": True}
        goto = "persist"
    return with_update(start(gen, goto), update)
