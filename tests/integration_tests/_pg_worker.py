"""A worker process of the PostgreSQL scale-out test (``test_postgres.py``).

    python _pg_worker.py start  --url postgresql://... --thread T --prompt P
    python _pg_worker.py resume --url postgresql://... --thread T [--async]

``start`` asks for the approval, answers yes and runs on into polling, printing each
progress event as a JSON line (the test SIGKILLs it mid-poll). ``resume`` is another
process: it finds the thread in PostgreSQL and carries it to the end, printing the
state it found and the final state. CreatOK settings come from CREATOK_* variables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from langgraph.types import Command

from creatok_graph.checkpointing import aopen_persistence, open_persistence
from creatok_graph.graph import build_graph


def say(kind: str, **data: Any) -> None:
    print(json.dumps({"kind": kind, **data}, default=str), flush=True)


def start(url: str, thread: str, prompt: str) -> int:
    config: Any = {"configurable": {"thread_id": thread}}
    with open_persistence(url) as db:
        graph = build_graph(db.checkpointer, db.store)
        first = graph.invoke({"prompt": prompt, "n": 1}, config)
        say("interrupt", value=first["__interrupt__"][0].value["action_requests"][0]["args"])
        for event in graph.stream(Command(resume="yes"), config, stream_mode="custom",
                                  durability="sync"):
            say("custom", event=event)
    say("finished")  # only reached if nobody kills us
    return 0


def _final(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("status", "task_id", "images", "run_id", "error", "artifacts_dir")
    return {k: values.get(k) for k in keys}


def resume(url: str, thread: str) -> int:
    config: Any = {"configurable": {"thread_id": thread}}
    with open_persistence(url) as db:
        graph = build_graph(db.checkpointer, db.store)
        found = graph.get_state(config)
        say("found", next=list(found.next), task_id=found.values.get("task_id"))
        graph.invoke(None, config)
        say("final", **_final(graph.get_state(config).values))
    return 0


async def aresume(url: str, thread: str) -> int:
    config: Any = {"configurable": {"thread_id": thread}}
    async with aopen_persistence(url) as db:
        graph = build_graph(db.checkpointer, db.store)
        found = await graph.aget_state(config)
        say("found", next=list(found.next), task_id=found.values.get("task_id"))
        await graph.ainvoke(None, config)
        say("final", **_final((await graph.aget_state(config)).values))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["start", "resume"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--prompt", default="")
    parser.add_argument("--async", dest="use_async", action="store_true")
    args = parser.parse_args(argv)
    if args.action == "start":
        return start(args.url, args.thread, args.prompt)
    if args.use_async:
        return asyncio.run(aresume(args.url, args.thread))
    return resume(args.url, args.thread)


if __name__ == "__main__":
    sys.exit(main())
