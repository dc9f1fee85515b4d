"""Requests are checked against the live capabilities and the local files before approval."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from graph_support import APPROVE, PROMPT, Harness, action_of, edit, interrupt_of, last_text

from creatok_graph.messages import text


def read_all(paths: list[str]) -> list[bytes]:
    return [Path(p).read_bytes() for p in paths]


def bad_references(h: Harness, case: str) -> tuple[list[str], list[str]]:
    """Reference paths for a bad ``case``, and what the refusal must mention."""
    folder = h.root.parent
    folder.mkdir(parents=True, exist_ok=True)
    if case == "missing":
        return [str(folder / "nope.png")], ["nope.png"]
    if case == "txt":
        (folder / "notes.txt").write_text("not an image")
        return [str(folder / "notes.txt")], ["notes.txt"]
    if case == "too_many":
        return [h.png(f"r{i}.png", i) for i in range(6)], ["5", "6"]
    if case == "empty":
        (folder / "empty.png").write_bytes(b"")
        return [str(folder / "empty.png")], ["empty.png"]
    (folder / "folder.png").mkdir()
    return [str(folder / "folder.png")], ["folder.png"]


def nothing_sent(h: Harness) -> None:
    stats = h.stats()
    counts = (stats["submit_requests"], stats["presign_requests"], stats["upload_requests"])
    assert counts == (0, 0, 0)


@pytest.mark.parametrize(
    ("request_", "field", "english", "facts"),
    [
        ({"n": 7}, "n", "n must be between 1 and 4", ["1", "4"]),
        ({"n": 0}, "n", "n must be between 1 and 4", ["1", "4"]),
        (
            {"resolution": "8K"},
            "resolution",
            "resolution 8K is not offered by Nano Banana 2: choose 1K, 2K or 4K",
            ["8K", "Nano Banana 2", "1K", "2K", "4K"],
        ),
        (
            {"model": "x"},
            "model",
            "unknown model x: choose one of seedream-5.0-lite, nano-banana-pro, nano-banana-2, "
            "gpt-image-2",
            ["x", "nano-banana-2"],
        ),
        (
            {"model": "seedream-5.0-lite", "resolution": "1K"},
            "resolution",
            "resolution 1K is not offered by Seedream 5.0 Lite: choose 2K or 4K",
            ["1K", "Seedream 5.0 Lite", "2K", "4K"],
        ),
        ({"aspect_ratio": "5:4"}, "aspect_ratio", "aspect ratio 5:4 is not offered", ["5:4"]),
    ],
)
async def test_invalid_request_is_refused_before_approval(
    h1: Harness, request_: dict[str, Any], field: str, english: str, facts: list[str]
) -> None:
    done = await h1.invoke({"prompt": PROMPT, **request_})
    assert "__interrupt__" not in done
    assert done["status"] == "invalid_request"
    error = done["error"]
    assert error["kind"] == "invalid_request" and error["field"] == field
    assert error["message"].startswith(english)
    message = last_text(done)
    for fact in facts:
        assert fact in message
    nothing_sent(h1)
    record = h1.result_json()
    assert record["status"] == "invalid_request" and record["error"]["field"] == field


async def test_model_by_label_and_defaults_from_capabilities(h1: Harness) -> None:
    first = await h1.invoke({"prompt": PROMPT, "model": "Nano Banana Pro", "resolution": "4k"})
    args = action_of(first)["args"]
    assert (args["model"], args["resolution"], args["n"]) == ("nano-banana-pro", "4K", 1)
    assert first["estimated_credits"] == 3


async def test_capabilities_are_cached_per_process(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT}, "a")
    await h1.invoke({"prompt": PROMPT}, "b")
    await h1.invoke({"prompt": PROMPT}, "c")
    assert h1.stats()["capabilities"] == 1


async def test_unknown_pricing_is_not_guessed(h1: Harness) -> None:
    caps = h1.emulator.capabilities
    image = caps["data"]["capabilities"]["image"]
    for model in image["models"]:
        model.pop("pricing", None)
    h1.emulator.set_capabilities(caps)
    first = await h1.invoke({"prompt": PROMPT})
    assert first["estimated_credits"] is None
    description = action_of(first)["description"]
    assert text("en", "confirm_cost_unknown") in description
    assert "credits." not in description.replace("CreatOK credits", "")


# -- reference images ------------------------------------------------------------------------


async def test_reference_images_are_uploaded_after_approval(h2: Harness) -> None:
    refs = [h2.png("front.png", 1), h2.png("side.png", 2)]
    first = await h2.invoke({"prompt": PROMPT, "reference_images": refs})
    action = action_of(first)
    assert action["args"]["reference_images"] == refs
    assert "front.png" in action["description"] and "side.png" in action["description"]
    nothing_sent(h2)  # nothing leaves the machine before the yes

    done = await h2.resume(APPROVE)
    assert done["status"] == "succeeded"
    stats = h2.stats()
    assert (stats["presigns"], stats["uploads"], stats["submits"]) == (2, 2, 1)
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None
    keys = task["imageObjectKeys"]
    assert len(keys) == 2
    uploads = h2.emulator.uploads
    assert [uploads[k] for k in keys] == read_all(refs)


@pytest.mark.parametrize("case", ["missing", "txt", "too_many", "empty", "directory"])
async def test_bad_reference_images_are_refused_before_anything_is_sent(
    h1: Harness, case: str
) -> None:
    refs, facts = bad_references(h1, case)
    done = await h1.invoke({"prompt": PROMPT, "reference_images": refs})
    assert "__interrupt__" not in done
    assert done["status"] == "invalid_request"
    assert done["error"]["field"] == "reference_images"
    for fact in facts:
        assert fact in last_text(done)
    nothing_sent(h1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
async def test_unreadable_reference_image(h1: Harness) -> None:
    ref = h1.png("locked.png")
    os.chmod(ref, 0)
    try:
        done = await h1.invoke({"prompt": PROMPT, "reference_images": [ref]})
    finally:
        os.chmod(ref, 0o600)
    assert done["status"] == "invalid_request"
    nothing_sent(h1)


async def test_reference_deleted_after_approval_is_an_error_without_charge(
    h1: Harness,
) -> None:
    ref = h1.png("gone.png")
    first = await h1.invoke({"prompt": PROMPT, "reference_images": [ref]})
    interrupt_of(first)
    os.unlink(ref)
    done = await h1.resume(APPROVE)
    assert done["status"] == "invalid_request"
    assert "gone.png" in last_text(done)
    assert h1.stats()["submit_requests"] == 0


async def test_editing_in_a_reference_image(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT})
    ref = h1.png("added.png")
    again = await h1.resume(edit(reference_images=[ref]))
    assert "added.png" in action_of(again)["description"]
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    assert h1.stats()["uploads"] == 1


@pytest.mark.parametrize(("prompt", "said"), [
    ("a red fox in the snow, " * 200, "the limit is 4000"),
    ("一只在雪地里的红狐狸，水彩风格。" * 300, "上限是 4000"),
])
async def test_a_too_long_prompt_costs_no_call(h1: Harness, prompt: str, said: str) -> None:
    done = await h1.invoke({"prompt": prompt})
    assert done["status"] == "invalid_request" and done["error"]["field"] == "prompt"
    assert said in last_text(done)
    assert sum(h1.stats()["requests"].values()) == 0  # not even the capabilities


async def test_a_file_named_png_is_sent_as_what_its_bytes_say(h1: Harness) -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(500)
    ref = h1.root.parent / "refs" / "scan.png"
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_bytes(jpeg)
    first = await h1.invoke({"prompt": PROMPT, "reference_images": [str(ref)]})
    assert f"{ref.resolve()} (image/jpeg, 511 B)" in action_of(first)["description"]
    done = await h1.resume(APPROVE)
    assert done["status"] == "succeeded"
    (key,) = h1.emulator.uploads
    assert key.endswith("/scan.jpg") and h1.emulator.upload_types[key] == "image/jpeg"
    assert h1.emulator.uploads[key] == jpeg
