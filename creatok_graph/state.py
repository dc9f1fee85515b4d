"""The graph's state: what callers pass in, what they get back, what runs keep.

Large or secret things stay out: no API key, no image bytes, one compact
capabilities snapshot per run. Checkpoints therefore stay small however long a
task runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class InputState(TypedDict, total=False):
    """Everything is optional: a chat message alone is enough to start."""

    messages: Annotated[list[AnyMessage], add_messages]
    prompt: str | None
    model: str | None
    resolution: str | None
    n: int | None
    aspect_ratio: str | None
    reference_images: list[str] | None
    task_id: str | None
    wait: bool | None
    run_id: str | None
    language: str | None
    refine: bool | None
    """False: never offer to refine a short prompt (callers that wrote it themselves)."""


class OutputState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    run_id: str | None
    status: str | None
    task_id: str | None
    images: list[dict[str, Any]]
    estimated_credits: float | None
    artifacts_dir: str | None
    error: dict[str, Any] | None
    model: str | None
    resolution: str | None
    n: int | None
    aspect_ratio: str | None
    request: dict[str, Any] | None
    language: str | None
    budget: dict[str, Any] | None
    """The spend guard's figures for the run (budget.py): its credits and reservation
    state, today's approved and committed credits and what is left."""


class State(InputState, OutputState, total=False):
    """Internal bookkeeping on top of input and output."""

    capabilities: dict[str, Any] | None
    suggestion: str | None
    refinement_offered: bool
    consumed_message_id: str | None
    chat_derived: dict[str, Any] | None
    """What clarify read from the conversation (prompt, n, aspect ratio) for the open
    request; a newer message replaces it."""
    detected_language: str | None
    """The language we detected (``language`` differing from it was chosen by the caller)."""
    approval_note: str | None
    """Why the approval question is asked again (an edit we cannot use, an unclear answer)."""
    object_keys: list[str] | None
    submitted_at: float | None
    raw: dict[str, Any] | None
    submit_failures: int
    generation: int
    finished_task_id: str | None
    finished_request: dict[str, Any] | None
