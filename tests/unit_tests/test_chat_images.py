"""Pictures in chat messages: decoded, judged by their bytes, saved once; results as pictures."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from creatok_graph import chat_images
from creatok_graph.chat_images import (
    attach_references,
    images_in,
    result_content,
    save_images,
)
from creatok_graph.emulator.png import gradient_png
from creatok_graph.errors import InvalidRequestError
from creatok_graph.image_types import sniff_image_bytes

PNG = gradient_png(8, 8, 1)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 16
B64 = base64.b64encode(PNG).decode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif"),
     (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None), (b"%PDF-1.7", None), (b"", None),
     (b"RIFF\x24\x00\x00\x00WAVEfmt ", None)],
)
def test_types_are_sniffed_from_the_bytes(data: bytes, expected: str | None) -> None:
    sniffed = sniff_image_bytes(data)  # the one sniffer, shared with the downloads
    assert (sniffed.content_type if sniffed else None) == expected


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": B64, "mime_type": "image/png"},
        {"type": "image", "source_type": "base64", "data": B64, "mime_type": "image/png"},
        {"type": "image", "url": f"data:image/png;base64,{B64}"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{B64}"}},
        {"type": "image_url", "image_url": f"data:image/png;base64,{B64}"},
        # The declared type is not believed: the bytes are a PNG.
        {"type": "image", "base64": B64, "mime_type": "image/jpeg"},
        {"type": "image", "base64": B64[:20] + "\n" + B64[20:]},  # wrapped base64
    ],
)
def test_every_image_block_shape_is_read(block: dict[str, object]) -> None:
    message = HumanMessage(content=[{"type": "text", "text": "like this"}, block])
    (image,) = images_in(message)
    assert (image.data, image.content_type) == (PNG, "image/png")


@pytest.mark.parametrize(
    ("block", "reason", "words"),
    [
        ({"type": "image", "url": "https://example.com/cat.png"}, "message_image_remote",
         "links are not fetched"),
        ({"type": "image_url", "image_url": {"url": "http://169.254.169.254/latest"}},
         "message_image_remote", "attach the image itself"),
        ({"type": "image", "source_type": "id", "id": "file-abc"}, "message_image_remote",
         "stored file"),
        ({"type": "image", "base64": "not base64!!"}, "message_image_undecodable", "base64"),
        ({"type": "image", "url": "data:image/png,rawtext"}, "message_image_undecodable",
         "without base64"),
        ({"type": "image", "base64": base64.b64encode(b"%PDF-1.7 ...").decode()},
         "message_image_type", "PNG (.png), JPEG (.jpg, .jpeg), WebP (.webp), GIF (.gif)"),
        ({"type": "image", "base64": ""}, "message_image_empty", "no image data"),
    ],
)
def test_unusable_images_are_refused_by_name(
    block: dict[str, object], reason: str, words: str
) -> None:
    message = HumanMessage(content=[{"type": "image", "base64": B64}, block])
    with pytest.raises(InvalidRequestError) as err:
        images_in(message)
    assert err.value.reason == reason
    assert "image 2 of the message" in err.value.message and words in err.value.message


def test_a_too_large_image_is_refused_before_it_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chat_images, "MAX_IMAGE_BYTES", 64)
    big = base64.b64encode(PNG + b"\x00" * 200).decode()
    with pytest.raises(InvalidRequestError) as err:
        images_in(HumanMessage(content=[{"type": "image", "base64": big}]))
    assert err.value.reason == "message_image_too_large"


def test_text_only_messages_have_no_images() -> None:
    assert images_in(HumanMessage("a fox")) == []
    assert images_in(HumanMessage(content=[{"type": "text", "text": "a fox"}])) == []


def test_images_are_saved_once_named_by_their_hash(tmp_path: Path) -> None:
    images = images_in(HumanMessage(content=[
        {"type": "image", "base64": B64}, {"type": "image", "base64": B64},
        {"type": "image", "base64": base64.b64encode(GIF).decode()},
    ]))
    paths = save_images(str(tmp_path), "run-1", images)
    assert len(paths) == 2  # the same picture twice is one reference
    png, gif = (Path(p) for p in paths)
    assert png.parent == tmp_path / "run-1" / "inputs"
    assert png.read_bytes() == PNG and png.suffix == ".png"
    assert gif.read_bytes() == GIF and gif.suffix == ".gif"
    assert png.stem == images[0].sha256
    before = png.stat().st_mtime_ns
    assert save_images(str(tmp_path), "run-1", images) == paths  # nothing written again
    assert png.stat().st_mtime_ns == before
    assert not [p for p in png.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_the_message_kept_has_no_bytes(tmp_path: Path) -> None:
    message = HumanMessage(id="m1", content=[
        {"type": "text", "text": "a fox like this"}, {"type": "image", "base64": B64}])
    attached = attach_references(message, str(tmp_path), "r", ["/given.png"])
    assert attached is not None
    refs, lean = attached
    assert refs[0] == "/given.png" and Path(refs[1]).read_bytes() == PNG
    assert lean.id == "m1" and B64 not in str(lean.content)
    assert lean.text.startswith("a fox like this")
    assert attach_references(HumanMessage("just text"), str(tmp_path), "r", []) is None


def test_results_are_pictures_beside_the_text() -> None:
    url = "https://cdn.example/a.png?X-Amz-Signature=ab%2Fcd&x=1"
    message = AIMessage(content=result_content(f"Done!\n1. {url}", [{"url": url}, {"url": ""}]))
    assert message.text == f"Done!\n1. {url}"
    images = [b for b in message.content_blocks if b["type"] == "image"]
    assert [b.get("url") for b in images] == [url]  # verbatim, one per image
