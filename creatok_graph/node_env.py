"""What every node shares: its environment, progress events, and how a run ends early.

Rules every node keeps: nothing paid before a person's yes; the submit is never
repeated automatically; the task id is recorded before anything else happens;
expected failures end the run with a status and a message, never an exception;
file I/O goes through ``Blocking`` so it leaves the event loop. Nodes are flows
(see ``_flow``) run by a sync or an async driver.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.config import get_stream_writer
from langgraph.store.base import BaseStore
from langgraph.types import Command

from ._flow import Flow
from ._upstream import replace_record
from .artifacts import INPUTS_FOLDER, safe_run_id
from .capabilities import ImageCapabilities
from .client import CreatokAPI
from .connections import GraphHttp
from .context import CreatokContext
from .errors import CreatokError
from .messages import DEFAULT_LANGUAGE
from .replies import error_record
from .state import Generation, State
from .status import RunStatus, status_for


@dataclass
class NodeEnv:
    """What a node may use besides its state; built fresh for every node call.

    ``context`` is the request's: the invocation's context with the settings the request
    started with (``fixed_by``); ``invoked`` is this invocation's own, which a new
    request starts from.
    """

    context: CreatokContext
    store: BaseStore | None
    chat_model: BaseChatModel | None
    thread_id: str | None
    http: GraphHttp
    invoked: CreatokContext | None = None

    def fixed_by(self, gen: Generation) -> NodeEnv:
        """This env for ``gen``: the settings it started with (``Generation.settings``),
        and the pictures taken from its message among the files it may send."""
        invoked = self.invoked or self.context
        context = invoked.with_run_settings(gen.get("settings"))
        run_id = gen.get("run_id")
        if run_id and not context.local_files.anywhere and safe_run_id(run_id):
            inputs = str(Path(context.artifacts_dir).expanduser() / run_id / INPUTS_FOLDER)
            context = dataclasses.replace(context,
                                          local_files=context.local_files.with_inputs(inputs))
        return dataclasses.replace(self, context=context, invoked=invoked)

    def run_settings(self) -> dict[str, Any]:
        """The settings a request started now keeps (this invocation's)."""
        return (self.invoked or self.context).run_settings()

    @property
    def api(self) -> CreatokAPI:
        return CreatokAPI(api_key=self.context.resolved_api_key(), base_url=self.context.base_url)

    @property
    def artifacts_root(self) -> str:
        return self.context.artifacts_dir

    def capabilities(self) -> Flow[ImageCapabilities]:
        """The shared capabilities (one fetch per TTL for every run of this graph)."""
        caps: ImageCapabilities = yield from self.http.capabilities.get(
            self.api, self.context.resolved_api_key()
        )
        return caps


NodeFlow = Callable[[State, NodeEnv], Flow[Any]]


def emit(event: dict[str, Any]) -> None:
    """Progress on LangGraph's ``custom`` stream (a no-op when nobody listens)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # outside a runnable context
        return
    writer({"source": "creatok", **event})


def generation(state: State) -> Generation:
    return state.get("generation") or {}


def lang_of(state: State) -> str:
    return generation(state).get("language") or DEFAULT_LANGUAGE


def approval_view(gen: Generation) -> dict[str, Any]:
    """The output keys shown while the approval question waits (``persist`` fills them all
    at the end; they are ephemeral, see ``state``, and each one written costs checkpoint
    bytes, so no other step writes them). The language is in the approval request itself
    (``approval.approval_request``)."""
    request: Mapping[str, Any] = gen.get("request") or {}
    return {"estimated_credits": request.get("estimated_credits")}


def step(
    gen: Generation, goto: str, *, new: bool = False, first: bool = False, **changes: Any
) -> Command[Any]:
    """Go on to ``goto``, the generation record ``gen`` updated by ``changes``.

    Only the changes are written (see ``_upstream.patched_record``); ``new``: ``gen`` is a
    new request's record and replaces the thread's previous one whole; ``first``: the
    thread has none yet, so the new record is written as a patch (nothing to replace, and
    no checkpoint then carries a snapshot of it).
    """
    record: Generation = {**gen, **changes}  # type: ignore[typeddict-item]
    written: Any = changes
    if new:
        written = dict(record) if first else replace_record(dict(record))
    update: dict[str, Any] = {"generation": written}
    if goto == "confirm":
        update.update(approval_view(record))
    elif goto == "poll" and record.get("task_id"):
        update["task_id"] = record["task_id"]  # in the thread's state while we wait
    return Command(update=update, goto=goto)


def end(
    gen: Generation,
    status: RunStatus | CreatokError,
    error: CreatokError | dict[str, Any] | None = None,
    /,
    *,
    new: bool = False,
    first: bool = False,
    **changes: Any,
) -> Command[Any]:
    """End the request: ``persist`` reports ``status`` (an error gives its own)."""
    if isinstance(status, CreatokError):
        error, status = status, status_for(status)
    record = error_record(error) if isinstance(error, CreatokError) else error
    return step(gen, "persist", new=new, first=first, status=status, error=record, **changes)


def with_update(command: Command[Any], update: dict[str, Any]) -> Command[Any]:
    """``command`` also writing ``update`` (keys outside the generation record)."""
    if update:
        command.update.update(update)  # type: ignore[union-attr]
    return command


def message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    parts = [
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content or []
    ]
    return " ".join(p for p in parts if p).strip()


def latest_human(state: State) -> HumanMessage | None:
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage):
            return message
    return None


def answer_text(answer: Any, key: str) -> str:
    """A free-text resume value, given as a string or as ``{key: ...}``."""
    if isinstance(answer, dict):
        answer = answer.get(key) or answer.get("text") or answer.get("answer") or ""
    return str(answer or "").strip()
