"""Many generations, one approval: the batch nodes.

batch_validate -> batch_confirm (one interrupt) -> batch_item x N (``Send``) -> batch_persist

Every request of ``requests`` is resolved and priced against one capabilities answer
before anyone is asked; one invalid request stops the batch (all reported, by index,
nothing charged). One HITL interrupt carries one ``action_request`` per generation and
the total; the answer holds one decision per request (or one yes/no for all). Each
approved request is a ``Send`` to ``batch_item``: its own task in the same superstep,
so a crash re-runs only the items without a checkpointed result, and each one goes
through ``submission.submit`` and ``result.poll`` under its own ledger key
(``<run_id>-<index>``): exactly one charge per approved request, whatever dies.
``context.batch_concurrency`` bounds the items in flight.

Asked again: after an edit, only the edited requests (the other decisions stand in their
records); after the items, only those whose paid call has an unknown outcome
(``batch_outcomes``); the same batch run again, only what did not succeed
(``batch_rounds``). Each of these costs nothing on the path where all goes well.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx
from langchain_core.messages import AIMessage
from langgraph.types import Command, Send, interrupt

from . import artifacts, batch_budget, batch_outcomes, budget, downloads, gallery
from ._flow import Blocking, Effect, Flow
from ._upstream import replace_record, saved_step
from .approval import (
    ACTION_NAME,
    APPROVAL_RESPONSE_SCHEMA,
    DECISION_TYPES,
    edited_settings,
    read_decisions,
)
from .batch_rounds import KEPT, declined, earlier_results, item_run_id, plan
from .errors import CreatokError, InvalidRequestError
from .inputs import check_prompt_length
from .intake import route_start as route_request
from .language import detect_language
from .ledger import PENDING, ledger_root, open_ledger
from .messages import text
from .node_env import NodeEnv, emit
from .outcome import result_record
from .replies import describe_invalid, error_message, error_record
from .result import poll
from .state import SETTING_KEYS, Generation, ImageSettings, State
from .status import RunStatus
from .submission import submit, upload_refs
from .validation import already_submitted, resolve

ITEM_NODE = "batch_item"
logger = logging.getLogger(__name__)


def route_start(state: State) -> Literal["batch_validate", "clarify", "poll"]:
    """A ``requests`` list is a batch; anything else is one request (``intake``)."""
    if state.get("requests") is not None:
        return "batch_validate"
    return route_request(state)


def _slot(index: int) -> str:
    return f"item{index}"


def _outcome(index: int) -> str:
    return f"done{index}"


def items_of(batch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The batch's item records, in input order: what was asked and approved (``item<i>``),
    and how it ended (``done<i>``, written by ``batch_item`` without repeating the request:
    checkpoint bytes per item)."""
    return [{**(batch.get(_slot(i)) or {}), **(batch.get(_outcome(i)) or {})}
            for i in range(int(batch.get("count") or 0))]


# -- checking the requests --------------------------------------------------------------------


def item_settings(raw: Any) -> ImageSettings:
    """One entry of ``requests`` as settings; refuse what is not one."""
    if not isinstance(raw, Mapping):
        raise InvalidRequestError(
            f"each request must be an object with {', '.join(SETTING_KEYS)}, "
            f"got {type(raw).__name__}", field="requests", reason="batch_item")
    unknown = sorted(str(k) for k in raw if k not in SETTING_KEYS)
    if unknown:
        raise InvalidRequestError(
            f"unknown field {', '.join(unknown)} (allowed: {', '.join(SETTING_KEYS)})",
            field=unknown[0], reason="batch_item")
    settings: dict[str, Any] = {k: raw[k] for k in SETTING_KEYS if raw.get(k) not in (None, "")}
    prompt = settings.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidRequestError("a prompt is required", field="prompt", reason="batch_item")
    settings["prompt"] = prompt.strip()
    return settings  # type: ignore[return-value]


def _refusal(lang: str, exc: CreatokError, index: int) -> dict[str, Any]:
    record = error_record(exc)
    return {**record, "index": index,
            "message": text(lang, "batch_item_problem", number=index + 1,
                            reason=describe_invalid(lang, record))}


def batch_validate(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Resolve and price every request against one capabilities answer; nothing is asked
    while any request is invalid."""
    raw = state.get("requests")
    requests = raw if isinstance(raw, list) else []
    first = next((r.get("prompt") for r in requests if isinstance(r, Mapping)), None)
    lang = state.get("language") or detect_language(str(first or ""))
    run_id = str(state.get("run_id") or env.thread_id
                 or time.strftime("batch-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    head: dict[str, Any] = {"run_id": run_id, "language": lang, "count": len(requests),
                            "phase": "approve"}
    try:
        artifacts.check_run_id(run_id)
        if not requests:
            raise InvalidRequestError(
                "requests must be a non-empty list of objects with a prompt",
                field="requests", reason="batch_empty")
        yield Blocking(env.context.prepare_artifacts_dir)
        yield from env.capabilities()  # the one fetch every request is checked against
    except CreatokError as exc:
        return _ended(head, exc)
    # This run id's batch ran before: what succeeded is kept (batch_rounds.py).
    earlier = yield Blocking(earlier_results, (env.artifacts_root, run_id))
    items: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    for index, entry in enumerate(requests):
        try:
            settings = item_settings(entry)
            check_prompt_length(str(settings.get("prompt")))
            request = yield from resolve(env, settings)
            key, added = plan(run_id, index, request, earlier.get(index))
            before = yield from already_submitted(env, key, request)
        except CreatokError as exc:
            problems.append(_refusal(lang, exc, index))
            continue
        settings.pop("prompt", None)  # kept once, in the request
        items[_slot(index)] = {"asked": settings, "request": request,
                               "submitted_before": before}
        for name in ("key", "follow", "earlier"):
            if name in added:
                items[_slot(index)][name] = added[name]
        if "done" in added:
            items[_outcome(index)] = added["done"]
    if problems:
        return _ended({**head, **items}, "invalid_request", problems)
    if earlier:  # asked again: say what is kept
        kept = sum(1 for i in range(len(requests)) if _outcome(i) in items)
        head["note"] = text(lang, "batch_retrying", kept=kept, total=len(requests))
    record = {**head, **items}
    every = items_of(record)
    total = total_credits([every[i] for i in to_charge(every)])
    return Command(update={"batch": replace_record(record),
                           "estimated_credits": total, "language": lang},
                   goto="batch_confirm")


def _ended(head: dict[str, Any], status: RunStatus | CreatokError,
           problems: list[dict[str, Any]] | None = None) -> Command[Any]:
    """The batch ends before anything is asked: ``batch_persist`` reports why."""
    if isinstance(status, CreatokError):
        problems, status = [error_record(status)], "invalid_request" if isinstance(
            status, InvalidRequestError) else status.kind  # type: ignore[assignment]
    return Command(update={"batch": replace_record({**head, "status": status,
                                                     "problems": problems or []})},
                   goto="batch_persist")


def total_credits(items: list[dict[str, Any]]) -> float | None:
    """What the requests cost together; None when a price is unknown."""
    prices = [(item.get("request") or {}).get("estimated_credits") for item in items]
    if any(p is None for p in prices):
        return None
    return round(sum(prices), 6)  # type: ignore[arg-type]


# -- the approval -----------------------------------------------------------------------------


def open_items(items: list[dict[str, Any]]) -> list[int]:
    """The requests still to be asked about: not decided (an earlier answer, before an edit
    elsewhere), not ended (declined, or kept from an earlier run), not merely followed."""
    return [i for i, item in enumerate(items)
            if not (item.get("decision") or item.get("status") or item.get("follow"))]


def to_charge(items: list[dict[str, Any]]) -> list[int]:
    """The requests a yes now would pay for: the open ones and those already approved."""
    return [i for i, item in enumerate(items)
            if item.get("decision") or not (item.get("status") or item.get("follow"))]


def item_line(lang: str, number: int, request: Mapping[str, Any]) -> str:
    """One request in the approval table: what, how many, what it costs."""
    n = int(request.get("n") or 1)
    credits = request.get("estimated_credits")
    return text(lang, "batch_item_line", number=number,
                n_images=text(lang, "n_images_one") if n == 1
                else text(lang, "n_images_many", n=n),
                model=request.get("model_label") or request.get("model"),
                resolution=request.get("resolution"),
                aspect=f" {request['aspect_ratio']}" if request.get("aspect_ratio") else "",
                credits="?" if credits is None else f"{credits:g}",
                prompt=request.get("prompt"))


def batch_description(lang: str, items: list[dict[str, Any]], note: str | None) -> str:
    """The open requests (numbered as in the input), what stands from earlier answers, and
    the total a yes now would commit to (with the requests already approved)."""
    asked = open_items(items)
    requests = [items[i]["request"] for i in asked]
    total = total_credits([items[i] for i in to_charge(items)])
    images = sum(int(r.get("n") or 1) for r in requests)
    lines = [note] if note else []
    lines.append(text(lang, "batch_title", count=len(requests), images=images))
    lines += [item_line(lang, i + 1, items[i]["request"]) for i in asked]
    approved = sum(1 for item in items if item.get("decision"))
    rejected = sum(1 for item in items if item.get("rejected"))
    if approved or rejected:
        lines.append(text(lang, "batch_decided", approved=approved, declined=rejected))
    lines.append(text(lang, "confirm_cost_unknown") if total is None
                 else text(lang, "batch_total", credits=f"{total:g}"))
    lines.append(text(lang, "batch_question"))
    return "\n".join(lines)


def batch_approval_request(lang: str, batch: Mapping[str, Any]) -> dict[str, Any]:
    """LangChain's HITL request: one action per open generation, the total in the
    description; ``batch.indexes`` says which request each action is."""
    items = items_of(batch)
    asked = open_items(items)
    actions = []
    for index in asked:
        request = items[index]["request"]
        actions.append({"name": ACTION_NAME, "args": {k: request.get(k) for k in SETTING_KEYS},
                        "description": item_line(lang, index + 1, request),
                        "estimated_credits": request.get("estimated_credits")})
    return {
        "action_requests": actions,
        "review_configs": [{"action_name": ACTION_NAME,
                            "allowed_decisions": list(DECISION_TYPES)}],
        "description": batch_description(lang, items, batch.get("note")),
        "estimated_credits": total_credits([items[i] for i in to_charge(items)]),
        "batch": {"run_id": batch.get("run_id"), "count": len(actions), "indexes": asked},
    }


def _batch_schema(count: int) -> dict[str, Any]:
    schema: dict[str, Any] = dict(APPROVAL_RESPONSE_SCHEMA)
    one = schema["anyOf"][0]
    decisions = {**one["properties"]["decisions"], "minItems": count, "maxItems": count}
    schema["anyOf"] = [{**one, "properties": {"decisions": decisions}}, *schema["anyOf"][1:]]
    schema["title"] = "Approval of a batch of paid image generations"
    return schema


def _declined(item: dict[str, Any], message: str | None) -> dict[str, Any]:
    """A "no" for a request; one asked again after it failed stays as it ended then."""
    if item.get("earlier"):
        return {**item, **item["earlier"], "rejected": True}
    error = {"kind": "cancelled", "message": message} if message else None
    return {**item, "status": "cancelled", "error": error, "rejected": True}


def _edited(env: NodeEnv, lang: str, items: list[dict[str, Any]],
            decided: list[tuple[int, Any]]) -> Flow[Command[Any]]:
    """An edit: checked and priced again, and only the edited requests are asked again; the
    other answers of this round stand (kept in their records)."""
    patch: dict[str, Any] = {}
    problems, edited = [], []
    for index, decision in decided:
        item = items[index]
        if decision.type == "approve":
            patch[_slot(index)] = {**item, "decision": "approve"}
        elif decision.type == "reject":
            patch[_slot(index)] = _declined(item, decision.message)
        else:
            asked: ImageSettings = item.get("asked") or {}  # type: ignore[assignment]
            settings = edited_settings(asked, item["request"], decision.args)
            try:
                request = yield from resolve(env, settings)
            except CreatokError as exc:
                problems.append(_refusal(lang, exc, index)["message"])
                continue
            settings.pop("prompt", None)
            patch[_slot(index)] = {**item, "asked": settings, "request": request}
            edited.append(index)
    notes = []
    if edited:
        notes.append(text(lang, "batch_edited", numbers=", ".join(str(i + 1) for i in edited)))
    if problems:
        notes.append(text(lang, "edit_invalid", reason="; ".join(problems)))
    patch["note"] = "\n".join(notes)
    after = [{**item, **patch.get(_slot(i), {})} for i, item in enumerate(items)]
    total = total_credits([after[i] for i in to_charge(after)])
    return Command(update={"batch": patch, "estimated_credits": total}, goto="batch_confirm")


def batch_confirm(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Ask once for the open requests of the batch. No side effects before the answer
    (re-run on resume)."""
    batch = state.get("batch") or {}
    lang = str(batch.get("language") or "en")
    items = items_of(batch)
    asked = open_items(items)
    charged = set(to_charge(items))
    amounts = [item["request"].get("estimated_credits") if i in charged else 0.0
               for i, item in enumerate(items)]
    special = batch.get("special")
    decisions: list[Any] = []
    try:  # the spend guard: the batch's total, and which items fit (batch_budget.py)
        spend = (yield from batch_budget.check(env, amounts)) if charged else None
    except budget.BudgetError as exc:
        return Command(update={"batch": {"status": "configuration_error",
                                         "problems": [error_record(exc)]}},
                       goto="batch_persist")
    if asked and spend is not None:
        value = batch_budget.annotate(batch_approval_request(lang, batch), lang, spend)
        answer = interrupt(value, response_schema=_batch_schema(len(asked)))
        answer, said_special = batch_budget.special_decision(answer)
        special = said_special or special
        read = read_decisions(answer, len(asked))
        if not isinstance(read, list):
            note = (text(lang, "confirm_unclear", answer=read.said) if read.type == "unclear"
                    else text(lang, "confirm_malformed", reason=read.reason))
            return Command(update={"batch": {"note": note}}, goto="batch_confirm")
        decisions = list(zip(asked, read, strict=True))
        if any(d.type == "edit" for _, d in decisions):  # nothing is paid unseen
            command = yield from _edited(env, lang, items, decisions)
            if said_special:
                command.update["batch"]["special"] = said_special  # type: ignore[index]
            return command
    # Written only when something changed: each write stores the whole batch once more.
    patch: dict[str, Any] = {"note": None} if batch.get("note") else {}
    for index, decision in decisions:
        if decision.type != "approve":
            patch[_slot(index)] = _declined(items[index], decision.message)
    approved = [i for i, item in enumerate(items) if item.get("decision")]
    approved = sorted(approved + [i for i, d in decisions if d.type == "approve"])
    # The ledger's folder, absolute from now on: a resume elsewhere finds it (issue 13).
    root = (yield Blocking(ledger_root, (None, env.artifacts_root))) if approved else None
    records: list[dict[str, Any] | None] = []
    if approved and spend is not None:  # each reserves its credits; none if the batch may not
        verdict = budget.assess(spend.limits, [amounts[i] for i in approved], spend.left_today)
        held, why = yield from batch_budget.reserve(
            env, verdict, special, [(key_of(batch["run_id"], i, items[i]), amounts[i])
                                    for i in approved], lang, str(root))
        if held is None:
            return Command(update={"batch": {"note": why}}, goto="batch_confirm")
        records = held
    followed = [i for i, item in enumerate(items) if item.get("follow")]
    dispatch = sorted([*zip(approved, records, strict=True), *((i, None) for i in followed)])
    if followed and root is None:
        root = yield Blocking(ledger_root, (None, env.artifacts_root))
    sends = [item_send(batch, index, len(dispatch), items[index], root, record)
             for index, record in dispatch]
    if sends:
        start_round(env, str(batch["run_id"]))
    return Command(update={"batch": patch} if patch else {}, goto=sends or "batch_persist")


def key_of(run_id: str, index: int, item: Mapping[str, Any]) -> str:
    """The item's ledger key: ``<run_id>-<index>``, or a later attempt's (batch_rounds.py)."""
    return str(item.get("key") or item_run_id(run_id, index))


def item_send(batch: Mapping[str, Any], index: int, total: int, item: Mapping[str, Any],
              root: str | None, record: dict[str, Any] | None) -> Send:
    """One item's task: what it sends, under which key, with which reservation."""
    payload = {"run_id": batch["run_id"], "index": index, "total": total,
               "language": batch.get("language") or "en", "request": item["request"],
               "ledger_root": root, "budget": record}
    if item.get("key"):  # a later attempt (batch_rounds.py); the first needs no key here
        payload["key"] = item["key"]
    return Send(ITEM_NODE, payload)


# -- one generation ---------------------------------------------------------------------------


class Slots:
    """The batch's generations in flight (at most ``limit``), and which of this round's have
    ended, counting those that ended before a crash (``count_before``)."""

    def __init__(self, limit: int, *, fresh: bool = True) -> None:
        self.limit = limit
        self.ended: dict[int, bool] = {}
        """Index -> succeeded, for the items of this round that have ended."""
        self.not_ok = 0
        self.known = fresh
        """False: a round this process took over; what ended before is not counted yet."""
        self._counting = False
        self._lock = threading.Lock()
        self._threads = threading.BoundedSemaphore(limit)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    def take_count(self) -> bool:
        """True for the one task that counts what ended before (a resumed round)."""
        with self._lock:
            if self.known or self._counting:
                return False
            self._counting = True
            return True

    def counted(self, before: dict[int, bool]) -> None:
        with self._lock:
            for index, ok in before.items():
                if index not in self.ended:
                    self.ended[index] = ok
                    self.not_ok += not ok
            self.known = True

    def finished(self, index: int, ok: bool) -> tuple[int, int] | None:
        """(ended, not succeeded) in this round with this item; None when it was counted
        before (a resumed round runs again an item whose end was not checkpointed)."""
        with self._lock:
            if index in self.ended:
                return None
            self.ended[index] = ok
            self.not_ok += not ok
            return len(self.ended), self.not_ok

    def _loop_semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            semaphore = self._loops.get(loop)
            if semaphore is None:
                semaphore = self._loops[loop] = asyncio.Semaphore(self.limit)
        return semaphore


@dataclass(frozen=True)
class Admit(Effect):
    """Wait for a free slot; returns the call that frees it."""

    slots: Slots

    def run_sync(self, http: httpx.Client | None) -> Callable[[], None]:
        self.slots._threads.acquire()
        return self.slots._threads.release

    async def run_async(self, http: httpx.AsyncClient | None) -> Callable[[], None]:
        semaphore = self.slots._loop_semaphore()
        await semaphore.acquire()
        return semaphore.release


_SLOTS: dict[tuple[str | None, str], Slots] = {}
_SLOTS_LOCK = threading.Lock()


def start_round(env: NodeEnv, run_id: str) -> None:
    """Items are about to be sent from this process: nothing of this round is done yet."""
    with _SLOTS_LOCK:
        _SLOTS[(env.thread_id, run_id)] = Slots(int(env.context.batch_concurrency))


def slots_for(env: NodeEnv, run_id: str) -> Slots:
    """The one ``Slots`` of this batch in this process (its items run concurrently); one
    made here belongs to a round resumed after a crash: what was done is counted once."""
    key = (env.thread_id, run_id)
    with _SLOTS_LOCK:
        slots = _SLOTS.get(key)
        if slots is None:
            slots = _SLOTS[key] = Slots(int(env.context.batch_concurrency), fresh=False)
        return slots


def count_before(slots: Slots, env: NodeEnv, run_id: str) -> Flow[None]:
    """A round resumed after a crash: the items that ended before it, so that the progress
    counts on from them. Those whose result the checkpoint holds, and those whose final
    result.json was written since the round began (the sync driver saves a finished
    item's result late: ``_upstream``). Only in a process that took a round over."""
    before: dict[int, bool] = {}
    try:
        saved = yield from saved_step()
        if saved is not None:
            checkpoint, writes = saved
            for name, value in writes:
                for slot, outcome in (value.items() if name == "batch" and isinstance(
                        value, dict) else ()):
                    if slot.startswith("done") and slot[4:].isdigit():
                        before[int(slot[4:])] = (outcome or {}).get("status") == "succeeded"
            batch = (checkpoint.get("channel_values") or {}).get("batch") or {}
            since = datetime.fromisoformat(str(checkpoint.get("ts"))).timestamp()
            ended = yield Blocking(_ended_since, (env.artifacts_root, run_id,
                                                  items_of(batch), since))
            for index, ok in ended.items():
                before.setdefault(index, ok)
    except Exception:  # progress only: count on from what is known rather than fail the item
        logger.warning("batch %s: could not count what ended before the resume", run_id,
                       exc_info=True)
    slots.counted(before)


def _ended_since(root: str, run_id: str, items: list[dict[str, Any]],
                 since: float) -> dict[int, bool]:
    """Index -> succeeded, for the items whose final result.json is newer than ``since``."""
    ended: dict[int, bool] = {}
    for index, item in enumerate(items):
        path = artifacts.outputs_dir(root, key_of(run_id, index, item)) / "result.json"
        try:
            if path.stat().st_mtime < since:
                continue
        except OSError:
            continue
        record = artifacts.read_json(path)
        status = record.get("status") if isinstance(record, dict) else None
        if status not in (None, "submitted"):  # "submitted": written before polling
            ended[index] = status == "succeeded"
    return ended


STEPS: dict[str, Callable[[State, NodeEnv], Flow[Command[Any]]]] = {
    "upload_refs": upload_refs, "submit": functools.partial(submit, ask=False), "poll": poll}
"""The single-request nodes an item goes through, in one task (one checkpointed write); an
unknown outcome found by ``submit`` ends the item and is asked about with the others."""


def batch_item(task: dict[str, Any], env: NodeEnv) -> Flow[dict[str, Any]]:
    """One approved request: upload, submit (ledger key ``<run_id>-<index>``), poll."""
    index, request, lang = int(task["index"]), task["request"], task["language"]
    gen: Generation = {"run_id": task.get("key") or item_run_id(task["run_id"], index),
                       "number": index + 1, "language": lang, "asked": {}, "request": request,
                       "phase": "approved", "images": [], "ledger_root": task.get("ledger_root")}
    if task.get("budget"):
        gen["budget"] = task["budget"]
    slots = slots_for(env, task["run_id"])
    if slots.take_count():
        yield from count_before(slots, env, task["run_id"])
    release = yield Admit(slots)
    try:
        goto = "submit"
        if request.get("reference_images"):
            goto = "upload_refs"
            # Sent before a crash, no answer recorded: it may have been charged. Never sent
            # again on our own (``submit`` finds it too, but only after uploading again).
            ledger = yield from open_ledger(env.store, gen.get("ledger_root"),
                                            env.artifacts_root)
            entry = yield from ledger.get(gen["run_id"])
            if entry is not None and entry.state == PENDING and not entry.resend_approved:
                goto = "persist"
                gen = {**gen, "status": "error",  # type: ignore[typeddict-item]
                       "error": batch_outcomes.unknown_error(lang, entry.note,
                                                             entry.idempotency_key)}
        while goto in STEPS:
            command = yield from STEPS[goto]({"generation": gen}, env)  # type: ignore[arg-type]
            update = command.update if isinstance(command.update, dict) else {}
            gen = {**gen, **(update.get("generation") or {})}  # type: ignore[typeddict-item]
            goto = str(command.goto)
            if goto == "submit" and gen.get("error") and not gen.get("task_id"):
                # Outcome unknown: never resent without a person (batch_outcomes.py).
                error, intent = gen.get("error") or {}, gen.get("submit_intent") or {}
                gen = {**gen, "status": "error",  # type: ignore[typeddict-item]
                       "error": batch_outcomes.unknown_error(
                           lang, error.get("message"), intent.get("idempotency_key"))}
                break
        if goto == "confirm":  # its reservation was given back and the budget is gone
            gen = {**gen, "status": "cancelled", "error": {  # type: ignore[typeddict-item]
                "kind": "budget", "message": gen.get("approval_note")}}
        status = gen.get("status") or ("error" if gen.get("error") else "running")
        gen = {**gen, "status": status}  # type: ignore[typeddict-item]
        record = result_record(gen)
        record.pop("raw", None)
        if status == "succeeded":  # copies of the images (downloads.py), as for one request
            record = yield from downloads.keep(env.artifacts_root, gen["run_id"], record,
                                               lang=lang, fetch=bool(env.context.download),
                                               pools=env.http.images(), page=False)
            gen = {**gen, "images": record["images"]}
        yield Blocking(artifacts.write_result, (env.artifacts_root, gen["run_id"], record, None))
    finally:
        release()
    # An unknown outcome keeps its reservation until the person decides (batch_outcomes).
    yield from batch_budget.settle(env, gen.get("budget"), gen["run_id"], gen.get("ledger_root"),
                                   stopped=False, task_id=gen.get("task_id"))
    counts = slots.finished(index, status == "succeeded")
    if counts is not None:  # else told before the crash
        emit({"type": "batch_item", "index": index, "status": status,
              "task_id": gen.get("task_id"), "done": counts[0], "failed": counts[1],
              "total": task["total"]})
    outcome = {k: gen.get(k) for k in KEPT}
    if batch_outcomes.unresolved(outcome):  # what a retry or a stop needs (rare: no cost)
        outcome.update(key=gen["run_id"], budget=gen.get("budget"),
                       ledger_root=gen.get("ledger_root"))
    return {"batch": {_outcome(index): outcome}}


# -- the outcome ------------------------------------------------------------------------------


def batch_status(items: list[dict[str, Any]]) -> RunStatus:
    """All sent requests succeeded; some did (``partial``); or what they all ended with."""
    sent = [item for item in items if not declined(item)]
    if not sent:
        return "cancelled"
    statuses = {item.get("status") or "error" for item in sent}
    if len(statuses) == 1:
        return statuses.pop()  # type: ignore[return-value]
    return "partial" if "succeeded" in statuses else "failed"


def result_entry(index: int, item: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """One request's line of ``results``."""
    request: Mapping[str, Any] = item.get("request") or {}
    return {
        "index": index,
        "run_id": key_of(run_id, index, item),
        "status": item.get("status"),
        "task_id": item.get("task_id"),
        "images": list(item.get("images") or []),
        "error": item.get("error"),
        "estimated_credits": request.get("estimated_credits"),
        "prompt": request.get("prompt"),
        "model": request.get("model"),
        "resolution": request.get("resolution"),
        "n": request.get("n"),
        "aspect_ratio": request.get("aspect_ratio"),
    }


def batch_message(lang: str, status: str, results: list[dict[str, Any]],
                  problems: list[dict[str, Any]]) -> str:
    if problems and not any("index" in p for p in problems):  # the batch itself, refused
        return error_message(lang, problems[0])
    if problems:
        lines = [text(lang, "batch_invalid", count=len(problems), total=len(results))]
        return "\n".join(lines + [str(p.get("message")) for p in problems])
    if all(declined(entry) for entry in results):
        return text(lang, "cancelled")
    succeeded = sum(1 for entry in results if entry["status"] == "succeeded")
    no = sum(1 for entry in results if declined(entry))
    lines = [text(lang, "batch_done", succeeded=succeeded, total=len(results),
                  failed=len(results) - succeeded - no, declined=no)]
    for entry in results:
        head = f"{entry['index'] + 1}. {entry['status']}"
        if entry["status"] == "succeeded":
            lines += [head, *(str(image.get("url")) for image in entry["images"])]
        elif not declined(entry):
            reason = (entry.get("error") or {}).get("message")
            lines.append(head + (f": {reason}" if reason else "")
                         + (f" (task {entry['task_id']})" if entry.get("task_id") else ""))
    return "\n".join(lines)


def batch_markdown(record: Mapping[str, Any], message: str) -> str:
    lines = [f"# Batch {record['run_id']}", "", f"Status: **{record['status']}** · "
             f"estimated credits: {record['estimated_credits']}", "", message, "",
             "| # | status | task | credits | prompt | images |",
             "|---|---|---|---|---|---|"]
    for entry in record["results"]:
        prompt = str(entry.get("prompt") or "").replace("|", "\\|").replace("\n", " ")
        urls = " ".join(f"<{image.get('url')}>" for image in entry["images"])
        lines.append(f"| {entry['index'] + 1} | {entry['status']} | {entry.get('task_id') or ''}"
                     f" | {entry.get('estimated_credits')} | {prompt} | {urls} |")
    return "\n".join(lines) + "\n"


def write_batch_gallery(root: str, run_id: str, results: list[dict[str, Any]],
                        lang: str) -> None:
    """One page for the whole batch (``outputs/index.html``): each request's images, from
    the copies in its own folder (``<run_id>-<index>/outputs``)."""
    entries = [gallery.GalleryEntry(entry, base=f"../../{entry['run_id']}/outputs/")
               for entry in results if entry["images"]]
    page = artifacts.outputs_dir(root, run_id) / gallery.PAGE_NAME
    artifacts.atomic_write(page, gallery.render(entries, lang=lang))


def settle_unknown(env: NodeEnv, batch: Mapping[str, Any], items: list[dict[str, Any]],
                   unknown: list[int]) -> Flow[Command[Any] | dict[str, Any]]:
    """The requests whose paid call has an unknown outcome (``batch_outcomes``): the
    ledger first, then the person. Sends the ones to retry or follow (a ``Command``), or
    returns the stopped ones' records. No side effect before the answer."""
    lang, run_id = str(batch.get("language") or "en"), str(batch.get("run_id"))
    keys = [key_of(run_id, i, items[i]) for i in unknown]
    entries = yield from batch_outcomes.recheck(env, items, unknown, keys)
    followed = [i for i in unknown if batch_outcomes.answered_elsewhere(entries[i])]
    asked = [i for i in unknown if i not in followed]
    retry: list[int] = []
    patch: dict[str, Any] = {}
    if asked:
        lines = [item_line(lang, i + 1, items[i].get("request") or {}) for i in asked]
        value = batch_outcomes.question(lang, items, asked, lines, batch.get("note"), run_id)
        answer = interrupt(value, response_schema=batch_outcomes.response_schema(len(asked)))
        said = batch_outcomes.read_answers(answer, len(asked))
        if isinstance(said, str):
            note = text(lang, "confirm_malformed", reason=said)
            return Command(update={"batch": {"note": note}}, goto="batch_persist")
        retry = [i for i, again in zip(asked, said, strict=True) if again]
        for index, again in zip(asked, said, strict=True):
            item = items[index]
            if again:  # the person's explicit "send again", consumed by one send
                yield from batch_outcomes.resend(env, item, keys[unknown.index(index)],
                                                 entries[index])
                continue
            yield from batch_budget.settle(env, item.get("budget"), item["key"],
                                           item.get("ledger_root"), stopped=True)
            patch[_outcome(index)] = {k: item.get(k) for k in KEPT} | {
                "status": "cancelled",
                "error": {**(item.get("error") or {}),
                          "message": text(lang, "unknown_outcome_stopped")}}
    resent = sorted(retry + followed)
    if batch.get("note"):
        patch["note"] = None
    if not resent:
        return patch
    sends = [item_send(batch, i, len(resent), items[i], items[i].get("ledger_root"),
                       items[i].get("budget")) for i in resent]
    start_round(env, run_id)
    return Command(update={"batch": patch}, goto=sends)


def batch_persist(state: State, env: NodeEnv) -> Flow[Any]:
    """Ask about requests in doubt (``settle_unknown``); then write the batch's result.json
    and result.md, tell the person, fill ``results``."""
    batch = state.get("batch") or {}
    items = items_of(batch)
    unknown = [i for i, item in enumerate(items) if batch_outcomes.unresolved(item)]
    if unknown and not batch.get("status"):
        settled = yield from settle_unknown(env, batch, items, unknown)
        if isinstance(settled, Command):
            return settled
        items = items_of({**batch, **settled})
    return (yield from report(batch, items, env))


def report(batch: Mapping[str, Any], items: list[dict[str, Any]],
           env: NodeEnv) -> Flow[dict[str, Any]]:
    """The batch's result.json, result.md and gallery, the reply and ``results``."""
    lang = str(batch.get("language") or "en")
    run_id = str(batch.get("run_id"))
    problems = list(batch.get("problems") or [])
    if problems:
        for problem in problems:
            if "index" in problem:
                items[problem["index"]] = {**items[problem["index"]],
                                           "status": "invalid_request", "error": problem}
    results = [result_entry(i, item, run_id) for i, item in enumerate(items)]
    status = batch.get("status") or batch_status(items)
    sent = [item for item in items if item.get("status") not in ("cancelled", None)]
    total = None if problems else total_credits(sent) if sent else 0
    message = batch_message(lang, status, results, problems)
    error: dict[str, Any] | None = None
    if problems:
        error = {"kind": "invalid_request", "problems": problems}
    elif status == "cancelled" and not all(declined(item) for item in items):
        # stopped after an unknown outcome: possibly charged, not a "no" (exit 1, not 2)
        error = {"kind": "unknown_outcome", "message": text(lang, "unknown_outcome_stopped")}
    record = {"run_id": run_id, "status": status, "estimated_credits": total,
              "count": len(results), "results": results, "error": error}
    folder = None
    try:
        folder = yield Blocking(artifacts.write_result,
                                (env.artifacts_root, run_id, record,
                                 batch_markdown(record, message)))
        if any(entry["images"] for entry in results):
            yield Blocking(write_batch_gallery, (env.artifacts_root, run_id, results, lang))
    except (OSError, InvalidRequestError) as exc:
        message += "\n" + text(lang, "details", details=str(exc))
    with _SLOTS_LOCK:
        _SLOTS.pop((env.thread_id, run_id), None)
    emit({"type": "done", "status": status, "run_id": run_id})
    return {
        # The items now live in ``results`` and on disk: the record keeps only its head, so
        # the last checkpoint does not hold every item twice.
        "batch": replace_record({"run_id": run_id, "language": lang, "count": len(results),
                                 "status": status}),
        "messages": [AIMessage(content=message)],
        "results": results,
        "run_id": run_id,
        "status": status,
        "estimated_credits": total,
        "error": record["error"],
        "artifacts_dir": folder,
        "language": lang,
    }


def refuse(node: str, state: Any, env: NodeEnv, refusal: InvalidRequestError) -> Flow[Any]:
    """A client chose settings it may not (``context``): nothing is called; the batch (or,
    on a resume, this item) ends ``invalid_request`` and ``batch_persist`` says why."""
    if node == "batch_persist":  # reports the refusal (with the operator's settings)
        batch = state.get("batch") or {}
        return (yield from report(batch, items_of(batch), env))
    if node == ITEM_NODE:
        return {"batch": {_outcome(int(state["index"])): {
            "status": "invalid_request", "error": error_record(refusal)}}}
    if node == "batch_validate":
        raw = state.get("requests")
        head = {"run_id": str(state.get("run_id") or env.thread_id or "batch"),
                "language": state.get("language") or "en",
                "count": len(raw) if isinstance(raw, list) else 0}
        return _ended(head, refusal)
    return Command(update={"batch": {"status": "invalid_request",
                                     "problems": [error_record(refusal)]}},
                   goto="batch_persist")


NODES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("batch_validate", batch_validate, ("batch_confirm", "batch_persist")),
    ("batch_confirm", batch_confirm, ("batch_confirm", ITEM_NODE, "batch_persist")),
    (ITEM_NODE, batch_item, ()),
    ("batch_persist", batch_persist, ("batch_persist", ITEM_NODE)),
]
"""The batch's nodes and where each may go (``batch_item`` -> ``batch_persist``: an edge)."""
NODE_NAMES = frozenset(name for name, _, _ in NODES)
"""The batch's nodes, which ``refuse`` handles when a client's context is refused."""
