"""The CreatOK emulator, spoken to over real HTTP with plain httpx.

These tests pin the contract the rest of the project (and external harnesses)
rely on: envelopes, auth, signed upload/download URLs, validation without
charging, idempotency, the task clock, scenarios and the admin plane.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from _helpers import wait_until

from creatok_graph.emulator import SANDBOX_API_KEY, SCENARIO_NAMES, Emulator, Scenario
from creatok_graph.emulator.cli import main as cli_main
from creatok_graph.emulator.png import PNG_SIGNATURE, read_png_size

REPO_ROOT = Path(__file__).resolve().parents[2]
CAPS = "/api/open/skills/capabilities"
PRESIGN = "/api/open/skills/upload/image/presigned"
SUBMIT = "/api/open/skills/image-generation"
STATUS = "/api/open/skills/tasks/status"
AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}", "Accept": "application/json"}
GOOD = {"prompt": "a red fox", "model": "nano-banana-2", "resolution": "2K", "n": 1}

Factory = Callable[..., Emulator]

# One TLS context and one plain client for the module: building either costs ~40 ms each time,
# which dominated these tests. RAW carries no auth (signed storage/file URLs, admin, one-offs).
TLS = ssl.create_default_context()
RAW = httpx.Client(verify=TLS, timeout=10)


@pytest.fixture(scope="module", autouse=True)
def _close_raw() -> Iterator[None]:
    yield
    RAW.close()


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(verify=TLS, base_url=emulator.base_url, headers=AUTH, timeout=10) as c:
        yield c


def status_of(client: httpx.Client, task_id: str) -> dict[str, Any]:
    r = client.get(STATUS, params={"task_id": task_id, "task_type": "image_generation"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["code"] == 0, body
    data: dict[str, Any] = body["data"]
    return data


def submit(client: httpx.Client, **overrides: Any) -> httpx.Response:
    return client.post(SUBMIT, json={**GOOD, **overrides})


def wait_terminal(client: httpx.Client, task_id: str, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data = status_of(client, task_id)
        if data["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def presign_and_put(
    client: httpx.Client,
    payload: bytes = b"\x89PNG fake",
    *,
    name: str = "ref.png",
    ctype: str = "image/png",
) -> tuple[str, str]:
    r = client.post(
        PRESIGN,
        json={
            "fileName": name,
            "fileType": ctype,
            "fileSize": len(payload),
            "prefix": "open-skills/reference-images",
        },
    )
    data = r.json()["data"]
    put = RAW.put(data["presignedUploadUrl"], content=payload, headers={"Content-Type": ctype})
    assert put.status_code == 200, put.text
    return data["objectKey"], data["presignedUploadUrl"]


def xml_code(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("application/xml")
    m = re.search(r"<Code>([^<]+)</Code>", r.text)
    assert m, r.text
    return m.group(1)


def parse_png(data: bytes) -> tuple[int, int, bytes]:
    """Walk every chunk, check CRCs, return (width, height, decompressed pixels)."""
    assert data[:8] == PNG_SIGNATURE
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        payload = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + payload) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", payload[:10])
            assert (depth, color) == (8, 2)
        elif kind == b"IDAT":
            idat += payload
        pos += 12 + length
    assert kind == b"IEND"
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * 3)
    return width, height, raw


# ------------------------------------------------------------------------------ auth & caps


def test_auth_required_on_every_api_call(emulator: Emulator) -> None:
    with httpx.Client(verify=TLS, base_url=emulator.base_url) as c:
        for method, path in (("GET", CAPS), ("POST", PRESIGN), ("POST", SUBMIT), ("GET", STATUS)):
            for headers in (
                {},
                {"Authorization": "Bearer nope"},
                {"Authorization": SANDBOX_API_KEY},
            ):
                body: dict[str, Any] | None = {} if method == "POST" else None
                r = c.request(method, path, headers=headers, json=body)
                assert r.status_code == 401
                assert r.json() == {"code": 401, "msg": "invalid or missing API key", "data": {}}
        r = c.get(CAPS, headers={"Authorization": f"bearer {SANDBOX_API_KEY}"})
        assert r.status_code == 200
    assert emulator.stats()["submits"] == 0


def test_custom_api_key(emulator_factory: Factory) -> None:
    emu = emulator_factory(api_key="sk-other")
    assert RAW.get(emu.base_url + CAPS, headers=AUTH).status_code == 401
    ok = RAW.get(emu.base_url + CAPS, headers={"Authorization": "Bearer sk-other"})
    assert ok.status_code == 200


def test_capabilities_served_as_is(client: httpx.Client) -> None:
    r = client.get(CAPS)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data_file = REPO_ROOT / "creatok_graph/emulator/data/capabilities.json"
    assert r.json() == json.loads(data_file.read_text())
    image = r.json()["data"]["capabilities"]["image"]
    assert image["default_model"] in {m["id"] for m in image["models"]}
    assert "video" in r.json()["data"]["capabilities"]


@pytest.mark.parametrize("shape", ["envelope", "capabilities", "image", "file"])
def test_capabilities_normalized(emulator_factory: Factory, tmp_path: Path, shape: str) -> None:
    image = {
        "default_model": "m1",
        "models": [
            {
                "id": "m1",
                "label": "M1",
                "defaults": {"resolution": "1K", "n": 1},
                "limits": {
                    "resolutions": ["1K"],
                    "n": {"min": 1, "max": 2},
                    "aspect_ratios": None,
                    "max_reference_images": 0,
                },
            }
        ],
    }
    source: Any = {
        "envelope": {"code": 0, "msg": "ok", "data": {"capabilities": {"image": image}}},
        "capabilities": {"capabilities": {"image": image}},
        "image": {"image": image},
    }.get(shape)
    if shape == "file":
        path = tmp_path / "caps.json"
        path.write_text(json.dumps({"image": image}))
        source = str(path)
    emu = emulator_factory(capabilities=source)
    with httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH) as c:
        body = c.get(CAPS).json()
        assert body["code"] == 0 and body["data"]["capabilities"]["image"] == image
        # validation follows the served payload: no aspect-ratio list means pass-through
        ok = c.post(
            SUBMIT,
            json={"prompt": "x", "model": "m1", "resolution": "1K", "n": 2, "aspect_ratio": "21:9"},
        ).json()
        assert ok["code"] == 0
        bad = c.post(SUBMIT, json={"prompt": "x", "model": "m1", "resolution": "1K", "n": 3}).json()
        assert bad["code"] != 0 and "n" in bad["msg"]


def test_bad_capabilities_source_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        Emulator(capabilities=bad)
    with pytest.raises(ValueError):
        Emulator(capabilities={"something": 1})
    with pytest.raises(ValueError, match="cannot read"):
        Emulator(capabilities=tmp_path / "missing.json")


# ------------------------------------------------------------------------------ upload


def test_presign_and_put(emulator: Emulator, client: httpx.Client) -> None:
    payload = PNG_SIGNATURE + b"reference"
    r = client.post(
        PRESIGN,
        json={
            "fileName": "a.png",
            "fileType": "image/png",
            "fileSize": len(payload),
            "prefix": "open-skills/reference-images",
        },
    )
    body = r.json()
    assert r.status_code == 200 and body["code"] == 0
    url, key = body["data"]["presignedUploadUrl"], body["data"]["objectKey"]
    assert re.fullmatch(r"open-skills/reference-images/[0-9a-f]{32}/a\.png", key)
    assert url.startswith(f"{emulator.base_url}/_storage/{key}?")
    assert "%2F" in url and "%3B" in url and "X-Amz-Signature=" in url
    put = RAW.put(url, content=payload, headers={"Content-Type": "image/png"})
    assert put.status_code == 200 and put.content == b"" and put.headers["etag"]
    assert emulator.uploads[key] == payload
    stats = emulator.stats()
    assert (stats["presigns"], stats["uploads"], stats["submits"]) == (1, 1, 0)
    # the uploaded key is now usable in a submission
    r = submit(client, imageObjectKeys=[key])
    assert r.json()["code"] == 0
    assert emulator.tasks[r.json()["data"]["task_id"]]["imageObjectKeys"] == [key]


def test_put_refusals(emulator: Emulator, client: httpx.Client) -> None:
    payload = b"0123456789"
    r = client.post(
        PRESIGN,
        json={
            "fileName": "b.jpg",
            "fileType": "image/jpeg",
            "fileSize": len(payload),
            "prefix": "p",
        },
    )
    url = r.json()["data"]["presignedUploadUrl"]
    jpeg = {"Content-Type": "image/jpeg"}

    wrong_type = RAW.put(url, content=payload, headers={"Content-Type": "image/png"})
    assert wrong_type.status_code == 403 and xml_code(wrong_type) == "SignatureDoesNotMatch"
    wrong_size = RAW.put(url, content=payload + b"!", headers=jpeg)
    assert wrong_size.status_code == 403 and xml_code(wrong_size) == "SignatureDoesNotMatch"
    two_auth = RAW.put(url, content=payload, headers={**jpeg, **AUTH})
    assert two_auth.status_code == 400 and xml_code(two_auth) == "InvalidArgument"
    decoded = url.replace("%2F", "/").replace("%3B", ";")
    altered = RAW.put(decoded, content=payload, headers=jpeg)
    assert altered.status_code == 403 and xml_code(altered) == "SignatureDoesNotMatch"
    tampered = RAW.put(url[:-1] + ("0" if url[-1] != "0" else "1"), content=payload, headers=jpeg)
    assert tampered.status_code == 403
    no_sig = RAW.put(url.split("?")[0], content=payload, headers=jpeg)
    assert no_sig.status_code == 403 and xml_code(no_sig) == "AccessDenied"
    assert emulator.stats()["uploads"] == 0 and not emulator.uploads
    assert RAW.put(url, content=payload, headers=jpeg).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fileName", ""),
        ("fileName", None),
        ("fileType", "image/bmp"),
        ("fileType", None),
        ("fileSize", 0),
        ("fileSize", -3),
        ("fileSize", "12"),
        ("fileSize", True),
        ("fileSize", 1.5),
    ],
)
def test_presign_validation(client: httpx.Client, field: str, value: Any) -> None:
    body = {"fileName": "a.png", "fileType": "image/png", "fileSize": 10, "prefix": "p"}
    body[field] = value
    r = client.post(PRESIGN, json=body)
    assert r.status_code == 200
    assert r.json()["code"] != 0 and field in r.json()["msg"]


# ------------------------------------------------------------------------------ submit


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"seed": 3}, "seed"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"model": "dall-e-9"}, "model"),
        ({"model": None}, "model"),
        ({"model": "seedream-5.0-lite", "resolution": "1K"}, "resolution"),
        ({"resolution": "8K"}, "resolution"),
        ({"n": 0}, "n"),
        ({"n": 5}, "n"),
        ({"n": "2"}, "n"),
        ({"n": True}, "n"),
        ({"n": 1.5}, "n"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"aspect_ratio": 16}, "aspect_ratio"),
        ({"imageObjectKeys": "k"}, "imageObjectKeys"),
        ({"imageObjectKeys": ["never/uploaded.png"]}, "imageObjectKeys"),
    ],
)
def test_submit_validation_refuses_without_charging(
    emulator: Emulator, client: httpx.Client, overrides: dict[str, Any], field: str
) -> None:
    body = {**GOOD, **overrides}
    body = {k: v for k, v in body.items() if not (k in ("prompt", "model") and v is None)}
    r = client.post(SUBMIT, json=body)
    assert r.status_code == 200
    env = r.json()
    assert env["code"] != 0 and field in env["msg"], env
    stats = emulator.stats()
    assert stats["submits"] == 0 and stats["submit_requests"] == 1 and not emulator.tasks


def test_submit_refusal_names_allowed_values(client: httpx.Client) -> None:
    msg = submit(client, model="seedream-5.0-lite", resolution="1K").json()["msg"]
    assert "2K" in msg and "4K" in msg
    msg = submit(client, aspect_ratio="4:3").json()["msg"]
    assert "16:9" in msg
    msg = submit(client, model="nope").json()["msg"]
    assert "nano-banana-2" in msg
    msg = submit(client, n=9).json()["msg"]
    assert "1" in msg and "4" in msg


def test_too_many_reference_images(client: httpx.Client) -> None:
    keys = [presign_and_put(client)[0] for _ in range(6)]
    r = submit(client, imageObjectKeys=keys)
    assert r.json()["code"] != 0 and "imageObjectKeys" in r.json()["msg"]
    assert submit(client, imageObjectKeys=keys[:5]).json()["code"] == 0


def test_malformed_bodies(emulator: Emulator, client: httpx.Client) -> None:
    for content in (b"{not json", b"[1, 2]", b"\xff\xfe", b""):
        r = client.post(SUBMIT, content=content, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] != 0
        r = client.post(PRESIGN, content=content, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] != 0
    assert emulator.stats()["submits"] == 0
    # the server is still healthy
    assert client.get(CAPS).status_code == 200


def test_garbage_on_the_wire_does_not_kill_the_server(emulator: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        s.recv(4096)
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as s:
        s.sendall(
            b"POST " + SUBMIT.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n"
        )
        assert b" 400 " in s.recv(4096).split(b"\r\n")[0] + b" "
    assert RAW.get(emulator.base_url + CAPS, headers=AUTH).status_code == 200


def test_unknown_endpoint_and_method(client: httpx.Client) -> None:
    r = client.get("/api/open/skills/nothing")
    assert r.status_code == 404 and r.json()["code"] == 404
    r = client.delete(SUBMIT)
    assert r.status_code == 405 and r.json()["code"] != 0


def test_idempotency_key(emulator: Emulator, client: httpx.Client) -> None:
    first = client.post(SUBMIT, json=GOOD, headers={"Idempotency-Key": "k-1"}).json()
    again = client.post(
        SUBMIT,
        content=json.dumps(GOOD, indent=2),
        headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
    ).json()
    assert first["code"] == 0 and again == first
    other = client.post(SUBMIT, json={**GOOD, "n": 2}, headers={"Idempotency-Key": "k-1"})
    assert other.json()["code"] != 0
    stats = emulator.stats()
    assert stats["submits"] == 1 and stats["idempotent_replays"] == 1
    assert stats["submit_requests"] == 3
    # a refused request does not burn its key
    refused = client.post(SUBMIT, json={**GOOD, "n": 0}, headers={"Idempotency-Key": "k-2"})
    assert refused.json()["code"] != 0
    assert client.post(SUBMIT, json=GOOD, headers={"Idempotency-Key": "k-2"}).json()["code"] == 0
    assert emulator.stats()["submits"] == 2


# ------------------------------------------------------------------------------ lifecycle


def test_lifecycle_queued_running_succeeded(emulator_factory: Factory) -> None:
    emu = emulator_factory(task_seconds=1.0)
    with httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH) as c:
        r = submit(c, n=3, aspect_ratio="16:9")
        assert r.status_code == 200
        data = r.json()["data"]
        assert re.fullmatch(r"task_[0-9a-f]+", data["task_id"]) and data["status"] == "queued"
        task_id = data["task_id"]
        assert status_of(c, task_id)["status"] == "queued"
        assert wait_until(lambda: status_of(c, task_id)["status"] != "queued", 5)
        running = status_of(c, task_id)
        assert running["status"] == "running"
        assert isinstance(running["progress"], int) and 0 <= running["progress"] <= 99
        assert "result" not in running
        done = wait_terminal(c, task_id)
        assert done["status"] == "succeeded" and done["progress"] == 100
        images = done["result"]["images"]
        assert len(images) == 3
        assert all(set(img) >= {"url", "thumbnail_url"} for img in images)
        assert status_of(c, task_id) == done  # URLs are stable, byte for byte
        stats = emu.stats()
        assert stats["submits"] == 1 and stats["credits"] == 3
        assert emu.tasks[task_id]["status"] == "succeeded"


def test_zero_task_seconds_finishes_at_once(emulator_factory: Factory) -> None:
    emu = emulator_factory(task_seconds=0)
    with httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH) as c:
        task_id = submit(c).json()["data"]["task_id"]
        assert status_of(c, task_id)["status"] == "succeeded"


def test_fail_marker(emulator: Emulator, client: httpx.Client) -> None:
    task_id = submit(client, prompt="a fox [fail]").json()["data"]["task_id"]
    data = wait_terminal(client, task_id)
    assert data["status"] == "failed" and data["error"]["message"]
    assert "result" not in data
    assert emulator.stats()["submits"] == 1  # a failed task was still charged


def test_status_errors(client: httpx.Client) -> None:
    r = client.get(STATUS, params={"task_id": "task_nope", "task_type": "image_generation"})
    assert r.status_code == 404 and r.json() == {"code": 404, "msg": "task not found", "data": {}}
    r = client.get(STATUS, params={"task_type": "image_generation"})
    assert r.json()["code"] != 0 and "task_id" in r.json()["msg"]
    task_id = submit(client).json()["data"]["task_id"]
    r = client.get(STATUS, params={"task_id": task_id, "task_type": "video_generation"})
    assert r.json()["code"] != 0 and "task_type" in r.json()["msg"]


def test_png_images(emulator_factory: Factory) -> None:
    emu = emulator_factory(task_seconds=0)
    with httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH) as c:
        for ratio, expected in (("1:1", (64, 64)), ("16:9", (128, 72)), ("9:16", (72, 128))):
            task_id = submit(c, n=2, aspect_ratio=ratio).json()["data"]["task_id"]
            images = status_of(c, task_id)["result"]["images"]
            pixels = []
            for img in images:
                r = RAW.get(img["url"])
                assert r.status_code == 200 and r.headers["content-type"] == "image/png"
                w, h, raw = parse_png(r.content)
                assert (w, h) == expected == read_png_size(r.content)
                pixels.append(raw)
                thumb = RAW.get(img["thumbnail_url"])
                assert thumb.status_code == 200
                assert read_png_size(thumb.content) == (expected[0] // 2, expected[1] // 2)
            assert pixels[0] != pixels[1]  # distinct per image index
        task_id = submit(c).json()["data"]["task_id"]
        default_url = status_of(c, task_id)["result"]["images"][0]["url"]
        assert read_png_size(RAW.get(default_url).content) == (64, 64)  # no aspect ratio
        assert emu.stats()["downloads"] >= 12


def test_altered_image_url_is_refused(emulator_factory: Factory) -> None:
    emu = emulator_factory(task_seconds=0)
    with httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH) as c:
        url = status_of(c, submit(c, n=2).json()["data"]["task_id"])["result"]["images"][0]["url"]
    assert "%2F" in url and "%3B" in url
    assert RAW.get(url).status_code == 200
    for altered in (
        url.replace("%2F", "/"),
        url.replace("%3B", ";"),
        url.replace("/0.png", "/1.png"),
        url.split("&X-Amz-Signature=")[0],
        url + "&extra=1",
        url.split("?")[0],
    ):
        r = RAW.get(altered)
        assert r.status_code == 403, altered
        assert xml_code(r) in ("SignatureDoesNotMatch", "AccessDenied")


# ------------------------------------------------------------------------------ scenarios


def test_scenario_task_failure(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios([Scenario.TASK_FAILURE])
    data = wait_terminal(client, submit(client).json()["data"]["task_id"])
    assert data["status"] == "failed" and "task-failure" in data["error"]["message"]


def test_scenario_flaky_503_is_deterministic(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["flaky-503"])
    codes = [client.get(CAPS).status_code for _ in range(6)]
    assert codes == [200, 503, 200, 503, 200, 503]
    assert client.get(CAPS).status_code == 200
    assert submit(client).json()["code"] == 0  # POSTs are never affected
    emulator.set_scenarios(["flaky-503"], flaky_rate=1.0)
    assert {client.get(CAPS).status_code for _ in range(3)} == {503}
    emulator.set_scenarios(["flaky-503"], flaky_rate=0.25)
    assert [client.get(CAPS).status_code for _ in range(8)].count(503) == 2


def test_scenario_rate_limit(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["rate-limit"])
    first, second = client.get(CAPS), client.get(CAPS)
    assert first.status_code == 200
    assert second.status_code == 429 and second.headers["retry-after"] == "1"
    assert second.json()["code"] != 0


def test_scenario_unauthorized(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["unauthorized"])
    assert client.get(CAPS).status_code == 401
    assert submit(client).status_code == 401
    assert emulator.stats()["submits"] == 0


def test_scenario_submit_error(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["submit-error"])
    r = submit(client)
    assert r.status_code == 200
    assert r.json()["code"] == 10001 and r.json()["msg"] == "insufficient credits"
    assert emulator.stats()["submits"] == 0


def test_scenario_slow_submit(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["slow-submit"], slow_submit_seconds=0.4)
    started = time.monotonic()
    r = submit(client)
    assert time.monotonic() - started >= 0.35
    assert r.json()["code"] == 0 and emulator.stats()["submits"] == 1
    # a client that gives up still got charged: the task exists server-side
    with pytest.raises(httpx.ReadTimeout):
        client.post(SUBMIT, json=GOOD, timeout=0.1)
    assert wait_until(lambda: emulator.stats()["submits"] == 2, 10)


def test_scenario_broken_capabilities(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["broken-capabilities"])
    image = client.get(CAPS).json()["data"]["capabilities"]["image"]
    assert image["default_model"] not in {m["id"] for m in image["models"]}


def test_scenario_non_json(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["non-json"])
    for r in (client.get(CAPS), submit(client)):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.text)
    assert emulator.stats()["submits"] == 0


def test_scenario_submit_503_and_status_500(emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_scenarios(["submit-503"])
    r = submit(client)
    assert r.status_code == 503 and r.json()["code"] != 0
    assert emulator.stats()["submits"] == 0 and emulator.stats()["submit_requests"] == 1
    emulator.set_scenarios([])
    task_id = submit(client).json()["data"]["task_id"]
    emulator.set_scenarios(["status-500"])
    r = client.get(STATUS, params={"task_id": task_id, "task_type": "image_generation"})
    assert r.status_code == 500


def test_scenarios_missing_task_id_stuck_alt_extra(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.set_scenarios(["missing-task-id"])
    r = submit(client).json()
    assert r["code"] == 0 and "task_id" not in r["data"]
    assert emulator.stats()["submits"] == 1

    emulator.set_scenarios(["stuck-task", "alt-statuses", "extra-fields"])
    emulator.task_seconds = 1.0  # queued for 0.2 s, then never finishes
    body = submit(client).json()
    assert "request_id" in body
    task_id = body["data"]["task_id"]
    assert status_of(client, task_id)["status"] == "pending"
    time.sleep(1.1)
    data = status_of(client, task_id)
    assert data["status"] == "processing" and data["progress"] <= 99 and "eta_seconds" in data
    assert emulator.tasks[task_id]["status"] == "running"


def test_scenario_no_progress(emulator: Emulator, client: httpx.Client) -> None:
    emulator.task_seconds = 0.4
    plain = status_of(client, submit(client).json()["data"]["task_id"])
    assert "progress" in plain
    emulator.set_scenarios(["no-progress"])
    task_id = submit(client).json()["data"]["task_id"]
    assert "progress" not in status_of(client, task_id)
    done = wait_terminal(client, task_id)
    assert done["status"] == "succeeded" and "progress" not in done and done["result"]["images"]


def test_every_scenario_is_known_and_documented(capsys: pytest.CaptureFixture[str]) -> None:
    assert {s.value for s in Scenario} == set(SCENARIO_NAMES)
    assert {
        "task-failure",
        "flaky-503",
        "rate-limit",
        "unauthorized",
        "submit-error",
        "slow-submit",
        "broken-capabilities",
        "non-json",
        "submit-503",
    } <= set(SCENARIO_NAMES)
    assert cli_main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SCENARIO_NAMES:
        assert name in out
    with pytest.raises(ValueError, match="unknown scenario"):
        Emulator(scenarios=["nope"])


# ------------------------------------------------------------------------------ admin & API


def test_admin_endpoints(emulator: Emulator, client: httpx.Client) -> None:
    base = emulator.base_url
    submit(client)
    stats = RAW.get(base + "/_emulator/stats").json()["data"]
    assert stats["submits"] == 1 and stats["submit_requests"] == 1
    assert stats["requests"][f"POST {SUBMIT}"] == 1
    assert len(RAW.get(base + "/_emulator/tasks").json()["data"]["tasks"]) == 1

    r = RAW.post(base + "/_emulator/scenarios", json={"scenarios": ["submit-error"]})
    assert r.status_code == 200 and r.json()["data"]["scenarios"] == ["submit-error"]
    assert submit(client).json()["code"] == 10001
    bad = RAW.post(base + "/_emulator/scenarios", json={"scenarios": ["nope"]})
    assert bad.status_code == 400 and bad.json()["code"] != 0
    assert RAW.post(base + "/_emulator/scenarios", content=b"{x").status_code == 400
    assert RAW.get(base + "/_emulator/scenarios").json()["data"]["scenarios"] == ["submit-error"]
    RAW.post(base + "/_emulator/scenarios", json={"scenarios": []})

    r = RAW.post(base + "/_emulator/config", json={"task_seconds": 0})
    assert r.json()["data"]["task_seconds"] == 0

    reset = RAW.post(base + "/_emulator/reset").json()["data"]
    assert reset["submits"] == 0 and reset["requests"] == {}
    assert not emulator.tasks and emulator.stats()["submits"] == 0


def test_python_api(emulator: Emulator, client: httpx.Client) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.base_url)
    task_id = submit(client).json()["data"]["task_id"]
    view = emulator.tasks
    assert task_id in view
    with pytest.raises(TypeError):
        view["x"] = {}  # type: ignore[index]
    assert emulator.get_task("missing") is None
    with pytest.raises(RuntimeError):
        emulator.start()
    emulator.reset()
    assert emulator.get_task(task_id) is None and emulator.stats()["status"] == 0
    emulator.stop()
    emulator.stop()  # idempotent
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{emulator.port}{CAPS}", timeout=1, verify=TLS)


def test_context_manager_and_stop_with_open_keepalive() -> None:
    with Emulator(task_seconds=0) as emu:
        c = httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH)
        assert c.get(CAPS).status_code == 200  # leaves an idle keep-alive connection open
        started = time.monotonic()
    assert time.monotonic() - started < 3
    c.close()


def test_keepalive_reuses_connection(emulator: Emulator) -> None:
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as s:
        request = (
            f"GET {CAPS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SANDBOX_API_KEY}\r\n\r\n"
        ).encode()
        f = s.makefile("rb")
        for _ in range(3):
            s.sendall(request)
            status = f.readline()
            assert status.startswith(b"HTTP/1.1 200")
            length = None
            while (line := f.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            json.loads(f.read(length))


def test_200_concurrent_clients(emulator_factory: Factory) -> None:
    emu = emulator_factory(task_seconds=0)
    with httpx.Client(verify=TLS, base_url=emu.base_url, headers=AUTH) as c:
        task_id = submit(c, n=2).json()["data"]["task_id"]
    barrier = threading.Barrier(200, timeout=10)
    clients = [
        httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=20, verify=TLS)
        for _ in range(200)
    ]

    def poll(i: int) -> int:
        barrier.wait()  # 200 separate clients, all requests in flight at once
        r = clients[i].get(STATUS, params={"task_id": task_id, "task_type": "image_generation"})
        assert r.json()["data"]["status"] == "succeeded"
        return r.status_code

    try:
        with ThreadPoolExecutor(max_workers=200) as pool:
            codes = list(pool.map(poll, range(200)))
    finally:
        for c in clients:
            c.close()
    assert codes == [200] * 200
    assert emu.stats()["status"] == 200


# ------------------------------------------------------------------------------ CLI


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "creatok_graph.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


def test_cli_serves_and_stops_cleanly_on_signals() -> None:
    # Both processes start together: importing the package dominates their start-up time.
    term = _spawn(
        "--port",
        "0",
        "--task-seconds",
        "0",
        "--api-key",
        "sk-cli",
        "--scenario",
        "submit-error,rate-limit",
        "--scenario",
        "extra-fields",
    )
    intr = _spawn("--port", "0")
    try:
        assert term.stdout is not None and intr.stdout is not None
        line = term.stdout.readline().strip()
        m = re.fullmatch(
            r"CreatOK emulator listening on (http://127\.0\.0\.1:(\d+)) \(api key: sk-cli\)", line
        )
        assert m, line
        assert int(m.group(2)) > 0
        base = m.group(1)
        headers = {"Authorization": "Bearer sk-cli"}
        assert RAW.get(base + CAPS, headers=headers).status_code == 200
        assert RAW.post(base + SUBMIT, json=GOOD, headers=headers).json()["code"] == 10001
        scen = RAW.get(base + "/_emulator/scenarios").json()["data"]["scenarios"]
        assert scen == ["extra-fields", "rate-limit", "submit-error"]
        line = intr.stdout.readline()
        assert line.startswith("CreatOK emulator listening on http://127.0.0.1:"), line
        assert line.rstrip().endswith(f"(api key: {SANDBOX_API_KEY})")
    finally:
        term.send_signal(signal.SIGTERM)
        intr.send_signal(signal.SIGINT)
        _, term_err = term.communicate(timeout=10)
        _, intr_err = intr.communicate(timeout=10)
    assert term.returncode == 0, term_err
    assert intr.returncode == 0, intr_err
    assert "Traceback" not in term_err + intr_err


def test_cli_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "caps.json"
    bad.write_text("not json")
    for args in (
        ["--capabilities", str(bad)],
        ["--capabilities", str(tmp_path / "none.json")],
        ["--scenario", "nope"],
        ["--flaky-rate", "0"],
        ["--task-seconds", "-1"],
        ["--port", "70000"],
    ):
        assert cli_main(["--port", "0", *args]) == 2
