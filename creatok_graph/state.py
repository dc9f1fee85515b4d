"""The graph's state: what callers pass in, what they get back, what one generation keeps.

Three groups of keys, each written by one party:

* caller input (``InputState``): what *this* invocation's caller sent. These keys are
  ephemeral channels (see ``_upstream``): the first node after ``START`` (``clarify`` or
  ``poll``, with ``intake``'s helpers) reads them, and nothing older is ever mistaken
  for them.
* ``generation``: one :class:`Generation` record per request, replaced whole when a new
  request starts, so nothing of an earlier request leaks into the next one. A batch
  will hold N of them; a video generation is a sibling record with a ``VideoRequest``.
* output (``OutputState``): a view of the generation record (``outcome.result_record``),
  written by ``persist`` at the end; the price also by the step before the
  approval question, the task id while polling (``node_env.step``). Also ephemeral: a
  later invocation never shows an earlier request's outcome.

Large or secret things stay out: no API key, no image bytes, no capabilities
snapshot (validation reads the shared capabilities cache), and the prompt is kept in
one place (``generation.request.prompt``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from ._upstream import caller_input, merge_record, patched_record
from .status import RunStatus


class ImageSettings(TypedDict, total=False):
    """What was asked for one image generation; unset means "CreatOK's default"."""

    prompt: str | None
    model: str | None
    resolution: str | None
    n: int | str | None
    aspect_ratio: str | None
    reference_images: list[str] | None


SETTING_KEYS = tuple(ImageSettings.__annotations__)
"""The settings of one image generation, as a caller, an agent or an approval edit gives them."""


class ImageRequest(TypedDict):
    """One image generation resolved against the capabilities and priced: what is approved."""

    kind: Literal["image"]
    prompt: str
    model: str
    model_label: str
    resolution: str
    n: int
    aspect_ratio: str | None
    reference_images: list[str]
    estimated_credits: float | None
    reference_files: NotRequired[list[dict[str, Any]]]
    """With references: the files that will be sent (resolved path, sniffed type, size),
    as the approval shows them."""


class ChatReading(TypedDict, total=False):
    """What was read from the request's message (``conversation``), kept so that
    ``validate`` can read the message again once the models are known and tell what
    still is the message's reading from what a caller or an answer set."""

    source: Literal["rules", "model"]
    prompt: str
    n: int
    aspect_ratio: str
    resolution: str
    model: str


class RunSettings(TypedDict, total=False):
    """The non-secret settings a request started with (``CreatokContext.run_settings``):
    every later step uses these, so a resume with another context (or none) cannot
    switch the API, the folder or the limits halfway."""

    base_url: str
    artifacts_dir: str
    timeout: float
    poll_interval: float | None
    download: bool


Phase = Literal["clarify", "approve", "approved", "submitted", "recheck", "done"]
"""Where a generation is: finding its prompt, waiting for approval, approved (not sent
yet), submitted (polling), a recovery check of a known task, or done."""


class Generation(TypedDict, total=False):
    """One request's whole life, from what was asked to what came back."""

    run_id: str
    """The artifacts folder name and the submission-ledger key of this request (not
    LangGraph's run id): ``<root>/<run_id>/outputs/result.json``. Defaults to the thread
    id, ``<thread>-2``, ``-3``... for later requests of a thread."""
    number: int
    """1 for the thread's first request, 2 for the next..."""
    language: str
    language_chosen: bool
    """The caller chose ``language``; otherwise it follows the person's words."""
    asked: ImageSettings
    """The explicit settings (caller input, or read from the conversation); an approval
    edit starts from these, so what the person did not set takes the model's defaults."""
    read_chat: bool
    """The request is in the conversation's newest message: clarify reads it."""
    chat: ChatReading
    """What clarify read from that message (absent when the caller gave the prompt)."""
    settings: RunSettings
    refine: bool
    refinement_offered: bool
    suggestion: str | None
    wait: bool | None
    request: ImageRequest | None
    approval_note: str | None
    """Why the approval question is asked again (an edit we cannot use, an unclear answer)."""
    budget: dict[str, Any] | None
    """The spend guard's record of this request's reservation (``budget.approve``): its
    scope, UTC day, credits, state and limits; set by the approval."""
    phase: Phase
    object_keys: list[str] | None
    task_id: str | None
    submitted_at: float | None
    status: RunStatus | None
    images: list[dict[str, Any]]
    error: dict[str, Any] | None
    raw: dict[str, Any] | None
    no_artifacts: bool
    """Refused before anything was asked (a wrong input type, or its run id: the folder
    belongs to another request): no folder is written."""
    submitted_before: bool
    """This very request was submitted earlier under its run id: until it follows that task,
    the folder keeps the earlier results."""
    ledger_root: str | None
    """The absolute folder of the submission ledger, fixed when the person approves, so a
    resume from another working directory finds it (``ledger.ledger_root``)."""
    submit_intent: dict[str, Any] | None
    """A paid request sent without an answer (its ledger entry): asked about, never resent,
    even if the ledger file is lost."""


def _about(description: str, *examples: Any) -> Any:
    """A field's description (and examples) for the JSON schema Studio and the SDK show."""
    return Field(description=description, examples=list(examples) or None)


class InputState(TypedDict, total=False):
    """Everything is optional: a chat message alone is enough to start."""

    messages: Annotated[
        list[AnyMessage],
        _about("The conversation. The latest human message is the request: its text is read "
               "for the description, the number of images, the aspect ratio, the resolution "
               "and a model name; pictures attached to it (base64 or data: URLs) are "
               "reference images."),
        add_messages,
    ]
    prompt: Annotated[str | None, _about(
        "What the image should show. Taken as written; overrides the message's text.",
        "a red fox reading under a maple tree, watercolor"), caller_input()]
    model: Annotated[str | None, _about(
        "A model id or label from CreatOK's capabilities; unset = CreatOK's default model.",
        "nano-banana-2"), caller_input()]
    resolution: Annotated[str | None, _about(
        "One of the model's resolutions (e.g. 1K, 2K, 4K); unset = the model's default.",
        "2K"), caller_input()]
    n: Annotated[int | None, _about(
        "How many images, within the model's limits (often 1 to 4); unset = its default.", 2),
        caller_input()]
    aspect_ratio: Annotated[str | None, _about(
        "Width:height, one the model offers (e.g. 1:1, 16:9, 9:16); unset = its default.",
        "16:9"), caller_input()]
    reference_images: Annotated[list[str] | None, _about(
        "Paths of reference images on the machine running the graph (PNG, JPEG, WebP, GIF). "
        "Served clients attach pictures to the message instead."), caller_input()]
    task_id: Annotated[str | None, _about(
        "Check an earlier task instead of making a new one: nothing is paid, no approval."),
        caller_input()]
    wait: Annotated[bool | None, _about(
        "With task_id: wait until the task finishes (default: check once)."), caller_input()]
    run_id: Annotated[str | None, _about(
        "Name of the run's artifacts folder and submission record (letters, digits, . _ -); "
        "unset = the thread id. See ``Generation.run_id``."), caller_input()]
    language: Annotated[str | None, _about(
        "Language of every reply: en, zh, ja, ko, es or pt; unset = the language the "
        "person writes in.", "en"), caller_input()]
    refine: Annotated[bool | None, _about(
        "False: never offer to rewrite a short description (only offered when a chat model "
        "is configured)."), caller_input()]
    requests: Annotated[list[dict[str, Any]] | None, _about(
        "A batch: one settings object per generation (prompt, model, resolution, n, "
        "aspect_ratio, reference_images), one approval for all."), caller_input()]


class OutputState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    run_id: Annotated[str | None, caller_input()]
    status: Annotated[str | None, caller_input()]
    task_id: Annotated[str | None, caller_input()]
    images: Annotated[list[dict[str, Any]], caller_input()]
    estimated_credits: Annotated[float | None, caller_input()]
    artifacts_dir: Annotated[str | None, caller_input()]
    error: Annotated[dict[str, Any] | None, caller_input()]
    model: Annotated[str | None, caller_input()]
    resolution: Annotated[str | None, caller_input()]
    n: Annotated[int | None, caller_input()]
    aspect_ratio: Annotated[str | None, caller_input()]
    request: Annotated[dict[str, Any] | None, caller_input()]
    language: Annotated[str | None, caller_input()]
    results: Annotated[list[dict[str, Any]] | None, caller_input()]
    """A batch's outcome: one entry per request, in input order (``batch.batch_persist``)."""
    budget: Annotated[dict[str, Any] | None, caller_input()]
    """The spend guard's figures for the run (``budget.settle``): its credits and
    reservation state; under a daily budget also today's approved, committed and left."""


class State(InputState, OutputState, total=False):
    generation: Annotated[Generation, patched_record()]
    """Written as patches (``node_env.step``); replaced whole for a new request
    (``intake.new_request`` / ``intake.recheck``)."""
    consumed_message_id: str | None
    """The newest chat message already read as a request."""
    submit_failures: int
    """Failed submits in this thread: after a few, we suggest updating the integration."""
    batch: Annotated[dict[str, Any], merge_record]
    """A batch's requests, one record per item (``batch.items_of``), updated by key; a
    new batch replaces it whole. A plain channel, not a delta one: that would cost every
    single request's checkpoints a counter."""
