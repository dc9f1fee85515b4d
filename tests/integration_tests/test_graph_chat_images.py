"""Pictures in the conversation: a picture in the person's message is a reference image;
the final message shows the results as pictures. Over HTTP against the emulator."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

from graph_support import APPROVE, PROMPT, Harness, action_of, last_text
from langchain_core.messages import HumanMessage

from creatok_graph.emulator.png import gradient_png

PNG = gradient_png(8, 8, 7)
B64 = base64.b64encode(PNG).decode()
SHA = hashlib.sha256(PNG).hexdigest()


def with_picture(text: str, *blocks: dict[str, object]) -> HumanMessage:
    return HumanMessage(content=[{"type": "text", "text": text}, *blocks])


async def test_a_picture_in_the_message_is_a_reference_uploaded_once(h2: Harness) -> None:
    data_url = f"data:image/png;base64,{B64}"
    message = with_picture("a fox in this style, 2 images",
                           {"type": "image", "base64": B64, "mime_type": "image/png"},
                           {"type": "image_url", "image_url": {"url": data_url}})
    first = await h2.invoke({"messages": [message]})
    args = action_of(first)["args"]
    assert (args["prompt"], args["n"]) == ("a fox in this style", 2)
    (ref,) = args["reference_images"]  # the same picture twice is one reference
    assert Path(ref) == h2.root / "t1" / "inputs" / f"{SHA}.png"
    assert await asyncio.to_thread(Path(ref).read_bytes) == PNG
    assert h2.stats()["uploads"] == 0  # nothing leaves before the yes

    done = await h2.resume(APPROVE)
    assert done["status"] == "succeeded"
    assert h2.stats()["uploads"] == 1
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None
    (key,) = task["imageObjectKeys"]
    assert h2.emulator.uploads[key] == PNG

    # No checkpoint of the run after the graph read the message carries the bytes.
    checkpoints = await h2.checkpoints()
    latest = checkpoints[0].checkpoint["channel_values"]
    assert B64[:40] not in repr(latest)
    kept = [m for m in latest["messages"] if m.type == "human"]
    assert kept[0].text.startswith("a fox in this style")


async def test_a_link_to_a_picture_is_refused_without_fetching_it(h1: Harness) -> None:
    url = f"{h1.emulator.base_url}/cat.png"
    done = await h1.invoke({"messages": [with_picture(PROMPT, {"type": "image", "url": url})]})
    assert done["status"] == "invalid_request"
    assert "is a link" in last_text(done) and "attach the" in last_text(done)
    stats = h1.stats()  # refused before anything was asked of anyone
    assert stats["capabilities"] == 0 and stats["submit_requests"] == 0


async def test_a_file_that_is_not_a_picture_is_refused_in_the_persons_language(
    h1: Harness,
) -> None:
    pdf = base64.b64encode(b"%PDF-1.7 not an image").decode()
    message = with_picture("一只橘猫坐在窗台上，水彩风格",
                           {"type": "image", "base64": pdf, "mime_type": "image/png"})
    done = await h1.invoke({"messages": [message]})
    assert done["status"] == "invalid_request"
    assert "第 1 张图片不是 PNG、JPEG、WebP 或 GIF" in last_text(done)


async def test_explicit_reference_files_come_first(h1: Harness) -> None:
    given = h1.png("front.png", 1)
    message = with_picture(PROMPT, {"type": "image", "base64": B64})
    first = await h1.invoke({"messages": [message], "reference_images": [given]})
    refs = action_of(first)["args"]["reference_images"]
    assert refs[0] == given and refs[1].endswith(f"{SHA}.png")


async def test_a_newer_message_without_a_picture_drops_the_older_picture(h1: Harness) -> None:
    await h1.invoke({"messages": [with_picture(PROMPT, {"type": "image", "base64": B64})]})
    second = await h1.invoke({"messages": [HumanMessage("a lighthouse at night in a storm")]})
    assert action_of(second)["args"]["reference_images"] == []


async def test_the_result_message_shows_the_pictures(h1: Harness) -> None:
    await h1.invoke({"messages": [HumanMessage(PROMPT + ", 2 images")]})
    done = await h1.resume(APPROVE)
    message = done["messages"][-1]
    pictures = [b for b in message.content_blocks if b["type"] == "image"]
    assert [b["url"] for b in pictures] == [img["url"] for img in done["images"]]
    assert len(pictures) == 2
    for image in done["images"]:
        assert image["url"] in message.text  # the text lists them too, verbatim


async def test_a_picture_alone_asks_what_to_make_and_keeps_the_picture(h1: Harness) -> None:
    first = await h1.invoke({"messages": [HumanMessage(content=[
        {"type": "image", "base64": B64, "mime_type": "image/png"}])]})
    assert first["__interrupt__"][0].value["kind"] == "prompt"
    second = await h1.resume("the same cat as a watercolor, 2 images")
    args = action_of(second)["args"]
    assert args["prompt"] == "the same cat as a watercolor, 2 images"  # an answer is as typed
    assert args["reference_images"][0].endswith(f"{SHA}.png")
    # A newer message forgets the picture of the older one, answered or not.
    third = await h1.invoke({"messages": [HumanMessage("a lighthouse at night in a storm")]})
    assert action_of(third)["args"]["reference_images"] == []
