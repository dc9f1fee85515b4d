"""What an invocation asks for: a new request, a recovery check, or a refusal.

The caller's input keys hold only what this invocation sent (see ``_upstream``) during
the first step after ``START`` (``clarify`` or ``poll``, chosen by ``route_start``), so a
new request simply starts a new :class:`~creatok_graph.state.Generation`; nothing of an
earlier one needs clearing. Their types are checked here (``inputs``): a wrong one is an
``invalid_request``, never an exception.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.types import Command

from . import artifacts
from ._flow import Flow
from .errors import InvalidRequestError
from .inputs import check_input
from .ledger import REFUSED, open_ledger
from .node_env import NodeEnv, end, generation, latest_human, with_update
from .replies import error_record
from .state import SETTING_KEYS, Generation, ImageSettings, InputState, State

UNSENT_PHASES = frozenset({"clarify", "approve"})
"""A request in these phases was never sent: a newer message replaces it under its run id."""


def _typed_input(state: State) -> tuple[State, InvalidRequestError | None]:
    """The caller's input with its types checked (``inputs.check_input``): normalised, or
    without the offending key, and the refusal (a wrong type costs nothing, never raises)."""
    try:
        return {**state, **check_input(state)}, None  # type: ignore[typeddict-item]
    except InvalidRequestError as exc:
        return {k: v for k, v in state.items() if k != exc.field}, exc  # type: ignore[return-value]


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


CALLER_KEYS = tuple(key for key in InputState.__annotations__ if key != "messages")
"""The input keys besides ``messages`` (all ephemeral: see ``state``)."""


def fresh_message(state: State) -> HumanMessage | None:
    """The newest chat message, unless it was already read as a request."""
    human = latest_human(state)
    return human if human is not None and human.id != state.get("consumed_message_id") else None


def route_start(state: State) -> Literal["clarify", "poll"]:
    """A task id without a new request means a recovery check (of that task, or of the
    thread's last one); anything else is about a request."""
    if state.get("prompt") or fresh_message(state) is not None:
        return "clarify"
    return "poll" if state.get("task_id") else "clarify"


def is_new_invocation(state: State) -> bool:
    """Did this invocation's caller send anything? (Only the first step sees it.)"""
    return fresh_message(state) is not None or any(
        state.get(key) is not None for key in CALLER_KEYS  # type: ignore[misc]
    )


def starts_request(state: State) -> bool:
    """Does ``clarify`` start a new request here (rather than go on with an unsent one)?"""
    return is_new_invocation(state) or generation(state).get("phase") not in UNSENT_PHASES


def continues_polling(state: State) -> bool:
    """Is ``poll`` waiting for the task just submitted (rather than a recovery check)?"""
    return generation(state).get("phase") == "submitted"


def new_request(state: State, env: NodeEnv) -> Flow[tuple[Generation, dict[str, Any]]]:
    """The record of the request this invocation starts, and the other keys to write.

    Refused (``status`` set) when its run id is unsafe or already names another request.
    """
    previous = generation(state)
    state, wrong = _typed_input(state)
    human = fresh_message(state)
    asked = _asked(state)
    update: dict[str, Any] = {}
    if human is not None:
        update["consumed_message_id"] = human.id
    replaces_unsent = previous.get("phase") in UNSENT_PHASES
    number = max(1, int(previous.get("number") or 0) + (0 if replaces_unsent else 1))
    run_id = state.get("run_id") or (
        previous.get("run_id") if replaces_unsent and previous.get("run_id")
        else _default_run_id(env, number)
    )
    chosen = state.get("language")
    gen: Generation = {
        "run_id": str(run_id),
        "number": number,
        "language": str(chosen or previous.get("language") or ""),
        "language_chosen": bool(chosen),
        "asked": asked,
        "read_chat": human is not None and not asked.get("prompt"),
        "refine": state.get("refine") is not False,
        "phase": "clarify",
        "images": [],
        "settings": env.run_settings(),  # type: ignore[typeddict-item]
    }
    if state.get("wait") is not None:
        gen["wait"] = state.get("wait")
    if previous.get("ledger_root"):  # the thread's ledger folder, for the run-id check
        gen["ledger_root"] = previous["ledger_root"]
    return (yield from _checked(gen, env, wrong)), update


def recheck(state: State, env: NodeEnv) -> Flow[Generation]:
    """The record of a recovery check: of the thread's last task, or of another one."""
    previous = generation(state)
    state, wrong = _typed_input(state)
    task_id = state.get("task_id")
    if not task_id or task_id == previous.get("task_id"):
        gen: Generation = {**previous}  # type: ignore[typeddict-item]
    else:
        number = int(previous.get("number") or 0) + 1
        gen = {"number": number, "asked": {}, "task_id": task_id,
               "language": previous.get("language") or "",
               "run_id": _default_run_id(env, number)}
    if state.get("run_id"):
        gen["run_id"] = str(state.get("run_id"))
    elif not gen.get("run_id"):  # no task to name it after: its input was refused
        gen["run_id"] = _default_run_id(env, int(gen.get("number") or 1))
    if state.get("language"):
        gen["language"], gen["language_chosen"] = str(state["language"]), True
    # The thread's own task is checked where it was made (its API, its folder), with
    # this invocation's waiting limits; another task entirely, with this invocation's.
    settings = env.run_settings()
    kept = gen.get("settings") or {}
    settings.update({k: kept[k] for k in ("base_url", "artifacts_dir") if k in kept})  # type: ignore[literal-required]
    gen = {**gen, "phase": "recheck", "wait": state.get("wait"), "status": None,
           "error": None, "no_artifacts": False, "settings": settings}  # type: ignore[typeddict-item]
    return (yield from _checked(gen, env, wrong))


def _checked(
    gen: Generation, env: NodeEnv, refusal: InvalidRequestError | None = None
) -> Flow[Generation]:
    """Refuse a wrong input type (``refusal``), an unsafe run id, and a new prompt under a
    run id already used for another."""
    env = env.fixed_by(gen)
    run_id = gen["run_id"]
    try:
        artifacts.check_run_id(run_id)
    except InvalidRequestError as exc:
        refusal = refusal or exc
    prompt = (gen.get("asked") or {}).get("prompt")
    if refusal is None and prompt:
        ledger = yield from open_ledger(env.store, gen.get("ledger_root"), env.artifacts_root)
        entry = yield from ledger.get(run_id)
        if entry is not None and entry.state != REFUSED and (entry.body or {}).get(
            "prompt"
        ) not in (None, prompt):
            refusal = run_id_conflict(run_id, entry.task_id)
    if refusal is not None:
        gen = {**gen, "status": "invalid_request", "error": error_record(refusal),
               "no_artifacts": True}
    return gen


def refuse_run(
    node: str, state: State, env: NodeEnv, refusal: InvalidRequestError
) -> Flow[Command[Any]]:
    """End the run before any call: a client chose settings it may not (see ``context``).

    In the first step of an invocation it ends the request that would have started (its
    result goes to the operator's folder, unless its run id names an earlier request's);
    on a resume, the request under way.
    """
    gen = generation(state)
    update: dict[str, Any] = {}
    if node == "clarify" and starts_request(state):
        gen, update = yield from new_request(state, env)
    elif node == "poll" and not continues_polling(state):
        gen = yield from recheck(state, env)
    else:
        return end(gen, refusal)
    earlier = bool(gen.get("no_artifacts")) or (yield from _names_earlier_request(env, gen))
    return with_update(end(gen, refusal, new=True, no_artifacts=earlier), update)


def _names_earlier_request(env: NodeEnv, gen: Generation) -> Flow[bool]:
    ledger = yield from open_ledger(env.store, gen.get("ledger_root"), env.artifacts_root)
    entry = yield from ledger.get(gen["run_id"])
    return entry is not None and entry.state != REFUSED
