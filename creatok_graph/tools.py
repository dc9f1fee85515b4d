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

import hashlib
import re
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field

from .context import CreatokContext

TOOL_NAME = "generate_image"
TOOL_DESCRIPTION = (
    "Generate images with CreatOK's paid image API. The person is asked to approve the cost "
    "before anything is charged; you get back the status, the task id and the image URLs. "
    "Give the URLs to the person exactly as returned. Leave model, resolution and n unset "
    "unless the person asked for them: CreatOK's defaults apply."
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
    status = result.get("status") or "unknown"
    task_id = result.get("task_id")
    images = result.get("images") or []
    lines: list[str] = []
    if status == "succeeded":
        lines.append(f"Image generation succeeded. task_id: {task_id}")
        lines.append(f"{len(images)} image(s); give these URLs to the person exactly as written:")
        lines += [f"{i}. {img.get('url')}" for i, img in enumerate(images, 1)]
    elif status == "cancelled" and (result.get("error") or {}).get("kind") == "unknown_outcome":
        lines.append(
            "Stopped: an earlier attempt may already have been charged; the person chose not to "
            "send it again and should check their recent CreatOK tasks."
        )
    elif status == "cancelled":
        reason = (result.get("error") or {}).get("message")
        lines.append(
            "Cancelled: the person did not approve the generation. Nothing was submitted and "
            "nothing was charged." + (f" Their note: {reason}" if reason else "")
        )
    else:
        lines.append(f"Image generation ended with status {status}.")
        if task_id:
            lines.append(f"task_id: {task_id} (can be checked again later by task id)")
        error = result.get("error") or {}
        if error.get("message"):
            lines.append(f"Details: {error['message']}")
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
    caller's run context (``agent.invoke(..., context=CreatokContext(...))`` or a dict
    with the same keys) and then the ``CREATOK_*`` environment variables.
    ``graph``: a graph compiled *without* a checkpointer (default: ``build_graph()``).
    """
    if graph is None:
        from .graph import build_graph

        graph = build_graph()
    inner = graph

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
