"""The LangGraph behaviour this package relies on beyond its documented surface, in one place.

``tests/unit_tests/test_upstream.py`` checks each of these against the installed
release and fails loudly, naming the assumption, when an upgrade changes it.

Caller input keys (``prompt``, ``model``... see ``state.InputState``) are
:class:`~langgraph.channels.EphemeralValue` channels. LangGraph writes an
invocation's input in the ``__start__`` step and, at the end of that step, clears
every ephemeral channel the input did not write. So the first node after ``START``
sees exactly what *this* invocation's caller sent, whatever earlier runs of the
thread left in the same keys (``persist`` writes the resolved values there as output).
That is what lets the same explicit settings twice in a thread be honoured, with no
hand-kept list of keys to reset.

The generation record (``state.Generation``) is a :class:`~langgraph.channels.DeltaChannel`
(beta in LangGraph 1.2): checkpoints hold no copy of it, only the steps' writes do, and
each step writes only what it changed (``record_patches``); a new request replaces the
whole record with :class:`~langgraph.types.Overwrite`. A long prompt is therefore
stored a small, constant number of times, however many steps a run takes.

A task can read the checkpoint its step started from and what the other tasks of the step
already saved to it (:func:`saved_step`): the checkpointer LangGraph runs with is in the
task's config under ``__pregel_checkpointer``, and that checkpoint's id is
``checkpoint_map[<graph's namespace>]``. A step resumed after a crash re-runs only the tasks
whose writes are not among those. (The sync driver saves a finished task's writes in the
same first-come thread pool as the tasks: behind every task not started yet.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.channels import EphemeralValue
from langgraph.channels.delta import DeltaChannel
from langgraph.config import get_config
from langgraph.types import Overwrite

from ._flow import Dual, Flow

CHECKPOINTER_KEY = "__pregel_checkpointer"
"""Where LangGraph puts the run's checkpointer in a task's ``configurable``."""


def caller_input(typ: Any = object) -> EphemeralValue[Any]:
    """A channel that holds what this invocation's caller sent, and nothing older."""
    return EphemeralValue(typ, guard=False)


def merge_patches(record: dict[str, Any], patches: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Apply the steps' patches in order (batching-invariant, as ``DeltaChannel`` needs)."""
    merged = dict(record or {})
    for patch in patches:
        merged.update(patch)
    return merged


def merge_record(record: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """A reducer: ``patch`` updates ``record`` key by key (``Overwrite`` replaces it whole)."""
    return {**(record or {}), **patch}


def patched_record() -> DeltaChannel[Any]:
    """A record stored as the patches that built it (see the module docstring)."""
    return DeltaChannel(merge_patches, dict)


def replace_record(record: dict[str, Any]) -> Overwrite:
    """The write that replaces a ``patched_record`` whole."""
    return Overwrite(record)


def saved_step() -> Flow[tuple[dict[str, Any], list[tuple[str, Any]]] | None]:
    """The checkpoint the running step started from, and what the step's tasks have already
    saved to it as (channel, value); None outside a task or without a checkpointer."""
    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:
        return None
    saver = configurable.get(CHECKPOINTER_KEY)
    namespace = str(configurable.get("checkpoint_ns") or "").rpartition("|")[0]
    checkpoint_id = (configurable.get("checkpoint_map") or {}).get(namespace)
    thread = configurable.get("thread_id")
    if saver is None or checkpoint_id is None or thread is None:
        return None
    config = {"configurable": {"thread_id": thread, "checkpoint_ns": namespace,
                               "checkpoint_id": checkpoint_id}}
    saved = yield Dual(saver.get_tuple, saver.aget_tuple, (config,))
    if saved is None:
        return None
    return dict(saved.checkpoint), [(name, value) for _, name, value in
                                    (saved.pending_writes or [])]


def step_writes(channel: str) -> Flow[list[Any]]:
    """What the tasks of the running step have already saved to ``channel``."""
    saved = yield from saved_step()
    return [value for name, value in (saved[1] if saved else []) if name == channel]
