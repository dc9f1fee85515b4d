"""Embed CreatOK image generation in a LangChain agent as a tool, approval included.

    python examples/agent_tool.py --sandbox --yes
    CREATOK_API_KEY=... python examples/agent_tool.py --model openai:gpt-4.1-mini

The agent's model decides to call ``generate_image``; the tool runs the approval
graph as a subgraph, so the approval interrupt reaches *this* script (the agent's
caller). We show the summary, ask (or auto-approve with ``--yes``) and resume the
same tool call; the model then receives the task id and the image URLs.

Without ``--model`` a scripted stand-in model is used, so the example runs with no
LLM account; pass ``--model provider:name`` (``langchain.chat_models.init_chat_model``)
for a real one. ``--sandbox`` starts the built-in CreatOK emulator (nothing charged);
otherwise ``CREATOK_API_KEY`` / ``CREATOK_BASE_URL`` come from the environment.
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
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from creatok_graph.context import CreatokContext
from creatok_graph.tools import generate_image

DEFAULT_PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"
SYSTEM_PROMPT = (
    "You help people create images. When they ask for one, call generate_image with a "
    "detailed prompt, then share the returned URLs exactly as given."
)


class ScriptedModel(GenericFakeChatModel):
    """Stand-in chat model: one generate_image call, then a short answer."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def scripted_model(prompt: str, n: int) -> BaseChatModel:
    call = {"name": "generate_image", "args": {"prompt": prompt, "n": n},
            "id": f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}
    return ScriptedModel(messages=iter([
        AIMessage(content="", tool_calls=[call]),
        AIMessage(content="Your images are ready (links above)."),
    ]))


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
    agent = create_agent(model, [generate_image], system_prompt=SYSTEM_PROMPT,
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
            status = (message.artifact or {}).get("status")
            print(f"\n[tool result]\n{message.content}")
    print(f"\n[agent]\n{result['messages'][-1].text}")
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
