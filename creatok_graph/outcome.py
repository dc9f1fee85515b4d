"""One view of how a request ended, rendered by the person's reply, the agent tool and the CLI.

``result_record`` is the layout of ``result.json`` (and of the graph's output keys);
:class:`Outcome` classifies it once (``ending``) so the three front ends
(``replies.final_message``, ``tools.summarize``, ``cli.Session.report``) only decide
*how* to say it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .status import IN_PROGRESS

if TYPE_CHECKING:  # the CLI imports this before (and without) LangGraph
    from .state import Generation

Ending = Literal[
    "succeeded", "in_progress", "timed_out", "failed", "cancelled", "stopped_unknown",
    "maybe_charged", "error",
]


def result_record(gen: Generation, **changes: Any) -> dict[str, Any]:
    """What ``result.json`` holds (and the output keys of the graph) for one request."""
    request: Mapping[str, Any] = gen.get("request") or {}
    record: dict[str, Any] = {
        "run_id": gen.get("run_id"),
        "task_id": gen.get("task_id"),
        "status": gen.get("status"),
        "model": request.get("model"),
        "resolution": request.get("resolution"),
        "n": request.get("n"),
        "aspect_ratio": request.get("aspect_ratio"),
        "estimated_credits": request.get("estimated_credits"),
        "prompt": request.get("prompt"),
        "images": gen.get("images") or [],
        "raw": gen.get("raw"),
        "error": gen.get("error"),
    }
    record.update(changes)
    return record


def maybe_charged(error: Mapping[str, Any] | None) -> bool:
    """An error after which the paid request may have gone through (no task id came back)."""
    return bool(error) and error.get("field") == "data.task_id"  # type: ignore[union-attr]


@dataclass(frozen=True)
class Outcome:
    status: str
    ending: Ending
    task_id: str | None = None
    run_id: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] = field(default_factory=dict)
    waited_seconds: Any = None

    @property
    def urls(self) -> list[str]:
        """Every image URL exactly as CreatOK sent it."""
        return [str(image.get("url")) for image in self.images]

    @property
    def reason(self) -> str | None:
        return self.error.get("message") or None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Outcome:
        """The outcome in a result record, the graph's output or its state values."""
        status = str(values.get("status") or "error")
        error = dict(values.get("error") or {})
        task_id = values.get("task_id")
        waited = (error.get("params") or {}).get("seconds") if status == "timeout" else None
        ending: Ending
        if status == "succeeded":
            ending = "succeeded"
        elif status in IN_PROGRESS:
            ending = "in_progress"
        elif status == "timeout" and task_id and waited is not None:
            ending = "timed_out"
        elif status == "failed":
            ending = "failed"
        elif status == "cancelled" and error.get("kind") == "unknown_outcome":
            ending = "stopped_unknown"
        elif status == "cancelled":
            ending = "cancelled"
        elif maybe_charged(error):
            ending = "maybe_charged"
        else:
            ending = "error"
        return cls(status=status, ending=ending, task_id=task_id, run_id=values.get("run_id"),
                   images=list(values.get("images") or []), error=error,
                   waited_seconds=waited)
