"""Pick up an earlier generation by its task id, without restating the prompt.

    python examples/recover_task.py --task-id task_... [--wait]
    python examples/recover_task.py --sandbox --yes

Recovery needs no approval (nothing new is paid): the graph goes straight to the
status check. Without ``--wait`` it checks once and reports queued/running as such;
with ``--wait`` it keeps polling until the task finishes. ``--sandbox`` starts the
built-in emulator and, with no ``--task-id``, first creates a task there (after a
yes, as always) so there is something to recover.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from creatok_graph.capabilities import resolve_request
from creatok_graph.checkpointing import open_persistence
from creatok_graph.client import Creatok
from creatok_graph.context import CreatokContext
from creatok_graph.graph import build_graph

DEMO_PROMPT = "A paper boat on a rainy street, macro photo"


@contextmanager
def creatok_settings(sandbox: bool, artifacts_dir: str) -> Iterator[CreatokContext]:
    if not sandbox:
        yield CreatokContext(artifacts_dir=artifacts_dir)
        return
    from creatok_graph.emulator import Emulator

    with Emulator(task_seconds=1.0) as emu:
        yield CreatokContext(base_url=emu.base_url, api_key=emu.api_key,
                             artifacts_dir=artifacts_dir)


def submit_demo_task(context: CreatokContext, auto_yes: bool) -> str | None:
    """Sandbox only: make a task to recover (a paid call anywhere else, so ask first)."""
    with Creatok(api_key=context.resolved_api_key(), base_url=context.base_url) as client:
        request = resolve_request(client.get_capabilities(), prompt=DEMO_PROMPT, n=1)
        body = request.submit_body(None)
        print(f"No --task-id: submit a demo task first ({request.estimated_credits} credits)? "
              f"{body}")
        if not auto_yes and input("> ").strip().lower() not in ("y", "yes"):
            return None
        task_id = client.submit(body).task_id
    print(f"submitted: {task_id} (this process now forgets everything but the id)")
    return task_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-id")
    parser.add_argument("--wait", action="store_true", help="poll until the task finishes")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in emulator")
    parser.add_argument("--yes", action="store_true", help="approve the demo task")
    args = parser.parse_args(argv)
    if not args.task_id and not args.sandbox:
        parser.error("--task-id is required (or --sandbox to create a demo task)")

    artifacts = os.environ.get("CREATOK_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="recover-")
    with creatok_settings(args.sandbox, artifacts) as context:
        task_id = args.task_id or submit_demo_task(context, args.yes)
        if not task_id:
            return 2
        wait = args.wait or not args.task_id  # the demo waits for its own task
        url = f"sqlite:///{os.path.join(artifacts, 'recover.sqlite')}"
        with open_persistence(url) as db:
            graph = build_graph(db.checkpointer, db.store)
            config: Any = {"configurable": {"thread_id": f"recover-{uuid.uuid4().hex[:8]}"}}
            state = graph.invoke({"task_id": task_id, "wait": wait}, config, context=context)

    print(state["messages"][-1].text)
    print(f"status: {state.get('status')}  task_id: {state.get('task_id')}")
    print(f"artifacts: {state.get('artifacts_dir')}")
    return {"succeeded": 0, "queued": 3, "running": 3}.get(str(state.get("status")), 1)


if __name__ == "__main__":
    sys.exit(main())
