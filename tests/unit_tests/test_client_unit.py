"""The client without a server: ``httpx.MockTransport`` and flows driven by hand.

Retry decisions are checked by driving the endpoint flows manually (``drive``),
so every ``Sleep`` the flow asks for is recorded instead of slept.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from creatok_graph import _retry
from creatok_graph._flow import Flow, Send, SingleFlight, Sleep, run_async
from creatok_graph.client import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    UPLOAD_TIMEOUT,
    AsyncCreatok,
    Creatok,
    CreatokAPI,
    parse_status,
    raise_for_response,
)
from creatok_graph.errors import (
    API_KEYS_URL,
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
    UploadError,
)

KEY = "sk-unit-SECRET-7f3a9c"
BASE = "https://api.test"
BODY = {"prompt": "a fox", "model": "nano-banana-2", "resolution": "2K", "n": 1}
SIGNED = (
    "https://bucket.storage.test/open-skills/reference-images/ab%2Fcd/a%20b.png"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=sandbox%2F20250101%2Fus-east-1%2Fs3"
    "&X-Amz-SignedHeaders=content-type%3Bhost&x-id=PutObject&X-Amz-Signature=0a1b2c"
)
CAPS = json.loads((Path(__file__).parents[2] / "creatok_graph/emulator/data/capabilities.json")
                  .read_text())

Answer = Callable[[httpx.Request], httpx.Response] | Exception


def ok(data: Any = None, **headers: str) -> Answer:
    return lambda req: httpx.Response(
        200, json={"code": 0, "msg": "ok", "data": data or {}}, headers=headers, request=req
    )


def status(code: int, body: Any = None, *, text: str | None = None, **headers: str) -> Answer:
    def answer(req: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(code, text=text, headers=headers, request=req)
        return httpx.Response(code, json=body, headers=headers, request=req)

    return answer


class Script:
    """Answers requests in order (the last answer repeats) and records them."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request)


def drive(flow: Flow[Any], script: Script) -> tuple[Any, list[float]]:
    """Run a flow by hand: ``Send`` answered by ``script``, ``Sleep`` recorded, not slept."""
    sleeps: list[float] = []
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value, sleeps
        value, error = None, None
        if isinstance(effect, Send):
            try:
                value = script(effect.request)
            except Exception as exc:
                error = exc
        elif isinstance(effect, Sleep):
            sleeps.append(effect.seconds)
        else:
            value = effect.run_sync(None)


def api(**kwargs: Any) -> CreatokAPI:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("base_url", BASE)
    return CreatokAPI(**kwargs)


def mock_client(script: Script, **kwargs: Any) -> Creatok:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("base_url", BASE)
    return Creatok(transport=httpx.MockTransport(script), **kwargs)


def exc_of(fn: Callable[[], Any]) -> CreatokError:
    with pytest.raises(CreatokError) as info:
        fn()
    return info.value


def assert_no_key(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(error.args), str(vars(error))):
        assert KEY not in text


# -- status mapping -----------------------------------------------------------------------

REQ = httpx.Request("GET", BASE + "/api/open/skills/capabilities")

MAPPING = [
    (401, {"code": 401, "msg": "invalid key"}, None, AuthenticationError, None),
    (404, {"code": 404, "msg": "task not found"}, None, NotFoundError, None),
    (429, {"code": 429, "msg": "slow down"}, None, RateLimitError, None),
    (500, {"code": 500, "msg": "boom"}, None, ServerError, None),
    (502, None, "<html>bad gateway</html>", ServerError, None),
    (503, {"code": 503, "msg": "unavailable"}, None, ServerError, None),
    (504, None, "", ServerError, None),
    (200, None, "<!DOCTYPE html><p>It works!</p>", InvalidResponseError, None),
    (200, {"code": 10001, "msg": "insufficient credits"}, None, APIResponseError, None),
    (200, {"status": "ok", "data": {}}, None, ContractError, "code"),
    (200, {"code": "0", "msg": "ok", "data": {}}, None, ContractError, "code"),
    (200, {"code": True, "msg": "ok", "data": {}}, None, ContractError, "code"),
    (200, [1, 2, 3], None, InvalidResponseError, None),
    (200, {"code": 0, "msg": "ok", "data": [1]}, None, ContractError, "data"),
    (200, {"code": 0, "msg": "ok", "data": "x"}, None, ContractError, "data"),
    (400, {"code": 40001, "msg": "invalid parameter n"}, None, APIStatusError, None),
    (403, None, "<html>forbidden</html>", InvalidResponseError, None),
]


@pytest.mark.parametrize(("code", "body", "text", "error", "field"), MAPPING)
def test_status_mapping(
    code: int, body: Any, text: str | None, error: type[CreatokError], field: str | None
) -> None:
    response = status(code, body, text=text)(REQ)
    raised = exc_of(lambda: raise_for_response(response, "the capabilities request"))
    assert type(raised) is error
    assert isinstance(raised, APIError)
    if field is not None:
        assert isinstance(raised, ContractError) and raised.field == field
        assert field in str(raised) or f"'{field}'" in str(raised)
    if isinstance(raised, APIStatusError):
        assert raised.status_code == code
    assert_no_key(raised)


def mapped(answer: Answer) -> CreatokError:
    assert not isinstance(answer, Exception)
    return exc_of(lambda: raise_for_response(answer(REQ), "the test request"))


def test_mapping_details() -> None:
    auth = mapped(status(401, {}))
    assert "missing or not valid" in str(auth) and API_KEYS_URL in str(auth)
    assert "CREATOK_API_KEY" in str(auth)
    api_error = mapped(status(200, {"code": 10001, "msg": "insufficient credits"}))
    assert isinstance(api_error, APIResponseError)
    assert (api_error.code, api_error.msg) == (10001, "insufficient credits")
    assert api_error.status_code == 200
    refused = mapped(status(400, {"code": 40001, "msg": "bad n"}))
    assert isinstance(refused, APIStatusError) and refused.code == 40001 and "bad n" in str(refused)
    limited = mapped(status(429, {}, **{"Retry-After": "90"}))
    assert isinstance(limited, RateLimitError) and limited.retry_after == 90
    assert "90 s" in str(limited)
    assert "not JSON" in str(mapped(status(200, text="<p>")))


def test_success_without_data_is_empty() -> None:
    assert raise_for_response(status(200, {"code": 0, "msg": "ok"})(REQ), "x") == {}
    assert raise_for_response(status(200, {"code": 0, "msg": "ok", "data": None})(REQ), "x") == {}
    answer = {"code": 0, "msg": "ok", "data": {"a": 1}, "request_id": "r1"}
    assert raise_for_response(status(200, answer)(REQ), "x") == {"a": 1}


@pytest.mark.parametrize("code", [401, 404, 429, 500, 502, 503, 504])
def test_status_mapping_through_the_client(code: int) -> None:
    script = Script(status(code, {"code": code, "msg": "no"}))
    with mock_client(script, max_retries=0) as client:
        error = exc_of(client.get_capabilities)
    assert isinstance(error, APIStatusError) and error.status_code == code
    assert len(script.requests) == 1
    assert_no_key(error)


# -- retry decisions ----------------------------------------------------------------------

NOT_SENT = [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")]
MAYBE_SENT = [
    httpx.ReadTimeout("slow"),
    httpx.WriteTimeout("slow"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    httpx.ReadError("reset"),
    httpx.WriteError("broken pipe"),
]


@pytest.mark.parametrize("error", NOT_SENT, ids=lambda e: type(e).__name__)
def test_submit_retried_when_nothing_was_sent(error: Exception) -> None:
    script = Script(error, ok({"task_id": "t1", "status": "queued"}))
    result, sleeps = drive(api().submit(BODY), script)
    assert result.task_id == "t1" and len(script.requests) == 2 and len(sleeps) == 1
    assert script.requests[0].headers["Idempotency-Key"] == script.requests[1].headers[
        "Idempotency-Key"
    ]


@pytest.mark.parametrize("error", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_submit_never_retried_once_bytes_may_have_left(error: Exception) -> None:
    script = Script(error, ok({"task_id": "t1"}))
    with pytest.raises(APIConnectionError) as info:
        drive(api().submit(BODY), script)
    assert len(script.requests) == 1
    assert info.value.request_sent is True
    assert isinstance(info.value, APITimeoutError) == isinstance(error, httpx.TimeoutException)


@pytest.mark.parametrize("error", NOT_SENT + MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_get_retried_on_transport_errors(error: Exception) -> None:
    script = Script(error, ok({"status": "running", "progress": 40}))
    result, sleeps = drive(api().get_status("t1"), script)
    assert result.status == "running" and len(script.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_submit_never_retried_on_status(code: int) -> None:
    script = Script(status(code, {"code": code, "msg": "no"}, **{"Retry-After": "1"}), ok())
    with pytest.raises(APIStatusError):
        drive(api().submit(BODY), script)
    assert len(script.requests) == 1


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_get_retried_on_status(code: int) -> None:
    script = Script(status(code, {"code": code, "msg": "no"}), ok({"status": "queued"}))
    result, sleeps = drive(api().get_status("t1"), script)
    assert result.status == "queued" and len(script.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("code", [400, 401, 403, 404])
def test_get_not_retried_on_client_errors(code: int) -> None:
    script = Script(status(code, {"code": code, "msg": "no"}), ok({"status": "queued"}))
    with pytest.raises(CreatokError):
        drive(api().get_status("t1"), script)
    assert len(script.requests) == 1


def test_presign_and_put_are_retried() -> None:
    script = Script(
        status(503, {"code": 503, "msg": "busy"}),
        ok({"presignedUploadUrl": SIGNED, "objectKey": "k/a.png"}),
    )
    presigned, _ = drive(api().presign_upload("a.png", "image/png", 3), script)
    assert presigned.url == SIGNED and len(script.requests) == 2
    script = Script(httpx.ReadTimeout("slow"), status(503, text="<Error/>"), status(200, text=""))
    drive(api().put_object(SIGNED, b"abc", "image/png"), script)
    assert len(script.requests) == 3


def test_unusable_url_is_not_retried() -> None:
    script = Script(httpx.UnsupportedProtocol("Request URL has an unsupported protocol"))
    with pytest.raises(APIConnectionError):
        drive(api().get_capabilities(), script)
    assert len(script.requests) == 1


@pytest.mark.parametrize("max_retries", [0, 1, 3, 5])
def test_max_retries_respected(max_retries: int) -> None:
    script = Script(status(503, {"code": 503, "msg": "busy"}))
    with pytest.raises(ServerError):
        drive(api(max_retries=max_retries).get_capabilities(), script)
    assert len(script.requests) == 1 + max_retries
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        drive(api(max_retries=max_retries).submit(BODY), script)
    assert len(script.requests) == 1 + max_retries and info.value.request_sent is False


def test_default_retries_and_backoff_grow() -> None:
    script = Script(status(503, {"code": 503, "msg": "busy"}))
    with pytest.raises(ServerError):
        drive(api().get_capabilities(), script)
    assert len(script.requests) == 1 + _retry.MAX_RETRIES
    script = Script(*[status(503, {})] * 3, ok({"status": "queued"}))
    _, sleeps = drive(api().get_status("t"), script)
    for attempt, slept in enumerate(sleeps):
        ceiling = min(_retry.MAX_BACKOFF, _retry.INITIAL_DELAY * 2**attempt)
        assert ceiling / 2 <= slept <= ceiling


def test_retry_after_seconds_honoured() -> None:
    script = Script(status(429, {"code": 429}, **{"Retry-After": "2"}), ok({"status": "queued"}))
    _, sleeps = drive(api().get_status("t"), script)
    assert sleeps == [2.0]
    script = Script(status(503, {"code": 503}, **{"Retry-After": "1"}), ok({"status": "queued"}))
    _, sleeps = drive(api().get_status("t"), script)
    assert sleeps == [1.0]


def test_retry_after_http_date_honoured() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=5), usegmt=True)
    script = Script(status(429, {"code": 429}, **{"Retry-After": when}), ok({"status": "queued"}))
    _, sleeps = drive(api().get_status("t"), script)
    assert len(sleeps) == 1 and 3.5 <= sleeps[0] <= 5.0


def test_retry_after_too_long_is_an_error_now() -> None:
    script = Script(status(429, {"code": 429}, **{"Retry-After": "3600"}), ok({"status": "queued"}))
    with pytest.raises(RateLimitError) as info:
        drive(api().get_status("t"), script)
    assert len(script.requests) == 1 and info.value.retry_after == 3600


def test_retry_after_unreadable_falls_back_to_backoff() -> None:
    script = Script(status(429, {"code": 429}, **{"Retry-After": "soon"}), ok({"status": "queued"}))
    _, sleeps = drive(api().get_status("t"), script)
    assert len(sleeps) == 1 and sleeps[0] <= _retry.INITIAL_DELAY


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("1.5", 1.5), ("0", 0.0), ("-4", 0.0), (" 7 ", 7.0), ("", None),
     ("soon", None), ("nan", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_parsing(value: str, expected: float | None) -> None:
    response = httpx.Response(429, headers={"Retry-After": value} if value else {})
    assert _retry.retry_after_seconds(response) == expected


def test_backoff_bounds() -> None:
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(_retry.MAX_BACKOFF, _retry.INITIAL_DELAY * 2**attempt)
        for _ in range(50):
            delay = _retry.backoff_delay(attempt, rng)
            assert ceiling / 2 <= delay <= ceiling <= _retry.MAX_BACKOFF
    spread = {round(_retry.backoff_delay(3, rng), 6) for _ in range(20)}
    assert len(spread) > 10  # jittered, not fixed


def test_retry_policy_table() -> None:
    idem, paid = _retry.RetryMode.IDEMPOTENT, _retry.RetryMode.PAID
    for error in NOT_SENT:
        assert _retry.should_retry_error(paid, error) and _retry.should_retry_error(idem, error)
    for error in MAYBE_SENT:
        assert not _retry.should_retry_error(paid, error) and _retry.should_retry_error(idem, error)
    assert not _retry.should_retry_error(idem, httpx.UnsupportedProtocol("ftp"))
    for code in (429, 500, 502, 503, 504):
        assert _retry.should_retry_status(idem, code) and not _retry.should_retry_status(paid, code)
    for code in (200, 400, 401, 404, 409):
        assert not _retry.should_retry_status(idem, code)


# -- the signed upload ------------------------------------------------------------------------


def test_put_is_verbatim_and_unauthenticated() -> None:
    script = Script(status(200, text=""))
    drive(api().put_object(SIGNED, b"\x89PNG-bytes", "image/png"), script)
    (put,) = script.requests
    assert "authorization" not in put.headers
    assert str(put.url) == SIGNED
    raw = SIGNED.split("bucket.storage.test", 1)[1].encode()
    assert put.url.raw_path == raw  # what goes on the request line, byte for byte
    assert b"%2F" in put.url.raw_path and b"%3B" in put.url.raw_path
    assert put.headers["Content-Type"] == "image/png"
    assert put.headers["Content-Length"] == str(len(b"\x89PNG-bytes"))
    assert put.content == b"\x89PNG-bytes"
    assert put.extensions["timeout"] == UPLOAD_TIMEOUT.as_dict()


def test_put_refused_is_upload_error() -> None:
    xml = "<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>"
    script = Script(status(403, text=xml, **{"Content-Type": "application/xml"}))
    with pytest.raises(UploadError) as info:
        drive(api().put_object(SIGNED, b"x", "image/png"), script)
    assert info.value.status_code == 403 and "SignatureDoesNotMatch" in str(info.value)
    assert len(script.requests) == 1


def test_put_connection_error_names_the_storage_host() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        drive(api(max_retries=0).put_object(SIGNED, b"x", "image/png"), script)
    assert "bucket.storage.test" in str(info.value) and "api.test" not in str(info.value)


def test_upload_image_end_to_end(tmp_path: Path) -> None:
    image = tmp_path / "photo.JPG"
    image.write_bytes(b"\xff\xd8\xff-jpeg-bytes")
    script = Script(
        ok({"presignedUploadUrl": SIGNED, "objectKey": "open-skills/reference-images/x/photo.JPG"}),
        status(200, text=""),
    )
    with mock_client(script) as client:
        key = client.upload_image(image)
    assert key == "open-skills/reference-images/x/photo.JPG"
    presign, put = script.requests
    assert presign.method == "POST"
    assert presign.url == BASE + "/api/open/skills/upload/image/presigned"
    assert presign.headers["Authorization"] == f"Bearer {KEY}"
    assert json.loads(presign.content) == {
        "fileName": "photo.JPG",
        "fileType": "image/jpeg",
        "fileSize": len(b"\xff\xd8\xff-jpeg-bytes"),
        "prefix": "open-skills/reference-images",
    }
    assert put.method == "PUT" and "authorization" not in put.headers
    assert put.url.raw_path == SIGNED.split("bucket.storage.test", 1)[1].encode()
    assert put.content == image.read_bytes() and put.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("name", ["notes.txt", "image.bmp", "noext"])
def test_upload_refuses_other_types_before_any_call(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"data")
    script = Script(ok())
    with mock_client(script) as client, pytest.raises(InvalidRequestError) as info:
        client.upload_image(tmp_path / name)
    assert info.value.reason == "reference_type" and ".png" in str(info.value)
    assert script.requests == []


def test_upload_missing_or_empty_file_before_any_call(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    script = Script(ok())
    with mock_client(script) as client:
        for name, reason in (("gone.png", "reference_missing"), ("empty.png", "reference_empty")):
            with pytest.raises(InvalidRequestError) as info:
                client.upload_image(tmp_path / name)
            assert info.value.reason == reason
    assert script.requests == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"objectKey": "k"}, "data.presignedUploadUrl"),
        ({"presignedUploadUrl": SIGNED}, "data.objectKey"),
        ({"presignedUploadUrl": 5, "objectKey": "k"}, "data.presignedUploadUrl"),
    ],
)
def test_presign_answer_checked(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError) as info:
        drive(api().presign_upload("a.png", "image/png", 3), Script(ok(data)))
    assert info.value.field == field


# -- headers, body, timeouts, configuration -----------------------------------------------------


def test_headers_and_bodies() -> None:
    script = Script(
        ok(CAPS["data"]),
        ok({"task_id": "t1", "status": "queued"}),
        ok({"status": "running", "progress": 50}),
    )
    with mock_client(script, timeout=7.0) as client:
        client.get_capabilities()
        client.submit(BODY, idempotency_key="idem-1")
        client.get_status("t1")
    caps, submit, status_ = script.requests
    for request in script.requests:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert request.headers["Accept"] == "application/json"
        assert request.extensions["timeout"] == httpx.Timeout(7.0).as_dict()
    assert caps.method == "GET" and "content-type" not in caps.headers
    assert submit.method == "POST" and submit.url == BASE + "/api/open/skills/image-generation"
    assert submit.headers["Content-Type"] == "application/json"
    assert submit.headers["Idempotency-Key"] == "idem-1"
    assert json.loads(submit.content) == BODY
    assert status_.url.path == "/api/open/skills/tasks/status"
    assert dict(status_.url.params) == {"task_id": "t1", "task_type": "image_generation"}


def test_default_timeout_is_explicit() -> None:
    script = Script(ok(CAPS["data"]))
    with mock_client(script) as client:
        client.get_capabilities()
    assert script.requests[0].extensions["timeout"] == DEFAULT_TIMEOUT.as_dict()
    assert all(v is not None for v in DEFAULT_TIMEOUT.as_dict().values())


def test_idempotency_key_generated_when_absent() -> None:
    script = Script(ok({"task_id": "t1"}))
    with mock_client(script) as client:
        assert client.submit(BODY).status == "queued"  # status absent: queued
        client.submit(BODY)
    first, second = (r.headers["Idempotency-Key"] for r in script.requests)
    assert first and second and first != second


def test_submit_without_task_id_is_contract_error() -> None:
    with pytest.raises(ContractError) as info:
        drive(api().submit(BODY), Script(ok({"status": "queued"})))
    assert info.value.field == "data.task_id"


def test_configuration_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREATOK_BASE_URL", raising=False)
    monkeypatch.setenv("CREATOK_API_KEY", KEY)
    assert CreatokAPI().base_url == DEFAULT_BASE_URL == "https://www.creatok.ai"
    monkeypatch.setenv("CREATOK_BASE_URL", "http://localhost:8765/ ")
    script = Script(ok(CAPS["data"]))
    with Creatok(transport=httpx.MockTransport(script)) as client:
        assert client.base_url == "http://localhost:8765"
        client.get_capabilities()
    assert script.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert str(script.requests[0].url) == "http://localhost:8765/api/open/skills/capabilities"
    assert CreatokAPI(base_url="https://other.test", api_key="explicit").base_url == (
        "https://other.test"
    )


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    monkeypatch.delenv("CREATOK_API_KEY", raising=False)
    script = Script(ok())
    with mock_client(script, api_key=key) as client:
        error = exc_of(client.get_capabilities)
    assert isinstance(error, AuthenticationError) and API_KEYS_URL in str(error)
    assert script.requests == []


@pytest.mark.parametrize("bad", [f"{KEY}\nX-Evil: 1", f"{KEY} trailing-part", f"{KEY}é"])
def test_malformed_key_refused_without_echo(bad: str) -> None:
    script = Script(ok())
    with mock_client(script, api_key=bad) as client:
        error = exc_of(lambda: client.submit(BODY))
    assert isinstance(error, AuthenticationError)
    assert KEY not in str(error) and KEY not in repr(error)
    assert script.requests == []


def test_key_absent_from_repr_and_errors() -> None:
    script = Script(status(401, {"code": 401, "msg": "invalid or missing API key"}))
    sync_client = mock_client(script)
    async_client = AsyncCreatok(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(script))
    for obj in (sync_client, async_client, sync_client.api, async_client.api):
        assert KEY not in repr(obj) and KEY not in str(obj)
    errors = [exc_of(sync_client.get_capabilities)]
    for error in (httpx.ConnectError("refused"), httpx.ReadTimeout("slow")):
        with pytest.raises(CreatokError) as info:
            drive(api(max_retries=0).submit(BODY), Script(error))
        errors.append(info.value)
    for error in errors:
        assert_no_key(error)
        assert error.__cause__ is None
    sync_client.close()


# -- status answers ---------------------------------------------------------------------------


def test_parse_status_shapes() -> None:
    done = parse_status("t", {"status": "succeeded", "result": {"images": [
        {"url": "https://x/1.png?X-Amz-Signature=a%2Fb", "thumbnail_url": "https://x/t.png"}]},
        "progress": 100}, None)
    assert done.is_terminal and done.images[0]["url"] == "https://x/1.png?X-Amz-Signature=a%2Fb"
    failed = parse_status("t", {"status": "failed", "error": {"message": "nsfw"}}, None)
    assert failed.is_terminal and failed.error_message == "nsfw"
    odd = parse_status("t", {"status": "processing", "progress": True, "extra": 1}, 3.0)
    assert not odd.is_terminal and odd.progress is None and odd.retry_after == 3.0
    assert parse_status("t", {"status": "running", "progress": 42}, None).progress == 42.0


@pytest.mark.parametrize(
    ("data", "field"),
    [({}, "data.status"), ({"status": ""}, "data.status"), ({"status": 3}, "data.status"),
     ({"status": "succeeded"}, "data.result.images"),
     ({"status": "succeeded", "result": {"images": []}}, "data.result.images"),
     ({"status": "succeeded", "result": {"images": [{"thumbnail_url": "t"}]}},
      "data.result.images[0].url"),
     ({"status": "succeeded", "result": {"images": [{"url": "u"}, "x"]}},
      "data.result.images[1].url")],
)
def test_parse_status_contract(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_status("t", data, None)
    assert info.value.field == field


# -- the async client runs the very same flows --------------------------------------------------


async def test_async_client_same_behaviour() -> None:
    script = Script(
        httpx.ConnectError("refused"),
        ok({"task_id": "t1", "status": "queued"}),
        status(503, {}),
        ok({"status": "succeeded", "result": {"images": [{"url": "u"}]}}),
    )
    monkey = pytest.MonkeyPatch()
    monkey.setattr(_retry, "INITIAL_DELAY", 0.001)
    try:
        async with AsyncCreatok(
            api_key=KEY, base_url=BASE, transport=httpx.MockTransport(script)
        ) as client:
            answer = await client.submit(BODY, idempotency_key="k")
            final = await client.wait(answer.task_id, timeout=5)
    finally:
        monkey.undo()
    assert final.status == "succeeded" and len(script.requests) == 4
    assert script.requests[1].headers["Authorization"] == f"Bearer {KEY}"


async def test_async_submit_not_retried_after_read_timeout() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok({"task_id": "t1"}))
    async with AsyncCreatok(api_key=KEY, base_url=BASE, transport=httpx.MockTransport(script)) as c:
        with pytest.raises(APITimeoutError):
            await c.submit(BODY)
    assert len(script.requests) == 1


# -- the drivers ----------------------------------------------------------------------------------


def test_cancelled_flow_cleans_up_at_once() -> None:
    cleaned: list[str] = []

    def flow() -> Flow[None]:
        try:
            yield Sleep(10)
        finally:
            cleaned.append("done")

    async def main() -> None:
        task = asyncio.create_task(run_async(flow()))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cleaned == ["done"]  # not left for the garbage collector

    asyncio.run(main())


def test_single_flight_across_event_loops() -> None:
    cache = SingleFlight(ttl=0.0)  # always stale: every call fetches
    fetched: list[int] = []

    def fetch() -> Flow[int]:
        yield Sleep(0.001)
        fetched.append(1)
        return len(fetched)

    def flow() -> Flow[int]:
        value: int = yield cache.effect("caps", fetch)
        return value

    async def burst() -> list[int]:
        return list(await asyncio.gather(*(run_async(flow()) for _ in range(5))))

    for _ in range(3):  # a fresh loop each time, as asyncio.run makes
        assert len(asyncio.run(burst())) == 5
    assert len(fetched) == 15  # always stale: serialised, each caller fetched
    assert len(cache._async_locks) == 0  # nothing kept once nobody waits
    fetched.clear()
    cache = SingleFlight(ttl=60.0)
    assert asyncio.run(burst()) == [1] * 5  # five callers, one fetch
    assert asyncio.run(burst()) == [1] * 5 and len(fetched) == 1  # cached across loops
    gc.collect()
    assert len(cache._async_locks) == 0


def test_async_requests_in_flight_are_bounded_and_spread_over_the_small_pools() -> None:
    """Hundreds of concurrent runs never put more than ``limit`` requests on the wire, and
    each small pool carries its share (httpcore's bookkeeping grows with a pool's size)."""
    import asyncio

    from creatok_graph.client import BoundedAsyncTransport

    total = peak_total = 0
    per_shard = [0, 0, 0, 0]
    peak_shard = [0, 0, 0, 0]

    def shard(i: int) -> httpx.AsyncBaseTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            nonlocal total, peak_total
            total += 1
            per_shard[i] += 1
            peak_total = max(peak_total, total)
            peak_shard[i] = max(peak_shard[i], per_shard[i])
            await asyncio.sleep(0.005)
            total -= 1
            per_shard[i] -= 1
            return httpx.Response(200, json={"i": i})

        return httpx.MockTransport(handler)

    async def main() -> list[int]:
        transport = BoundedAsyncTransport([shard(i) for i in range(4)], limit=8)
        async with httpx.AsyncClient(transport=transport) as client:
            answers = await asyncio.gather(
                *(client.get("http://creatok.test/x") for _ in range(200)))
        return [a.json()["i"] for a in answers]

    used = asyncio.run(main())
    assert len(used) == 200 and peak_total == 8
    assert peak_shard == [2, 2, 2, 2] and all(used.count(i) >= 40 for i in range(4))
