"""Drive the served graph (``langgraph dev`` / a deployment) with the LangGraph SDK.

    langgraph dev --no-browser                      # in one terminal (serves generate_image)
    python examples/sdk_client.py --url http://127.0.0.1:2024 --prompt "..." [--yes]

Creates a thread, starts a run and streams ``custom`` (progress) and ``values``;
when the run stops at the approval interrupt it shows the description and
resumes the same thread with ``Command(resume=...)``. The CreatOK key and URL are
the *server's* (its environment); a client never sends a key. Per-run settings go
in the run's ``context``: ``--base-url`` must be one the server allows
(``CREATOK_ALLOWED_BASE_URLS``). To try it offline, serve the graph against the
emulator: ``creatok-emulator --port 8765`` and start the server with
``CREATOK_BASE_URL=http://127.0.0.1:8765 CREATOK_API_KEY=sk-creatok-sandbox``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from langgraph_sdk import get_client

GRAPH_ID = "generate_image"
DEFAULT_PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"


def run_context(base_url: str | None) -> dict[str, Any] | None:
    """The run's context: only settings a client may choose (see docs/deployment.md)."""
    return {"base_url": base_url} if base_url else None


def show(part: Any) -> dict[str, Any] | None:
    """Print progress; return the latest values."""
    if part.event == "custom":
        event = part.data
        if event.get("type") == "progress":
            print(f"  {event['status']} ({event['elapsed']:.1f}s)")
        elif event.get("type") in ("submitted", "upload", "done"):
            print(f"  {event['type']}: {event.get('task_id') or event.get('index') or ''}")
    elif part.event == "error":
        raise RuntimeError(f"the run failed on the server: {part.data}")
    elif part.event == "values" and isinstance(part.data, dict):
        return part.data
    return None


def ask(value: dict[str, Any], auto_yes: bool) -> Any:
    if "action_requests" in value:
        print(value["action_requests"][0]["description"])
        default = "yes"
    else:
        print(value.get("question", value))
        default = "keep"
    if auto_yes:
        print(f"> {default} (--yes)")
        return default
    return input("> ").strip()


async def run(args: argparse.Namespace) -> int:
    client = get_client(url=args.url)
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    print(f"thread {thread_id}")
    request: dict[str, Any] = {"prompt": args.prompt, "n": args.n}
    if args.aspect_ratio:
        request["aspect_ratio"] = args.aspect_ratio
    context = run_context(args.base_url)
    kwargs: dict[str, Any] = {"input": request}
    values: dict[str, Any] = {}
    while True:
        async for part in client.runs.stream(
            thread_id, GRAPH_ID, stream_mode=["custom", "values"], context=context, **kwargs
        ):
            values = show(part) or values
        interrupts = values.get("__interrupt__") or []
        if not interrupts:
            break
        kwargs = {"command": {"resume": ask(interrupts[0]["value"], args.yes)}}
    state: Any = (await client.threads.get_state(thread_id))["values"]
    messages = state.get("messages") or []
    if messages:
        print(messages[-1]["content"])
    print(f"status: {state.get('status')}  task_id: {state.get('task_id')}")
    return 0 if state.get("status") == "succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:2024", help="the LangGraph API server")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--aspect-ratio")
    parser.add_argument("--base-url",
                        help="CreatOK base URL for this run (context): one the server allows")
    parser.add_argument("--yes", action="store_true", help="approve without asking")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
