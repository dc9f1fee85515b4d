"""Turning outcomes and errors into what the person reads, in their language.

Image URLs are copied byte for byte; everything else comes from ``messages``.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import API_KEYS_URL, CreatokError
from .messages import text
from .outcome import Outcome

ERROR_TEXT_KEYS = {
    "auth_error": "auth_error",
    "connection_error": "connection_error",
    "timeout": "connection_error",  # the error kind of one request that timed out
    "server_error": "server_error",
    "rate_limited": "rate_limited",
    "contract_error": "contract_error",
    "invalid_response": "invalid_response",
    "not_found": "not_found",
    "upload_error": "upload_error",
}


def error_record(exc: CreatokError) -> dict[str, Any]:
    """The ``error`` field of state and result.json: kind, plain message, details."""
    record: dict[str, Any] = {"kind": exc.kind, "message": exc.message}
    for attr in ("code", "status_code", "field", "reason", "params", "url", "retry_after",
                 "task_id"):
        value = getattr(exc, attr, None)
        if value not in (None, {}, ""):
            record[attr] = value
    return record


def describe_invalid(lang: str, error: dict[str, Any]) -> str:
    """A localised reason for a refused request (English fallback)."""
    if lang == "en" and error.get("message"):
        return str(error["message"])  # the canonical wording, allowed values included
    reason = error.get("reason")
    params = dict(error.get("params") or {})
    if "allowed" in params and isinstance(params["allowed"], list):
        params["allowed"] = ", ".join(str(a) for a in params["allowed"])
    key = f"invalid_{reason}" if reason else None
    if key:
        try:
            return text(lang, key, **params)
        except (KeyError, IndexError):
            pass
    return str(error.get("message"))


def error_message(lang: str, error: dict[str, Any]) -> str:
    kind = error.get("kind", "")
    if kind == "invalid_request":
        return text(lang, "invalid_request", reason=describe_invalid(lang, error))
    if kind == "api_error":
        return text(lang, "api_error", message=error.get("message", ""))
    key = ERROR_TEXT_KEYS.get(kind)
    if key == "auth_error":
        return text(lang, key, url=API_KEYS_URL)
    specific = _specific_error(lang, key, error)
    if specific:
        return specific
    if key:
        return text(lang, key)
    return text(lang, "unexpected_error", message=error.get("message", ""))


def _specific_error(lang: str, key: str | None, error: dict[str, Any]) -> str | None:
    """The sentence that names the real cause, when the error carries it (issue 13): the
    seconds ``Retry-After`` asked for, the URL that failed, the contract field."""
    wait = error.get("retry_after")
    if key in ("rate_limited", "server_error") and isinstance(wait, (int, float)) and wait > 0:
        return text(lang, f"{key}_after", seconds=math.ceil(wait))
    url = error.get("url")
    if key == "connection_error" and url:
        return text(lang, "connection_error_url", url=url)
    if key == "not_found" and url:
        if error.get("task_id"):
            return text(lang, "task_not_found", task_id=error["task_id"], url=url)
        return text(lang, "endpoint_not_found", url=url)
    if key == "contract_error" and error.get("field"):
        return text(lang, "contract_error_field", field=error["field"])
    return None


UNREADABLE_ANSWER = "invalid_response"
"""The ledger note of a paid request answered with something that is not JSON."""


def unknown_outcome_question(lang: str, note: str | None) -> str:
    """What the person is asked when a paid request may have been taken: the cause decides
    the wording (a broken connection, or an answer we could not read)."""
    if (note or "").startswith(UNREADABLE_ANSWER):
        return text(lang, "unknown_outcome_unreadable")
    return text(lang, "unknown_outcome")


def final_message(lang: str, outcome: Outcome, *, outdated_hint: bool = False) -> str:
    """What the person reads when a request ends, in their language."""
    parts: list[str]
    ending = outcome.ending
    if ending == "succeeded":
        head = text(lang, "succeeded_one" if len(outcome.images) == 1 else "succeeded")
        parts = [head, *outcome.urls]
    elif ending == "in_progress":
        parts = [text(lang, "still_running", task_id=outcome.task_id, status=outcome.status)]
    elif ending == "timed_out":
        parts = [text(lang, "timed_out", seconds=outcome.waited_seconds, task_id=outcome.task_id)]
    elif ending == "failed":
        parts = [text(lang, "failed", reason=outcome.reason or text(lang, "failed_no_reason"))]
    elif ending == "stopped_unknown":
        parts = [text(lang, "unknown_outcome_stopped")]
    elif ending == "cancelled":
        reason = outcome.reason
        parts = [
            text(lang, "cancelled_reason", reason=reason) if reason else text(lang, "cancelled")
        ]
    elif ending == "maybe_charged":
        parts = [text(lang, "maybe_charged")]
    else:
        parts = [error_message(lang, outcome.error or {"kind": outcome.status})]
        if outcome.task_id:
            parts.append(text(lang, "task_id_note", task_id=outcome.task_id))
    if outdated_hint:
        parts.append(text(lang, "outdated_hint") + " " + text(lang, "upgrade_link"))
    return "\n".join(parts)
