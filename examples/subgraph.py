"""Use the compiled generation graph as one node of your own graph.

    python examples/subgraph.py --sandbox --yes

The parent graph has its own checkpointer (SQLite here, via ``open_persistence``);
the child is compiled *without* one and inherits it, so the approval interrupt
surfaces on the parent and ``Command(resume=...)`` continues inside the child.
Parent and child share state keys (``prompt``, ``n``, ``status``, ``images``...):
the parent writes the request and reads the result. Progress events of the
child arrive with ``stream_mode="custom", subgraphs=True``.
"""

from __future__ import annotations

import argparse
import operator
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command
from typing_extensions import TypedDict

from creatok_graph.checkpointing import open_persistence
from creatok_graph.context import CreatokContext
from creatok_graph.graph import build_graph

DEFAULT_PROMPT = "A lighthouse on a cliff at dawn, oil painting, warm light"


class StoryState(TypedDict, total=False):
    # keys shared with the generation graph
    messages: Annotated[list[AnyMessage], add_messages]
    prompt: str | None
    n: int | None
    aspect_ratio: str | None
    status: str | None
    task_id: str | None
    images: list[dict[str, Any]]
    # the parent's own
    scene: str
    log: Annotated[list[str], operator.add]


def write_scene(state: StoryState) -> dict[str, Any]:
    return {"prompt": state["scene"], "aspect_ratio": "16:9", "log": ["scene written"]}


def publish(state: StoryState) -> dict[str, Any]:
    urls = [img["url"] for img in state.get("images") or []]
    return {"log": [f"{state.get('status')}: {len(urls)} illustration(s)"]}


def build_story_graph(checkpointer: Any, store: Any) -> Any:
    builder = StateGraph(StoryState)
    builder.add_node("write_scene", write_scene)
    builder.add_node("illustrate", build_graph())  # no checkpointer: uses the parent's
    builder.add_node("publish", publish)
    builder.add_edge(START, "write_scene")
    builder.add_edge("write_scene", "illustrate")
    builder.add_edge("illustrate", "publish")
    builder.add_edge("publish", END)
    return builder.compile(checkpointer=checkpointer, store=store)


@contextmanager
def creatok_settings(sandbox: bool, artifacts_dir: str) -> Iterator[CreatokContext]:
    if not sandbox:
        yield CreatokContext(artifacts_dir=artifacts_dir)
        return
    from creatok_graph.emulator import Emulator

    with Emulator(task_seconds=1.0) as emu:
        yield CreatokContext(base_url=emu.base_url, api_key=emu.api_key,
                             artifacts_dir=artifacts_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--checkpoints", help="sqlite:///path or postgresql://... "
                        "(default: a temporary SQLite file)")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in emulator")
    parser.add_argument("--yes", action="store_true", help="approve without asking")
    args = parser.parse_args(argv)

    artifacts = os.environ.get("CREATOK_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="story-")
    url = args.checkpoints or f"sqlite:///{os.path.join(artifacts, 'story.sqlite')}"
    config: Any = {"configurable": {"thread_id": f"story-{uuid.uuid4().hex[:8]}"}}

    with creatok_settings(args.sandbox, artifacts) as context, open_persistence(url) as db:
        story = build_story_graph(db.checkpointer, db.store)
        payload: Any = {"scene": args.prompt, "n": args.n, "messages": []}
        while True:
            for namespace, mode, chunk in story.stream(
                payload, config, context=context, stream_mode=["custom", "updates"],
                subgraphs=True,
            ):
                if mode == "custom" and chunk.get("type") in ("submitted", "done"):
                    print(f"  [{namespace[0].split(':')[0]}] {chunk['type']}")
            pending = story.get_state(config).interrupts
            if not pending:
                break
            value = pending[0].value
            print(value["action_requests"][0]["description"] if "action_requests" in value
                  else value.get("question"))
            answer = ("yes" if "action_requests" in value else "keep") if args.yes \
                else input("> ").strip()
            payload = Command(resume=answer)

        final = story.get_state(config).values
    for line in final.get("log", []):
        print(line)
    for img in final.get("images") or []:
        print(img["url"])
    return 0 if final.get("status") == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
