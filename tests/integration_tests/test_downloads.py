"""Copies of the images after a success, over real HTTP against the emulator's signed URLs.

The emulator serves real PNG bytes (and real JPEG bytes under ``jpeg-images``, at URLs
that still end in ``.png``), records the headers of every image GET, and answers like
expired object storage under ``expired-urls``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from typing import Any

import httpx
import pytest
from blockbuster import blockbuster_ctx
from graph_support import APPROVE, PROMPT, Harness, last_text
from langgraph.types import Command

from creatok_graph import CreatokContext
from creatok_graph.image_types import sniff_image_bytes
from creatok_graph.messages import text

ES_PROMPT = "un zorro rojo sentado en un bosque de abedules nevado al amanecer, acuarela"


async def _generate(
    h: Harness, prompt: str = PROMPT, n: int = 3, **extra: object
) -> dict[str, Any]:
    await h.invoke({"prompt": prompt, "n": n, **extra})
    return await h.resume(APPROVE)


async def test_each_image_is_kept_byte_for_byte_and_named_by_its_bytes(h2: Harness) -> None:
    h2.emulator.set_scenarios(["jpeg-images"])  # image 2 is a JPEG behind a ".png" URL
    done = await _generate(h2)
    assert done["status"] == "succeeded"
    record = h2.result_json()
    served = record["raw"]["result"]["images"]
    # The URLs stay exactly as CreatOK sent them; the copies are described beside them.
    assert [(i["url"], i["thumbnail_url"]) for i in record["images"]] == [
        (i["url"], i["thumbnail_url"]) for i in served
    ]
    assert record["images"] == done["images"]
    outputs = h2.root / "t1" / "outputs"
    expected_types = ["image/png", "image/jpeg", "image/png"]
    for index, (image, ctype) in enumerate(zip(record["images"], expected_types, strict=True), 1):
        async with httpx.AsyncClient() as client:  # what the image host serves
            body = (await client.get(image["url"])).content
        ext = {"image/png": ".png", "image/jpeg": ".jpg"}[ctype]
        assert image["file"] == f"images/image-{index}{ext}"
        kept = (outputs / image["file"]).read_bytes()
        assert kept == body
        assert image["sha256"] == hashlib.sha256(body).hexdigest()
        assert image["bytes"] == len(body)
        assert image["content_type"] == ctype
        sniffed = sniff_image_bytes(body)
        assert sniffed is not None and (image["width"], image["height"]) == (64, 64) == (
            sniffed.width, sniffed.height)
    # Atomic: nothing half-written is left, and the gallery points at the copies.
    assert sorted(p.name for p in (outputs / "images").iterdir()) == [
        "image-1.png", "image-2.jpg", "image-3.png"]
    page = (outputs / "index.html").read_text(encoding="utf-8")
    assert 'src="images/image-2.jpg"' in page
    assert "saved as: images/image-2.jpg" in h2.result_md()
    # The message names no problem: every copy was made.
    assert text("en", "download_still_succeeded") not in last_text(done)


async def test_the_api_key_never_reaches_the_image_host(h2: Harness) -> None:
    await _generate(h2, n=2)
    gets = [r for r in h2.emulator.file_requests if r["method"] == "GET"]
    assert len(gets) == 2  # one per image, nothing more
    for request in gets:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert "authorization" not in headers
        assert not any(h2.emulator.api_key in value for value in headers.values()), headers


async def test_expired_links_leave_a_succeeded_run_that_says_so(h2: Harness) -> None:
    h2.emulator.set_scenarios(["expired-urls"])
    done = await _generate(h2, n=2)
    assert done["status"] == "succeeded" and done["error"] is None
    record = h2.result_json()
    assert record["status"] == "succeeded"
    served = record["raw"]["result"]["images"]
    assert [i["url"] for i in record["images"]] == [i["url"] for i in served]
    statuses = []
    for image in record["images"]:
        assert image["file"] is None
        assert image["error"]["kind"] == "expired"
        statuses.append(image["error"]["status_code"])
        assert "sha256" not in image
    assert statuses == [403, 410]  # S3's AccessDenied, and a CDN's Gone
    message = last_text(done)
    for image in served:
        assert image["url"] in message
    assert text("en", "download_expired", index=1) in message
    assert text("en", "download_expired", index=2) in message
    assert text("en", "download_expired", index=1) in h2.result_md()
    outputs = h2.root / "t1" / "outputs"
    assert not (outputs / "images").exists() or not any((outputs / "images").iterdir())
    page = (outputs / "index.html").read_text(encoding="utf-8")
    assert f'src="{served[0]["url"]}"'.replace("&", "&amp;") in page  # falls back to the link


async def test_the_person_hears_about_expired_links_in_their_language(h1: Harness) -> None:
    h1.emulator.set_scenarios(["expired-urls"])
    done = await _generate(h1, prompt=ES_PROMPT, n=1)
    assert done["status"] == "succeeded"
    message = last_text(done)
    assert text("es", "download_expired", index=1) in message
    assert text("es", "download_still_succeeded") in message


async def test_a_flaky_image_host_is_retried(h1: Harness) -> None:
    h1.emulator.set_scenarios(["flaky-files"])  # every 2nd image GET answers 503 SlowDown
    done = await _generate(h1, n=2)
    assert all(image["file"] for image in done["images"]), done["images"]
    assert len(h1.emulator.file_requests) == 4


async def test_download_off_keeps_links_only(h1: Harness) -> None:
    context = CreatokContext(api_key=h1.emulator.api_key, base_url=h1.emulator.base_url,
                             artifacts_dir=str(h1.root), download=False)
    await h1.invoke({"prompt": PROMPT, "n": 2}, context=context)
    done = await h1.resume(APPROVE, context=context)
    assert done["status"] == "succeeded"
    assert h1.emulator.file_requests == []
    assert all("file" not in image for image in h1.result_json()["images"])
    assert not (h1.root / "t1" / "outputs" / "images").exists()
    # The gallery still shows the images, from their links.
    page = (h1.root / "t1" / "outputs" / "index.html").read_text(encoding="utf-8")
    assert page.count("<figure") == 2


def test_download_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREATOK_DOWNLOAD", "0")
    assert CreatokContext().download is False
    assert CreatokContext(download=True).download is True
    monkeypatch.delenv("CREATOK_DOWNLOAD")
    assert CreatokContext().download is True


async def test_async_downloads_never_block_the_event_loop(h1: Harness) -> None:
    """What ``langgraph dev`` enforces: the streaming, hashing and renames leave the loop."""
    h1.emulator.set_scenarios(["jpeg-images", "flaky-files"])
    with blockbuster_ctx(scanned_modules=["creatok_graph"]):
        done = await _generate(h1, n=3)
    assert [image["file"] for image in done["images"]] == [
        "images/image-1.png", "images/image-2.jpg", "images/image-3.png"]


async def test_kept_copies_get_the_users_usual_permissions(h1: Harness) -> None:
    previous = os.umask(0o022)
    try:
        await _generate(h1, n=1)
    finally:
        os.umask(previous)
    outputs = h1.root / "t1" / "outputs"
    for path in (outputs / "images" / "image-1.png", outputs / "index.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


async def test_a_recheck_of_the_same_task_reuses_intact_copies(h1: Harness) -> None:
    done = await _generate(h1, n=2)
    before = len(h1.emulator.file_requests)
    images = h1.root / "t1" / "outputs" / "images"
    (images / "image-2.png").unlink()  # one copy lost
    killed = images / ".download.0123456789ab.tmp"  # left by a download that was killed
    killed.write_bytes(b"partial")
    os.utime(killed, (0, 0))
    again = await h1.invoke({"task_id": done["task_id"], "wait": True})
    assert again["status"] == "succeeded"
    assert [image["file"] for image in again["images"]] == [
        "images/image-1.png", "images/image-2.png"]
    assert len(h1.emulator.file_requests) == before + 1  # only the lost one again
    assert sorted(p.name for p in images.iterdir()) == ["image-1.png", "image-2.png"]
    assert json.loads((h1.root / "t1" / "outputs" / "result.json").read_text())["images"] == (
        again["images"])


async def test_the_downloads_are_announced_on_the_custom_stream(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT, "n": 2})
    chunks = await h1.stream(Command(resume=APPROVE))
    kinds = [c["type"] for mode, c in chunks if mode == "custom"]
    assert kinds[-2:] == ["downloading", "done"]
    (event,) = [c for mode, c in chunks if mode == "custom" and c["type"] == "downloading"]
    assert event["count"] == 2
