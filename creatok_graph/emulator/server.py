"""A stateful local server that speaks CreatOK's Open Skills image API.

Why it exists: the real service costs money and cannot be reached from tests,
so the test suite, the CLI's ``--sandbox`` mode, benchmarks and external
harnesses all talk to this server over real HTTP instead. It emulates the
whole contract (auth, capabilities, two-step reference upload to signed
"object storage", paid submission, task lifecycle, signed image downloads)
plus failure *scenarios* that real clients must survive.

Standard library only: it ships inside the package and must not pull in
server dependencies.
"""

from __future__ import annotations

import calendar
import contextlib
import copy
import enum
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Union
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from ..api_paths import API_PREFIX, CAPABILITIES_PATH, PRESIGN_PATH, STATUS_PATH, SUBMIT_PATH
from ..api_paths import IMAGE_TASK_TYPE as TASK_TYPE
from .jpeg import gradient_jpeg
from .png import dimensions_for_aspect_ratio, gradient_png

SANDBOX_API_KEY = "sk-creatok-sandbox"

STORAGE_PREFIX = "/_storage/"
FILES_PREFIX = "/_files/"
ADMIN_PREFIX = "/_emulator/"

FAIL_MARKER = "[fail]"
DEFAULT_UPLOAD_PREFIX = "open-skills/reference-images"
ALLOWED_FILE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
SUBMIT_FIELDS = ("prompt", "model", "resolution", "n", "aspect_ratio", "imageObjectKeys")

#: Largest reference image accepted by the presign step (bytes).
MAX_UPLOAD_BYTES = 30 * 1024 * 1024
#: Largest request body read at all; anything bigger is refused with 413.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024
UPLOAD_URL_EXPIRES = 900
IMAGE_URL_EXPIRES = 7 * 24 * 3600

CODE_OK = 0
CODE_BAD_REQUEST = 40000
CODE_INVALID_PARAM = 40001
CODE_IDEMPOTENCY_MISMATCH = 40901
CODE_IDEMPOTENCY_IN_PROGRESS = 40902
CODE_INSUFFICIENT_CREDITS = 10001

CapabilitiesSource = Union[None, Mapping[str, Any], str, "os.PathLike[str]"]

_DATA_FILE = Path(__file__).resolve().parent / "data" / "capabilities.json"
_HOST_HEADER_RE = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")
_BROKEN_DEFAULT_MODEL = "sandbox-model-that-does-not-exist"


class Scenario(str, enum.Enum):
    """Failure modes a client must survive; switched on by name at run time."""

    TASK_FAILURE = "task-failure"
    FLAKY_503 = "flaky-503"
    RATE_LIMIT = "rate-limit"
    UNAUTHORIZED = "unauthorized"
    SUBMIT_ERROR = "submit-error"
    SLOW_SUBMIT = "slow-submit"
    BROKEN_CAPABILITIES = "broken-capabilities"
    NON_JSON = "non-json"
    SUBMIT_503 = "submit-503"
    STATUS_500 = "status-500"
    MISSING_TASK_ID = "missing-task-id"
    STUCK_TASK = "stuck-task"
    ALT_STATUSES = "alt-statuses"
    EXTRA_FIELDS = "extra-fields"
    NO_PROGRESS = "no-progress"
    EXPIRED_URLS = "expired-urls"
    JPEG_IMAGES = "jpeg-images"
    FLAKY_FILES = "flaky-files"

    def __str__(self) -> str:
        return self.value

    @property
    def help(self) -> str:
        """One-line description, shown by ``creatok-emulator --help``."""
        return SCENARIO_HELP[self.value]


SCENARIO_HELP: dict[str, str] = {
    "task-failure": "every task created while active ends 'failed' with error.message "
    "(a prompt containing '[fail]' always fails, scenario or not)",
    "flaky-503": "a share --flaky-rate of GET /api/open/skills/* answers HTTP 503, "
    "deterministically (rate 0.5: every 2nd GET), so a retrying client always gets through; "
    "POSTs are never affected",
    "rate-limit": "every 2nd GET /api/open/skills/* answers HTTP 429 with 'Retry-After: 1'",
    "unauthorized": "every /api/open/skills/* call answers HTTP 401, whatever the key",
    "submit-error": "submit answers HTTP 200 {code: 10001, msg: 'insufficient credits'}; "
    "nothing is charged",
    "slow-submit": "submit sleeps --slow-submit-seconds before creating the task and answering "
    "(the task IS created and charged even if the client gave up)",
    "broken-capabilities": "capabilities breaks the contract: image.default_model names a "
    "model that does not exist",
    "non-json": "every /api/open/skills/* call answers an HTML page with HTTP 200 text/html, "
    "as a broken proxy or wrong base URL would",
    "submit-503": "submit answers HTTP 503 without creating a task",
    "status-500": "task status answers HTTP 500",
    "missing-task-id": "submit creates (and charges) a task but its answer lacks data.task_id",
    "stuck-task": "tasks created while active never finish (they stay 'running', progress <= 99)",
    "alt-statuses": "in-progress tasks report 'pending'/'processing' instead of 'queued'/'running'",
    "extra-fields": "answers carry extra, undocumented fields (the real API may add fields "
    "at any time)",
    "no-progress": "status answers carry no progress field (the contract only says it may "
    "appear): a client gets no hint of when a task will finish",
    "expired-urls": "image and thumbnail URLs answer like expired signed URLs, in object-storage "
    "XML: HTTP 403 AccessDenied 'Request has expired' (even-numbered files: 0.png, 2.png...) "
    "or HTTP 410 Gone (odd-numbered files)",
    "jpeg-images": "odd-numbered images (1.png, 3.png...) are JPEG bytes served as image/jpeg "
    "although their URL ends in .png: a client must judge files by their bytes",
    "flaky-files": "every 2nd GET of an image or thumbnail answers HTTP 503 SlowDown "
    "(object storage asking to retry)",
}

SCENARIO_NAMES: tuple[str, ...] = tuple(s.value for s in Scenario)

PROGRESS_UNITS: dict[str, str] = {
    "percent": "status answers carry progress as 0-100 (the default)",
    "fraction": "status answers carry progress as 0-1, as some servers do",
    "none": "status answers carry no progress field (what the contract promises: nothing)",
}
"""How the status answer reports ``progress`` (``--progress``)."""


# --------------------------------------------------------------------------- capabilities


def normalize_capabilities(payload: Any) -> dict[str, Any]:
    """Accept a full envelope, ``{"capabilities": ...}`` or ``{"image": ...}``; return an envelope.

    The result is served verbatim, so a full envelope is kept as it is.
    """
    if not isinstance(payload, Mapping):
        raise ValueError("capabilities payload must be a JSON object")
    if isinstance(payload.get("data"), Mapping) and ("code" in payload or "msg" in payload):
        data = payload["data"]
        if "capabilities" in data:
            return copy.deepcopy(dict(payload))
        if "image" in data or "video" in data:
            envelope = copy.deepcopy(dict(payload))
            envelope["data"] = {"capabilities": copy.deepcopy(dict(data))}
            return envelope
        raise ValueError("capabilities envelope has no data.capabilities")
    if "capabilities" in payload:
        return {
            "code": 0,
            "msg": "ok",
            "data": {"capabilities": copy.deepcopy(payload["capabilities"])},
        }
    if "image" in payload or "video" in payload:
        return {"code": 0, "msg": "ok", "data": {"capabilities": copy.deepcopy(dict(payload))}}
    raise ValueError(
        "capabilities payload must be an envelope {code, msg, data: {capabilities}}, "
        "{capabilities: ...} or {image: ..., video: ...}"
    )


def load_capabilities(source: CapabilitiesSource = None) -> dict[str, Any]:
    """Load and normalize capabilities from None (bundled sample), a dict or a JSON file path."""
    if source is None:
        source = _DATA_FILE
    if isinstance(source, Mapping):
        return normalize_capabilities(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read capabilities file {path}: {exc.strerror or exc}") from exc
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"capabilities file {path} is not valid JSON: {exc}") from exc
    return normalize_capabilities(payload)


def _image_models(envelope: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Image models by id, tolerating a malformed payload (a bad file must not crash submit)."""
    data = envelope.get("data")
    caps = data.get("capabilities") if isinstance(data, Mapping) else None
    image = caps.get("image") if isinstance(caps, Mapping) else None
    models = image.get("models") if isinstance(image, Mapping) else None
    out: dict[str, dict[str, Any]] = {}
    if isinstance(models, list):
        for model in models:
            if isinstance(model, dict) and isinstance(model.get("id"), str):
                out[model["id"]] = model
    return out


def _broken_capabilities(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The capabilities payload with a default_model that names no model."""
    broken = copy.deepcopy(dict(envelope))
    data = broken.setdefault("data", {})
    caps = data.setdefault("capabilities", {}) if isinstance(data, dict) else {}
    image = caps.setdefault("image", {}) if isinstance(caps, dict) else {}
    if isinstance(image, dict):
        image["default_model"] = _BROKEN_DEFAULT_MODEL
    return broken


def _number(value: Any) -> float | None:
    """A JSON number as float, None for anything else (bool included)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _credits_for(model: Mapping[str, Any], resolution: str, n: int) -> float:
    """Credits a submission costs per the model's pricing (0 when unknown)."""
    pricing = model.get("pricing")
    if not isinstance(pricing, Mapping):
        return 0
    by_res = pricing.get("by_resolution")
    if not isinstance(by_res, Mapping):
        return 0
    price = by_res.get(resolution)
    if isinstance(price, (int, float)) and not isinstance(price, bool):
        return price * n
    return 0


# --------------------------------------------------------------------------- records


@dataclass
class _Task:
    task_id: str
    created_mono: float
    created_wall: float
    duration: float
    prompt: str
    model: str
    resolution: str
    n: int
    aspect_ratio: str | None
    image_object_keys: list[str]
    fail_message: str | None
    stuck: bool
    idempotency_key: str | None
    credits: float
    status_checks: int = 0


@dataclass
class _Presign:
    file_type: str
    file_size: int


@dataclass
class _IdempotencyRecord:
    fingerprint: str
    answer: dict[str, Any] | None = None  # None while the first request is still running


@dataclass
class Response:
    """What a request is answered with; the HTTP handler only serializes it."""

    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header lookup (first value wins for repeated headers)."""

    def __init__(self, source: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        items = source.items() if isinstance(source, Mapping) else source
        self._items: dict[str, str] = {}
        for name, value in items:
            self._items.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class _BadRequest(Exception):
    """A request the server cannot read at all (body framing, size)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _envelope(
    status: int,
    code: int,
    msg: str,
    data: Any = None,
    *,
    extra: bool = False,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code, "msg": msg, "data": {} if data is None else data}
    if extra:
        body["request_id"] = "req_" + uuid.uuid4().hex[:16]
        body["server_time"] = int(time.time())
    return Response(
        status, _json_bytes(body), "application/json; charset=utf-8", list(headers or [])
    )


def _xml_error(status: int, code: str, message: str, resource: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message>"
        f"<Resource>{xml_escape(resource)}</Resource>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return Response(status, body.encode("utf-8"), "application/xml", [])


_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>"
    b"<body><h1>It works!</h1><p>This page is served by a proxy, not by the CreatOK API "
    b"(sandbox scenario non-json).</p></body></html>\n"
)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --------------------------------------------------------------------------- emulator


class Emulator:
    """The emulated CreatOK service: state, lifecycle clock, scenarios and the HTTP server.

    All mutable state sits behind one lock so hundreds of concurrent client
    threads see a consistent service; the lock is never held while sleeping,
    encoding PNGs or doing socket I/O.
    """

    def __init__(
        self,
        api_key: str = SANDBOX_API_KEY,
        task_seconds: float = 2.0,
        capabilities: CapabilitiesSource = None,
        scenarios: Iterable[str | Scenario] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        flaky_rate: float = 0.5,
        slow_submit_seconds: float = 5.0,
        honour_idempotency: bool = True,
        verbose: bool = False,
        latency: float = 0.0,
        progress: str = "percent",
    ) -> None:
        if not api_key:
            raise ValueError("api_key must be non-empty")
        self._api_key = api_key
        self._host = host
        self._requested_port = int(port)
        self.verbose = verbose
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._task_seconds = self._check_non_negative("task_seconds", task_seconds)
        self._flaky_rate = self._check_rate(flaky_rate)
        self._slow_submit_seconds = self._check_non_negative(
            "slow_submit_seconds", slow_submit_seconds
        )
        self._capabilities = load_capabilities(capabilities)
        self._capabilities_body = _json_bytes(self._capabilities)
        self._broken_body = _json_bytes(_broken_capabilities(self._capabilities))
        self._models = _image_models(self._capabilities)
        self._scenarios: frozenset[str] = self._parse_scenarios(scenarios)
        self.honour_idempotency = bool(honour_idempotency)
        """False: ``Idempotency-Key`` is ignored, every accepted submit is a new charge.
        CreatOK's contract does not promise de-duplication; tests of what a user pays
        should hold without it."""
        self._latency = self._check_non_negative("latency", latency)
        self._progress_unit = self._check_progress_unit(progress)
        self._init_state()

    # ----------------------------------------------------------------- config helpers

    @staticmethod
    def _check_non_negative(name: str, value: float) -> float:
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0")
        return value

    @staticmethod
    def _check_progress_unit(unit: str) -> str:
        if unit not in PROGRESS_UNITS:
            raise ValueError(f"progress must be one of {', '.join(PROGRESS_UNITS)}, not {unit!r}")
        return unit

    @staticmethod
    def _check_rate(rate: float) -> float:
        rate = float(rate)
        if not (0 < rate <= 1):
            raise ValueError("flaky_rate must be > 0 and <= 1")
        return rate

    @staticmethod
    def _parse_scenarios(names: Iterable[str | Scenario] | str) -> frozenset[str]:
        if isinstance(names, str):
            names = [names]
        chosen: set[str] = set()
        for raw in names:
            for part in str(raw).split(","):
                name = part.strip()
                if not name:
                    continue
                if name not in SCENARIO_NAMES:
                    raise ValueError(
                        f"unknown scenario {name!r}; available: {', '.join(SCENARIO_NAMES)}"
                    )
                chosen.add(name)
        return frozenset(chosen)

    def _init_state(self) -> None:
        """Fresh tasks, uploads and counters (caller holds the lock or is __init__)."""
        self._tasks: dict[str, _Task] = {}
        self._uploads: dict[str, bytes] = {}
        self._presigns: dict[str, _Presign] = {}
        self._idempotency: dict[str, _IdempotencyRecord] = {}
        self._counters: dict[str, int] = {
            "submits": 0,
            "submit_requests": 0,
            "presigns": 0,
            "presign_requests": 0,
            "uploads": 0,
            "upload_requests": 0,
            "capabilities": 0,
            "status": 0,
            "downloads": 0,
            "idempotent_replays": 0,
            "submits_in_flight": 0,
        }
        self._credits: float = 0
        self._requests: dict[str, int] = {}
        self._flaky_seen = 0
        self._rate_seen = 0
        self._file_flaky_seen = 0
        self._file_requests: list[dict[str, Any]] = []
        self._first_request_at: float | None = None

    # ----------------------------------------------------------------- public API

    def start(self) -> Emulator:
        """Bind and serve in a background daemon thread; port 0 picks a free port."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._stopping.clear()
        server_cls = _Server6 if ":" in self._host else _Server
        self._server = server_cls((self._host, self._requested_port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() returns within ~20 ms
            name=f"creatok-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections, close the socket, join the thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self.running else "not started"
        return f"<Emulator {where} scenarios={sorted(self._scenarios)}>"

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was requested)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` without trailing slash; wildcard binds map to loopback."""
        if self._server is None:
            raise RuntimeError("emulator not started; call start() first")
        host = self._host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def task_seconds(self) -> float:
        return self._task_seconds

    @task_seconds.setter
    def task_seconds(self, value: float) -> None:
        """Applies to tasks created from now on."""
        with self._lock:
            self._task_seconds = self._check_non_negative("task_seconds", value)

    @property
    def latency(self) -> float:
        """Seconds every exchange (admin endpoints aside) takes on top of the work: half
        before the request is handled, half before the answer leaves, like a server that
        far away. Applies to the HTTP server, not to :meth:`handle`."""
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._latency = self._check_non_negative("latency", value)

    @property
    def progress_unit(self) -> str:
        """``percent``, ``fraction`` or ``none``: how status answers report ``progress``."""
        return self._progress_unit

    @progress_unit.setter
    def progress_unit(self, value: str) -> None:
        self._progress_unit = self._check_progress_unit(value)

    @property
    def flaky_rate(self) -> float:
        return self._flaky_rate

    @property
    def slow_submit_seconds(self) -> float:
        return self._slow_submit_seconds

    @property
    def scenarios(self) -> frozenset[str]:
        return self._scenarios

    def set_scenarios(
        self,
        scenarios: Iterable[str | Scenario] | str,
        *,
        flaky_rate: float | None = None,
        slow_submit_seconds: float | None = None,
    ) -> None:
        """Replace the active scenarios (``[]`` clears them) and restart their counters."""
        chosen = self._parse_scenarios(scenarios)
        rate = None if flaky_rate is None else self._check_rate(flaky_rate)
        slow = (
            None
            if slow_submit_seconds is None
            else self._check_non_negative("slow_submit_seconds", slow_submit_seconds)
        )
        with self._lock:
            self._scenarios = chosen
            if rate is not None:
                self._flaky_rate = rate
            if slow is not None:
                self._slow_submit_seconds = slow
            self._flaky_seen = 0
            self._rate_seen = 0
            self._file_flaky_seen = 0

    @property
    def capabilities(self) -> dict[str, Any]:
        """The capabilities envelope served (a copy)."""
        return copy.deepcopy(self._capabilities)

    def set_capabilities(self, source: CapabilitiesSource) -> None:
        """Serve (and validate submissions against) another capabilities payload."""
        envelope = load_capabilities(source)
        body, broken = _json_bytes(envelope), _json_bytes(_broken_capabilities(envelope))
        models = _image_models(envelope)
        with self._lock:
            self._capabilities = envelope
            self._capabilities_body = body
            self._broken_body = broken
            self._models = models

    def reset(self) -> None:
        """Forget tasks, uploads, presigns, idempotency keys and counters (scenarios stay)."""
        with self._lock:
            self._init_state()

    def stats(self) -> dict[str, Any]:
        """A consistent snapshot of server-side counters."""
        with self._lock:
            snap: dict[str, Any] = dict(self._counters)
            snap["requests"] = dict(self._requests)
            snap["tasks"] = len(self._tasks)
            snap["credits"] = self._credits
            snap["scenarios"] = sorted(self._scenarios)
            snap["first_request_at"] = self._first_request_at
        return snap

    @property
    def tasks(self) -> Mapping[str, dict[str, Any]]:
        """Read-only snapshot: task_id -> task description (status computed now)."""
        now = time.monotonic()
        with self._lock:
            tasks = list(self._tasks.values())
        return MappingProxyType({t.task_id: self._describe(t, now) for t in tasks})

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        """One task's description, or None when unknown."""
        with self._lock:
            task = self._tasks.get(task_id)
        return None if task is None else self._describe(task, time.monotonic())

    @property
    def file_requests(self) -> list[dict[str, Any]]:
        """Every request for an image file (method, path, headers), oldest first.

        Lets a test check what a client sends to the image host, e.g. that no
        ``Authorization`` header (the API key) ever reaches it. Capped at the latest 1000.
        """
        with self._lock:
            return [dict(r, headers=dict(r["headers"])) for r in self._file_requests]

    @property
    def uploads(self) -> Mapping[str, bytes]:
        """Read-only snapshot: objectKey -> uploaded bytes."""
        with self._lock:
            return MappingProxyType(dict(self._uploads))

    @property
    def upload_types(self) -> Mapping[str, str]:
        """Read-only snapshot: objectKey -> the fileType it was presigned and PUT as."""
        with self._lock:
            return MappingProxyType({k: self._presigns[k].file_type for k in self._uploads})

    # ----------------------------------------------------------------- task lifecycle

    def _phase(self, task: _Task, now: float) -> tuple[str, int]:
        """(status, progress) from the task's clock; the lifecycle is a pure function of time."""
        elapsed = max(0.0, now - task.created_mono)
        duration = task.duration
        if task.stuck:
            if duration > 0 and elapsed < 0.2 * duration:
                return "queued", 0
            pct = 99 if duration <= 0 else min(99, int(elapsed / duration * 100))
            return "running", pct
        if duration <= 0 or elapsed >= duration:
            return ("failed" if task.fail_message else "succeeded"), 100
        if elapsed < 0.2 * duration:
            return "queued", 0
        return "running", max(0, min(99, int(elapsed / duration * 100)))

    def _describe(self, task: _Task, now: float) -> dict[str, Any]:
        status, progress = self._phase(task, now)
        return {
            "task_id": task.task_id,
            "status": status,
            "progress": progress,
            "prompt": task.prompt,
            "model": task.model,
            "resolution": task.resolution,
            "n": task.n,
            "aspect_ratio": task.aspect_ratio,
            "imageObjectKeys": list(task.image_object_keys),
            "created_at": _iso(task.created_wall),
            "created_epoch": task.created_wall,
            "status_checks": task.status_checks,
            "will_fail": task.fail_message is not None,
            "stuck": task.stuck,
            "idempotency_key": task.idempotency_key,
            "credits": task.credits,
        }

    # ----------------------------------------------------------------- signing

    def _signed_query(
        self, method: str, raw_path: str, when: float, expires: int, signed_headers: str, tail: str
    ) -> str:
        """An S3-looking presigned query whose signature covers the exact raw path+query."""
        t = time.gmtime(when)
        query = (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential=sandbox%2F{time.strftime('%Y%m%d', t)}"
            "%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Date={time.strftime('%Y%m%dT%H%M%SZ', t)}"
            f"&X-Amz-Expires={expires}"
            f"&X-Amz-SignedHeaders={signed_headers}"
            f"{tail}"
        )
        return f"{query}&X-Amz-Signature={self._signature(method, raw_path, query)}"

    def _signature(self, method: str, raw_path: str, unsigned_query: str) -> str:
        msg = f"{method}\n{raw_path}?{unsigned_query}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def _verify(self, method: str, raw_path: str, raw_query: str) -> Response | None:
        """None when the raw URL is exactly one this server signed and it has not expired."""
        marker = "&X-Amz-Signature="
        idx = raw_query.rfind(marker)
        if not raw_query.startswith("X-Amz-Algorithm=") or idx < 0:
            return _xml_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the X-Amz-Signature, "
                "X-Amz-Credential and X-Amz-Date parameters",
                raw_path,
            )
        unsigned, given = raw_query[:idx], raw_query[idx + len(marker) :]
        if not hmac.compare_digest(self._signature(method, raw_path, unsigned), given):
            return _xml_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature "
                "you provided. Use the presigned URL verbatim: do not re-encode or "
                "alter its path or query.",
                raw_path,
            )
        params = parse_qs(unsigned)
        try:
            signed_at = calendar.timegm(time.strptime(params["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ"))
            expires = int(params["X-Amz-Expires"][0])
        except (KeyError, ValueError, IndexError):
            return None
        if time.time() > signed_at + expires + 5:
            return _xml_error(403, "AccessDenied", "Request has expired", raw_path)
        return None

    # ----------------------------------------------------------------- request entry point

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes,
    ) -> Response:
        """Answer one request without sockets (the HTTP handler is a thin shell around this).

        ``target`` is the raw request target (path + query, untouched: signatures cover it).
        """
        headers = Headers(headers)
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        raw_path, _, raw_query = target.partition("?")
        if raw_path.startswith(ADMIN_PREFIX):
            return self._admin(method, raw_path, body)
        if raw_path.startswith(STORAGE_PREFIX):
            self._count(f"{method} {STORAGE_PREFIX}*")
            return self._storage(method, raw_path, raw_query, headers, body)
        if raw_path.startswith(FILES_PREFIX):
            self._count(f"{method} {FILES_PREFIX}*")
            with self._lock:
                self._file_requests.append(
                    {"method": method, "path": raw_path, "headers": dict(headers.items())}
                )
                del self._file_requests[:-1000]
            return self._files(method, raw_path, raw_query)
        path = unquote(raw_path)
        with self._lock:
            if self._first_request_at is None:  # wall clock: comparable across processes
                self._first_request_at = time.time()
        self._count(f"{method} {path}", api_path=path, method=method)
        if path.startswith(API_PREFIX):
            return self._api(method, path, raw_query, headers, body)
        return _envelope(404, 404, "endpoint not found")

    def _count(self, key: str, *, api_path: str = "", method: str = "") -> None:
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            if api_path == CAPABILITIES_PATH:
                self._counters["capabilities"] += 1
            elif api_path == STATUS_PATH:
                self._counters["status"] += 1
            elif api_path == SUBMIT_PATH and method == "POST":
                self._counters["submit_requests"] += 1
            elif api_path == PRESIGN_PATH and method == "POST":
                self._counters["presign_requests"] += 1

    # ----------------------------------------------------------------- API

    def _gate(self, method: str) -> Response | None:
        """Scenario-driven transport failures that hit before auth (proxy/load-balancer level)."""
        with self._lock:
            active = self._scenarios
            if Scenario.NON_JSON.value in active:
                return Response(200, _HTML_PAGE, "text/html; charset=utf-8")
            if method != "GET":
                return None
            if Scenario.FLAKY_503.value in active:
                k = self._flaky_seen
                self._flaky_seen += 1
                rate = Fraction(self._flaky_rate).limit_denominator(1000)
                if math.floor((k + 1) * rate) > math.floor(k * rate):
                    return _envelope(503, 503, "service temporarily unavailable, try again later")
            if Scenario.RATE_LIMIT.value in active:
                k = self._rate_seen
                self._rate_seen += 1
                if k % 2 == 1:
                    return _envelope(
                        429,
                        429,
                        "too many requests; retry after 1 second",
                        headers=[("Retry-After", "1")],
                    )
        return None

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        if Scenario.UNAUTHORIZED.value in self._scenarios:
            return False
        value = headers.get("Authorization") or ""
        scheme, _, token = value.strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self._api_key.encode()
        )

    def _api(
        self, method: str, path: str, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        gated = self._gate(method)
        if gated is not None:
            return gated
        if not self._authorized(headers):
            return _envelope(401, 401, "invalid or missing API key")
        routes = {
            CAPABILITIES_PATH: ("GET", self._capabilities_endpoint),
            STATUS_PATH: ("GET", self._status_endpoint),
            PRESIGN_PATH: ("POST", self._presign_endpoint),
            SUBMIT_PATH: ("POST", self._submit_endpoint),
        }
        route = routes.get(path)
        if route is None:
            return _envelope(404, 404, "endpoint not found")
        allowed, func = route
        if method != allowed:
            return _envelope(
                405,
                405,
                f"method {method} not allowed; use {allowed}",
                headers=[("Allow", allowed)],
            )
        return func(raw_query, headers, body)

    def _extra(self) -> bool:
        return Scenario.EXTRA_FIELDS.value in self._scenarios

    @staticmethod
    def _public_base(headers: Mapping[str, str], fallback: str) -> str:
        """URLs handed out use the Host the client used, so they work from where it stands."""
        host = (headers.get("Host") or "").strip()
        if host and _HOST_HEADER_RE.match(host):
            return f"http://{host}"
        return fallback

    def _fallback_base(self) -> str:
        return self.base_url if self._server is not None else f"http://{self._host}:{self.port}"

    def _capabilities_endpoint(
        self, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        with self._lock:
            broken = Scenario.BROKEN_CAPABILITIES.value in self._scenarios
            payload = self._broken_body if broken else self._capabilities_body
        return Response(200, payload, "application/json; charset=utf-8")

    @staticmethod
    def _json_object(body: bytes) -> dict[str, Any] | Response:
        try:
            parsed = json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _envelope(400, CODE_BAD_REQUEST, f"request body is not valid JSON: {exc}")
        if not isinstance(parsed, dict):
            return _envelope(400, CODE_BAD_REQUEST, "request body must be a JSON object")
        return parsed

    def _presign_endpoint(
        self, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        parsed = self._json_object(body)
        if isinstance(parsed, Response):
            return parsed
        file_name = parsed.get("fileName")
        file_type = parsed.get("fileType")
        file_size = parsed.get("fileSize")
        prefix = parsed.get("prefix", DEFAULT_UPLOAD_PREFIX)

        def refuse(fld: str, msg: str) -> Response:
            return _envelope(
                200, CODE_INVALID_PARAM, f"invalid parameter {fld}: {msg}", {"field": fld}
            )

        if not isinstance(file_name, str) or not file_name.strip():
            return refuse("fileName", "must be a non-empty string")
        if file_type not in ALLOWED_FILE_TYPES:
            return refuse(
                "fileType",
                f"{file_type!r} is not supported; allowed: " + ", ".join(ALLOWED_FILE_TYPES),
            )
        if isinstance(file_size, bool) or not isinstance(file_size, int) or file_size <= 0:
            return refuse("fileSize", "must be a positive integer (bytes)")
        if file_size > MAX_UPLOAD_BYTES:
            return refuse("fileSize", f"{file_size} bytes exceeds the limit of {MAX_UPLOAD_BYTES}")
        if prefix is None:
            prefix = DEFAULT_UPLOAD_PREFIX
        if not isinstance(prefix, str):
            return refuse("prefix", "must be a string")
        assert isinstance(file_type, str)
        prefix = prefix.strip("/")
        object_key = "/".join(p for p in (prefix, uuid.uuid4().hex, file_name.strip()) if p)
        raw_path = STORAGE_PREFIX + quote(object_key, safe="/")
        query = self._signed_query(
            "PUT",
            raw_path,
            time.time(),
            UPLOAD_URL_EXPIRES,
            "content-type%3Bhost",
            "&x-id=PutObject",
        )
        url = f"{self._public_base(headers, self._fallback_base())}{raw_path}?{query}"
        with self._lock:
            self._presigns[object_key] = _Presign(file_type, file_size)
            self._counters["presigns"] += 1
            extra = self._extra()
        data: dict[str, Any] = {"presignedUploadUrl": url, "objectKey": object_key}
        if extra:
            data["expiresIn"] = UPLOAD_URL_EXPIRES
            data["method"] = "PUT"
        return _envelope(200, CODE_OK, "ok", data, extra=extra)

    def _validate_submit(self, body: Mapping[str, Any]) -> tuple[str, str, list[Any]] | None:
        """(field, message, allowed values) for the first problem, None when acceptable."""
        unknown = sorted(k for k in body if k not in SUBMIT_FIELDS)
        if unknown:
            return (
                "/".join(unknown),
                f"unknown field(s) {', '.join(unknown)}; allowed fields: "
                + ", ".join(SUBMIT_FIELDS),
                list(SUBMIT_FIELDS),
            )
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return ("prompt", "prompt is required and must be a non-empty string", [])
        models = self._models
        model_id = body.get("model")
        if not isinstance(model_id, str) or model_id not in models:
            return (
                "model",
                f"model {model_id!r} is not available; allowed: " + ", ".join(models),
                list(models),
            )
        model = models[model_id]
        raw_limits = model.get("limits")
        limits: dict[str, Any] = raw_limits if isinstance(raw_limits, dict) else {}
        raw_res = limits.get("resolutions")
        resolutions = (
            [r for r in raw_res if isinstance(r, str)] if isinstance(raw_res, list) else []
        )
        resolution = body.get("resolution")
        if not isinstance(resolution, str) or resolution not in resolutions:
            return (
                "resolution",
                f"resolution {resolution!r} is not supported by model "
                f"{model_id!r}; allowed: " + ", ".join(resolutions),
                resolutions,
            )
        raw_n = limits.get("n")
        n_limits: dict[str, Any] = raw_n if isinstance(raw_n, dict) else {}
        n_min = _number(n_limits.get("min"))
        n_max = _number(n_limits.get("max"))
        low = max(1.0, n_min if n_min is not None else 1.0)
        n = body.get("n")
        bounds = f"between {low:g} and {n_max:g}" if n_max is not None else f">= {low:g}"
        if (
            isinstance(n, bool)
            or not isinstance(n, int)
            or n < low
            or (n_max is not None and n > n_max)
        ):
            return (
                "n",
                f"n must be an integer {bounds} for model {model_id!r} (got {n!r})",
                [low, n_max],
            )
        aspect = body.get("aspect_ratio")
        if aspect is not None:
            ratios = limits.get("aspect_ratios")
            allowed_ratios = (
                [r for r in ratios if isinstance(r, str)] if isinstance(ratios, list) else []
            )
            if not isinstance(aspect, str) or not aspect.strip():
                return (
                    "aspect_ratio",
                    "aspect_ratio must be a non-empty string"
                    + (f"; allowed: {', '.join(allowed_ratios)}" if allowed_ratios else ""),
                    allowed_ratios,
                )
            if allowed_ratios and aspect not in allowed_ratios:
                return (
                    "aspect_ratio",
                    f"aspect_ratio {aspect!r} is not supported by model "
                    f"{model_id!r}; allowed: " + ", ".join(allowed_ratios),
                    allowed_ratios,
                )
        keys = body.get("imageObjectKeys")
        if keys is not None:
            if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
                return (
                    "imageObjectKeys",
                    "imageObjectKeys must be a list of objectKey strings",
                    [],
                )
            max_refs = _number(limits.get("max_reference_images"))
            if max_refs is not None and len(keys) > max_refs:
                return (
                    "imageObjectKeys",
                    f"model {model_id!r} accepts at most {max_refs:g} "
                    f"reference images (got {len(keys)})",
                    [max_refs],
                )
            for key in keys:
                if key not in self._uploads:
                    return (
                        "imageObjectKeys",
                        f"reference image {key!r} has not been uploaded; "
                        "presign it and PUT the file first",
                        [],
                    )
        return None

    def _submit_endpoint(self, raw_query: str, headers: Mapping[str, str], body: bytes) -> Response:
        parsed = self._json_object(body)
        if isinstance(parsed, Response):
            return parsed
        sent_key = (headers.get("Idempotency-Key") or "").strip() or None
        # Not honoured: the key is only noted on the task, never used to de-duplicate.
        idem_key = sent_key if self.honour_idempotency else None
        fingerprint = json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        with self._lock:
            extra = self._extra()
            if idem_key is not None:
                record = self._idempotency.get(idem_key)
                if record is not None:
                    if record.fingerprint != fingerprint:
                        return _envelope(
                            409,
                            CODE_IDEMPOTENCY_MISMATCH,
                            "Idempotency-Key was already used with a different "
                            "request body; use a new key for a new request",
                            extra=extra,
                        )
                    if record.answer is None:
                        return _envelope(
                            409,
                            CODE_IDEMPOTENCY_IN_PROGRESS,
                            "a request with this Idempotency-Key is still being "
                            "processed; retry later",
                            extra=extra,
                        )
                    self._counters["idempotent_replays"] += 1
                    return _envelope(
                        200,
                        CODE_OK,
                        "ok",
                        copy.deepcopy(record.answer),
                        extra=extra,
                        headers=[("Idempotent-Replayed", "true")],
                    )
                self._idempotency[idem_key] = _IdempotencyRecord(fingerprint)
        created = False
        try:
            with self._lock:
                active = self._scenarios
                slow = self._slow_submit_seconds
            if Scenario.SUBMIT_503.value in active:
                return _envelope(503, 503, "service temporarily unavailable, try again later")
            with self._lock:
                problem = self._validate_submit(parsed)
            if problem is not None:
                fld, msg, allowed = problem
                return _envelope(
                    200,
                    CODE_INVALID_PARAM,
                    f"invalid parameter {fld}: {msg}",
                    {"field": fld, "allowed": allowed},
                    extra=extra,
                )
            if Scenario.SUBMIT_ERROR.value in active:
                return _envelope(
                    200, CODE_INSUFFICIENT_CREDITS, "insufficient credits", extra=extra
                )
            slow_active = Scenario.SLOW_SUBMIT.value in active and slow > 0
            if slow_active:
                with self._lock:
                    self._counters["submits_in_flight"] += 1
                try:
                    if self._stopping.wait(slow):
                        return _envelope(503, 503, "server shutting down")
                    answer = self._create_task(parsed, idem_key, sent_key)
                finally:
                    with self._lock:
                        self._counters["submits_in_flight"] -= 1
            else:
                answer = self._create_task(parsed, idem_key, sent_key)
            created = True
        finally:
            if idem_key is not None and not created:
                with self._lock:
                    record = self._idempotency.get(idem_key)
                    if record is not None and record.answer is None:
                        del self._idempotency[idem_key]
        data = copy.deepcopy(answer)
        if Scenario.MISSING_TASK_ID.value in active:
            data.pop("task_id", None)
        if extra:
            data["created_at"] = _iso(time.time())
            data["estimated_seconds"] = self._task_seconds
        return _envelope(200, CODE_OK, "ok", data, extra=extra)

    def _create_task(
        self, body: Mapping[str, Any], idem_key: str | None, sent_key: str | None = None
    ) -> dict[str, Any]:
        """Create (and charge) a task; returns the submit answer's data."""
        prompt = str(body["prompt"])
        with self._lock:
            active = self._scenarios
            fail_message: str | None = None
            if FAIL_MARKER in prompt.lower():
                fail_message = (
                    "image generation failed: the prompt was rejected (sandbox marker [fail])"
                )
            elif Scenario.TASK_FAILURE.value in active:
                fail_message = (
                    "image generation failed: the upstream model returned an error "
                    "(sandbox scenario task-failure)"
                )
            model = self._models.get(str(body["model"]), {})
            n = int(body["n"])
            task = _Task(
                task_id="task_" + uuid.uuid4().hex,
                created_mono=time.monotonic(),
                created_wall=time.time(),
                duration=self._task_seconds,
                prompt=prompt,
                model=str(body["model"]),
                resolution=str(body["resolution"]),
                n=n,
                aspect_ratio=body.get("aspect_ratio"),
                image_object_keys=list(body.get("imageObjectKeys") or []),
                fail_message=fail_message,
                stuck=Scenario.STUCK_TASK.value in active,
                idempotency_key=sent_key or idem_key,
                credits=_credits_for(model, str(body["resolution"]), n),
            )
            self._tasks[task.task_id] = task
            self._counters["submits"] += 1
            self._credits += task.credits
            answer = {"task_id": task.task_id, "status": "queued"}
            if idem_key is not None:
                record = self._idempotency.get(idem_key)
                if record is not None:
                    record.answer = answer
        return answer

    def _status_endpoint(self, raw_query: str, headers: Mapping[str, str], body: bytes) -> Response:
        with self._lock:
            active = self._scenarios
        extra = Scenario.EXTRA_FIELDS.value in active
        if Scenario.STATUS_500.value in active:
            return _envelope(500, 500, "internal server error")
        params = parse_qs(raw_query, keep_blank_values=True)
        task_id = (params.get("task_id") or [""])[0].strip()
        task_type = (params.get("task_type") or [""])[0].strip()
        if not task_id:
            return _envelope(
                200,
                CODE_INVALID_PARAM,
                "invalid parameter task_id: task_id is required",
                {"field": "task_id"},
                extra=extra,
            )
        if task_type != TASK_TYPE:
            return _envelope(
                200,
                CODE_INVALID_PARAM,
                f"invalid parameter task_type: {task_type!r} is not supported; "
                f"allowed: {TASK_TYPE}",
                {"field": "task_type", "allowed": [TASK_TYPE]},
                extra=extra,
            )
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None:
                task.status_checks += 1
        if task is None:
            return _envelope(404, 404, "task not found", extra=extra)
        status, progress = self._phase(task, time.monotonic())
        data: dict[str, Any] = {"task_id": task.task_id, "task_type": TASK_TYPE}
        if status == "succeeded":
            base = self._public_base(headers, self._fallback_base())
            data.update(
                status=status, progress=100, result={"images": self._image_urls(task, base, extra)}
            )
        elif status == "failed":
            data.update(status=status, error={"message": task.fail_message})
        else:
            if Scenario.ALT_STATUSES.value in active:
                status = {"queued": "pending", "running": "processing"}.get(status, status)
            data.update(status=status, progress=progress)
        if Scenario.NO_PROGRESS.value in active or self._progress_unit == "none":
            data.pop("progress", None)
        elif self._progress_unit == "fraction" and "progress" in data:
            data["progress"] = round(data["progress"] / 100, 2)
        if extra:
            data["created_at"] = _iso(task.created_wall)
            data["model"] = task.model
            data["eta_seconds"] = max(
                0.0, round(task.duration - (time.monotonic() - task.created_mono), 2)
            )
        return _envelope(200, CODE_OK, "ok", data, extra=extra)

    def _image_urls(self, task: _Task, base: str, extra: bool) -> list[dict[str, Any]]:
        """Signed, deterministic URLs: the same task always yields byte-identical URLs."""
        images: list[dict[str, Any]] = []
        width, height = dimensions_for_aspect_ratio(task.aspect_ratio)
        for i in range(task.n):
            entry: dict[str, Any] = {}
            for key, name in (("url", f"{i}.png"), ("thumbnail_url", f"{i}_thumb.png")):
                raw_path = f"{FILES_PREFIX}{task.task_id}/{name}"
                query = self._signed_query(
                    "GET",
                    raw_path,
                    task.created_wall,
                    IMAGE_URL_EXPIRES,
                    "host%3Bx-amz-content-sha256",
                    "&x-id=GetObject",
                )
                entry[key] = f"{base}{raw_path}?{query}"
            if extra:
                entry["width"], entry["height"] = width, height
                entry["mime_type"] = "image/png"
            images.append(entry)
        return images

    # ----------------------------------------------------------------- storage & files

    def _storage(
        self, method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        if method in ("GET", "HEAD"):
            return _xml_error(403, "AccessDenied", "Access Denied", raw_path)
        if method != "PUT":
            return _xml_error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                raw_path,
            )
        with self._lock:
            self._counters["upload_requests"] += 1
        if headers.get("Authorization") is not None:
            return _xml_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter, Signature query string parameter or the Authorization "
                "header should be specified",
                raw_path,
            )
        if headers.get("Content-Length") is None:
            return _xml_error(
                411,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
                raw_path,
            )
        problem = self._verify("PUT", raw_path, raw_query)
        if problem is not None:
            return problem
        object_key = unquote(raw_path[len(STORAGE_PREFIX) :])
        with self._lock:
            presign = self._presigns.get(object_key)
        if presign is None:
            return _xml_error(
                403, "AccessDenied", "This presigned URL is no longer valid.", raw_path
            )
        content_type = (headers.get("Content-Type") or "").strip()
        if content_type.lower() != presign.file_type:
            return _xml_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature "
                f"you provided: Content-Type {content_type!r} differs from the signed "
                f"content type {presign.file_type!r}.",
                raw_path,
            )
        if len(body) != presign.file_size:
            return _xml_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature "
                f"you provided: body is {len(body)} bytes but the upload was presigned "
                f"for {presign.file_size} bytes.",
                raw_path,
            )
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        with self._lock:
            self._uploads[object_key] = body
            self._counters["uploads"] += 1
        return Response(
            200,
            b"",
            "application/xml",
            [("ETag", etag), ("x-amz-request-id", uuid.uuid4().hex[:16].upper())],
        )

    def _files(self, method: str, raw_path: str, raw_query: str) -> Response:
        if method not in ("GET", "HEAD"):
            return _xml_error(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                raw_path,
            )
        problem = self._verify("GET", raw_path, raw_query)
        if problem is not None:
            return problem
        scripted = self._file_scenario(raw_path)
        if scripted is not None:
            return scripted
        missing = _xml_error(404, "NoSuchKey", "The specified key does not exist.", raw_path)
        rest = raw_path[len(FILES_PREFIX) :]
        task_id, _, name = rest.partition("/")
        match = re.fullmatch(r"(\d{1,4})(_thumb)?\.png", name)
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None or match is None:
            return missing
        index, thumb = int(match.group(1)), match.group(2) is not None
        if index >= task.n or self._phase(task, time.monotonic())[0] != "succeeded":
            return missing
        width, height = dimensions_for_aspect_ratio(task.aspect_ratio)
        if thumb:
            width, height = max(1, width // 2), max(1, height // 2)
        seed = int(hashlib.sha256(task.task_id.encode()).hexdigest()[:8], 16) + index * 7919
        with self._lock:
            jpeg = Scenario.JPEG_IMAGES.value in self._scenarios and index % 2 == 1
            self._counters["downloads"] += 1
        data = gradient_jpeg(width, height, seed) if jpeg else gradient_png(width, height, seed)
        etag = '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'
        return Response(
            200, data, "image/jpeg" if jpeg else "image/png",
            [("ETag", etag), ("Cache-Control", "private, max-age=604800")],
        )

    def _file_scenario(self, raw_path: str) -> Response | None:
        """Expired or flaky object storage, as the scenarios ask (checked after the signature)."""
        with self._lock:
            active = self._scenarios
            if Scenario.FLAKY_FILES.value in active:
                k = self._file_flaky_seen
                self._file_flaky_seen += 1
                if k % 2 == 0:
                    return _xml_error(503, "SlowDown", "Please reduce your request rate.",
                                      raw_path)
        if Scenario.EXPIRED_URLS.value in active:
            number = re.match(r"(\d+)", raw_path.rsplit("/", 1)[-1])
            if number and int(number.group(1)) % 2 == 1:
                return _xml_error(410, "Gone", "The signed URL has expired and the object is "
                                  "no longer available at this address.", raw_path)
            return _xml_error(403, "AccessDenied", "Request has expired", raw_path)
        return None

    # ----------------------------------------------------------------- admin

    def _admin(self, method: str, raw_path: str, body: bytes) -> Response:
        """Unauthenticated control plane so tests in another process can count and steer."""
        path = raw_path.rstrip("/")
        try:
            if path == "/_emulator/stats" and method == "GET":
                return _envelope(200, 0, "ok", self.stats())
            if path == "/_emulator/health" and method == "GET":
                return _envelope(200, 0, "ok", {"status": "ok"})
            if path == "/_emulator/reset" and method == "POST":
                self.reset()
                return _envelope(200, 0, "ok", self.stats())
            if path == "/_emulator/file-requests" and method == "GET":
                return _envelope(200, 0, "ok", {"requests": self.file_requests})
            if path == "/_emulator/tasks" and method == "GET":
                return _envelope(200, 0, "ok", {"tasks": list(self.tasks.values())})
            if path == "/_emulator/scenarios" and method == "GET":
                return _envelope(200, 0, "ok", self._scenario_info())
            if path in ("/_emulator/scenarios", "/_emulator/config") and method == "POST":
                parsed = self._json_object(body) if body.strip() else {}
                if isinstance(parsed, Response):
                    return parsed
                return self._admin_configure(parsed, require_scenarios=path.endswith("scenarios"))
        except ValueError as exc:
            return _envelope(400, CODE_INVALID_PARAM, str(exc))
        return _envelope(
            404,
            404,
            "admin endpoint not found; see GET /_emulator/stats, "
            "POST /_emulator/reset, GET /_emulator/file-requests, GET|POST /_emulator/scenarios, "
            "POST /_emulator/config, GET /_emulator/tasks",
        )

    def _scenario_info(self) -> dict[str, Any]:
        return {
            "scenarios": sorted(self._scenarios),
            "available": dict(SCENARIO_HELP),
            "flaky_rate": self._flaky_rate,
            "slow_submit_seconds": self._slow_submit_seconds,
            "task_seconds": self._task_seconds,
            "honour_idempotency": self.honour_idempotency,
            "latency": self._latency,
            "progress": self._progress_unit,
        }

    def _admin_configure(self, parsed: Mapping[str, Any], *, require_scenarios: bool) -> Response:
        scenarios = parsed.get("scenarios")
        if require_scenarios and scenarios is None:
            raise ValueError('body must be {"scenarios": [names...]}')
        if scenarios is not None and not isinstance(scenarios, (list, str)):
            raise ValueError("scenarios must be a list of names")
        for name in ("flaky_rate", "slow_submit_seconds", "task_seconds", "latency"):
            value = parsed.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise ValueError(f"{name} must be a number")
        if parsed.get("task_seconds") is not None:
            self._check_non_negative("task_seconds", parsed["task_seconds"])
        honour = parsed.get("honour_idempotency")
        if honour is not None and not isinstance(honour, bool):
            raise ValueError("honour_idempotency must be true or false")
        if parsed.get("latency") is not None:
            self._check_non_negative("latency", parsed["latency"])
        if parsed.get("progress") is not None:
            self._check_progress_unit(parsed["progress"])
        if scenarios is not None:
            self.set_scenarios(
                scenarios,
                flaky_rate=parsed.get("flaky_rate"),
                slow_submit_seconds=parsed.get("slow_submit_seconds"),
            )
        else:
            self.set_scenarios(
                self._scenarios,
                flaky_rate=parsed.get("flaky_rate"),
                slow_submit_seconds=parsed.get("slow_submit_seconds"),
            )
        if parsed.get("task_seconds") is not None:
            self.task_seconds = parsed["task_seconds"]
        if honour is not None:
            self.honour_idempotency = honour
        if parsed.get("latency") is not None:
            self.latency = parsed["latency"]
        if parsed.get("progress") is not None:
            self.progress_unit = parsed["progress"]
        return _envelope(200, 0, "ok", self._scenario_info())


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server that can drop idle keep-alive connections on shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: Emulator
    ) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def close_all_connections(self) -> None:
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client hang-ups are normal under load; only show them when asked to.
        if self.emulator.verbose:
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the Emulator for a Response, writes it with Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "CreatOK-Emulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    # Headers and body leave in one buffered write with Nagle off: two small writes on a
    # keep-alive connection otherwise meet the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        # wfile is buffered (see wbufsize): the interim 100 Continue must leave now.
        accepted = super().handle_expect_100()
        self.wfile.flush()
        return accepted

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            sys.stderr.write(f"[creatok-emulator] {self.address_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequest(400, "invalid Content-Length header") from None
        if length < 0:
            raise _BadRequest(400, "invalid Content-Length header")
        if length > MAX_BODY_BYTES:
            raise _BadRequest(413, f"request body too large (limit {MAX_BODY_BYTES} bytes)")
        data = self.rfile.read(length)
        if len(data) != length:
            raise _BadRequest(400, "request body shorter than Content-Length")
        return data

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            if len(out) + size > MAX_BODY_BYTES:
                raise _BadRequest(413, f"request body too large (limit {MAX_BODY_BYTES} bytes)")
            out += self.rfile.read(size)
            self.rfile.readline(1024)

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        try:
            body = self._read_body()
        except _BadRequest as exc:
            response = _envelope(exc.status, CODE_BAD_REQUEST, exc.message)
            response.close = True
        else:
            # A server that far away sees a request half a round trip after it was sent,
            # and its answer arrives half a round trip later.
            delay = 0.0 if self.path.startswith(ADMIN_PREFIX) else emulator.latency / 2
            time.sleep(delay)
            try:
                response = emulator.handle(self.command, self.path, self.headers.items(), body)
            except Exception:  # a bug in the emulator must not kill the connection thread
                traceback.print_exc(file=sys.stderr)
                response = _envelope(500, 500, "internal emulator error")
            time.sleep(delay)
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if response.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
        self.wfile.flush()

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch
    do_PATCH = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch


__all__ = [
    "ALLOWED_FILE_TYPES",
    "FAIL_MARKER",
    "PROGRESS_UNITS",
    "SANDBOX_API_KEY",
    "SCENARIO_HELP",
    "SCENARIO_NAMES",
    "Emulator",
    "Response",
    "Scenario",
    "load_capabilities",
    "normalize_capabilities",
]
