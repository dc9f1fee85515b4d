"""Start-up: the capabilities request leaves while LangGraph is still being imported.

``creatok-image`` needs ~1 s to import LangGraph and LangChain before the graph can
run, and the graph's first call is always the capabilities request. Sending that
request from a thread at launch overlaps the two; its answer is handed to the graph's
capabilities cache, so it is not fetched twice. A failed prefetch hands over nothing:
the graph then fetches (and reports errors) as it always does.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .capabilities import ImageCapabilities
    from .connections import GraphHttp
    from .context import CreatokContext


HEAD_START = 0.3
"""Seconds the caller waits at most for the request to leave before it goes on loading:
imports in the main thread would hold the GIL the request's thread needs (measured:
the request left ~0.15 s later when both ran at once)."""


def prefetch_capabilities(base_url: str | None, api_key: str | None) -> Future[ImageCapabilities]:
    """Start ``GET capabilities`` in a daemon thread, return once it is on its way (or after
    ``HEAD_START``); the answer arrives in the future."""
    future: Future[ImageCapabilities] = Future()
    sending = threading.Event()

    def fetch() -> None:
        try:
            from ._flow import run_sync
            from .client import CreatokAPI, new_sync_http

            api = CreatokAPI(api_key=api_key, base_url=base_url)
            with new_sync_http() as http:
                http.event_hooks["request"] = [lambda request: sending.set()]
                future.set_result(run_sync(api.get_capabilities(), http))
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            sending.set()

    threading.Thread(target=fetch, name="capabilities-prefetch", daemon=True).start()
    sending.wait(HEAD_START)
    return future


def seed_capabilities(
    prefetched: Future[ImageCapabilities], ctx: CreatokContext, http: GraphHttp
) -> None:
    """Wait for the prefetch and put its answer where the graph's ``load_capabilities``
    looks first: ``http.capabilities``, under the key the graph's runs use."""
    from .client import CreatokAPI

    if prefetched.exception() is None:
        api_key = ctx.resolved_api_key()
        api = CreatokAPI(api_key=api_key, base_url=ctx.base_url)
        http.capabilities.seed(api, api_key, prefetched.result())
