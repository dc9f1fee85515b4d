"""Reading a request out of chat text without an LLM: what is read, and what must not be."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from creatok_graph.capabilities import ImageCapabilities, parse_capabilities
from creatok_graph.conversation import (
    ChatRequest,
    merge_model_reading,
    ratio_for_orientation,
    read_message,
    read_request,
    settle,
)

SAMPLE = json.loads(
    (Path(__file__).parents[2] / "creatok_graph/emulator/data/capabilities.json").read_text()
)["data"]
CAPS = parse_capabilities(SAMPLE)


def R(prompt: str | None, **settings: Any) -> ChatRequest:
    return ChatRequest(prompt=prompt, **settings)


# (message, what it asks for). Each language: counts, ratios, orientation, boilerplate.
READ: dict[str, list[tuple[str, ChatRequest]]] = {
    "en": [
        ("Please draw a red fox reading a book under a maple tree in watercolor, 2 images, 16:9",
         R("a red fox reading a book under a maple tree in watercolor", n=2,
           aspect_ratio="16:9")),
        ("Generate 2 images of a cat on a sofa", R("a cat on a sofa", n=2)),
        ("two pictures of a lighthouse at night, portrait",
         R("a lighthouse at night", n=2, aspect_ratio="9:16")),
        ("Can you make three versions of a logo for a bakery?",
         R("a logo for a bakery?", n=3)),
        ("a mountain lake at dawn in landscape format", R("a mountain lake at dawn",
                                                           aspect_ratio="16:9")),
        ("a castle, square, 4K", R("a castle", aspect_ratio="1:1", resolution="4K")),
        ("a castle in 4K with Nano Banana Pro",
         R("a castle", resolution="4K", model="nano-banana-pro")),
        ("GPT Image 2: a cyberpunk city", R("a cyberpunk city", model="gpt-image-2")),
        ("a red fox, aspect ratio 3:4", R("a red fox", aspect_ratio="3:4")),
        ("Paint a red barn. Widescreen.", R("a red barn", aspect_ratio="16:9")),
        ("a cat, n=3", R("a cat", n=3)),
        ("a koi pond in 9:16, please", R("a koi pond", aspect_ratio="9:16")),
        ("an owl at 2K resolution using seedream-5.0-lite",
         R("an owl", resolution="2K", model="seedream-5.0-lite")),
        ("Generate an image of a fox", R("a fox")),
        ("Mountains at dawn", R("Mountains at dawn")),
        ("a lighthouse", R("a lighthouse")),
    ],
    "zh": [
        ("帮我画两张猫咪在海边的图片，16:9", R("猫咪在海边", n=2, aspect_ratio="16:9")),
        ("一只橘猫坐在窗台上，窗外下着雪，水彩风格，竖版",
         R("一只橘猫坐在窗台上，窗外下着雪，水彩风格", aspect_ratio="9:16")),
        ("用nano-banana-pro画一只狗，4K分辨率",
         R("一只狗", resolution="4K", model="nano-banana-pro")),
        ("生成3张赛博朋克城市夜景，横屏", R("赛博朋克城市夜景", n=3, aspect_ratio="16:9")),
        ("请画一只熊猫在竹林里吃竹子，比例9:16", R("一只熊猫在竹林里吃竹子", aspect_ratio="9:16")),
        ("山间的日出，２张，宽屏", R("山间的日出", n=2, aspect_ratio="16:9")),
    ],
    "ja": [
        ("猫の画像を3枚生成してください", R("猫", n=3)),
        ("桜の木の下の柴犬、縦長で", R("桜の木の下の柴犬", aspect_ratio="9:16")),
        ("富士山の絵を描いて、アスペクト比16:9", R("富士山", aspect_ratio="16:9")),
        ("夜の東京の街並み、2枚、横長で", R("夜の東京の街並み", n=2, aspect_ratio="16:9")),
        ("海辺の灯台、4Kで", R("海辺の灯台", resolution="4K")),
    ],
    "ko": [
        ("고양이 그림 두 장 그려줘", R("고양이", n=2)),
        ("바다 위의 등대, 세로로, 2장", R("바다 위의 등대", n=2, aspect_ratio="9:16")),
        ("눈 덮인 산, 비율 16:9", R("눈 덮인 산", aspect_ratio="16:9")),
        ("벚꽃 아래 강아지, 정사각형 이미지로 세 장",
         R("벚꽃 아래 강아지", n=3, aspect_ratio="1:1")),
    ],
    "es": [
        ("Dibuja un zorro rojo en acuarela, dos imágenes, 16:9",
         R("un zorro rojo en acuarela", n=2, aspect_ratio="16:9")),
        ("Genera tres imágenes de un gato en formato vertical",
         R("un gato", n=3, aspect_ratio="9:16")),
        ("Un faro al atardecer, en 4K, proporción 3:2",
         R("Un faro al atardecer", resolution="4K", aspect_ratio="3:2")),
        ("Por favor, crea un bosque encantado, formato cuadrado",
         R("un bosque encantado", aspect_ratio="1:1")),
    ],
    "pt": [
        ("Desenhe um farol ao pôr do sol, duas imagens, formato quadrado",
         R("um farol ao pôr do sol", n=2, aspect_ratio="1:1")),
        ("Quero 2 imagens de um gato na praia em 4K", R("um gato na praia", n=2,
                                                        resolution="4K")),
        ("Crie três fotos de uma cachoeira, formato horizontal",
         R("uma cachoeira", n=3, aspect_ratio="16:9")),
        ("uma cidade futurista, proporção 9:16", R("uma cidade futurista", aspect_ratio="9:16")),
    ],
}

# Things that look like instructions but are part of the description: nothing is read.
NOT_READ: list[str] = [
    "draw 2 cats playing",  # a count of things in the picture
    "a poster with 2 photos on the wall",
    "a 16:9 TV on the wall of a living room",
    "a clock showing 10:30 on a desk",
    "a portrait of my dog in oil paint",
    "a mountain landscape at dawn",
    "a square pizza on a wooden table",
    "a 4K TV on a wall",
    "a vertical garden on a city building",
    "Paint splatter art of a tiger",  # a leading verb that is the subject
    "Design of a modern chair, blueprint style",
    "一张桌子上有两张纸",
    "三只猫在沙发上睡觉",
    "正方形的桌子上放着一个苹果",
    "Tシャツを着た犬",
    "猫が3匹いる部屋",
    "한 장면 속의 고양이",
    "가로수 길을 걷는 사람",
    "dos gatos jugando en el jardín",
    "un retrato de mi perro",
    "dois cachorros na praia",
    "uma paisagem de montanha",
]

IDS = [f"{lang}-{i}" for lang, rows in READ.items() for i in range(len(rows))]
ROWS = [row for rows in READ.values() for row in rows]


@pytest.mark.parametrize(("message", "expected"), ROWS, ids=IDS)
def test_reads_the_instructions_and_keeps_the_description(
    message: str, expected: ChatRequest
) -> None:
    assert read_request(message, CAPS) == expected


@pytest.mark.parametrize("message", NOT_READ)
def test_descriptions_that_look_like_instructions_are_left_alone(message: str) -> None:
    got = read_request(message, CAPS)
    assert got.settings() == {}
    assert got.prompt and got.prompt in message


@pytest.mark.parametrize(
    ("message", "prompt"),
    [
        ("draw 2 cats playing", "2 cats playing"),
        ("dos gatos jugando en el jardín", "dos gatos jugando en el jardín"),
        ("a portrait of my dog in oil paint", "a portrait of my dog in oil paint"),
    ],
)
def test_the_description_is_kept_whole(message: str, prompt: str) -> None:
    assert read_request(message, CAPS).prompt == prompt


@pytest.mark.parametrize(
    "message", ["帮我画张图", "Please draw", "2 images, 16:9", "画像を生成してください", "", "   "]
)
def test_no_description_means_no_prompt(message: str) -> None:
    """Only boilerplate and instructions: the person is asked what to draw."""
    assert read_request(message, CAPS).prompt is None


def test_instructions_without_a_description_are_still_read() -> None:
    assert read_request("2 images, 16:9", CAPS) == R(None, n=2, aspect_ratio="16:9")


@pytest.mark.parametrize(
    ("message", "prompt"),
    [("a", "a"), ("猫", "猫"), ("고양이", "고양이"), ("Draw me a dragon", "a dragon"),
     ("Paint the sea", "the sea"), ("Hazme un gato", "un gato"), ("画一只猫", "一只猫"),
     ("Image of a fox", "a fox")],
)
def test_a_real_description_never_becomes_empty(message: str, prompt: str) -> None:
    assert read_request(message, CAPS).prompt == prompt


def test_without_capabilities_models_are_not_guessed() -> None:
    got = read_request("a castle in 4K with Nano Banana Pro, 2 images")
    assert got.model is None and got.n == 2 and got.resolution == "4K"
    assert "Nano Banana Pro" in (got.prompt or "")


def test_the_longest_model_name_wins() -> None:
    assert read_request("a fox with nano banana pro", CAPS).model == "nano-banana-pro"
    assert read_request("a fox with Nano Banana 2", CAPS).model == "nano-banana-2"


def test_resolution_is_matched_to_the_offered_spelling() -> None:
    data = copy.deepcopy(SAMPLE)
    for model in data["capabilities"]["image"]["models"]:
        model["limits"]["resolutions"] = ["1k", "2k"]
        model["defaults"]["resolution"] = "1k"
        model["pricing"]["by_resolution"] = {"1k": 1, "2k": 2}
    caps = parse_capabilities(data)
    assert read_request("a fox in 2K", caps).resolution == "2k"
    # Not offered: still read, so validation names the allowed values instead of ignoring it.
    assert read_request("a fox in 8K", caps).resolution == "8K"


def _with_ratios(ratios: list[str]) -> ImageCapabilities:
    data = copy.deepcopy(SAMPLE)
    for model in data["capabilities"]["image"]["models"]:
        model["limits"]["aspect_ratios"] = ratios
    return parse_capabilities(data)


def test_orientation_becomes_a_ratio_the_model_offers() -> None:
    caps = _with_ratios(["1:1", "3:4", "4:3"])
    assert read_request("a fox, portrait", caps).aspect_ratio == "3:4"
    assert read_request("a fox, landscape", caps).aspect_ratio == "4:3"
    assert read_request("a fox, portrait").aspect_ratio == "9:16"


@pytest.mark.parametrize(
    ("orientation", "allowed", "expected"),
    [
        ("portrait", ["1:1", "16:9", "9:16"], "9:16"),
        ("portrait", ["1:1", "2:5"], "2:5"),
        ("landscape", ["1:1", "7:3"], "7:3"),
        ("square", None, "1:1"),
        ("portrait", ["1:1"], "9:16"),  # nothing fits: ask for it and let validation refuse
    ],
)
def test_ratio_for_orientation(orientation: str, allowed: list[str] | None, expected: str) -> None:
    assert ratio_for_orientation(orientation, allowed) == expected


def test_full_width_digits_and_colon() -> None:
    assert read_request("海边的灯塔，比例１６：９", CAPS).aspect_ratio == "16:9"


# -- the graph's use: read without capabilities, settle once they are known ---------------


def test_settling_finds_the_model_and_takes_it_out_of_the_prompt() -> None:
    said = "a castle with Nano Banana Pro, portrait"
    derived = read_message(said, {})
    assert derived["prompt"] == "a castle with Nano Banana Pro"  # no capabilities yet
    args = {"prompt": derived["prompt"], "model": None, "resolution": None, "n": None,
            "aspect_ratio": derived["aspect_ratio"]}
    assert settle(derived, said, CAPS, args) == {"prompt": "a castle", "model": "nano-banana-pro"}


def test_settling_leaves_what_the_caller_set() -> None:
    said = "a castle with Nano Banana Pro, 2 images"
    derived = read_message(said, {"n": 3})
    assert "n" not in derived  # an explicit input wins from the start
    args = {"prompt": "my own words", "model": "gpt-image-2", "resolution": None, "n": 3,
            "aspect_ratio": None}
    assert settle(derived, said, CAPS, args) == {}


def test_a_chat_models_reading_only_gains_a_model() -> None:
    said = "a castle at dusk with GPT Image 2, 2 images"
    derived = merge_model_reading({"prompt": "a castle at dusk"}, said, {})
    assert (derived["prompt"], derived["n"]) == ("a castle at dusk", 2)  # the rules filled n
    args = {"prompt": "a castle at dusk", "model": None, "resolution": None, "n": 2,
            "aspect_ratio": None}
    assert settle(derived, said, CAPS, args) == {"model": "gpt-image-2"}
