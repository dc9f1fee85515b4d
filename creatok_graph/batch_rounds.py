"""A batch run again under its run id: only what did not succeed is asked about and sent.

The batch's own ``result.json`` (``<root>/<run_id>/outputs/result.json``, written by
``batch_persist``) says how each request ended last time. Run again with the same
``requests``, each request that matches its earlier entry is planned from it:

=====================================  ======================================================
how it ended                           this time
=====================================  ======================================================
succeeded                              kept as it is: not asked, not sent
declined (a "no" for it)               kept declined (a batch that was declined as a whole is
                                       asked again as a whole: nothing of it was sent)
its task failed                        asked again, priced; sent under a *new* ledger key
                                       ``<run_id>-<index>.2`` (``.3``...): the failed task's
                                       key stays bound to that task
a task, no final answer (timeout...)   followed again under its key: nothing is sent or paid
anything else (refused, upload error,  asked again, priced, under the same key: the ledger
unknown outcome...)                    decides at the paid call (a refusal is sent again, an
                                       unanswered request is asked about first)
=====================================  ======================================================

A new key is only ever made for a task CreatOK said failed, and it is fixed in the
checkpoint before anything is sent: a crash resumes with the same key, so each key
still means exactly one charge at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import artifacts
from .status import FINISHED

MATCHED = ("prompt", "model", "resolution", "n", "aspect_ratio")
"""An earlier entry is this request's when these are the same (the request as resolved)."""
KEPT = ("status", "task_id", "images", "error")
"""How a request ended: what an item's result keeps (no raw answers: checkpoint bytes)."""


def item_run_id(run_id: str, index: int) -> str:
    """The ledger key and artifacts folder of one request of a batch (its first attempt)."""
    return f"{run_id}-{index}"


def next_key(run_id: str, index: int, key: str | None) -> str:
    """The key of the next attempt after ``key`` failed: ``<run_id>-<index>.2``, ``.3``..."""
    first = item_run_id(run_id, index)
    attempt = 1
    if key and key.startswith(first + ".") and key[len(first) + 1:].isdigit():
        attempt = int(key[len(first) + 1:])
    return f"{first}.{attempt + 1}"


def earlier_results(root: str, run_id: str) -> dict[int, dict[str, Any]]:
    """How each request of the batch ended last time, by index ({} when there is no earlier
    batch, or it sent nothing: declined or refused as a whole)."""
    try:
        record = artifacts.read_json(artifacts.outputs_dir(root, run_id) / "result.json")
    except Exception:  # an unreadable record (e.g. a bad run id) is no record
        return {}
    if not isinstance(record, dict) or not isinstance(record.get("results"), list):
        return {}
    if record.get("status") == "invalid_request":  # refused as a whole: nothing was asked
        return {}
    found: dict[int, dict[str, Any]] = {}
    for entry in record["results"]:
        if isinstance(entry, dict) and isinstance(entry.get("index"), int):
            found[entry["index"]] = entry
    if all(declined(entry) for entry in found.values()):  # a "no" to all: asked anew
        return {}
    return found


def declined(entry: Mapping[str, Any]) -> bool:
    """The person said no to this request (a "stop" after an unknown outcome is not a no)."""
    return entry.get("status") == "cancelled" and (
        (entry.get("error") or {}).get("kind") != "unknown_outcome")


def plan(run_id: str, index: int, request: Mapping[str, Any],
         earlier: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(ledger key, what the item record adds) for a request given how it ended before.

    The additions: ``done`` (an outcome kept as it is), ``follow`` (its task is followed,
    nothing is asked), ``key`` (a ledger key other than the first), ``earlier`` (asked
    again: how it ended, kept if the answer is no). Nothing for a request without a
    matching earlier entry."""
    first = item_run_id(run_id, index)
    if not earlier or any(earlier.get(k) != request.get(k) for k in MATCHED):
        return first, {}
    key = str(earlier.get("run_id") or first)
    status = earlier.get("status")
    task_id = earlier.get("task_id")
    added: dict[str, Any] = {} if key == first else {"key": key}
    if status == "succeeded" or declined(earlier):
        return key, {**added, "done": {k: earlier.get(k) for k in KEPT}}
    if task_id and status not in FINISHED:
        return key, {**added, "follow": True}
    # how it ended, which it stays if the person says no this time
    retry = {"earlier": {**{k: earlier.get(k) for k in KEPT}, "key": key}}
    if status == "failed" and task_id:
        key = next_key(run_id, index, key)
        return key, {"key": key, **retry}
    return key, {**added, **retry}
