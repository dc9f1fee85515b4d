"""Embed CreatOK image generation in a LangChain agent: three tools, approval included.

    python examples/agent_tool.py --sandbox --yes
    CREATOK_API_KEY=... python examples/agent_tool.py --model openai:gpt-4.1-mini

The agent has the whole toolkit of ``creatok_graph.tools``: ``list_image_models`` (free:
ids, limits and prices read from CreatOK), ``generate_image`` (paid: the approval graph
runs as a subgraph, so its interrupt reaches *this* script, which shows the summary, asks
or auto-approves with ``--yes``, and resumes the same tool call) and ``check_image_task``
(free: a task by id, e.g. one still running when generate_image returned).

Without ``--model`` a scripted stand-in model is used, so the example runs with no LLM
account: it lists the models, asks for the images, then checks the task before answering.
Pass ``--model provider:name`` (``langchain.chat_models.init_chat_model``) for a real one.
``--sandbox`` starts the built-in CreatOK emulator (nothing charged); otherwise
``CREATOK_API_KEY`` / ``CREATOK_BASE_URL`` come from the environment.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from creatok_graph.context import CreatokContext
from creatok_graph.tools import make_image_tools

DEFAULT_PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"
SYSTEM_PROMPT = (
    "You help people create images. Call list_image_models when they name a model, a size, "
    "a ratio or ask about prices. When they ask for images, call generate_image with a "
    "detailed prompt. If it is still running, check it later with check_image_task. Share "
    "the returned URLs exactly as given."
)


class ScriptedModel(GenericFakeChatModel):
    """Stand-in chat model that follows the script an LLM would: list the models, generate,
    check the task, then answer."""

    prompt: str = DEFAULT_PROMPT
    n: int = 1

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        results = [m for m in messages if isinstance(m, ToolMessage)]
        last = results[-1] if results else None
        if last is None:
            return _call("list_image_models", {})
        if last.name == "list_image_models":
            return _call("generate_image", {"prompt": self.prompt, "n": self.n})
        task_id = (last.artifact or {}).get("task_id")
        if last.name == "generate_image" and task_id:
            return _call("check_image_task", {"task_id": task_id})
        return AIMessage(content="Here is what CreatOK said (links above).")


def _call(name: str, args: dict[str, Any]) -> AIMessage:
    call = {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}",
            "type": "tool_call"}
    return AIMessage(content="", tool_calls=[call])


def scripted_model(prompt: str, n: int) -> BaseChatModel:
    return ScriptedModel(messages=iter(()), prompt=prompt, n=n)


@contextmanager
def creatok_settings(sandbox: bool) -> Iterator[CreatokContext]:
    """The run's CreatOK settings: a local emulator, or the CREATOK_* environment."""
    if not sandbox:
        yield CreatokContext()
        return
    from creatok_graph.emulator import Emulator

    with Emulator(task_seconds=1.0) as emu:
        yield CreatokContext(base_url=emu.base_url, api_key=emu.api_key)


def answer_approval(value: dict[str, Any], auto_yes: bool) -> Any:
    """Show the HITL request the graph raised and return the person's answer."""
    if "action_requests" in value:
        print(value["action_requests"][0]["description"])
    else:  # another question of the graph (e.g. a refinement offer)
        print(value.get("question", value))
    if auto_yes:
        print("> yes (--yes)")
        return "yes" if "action_requests" in value else "keep"
    return input("> ").strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--model", help="provider:model for a real chat model")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in emulator")
    parser.add_argument("--yes", action="store_true", help="approve without asking")
    args = parser.parse_args(argv)

    if args.model:
        from langchain.chat_models import init_chat_model

        model: BaseChatModel = init_chat_model(args.model)
    else:
        model = scripted_model(args.prompt, args.n)
    # context_schema: the run's CreatokContext reaches the tool's inner graph.
    agent = create_agent(model, make_image_tools(), system_prompt=SYSTEM_PROMPT,
                         context_schema=CreatokContext, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": f"agent-{uuid.uuid4().hex[:8]}"}}

    with creatok_settings(args.sandbox) as context:
        ask_for = f"Please make {args.n} image(s): {args.prompt}"
        payload: Any = {"messages": [HumanMessage(ask_for)]}
        while True:
            result = agent.invoke(payload, config, context=context)
            interrupts = result.get("__interrupt__") or []
            if not interrupts:
                break
            payload = Command(resume={i.id: answer_approval(i.value, args.yes)
                                      for i in interrupts})

    status = None
    for message in result["messages"]:
        if isinstance(message, ToolMessage):
            if message.artifact:  # generate_image and check_image_task report a status
                status = message.artifact.get("status")
            print(f"\n[{message.name}]\n{message.content}")
    print(f"\n[agent]\n{result['messages'][-1].text}")
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
