"""The CLI's start-up prefetch: capabilities asked for once, while LangGraph loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

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


HEAVY = ("langgraph", "langchain_core", "pydantic")

_PROBE = """
import json, sys
import creatok_graph.prefetch as prefetch
from creatok_graph import cli

def probe(base_url, api_key):
    loaded = [m for m in {heavy!r} if m in sys.modules]
    print(json.dumps({{"loaded": loaded, "base_url": base_url}}))
    sys.exit(0)

prefetch.prefetch_capabilities = probe
cli.main(["--prompt", "a red fox", "--yes", "--artifacts-dir", sys.argv[1]])
"""


def test_the_cli_asks_for_capabilities_before_loading_langgraph(tmp_path: Path) -> None:
    """Start-up: the request leaves before LangGraph, LangChain or pydantic is imported
    (together ~1 s of a command's start on a busy machine)."""
    env = {**os.environ, "CREATOK_API_KEY": "sk-test", "CREATOK_BASE_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe == {"loaded": [], "base_url": "http://127.0.0.1:9"}
