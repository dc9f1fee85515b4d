"""creatok-graph: CreatOK's paid image generation as a LangGraph graph with human approval.

Names are imported lazily (PEP 562) so light entry points such as
``python -m creatok_graph.emulator`` do not pay for importing LangGraph.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "ImageCapabilities": "capabilities",
    "ImageModel": "capabilities",
    "ResolvedRequest": "capabilities",
    "resolve_request": "capabilities",
    "AsyncCreatok": "client",
    "Creatok": "client",
    "TaskStatus": "client",
    "ClientContext": "context",
    "CreatokContext": "context",
    "GraphHttp": "connections",
    "build_graph": "graph",
    "APIConnectionError": "errors",
    "APIError": "errors",
    "APIResponseError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AuthenticationError": "errors",
    "ConfigurationError": "errors",
    "ContractError": "errors",
    "CreatokError": "errors",
    "InvalidRequestError": "errors",
    "InvalidResponseError": "errors",
    "NotFoundError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "TaskFailedError": "errors",
    "TaskTimeoutError": "errors",
    "UploadError": "errors",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncCreatok",
    "AuthenticationError",
    "ClientContext",
    "ConfigurationError",
    "ContractError",
    "Creatok",
    "CreatokContext",
    "CreatokError",
    "GraphHttp",
    "ImageCapabilities",
    "ImageModel",
    "InvalidRequestError",
    "InvalidResponseError",
    "NotFoundError",
    "RateLimitError",
    "ResolvedRequest",
    "ServerError",
    "TaskFailedError",
    "TaskStatus",
    "TaskTimeoutError",
    "UploadError",
    "build_graph",
    "resolve_request",
]

if TYPE_CHECKING:
    from .capabilities import ImageCapabilities, ImageModel, ResolvedRequest, resolve_request
    from .client import AsyncCreatok, Creatok, TaskStatus
    from .connections import GraphHttp
    from .context import ClientContext, CreatokContext
    from .errors import (
        APIConnectionError,
        APIError,
        APIResponseError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        ConfigurationError,
        ContractError,
        CreatokError,
        InvalidRequestError,
        InvalidResponseError,
        NotFoundError,
        RateLimitError,
        ServerError,
        TaskFailedError,
        TaskTimeoutError,
        UploadError,
    )
    from .graph import build_graph


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'creatok_graph' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
