"""A Python caller of the graph with a SQLite checkpointer and *no store*, as in the README.

    python _nostore_worker.py start  DB RUN_ID PROMPT   # ask, approve, submit (and be killed)
    python _nostore_worker.py resume DB RUN_ID ANSWER   # continue the thread; answer a question

The artifacts folder is the relative default, so where the submission ledger lands depends on
the working directory: the test starts the two commands in different directories.
``CREATOK_BASE_URL`` and ``CREATOK_API_KEY`` come from the environment. Each line printed
is one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from creatok_graph.graph import build_graph


def say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()


def main(action: str, db: str, run_id: str, arg: str) -> int:
    conn = sqlite3.connect(db, check_same_thread=False)
    graph = build_graph(SqliteSaver(conn))  # a checkpointer, no store
    config: Any = {"configurable": {"thread_id": run_id}}
    if action == "start":
        first = graph.invoke({"prompt": arg, "run_id": run_id}, config)
        say(asked=first["__interrupt__"][0].value.get("type", "approval"))
        done = graph.invoke(Command(resume={"decisions": [{"type": "approve"}]}), config)
        say(status=done.get("status"))
        return 0
    state = graph.get_state(config)  # what a crashed thread looks like from Python
    say(next=list(state.next), pending=[t.name for t in state.tasks])
    result = graph.invoke(None, config)
    while "__interrupt__" in result:
        value = result["__interrupt__"][0].value
        say(question=value.get("type"), text=value.get("question"))
        result = graph.invoke(Command(resume=arg), config)
    say(status=result.get("status"), task_id=result.get("task_id"), error=result.get("error"))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
