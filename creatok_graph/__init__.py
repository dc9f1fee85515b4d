"""creatok-graph: CreatOK's paid image generation as a LangGraph graph with human approval."""

from .capabilities import ImageCapabilities, ImageModel, ResolvedRequest, resolve_request
from .client import AsyncCreatok, Creatok, TaskStatus
from .context import CreatokContext
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ContractError,
    CreatokError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskTimeoutError,
)
from .graph import build_graph

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncCreatok",
    "AuthenticationError",
    "ContractError",
    "Creatok",
    "CreatokContext",
    "CreatokError",
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
    "build_graph",
    "resolve_request",
]
