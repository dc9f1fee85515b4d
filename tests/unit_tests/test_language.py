"""We answer in the language the user wrote in; these are the prompts people actually type."""

from __future__ import annotations

import pytest

from creatok_graph.language import detect_from_messages, detect_language
from creatok_graph.messages import SUPPORTED_LANGUAGES


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("一只在海边奔跑的金毛犬，日落", "zh"),
        ("赛博朋克风格的城市夜景，霓虹灯，雨后街道", "zh"),
        ("夕焼けの海辺を走るゴールデンレトリバー", "ja"),
        ("桜の木の下で本を読む女の子、水彩画風", "ja"),
        ("猫の絵", "ja"),
        ("해질녘 바닷가를 달리는 골든 리트리버", "ko"),
        ("눈 덮인 산 위의 작은 오두막, 따뜻한 조명", "ko"),
        ("un perro corriendo en la playa al atardecer", "es"),
        ("Una mujer con un paraguas rojo bajo la lluvia", "es"),
        ("¿Puedes hacer un dragón?", "es"),
        ("um cachorro correndo na praia ao pôr do sol", "pt"),
        ("Uma mulher com um guarda-chuva vermelho na chuva", "pt"),
        ("Ilustração de uma cidade futurista", "pt"),
        ("a golden retriever running on the beach at sunset", "en"),
        ("A red fox reading a book under a maple tree in autumn, watercolor style", "en"),
    ],
)
def test_detects_each_language(prompt: str, lang: str) -> None:
    assert detect_language(prompt) == lang
    # The default only matters when the text gives no clue.
    for default in SUPPORTED_LANGUAGES:
        assert detect_language(prompt, default=default) == lang


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("a cat 在海边", "zh"),
        ("用 gpt-image-1 画一只猫，4K，16:9", "zh"),
        ("Seedream 4.0 生成 16:9 的海边日落, 4K", "zh"),
        ("CreatOK 4K HDR 福", "zh"),
        ("サイバーパンク風の city at night, neon lights", "ja"),
        ("seedream-4.0 で夕焼けの海、16:9", "ja"),
        ("4K 바닷가 풍경, 16:9", "ko"),
        ("ＡＩが描いた猫のイラスト", "ja"),
    ],
)
def test_mixed_text_follows_the_cjk_part(prompt: str, lang: str) -> None:
    assert detect_language(prompt) == lang


def test_a_cjk_word_inside_an_english_sentence_stays_english() -> None:
    assert detect_language("Make a poster that says 新年快乐 in red and gold") == "en"
    assert detect_language("a poster with the character 福 in gold") == "en"


def test_technical_tokens_carry_no_language() -> None:
    assert detect_language("4K, 16:9, gpt-image-1", default="ko") == "ko"
    assert detect_language("https://example.com/cat.png", default="pt") == "pt"


@pytest.mark.parametrize("empty", [None, "", "   ", "\n"])
def test_empty_gives_the_default(empty: str | None) -> None:
    assert detect_language(empty) == "en"
    assert detect_language(empty, default="ja") == "ja"


def test_no_clue_gives_the_default() -> None:
    assert detect_language("cyberpunk cat") == "en"
    assert detect_language("cyberpunk cat", default="es") == "es"
    assert detect_language("Привет, мир", default="zh") == "zh"


def test_default_is_always_a_supported_language() -> None:
    assert detect_language("", default="fr") == "en"
    assert detect_language("", default="pt-BR") == "pt"
    assert detect_language("16:9", default="zh_CN") == "zh"


def test_result_is_always_supported() -> None:
    for sample in ("Bonjour le monde", "Guten Tag", "مرحبا", "😀", "!!!", "42"):
        assert detect_language(sample) in SUPPORTED_LANGUAGES


def test_messages_use_the_most_recent_human_text() -> None:
    assert detect_from_messages(["a cat on the beach", "一只猫在海边"]) == "zh"
    assert detect_from_messages(["一只猫在海边", "a cat on the beach"]) == "en"
    assert detect_from_messages(["un gato en la playa", "", "  "]) == "es"


def test_messages_skip_replies_without_a_clue() -> None:
    # A bare "ok" or an aspect ratio must not switch a Japanese conversation to English.
    assert detect_from_messages(["夕焼けの海辺を走る犬", "ok", "16:9"]) == "ja"


def test_messages_default() -> None:
    assert detect_from_messages([]) == "en"
    assert detect_from_messages(["", "4K"], default="ko") == "ko"
