"""Requests of a batch whose paid call has an unknown outcome: asked about, one by one.

A request sent without an answer (the connection broke after the POST left, a timeout, an
answer that is not JSON) may have been charged. As for one request (``submission.submit``),
it is never sent again on its own: its item ends ``unknown_outcome`` (``batch_item``), the
other items go on, and once they are all done ``batch_persist`` asks one question listing
only those requests. First the ledger is read again for each of them (another process may
have recorded its task id meanwhile: then that task is followed, nothing is asked); then
the person answers per request ("retry" — with the warning that it may charge a second
time — or "stop"), or once for all. A retry resends the same body under the same
``Idempotency-Key`` (the ledger's ``RESEND``), once; a stop leaves it, reported as possibly
charged. Nothing else about the batch changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._flow import Flow
from .answer_words import is_retry, is_yes
from .ledger import PENDING, SUBMITTED, LedgerEntry, open_ledger
from .messages import text
from .node_env import NodeEnv

OPTIONS = ("retry", "stop")

_SEPARATOR = re.compile(r"[,;，、；]")


def unknown_error(lang: str, details: str | None, key: str | None) -> dict[str, Any]:
    """The item's error: it may have been charged; the person decides (never automatic)."""
    return {"kind": "unknown_outcome", "message": text(lang, "maybe_charged"),
            "idempotency_key": key, "details": details}


def unresolved(item: Mapping[str, Any]) -> bool:
    """Sent, no answer, and nobody has decided yet (a "stop" makes it ``cancelled``)."""
    return (item.get("status") == "error"
            and (item.get("error") or {}).get("kind") == "unknown_outcome")


def recheck(env: NodeEnv, items: list[dict[str, Any]], indexes: list[int],
            keys: list[str]) -> Flow[dict[int, LedgerEntry | None]]:
    """The ledger's entry of each such request now (the single run's second look)."""
    found: dict[int, LedgerEntry | None] = {}
    for index, key in zip(indexes, keys, strict=True):
        ledger = yield from open_ledger(env.store, items[index].get("ledger_root"),
                                        env.artifacts_root)
        found[index] = yield from ledger.get(key)
    return found


def answered_elsewhere(entry: LedgerEntry | None) -> bool:
    return entry is not None and entry.state == SUBMITTED and bool(entry.task_id)


def question(lang: str, items: list[dict[str, Any]], asked: list[int],
             lines: list[str], note: str | None, run_id: str) -> dict[str, Any]:
    """The interrupt: the requests in doubt, what each may have cost, retry or stop."""
    numbers = ", ".join(str(i + 1) for i in asked)
    said = [note] if note else []
    said += [text(lang, "batch_unknown_question", count=len(asked), numbers=numbers), *lines,
             text(lang, "batch_unknown_answer")]
    entries = []
    for index in asked:
        item = items[index]
        request = item.get("request") or {}
        error = item.get("error") or {}
        entries.append({"index": index, "run_id": item.get("key"),
                        "prompt": request.get("prompt"),
                        "estimated_credits": request.get("estimated_credits"),
                        "idempotency_key": error.get("idempotency_key"),
                        "details": error.get("details")})
    return {
        "type": "unknown_outcome",
        "question": "\n".join(said),
        "options": list(OPTIONS),
        "run_id": run_id,
        "items": entries,
        "batch": {"run_id": run_id, "count": len(asked), "indexes": asked},
    }


def response_schema(count: int) -> dict[str, Any]:
    one = {"type": "string", "enum": list(OPTIONS)}
    return {
        "title": "Resend requests that may have been charged?",
        "anyOf": [
            {**one, "description": "for every request listed"},
            {"type": "object", "required": ["decisions"], "properties": {"decisions": {
                "type": "array", "minItems": count, "maxItems": count,
                "items": {"type": "object", "required": ["type"],
                          "properties": {"type": {"enum": list(OPTIONS)}}}}}},
        ],
    }


def _retry(said: Any) -> bool:
    """Only an explicit "retry" (or yes) sends again; anything else stops."""
    if isinstance(said, Mapping):
        said = said.get("type") or said.get("decision")
    return isinstance(said, str) and (is_retry(said) or is_yes(said))


def read_answers(answer: Any, count: int) -> list[bool] | str:
    """One retry (True) / stop (False) per request listed, or why the answer is unusable.

    ``"retry"`` / ``"stop"`` (any language) for all; ``"retry, stop"`` or a list or
    ``{"decisions": [{"type": ...}]}`` with one per request, in order."""
    if isinstance(answer, Mapping) and "decisions" in answer:
        answer = answer["decisions"]
    if isinstance(answer, str):
        parts = [p for p in _SEPARATOR.split(answer) if p.strip()]
        if len(parts) > 1:
            answer = parts
        else:
            return [_retry(answer)] * count
    if isinstance(answer, Mapping):
        return [_retry(answer)] * count
    if isinstance(answer, list):
        if len(answer) != count:
            return f"expected {count} answers, one per request listed, got {len(answer)}"
        return [_retry(one) for one in answer]
    return [False] * count


def resend(env: NodeEnv, item: Mapping[str, Any], key: str,
           entry: LedgerEntry | None) -> Flow[None]:
    """Record the person's "send again" (consumed by exactly one send: ``Ledger.begin``)."""
    if entry is None or entry.state != PENDING or entry.resend_approved:
        return
    ledger = yield from open_ledger(env.store, item.get("ledger_root"), env.artifacts_root)
    yield from ledger.put(entry.approve_resend())
