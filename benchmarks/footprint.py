"""What one finished run leaves in the SQLite checkpointer, and how often its prompt is in it.

Issue 12's figures: a finished run's checkpoints (target <= 16 KiB) and the copies of the
longest prompt the graph accepts (``MAX_PROMPT_CHARS``; issue 12 measured 100k before the
limit existed): a small constant, the same number as for a short prompt.
Runs in-process against an in-process emulator (instant tasks); the graph, the saver and
the store are the CLI's (``open_persistence``).
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from creatok_graph.inputs import MAX_PROMPT_CHARS

MARKER = "FOOTPRINT-MARKER"
LONG_PROMPT = (f"{MARKER} " + "a red fox in a snowy birch forest at dawn, " * 100)[
    :MAX_PROMPT_CHARS]
SHORT_PROMPT = f"a red fox in a snowy birch forest at dawn, watercolor {MARKER}"
TARGET_KIB = 16.0


def _one_run(prompt: str, root: Path) -> dict[str, Any]:
    from langgraph.types import Command

    from creatok_graph import CreatokContext, build_graph
    from creatok_graph.checkpointing import checkpoint_url, open_persistence
    from creatok_graph.emulator import Emulator

    with Emulator(task_seconds=0.0) as emu:
        ctx = CreatokContext(api_key=emu.api_key, base_url=emu.base_url, artifacts_dir=str(root))
        cfg: Any = {"configurable": {"thread_id": "run"}}
        with open_persistence(checkpoint_url(str(root))) as p:
            graph = build_graph(p.checkpointer, p.store)
            graph.invoke({"prompt": prompt}, cfg, context=ctx)
            done = graph.invoke(Command(resume="yes"), cfg, context=ctx)
    assert done["status"] == "succeeded", done
    (db,) = [f for f in root.rglob("*.sqlite")]
    conn = sqlite3.connect(db)
    try:
        count, checkpoints = conn.execute(
            "SELECT COUNT(*), SUM(LENGTH(checkpoint) + LENGTH(metadata)) FROM checkpoints"
        ).fetchone()
        blobs = [bytes(b or b"") for (b,) in conn.execute(
            "SELECT checkpoint FROM checkpoints UNION ALL SELECT value FROM writes")]
        writes = conn.execute("SELECT SUM(LENGTH(value)) FROM writes").fetchone()[0]
    finally:
        conn.close()
    return {
        "prompt_chars": len(prompt),
        "checkpoints": count,
        "checkpoint_kib": checkpoints / 1024,
        "writes_kib": writes / 1024,
        "prompt_copies": sum(b.count(MARKER.encode()) for b in blobs),
    }


def measure() -> list[dict[str, Any]]:
    """One run with a short prompt, one with the longest prompt accepted."""
    rows = []
    for prompt in (SHORT_PROMPT, LONG_PROMPT):
        with tempfile.TemporaryDirectory(prefix="creatok-footprint-") as tmp:
            rows.append(_one_run(prompt, Path(tmp)))
    return rows
