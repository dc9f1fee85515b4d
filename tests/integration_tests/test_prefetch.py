"""The CLI's start-up prefetch: capabilities asked for once, while LangGraph loads."""

from __future__ import annotations

from collections.abc import Callable

from creatok_graph.client import CreatokAPI
from creatok_graph.connections import GraphHttp
from creatok_graph.context import CreatokContext
from creatok_graph.emulator import Emulator
from creatok_graph.prefetch import prefetch_capabilities, seed_capabilities


def _cached(http: GraphHttp, ctx: CreatokContext) -> tuple[bool, object]:
    api = CreatokAPI(api_key=ctx.resolved_api_key(), base_url=ctx.base_url)
    key = http.capabilities.key(api, ctx.resolved_api_key())
    return http.capabilities._cache._fresh(key)


def test_the_prefetched_answer_is_the_one_the_graph_uses(emulator: Emulator) -> None:
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url)
    http = GraphHttp()
    seed_capabilities(prefetch_capabilities(ctx.base_url, ctx.resolved_api_key()), ctx, http)
    fresh, caps = _cached(http, ctx)
    assert fresh and caps.default_model == emulator.capabilities["data"]["capabilities"][  # type: ignore[attr-defined]
        "image"]["default_model"]
    assert emulator.stats()["capabilities"] == 1


def test_a_failed_prefetch_hands_over_nothing(emulator_factory: Callable[..., Emulator]) -> None:
    emulator = emulator_factory(scenarios=["unauthorized"])
    ctx = CreatokContext(api_key=emulator.api_key, base_url=emulator.base_url)
    http = GraphHttp()
    seed_capabilities(prefetch_capabilities(ctx.base_url, ctx.resolved_api_key()), ctx, http)
    fresh, _ = _cached(http, ctx)
    assert not fresh  # the graph fetches itself and reports the refusal as it always does
