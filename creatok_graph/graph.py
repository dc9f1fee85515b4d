"""The generation graph, wired for both ``invoke`` and ``ainvoke``.

clarify -> load_capabilities -> validate -> confirm (interrupt) -> upload_refs -> submit
-> poll -> persist        (START -> poll: a recovery check of a known task)
batch_validate -> batch_confirm (interrupt) -> batch_item x N -> batch_persist   (``requests``)

``graph`` at the bottom is what ``langgraph.json`` serves: compiled without a
checkpointer, because the LangGraph server brings its own. ``build_graph``
compiles one with yours. See ``docs/architecture.md`` for the data flow of one run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import get_runtime
from langgraph.store.base import BaseStore
from langgraph.types import RetryPolicy

from . import batch
from ._flow import Blocking, Flow, run_async, run_sync
from .approval import confirm
from .chat_model import chat_model_from_env
from .clarify import clarify
from .connections import GraphHttp
from .context import ClientContext, CreatokContext
from .errors import InvalidRequestError
from .intake import refuse_run
from .node_env import NodeEnv, NodeFlow, generation
from .result import persist, poll
from .state import InputState, OutputState, State
from .submission import submit, upload_refs
from .validation import load_capabilities, validate

GRAPH_NAME = "generate_image"

NO_RETRY = RetryPolicy(max_attempts=1)
"""For every node that may reach the paid call: LangGraph must never re-run it."""

def _env(
    state: State, config: RunnableConfig, chat_model: BaseChatModel | None, http: GraphHttp
) -> NodeEnv:
    runtime = get_runtime()
    thread_id = (config.get("configurable") or {}).get("thread_id")
    env = NodeEnv(
        context=CreatokContext.coerce(runtime.context),
        store=runtime.store,
        chat_model=chat_model,
        thread_id=str(thread_id) if thread_id is not None else None,
        http=http,
    )
    return env.fixed_by(generation(state))  # the request goes on with what it started with


class FlowNode(Runnable[State, Any]):
    """One flow as a node, with a sync and an async implementation.

    A plain ``Runnable`` rather than ``RunnableLambda``: LangGraph's task already opens
    the node's trace run and sets the config context (``get_runtime`` and the stream
    writer work), while ``RunnableLambda`` would inspect both signatures on every call
    and nest a second run per node (measured: ~6 ms of CPU per graph run).
    """

    def __init__(
        self, name: str, flow: NodeFlow, chat_model: BaseChatModel | None, http: GraphHttp
    ) -> None:
        self.name = name
        self.flow = flow
        self.chat_model = chat_model
        self.http = http

    def _flow(self, input: State, env: NodeEnv) -> Flow[Any]:
        """The node's flow behind the client boundary (see ``context.py``): a client's
        artifacts sub-folder is checked with symlinks resolved before any node writes, and
        a run whose client settings were refused ends before any call (its result, if any,
        goes to the operator's folder)."""
        if env.context.artifacts_within is not None:
            try:
                yield Blocking(env.context.prepare_artifacts_dir)
            except InvalidRequestError as exc:
                env = replace(env, context=CreatokContext.refused(exc))
        refusal = env.context.refusal
        if refusal is not None and self.name in batch.NODE_NAMES:
            return (yield from batch.refuse(str(self.name), input, env, refusal))
        if refusal is not None and self.name != "persist":
            return (yield from refuse_run(str(self.name), input, env, refusal))
        return (yield from self.flow(input, env))

    def invoke(self, input: State, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        env = _env(input, ensure_config(config), self.chat_model, self.http)
        return run_sync(self._flow(input, env), self.http.sync())

    async def ainvoke(
        self, input: State, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        env = _env(input, ensure_config(config), self.chat_model, self.http)
        return await run_async(self._flow(input, env), self.http.for_loop())


NODES: list[tuple[str, NodeFlow, tuple[str, ...]]] = [
    ("clarify", clarify, ("clarify", "load_capabilities", "persist")),
    ("load_capabilities", load_capabilities, ("validate", "persist")),
    ("validate", validate, ("confirm", "persist")),
    ("confirm", confirm, ("confirm", "upload_refs", "submit", "persist")),
    ("upload_refs", upload_refs, ("submit", "persist")),
    ("submit", submit, ("submit", "poll", "persist", "confirm")),
    ("poll", poll, ("persist",)),
    ("persist", persist, ()),
    *batch.NODES,
]
"""Every node and where it may go next (``Command(goto=...)``)."""


def build_builder(
    chat_model: BaseChatModel | None = None, http: GraphHttp | None = None
) -> StateGraph[Any, Any, Any, Any]:
    http = http or GraphHttp()
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(
        State,
        context_schema=ClientContext,  # what a client may send; no key (see context.py)
        input_schema=InputState,
        output_schema=OutputState,
    )
    for name, flow, destinations in NODES:
        # Never retried by LangGraph: most nodes can reach the paid call, and the status
        # checks of ``poll`` are retried by the client itself (idempotent GETs).
        builder.add_node(name, FlowNode(name, flow, chat_model, http),
                         destinations=destinations or None, retry_policy=NO_RETRY)
    builder.add_conditional_edges(START, batch.route_start, ["clarify", "poll", "batch_validate"])
    builder.add_edge(batch.ITEM_NODE, "batch_persist")
    builder.add_edge("persist", END)
    builder.add_edge("batch_persist", END)
    return builder


def build_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    store: BaseStore | None = None,
    chat_model: BaseChatModel | None = None,
    *,
    name: str = GRAPH_NAME,
    http: GraphHttp | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the graph. Interrupts need a checkpointer; the ledger prefers a store.

    ``http``: the connection pools and capabilities cache every run of this graph
    shares (default: a new :class:`~creatok_graph.connections.GraphHttp`); pass one to
    use your own transport, and close it when you are done with the graph.
    """
    return build_builder(chat_model, http).compile(
        checkpointer=checkpointer, store=store, name=name
    )


graph = build_builder(chat_model_from_env()).compile(name=GRAPH_NAME)
"""Served by ``langgraph.json``; its chat model is the operator's (``CREATOK_CHAT_MODEL``)."""
