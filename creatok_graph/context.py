"""Run-time settings of the graph: LangGraph's ``context_schema``.

Each field falls back to an environment variable, so the same graph works in
a script, under ``langgraph dev`` and in a deployment. The API key is resolved
at call time and never copied into graph state, checkpoints or artifacts.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .client import DEFAULT_BASE_URL, resolve_api_key, resolve_base_url

DEFAULT_ARTIFACTS_DIR = os.path.join("generate-image", ".artifacts")
DEFAULT_WAIT_SECONDS = 600.0
"""How long a run waits for its task (``timeout``); not a request timeout (``client``)."""


def _env_float(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        return default


RUN_SETTING_KEYS = ("base_url", "artifacts_dir", "timeout", "poll_interval", "download")
"""Fixed for a request at its start: a resume without the start's context cannot switch
the API (priced on one, paid on another), the artifacts folder, the waiting limits or
whether copies of the images are kept."""


@dataclass(kw_only=True)
class CreatokContext:
    """Per-run configuration (``graph.invoke(..., context=CreatokContext(...))``)."""

    api_key: str | None = field(
        default=None,
        repr=False,
        metadata={"description": "CreatOK API key; falls back to CREATOK_API_KEY."},
    )
    base_url: str = field(
        default="",
        metadata={"description": f"API base URL; CREATOK_BASE_URL or {DEFAULT_BASE_URL}."},
    )
    artifacts_dir: str = field(
        default="",
        metadata={
            "description": "Where runs write outputs/result.json and result.md; "
            f"CREATOK_ARTIFACTS_DIR or ./{DEFAULT_ARTIFACTS_DIR}."
        },
    )
    poll_interval: float | None = field(
        default=None,
        metadata={
            "description": "Fixed seconds between status checks; unset for the adaptive "
            "schedule (fast at first, then backing off). CREATOK_POLL_INTERVAL."
        },
    )
    timeout: float = field(
        default=0.0,
        metadata={
            "description": "Seconds to wait for a task before reporting it still running; "
            f"CREATOK_TIMEOUT or {int(DEFAULT_WAIT_SECONDS)}."
        },
    )

    download: bool | None = field(
        default=None,
        metadata={
            "description": "After a success, save a copy of each image (outputs/images/) "
            "beside result.json, for signed links expire; CREATOK_DOWNLOAD (0 turns it off) "
            "or on. Files only ever go under the artifacts folder."
        },
    )

    def __post_init__(self) -> None:
        if self.download is None:
            self.download = os.environ.get("CREATOK_DOWNLOAD", "").strip().lower() not in (
                "0", "false", "no", "off")
        self.base_url = resolve_base_url(self.base_url or None)
        self.artifacts_dir = (
            self.artifacts_dir or os.environ.get("CREATOK_ARTIFACTS_DIR") or DEFAULT_ARTIFACTS_DIR
        )
        if self.poll_interval is None:
            self.poll_interval = _env_float("CREATOK_POLL_INTERVAL", None)
        if not self.timeout:
            waited = _env_float("CREATOK_TIMEOUT", DEFAULT_WAIT_SECONDS)
            self.timeout = waited or DEFAULT_WAIT_SECONDS

    def run_settings(self) -> dict[str, Any]:
        """The non-secret settings a request keeps from its start (``Generation.settings``)."""
        return {name: getattr(self, name) for name in RUN_SETTING_KEYS}

    def with_run_settings(self, settings: Mapping[str, Any] | None) -> CreatokContext:
        """This context with a request's kept settings (the API key stays this one's)."""
        if not settings:
            return self
        fixed = copy.copy(self)  # not ``replace``: no environment fallback on top of them
        for name in RUN_SETTING_KEYS:
            if name in settings:
                setattr(fixed, name, settings[name])
        return fixed

    def resolved_api_key(self) -> str | None:
        """The key to use right now: this context's, else ``CREATOK_API_KEY``."""
        return resolve_api_key(self.api_key)

    @classmethod
    def coerce(cls, value: object) -> CreatokContext:
        """Accept a context object, a plain dict (as the API server sends) or nothing."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            names = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in value.items() if k in names})
        return cls()
