"""Every language says everything English says, with the same blanks, and answers are understood."""

from __future__ import annotations

import re
import string

import pytest

from creatok_graph import answer_words
from creatok_graph.answer_words import (
    KEEP_WORDS,
    NO_WORDS,
    RETRY_WORDS,
    USE_WORDS,
    YES_WORDS,
    is_keep,
    is_no,
    is_retry,
    is_use,
    is_yes,
)
from creatok_graph.messages import SUPPORTED_LANGUAGES, TEXTS, text

OTHERS = [lang for lang in SUPPORTED_LANGUAGES if lang != "en"]
WORD_LISTS = {
    "YES_WORDS": YES_WORDS,
    "NO_WORDS": NO_WORDS,
    "KEEP_WORDS": KEEP_WORDS,
    "USE_WORDS": USE_WORDS,
    "RETRY_WORDS": RETRY_WORDS,
}
# Typed answers are compared after the same clean-up the module applies.
_norm = answer_words._normalise


def placeholders(template: str) -> set[tuple[str, str, str | None]]:
    """Each blank as (name, format spec, conversion): "{elapsed:.1f}" gives ".1f"."""
    return {(name, spec or "", conversion)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None}


def fields(template: str) -> set[str]:
    return {name for name, _, _ in placeholders(template)}


def sample_params(template: str) -> dict[str, object]:
    """A value for every blank: a number where a format spec asks for one, else "<name>"."""
    return {name: 1.5 if spec else f"<{name}>" for name, spec, _ in placeholders(template)}


# Kept character for character in every language: commands in backticks, command-line flags,
# environment variables and our address.
VERBATIM = re.compile(r"`[^`]+`|(?<![\w-])--?[a-z][a-z-]*|CREATOK_[A-Z_]+|https://www\.creatok\.ai")


def quoted(template: str) -> list[str]:
    """Words the user is asked to type: what sits inside the language's quotation marks."""
    return re.findall(r"[“「«]([^”」»{}]+)[”」»]", template)


def test_every_supported_language_has_texts_and_words() -> None:
    assert set(TEXTS) == set(SUPPORTED_LANGUAGES)
    for words in WORD_LISTS.values():
        assert set(words) == set(SUPPORTED_LANGUAGES)
        assert all(words[lang] for lang in SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("lang", OTHERS)
def test_translation_has_every_english_key(lang: str) -> None:
    assert set(TEXTS[lang]) == set(TEXTS["en"])


@pytest.mark.parametrize("lang", OTHERS)
def test_translation_keeps_the_placeholders(lang: str) -> None:
    for key, english in TEXTS["en"].items():
        assert placeholders(TEXTS[lang][key]) == placeholders(english), (lang, key)


@pytest.mark.parametrize("lang", OTHERS)
def test_translation_is_really_translated(lang: str) -> None:
    for key, english in TEXTS["en"].items():
        translated = TEXTS[lang][key]
        assert translated.strip(), (lang, key)
        if key not in {"details"} and len(english) > 12:
            assert translated != english, (lang, key)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_sentence_fills_in(lang: str) -> None:
    for key, template in TEXTS[lang].items():
        filled = text(lang, key, **sample_params(template))
        assert "{" not in filled and "}" not in filled, (lang, key)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_the_approval_question_fits_buttons(lang: str) -> None:
    """Studio shows approve/reject buttons: the question names no answers; the CLI adds
    ``answer_yes_no`` on its own line."""
    assert not re.search(r"[/／]", TEXTS[lang]["confirm_question"]), lang


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_untranslatable_parts_are_kept(lang: str) -> None:
    assert "CREATOK_API_KEY" in TEXTS[lang]["auth_error"]
    assert "https://www.creatok.ai" in TEXTS[lang]["unknown_outcome"]
    assert "CreatOK" in TEXTS[lang]["confirm_question"]
    for key, english in TEXTS["en"].items():
        assert sorted(VERBATIM.findall(TEXTS[lang][key])) == sorted(VERBATIM.findall(english)), (
            lang, key)


def test_placeholder_helper_reads_format_specs() -> None:
    assert placeholders("status: {status} ({elapsed:.1f}s)") == {
        ("status", "", None), ("elapsed", ".1f", None)}
    assert placeholders("{elapsed:.1f}") != placeholders("{elapsed}")
    assert VERBATIM.findall(TEXTS["en"]["cli_check_again"]) == [
        "`creatok-image --task-id {task_id}`", "`creatok-image --task-id {task_id} --wait`"]


def test_japanese_uses_corner_brackets() -> None:
    assert "「{prompt}」" in TEXTS["ja"]["offer_refinement"]
    assert "「{prompt}」" in TEXTS["ja"]["confirm_prompt"]
    assert not any("“" in t for t in TEXTS["ja"].values())


def test_text_falls_back_to_english() -> None:
    assert text("xx", "ask_prompt") == TEXTS["en"]["ask_prompt"]
    assert text(None, "ask_prompt") == TEXTS["en"]["ask_prompt"]
    assert text("", "task_id_note", task_id="t1") == "Task id: t1"


def test_text_reads_region_tags() -> None:
    assert text("pt-BR", "ask_prompt") == TEXTS["pt"]["ask_prompt"]
    assert text("zh_CN", "ask_prompt") == TEXTS["zh"]["ask_prompt"]
    assert text("ES", "ask_prompt") == TEXTS["es"]["ask_prompt"]


def test_text_fills_placeholders() -> None:
    assert text("es", "n_images_many", n=3) == "3 imágenes"
    assert text("ja", "task_id_note", task_id="abc") == "タスクID：abc"


@pytest.mark.parametrize(
    ("lang", "yes", "no"),
    [
        ("en", ["yes", "Yes!", "OK", "go ahead", "  sure. "], ["no", "No.", "cancel", "stop"]),
        ("zh", ["是", "是的", "好", "好的", "确认", "可以", "行", "好的！", "可以。"],
         ["不", "不要", "否", "取消", "不要。", "取消！"]),
        ("ja", ["はい", "うん", "お願いします", "進めて", "はい。", "お願いします！"],
         ["いいえ", "いや", "キャンセル", "いいえ。", "ｷｬﾝｾﾙ"]),
        ("ko", ["네", "예", "응", "좋아요", "진행", "네!", "좋아요."],
         ["아니요", "아니", "취소", "취소."]),
        ("es", ["sí", "si", "Sí.", "¡Sí!", "vale", "claro", "adelante"],
         ["no", "No.", "cancelar", "parar"]),
        ("pt", ["sim", "Sim!", "pode", "claro", "ok"], ["não", "nao", "Não.", "cancelar", "parar"]),
    ],
)
def test_yes_and_no_are_recognised(lang: str, yes: list[str], no: list[str]) -> None:
    for answer in yes:
        assert is_yes(answer), (lang, answer)
        assert not is_no(answer), (lang, answer)
    for answer in no:
        assert is_no(answer), (lang, answer)
        assert not is_yes(answer), (lang, answer)


def test_full_width_and_trailing_punctuation() -> None:
    assert is_yes("ＹＥＳ")
    assert is_yes("ｏｋ！")
    assert is_yes("はい？")
    assert is_no("ＮＯ。")
    assert is_yes("“sí”")
    assert is_keep("「そのまま」")


def test_free_text_is_not_an_answer() -> None:
    for answer in ("", "   ", "。", "a red fox in the snow", "yes but smaller", "一只猫"):
        assert not is_yes(answer)
        assert not is_no(answer)
        assert not is_retry(answer)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_words_the_user_is_told_to_type_are_understood(lang: str) -> None:
    refine = quoted(TEXTS[lang]["offer_refinement"])
    assert len(refine) == 2, (lang, refine)
    keep, use = refine
    assert is_keep(keep) and not is_use(keep), (lang, keep)
    assert is_use(use) and not is_keep(use), (lang, use)
    outcome = quoted(TEXTS[lang]["unknown_outcome"])
    assert len(outcome) == 2, (lang, outcome)
    retry, stop = outcome
    assert is_retry(retry) and not is_no(retry), (lang, retry)
    assert is_no(stop) and not is_retry(stop), (lang, stop)
    yes_no = re.search(r"[（(]([^/／]+)[/／]([^)）]+)[)）]", TEXTS[lang]["answer_yes_no"])
    assert yes_no, lang
    assert is_yes(yes_no.group(1)) and is_no(yes_no.group(2)), (lang, yes_no.groups())


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_english_answers_work_whatever_the_language(lang: str) -> None:
    assert is_yes("yes") and is_no("no") and is_keep("keep") and is_use("use")
    assert is_retry("retry") and is_no("stop")


def test_refinement_answers_in_every_language() -> None:
    for answer in ("keep", "no", "保留", "不", "そのまま", "いいえ", "유지", "아니요", "mantener",
                   "no", "manter", "não"):
        assert is_keep(answer) and not is_use(answer), answer
    for answer in ("use", "yes", "使用", "好的", "使う", "はい", "사용", "네", "usar", "sí",
                   "sim"):
        assert is_use(answer) and not is_keep(answer), answer


def _all(words: dict[str, tuple[str, ...]]) -> set[str]:
    return {_norm(w) for ws in words.values() for w in ws}


@pytest.mark.parametrize(
    ("first", "second"),
    [("YES_WORDS", "NO_WORDS"), ("KEEP_WORDS", "USE_WORDS"), ("RETRY_WORDS", "NO_WORDS"),
     ("RETRY_WORDS", "YES_WORDS")],
)
def test_word_lists_do_not_overlap(first: str, second: str) -> None:
    # Per language, and across languages too, since an answer is checked against all of them.
    for lang in SUPPORTED_LANGUAGES:
        a = {_norm(w) for w in WORD_LISTS[first][lang]}
        b = {_norm(w) for w in WORD_LISTS[second][lang]}
        assert not a & b, (lang, a & b)
    assert not _all(WORD_LISTS[first]) & _all(WORD_LISTS[second])


def test_listed_words_survive_normalisation() -> None:
    for name, words in WORD_LISTS.items():
        for lang, ws in words.items():
            for w in ws:
                assert _norm(w), (name, lang, w)
