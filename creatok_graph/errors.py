"""One error hierarchy for everything that can go wrong talking to CreatOK.

Callers catch :class:`CreatokError` for "anything from this package" and the
subclasses when they want to react differently (re-ask for a key on
:class:`AuthenticationError`, offer a retry on :class:`ServerError`...).
Messages are written for people: they say what happened and what to do, and
never contain the API key.
"""

from __future__ import annotations

from typing import Any

API_KEYS_URL = "https://www.creatok.ai/app/workspace/api-keys"


class CreatokError(Exception):
    """Base class of every error raised by creatok-graph."""

    #: A short machine-readable kind, used as the run's error status.
    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(CreatokError):
    """Local configuration is unusable (for example no API key at all)."""

    kind = "configuration_error"


class InvalidRequestError(CreatokError):
    """The request breaks the model's limits; caught before anything is paid."""

    kind = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str = "invalid",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.params = params or {}


class APIError(CreatokError):
    """An answer from CreatOK that is not a success.

    ``url`` is the endpoint that answered (scheme, host, port, path; never the query or
    credentials); ``retry_after`` the seconds its ``Retry-After`` header asked for.
    """

    kind = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
        body: Any = None,
        url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.body = body
        self.url = url
        self.retry_after = retry_after


class APIStatusError(APIError):
    """CreatOK answered with an HTTP error status."""


class AuthenticationError(APIStatusError):
    """HTTP 401: the key is missing or wrong."""

    kind = "auth_error"


class NotFoundError(APIStatusError):
    """HTTP 404: wrong base URL, or an unknown task id (``task_id`` set: the status check)."""

    kind = "not_found"

    def __init__(self, message: str, *, task_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task_id = task_id


class RateLimitError(APIStatusError):
    """HTTP 429 after the retries ran out; ``retry_after`` is the server's hint, if any."""

    kind = "rate_limited"


class ServerError(APIStatusError):
    """HTTP 5xx: trouble on CreatOK's side."""

    kind = "server_error"


class APIResponseError(APIError):
    """The envelope said ``code != 0`` (it may come with HTTP 200)."""

    kind = "api_error"

    @property
    def msg(self) -> str:
        """CreatOK's own ``msg`` (also the message)."""
        return self.message


class InvalidResponseError(APIError):
    """The body was not the JSON envelope (a proxy page, a wrong base URL)."""

    kind = "invalid_response"


class ContractError(APIError):
    """The answer is JSON but breaks the published contract; names the field."""

    kind = "contract_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UploadError(APIError):
    """Object storage refused a reference image upload."""

    kind = "upload_error"


class APIConnectionError(CreatokError):
    """The connection failed; ``request_sent`` says whether bytes left us."""

    kind = "connection_error"

    def __init__(self, message: str, *, request_sent: bool = True, url: str | None = None
                 ) -> None:
        super().__init__(message)
        self.request_sent = request_sent
        self.url = url


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    kind = "timeout"


class TaskFailedError(CreatokError):
    """CreatOK reports the generation task as failed; ``status`` is its last answer."""

    kind = "failed"

    def __init__(self, message: str, *, task_id: str | None = None, status: Any = None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.status = status


class TaskTimeoutError(CreatokError):
    """We stopped waiting; the task itself may still finish."""

    kind = "timeout"

    def __init__(
        self, message: str, *, task_id: str | None = None, last_status: Any = None
    ) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.last_status = last_status


SUBMISSION_FAILURE_IGNORED = (401, 409, 429)
"""HTTP statuses of a refused submit that say nothing about the integration (a key, a
duplicate, a busy server)."""


def is_submission_failure(exc: CreatokError) -> bool:
    """Does this failed submit count towards CreatOK's "the integration may be outdated"
    hint? Only a request CreatOK answered but would not take, or answered in a way we do
    not understand; not a transient network, server or auth error."""
    if isinstance(exc, (APIConnectionError, ServerError)):
        return False
    if isinstance(exc, APIStatusError):
        return exc.status_code not in SUBMISSION_FAILURE_IGNORED
    return isinstance(exc, APIError)


def auth_error_message() -> str:
    """What to tell a person whose key is missing or refused."""
    return (
        "The CreatOK API key is missing or not valid. Create one at "
        f"{API_KEYS_URL} and set it in the CREATOK_API_KEY environment variable."
    )


__all__ = [
    "API_KEYS_URL",
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConfigurationError",
    "ContractError",
    "CreatokError",
    "InvalidRequestError",
    "InvalidResponseError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "TaskFailedError",
    "TaskTimeoutError",
    "UploadError",
    "auth_error_message",
    "is_submission_failure",
]
