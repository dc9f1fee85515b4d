"""The CLI's start-up prefetch: capabilities asked for once, while LangGraph loads."""

from __future__ import annotations

from collections.abc import Callable

from creatok_graph.context import CreatokContext
from creatok_graph.emulator import Emulator
from creatok_graph.nodes import CAPABILITIES_CACHE
from creatok_graph.prefetch import prefetch_capabilities, seed_capabilities


def test_the_prefetched_answer_is_the_one_the_graph_uses(emulator: Emulator) -> None:
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url)
    prefetched = prefetch_capabilities(ctx.base_url, ctx.resolved_api_key())
    seed_capabilities(prefetched, ctx)
    key = (ctx.base_url, hash(ctx.resolved_api_key()))
    fresh, caps = CAPABILITIES_CACHE._fresh(key)
    assert fresh and caps.default_model == emulator.capabilities["data"]["capabilities"][
        "image"]["default_model"]
    assert emulator.stats()["capabilities"] == 1


def test_a_failed_prefetch_hands_over_nothing(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory(scenarios=["unauthorized"])
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url)
    seed_capabilities(prefetch_capabilities(ctx.base_url, ctx.resolved_api_key()), ctx)
    fresh, _ = CAPABILITIES_CACHE._fresh((ctx.base_url, hash(ctx.resolved_api_key())))
    assert not fresh  # the graph fetches itself and reports the refusal as it always does
