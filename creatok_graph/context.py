"""Run-time settings of the graph, and the trust boundary between operator and client.

Two kinds of caller set them:

- The **operator** (trusted): the environment (``CREATOK_*`` variables), the CLI user, and
  a Python caller who builds a :class:`CreatokContext` object. They may set anything,
  including the API key, any base URL and any artifacts folder.
- A **client** of the served graph (untrusted): anything arriving as a plain dict context
  (that is how the LangGraph API server passes a run's ``context``). The graph's
  ``context_schema`` is :class:`ClientContext`, which has no key field, so Studio's form
  never asks for one; :meth:`ClientContext.to_context` decides what a client may choose.
  See "Security model" in ``docs/deployment.md``.

The API key is resolved at call time and never copied into graph state, checkpoints or
artifacts.
"""

from __future__ import annotations

import copy
import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic.json_schema import SkipJsonSchema

from . import artifacts
from .budget import BudgetLimits
from .client import DEFAULT_BASE_URL, resolve_api_key, resolve_base_url
from .errors import InvalidRequestError
from .references import ANY_LOCAL_FILE, LocalFiles

DEFAULT_ARTIFACTS_DIR = artifacts.DEFAULT_ARTIFACTS_DIR
DEFAULT_WAIT_SECONDS = 600.0
"""How long a run waits for its task (``timeout``); not a request timeout (``client``)."""
DEFAULT_BATCH_CONCURRENCY = 200
"""Generations of one batch submitted and followed at once; the rest wait for a free slot.
Followed tasks cost one status request every few seconds each, so 200 keep one process and
CreatOK's rate limits comfortable (``make bench``, scenario batch)."""

ALLOWED_BASE_URLS_ENV = "CREATOK_ALLOWED_BASE_URLS"
"""Comma-separated base URLs a client may choose besides the operator's CREATOK_BASE_URL.
The operator's key is sent to each of them."""

CLIENT_POLL_INTERVAL = (0.5, 60.0)
"""Bounds (seconds) a client's ``poll_interval`` is clamped to."""
CLIENT_TIMEOUT = (1.0, 3600.0)
"""Bounds (seconds) a client's ``timeout`` is clamped to."""


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
    """Per-run settings from the operator: ``graph.invoke(..., context=CreatokContext(...))``.

    Trusted: whoever builds this object chooses the key, the URL it goes to, where results
    are written and which local files may be sent as reference images.
    """

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
    batch_concurrency: int = field(
        default=0,
        metadata={
            "description": "Generations of one batch in flight at once; "
            f"CREATOK_BATCH_CONCURRENCY or {DEFAULT_BATCH_CONCURRENCY}."
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
    local_files: LocalFiles = field(
        default=ANY_LOCAL_FILE,
        metadata={"description": "Which local files may be sent as reference images."},
    )
    artifacts_within: str | None = field(default=None, repr=False)
    """For a client's sub-folder: the operator's folder it must stay inside (symlinks too)."""
    refusal: InvalidRequestError | None = field(default=None, repr=False, compare=False)
    """Why a client's settings were refused (the run then ends before any call)."""

    budget: SkipJsonSchema[BudgetLimits | None] = field(default=None)
    """The operator's spend limits, as a ``BudgetLimits`` object (budget.py); unset:
    CREATOK_DAILY_CREDITS, CREATOK_MAX_CREDITS_PER_RUN, CREATOK_BUDGET_OVERRIDE. Operator
    only: a client's context (``ClientContext``) has no such field, so it never sets limits."""

    def __post_init__(self) -> None:
        if self.download is None:
            self.download = os.environ.get("CREATOK_DOWNLOAD", "").strip().lower() not in (
                "0", "false", "no", "off")
        self.base_url = resolve_base_url(self.base_url or None)
        self.artifacts_dir = artifacts.resolve_artifacts_dir(self.artifacts_dir)
        if self.poll_interval is None:
            self.poll_interval = _env_float("CREATOK_POLL_INTERVAL", None)
        if not self.timeout:
            waited = _env_float("CREATOK_TIMEOUT", DEFAULT_WAIT_SECONDS)
            self.timeout = waited or DEFAULT_WAIT_SECONDS
        if not self.batch_concurrency or self.batch_concurrency < 1:
            limit = _env_float("CREATOK_BATCH_CONCURRENCY", DEFAULT_BATCH_CONCURRENCY)
            self.batch_concurrency = max(1, int(limit or DEFAULT_BATCH_CONCURRENCY))

    def run_settings(self) -> dict[str, Any]:
        """The non-secret settings a request keeps from its start (``Generation.settings``)."""
        return {name: getattr(self, name) for name in RUN_SETTING_KEYS}

    def with_run_settings(self, settings: Mapping[str, Any] | None) -> CreatokContext:
        """This context with a request's kept settings (the API key stays this one's).

        State is not trusted: for a client's run each kept value must still be one a
        client may choose (``ClientContext``), else the run is refused.
        """
        if not settings or self.refusal is not None:
            return self
        if not self.local_files.anywhere:  # a client's run
            return _client_run_settings(settings)
        fixed = copy.copy(self)  # not ``replace``: no environment fallback on top of them
        for name in RUN_SETTING_KEYS:
            if name in settings:
                setattr(fixed, name, settings[name])
        return fixed

    def resolved_api_key(self) -> str | None:
        """The key to use right now: this context's, else ``CREATOK_API_KEY``."""
        return resolve_api_key(self.api_key)

    def prepare_artifacts_dir(self) -> None:
        """Check (blocking) that results can be written, and, for a client's sub-folder,
        that it still lies inside the operator's folder once symlinks are resolved."""
        if self.artifacts_within is not None:
            sub = os.path.relpath(self.artifacts_dir, self.artifacts_within)
            artifacts_subdir(self.artifacts_within, sub, resolve=True)
        artifacts.ensure_writable(self.artifacts_dir)

    @classmethod
    def coerce(cls, value: object) -> CreatokContext:
        """The settings a run uses, whoever sent them.

        A ``CreatokContext`` is the operator's, used as is; no context at all means the
        environment's. Anything else (a :class:`ClientContext`, a plain dict, another
        object) comes from a client and goes through :meth:`ClientContext.to_context`;
        settings it may not choose give the operator's defaults plus a ``refusal``.
        """
        if isinstance(value, cls):
            return value
        if value is None:
            return cls()
        try:
            if isinstance(value, dict):
                value = ClientContext(**value)
            if not isinstance(value, ClientContext):
                value = ClientContext()
            return value.to_context()
        except ValidationError as exc:  # the message names fields, never a sent value
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors(include_input=False))
            refusal = InvalidRequestError(f"the run's context is not valid ({problems})",
                                          field="context", reason="context_invalid")
        except InvalidRequestError as exc:
            refusal = exc
        return cls.refused(refusal)

    @classmethod
    def refused(cls, refusal: InvalidRequestError) -> CreatokContext:
        """The operator's defaults, for a client whose settings were refused."""
        return cls(local_files=LocalFiles.for_client(), refusal=refusal)


class ClientContext(BaseModel):
    """Settings a client of this server may choose for one run. The CreatOK account is
    the server's own: it is never chosen by a client."""

    # The graph's context_schema (Studio builds its form from it). Deliberately no key
    # field; unknown fields are dropped, and a dict that tries to set the key is refused.

    model_config = ConfigDict(extra="ignore")

    base_url: str | None = Field(
        default=None,
        description="API base URL: the server's own, or one its operator allows "
        f"({ALLOWED_BASE_URLS_ENV}). Empty: the server's.",
    )
    artifacts_dir: str | None = Field(
        default=None,
        description="A sub-folder (relative path) of the server's artifacts folder for this "
        "run's results. Empty: the server's folder.",
    )
    poll_interval: float | None = Field(
        default=None,
        description="Fixed seconds between status checks, kept between "
        f"{CLIENT_POLL_INTERVAL[0]:g} and {CLIENT_POLL_INTERVAL[1]:g}. Empty: adaptive.",
    )
    timeout: float | None = Field(
        default=None,
        description="Seconds to wait for the task, kept between "
        f"{CLIENT_TIMEOUT[0]:g} and {CLIENT_TIMEOUT[1]:g}. Empty: the server's default.",
    )
    download: bool | None = Field(
        default=None,
        description="false: keep only the image links for this run (no copies on the "
        "server). true cannot switch copies on where the server's operator turned them off "
        "(CREATOK_DOWNLOAD=0). Empty: the server's setting.",
    )
    _refused_fields: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _note_refused(cls, data: Any, handler: Any) -> Any:
        """Remember (by name only, never by value) fields only an operator may set."""
        refused = tuple(k for k in OPERATOR_ONLY if isinstance(data, dict) and k in data)
        model = handler(data)
        model._refused_fields = refused
        return model

    def to_context(self) -> CreatokContext:
        """The operator's settings with this client's choices, where it may make them."""
        if self._refused_fields:
            names = ", ".join(self._refused_fields)
            raise InvalidRequestError(
                f"{names} cannot be set in a run's context: a client of this graph uses the "
                "server's own key (CREATOK_API_KEY in its environment). In Python, pass "
                "CreatokContext(api_key=...) instead of a dict.",
                field=self._refused_fields[0], reason="operator_only",
                params={"fields": list(self._refused_fields)},
            )
        operator = CreatokContext()
        sub = self.artifacts_dir
        return CreatokContext(
            base_url=check_base_url(self.base_url, operator.base_url)
            if self.base_url else operator.base_url,
            artifacts_dir=artifacts_subdir(operator.artifacts_dir, sub) if sub
            else operator.artifacts_dir,
            artifacts_within=operator.artifacts_dir if sub else None,
            poll_interval=_clamp(self.poll_interval, CLIENT_POLL_INTERVAL)
            if self.poll_interval else operator.poll_interval,
            timeout=_clamp(self.timeout, CLIENT_TIMEOUT) if self.timeout else operator.timeout,
            # the operator's disk: a client may turn copies off, never back on
            download=bool(operator.download) and self.download is not False,
            local_files=LocalFiles.for_client(),
        )


def _client_run_settings(settings: Mapping[str, Any]) -> CreatokContext:
    """A client's kept settings, checked again as that client's choices."""
    root = CreatokContext().artifacts_dir
    kept = str(settings.get("artifacts_dir") or root)
    sub = None if kept == root else os.path.relpath(kept, root)
    try:
        return ClientContext(
            base_url=settings.get("base_url"), artifacts_dir=sub,
            poll_interval=settings.get("poll_interval"), timeout=settings.get("timeout"),
            download=settings.get("download"),
        ).to_context()
    except (ValidationError, InvalidRequestError, ValueError) as exc:
        return CreatokContext.refused(InvalidRequestError(
            f"the settings this run started with are not valid any more ({exc})",
            field="context", reason="context_invalid"))


OPERATOR_ONLY = ("api_key",)
"""Context fields a plain dict may not carry: only an operator's ``CreatokContext`` may."""


def _clamp(value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return low if math.isnan(value) else min(max(value, low), high)


@functools.lru_cache(maxsize=256)  # every node of a run asks again; parsing costs ~100 us
def _url_identity(url: str) -> str | None:
    """Scheme, host, port and path of ``url``, normalised; None when it is not a plain URL."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo \
            or parsed.query or parsed.fragment:
        return None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.scheme}://{parsed.host.lower()}:{port}{parsed.path.rstrip('/')}"


def allowed_base_urls(operator_url: str) -> list[str]:
    """The operator's base URL and those it allows clients to choose."""
    extra = [u.strip().rstrip("/") for u in os.environ.get(ALLOWED_BASE_URLS_ENV, "").split(",")]
    return [operator_url, *(u for u in extra if u and u != operator_url)]


def check_base_url(url: str, operator_url: str) -> str:
    """``url`` when the operator allows it (the key is sent there), else a refusal."""
    allowed = allowed_base_urls(operator_url)
    wanted = _url_identity(url)
    if wanted is not None and wanted in {_url_identity(u) for u in allowed}:
        return url.strip().rstrip("/")
    raise InvalidRequestError(
        f"base_url {url} is not one this server sends its key to; allowed: "
        f"{', '.join(allowed)} (the operator can allow more in {ALLOWED_BASE_URLS_ENV})",
        field="base_url", reason="base_url_not_allowed",
        params={"value": url, "allowed": allowed},
    )


def artifacts_subdir(root: str, sub: str, *, resolve: bool = False) -> str:
    """``root/sub`` when ``sub`` is a relative folder that stays inside ``root``.

    Without ``resolve`` the check reads the words alone (no '..', not absolute), so it can
    run on the event loop; with it (blocking) symlinks are followed first.
    """
    target = _lexical_subdir(root, sub)
    outside = target is None
    if resolve and target is not None:
        base = Path(root).expanduser().resolve()
        outside = not Path(target).resolve().is_relative_to(base)
    if outside or target is None:
        raise InvalidRequestError(
            f"artifacts_dir {sub} is not a sub-folder of the server's artifacts folder: "
            "give a relative path such as 'my-project' (no '..', not absolute)",
            field="artifacts_dir", reason="artifacts_dir_outside", params={"value": sub},
        )
    return target


@functools.lru_cache(maxsize=256)  # asked again by every node of a run
def _lexical_subdir(root: str, sub: str) -> str | None:
    candidate = Path(sub)
    if candidate.is_absolute() or sub.startswith("~") or ".." in candidate.parts:
        return None
    return str(Path(root).expanduser() / candidate)
