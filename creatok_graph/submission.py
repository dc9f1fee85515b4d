"""The paid part: upload the references, submit at most once, record the task id first.

The submission ledger (``ledger.py``) decides before every send. Which failures may
have charged (``maybe_charged``) and when a 409 may be asked again (``send_paid``) are
CreatOK's rules, kept here beside the only call they govern.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from langgraph.types import Command, interrupt

from . import artifacts, budget
from ._flow import Blocking, Flow, Sleep
from .answer_words import is_retry, is_yes
from .client import CreatokAPI, SubmitResult
from .errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    ContractError,
    CreatokError,
    InvalidResponseError,
    is_submission_failure,
)
from .intake import run_id_conflict
from .ledger import CONFLICT, REUSE, UNKNOWN, intent_from_state, open_ledger
from .node_env import (
    NodeEnv,
    answer_text,
    emit,
    end,
    generation,
    lang_of,
    step,
    with_update,
)
from .outcome import result_record
from .replies import error_record, unknown_outcome_question
from .state import Generation, ImageRequest, State
from .validation import approved_hash, submit_body

logger = logging.getLogger(__name__)

IN_PROGRESS_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)
"""Pauses before asking again about a key CreatOK says it is still processing (HTTP 409)."""
IDEMPOTENCY_MISMATCH_CODE = 40901
"""CreatOK's code for "this key was used with another body": never asked again."""


def upload_refs(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    gen = generation(state)
    request = gen.get("request")
    paths = list(request["reference_images"] if request else [])
    if not paths or gen.get("object_keys"):
        return step(gen, "submit")
    api = env.api
    keys: list[str] = []
    try:
        for i, path in enumerate(paths, 1):
            emit({"type": "upload", "index": i, "total": len(paths)})
            keys.append((yield from api.upload_image(path, env.context.local_files)))
    except CreatokError as exc:
        return end(gen, exc)
    return step(gen, "submit", object_keys=keys)


def submit(state: State, env: NodeEnv, *, ask: bool = True) -> Flow[Command[Any]]:
    """The paid call: at most once per approved request, whatever dies or retries.

    A recorded task id is reused; an intent without an answer is an unknown outcome
    that only a person resolves (interrupt ``unknown_outcome``: "retry" or "stop"); only
    a fresh intent, or a person's "retry", is sent, and it is on record before the first
    byte leaves. Re-running this node therefore never sends the request again on its own.

    ``ask=False`` (a batch item): an unknown outcome is not asked here but returned as the
    item's open intent; the batch asks once about all of them (``batch_outcomes``).
    """
    gen = generation(state)
    if gen.get("task_id"):
        return step(gen, "poll")
    lang = lang_of(state)
    run_id = gen["run_id"]
    request: ImageRequest = gen["request"]  # type: ignore[typeddict-item,assignment]
    body = submit_body(request, gen.get("object_keys"))
    ledger = yield from open_ledger(env.store, gen.get("ledger_root"), env.artifacts_root)
    why = yield from budget.hold_for_submit(env.store, gen.get("budget"), run_id, ledger, lang)
    if why:  # its reservation was given back (a crash long ago) and the budget is gone
        return step(gen, "confirm", approval_note=why, budget=None, phase="approve")
    # An open intent remembered in the record is asked about even if the ledger lost it.
    decision, entry = yield from ledger.begin(run_id, approved_hash(request), body,
                                              intent_from_state(gen.get("submit_intent")))

    if decision == REUSE:
        task_id = str(entry.task_id)
        return (yield from _submitted(gen, env, task_id, {"task_id": task_id}))
    if decision == CONFLICT:
        return end(gen, run_id_conflict(run_id, entry.task_id), no_artifacts=True)
    if decision == UNKNOWN:
        if not ask:
            return step(gen, "submit", error={"kind": "unknown_outcome", "message": entry.note},
                        submit_intent=entry.to_dict())
        answer = interrupt(
            {
                "type": "unknown_outcome",
                "question": unknown_outcome_question(lang, entry.note),
                "run_id": run_id,
                "options": ["retry", "stop"],
                "idempotency_key": entry.idempotency_key,
                "requested_at": _iso(entry.sent_at or entry.created_at),
                "estimated_credits": request.get("estimated_credits"),
                "details": entry.note,
            },
            response_schema={"type": "string", "enum": ["retry", "stop"]},
        )
        said = answer_text(answer, "type")
        if not (said and (is_retry(said) or is_yes(said))):
            return end(gen, "cancelled", {"kind": "unknown_outcome",
                                          "message": unknown_outcome_question(lang, entry.note),
                                          "idempotency_key": entry.idempotency_key})
        # The answer is spent by exactly one send: record it, then send in a fresh step
        # (a crash during that send must ask again, not replay this answer).
        yield from ledger.put(entry.approve_resend())
        return step(gen, "submit")

    # SEND or RESEND: the intent is on record; now, and only now, the paid call.
    emit({"type": "submitting", "run_id": run_id, "attempt": entry.attempts})
    try:
        answer_ = yield from send_paid(env.api, entry.body or body, entry.idempotency_key)
        answered_at = time.time()  # the task's clock starts here, not after our records
    except CreatokError as exc:
        # CreatOK's rule for the "outdated integration" hint: submission failures only.
        failures = {"submit_failures": int(state.get("submit_failures") or 0)
                    + is_submission_failure(exc)}
        if maybe_charged(exc):
            intent = entry.unanswered(f"{exc.kind}: {exc.message}")
            yield from ledger.record(intent)
            if isinstance(exc, ContractError):  # accepted, but no task id to follow
                return with_update(end(gen, exc), failures)
            # Outcome unknown: keep the intent (in the record too); the next pass asks.
            return with_update(step(gen, "submit", error=error_record(exc),
                                    submit_intent=intent.to_dict()), failures)
        yield from ledger.record(entry.refused(f"{exc.kind}: {exc.message}"))
        return with_update(end(gen, exc), failures)
    except Exception as exc:  # anything unforeseen once the request may have left: ask
        note = f"{type(exc).__name__}: {exc}"
        intent = entry.unanswered(note)
        yield from ledger.record(intent)
        return step(gen, "submit", error={"kind": "unknown_outcome", "message": note},
                    submit_intent=intent.to_dict())
    yield from ledger.record(entry.submitted(answer_.task_id))
    return (yield from _submitted(gen, env, answer_.task_id, answer_.raw, answered_at))


def send_paid(api: CreatokAPI, body: dict[str, Any], key: str) -> Flow[SubmitResult]:
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


def maybe_charged(exc: CreatokError) -> bool:
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


def _iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else None


def _submitted(
    gen: Generation, env: NodeEnv, task_id: str, raw: dict[str, Any],
    answered_at: float | None = None,
) -> Flow[Command[Any]]:
    """Record the task id in result.json before anything else, then go and poll.

    ``answered_at``: when CreatOK's answer came (the wait is timed from it: with 200
    submits at once, recording them took up to 0.5 s, which skewed what polls learn)."""
    changes: dict[str, Any] = {
        "task_id": task_id,
        "submitted_at": gen.get("submitted_at") or answered_at or time.time(),
        "phase": "submitted", "raw": raw, "error": None,
    }
    if gen.get("submit_intent"):
        changes["submit_intent"] = None  # answered: nothing open any more
    record = result_record({**gen, **changes}, status="submitted")  # type: ignore[typeddict-item]
    with contextlib.suppress(OSError):  # the ledger and state hold the task id; persist retries
        yield Blocking(artifacts.write_result, (env.artifacts_root, gen["run_id"], record, None))
    try:
        yield from budget.commit(env.store, gen.get("budget"), gen["run_id"], task_id)
    except Exception:  # the ledger holds the task id: persist (or a reconcile) commits it
        logger.warning("spend guard: could not commit the reservation", exc_info=True)
    emit({"type": "submitted", "task_id": task_id})
    return step(gen, "poll", **changes)
