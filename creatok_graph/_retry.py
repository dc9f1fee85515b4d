"""Retry policy for CreatOK calls, in one place.

Idempotent calls (GETs, the presign call, the signed upload PUT) are retried
with exponential backoff and jitter on connection trouble, 429 (honouring
``Retry-After``) and 500/502/503/504. The paid submit is retried only when the
connection could not even be opened: then nothing was sent, so nothing can
have been charged.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import Enum

import httpx

MAX_RETRIES = 3
"""Retries after the first attempt (so at most four requests)."""

INITIAL_DELAY = 0.5
MAX_BACKOFF = 8.0
"""Longest pause between two retries of an idempotent request (seconds)."""
MAX_RETRY_AFTER = 60.0
"""A server asking us to wait longer than this gets a clear error instead."""

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try of an idempotent request."""

NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
"""httpx errors raised before any byte of the request left this machine."""

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)
"""Errors worth retrying for an idempotent request (not a bad URL or a local bug)."""


class RetryMode(Enum):
    IDEMPOTENT = "idempotent"
    """Safe to repeat: status checks, capabilities, presign, signed PUT."""

    PAID = "paid"
    """Costs money: repeat only if the request provably never left."""


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: uniform in [ceiling/2, ceiling] (attempt from 0)."""
    ceiling = min(MAX_BACKOFF, INITIAL_DELAY * (2**attempt))
    return (rng or random).uniform(ceiling / 2, ceiling)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if unusable."""
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return None if math.isnan(seconds) else max(0.0, seconds)


def should_retry_error(mode: RetryMode, exc: Exception) -> bool:
    """Retry a transport error? Always if nothing was sent; otherwise only if idempotent."""
    if isinstance(exc, NOT_SENT_ERRORS):
        return True
    return mode is RetryMode.IDEMPOTENT and isinstance(exc, TRANSIENT_ERRORS)


def should_retry_status(mode: RetryMode, status_code: int) -> bool:
    """Retry an HTTP status? Never for the paid submit: it may have been charged."""
    return mode is RetryMode.IDEMPOTENT and status_code in RETRYABLE_STATUS
