"""Waiting for the task and keeping its result: ``poll`` then ``persist``.

``poll`` waits in one step (bounded checkpoints however long the task runs) with the
one wait loop, ``polling.wait_for_task``, guided by how long tasks of the same kind took
before (``timings``). ``persist`` ends every request, whichever
node ended it: after a success it keeps copies of the images (``downloads``), then it
writes ``result.json``/``result.md``, tells the person, and fills the output keys from
the generation record.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.types import Command

from . import artifacts, budget, chat_images, downloads, timings
from ._flow import Blocking, Flow
from .client import TaskStatus
from .errors import CreatokError, InvalidRequestError, TaskTimeoutError
from .intake import continues_polling, recheck
from .ledger import open_ledger
from .messages import text
from .node_env import NodeEnv, emit, end, generation, lang_of, step
from .outcome import Outcome, result_record
from .replies import final_message
from .state import State
from .status import FINISHED, task_status

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
"""A progress event at least this often while the status does not change."""
OUTDATED_AFTER_FAILURES = 2
"""Failed submits of one request after which we suggest updating the integration."""


def poll(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    gen = generation(state)
    first = not gen  # the thread's first request: nothing to replace
    # Straight from submit (or re-run after a crash there): keep waiting on the same clock.
    # Otherwise this is a recovery check (see ``intake.route_start``): once, unless asked
    # to wait, with a fresh clock.
    continuing = continues_polling(state)
    new = not continuing
    if new:
        gen = yield from recheck(state, env)
        env = env.fixed_by(gen)
        if gen.get("status"):  # refused: its run id
            return step(gen, "persist", new=True, first=first)
    task_id = str(gen.get("task_id"))
    wait = gen.get("wait")
    if wait is None:
        wait = continuing
    api = env.api
    timeout = float(env.context.timeout)
    started = time.monotonic()
    if continuing and gen.get("submitted_at"):
        started -= max(0.0, time.time() - float(gen["submitted_at"]))  # type: ignore[arg-type]
    seen: dict[str, Any] = {"status": None, "beat": 0.0}

    def report(status: TaskStatus, elapsed: float) -> None:
        if status.status != seen["status"] or elapsed - seen["beat"] >= HEARTBEAT_SECONDS:
            seen["status"], seen["beat"] = status.status, elapsed
            emit({"type": "progress", "task_id": task_id, "status": status.status,
                  "elapsed": round(elapsed, 2), "progress": status.progress})

    try:
        if not wait:
            result: TaskStatus = yield from api.get_status(task_id)
            report(result, time.monotonic() - started)
        else:  # timed from the submit when continuing; a recovery check looks at once
            interval = env.context.poll_interval
            result = yield from timings.wait_and_learn(
                api, task_id, env.store, gen.get("request") or {}, timeout=timeout,
                on_update=report, started_at=started if continuing else None,
                interval=float(interval) if interval else None,
            )
    except TaskTimeoutError as exc:
        return end(gen, "timeout", {"kind": "timeout", "message": exc.message,
                                    "params": {"seconds": max(1, round(timeout))}},
                   new=new, first=first, raw=exc.last_status.raw if exc.last_status else None)
    except CreatokError as exc:
        return end(gen, exc, new=new, first=first)
    error = {"kind": "failed", "message": result.error_message} if result.status == "failed" \
        else None
    return step(gen, "persist", new=new, first=first, status=task_status(result.status),
                images=result.images, raw=result.raw, error=error)


def persist(state: State, env: NodeEnv) -> Flow[dict[str, Any]]:
    """Write result.json and result.md, tell the person, fill the output keys."""
    gen = generation(state)
    lang = lang_of(state)
    status = gen.get("status") or "error"
    record = result_record(gen, status=status)
    hint = int(state.get("submit_failures") or 0) >= OUTDATED_AFTER_FAILURES and (
        status not in FINISHED
    )
    message = final_message(lang, Outcome.of(record), outdated_hint=hint)
    spend = None
    try:  # settle the run's reservation from the ledger; under a limit, the figures to show
        stopped = status == "cancelled" and (gen.get("error") or {}).get("kind") == (
            "unknown_outcome")
        task_id = gen.get("task_id")
        ledger = None if task_id else (
            yield from open_ledger(env.store, gen.get("ledger_root"), env.artifacts_root))
        spend = yield from budget.settle(env.store, gen.get("budget"), gen["run_id"], ledger,
                                         stopped=stopped, task_id=task_id)
    except Exception:
        logger.warning("spend guard: could not settle the reservation", exc_info=True)
    folder = None
    keep_earlier = gen.get("submitted_before") and not gen.get("task_id")
    if not (gen.get("no_artifacts") or keep_earlier):
        if status == "succeeded":  # copies of the images and a gallery (downloads.py)
            record = yield from downloads.keep(env.artifacts_root, gen["run_id"], record,
                                               lang=lang, fetch=bool(env.context.download),
                                               pools=env.http.images())
            message = downloads.with_notes(message, lang, record)
        try:
            folder = yield Blocking(
                artifacts.write_result,
                (env.artifacts_root, gen["run_id"], record,
                 artifacts.result_markdown(record, message)),
            )
        except (OSError, InvalidRequestError) as exc:
            message += "\n" + text(lang, "details", details=str(exc))
    emit({"type": "done", "status": status, "task_id": gen.get("task_id")})
    outputs = {k: record[k] for k in ("run_id", "status", "task_id", "images", "error",
                                      "estimated_credits", "model", "resolution", "n",
                                      "aspect_ratio")}
    return {
        # The record keeps what a later request or recovery check of the thread needs;
        # images and the raw answer live in the output keys and result.json.
        "generation": {"phase": "done", "status": status, "images": [], "raw": None},
        "messages": [AIMessage(content=_with_pictures(message, record["images"]))],
        **outputs,
        "request": gen.get("request"),
        "artifacts_dir": folder,
        "language": lang,
        **({"budget": spend} if spend is not None else {}),  # output bytes: only under a limit
    }


def _with_pictures(message: str, images: list[dict[str, Any]]) -> str | list[Any]:
    """The text, then each image as a picture (URL verbatim) for chat UIs and Studio."""
    return chat_images.result_content(message, images) if images else message
