"""``Creatok`` and ``AsyncCreatok`` against the emulator over real HTTP.

Every test runs twice, once per client, through the same code: ``call``
awaits what the async client returns and passes the sync client's answers on.
Retry counts are read from the emulator (server side), never from the client.
"""

from __future__ import annotations

import inspect
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from creatok_graph import _retry
from creatok_graph._flow import Flow, run_async, run_sync
from creatok_graph.client import AsyncCreatok, Creatok, TaskStatus
from creatok_graph.emulator import SANDBOX_API_KEY, Emulator
from creatok_graph.emulator.png import gradient_png, read_png_size
from creatok_graph.errors import (
    API_KEYS_URL,
    APIConnectionError,
    APIResponseError,
    APITimeoutError,
    AuthenticationError,
    ContractError,
    CreatokError,
    InvalidResponseError,
    NotFoundError,
    ServerError,
    TaskFailedError,
    UploadError,
)

Client = Creatok | AsyncCreatok
MakeClient = Callable[..., Client]
BODY = {"prompt": "a red fox in snow", "model": "nano-banana-2", "resolution": "1K", "n": 1}
WRONG_KEY = "sk-wrong-key-0123456789"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff in milliseconds; Retry-After (server-chosen) is still honoured as sent."""
    monkeypatch.setattr(_retry, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(_retry, "MAX_BACKOFF", 0.02)
    monkeypatch.delenv("CREATOK_API_KEY", raising=False)
    monkeypatch.delenv("CREATOK_BASE_URL", raising=False)


@pytest.fixture(params=["sync", "async"])
async def make_client(
    request: pytest.FixtureRequest, emulator: Emulator
) -> AsyncIterator[MakeClient]:
    """Build the parametrized client kind (emulator URL and key unless overridden)."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        options.setdefault("base_url", emulator.base_url)
        options.setdefault("api_key", emulator.api_key)
        client: Client = (Creatok if request.param == "sync" else AsyncCreatok)(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, AsyncCreatok):
            await client.aclose()
        else:
            client.close()


@pytest.fixture
def client(make_client: MakeClient) -> Client:
    return make_client()


async def call(client: Client, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``method`` on either client; await the async one."""
    result = getattr(client, method)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


async def run_flow(client: Client, flow: Flow[Any]) -> Any:
    """Drive a ``CreatokAPI`` flow with the client's own connection pool."""
    if isinstance(client, AsyncCreatok):
        return await run_async(flow, client.http)
    return run_sync(flow, client.http)


def requests_to(emulator: Emulator, method: str, path: str) -> int:
    return int(emulator.stats()["requests"].get(f"{method} /api/open/skills/{path}", 0))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def png(tmp_path: Path) -> Path:
    path = tmp_path / "ref image.png"
    path.write_bytes(gradient_png(24, 16, seed=7))
    return path


# -- the happy path -------------------------------------------------------------------------


async def test_capabilities(client: Client, emulator: Emulator) -> None:
    caps = await call(client, "get_capabilities")
    assert caps.default_model == "nano-banana-2"
    assert [m.id for m in caps.models] == [
        m["id"] for m in emulator.capabilities["data"]["capabilities"]["image"]["models"]
    ]
    assert emulator.stats()["capabilities"] == 1


async def test_upload_real_png_verbatim(client: Client, emulator: Emulator, png: Path) -> None:
    content = gradient_png(24, 16, seed=7)  # what the png fixture wrote
    key = await call(client, "upload_image", png)
    assert key.startswith("open-skills/reference-images/") and key.endswith("/ref image.png")
    assert emulator.uploads[key] == content and read_png_size(content) == (24, 16)
    stats = emulator.stats()
    assert (stats["presign_requests"], stats["upload_requests"], stats["uploads"]) == (1, 1, 1)


async def test_signed_url_is_sent_byte_for_byte(client: Client, emulator: Emulator) -> None:
    """The emulator refuses an altered URL, so the accepted PUT proves it went verbatim."""
    content = gradient_png(8, 8, seed=1)
    flow = client.api.presign_upload("a.png", "image/png", len(content))
    presigned = await run_flow(client, flow)
    assert "%2F" in presigned.url and "%3B" in presigned.url
    altered = presigned.url.replace("%2F", "/")
    with pytest.raises(UploadError) as info:
        await run_flow(client, client.api.put_object(altered, content, "image/png"))
    assert info.value.status_code == 403 and "SignatureDoesNotMatch" in str(info.value)
    await run_flow(client, client.api.put_object(presigned.url, content, "image/png"))
    assert emulator.uploads[presigned.object_key] == content


async def test_submit_sends_idempotency_key(client: Client, emulator: Emulator) -> None:
    answer = await call(client, "submit", BODY, idempotency_key="run-42-attempt-1")
    assert answer.task_id.startswith("task_") and answer.status == "queued"
    task = emulator.get_task(answer.task_id)
    assert task is not None and task["idempotency_key"] == "run-42-attempt-1"
    other = await call(client, "submit", BODY)
    generated = emulator.get_task(other.task_id)
    assert generated is not None and generated["idempotency_key"]  # one is always sent
    assert generated["idempotency_key"] != "run-42-attempt-1"


async def test_submit_with_reference_and_lifecycle(
    client: Client, emulator: Emulator, png: Path
) -> None:
    emulator.task_seconds = 1.0  # queued for 0.2 s, then running, then succeeded
    key = await call(client, "upload_image", png)
    answer = await call(client, "submit", {**BODY, "n": 2, "imageObjectKeys": [key]})
    first: TaskStatus = await call(client, "get_status", answer.task_id)
    assert first.status == "queued" and not first.is_terminal
    seen: list[str] = []
    final = await call(
        client, "wait", answer.task_id, timeout=10, on_update=lambda s, _e: seen.append(s.status)
    )
    assert final.status == "succeeded" and final.is_terminal
    assert "running" in seen and seen[-1] == "succeeded"
    assert len(final.images) == 2
    assert final.images == final.raw["result"]["images"]  # handed on untouched
    async with httpx.AsyncClient() as http:  # the signed URL works exactly as received
        got = await http.get(final.images[0]["url"])
    assert got.status_code == 200 and read_png_size(got.content)[0] > 0
    assert emulator.get_task(answer.task_id)["imageObjectKeys"] == [key]  # type: ignore[index]


async def test_wait_raises_task_failed(client: Client) -> None:
    answer = await call(client, "submit", {**BODY, "prompt": "a fox [fail]"})
    with pytest.raises(TaskFailedError) as info:
        await call(client, "wait", answer.task_id, timeout=10)
    assert info.value.task_id == answer.task_id
    assert info.value.status.status == "failed"
    assert "rejected" in str(info.value)


# -- every error class ----------------------------------------------------------------------


async def test_wrong_key_is_authentication_error(
    make_client: MakeClient, emulator: Emulator
) -> None:
    client = make_client(api_key=WRONG_KEY)
    with pytest.raises(AuthenticationError) as info:
        await call(client, "get_capabilities")
    message = str(info.value)
    assert API_KEYS_URL in message and "CREATOK_API_KEY" in message
    assert WRONG_KEY not in message and WRONG_KEY not in repr(info.value)
    assert info.value.status_code == 401
    assert emulator.stats()["capabilities"] == 1  # 401 is not retried


@pytest.mark.parametrize("method", ["get_capabilities", "submit", "get_status"])
async def test_missing_key_fails_before_any_request(
    make_client: MakeClient, emulator: Emulator, method: str
) -> None:
    client = make_client(api_key=None)
    args = {"get_capabilities": (), "submit": (BODY,), "get_status": ("task_x",)}[method]
    with pytest.raises(AuthenticationError, match="CREATOK_API_KEY"):
        await call(client, method, *args)
    assert emulator.stats()["requests"] == {}


async def test_key_from_environment(
    make_client: MakeClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREATOK_API_KEY", SANDBOX_API_KEY)
    monkeypatch.setenv("CREATOK_BASE_URL", emulator.base_url + "/")
    client = make_client(api_key=None, base_url=None)
    assert client.base_url == emulator.base_url
    assert (await call(client, "get_capabilities")).default_model == "nano-banana-2"


async def test_unknown_task_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        await call(client, "get_status", "task_does_not_exist")
    assert info.value.status_code == 404


async def test_code_not_zero_is_api_response_error(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["submit-error"])
    with pytest.raises(APIResponseError) as info:
        await call(client, "submit", BODY)
    assert info.value.code == 10001 and info.value.msg == "insufficient credits"
    assert info.value.status_code == 200
    assert emulator.stats()["submit_requests"] == 1 and emulator.stats()["credits"] == 0


async def test_non_json_is_invalid_response(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["non-json"])
    with pytest.raises(InvalidResponseError, match="not JSON"):
        await call(client, "get_capabilities")


async def test_broken_capabilities_is_contract_error(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["broken-capabilities"])
    with pytest.raises(ContractError) as info:
        await call(client, "get_capabilities")
    assert info.value.field == "capabilities.image.default_model"
    assert "capabilities.image.default_model" in str(info.value)


async def test_submit_503_is_never_retried(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["submit-503"])
    with pytest.raises(ServerError) as info:
        await call(client, "submit", BODY)
    assert info.value.status_code == 503
    assert emulator.stats()["submit_requests"] == 1
    assert requests_to(emulator, "POST", "image-generation") == 1


async def test_status_500_is_server_error_after_retries(
    client: Client, emulator: Emulator
) -> None:
    answer = await call(client, "submit", BODY)
    emulator.set_scenarios(["status-500"])
    with pytest.raises(ServerError) as info:
        await call(client, "get_status", answer.task_id)
    assert info.value.status_code == 500
    assert emulator.stats()["status"] == 1 + _retry.MAX_RETRIES


async def test_connection_refused(make_client: MakeClient) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(APIConnectionError) as info:
        await call(client, "get_capabilities")
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.request_sent is False
    with pytest.raises(APIConnectionError) as info:
        await call(client, "submit", BODY)  # nothing left this machine: retrying was safe
    assert info.value.request_sent is False


async def test_slow_submit_times_out_once(make_client: MakeClient, emulator: Emulator) -> None:
    emulator.set_scenarios(["slow-submit"], slow_submit_seconds=1.5)
    client = make_client(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        await call(client, "submit", BODY)
    assert time.monotonic() - started < 1.4
    assert info.value.request_sent is True  # the outcome is unknown: may be charged
    assert emulator.stats()["submit_requests"] == 1


async def test_missing_task_id_is_contract_error(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["missing-task-id"])
    with pytest.raises(ContractError) as info:
        await call(client, "submit", BODY)
    assert info.value.field == "data.task_id"
    assert emulator.stats()["submit_requests"] == 1


async def test_every_error_is_a_creatok_error(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["unauthorized"])
    with pytest.raises(CreatokError):
        await call(client, "get_capabilities")


# -- retries seen from the server -----------------------------------------------------------


async def test_flaky_503_gets_retried(client: Client, emulator: Emulator) -> None:
    answer = await call(client, "submit", BODY)
    emulator.set_scenarios(["flaky-503"])  # every 2nd GET answers 503
    for _ in range(3):
        await call(client, "get_capabilities")
    status = await call(client, "get_status", answer.task_id)
    assert status.status in ("queued", "running", "succeeded")
    # every 2nd GET failed and was retried once: 4 answers took 7 requests (1 ok, 3 x 503+ok)
    assert emulator.stats()["capabilities"] == 5
    assert emulator.stats()["status"] == 2
    assert emulator.stats()["submit_requests"] == 1


async def test_rate_limit_honours_retry_after(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["rate-limit"])  # every 2nd GET: 429 with Retry-After: 1
    await call(client, "get_capabilities")
    started = time.monotonic()
    caps = await call(client, "get_capabilities")
    waited = time.monotonic() - started
    assert caps.default_model == "nano-banana-2"
    assert waited >= 0.95  # the server asked for 1 s; backoff alone would be ~0.02 s
    assert emulator.stats()["capabilities"] == 3


# -- the contract's tolerance ---------------------------------------------------------------


async def test_extra_fields_tolerated(client: Client, emulator: Emulator, png: Path) -> None:
    emulator.set_scenarios(["extra-fields"])
    await call(client, "get_capabilities")
    key = await call(client, "upload_image", png)
    answer = await call(client, "submit", {**BODY, "imageObjectKeys": [key]})
    assert "estimated_seconds" in answer.raw
    final = await call(client, "wait", answer.task_id, timeout=10)
    assert final.status == "succeeded" and "eta_seconds" in final.raw
    assert final.images[0]["mime_type"] == "image/png"


async def test_alt_statuses_tolerated(client: Client, emulator: Emulator) -> None:
    emulator.set_scenarios(["alt-statuses"])
    emulator.task_seconds = 0.6
    answer = await call(client, "submit", BODY)
    seen: list[str] = []
    final = await call(
        client, "wait", answer.task_id, timeout=10, on_update=lambda s, _e: seen.append(s.status)
    )
    assert final.status == "succeeded"
    assert seen[0] == "pending" and "processing" in seen


async def test_one_pool_per_client(client: Client, emulator: Emulator) -> None:
    pool = client.http
    await call(client, "get_capabilities")
    await call(client, "get_capabilities")
    assert client.http is pool and not pool.is_closed
    assert repr(client) == f"{type(client).__name__}(base_url={emulator.base_url!r})"


async def test_key_never_logged(
    make_client: MakeClient, emulator: Emulator, caplog: pytest.LogCaptureFixture, png: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG
    client = make_client()
    await call(client, "get_capabilities")
    await call(client, "upload_image", png)
    answer = await call(client, "submit", BODY)
    await call(client, "get_status", answer.task_id)
    with pytest.raises(AuthenticationError):
        await call(make_client(api_key=WRONG_KEY), "get_capabilities")
    assert caplog.records  # something was logged...
    assert SANDBOX_API_KEY not in caplog.text and WRONG_KEY not in caplog.text  # ...but no key
