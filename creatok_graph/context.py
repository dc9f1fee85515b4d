"""Run-time settings of the graph: LangGraph's ``context_schema``.

Each field falls back to an environment variable, so the same graph works in
a script, under ``langgraph dev`` and in a deployment. The API key is resolved
at call time and never copied into graph state, checkpoints or artifacts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from pydantic.json_schema import SkipJsonSchema

from .budget import BudgetLimits
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

    budget: SkipJsonSchema[BudgetLimits | None] = field(default=None)
    """The operator's spend limits, as a ``BudgetLimits`` object (budget.py); unset:
    CREATOK_DAILY_CREDITS, CREATOK_MAX_CREDITS_PER_RUN, CREATOK_BUDGET_OVERRIDE. Left out of
    the served context schema, and a dict (what a served client can send) is ignored."""

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
