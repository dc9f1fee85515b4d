"""The graph inside agents: LangChain's create_agent, a hand-made ToolNode graph, and a
parent graph that uses the compiled graph as a subgraph node.

The chat model is a scripted fake (no network): it asks for the tool once, then
answers in text, and remembers what it was shown so we can check that the model
really receives the URLs and the task id.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any

import pytest
from _helpers import PROMPT, emulator_images
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from pydantic import Field
from typing_extensions import TypedDict

from creatok_graph.context import CreatokContext
from creatok_graph.emulator import Emulator
from creatok_graph.graph import build_graph
from creatok_graph.tools import (
    generate_image,
    make_generate_image_tool,
    make_image_tools,
    make_list_image_models_tool,
    tool_run_id,
)


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that agents can bind tools to and that records its inputs."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def scripted(*calls: dict[str, Any], final: str = "Here you go.") -> ScriptedModel:
    tool_calls = [
        {"name": "generate_image", "args": args, "id": f"call_{i}", "type": "tool_call"}
        for i, args in enumerate(calls, 1)
    ]
    return ScriptedModel(messages=iter([AIMessage(content="", tool_calls=tool_calls),
                                        AIMessage(content=final)]))


@pytest.fixture
def ctx(emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CreatokContext:
    """Settings passed per run; the environment points nowhere useful to prove it."""
    monkeypatch.setenv("CREATOK_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("CREATOK_API_KEY", raising=False)
    return CreatokContext(base_url=emulator.base_url, api_key=emulator.api_key,
                          artifacts_dir=str(tmp_path / "artifacts"), poll_interval=0.05)


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def approval_of(result: dict[str, Any]) -> dict[str, Any]:
    interrupts = result["__interrupt__"]
    assert len(interrupts) == 1
    value: dict[str, Any] = interrupts[0].value
    request = value["action_requests"][0]
    assert request["name"] == "generate_image"
    assert "Nano Banana 2" in request["description"]
    assert interrupts[0].response_schema  # Studio/Agent Inbox render a form from it
    return value


def check_success(emulator: Emulator, message: ToolMessage, n: int) -> str:
    artifact = message.artifact
    assert artifact["status"] == "succeeded"
    task_id = str(artifact["task_id"])
    assert task_id in str(message.content)
    served = emulator_images(emulator.base_url, emulator.api_key, task_id)
    assert [img["url"] for img in artifact["images"]] == [img["url"] for img in served]
    assert len(served) == n
    for img in served:
        assert img["url"] in str(message.content)  # verbatim, byte for byte
    return task_id


# -- create_agent -----------------------------------------------------------------------


def test_create_agent_approve(emulator: Emulator, ctx: CreatokContext) -> None:
    model = scripted({"prompt": PROMPT, "n": 1})
    agent = create_agent(model, [generate_image], context_schema=CreatokContext,
                         checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "agent-yes"}}

    first = agent.invoke({"messages": [HumanMessage("draw me a fox")]}, config, context=ctx)
    value = approval_of(first)
    assert value["action_requests"][0]["args"]["prompt"] == PROMPT
    assert emulator.stats()["submits"] == 0  # nothing before the yes

    done = agent.invoke(Command(resume="yes"), config, context=ctx)
    (message,) = tool_messages(done)
    task_id = check_success(emulator, message, 1)
    assert message.artifact["run_id"] == tool_run_id("agent-yes", "call_1")
    assert done["messages"][-1].content == "Here you go."
    # The model's second turn saw the tool result with the URLs and the task id.
    shown = [m for m in model.seen[-1] if isinstance(m, ToolMessage)]
    assert shown and task_id in str(shown[0].content)
    stats = emulator.stats()
    assert (stats["submits"], stats["credits"]) == (1, 1)

    # Nothing is left pending and a stray resume charges nothing more.
    assert not agent.get_state(config).next
    assert emulator.stats()["submits"] == 1


async def test_create_agent_reject_async(emulator: Emulator, ctx: CreatokContext) -> None:
    model = scripted({"prompt": PROMPT, "n": 2}, final="Okay, no images.")
    agent = create_agent(model, [generate_image], context_schema=CreatokContext,
                         checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "agent-no"}}

    first = await agent.ainvoke({"messages": [HumanMessage("draw two foxes")]}, config, context=ctx)
    approval_of(first)
    done = await agent.ainvoke(Command(resume="no"), config, context=ctx)
    (message,) = tool_messages(done)
    assert message.artifact["status"] == "cancelled"
    assert "nothing was charged" in str(message.content).lower()
    assert "cancelled" in str(message.content).lower()
    shown = [m for m in model.seen[-1] if isinstance(m, ToolMessage)]
    assert shown and "nothing was charged" in str(shown[0].content).lower()
    assert done["messages"][-1].content == "Okay, no images."
    stats = emulator.stats()
    assert (stats["submits"], stats["credits"]) == (0, 0)


def test_create_agent_two_calls_in_one_turn(emulator: Emulator, ctx: CreatokContext) -> None:
    """Two tool calls interrupt together; each has its own run id and is answered by id."""
    model = scripted({"prompt": PROMPT, "n": 1}, {"prompt": PROMPT + ", at night", "n": 1})
    agent = create_agent(model, [generate_image], context_schema=CreatokContext,
                         checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "agent-two"}}
    first = agent.invoke({"messages": [HumanMessage("two variants")]}, config, context=ctx)
    interrupts = first["__interrupt__"]
    assert len(interrupts) == 2
    night = next(i for i in interrupts
                 if "night" in i.value["action_requests"][0]["args"]["prompt"])
    answers = {i.id: ("no" if i is night else {"decisions": [{"type": "approve"}]})
               for i in interrupts}
    done = agent.invoke(Command(resume=answers), config, context=ctx)
    statuses = sorted(m.artifact["status"] for m in tool_messages(done))
    assert statuses == ["cancelled", "succeeded"]
    assert len({m.artifact["run_id"] for m in tool_messages(done)}) == 2
    assert emulator.stats()["submits"] == 1


# -- a hand-made ToolNode graph ---------------------------------------------------------


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def toolnode_graph(model: ScriptedModel, tool: Any) -> Any:
    def call_model(state: ChatState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    async def acall_model(state: ChatState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(ChatState)
    builder.add_node("model", RunnableLambda(call_model, afunc=acall_model))
    builder.add_node("tools", ToolNode([tool]))
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", tools_condition)
    builder.add_edge("tools", "model")
    return builder.compile(checkpointer=InMemorySaver(), store=InMemoryStore())


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_toolnode_graph_edit_then_approve(
    emulator: Emulator, ctx: CreatokContext, use_async: bool
) -> None:
    # Settings bound to the tool itself rather than passed per run.
    tool = make_generate_image_tool(context=ctx)
    model = scripted({"prompt": PROMPT, "n": 1})
    graph = toolnode_graph(model, tool)
    config: RunnableConfig = {"configurable": {"thread_id": f"toolnode-{use_async}"}}

    async def run(payload: Any) -> dict[str, Any]:
        if use_async:
            result: dict[str, Any] = await graph.ainvoke(payload, config)
        else:
            result = graph.invoke(payload, config)
        return result

    first = await run({"messages": [HumanMessage("a fox please")]})
    approval_of(first)
    edit = {"decisions": [{"type": "edit", "edited_action": {
        "name": "generate_image", "args": {"n": 2}}}]}
    second = await run(Command(resume=edit))
    value = approval_of(second)  # asked again, now for 2 images
    assert value["action_requests"][0]["args"]["n"] == 2
    assert emulator.stats()["submits"] == 0
    done = await run(Command(resume={"decisions": [{"type": "approve"}]}))
    (message,) = tool_messages(done)
    check_success(emulator, message, 2)
    stats = emulator.stats()
    assert (stats["submits"], stats["credits"]) == (1, 2)


# -- the compiled graph as a subgraph node ----------------------------------------------


class ParentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    prompt: str | None
    n: int | None
    status: str | None
    task_id: str | None
    images: list[dict[str, Any]]
    log: Annotated[list[str], operator.add]


def test_subgraph_node_with_parent_checkpointer(emulator: Emulator, ctx: CreatokContext) -> None:
    def prepare(state: ParentState) -> dict[str, Any]:
        return {"prompt": PROMPT, "n": 2, "log": ["prepared"]}

    def after(state: ParentState) -> dict[str, Any]:
        return {"log": [f"{state.get('status')}:{len(state.get('images') or [])}"]}

    builder = StateGraph(ParentState, context_schema=CreatokContext)
    builder.add_node("prepare", prepare)
    builder.add_node("generate_image", build_graph())  # no checkpointer: inherits the parent's
    builder.add_node("after", after)
    builder.add_edge(START, "prepare")
    builder.add_edge("prepare", "generate_image")
    builder.add_edge("generate_image", "after")
    builder.add_edge("after", END)
    parent = builder.compile(checkpointer=InMemorySaver(), store=InMemoryStore())
    config: RunnableConfig = {"configurable": {"thread_id": "parent-1"}}

    first = parent.invoke({"messages": []}, config, context=ctx)
    approval_of(first)
    state = parent.get_state(config, subgraphs=True)
    assert state.next == ("generate_image",)
    assert state.tasks[0].state is not None  # the subgraph's own checkpoint

    custom: list[tuple[Any, Any]] = []
    for namespace, mode, chunk in parent.stream(
        Command(resume="yes"), config, context=ctx, stream_mode=["custom", "values"],
        subgraphs=True,
    ):
        if mode == "custom":
            custom.append((namespace, chunk))
    final = parent.get_state(config).values
    assert final["status"] == "succeeded"
    assert final["log"] == ["prepared", "succeeded:2"]
    served = emulator_images(emulator.base_url, emulator.api_key, str(final["task_id"]))
    assert [i["url"] for i in final["images"]] == [i["url"] for i in served]
    kinds = [c["type"] for _, c in custom]
    assert "submitted" in kinds and kinds[-1] == "done"
    assert all(ns and ns[0].startswith("generate_image:") for ns, _ in custom)
    assert emulator.stats()["submits"] == 1


def test_tool_outside_a_graph_says_so(ctx: CreatokContext) -> None:
    tool = make_generate_image_tool(context=ctx)
    call = {"type": "tool_call", "name": "generate_image", "id": "c1", "args": {"prompt": PROMPT}}
    with pytest.raises(RuntimeError, match="checkpointer"):
        tool.invoke(call)


# -- the toolkit: list_image_models, check_image_task -------------------------------------


def scripted_turns(
    *turns: list[tuple[str, dict[str, Any]]], final: str = "Done."
) -> ScriptedModel:
    """A model that makes each turn's tool calls in order, then answers ``final``."""
    messages = [
        AIMessage(content="", tool_calls=[
            {"name": name, "args": args, "id": f"call_{t}_{i}", "type": "tool_call"}
            for i, (name, args) in enumerate(turn, 1)])
        for t, turn in enumerate(turns, 1)
    ]
    return ScriptedModel(messages=iter([*messages, AIMessage(content=final)]))


def test_the_model_lists_models_then_generates_with_one(
    emulator: Emulator, ctx: CreatokContext
) -> None:
    model = scripted_turns(
        [("list_image_models", {})],
        [("generate_image", {"prompt": PROMPT, "model": "gpt-image-2", "resolution": "4K"})],
    )
    agent = create_agent(model, make_image_tools(), context_schema=CreatokContext,
                         checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "kit"}}
    first = agent.invoke({"messages": [HumanMessage("a fox with GPT Image 2 in 4K")]}, config,
                         context=ctx)
    listing = tool_messages(first)[0]
    assert listing.name == "list_image_models"
    text = str(listing.content)
    # Read from the capabilities the emulator serves: ids, defaults, limits and prices.
    assert "Default model: nano-banana-2" in text
    assert "- gpt-image-2 (GPT Image 2): resolutions 1K, 2K*, 4K; n 1-4 (default 1)" in text
    assert "aspect ratios 1:1, 16:9, 9:16" in text
    assert "credits per image: 1K 1, 2K 2, 4K 3" in text  # nano-banana-pro
    shown = [m for m in model.seen[1] if isinstance(m, ToolMessage)]
    assert shown and "gpt-image-2" in str(shown[0].content)  # the model saw the list
    assert approval_of_model(first, "GPT Image 2")["args"]["resolution"] == "4K"
    done = agent.invoke(Command(resume="yes"), config, context=ctx)
    generated = tool_messages(done)[-1]
    check_success(emulator, generated, 1)
    assert emulator.stats()["submits"] == 1 and emulator.stats()["capabilities"] >= 1


def approval_of_model(result: dict[str, Any], label: str) -> dict[str, Any]:
    (interrupt,) = result["__interrupt__"]
    request: dict[str, Any] = interrupt.value["action_requests"][0]
    assert label in request["description"]
    return request


async def test_a_task_that_outlasted_the_wait_is_checked_later(
    emulator_factory: Any, tmp_path: Path
) -> None:
    slow = emulator_factory(task_seconds=1.5)
    ctx = CreatokContext(base_url=slow.base_url, api_key=slow.api_key,
                         artifacts_dir=str(tmp_path / "a"), poll_interval=0.05, timeout=0.2)
    model = scripted_turns([("generate_image", {"prompt": PROMPT})])
    agent = create_agent(model, make_image_tools(), context_schema=CreatokContext,
                         checkpointer=InMemorySaver())
    config: RunnableConfig = {"configurable": {"thread_id": "slow"}}
    await agent.ainvoke({"messages": [HumanMessage("a fox")]}, config, context=ctx)
    done = await agent.ainvoke(Command(resume="yes"), config, context=ctx)
    (timed_out,) = tool_messages(done)
    assert timed_out.artifact["status"] == "timeout"
    task_id = timed_out.artifact["task_id"]

    # Later, in the same conversation: the model checks the task and waits for it.
    checker = scripted_turns([("check_image_task", {"task_id": task_id, "wait": True})])
    agent = create_agent(checker, make_image_tools(), context_schema=CreatokContext,
                         checkpointer=InMemorySaver())
    patient = CreatokContext(base_url=slow.base_url, api_key=slow.api_key,
                             artifacts_dir=str(tmp_path / "a"), poll_interval=0.05, timeout=30)
    later = await agent.ainvoke({"messages": [HumanMessage("is it ready?")]}, config,
                                context=patient)
    assert "__interrupt__" not in later  # nothing to approve: nothing is paid
    (checked,) = tool_messages(later)
    assert checked.name == "check_image_task"
    check_success(slow, checked, 1)
    assert slow.stats()["submits"] == 1


def test_the_models_tool_reports_a_bad_key_in_words(
    emulator: Emulator, tmp_path: Path
) -> None:
    wrong = CreatokContext(base_url=emulator.base_url, api_key="sk-wrong",
                           artifacts_dir=str(tmp_path))
    answer = make_list_image_models_tool(context=wrong).invoke({})
    assert answer.startswith("Could not list CreatOK's image models:")
    assert "sk-wrong" not in answer


def test_allowed_values_go_into_the_description_when_known(emulator: Emulator) -> None:
    from creatok_graph.client import Creatok

    caps = Creatok(api_key=emulator.api_key, base_url=emulator.base_url).get_capabilities()
    generate, listing, check = make_image_tools(capabilities=caps)
    assert "model seedream-5.0-lite, nano-banana-pro, nano-banana-2, gpt-image-2" in (
        generate.description)
    assert "aspect_ratio 1:1, 16:9, 9:16" in generate.description
    assert "list_image_models" in make_image_tools()[0].description  # else: look them up
    assert (listing.name, check.name) == ("list_image_models", "check_image_task")


def test_checking_an_unknown_task_says_so_and_costs_nothing(
    emulator: Emulator, ctx: CreatokContext
) -> None:
    tool = make_image_tools(context=ctx)[2]
    call = {"type": "tool_call", "name": "check_image_task", "id": "c9",
            "args": {"task_id": "task_nope"}}
    message = tool.invoke(call)  # no graph around it: recovery asks no question
    assert message.artifact["status"] == "not_found"
    assert "could not find task task_nope" in str(message.content)  # names it
    assert emulator.stats()["submit_requests"] == 0
