"""The graph's state: what callers pass in, what they get back, what runs keep.

Large or secret things stay out: no API key, no image bytes, one compact
capabilities snapshot per run. Checkpoints therefore stay small however long a
task runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import Field
from typing_extensions import TypedDict


def _about(description: str, *examples: Any) -> Any:
    """A field's description (and examples) for the JSON schema Studio and the SDK show."""
    return Field(description=description, examples=list(examples) or None)


class InputState(TypedDict, total=False):
    """Everything is optional: a chat message alone is enough to start."""

    messages: Annotated[
        list[AnyMessage],
        add_messages,
        _about("The conversation. The latest human message is the request: its text is read "
               "for the description, the number of images, the aspect ratio, the resolution "
               "and a model name; pictures attached to it (base64 or data: URLs) are "
               "reference images."),
    ]
    prompt: Annotated[str | None, _about(
        "What the image should show. Taken as written; overrides the message's text.",
        "a red fox reading under a maple tree, watercolor")]
    model: Annotated[str | None, _about(
        "A model id or label from CreatOK's capabilities; unset = CreatOK's default model.",
        "nano-banana-2")]
    resolution: Annotated[str | None, _about(
        "One of the model's resolutions (e.g. 1K, 2K, 4K); unset = the model's default.",
        "2K")]
    n: Annotated[int | None, _about(
        "How many images, within the model's limits (often 1 to 4); unset = its default.", 2)]
    aspect_ratio: Annotated[str | None, _about(
        "Width:height, one the model offers (e.g. 1:1, 16:9, 9:16); unset = its default.",
        "16:9")]
    reference_images: Annotated[list[str] | None, _about(
        "Paths of reference images on the machine running the graph (PNG, JPEG, WebP, GIF). "
        "Served clients attach pictures to the message instead.")]
    task_id: Annotated[str | None, _about(
        "Check an earlier task instead of making a new one: nothing is paid, no approval.")]
    wait: Annotated[bool | None, _about(
        "With task_id: wait until the task finishes (default: check once).")]
    run_id: Annotated[str | None, _about(
        "Name of the run's artifacts folder and submission record (letters, digits, . _ -); "
        "unset = the thread id.")]
    language: Annotated[str | None, _about(
        "Language of every reply: en, zh, ja, ko, es or pt; unset = the language the "
        "person writes in.", "en")]
    refine: Annotated[bool | None, _about(
        "False: never offer to rewrite a short description (only offered when a chat model "
        "is configured).")]


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
