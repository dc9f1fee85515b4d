"""The graph's nodes, each a flow (see ``_flow``) run by a sync or an async driver.

clarify -> load_capabilities -> validate -> confirm -> upload_refs -> submit -> poll -> persist

Rules every node keeps: nothing paid before a person's yes; the submit is
never repeated automatically; the task id is recorded before anything else
happens; expected failures end the run with a status and a message, never an
exception; file I/O goes through ``Blocking`` so it leaves the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.config import get_stream_writer
from langgraph.store.base import BaseStore
from langgraph.types import Command, interrupt

from . import artifacts, chat_images, conversation, polling
from ._flow import Blocking, Flow, SingleFlight, Sleep
from .capabilities import ImageCapabilities, ResolvedRequest, resolve_request
from .chat_model import draft_refinement, extract_request, message_text
from .client import CreatokAPI, SubmitResult, TaskStatus
from .context import CreatokContext
from .errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    ContractError,
    CreatokError,
    InvalidRequestError,
    InvalidResponseError,
    TaskTimeoutError,
)
from .language import detect_language, uses_cjk_script
from .ledger import CONFLICT, REUSE, UNKNOWN, Ledger, approved_params, params_hash
from .prompts import DEFAULT_LANGUAGE, is_keep, is_no, is_retry, is_use, is_yes, text
from .references import inspect_references
from .replies import describe_invalid, error_record, final_message
from .state import State

logger = logging.getLogger(__name__)

ACTION_NAME = "generate_image"
CAPABILITIES_TTL = 60.0
OUTDATED_AFTER_FAILURES = 2
HEARTBEAT_SECONDS = 10.0

CAPABILITIES_CACHE = SingleFlight(ttl=CAPABILITIES_TTL)
"""Process-wide: 200 runs starting together fetch capabilities once per TTL."""

TERMINAL_RUN_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
IN_PROGRESS_STATUSES = frozenset({"queued", "running"})

APPROVAL_RESPONSE_SCHEMA: dict[str, Any] = {
    "title": "Approval of a paid image generation",
    "description": "Approve, edit or reject the generation; the words yes/no work too.",
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "decisions": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {
                        "anyOf": [
                            {
                                "type": "object",
                                "properties": {"type": {"const": "approve"}},
                                "required": ["type"],
                            },
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "edit"},
                                    "edited_action": {
                                        "type": "object",
                                        "properties": {
                                            "name": {"const": ACTION_NAME},
                                            "args": {
                                                "type": "object",
                                                "properties": {
                                                    "prompt": {"type": "string"},
                                                    "model": {"type": "string"},
                                                    "resolution": {"type": "string"},
                                                    "n": {"type": "integer"},
                                                    "aspect_ratio": {"type": ["string", "null"]},
                                                    "reference_images": {
                                                        "type": "array",
                                                        "items": {"type": "string"},
                                                    },
                                                },
                                            },
                                        },
                                        "required": ["args"],
                                    },
                                },
                                "required": ["type", "edited_action"],
                            },
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "reject"},
                                    "message": {"type": "string"},
                                },
                                "required": ["type"],
                            },
                        ]
                    },
                }
            },
            "required": ["decisions"],
        },
        {"type": "string", "description": "yes or no, in any supported language"},
    ],
}

TEXT_RESPONSE_SCHEMA: dict[str, Any] = {"type": "string"}


@dataclass
class NodeEnv:
    """What a node may use besides its state; built fresh for every node call."""

    context: CreatokContext
    store: BaseStore | None
    chat_model: BaseChatModel | None
    thread_id: str | None

    @property
    def api(self) -> CreatokAPI:
        return CreatokAPI(api_key=self.context.resolved_api_key(), base_url=self.context.base_url)

    @property
    def artifacts_root(self) -> str:
        return self.context.artifacts_dir


NodeFlow = Callable[[State, NodeEnv], Flow[Any]]


# -- helpers ---------------------------------------------------------------------------


def _emit(event: dict[str, Any]) -> None:
    """Progress on LangGraph's ``custom`` stream (a no-op when nobody listens)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # outside a runnable context
        return
    writer({"source": "creatok", **event})


def _latest_human(state: State) -> HumanMessage | None:
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage):
            return message
    return None


def _lang(state: State) -> str:
    lang = state.get("language")
    if lang:
        return lang
    source = state.get("prompt") or ""
    if not source and (human := _latest_human(state)):
        source = message_text(human)
    return detect_language(source)


def _run_id_update(state: State, env: NodeEnv) -> dict[str, Any]:
    """The run id for a request without one: the thread id (``<thread>-2``, ``-3``... for
    later requests of the thread). Raises :class:`InvalidRequestError` when it is unsafe."""
    run_id = state.get("run_id")
    update: dict[str, Any] = {}
    if not run_id:
        base = env.thread_id or time.strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        generation = int(state.get("generation") or 0)
        run_id = update["run_id"] = base if generation == 0 else f"{base}-{generation + 1}"
    artifacts.check_run_id(run_id)
    return update


def _request_language(state: State, sample: str) -> dict[str, Any]:
    """The request's language: the caller's if they chose one, else the one ``sample`` is
    written in (the conversation's so far when it gives no clue)."""
    chosen = state.get("language")
    if chosen and chosen != state.get("detected_language"):
        return {"language": chosen}
    lang = detect_language(sample, default=chosen or DEFAULT_LANGUAGE)
    return {"language": lang, "detected_language": lang}


def _is_vague(prompt: str) -> bool:
    """A few words with no detail: Latin words, or characters for CJK scripts."""
    if uses_cjk_script(prompt):
        return len(prompt.replace(" ", "")) < 6
    return len(prompt.split()) < 4


def _end(
    status: str, error: CreatokError | dict[str, Any] | None = None, /, **extra: Any
) -> Command[Any]:
    record = error_record(error) if isinstance(error, CreatokError) else error
    return Command(update={**extra, "status": status, "error": record}, goto="persist")


def _request_args(state: State) -> dict[str, Any]:
    return {
        "prompt": state.get("prompt") or "",
        "model": state.get("model"),
        "resolution": state.get("resolution"),
        "n": state.get("n"),
        "aspect_ratio": state.get("aspect_ratio"),
        "reference_images": list(state.get("reference_images") or []),
    }


def _resolve(state: State, args: dict[str, Any]) -> Flow[ResolvedRequest]:
    """Check args against the run's capabilities snapshot and the local files."""
    caps = ImageCapabilities.model_validate(state.get("capabilities") or {})
    refs = list(args.get("reference_images") or [])
    resolved = resolve_request(
        caps,
        prompt=args.get("prompt") or "",
        model=args.get("model"),
        resolution=args.get("resolution"),
        n=args.get("n"),
        aspect_ratio=args.get("aspect_ratio"),
        reference_count=len(refs),
    )
    if refs:
        yield Blocking(inspect_references, (refs,))
    return resolved


def _request_record(resolved: ResolvedRequest, refs: list[str]) -> dict[str, Any]:
    return {
        "prompt": resolved.prompt,
        "model": resolved.model,
        "model_label": resolved.model_label,
        "resolution": resolved.resolution,
        "n": resolved.n,
        "aspect_ratio": resolved.aspect_ratio,
        "reference_images": refs,
        "estimated_credits": resolved.estimated_credits,
    }


def _request_update(resolved: ResolvedRequest, refs: list[str]) -> dict[str, Any]:
    """The resolved request, and its values copied to the top-level state keys."""
    record = _request_record(resolved, refs)
    top = {k: v for k, v in record.items() if k != "model_label"}
    return {"request": record, **top}


# -- routing ---------------------------------------------------------------------------


def _has_new_request(state: State) -> bool:
    if state.get("prompt"):
        return True
    human = _latest_human(state)
    return human is not None and human.id != state.get("consumed_message_id")


def route_start(state: State) -> Literal["clarify", "poll"]:
    """A task id means recovery, unless it is the finished task of an earlier request."""
    task_id = state.get("task_id")
    if task_id and (task_id != state.get("finished_task_id") or not _has_new_request(state)):
        return "poll"
    return "clarify"


# -- clarify ---------------------------------------------------------------------------

def _new_request_reset(state: State) -> dict[str, Any]:
    """Fields of a finished earlier request that must not leak into this one."""
    if not state.get("finished_task_id") and not state.get("finished_request"):
        return {}
    previous = state.get("finished_request") or {}
    reset: dict[str, Any] = {
        "task_id": None, "status": None, "images": [], "error": None, "raw": None,
        "request": None, "estimated_credits": None, "object_keys": None, "submitted_at": None,
        "suggestion": None, "refinement_offered": False, "approval_note": None,
        "finished_task_id": None, "finished_request": None, "capabilities": None,
        "chat_derived": None,
        "generation": int(state.get("generation") or 0) + 1,
    }
    for key in ("model", "resolution", "n", "aspect_ratio"):
        if state.get(key) == previous.get(key):  # type: ignore[misc]
            reset[key] = None
    if state.get("run_id") == previous.get("run_id"):
        reset["run_id"] = None
    return reset


def _restart(state: State, derived: dict[str, Any]) -> dict[str, Any]:
    """Forget what was read from the previous message: a newer one replaces it."""
    reset: dict[str, Any] = {
        "prompt": None, "chat_derived": None, "refinement_offered": False, "suggestion": None,
        "approval_note": None, "request": None, "estimated_credits": None,
    }
    for key in conversation.MESSAGE_KEYS:
        if key in derived and state.get(key) == derived[key]:  # type: ignore[misc]
            reset[key] = None
    return reset


def clarify(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Find the prompt; ask for it when missing; offer a refinement once when vague."""
    update: dict[str, Any] = _new_request_reset(state)
    try:
        update.update(_run_id_update({**state, **update}, env))  # type: ignore[typeddict-item]
    except InvalidRequestError as exc:
        return _end("invalid_request", exc, **update)
    merged: State = {**state, **update}  # type: ignore[typeddict-item]

    human = _latest_human(merged)
    fresh = human is not None and human.id != merged.get("consumed_message_id")
    derived = merged.get("chat_derived")
    if fresh and derived:
        # A new message while the request read from the previous one is still open
        # (e.g. sent instead of answering the approval): the new one is the request.
        update.update(_restart(merged, derived))
        merged = {**state, **update}  # type: ignore[typeddict-item]
    prompt = (merged.get("prompt") or "").strip()
    if fresh:
        assert human is not None
        update["consumed_message_id"] = human.id
        # Pictures in the message become reference files; the state keeps their paths.
        pictures: dict[str, Any] = {}
        if chat_images.has_images(human):
            try:
                refs, lean = yield Blocking(chat_images.attach_references, (
                    human, env.artifacts_root, str(merged.get("run_id")),
                    list(merged.get("reference_images") or [])))
            except InvalidRequestError as exc:
                return _end("invalid_request", exc, **update)
            pictures["reference_images"] = refs
            update.update(pictures, messages=[lean])
        if not prompt:
            said = message_text(human)
            derived = {**conversation.read_message(said, merged), **pictures}
            if env.chat_model is not None:
                try:
                    extracted = yield from extract_request(
                        env.chat_model, list(merged.get("messages") or []))
                except Exception as exc:  # the model only helps: read the message as it is
                    logger.warning("chat model failed to read the request: %r", exc)
                else:
                    # Checkpoint the model's answer before any question: a resumed node
                    # re-runs from the top and must not ask the model again.
                    derived = {**conversation.merge_model_reading(extracted, said, merged),
                               **pictures}
                    update.update(conversation.request_values(derived), chat_derived=derived)
                    return Command(update=update, goto="clarify")
            prompt = derived["prompt"] or ""
            update.update(conversation.request_values(derived), chat_derived=derived)
    update.update(
        _request_language(merged, prompt or (message_text(human) if human else ""))
    )
    lang = update["language"]

    if not prompt:
        answer = interrupt(
            {"type": "question", "kind": "prompt", "question": text(lang, "ask_prompt")},
            response_schema=TEXT_RESPONSE_SCHEMA,
        )
        given = _answer_text(answer, "prompt")
        if given:
            # The answer completes what the message said (its count, its pictures...).
            read = update.get("chat_derived") or merged.get("chat_derived") or {}
            update.update(prompt=given, chat_derived={**read, "prompt": given})
        return Command(update=update, goto="clarify")

    # Only a chat model refines, and only a short description: without one the prompt is
    # taken as written (no question the person did not need).
    may_refine = (env.chat_model is not None and merged.get("refine") is not False
                  and not merged.get("refinement_offered") and _is_vague(prompt))
    if may_refine and not merged.get("suggestion"):
        assert env.chat_model is not None
        try:
            drafted = yield from draft_refinement(env.chat_model, prompt, lang)
        except Exception as exc:  # the model only helps: take the prompt as written
            logger.warning("chat model failed to draft a refinement: %r", exc)
            drafted = None
        if drafted is None:
            update["refinement_offered"] = True  # nothing to offer: never ask
            return Command(update=update, goto="load_capabilities")
        # Checkpoint the draft before the question: a resume must not ask the model again.
        update["suggestion"] = drafted
        return Command(update=update, goto="clarify")
    if may_refine:
        suggestion = str(merged.get("suggestion"))
        answer = interrupt(
            {
                "type": "refine_prompt",
                "question": text(lang, "offer_refinement", prompt=prompt, suggestion=suggestion),
                "prompt": prompt,
                "suggestion": suggestion,
                "options": ["keep", "use", "edit"],
            },
            response_schema={
                "anyOf": [
                    {"type": "string", "description": "keep, use, or your own prompt"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"enum": ["keep", "use", "edit"]},
                            "prompt": {"type": "string"},
                        },
                        "required": ["type"],
                    },
                ]
            },
        )
        update["prompt"] = _refinement_choice(answer, prompt, suggestion)
        update["refinement_offered"] = True
        update["suggestion"] = None
    return Command(update=update, goto="load_capabilities")


def _answer_text(answer: Any, key: str) -> str:
    if isinstance(answer, dict):
        answer = answer.get(key) or answer.get("text") or answer.get("answer") or ""
    return str(answer or "").strip()


def _refinement_choice(answer: Any, prompt: str, suggestion: str) -> str:
    if isinstance(answer, dict):
        kind = str(answer.get("type") or "").lower()
        edited = str(answer.get("prompt") or "").strip()
        if kind == "use":
            return suggestion
        if kind == "edit" and edited:
            return edited
        return prompt
    said = str(answer or "").strip()
    if not said or is_keep(said):
        return prompt
    if is_use(said):
        return suggestion
    return said  # their own wording


# -- capabilities and validation -------------------------------------------------------


def load_capabilities(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Fetch (or reuse) what CreatOK offers; local files are checked first, before any call."""
    refs = list(state.get("reference_images") or [])
    try:
        if refs:
            yield Blocking(inspect_references, (refs,))
        yield Blocking(artifacts.ensure_writable, (env.artifacts_root,))
    except InvalidRequestError as exc:
        return _end("invalid_request", exc)
    api = env.api
    key = (api.base_url, hash(env.context.resolved_api_key()))
    try:
        caps: ImageCapabilities = yield CAPABILITIES_CACHE.effect(key, api.get_capabilities)
    except CreatokError as exc:
        return _end(exc.kind, exc)
    return Command(update={"capabilities": caps.model_dump(mode="json")}, goto="validate")


def validate(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    args = _request_args(state)
    # What the message said, read again now that the models and their limits are known.
    caps = ImageCapabilities.model_validate(state.get("capabilities") or {})
    derived = state.get("chat_derived")
    given = dict(args)
    args.update(conversation.settle(derived, caps, args))
    try:
        resolved = yield from _resolve(state, args)
    except InvalidRequestError as exc:
        return _end("invalid_request", exc)
    update = _request_update(resolved, args["reference_images"])
    if derived:
        update["chat_derived"] = conversation.remember(derived, given, update)
    return Command(update=update, goto="confirm")


# -- confirm ---------------------------------------------------------------------------


def approval_description(lang: str, request: dict[str, Any], note: str | None) -> str:
    """The approval question; ``note`` (why we ask again) comes first."""
    n = int(request["n"])
    n_images = text(lang, "n_images_one") if n == 1 else text(lang, "n_images_many", n=n)
    lines = []
    if note:
        lines.append(note)
    lines.append(
        text(lang, "confirm_title", n_images=n_images, model=request["model_label"],
             resolution=request["resolution"])
    )
    if request.get("aspect_ratio"):
        lines.append(text(lang, "confirm_aspect", aspect_ratio=request["aspect_ratio"]))
    if request.get("reference_images"):
        names = ", ".join(
            p.replace("\\", "/").rsplit("/", 1)[-1] for p in request["reference_images"]
        )
        lines.append(text(lang, "confirm_refs", names=names))
    credits = request.get("estimated_credits")
    lines.append(
        text(lang, "confirm_cost_unknown") if credits is None
        else text(lang, "confirm_cost_one") if credits == 1
        else text(lang, "confirm_cost", credits=credits)
    )
    lines.append(text(lang, "confirm_prompt", prompt=request["prompt"]))
    lines.append(text(lang, "confirm_question"))
    return "\n".join(lines)


def approval_request(lang: str, request: dict[str, Any], note: str | None) -> dict[str, Any]:
    """LangChain's HITL request shape, understood by Studio, Agent Inbox and agents."""
    args = {k: request.get(k) for k in
            ("prompt", "model", "resolution", "n", "aspect_ratio", "reference_images")}
    return {
        "action_requests": [
            {
                "name": ACTION_NAME,
                "args": args,
                "description": approval_description(lang, request, note),
            }
        ],
        "review_configs": [
            {"action_name": ACTION_NAME, "allowed_decisions": ["approve", "edit", "reject"]}
        ],
        "estimated_credits": request.get("estimated_credits"),
        "model_label": request.get("model_label"),
        "language": lang,
    }


def _decision(answer: Any) -> dict[str, Any]:
    """Normalise every accepted resume form to one decision dict."""
    if isinstance(answer, bool):
        return {"type": "approve" if answer else "reject"}
    if isinstance(answer, str):
        if is_yes(answer):
            return {"type": "approve"}
        if is_no(answer):
            return {"type": "reject"}
        return {"type": "unclear", "answer": answer}
    if isinstance(answer, list) and answer:
        return _decision(answer[0])
    if isinstance(answer, dict):
        if "decisions" in answer:
            return _decision(answer.get("decisions") or [])
        kind = str(answer.get("type") or answer.get("decision") or "").lower()
        if kind in ("approve", "accept", "yes"):
            return {"type": "approve"}
        if kind == "edit":
            action = answer.get("edited_action") or answer.get("action") or {}
            return {"type": "edit", "args": dict(action.get("args") or answer.get("args") or {})}
        if kind in ("reject", "no", "ignore"):
            return {"type": "reject", "message": answer.get("message")}
        if kind == "response":  # Agent Inbox's free-text reply
            return _decision(answer.get("args") or "")
    return {"type": "reject", "message": None}


UNCLEAR_ECHO_CHARS = 60
"""How much of an answer we did not understand is quoted back."""


def _shorten(answer: str) -> str:
    said = " ".join(answer.split())
    return said if len(said) <= UNCLEAR_ECHO_CHARS else said[: UNCLEAR_ECHO_CHARS - 1] + "…"


def confirm(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Ask for a yes. No side effects: LangGraph re-runs this node on resume."""
    lang = _lang(state)
    request = state.get("request") or {}
    answer = interrupt(
        approval_request(lang, request, state.get("approval_note")),
        response_schema=APPROVAL_RESPONSE_SCHEMA,
    )
    decision = _decision(answer)
    if decision["type"] == "approve":
        # No reference images: straight to the paid call, one graph step (and checkpoint) less.
        goto = "upload_refs" if request.get("reference_images") else "submit"
        return Command(update={"approval_note": None, "status": "approved"}, goto=goto)
    if decision["type"] == "unclear":
        # Neither yes nor no ("hmm", a question): nothing is charged, so ask again.
        said = _shorten(decision["answer"])
        note = text(lang, "confirm_unclear", answer=said) if said else None
        return Command(update={"approval_note": note}, goto="confirm")
    if decision["type"] == "edit":
        args = {**_request_args(state), **{
            k: v for k, v in decision["args"].items()
            if k in ("prompt", "model", "resolution", "n", "aspect_ratio", "reference_images")
        }}
        if args.get("reference_images") is None:
            args["reference_images"] = []
        try:
            resolved = yield from _resolve(state, args)
        except InvalidRequestError as exc:
            note = text(lang, "edit_invalid", reason=describe_invalid(lang, error_record(exc)))
            return Command(update={"approval_note": note}, goto="confirm")
        update = _request_update(resolved, list(args["reference_images"]))
        return Command(update={**update, "approval_note": None}, goto="confirm")
    message = decision.get("message")
    return _end("cancelled", {"kind": "cancelled", "message": message} if message else None)


# -- upload, submit, poll --------------------------------------------------------------


def upload_refs(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    paths = list((state.get("request") or {}).get("reference_images") or [])
    if not paths or state.get("object_keys"):
        return Command(goto="submit")
    api = env.api
    keys: list[str] = []
    try:
        for i, path in enumerate(paths, 1):
            _emit({"type": "upload", "index": i, "total": len(paths)})
            keys.append((yield from api.upload_image(path)))
    except CreatokError as exc:
        return _end(exc.kind, exc)
    return Command(update={"object_keys": keys}, goto="submit")


def _result_record(state: State, **changes: Any) -> dict[str, Any]:
    request = state.get("request") or {}
    record = {
        "run_id": state.get("run_id"),
        "task_id": state.get("task_id"),
        "status": state.get("status"),
        "model": request.get("model"),
        "resolution": request.get("resolution"),
        "n": request.get("n"),
        "aspect_ratio": request.get("aspect_ratio"),
        "estimated_credits": request.get("estimated_credits"),
        "prompt": request.get("prompt"),
        "images": state.get("images") or [],
        "raw": state.get("raw"),
        "error": state.get("error"),
    }
    record.update(changes)
    return record


def submit(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """The paid call: at most once per approved request, whatever dies or retries.

    The ledger decides first (see ``ledger.py``): a recorded task id is reused; an
    intent without an answer is an unknown outcome that only a person resolves
    (interrupt ``unknown_outcome``: "retry" or "stop"); only a fresh intent, or a
    person's "retry", is sent, and it is on record before the first byte leaves.
    Re-running this node (a resume, a retry policy, a second invocation of the run
    id) therefore never sends the request again on its own.
    """
    if state.get("task_id"):
        return Command(goto="poll")
    lang = _lang(state)
    run_id = str(state.get("run_id"))
    request: dict[str, Any] = dict(state.get("request") or {})
    resolved = ResolvedRequest(
        prompt=request["prompt"],
        model=request["model"],
        model_label=request["model_label"],
        resolution=request["resolution"],
        n=request["n"],
        aspect_ratio=request.get("aspect_ratio"),
    )
    body = resolved.submit_body(state.get("object_keys"))
    approved = params_hash(approved_params(body, request.get("reference_images")))
    ledger = Ledger(env.store, env.artifacts_root)
    decision, entry = yield from ledger.begin(run_id, approved, body)

    if decision == REUSE:
        task_id = str(entry.task_id)
        return (yield from _submitted(state, env, task_id, {"task_id": task_id}))
    if decision == CONFLICT:
        return _end("invalid_request", InvalidRequestError(
            f"run id {run_id} was already used for a different request"
            + (f" (task {entry.task_id})" if entry.task_id else "") + "; use another run id",
            field="run_id", reason="run_id_used", params={"value": run_id}))
    if decision == UNKNOWN:
        answer = interrupt(
            {
                "type": "unknown_outcome",
                "question": text(lang, "unknown_outcome"),
                "run_id": run_id,
                "options": ["retry", "stop"],
                "idempotency_key": entry.idempotency_key,
                "requested_at": _iso(entry.sent_at or entry.created_at),
                "estimated_credits": request.get("estimated_credits"),
                "details": entry.note,
            },
            response_schema={"type": "string", "enum": ["retry", "stop"]},
        )
        said = _answer_text(answer, "type")
        if not (said and (is_retry(said) or is_yes(said))):
            return _end("cancelled", {"kind": "unknown_outcome",
                                      "message": text(lang, "unknown_outcome"),
                                      "idempotency_key": entry.idempotency_key})
        # The answer is spent by exactly one send: record it, then send in a fresh step
        # (a crash during that send must ask again, not replay this answer).
        yield from ledger.put(entry.approve_resend())
        return Command(goto="submit")

    # SEND or RESEND: the intent is on record; now, and only now, the paid call.
    _emit({"type": "submitting", "run_id": run_id, "attempt": entry.attempts})
    failures = int(state.get("submit_failures") or 0) + 1
    try:
        answer_ = yield from _send_paid(env.api, entry.body or body, entry.idempotency_key)
    except CreatokError as exc:
        if _maybe_charged(exc):
            yield from ledger.record(entry.unanswered(f"{exc.kind}: {exc.message}"))
            if isinstance(exc, ContractError):  # accepted, but no task id to follow
                return _end(exc.kind, exc, submit_failures=failures)
            # Outcome unknown: keep the intent; the next pass asks the person.
            return Command(update={"submit_failures": failures, "error": error_record(exc)},
                           goto="submit")
        yield from ledger.record(entry.refused(f"{exc.kind}: {exc.message}"))
        return _end(exc.kind, exc, submit_failures=failures)
    except Exception as exc:  # anything unforeseen once the request may have left: ask
        note = f"{type(exc).__name__}: {exc}"
        yield from ledger.record(entry.unanswered(note))
        return Command(update={"submit_failures": failures,
                               "error": {"kind": "unknown_outcome", "message": note}},
                       goto="submit")
    yield from ledger.record(entry.submitted(answer_.task_id))
    return (yield from _submitted(state, env, answer_.task_id, answer_.raw))


IN_PROGRESS_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)
"""Pauses before asking again about a key CreatOK says it is still processing (HTTP 409)."""
IDEMPOTENCY_MISMATCH_CODE = 40901


def _send_paid(api: CreatokAPI, body: dict[str, Any], key: str) -> Flow[SubmitResult]:
    """POST once. Only a 409 for this very key (CreatOK is still processing it, so it
    deduplicates) lets us ask again, with the same key and body: that cannot charge twice."""
    for wait in (*IN_PROGRESS_WAITS, None):
        try:
            result: SubmitResult = yield from api.submit(body, idempotency_key=key)
            return result
        except APIStatusError as exc:
            if exc.status_code != 409 or exc.code == IDEMPOTENCY_MISMATCH_CODE or wait is None:
                raise
        yield Sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else None


def _maybe_charged(exc: CreatokError) -> bool:
    """Could CreatOK have taken (and charged) the request although we have no task id?"""
    if isinstance(exc, APIConnectionError):
        return exc.request_sent  # False only when the connection never opened
    if isinstance(exc, ContractError):
        return True  # code 0 (accepted) but no task id
    if isinstance(exc, InvalidResponseError):
        return exc.status_code is None or 200 <= exc.status_code < 300
    if isinstance(exc, APIResponseError):
        return False  # CreatOK answered code != 0: it refused, nothing was charged
    if isinstance(exc, APIStatusError):
        # 409: this key is taken and still being processed; 500/502/504: the request may
        # have been processed before the failure. 401/404/429/503 and other 4xx: refused.
        return exc.status_code in (409, 500, 502, 504)
    return False


def _submitted(
    state: State, env: NodeEnv, task_id: str, raw: dict[str, Any]
) -> Flow[Command[Any]]:
    """Record the task id in result.json before anything else, then go and poll."""
    submitted_at = state.get("submitted_at") or time.time()
    record = _result_record(state, task_id=task_id, status="submitted", raw=raw, error=None)
    with contextlib.suppress(OSError):  # the ledger and state hold the task id; persist retries
        yield Blocking(artifacts.write_result,
                       (env.artifacts_root, str(state.get("run_id")), record, None))
    _emit({"type": "submitted", "task_id": task_id})
    return Command(
        # The capabilities snapshot has done its job (validation, price): later
        # checkpoints of the run need not carry it.
        update={"task_id": task_id, "status": "submitted", "submitted_at": submitted_at,
                "raw": raw, "error": None, "capabilities": None},
        goto="poll",
    )


def poll(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Wait for the task in one step: bounded checkpoints however long it runs."""
    task_id = str(state.get("task_id"))
    # Straight from submit (or re-run after a crash there): keep waiting on the same clock.
    # Otherwise this is a recovery check: once, unless asked to wait, with a fresh clock.
    continuing = state.get("status") == "submitted"
    update: dict[str, Any] = {}
    if not continuing and task_id != state.get("finished_task_id"):
        # Another task than the one this thread finished: a request of its own.
        update = _new_request_reset(state)
        update.pop("task_id", None)
    try:
        update.update(_run_id_update({**state, **update}, env))  # type: ignore[typeddict-item]
    except InvalidRequestError as exc:
        return _end("invalid_request", exc, **update)
    if not state.get("language"):
        update["language"] = _lang(state)
    wait = state.get("wait")
    if wait is None:
        wait = continuing
    api = env.api
    timeout = float(env.context.timeout)
    started = time.monotonic()
    if continuing and state.get("submitted_at"):
        started -= max(0.0, time.time() - float(state["submitted_at"]))  # type: ignore[arg-type]
    seen: dict[str, Any] = {"status": None, "beat": 0.0}

    def report(status: TaskStatus, elapsed: float) -> None:
        if status.status != seen["status"] or elapsed - seen["beat"] >= HEARTBEAT_SECONDS:
            seen["status"], seen["beat"] = status.status, elapsed
            _emit({"type": "progress", "task_id": task_id, "status": status.status,
                   "elapsed": round(elapsed, 2), "progress": status.progress})

    try:
        if not wait:
            result: TaskStatus = yield from api.get_status(task_id)
            report(result, time.monotonic() - started)
        elif env.context.poll_interval:
            result = yield from _fixed_interval_wait(api, task_id, timeout,
                                                     float(env.context.poll_interval),
                                                     started, report)
        else:
            result = yield from polling.wait_for_task(api, task_id, timeout=timeout,
                                                      on_update=report, started_at=started)
    except TaskTimeoutError as exc:
        update["raw"] = exc.last_status.raw if exc.last_status else None
        return _end("timeout", {"kind": "timeout", "message": exc.message,
                                "params": {"seconds": max(1, round(timeout))}},
                    task_id=task_id, **update)
    except CreatokError as exc:
        return _end(exc.kind, exc, task_id=task_id, **update)
    # In-progress words vary ("pending", "processing"...): ours are queued and running.
    status = result.status
    if not result.is_terminal and status not in IN_PROGRESS_STATUSES:
        status = "running"
    update.update({"status": status, "images": result.images, "raw": result.raw})
    if result.status == "failed":
        update["error"] = {"kind": "failed", "message": result.error_message}
    else:
        update["error"] = None
    return Command(update=update, goto="persist")


def _fixed_interval_wait(
    api: CreatokAPI,
    task_id: str,
    timeout: float,
    interval: float,
    started: float,
    report: Callable[[TaskStatus, float], None],
) -> Flow[TaskStatus]:
    while True:
        status: TaskStatus = yield from api.get_status(task_id)
        elapsed = time.monotonic() - started
        report(status, elapsed)
        if status.is_terminal:
            return status
        if elapsed >= timeout:
            raise TaskTimeoutError(f"task {task_id} is still {status.status}", task_id=task_id,
                                   last_status=status)
        yield Sleep(max(interval, status.retry_after or 0.0))


# -- persist ---------------------------------------------------------------------------


def persist(state: State, env: NodeEnv) -> Flow[dict[str, Any]]:
    """Write result.json and result.md, tell the person, close the request."""
    lang = _lang(state)
    status = state.get("status") or "error"
    failures = int(state.get("submit_failures") or 0)
    hint = failures >= OUTDATED_AFTER_FAILURES and status not in TERMINAL_RUN_STATUSES
    record = _result_record(state)
    message = final_message(lang, record, outdated_hint=hint)
    run_id = state.get("run_id")
    folder = None
    if run_id:
        try:
            folder = yield Blocking(
                artifacts.write_result,
                (env.artifacts_root, run_id, record, artifacts.result_markdown(record, message)),
            )
        except (OSError, InvalidRequestError) as exc:
            message += "\n" + text(lang, "details", details=str(exc))
    _emit({"type": "done", "status": status, "task_id": state.get("task_id")})
    # The text, then each image as a picture (URL verbatim) for chat UIs and Studio.
    images = state.get("images") or []
    content = chat_images.result_content(message, images) if images else message
    return {
        "messages": [AIMessage(content=content)],
        # Every output key is present, whichever node ended the run.
        "status": status,
        "task_id": state.get("task_id"),
        "images": state.get("images") or [],
        "error": state.get("error"),
        "estimated_credits": state.get("estimated_credits"),
        "artifacts_dir": folder,
        "language": lang,
        "finished_task_id": state.get("task_id"),
        "finished_request": {
            "model": state.get("model"), "resolution": state.get("resolution"),
            "n": state.get("n"), "aspect_ratio": state.get("aspect_ratio"),
            "run_id": run_id,
        },
        "prompt": None,
        "chat_derived": None,
        "reference_images": None,
        "wait": None,
    }
