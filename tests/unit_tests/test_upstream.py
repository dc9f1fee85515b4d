"""The LangGraph behaviour ``creatok_graph._upstream`` relies on, checked against the installed
release: when one of these fails after an upgrade, the graph's request handling is wrong
until ``_upstream`` is adapted (and ``pyproject.toml``'s upper bounds say what was tested)."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from creatok_graph._flow import run_sync
from creatok_graph._upstream import (
    caller_input,
    merge_patches,
    patched_record,
    replace_record,
    step_writes,
)


class S(TypedDict, total=False):
    setting: Annotated[str | None, caller_input()]
    record: Annotated[dict[str, Any], patched_record()]
    seen: list[Any]


def _graph() -> Any:
    def first(state: S) -> dict[str, Any]:
        """Reads what the caller sent; patches (or replaces) the record."""
        record = state.get("record") or {}
        runs = int(record.get("runs") or 0) + 1
        write: Any = replace_record({"runs": runs, "fresh": True}) if state.get("setting") == (
            "reset") else {"runs": runs}
        return {"seen": [*state.get("seen", []), state.get("setting")], "record": write}

    def second(state: S) -> dict[str, Any]:
        """The last step, like ``persist``: its output lasts until the next invocation."""
        return {"record": {"second": True}, "setting": f"resolved:{state['seen'][-1]}"}

    builder = StateGraph(S)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    return builder.compile(checkpointer=InMemorySaver())


def test_the_first_step_sees_only_what_this_invocation_sent() -> None:
    graph = _graph()
    cfg = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"setting": "x"}, cfg)
    assert out["setting"] == "resolved:x", "the last step's ephemeral writes must be output"
    graph.invoke({}, cfg)  # an earlier output is not mistaken for this caller's input
    graph.invoke({"setting": "x"}, cfg)  # the same value sent again is seen again
    assert graph.get_state(cfg).values["seen"] == ["x", None, "x"], (
        "LangGraph no longer clears unwritten EphemeralValue channels at the end of the "
        "__start__ step: see creatok_graph._upstream.caller_input"
    )


def test_a_patched_record_is_merged_replaced_and_kept_out_of_checkpoints() -> None:
    graph = _graph()
    cfg = {"configurable": {"thread_id": "t"}}
    graph.invoke({"setting": "a"}, cfg)
    graph.invoke({"setting": "b"}, cfg)
    assert graph.get_state(cfg).values["record"] == {"runs": 2, "second": True}
    graph.invoke({"setting": "reset"}, cfg)
    assert graph.get_state(cfg).values["record"] == {"runs": 3, "fresh": True, "second": True}
    saver = graph.checkpointer
    stored = saver.get_tuple(cfg).checkpoint["channel_values"]
    assert "record" not in stored, (
        "DeltaChannel values are stored in every checkpoint again: see "
        "creatok_graph._upstream.patched_record"
    )


def test_patches_merge_in_batches_as_one_by_one() -> None:
    a, b, c = {"x": 1}, {"y": 2}, {"x": 3}
    assert merge_patches(merge_patches({}, [a, b]), [c]) == merge_patches({}, [a, b, c])


class Fan(TypedDict, total=False):
    out: Annotated[list[int], operator.add]
    seen: Annotated[list[Any], operator.add]


def test_a_resumed_step_sees_what_its_finished_tasks_saved() -> None:
    """``step_writes``: after a task of a fan-out fails, the resumed step re-runs it alone,
    and it can read what the others had saved (a batch's progress counts on from them)."""
    failed: list[int] = []

    def item(task: dict[str, int]) -> dict[str, Any]:
        if task["i"] == 3 and not failed:
            failed.append(3)
            raise RuntimeError("killed")
        return {"out": [task["i"]], "seen": [run_sync(step_writes("out"))]}

    builder = StateGraph(Fan)
    builder.add_node("start", lambda state: {})
    builder.add_node("item", item)
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", lambda s: [Send("item", {"i": i}) for i in range(4)])
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    with pytest.raises(RuntimeError, match="killed"):
        graph.invoke({}, config, durability="sync")
    done = graph.invoke(None, config)
    assert sorted(done["out"]) == [0, 1, 2, 3]
    assert sorted(map(tuple, done["seen"][-1])) == [(0,), (1,), (2,)]  # item 3's view
