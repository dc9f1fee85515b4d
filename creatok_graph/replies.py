"""Turning outcomes into what the person reads, in their language.

Image URLs are copied byte for byte; everything else comes from ``prompts``.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import API_KEYS_URL, CreatokError
from .prompts import text

ERROR_TEXT_KEYS = {
    "auth_error": "auth_error",
    "connection_error": "connection_error",
    "timeout": "connection_error",
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


def final_message(lang: str, result: dict[str, Any], *, outdated_hint: bool = False) -> str:
    status = result.get("status")
    task_id = result.get("task_id")
    images = result.get("images") or []
    waited = ((result.get("error") or {}).get("params") or {}) if status == "timeout" else {}
    parts: list[str]
    if status == "succeeded":
        head = text(lang, "succeeded_one" if len(images) == 1 else "succeeded")
        parts = [head, *[str(img.get("url")) for img in images]]
    elif status in ("queued", "running") or (status and status.startswith("in_progress")):
        parts = [text(lang, "still_running", task_id=task_id, status=status)]
    elif status == "timeout" and task_id and "seconds" in waited:
        parts = [text(lang, "timed_out", seconds=waited["seconds"], task_id=task_id)]
    elif status == "failed":
        reason = (result.get("error") or {}).get("message") or text(lang, "failed_no_reason")
        parts = [text(lang, "failed", reason=reason)]
    elif status == "cancelled" and (result.get("error") or {}).get("kind") == "unknown_outcome":
        parts = [text(lang, "unknown_outcome_stopped")]
    elif status == "cancelled":
        reason = (result.get("error") or {}).get("message")
        parts = [
            text(lang, "cancelled_reason", reason=reason) if reason else text(lang, "cancelled")
        ]
    elif maybe_charged(result.get("error")):
        parts = [text(lang, "maybe_charged")]
    else:
        parts = [error_message(lang, result.get("error") or {"kind": status or "error"})]
        if task_id:
            parts.append(text(lang, "task_id_note", task_id=task_id))
    if outdated_hint:
        parts.append(text(lang, "outdated_hint") + " " + text(lang, "upgrade_link"))
    return "\n".join(parts)


def maybe_charged(error: dict[str, Any] | None) -> bool:
    """An error after which the paid request may have gone through (no task id came back)."""
    return bool(error) and error.get("field") == "data.task_id"  # type: ignore[union-attr]
