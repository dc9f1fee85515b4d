"""``creatok-image`` keeps copies of the images; the same ``--run-id`` later fetches only the
missing ones and never charges. The installed command, against a real emulator."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_cli import PROMPT, World

from creatok_graph.emulator import Emulator
from creatok_graph.messages import text


@pytest.fixture
def emulator_for_cli() -> Iterator[Emulator]:
    emu = Emulator(task_seconds=0.3).start()
    try:
        yield emu
    finally:
        emu.stop()


def _gets(emu: Emulator) -> int:
    return sum(1 for r in emu.file_requests if r["method"] == "GET")


def test_expired_links_then_the_same_run_id_fetches_only_what_is_missing(
    tmp_path: Path, emulator_for_cli: Emulator
) -> None:
    emu = emulator_for_cli
    world = World(tmp_path, emu)
    emu.set_scenarios(["expired-urls"])
    first = world.run("--prompt", PROMPT, "--n", "2", "--yes", "--run-id", "keep")
    assert first.returncode == 0, first  # a paid success stays a success
    assert text("en", "download_expired", index=1) in first.stdout, first
    assert text("en", "download_expired", index=2) in first.stdout, first
    assert text("en", "cli_download_retry", run_id="keep") in first.stderr, first
    assert len(first.urls) == 2  # the links, verbatim, one per line
    record = world.result_json("keep")
    assert [i["error"]["kind"] for i in record["images"]] == ["expired", "expired"]
    assert emu.stats()["submits"] == 1

    emu.set_scenarios([])  # the links work again (e.g. a transient storage fault is over)
    second = world.run("--run-id", "keep")
    assert second.returncode == 0, second
    assert text("en", "cli_downloading", count=2) in second.stderr, second
    assert text("en", "download_expired", index=1) not in second.stdout, second
    assert _gets(emu) == 4  # two refused before, two fetched now
    outputs = world.artifacts / "keep" / "outputs"
    record = world.result_json("keep")
    for image in record["images"]:
        body = httpx.get(image["url"]).content
        assert (outputs / image["file"]).read_bytes() == body
        assert image["sha256"] == hashlib.sha256(body).hexdigest()
    assert "outputs/index.html" in second.stderr, second

    (outputs / record["images"][0]["file"]).unlink()  # one copy lost
    before = _gets(emu)
    third = world.run("--run-id", "keep")
    assert third.returncode == 0, third
    assert _gets(emu) == before + 1  # only the missing one
    assert text("en", "cli_downloading", count=1) in third.stderr, third
    fourth = world.run("--run-id", "keep")
    assert fourth.returncode == 0 and _gets(emu) == before + 1  # nothing missing: no GET
    assert emu.stats()["submits"] == 1  # never charged again
    assert all(r["headers"].get("Authorization") is None and
               r["headers"].get("authorization") is None for r in emu.file_requests)


def test_no_download_keeps_only_the_links(tmp_path: Path, emulator_for_cli: Emulator) -> None:
    emu = emulator_for_cli
    world = World(tmp_path, emu)
    run = world.run("--prompt", PROMPT, "--yes", "--run-id", "links", "--no-download", "--json")
    assert run.returncode == 0, run
    assert _gets(emu) == 0
    assert not (world.artifacts / "links" / "outputs" / "images").exists()
    assert all("file" not in image for image in run.json()["images"])
    again = world.run("--run-id", "links", "--no-download")
    assert again.returncode == 0 and _gets(emu) == 0


def test_json_lists_the_kept_files(tmp_path: Path, emulator_for_cli: Emulator) -> None:
    emu = emulator_for_cli
    emu.set_scenarios(["jpeg-images"])
    world = World(tmp_path, emu)
    run = world.run("--prompt", PROMPT, "--n", "2", "--yes", "--run-id", "j", "--json")
    assert run.returncode == 0, run
    assert text("en", "cli_downloading", count=2) in run.stderr, run
    images = run.json()["images"]
    assert [(i["file"], i["content_type"]) for i in images] == [
        ("images/image-1.png", "image/png"), ("images/image-2.jpg", "image/jpeg")]
    assert images == world.result_json("j")["images"]
