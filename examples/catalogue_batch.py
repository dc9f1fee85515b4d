"""A product catalogue in one batch: one approval for every image, then all at once.

    python examples/catalogue_batch.py --sandbox --yes
    python examples/catalogue_batch.py --sandbox --skip 2     # reject the 2nd request

The graph takes ``requests`` (one object per generation, the keys of a single run),
checks and prices all of them against one capabilities answer, and asks once: the
interrupt has one ``action_request`` per generation and the total in its description.
The answer carries one decision per request (``approve``/``edit``/``reject``), or a
plain yes/no for all. The approved ones run concurrently (``batch_concurrency`` in
flight); ``results`` has one entry per request, in order, and progress arrives on the
``custom`` stream as ``{"type": "batch_item", "done", "total"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.types import Command

from creatok_graph.checkpointing import aopen_persistence
from creatok_graph.context import CreatokContext
from creatok_graph.graph import build_graph

CATALOGUE = [
    {"prompt": "A leather weekend bag on a white background, studio product photo"},
    {"prompt": "A ceramic coffee mug with a blue glaze, studio product photo",
     "aspect_ratio": "1:1"},
    {"prompt": "A pair of running shoes on a concrete floor, studio product photo", "n": 2},
]


@asynccontextmanager
async def creatok_settings(sandbox: bool, artifacts_dir: str) -> AsyncIterator[CreatokContext]:
    if not sandbox:
        yield CreatokContext(artifacts_dir=artifacts_dir)
        return
    from creatok_graph.emulator import Emulator

    with Emulator(task_seconds=1.0) as emu:
        yield CreatokContext(base_url=emu.base_url, api_key=emu.api_key,
                             artifacts_dir=artifacts_dir)


def decide(approval: dict[str, Any], args: argparse.Namespace) -> Any:
    """One decision per request (here: reject ``--skip``), or the person's yes/no."""
    print(approval["description"])
    if args.skip:
        return {"decisions": [{"type": "reject"} if i + 1 in args.skip else {"type": "approve"}
                              for i in range(len(approval["action_requests"]))]}
    return "yes" if args.yes else input("> ").strip()


async def main_async(args: argparse.Namespace) -> int:
    artifacts = os.environ.get("CREATOK_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="catalogue-")
    config: Any = {"configurable": {"thread_id": f"catalogue-{uuid.uuid4().hex[:8]}"}}
    url = f"sqlite:///{os.path.join(artifacts, 'catalogue.sqlite')}"
    async with creatok_settings(args.sandbox, artifacts) as context, \
            aopen_persistence(url) as db:
        graph = build_graph(db.checkpointer, db.store)
        first = await graph.ainvoke({"requests": CATALOGUE}, config, context=context)
        if not first.get("__interrupt__"):  # invalid requests: nothing asked, nothing charged
            print(first["messages"][-1].content)
            return 2
        answer = decide(first["__interrupt__"][0].value, args)
        final: dict[str, Any] = {}
        async for mode, chunk in graph.astream(Command(resume=answer), config, context=context,
                                               stream_mode=["custom", "values"]):
            if mode == "custom" and chunk.get("type") == "batch_item":
                print(f"  {chunk['done']}/{chunk['total']} done")
            elif mode == "values":
                final = chunk
    for entry in final.get("results") or []:
        print(f"{entry['index'] + 1}. {entry['status']} ({entry['estimated_credits']} credits)")
        for image in entry["images"]:
            print(f"   {image['url']}")
    print(f"status: {final.get('status')}, credits: {final.get('estimated_credits')}")
    return 0 if final.get("status") == "succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", action="store_true", help="use the built-in emulator")
    parser.add_argument("--yes", action="store_true", help="approve every request")
    parser.add_argument("--skip", type=int, action="append", default=[], metavar="N",
                        help="reject request N (1-based), approve the others")
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
