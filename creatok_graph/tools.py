"""``generate_image`` as a LangChain tool, for agents that should be able to make images.

The tool runs the compiled generation graph *as a subgraph* of the graph that calls
it (``create_agent``'s tool node, ``langgraph.prebuilt.ToolNode``, or any node of
your own). Compiled without a checkpointer, the inner graph inherits the caller's
checkpointer, store, context and stream writer, so:

* its approval ``interrupt`` propagates to the top: ``agent.invoke(...)`` returns
  ``__interrupt__`` with the same HITL request (description, args, response schema)
  the served graph shows, and ``agent.invoke(Command(resume="yes"), config)`` (or
  ``{"decisions": [...]}``) continues *the same tool call*: the tool runs again, the
  inner graph resumes from its own checkpoint and the paid call is made at most once;
* progress arrives on the caller's ``custom`` stream (``stream_mode="custom"``,
  ``subgraphs=True`` to see the namespace);
* the model receives a ``ToolMessage`` with the status, the task id and every image
  URL verbatim (``artifact`` holds the same as a dict).

Why a subgraph rather than calling ``interrupt()`` in the tool body: one approval
implementation (edit/reject/yes-no in six languages, the unknown-outcome question,
the submission ledger) serves the CLI, the API server and agents alike.

The parent graph needs a checkpointer (interrupts always do). Each tool call gets
its own run id (``<thread id>-<tool call id>``), hence its own artifacts folder
and ledger entry. Several image tool calls in one model turn interrupt together:
resume them with ``Command(resume={interrupt_id: answer, ...})``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import get_runtime
from pydantic import BaseModel, Field

from ._flow import run_async, run_sync
from .capabilities import ImageCapabilities
from .client import CreatokAPI
from .connections import GraphHttp
from .context import CreatokContext
from .errors import CreatokError
from .outcome import Outcome

TOOL_NAME = "generate_image"
LIST_TOOL_NAME = "list_image_models"
CHECK_TOOL_NAME = "check_image_task"
TOOL_DESCRIPTION = (
    "Generate images with CreatOK's paid image API. The person is asked to approve the cost "
    "before anything is charged; you get back the status, the task id and the image URLs. "
    "Give the URLs to the person exactly as returned. Leave model, resolution, n and "
    "aspect_ratio unset unless the person asked for them: CreatOK's defaults apply. "
    f"Never guess a value: call {LIST_TOOL_NAME} first for the model ids, resolutions, "
    "aspect ratios, limits and prices."
)
LIST_TOOL_DESCRIPTION = (
    "List CreatOK's image models right now: ids, labels, the default model, each model's "
    "resolutions, aspect ratios, number of images, reference image limit and price in "
    f"credits per image. Free. Use it before {TOOL_NAME} when the person asks for a model, "
    "a size, a ratio or a price."
)
CHECK_TOOL_DESCRIPTION = (
    "Check an earlier image generation by its task_id (e.g. one that was still running when "
    f"{TOOL_NAME} returned). Free: nothing is submitted or charged. wait=true waits until it "
    "finishes; otherwise it checks once. Returns the status and, when done, the image URLs, "
    "to give to the person exactly as written."
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_RUN_ID = 128


class GenerateImageArgs(BaseModel):
    """What the model fills in."""

    prompt: str = Field(description="A self-contained description of the image to create.")
    model: str | None = Field(default=None, description="CreatOK model id; unset = default.")
    resolution: str | None = Field(default=None, description="e.g. 1K, 2K, 4K; unset = default.")
    n: int | None = Field(default=None, description="How many images; unset = the model's default.")
    aspect_ratio: str | None = Field(default=None, description="W:H, e.g. 16:9; unset = default.")
    reference_images: list[str] | None = Field(
        default=None, description="Paths of local reference images (png, jpg, webp, gif)."
    )


class _ToolSchema(GenerateImageArgs):
    tool_call_id: Annotated[str, InjectedToolCallId]


TOOL_HTTP = GraphHttp()
"""The connection pools of the default tools (their graph and ``list_image_models``)."""


@functools.cache
def _shared_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """One graph for the default tools: compiled without a checkpointer it holds no state,
    so every tool and call can share it."""
    from .graph import build_graph

    return build_graph(http=TOOL_HTTP)


def tool_run_id(thread_id: object, tool_call_id: str) -> str:
    """A safe, stable run id per tool call: the same call resumed keeps its ledger entry."""
    raw = f"{thread_id}-{tool_call_id}" if thread_id else tool_call_id
    safe = _UNSAFE.sub("-", raw).strip("-._") or "tool-call"
    if len(safe) > _MAX_RUN_ID:
        digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]
        safe = f"{safe[: _MAX_RUN_ID - 17]}-{digest}"
    return safe


def summarize(result: dict[str, Any]) -> str:
    """What the model reads: status, task id, URLs verbatim, and the person-facing message."""
    outcome = Outcome.of(result)
    lines: list[str] = []
    if outcome.ending == "succeeded":
        lines.append(f"Image generation succeeded. task_id: {outcome.task_id}")
        lines.append(f"{len(outcome.urls)} image(s); give these URLs to the person exactly as "
                     "written:")
        lines += [f"{i}. {url}" for i, url in enumerate(outcome.urls, 1)]
    elif outcome.ending == "stopped_unknown":
        lines.append(
            "Stopped: an earlier attempt may already have been charged; the person chose not to "
            "send it again and should check their recent CreatOK tasks."
        )
    elif outcome.ending == "cancelled":
        reason = outcome.reason
        lines.append(
            "Cancelled: the person did not approve the generation. Nothing was submitted and "
            "nothing was charged." + (f" Their note: {reason}" if reason else "")
        )
    else:
        lines.append(f"Image generation ended with status {outcome.status}.")
        if outcome.task_id:
            lines.append(f"task_id: {outcome.task_id} (can be checked again later by task id)")
        if outcome.reason:
            lines.append(f"Details: {outcome.reason}")
    final = _last_message(result)
    if final:
        lines += ["", "Message for the person:", final]
    return "\n".join(lines)


def _last_message(result: dict[str, Any]) -> str:
    messages = result.get("messages") or []
    if not messages:
        return ""
    return str(getattr(messages[-1], "text", "") or "")


def _artifact(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "task_id", "run_id", "images", "error", "estimated_credits",
            "artifacts_dir", "model", "resolution", "n", "aspect_ratio")
    return {k: result.get(k) for k in keys}


def _answer(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if "__interrupt__" in result:
        # Nested under a graph, an interrupt propagates instead of being returned.
        raise RuntimeError(
            f"{TOOL_NAME} asks for approval with a LangGraph interrupt, so it must run inside a "
            "graph with a checkpointer (create_agent(..., checkpointer=...), a ToolNode graph, "
            "or a node of yours), not on its own"
        )
    return summarize(result), _artifact(result)


def _inputs(args: dict[str, Any], config: RunnableConfig, tool_call_id: str) -> dict[str, Any]:
    thread_id = (config.get("configurable") or {}).get("thread_id")
    payload = {k: v for k, v in args.items() if v is not None}
    payload["run_id"] = tool_run_id(thread_id, tool_call_id)
    payload["refine"] = False  # the model wrote the prompt; only the paid call needs a person
    return payload


def make_generate_image_tool(
    *,
    context: CreatokContext | None = None,
    graph: CompiledStateGraph[Any, Any, Any, Any] | None = None,
    name: str = TOOL_NAME,
    description: str = TOOL_DESCRIPTION,
) -> BaseTool:
    """Build the tool.

    ``context``: fixed settings for every call; when omitted the inner graph uses the
    caller's run context (``agent.invoke(..., context=CreatokContext(...))``) and then the
    ``CREATOK_*`` environment variables. A plain dict context is a client's and gets only
    what a client may choose (see ``context.py``).
    ``graph``: a graph compiled *without* a checkpointer (default: ``build_graph()``).
    """
    inner = graph if graph is not None else _shared_graph()

    def run(
        tool_call_id: str, config: RunnableConfig, **args: Any
    ) -> tuple[str, dict[str, Any]]:
        result = inner.invoke(_inputs(args, config, tool_call_id), config, context=context)
        return _answer(result)

    async def arun(
        tool_call_id: str, config: RunnableConfig, **args: Any
    ) -> tuple[str, dict[str, Any]]:
        result = await inner.ainvoke(_inputs(args, config, tool_call_id), config, context=context)
        return _answer(result)

    return StructuredTool(
        name=name,
        description=description,
        args_schema=_ToolSchema,
        func=run,
        coroutine=arun,
        response_format="content_and_artifact",
    )


generate_image = make_generate_image_tool()
"""The tool with default settings (context from the calling run or the environment)."""


# -- the toolkit: list the models, check a task ----------------------------------------


class ListImageModelsArgs(BaseModel):
    """No arguments: the list is CreatOK's, right now."""


class CheckImageTaskArgs(BaseModel):
    task_id: str = Field(description="The task id CreatOK gave, e.g. from generate_image.")
    wait: bool = Field(
        default=False, description="true: wait until the task finishes; false: check once."
    )


class _CheckSchema(CheckImageTaskArgs):
    tool_call_id: Annotated[str, InjectedToolCallId]


def _credits(value: float) -> str:
    return f"{value:g}"


def describe_models(caps: ImageCapabilities) -> str:
    """The capabilities as compact text a model can act on (ids to pass, limits, prices)."""
    lines = [
        f"Default model: {caps.default_model}. Pass model ids exactly as written; leave a "
        "value unset to get the model's default (marked *).",
    ]
    for m in caps.models:
        resolutions = ", ".join(r + ("*" if r == m.defaults.resolution else "")
                                for r in m.limits.resolutions)
        ratios = ", ".join(m.limits.aspect_ratios) if m.limits.aspect_ratios else "any W:H"
        parts = [
            f"resolutions {resolutions}",
            f"n {m.n_min}-{m.n_max} (default {m.defaults.n})",
            f"aspect ratios {ratios}",
            f"up to {m.max_reference_images} reference images",
        ]
        prices = [f"{r} {_credits(p)}" for r in m.limits.resolutions
                  if m.pricing and (p := m.pricing.credits_per_image(r)) is not None]
        parts.append(f"credits per image: {', '.join(prices)}" if prices
                     else "price: not known in advance")
        default = " [default]" if m.id == caps.default_model else ""
        lines.append(f"- {m.id} ({m.label}){default}: " + "; ".join(parts))
    return "\n".join(lines)


def describe_allowed(caps: ImageCapabilities) -> str:
    """One sentence of allowed values for a tool description, read from ``caps``."""
    ids = ", ".join(m.id for m in caps.models)
    resolutions = sorted({r for m in caps.models for r in m.limits.resolutions})
    ratios = list(dict.fromkeys(r for m in caps.models for r in (m.limits.aspect_ratios or [])))
    n_max = max(m.n_max for m in caps.models)
    text = (f"Allowed values (they differ per model): model {ids} (default "
            f"{caps.default_model}); resolution {', '.join(resolutions)}; n 1-{n_max}")
    return text + (f"; aspect_ratio {', '.join(ratios)}." if ratios else ".")


def _context(fixed: CreatokContext | None) -> CreatokContext:
    """The fixed settings, else the calling run's context, else the environment."""
    if fixed is not None:
        return fixed
    try:
        return CreatokContext.coerce(get_runtime().context)
    except RuntimeError:  # called outside a graph
        return CreatokContext()


def _api(ctx: CreatokContext) -> CreatokAPI:
    return CreatokAPI(api_key=ctx.resolved_api_key(), base_url=ctx.base_url)


def _models_text(result: ImageCapabilities | CreatokError) -> str:
    if isinstance(result, CreatokError):
        return f"Could not list CreatOK's image models: {result.message}"
    return describe_models(result)


def make_list_image_models_tool(
    *, context: CreatokContext | None = None, name: str = LIST_TOOL_NAME,
    description: str = LIST_TOOL_DESCRIPTION,
) -> BaseTool:
    """The free ``list_image_models`` tool (capabilities as text)."""
    def run() -> str:
        try:
            caps = run_sync(_api(_context(context)).get_capabilities(), TOOL_HTTP.sync())
        except CreatokError as exc:
            return _models_text(exc)
        return _models_text(caps)

    async def arun() -> str:
        flow = _api(_context(context)).get_capabilities()
        try:
            caps = await run_async(flow, TOOL_HTTP.for_loop())
        except CreatokError as exc:
            return _models_text(exc)
        return _models_text(caps)

    return StructuredTool(name=name, description=description,
                          args_schema=ListImageModelsArgs, func=run, coroutine=arun)


def make_check_image_task_tool(
    *,
    context: CreatokContext | None = None,
    graph: CompiledStateGraph[Any, Any, Any, Any] | None = None,
    name: str = CHECK_TOOL_NAME,
    description: str = CHECK_TOOL_DESCRIPTION,
) -> BaseTool:
    """The free ``check_image_task`` tool: the graph's recovery path (no approval, nothing
    paid), with the same result shape as ``generate_image``."""
    inner = graph if graph is not None else _shared_graph()

    def payload(args: dict[str, Any], config: RunnableConfig, tool_call_id: str) -> dict[str, Any]:
        thread_id = (config.get("configurable") or {}).get("thread_id")
        return {"task_id": str(args["task_id"]).strip(), "wait": bool(args.get("wait")),
                "run_id": tool_run_id(thread_id, tool_call_id)}

    def run(tool_call_id: str, config: RunnableConfig, **args: Any) -> tuple[str, dict[str, Any]]:
        result = inner.invoke(payload(args, config, tool_call_id), config, context=context)
        return _answer(result)

    async def arun(
        tool_call_id: str, config: RunnableConfig, **args: Any
    ) -> tuple[str, dict[str, Any]]:
        result = await inner.ainvoke(payload(args, config, tool_call_id), config,
                                     context=context)
        return _answer(result)

    return StructuredTool(name=name, description=description, args_schema=_CheckSchema,
                          func=run, coroutine=arun, response_format="content_and_artifact")


def make_image_tools(
    *,
    context: CreatokContext | None = None,
    graph: CompiledStateGraph[Any, Any, Any, Any] | None = None,
    capabilities: ImageCapabilities | None = None,
) -> list[BaseTool]:
    """``generate_image``, ``list_image_models`` and ``check_image_task`` together.

    ``capabilities`` (e.g. ``Creatok().get_capabilities()`` at start-up) puts the allowed
    values into ``generate_image``'s description; without it the description tells the
    model to call ``list_image_models`` first.
    """
    description = TOOL_DESCRIPTION
    if capabilities is not None:
        description += " " + describe_allowed(capabilities)
    return [
        make_generate_image_tool(context=context, graph=graph, description=description),
        make_list_image_models_tool(context=context),
        make_check_image_task_tool(context=context, graph=graph),
    ]


list_image_models = make_list_image_models_tool()
"""The models tool with default settings (context from the calling run or the environment)."""

check_image_task = make_check_image_task_tool()
"""The task-check tool with default settings."""
