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
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from langchain_core.messages import AIMessage
from langgraph.types import Command, Send, interrupt

from . import artifacts, batch_budget, budget, downloads, gallery
from ._flow import Blocking, Effect, Flow
from ._upstream import replace_record
from .approval import (
    ACTION_NAME,
    APPROVAL_RESPONSE_SCHEMA,
    DECISION_TYPES,
    edited_settings,
    read_decisions,
)
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


def route_start(state: State) -> Literal["batch_validate", "clarify", "poll"]:
    """A ``requests`` list is a batch; anything else is one request (``intake``)."""
    if state.get("requests") is not None:
        return "batch_validate"
    return route_request(state)


def item_run_id(run_id: str, index: int) -> str:
    """The ledger key and artifacts folder of one request of a batch."""
    return f"{run_id}-{index}"


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
    items: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    for index, entry in enumerate(requests):
        try:
            settings = item_settings(entry)
            check_prompt_length(str(settings.get("prompt")))
            request = yield from resolve(env, settings)
            before = yield from already_submitted(env, item_run_id(run_id, index), request)
        except CreatokError as exc:
            problems.append(_refusal(lang, exc, index))
            continue
        settings.pop("prompt", None)  # kept once, in the request
        items[_slot(index)] = {"asked": settings, "request": request,
                               "submitted_before": before}
    if problems:
        return _ended({**head, **items}, "invalid_request", problems)
    total = total_credits(items_of({**head, **items}))
    return Command(update={"batch": replace_record({**head, **items}),
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
    requests = [item["request"] for item in items]
    total = total_credits(items)
    images = sum(int(r.get("n") or 1) for r in requests)
    lines = [note] if note else []
    lines.append(text(lang, "batch_title", count=len(requests), images=images))
    lines += [item_line(lang, i, r) for i, r in enumerate(requests, 1)]
    lines.append(text(lang, "confirm_cost_unknown") if total is None
                 else text(lang, "batch_total", credits=f"{total:g}"))
    lines.append(text(lang, "batch_question"))
    return "\n".join(lines)


def batch_approval_request(lang: str, batch: Mapping[str, Any]) -> dict[str, Any]:
    """LangChain's HITL request: one action per generation, the total in the description."""
    items = items_of(batch)
    actions = []
    for number, item in enumerate(items, 1):
        request = item["request"]
        actions.append({"name": ACTION_NAME, "args": {k: request.get(k) for k in SETTING_KEYS},
                        "description": item_line(lang, number, request),
                        "estimated_credits": request.get("estimated_credits")})
    return {
        "action_requests": actions,
        "review_configs": [{"action_name": ACTION_NAME,
                            "allowed_decisions": list(DECISION_TYPES)}],
        "description": batch_description(lang, items, batch.get("note")),
        "estimated_credits": total_credits(items),
        "batch": {"run_id": batch.get("run_id"), "count": len(items)},
    }


def _batch_schema(count: int) -> dict[str, Any]:
    schema: dict[str, Any] = dict(APPROVAL_RESPONSE_SCHEMA)
    one = schema["anyOf"][0]
    decisions = {**one["properties"]["decisions"], "minItems": count, "maxItems": count}
    schema["anyOf"] = [{**one, "properties": {"decisions": decisions}}, *schema["anyOf"][1:]]
    schema["title"] = "Approval of a batch of paid image generations"
    return schema


def batch_confirm(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Ask once for the whole batch. No side effects before the answer (re-run on resume)."""
    batch = state.get("batch") or {}
    lang = str(batch.get("language") or "en")
    items = items_of(batch)
    amounts = [item["request"].get("estimated_credits") for item in items]
    try:  # the spend guard: the batch's total, and which items fit (batch_budget.py)
        spend = yield from batch_budget.check(env, amounts)
    except budget.BudgetError as exc:
        return Command(update={"batch": {"status": "configuration_error",
                                         "problems": [error_record(exc)]}},
                       goto="batch_persist")
    answer = interrupt(batch_budget.annotate(batch_approval_request(lang, batch), lang, spend),
                       response_schema=_batch_schema(len(items)))
    answer, special = batch_budget.special_decision(answer)
    decisions = read_decisions(answer, len(items))
    if not isinstance(decisions, list):
        note = (text(lang, "confirm_unclear", answer=decisions.said)
                if decisions.type == "unclear"
                else text(lang, "confirm_malformed", reason=decisions.reason))
        return Command(update={"batch": {"note": note}}, goto="batch_confirm")
    edits = [(i, d) for i, d in enumerate(decisions) if d.type == "edit"]
    if edits:  # checked and priced again, then asked again: nothing is paid unseen
        patch: dict[str, Any] = {}
        problems = []
        for index, decision in edits:
            item = items[index]
            asked: ImageSettings = item.get("asked") or {}  # type: ignore[assignment]
            settings = edited_settings(asked, item["request"], decision.args)
            try:
                request = yield from resolve(env, settings)
            except CreatokError as exc:
                problems.append(_refusal(lang, exc, index)["message"])
                continue
            settings.pop("prompt", None)
            patch[_slot(index)] = {**item, "asked": settings, "request": request}
        if problems:
            note = text(lang, "edit_invalid", reason="; ".join(problems))
            return Command(update={"batch": {"note": note}}, goto="batch_confirm")
        numbers = ", ".join(str(i + 1) for i, _ in edits)
        patch["note"] = text(lang, "batch_edited", numbers=numbers)
        total = total_credits([{**item, **patch.get(_slot(i), {})}
                               for i, item in enumerate(items)])
        return Command(update={"batch": patch, "estimated_credits": total},
                       goto="batch_confirm")
    # Written only when something changed: each write stores the whole batch once more.
    patch = {"note": None} if batch.get("note") else {}
    approved = [i for i, decision in enumerate(decisions) if decision.type == "approve"]
    for index, (item, decision) in enumerate(zip(items, decisions, strict=True)):
        if decision.type != "approve":
            error = {"kind": "cancelled", "message": decision.message} if decision.message \
                else None
            patch[_slot(index)] = {**item, "status": "cancelled", "error": error}
    # The ledger's folder, absolute from now on: a resume elsewhere finds it (issue 13).
    root = (yield Blocking(ledger_root, (None, env.artifacts_root))) if approved else None
    records: list[dict[str, Any] | None] = []
    if approved:  # each approved item reserves its credits; none if the batch may not
        verdict = budget.assess(spend.limits, [amounts[i] for i in approved], spend.left_today)
        held, why = yield from batch_budget.reserve(
            env, verdict, special, [(item_run_id(batch["run_id"], i), amounts[i])
                                    for i in approved], lang, str(root))
        if held is None:
            return Command(update={"batch": {"note": why}}, goto="batch_confirm")
        records = held
    sends = [Send(ITEM_NODE, {"run_id": batch["run_id"], "index": index,
                              "total": len(approved), "language": lang,
                              "request": items[index]["request"], "ledger_root": root,
                              "budget": record})
             for index, record in zip(approved, records, strict=True)]
    return Command(update={"batch": patch} if patch else {}, goto=sends or "batch_persist")


# -- one generation ---------------------------------------------------------------------------


class Slots:
    """The batch's generations in flight (at most ``limit``) and how many are done."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.done = 0
        self._lock = threading.Lock()
        self._threads = threading.BoundedSemaphore(limit)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())

    def finished(self) -> int:
        with self._lock:
            self.done += 1
            return self.done

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


def slots_for(env: NodeEnv, run_id: str) -> Slots:
    """The one ``Slots`` of this batch in this process (its items run concurrently)."""
    key = (env.thread_id, run_id)
    with _SLOTS_LOCK:
        slots = _SLOTS.get(key)
        if slots is None:
            slots = _SLOTS[key] = Slots(int(env.context.batch_concurrency))
        return slots


STEPS = {"upload_refs": upload_refs, "submit": submit, "poll": poll}
"""The single-request nodes an item goes through, in one task (one checkpointed write)."""
KEPT = ("task_id", "status", "images", "error")
"""What an item's result keeps (no raw answers: checkpoint bytes per item)."""


def batch_item(task: dict[str, Any], env: NodeEnv) -> Flow[dict[str, Any]]:
    """One approved request: upload, submit (ledger key ``<run_id>-<index>``), poll."""
    index, request = int(task["index"]), task["request"]
    gen: Generation = {"run_id": item_run_id(task["run_id"], index), "number": index + 1,
                       "language": task["language"], "asked": {}, "request": request,
                       "phase": "approved", "images": [], "ledger_root": task.get("ledger_root")}
    if task.get("budget"):
        gen["budget"] = task["budget"]
    slots = slots_for(env, task["run_id"])
    release = yield Admit(slots)
    try:
        goto = "upload_refs" if request.get("reference_images") else "submit"
        ledger = yield from open_ledger(env.store, gen.get("ledger_root"), env.artifacts_root)
        entry = yield from ledger.get(gen["run_id"])
        if entry is not None and entry.state == PENDING and not entry.resend_approved:
            # Sent before a crash, no answer recorded: it may have been charged. Never sent
            # again on our own; a batch does not stop for one item's question.
            goto = "persist"
            gen = {**gen, "status": "error", "error": {  # type: ignore[typeddict-item]
                "kind": "unknown_outcome", "message": text(task["language"], "maybe_charged"),
                "idempotency_key": entry.idempotency_key}}
        while goto in STEPS:
            command = yield from STEPS[goto]({"generation": gen}, env)  # type: ignore[arg-type]
            update = command.update if isinstance(command.update, dict) else {}
            gen = {**gen, **(update.get("generation") or {})}  # type: ignore[typeddict-item]
            goto = str(command.goto)
            if goto == "submit" and gen.get("error") and not gen.get("task_id"):
                break  # outcome unknown: never resent without a person (the ledger asks)
        if goto == "confirm":  # its reservation was given back and the budget is gone
            gen = {**gen, "status": "cancelled", "error": {  # type: ignore[typeddict-item]
                "kind": "budget", "message": gen.get("approval_note")}}
        status = gen.get("status") or ("error" if gen.get("error") else "running")
        gen = {**gen, "status": status}  # type: ignore[typeddict-item]
        record = result_record(gen)
        record.pop("raw", None)
        if status == "succeeded":  # copies of the images (downloads.py), as for one request
            record = yield from downloads.keep(env.artifacts_root, gen["run_id"], record,
                                               lang=task["language"],
                                               fetch=bool(env.context.download),
                                               pools=env.http.images())
            gen = {**gen, "images": record["images"]}
        yield Blocking(artifacts.write_result, (env.artifacts_root, gen["run_id"], record, None))
    finally:
        release()
    yield from batch_budget.settle(env, gen.get("budget"), gen["run_id"], gen.get("ledger_root"),
                                   stopped=(gen.get("error") or {}).get("kind") == "unknown_outcome"
                                   and gen.get("status") == "cancelled")
    done = slots.finished()
    emit({"type": "batch_item", "index": index, "status": status,
          "task_id": gen.get("task_id"), "done": done, "total": task["total"]})
    return {"batch": {_outcome(index): {k: gen.get(k) for k in KEPT}}}


# -- the outcome ------------------------------------------------------------------------------


def batch_status(items: list[dict[str, Any]]) -> RunStatus:
    """All sent requests succeeded; some did (``partial``); or what they all ended with."""
    sent = [item for item in items if item.get("status") != "cancelled"]
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
        "run_id": item_run_id(run_id, index),
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
    if status == "cancelled":
        return text(lang, "cancelled")
    counts = {"succeeded": 0, "cancelled": 0}
    for entry in results:
        if entry["status"] in counts:
            counts[entry["status"]] += 1
    failed = len(results) - counts["succeeded"] - counts["cancelled"]
    lines = [text(lang, "batch_done", succeeded=counts["succeeded"], total=len(results),
                  failed=failed, declined=counts["cancelled"])]
    for entry in results:
        head = f"{entry['index'] + 1}. {entry['status']}"
        if entry["status"] == "succeeded":
            lines += [head, *(str(image.get("url")) for image in entry["images"])]
        elif entry["status"] != "cancelled":
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


def batch_persist(state: State, env: NodeEnv) -> Flow[dict[str, Any]]:
    """Write the batch's result.json and result.md, tell the person, fill ``results``."""
    batch = state.get("batch") or {}
    lang = str(batch.get("language") or "en")
    run_id = str(batch.get("run_id"))
    items = items_of(batch)
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
    record = {"run_id": run_id, "status": status, "estimated_credits": total,
              "count": len(results), "results": results,
              "error": None if not problems else {"kind": "invalid_request",
                                                  "problems": problems}}
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
        return (yield from batch_persist(state, env))
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
    ("batch_persist", batch_persist, ()),
]
"""The batch's nodes and where each may go (``batch_item`` -> ``batch_persist``: an edge)."""
NODE_NAMES = frozenset(name for name, _, _ in NODES)
"""The batch's nodes, which ``refuse`` handles when a client's context is refused."""
