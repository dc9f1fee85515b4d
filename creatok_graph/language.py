"""Which supported language the user wrote in, so every reply can be in that language.

A cheap, dependency-free guess from the writing system and a few very common words: image
prompts are short and full of names, numbers and model ids, and a wrong guess only changes the
language of our replies. When there is nothing to go on we keep ``default``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import pairwise

from .messages import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

# One CJK character carries about as much meaning as three Latin letters, so "a cat 在海边"
# reads as Chinese while a Chinese word quoted in an English sentence does not.
_CJK_WEIGHT = 3

_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
# A run of Latin letters and digits, joined by the marks found inside ids and words
# ("gpt-image-1", "16:9", "photo.png", "don't").
_TOKEN = re.compile(rf"[{_LATIN}0-9]+(?:['’._:/+\-][{_LATIN}0-9]+)*")
_TECHNICAL_MARKS = frozenset("0123456789._:/+")


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Very common function words. Words shared by Spanish and Portuguese ("de", "que", "para")
# are in both lists, so they do not tip the balance between the two; words shared with
# English ("a", "no", "me", "as") are left out.
_WORDS: dict[str, frozenset[str]] = {
    "en": _wordset(
        "the an and of in on at with to for from by into over under near behind is are was "
        "this that these those it its my your his her their our some very please"
    ),
    "es": _wordset(
        "el la los las un una unos unas del al y en con por para que es está son de su sus "
        "muy más pero sin sobre entre este esta hay mi quiero"
    ),
    "pt": _wordset(
        "o os um uma uns umas do da dos das na nas nos ao aos à às e em com por para que é "
        "está são de seu sua seus suas muito mais mas sem sobre entre este esta meu minha "
        "você não pelo pela isso quero"
    ),
}
# Letters only one of the two Iberian languages uses (á é í ó ú appear in both).
_MARKS: dict[str, frozenset[str]] = {
    "es": frozenset("ñ¿¡"),
    "pt": frozenset("ãõçâêôà"),
}


def _coerce(code: str | None) -> str:
    """A supported code for ``code`` ("pt-BR" -> "pt"), else the package default."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def _is_hangul(o: int) -> bool:
    return 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F


def _is_kana(o: int) -> bool:
    # 0x30FB is the middle dot "・", which Chinese text uses too.
    return 0x3040 <= o <= 0x309F or (0x30A0 <= o <= 0x30FF and o != 0x30FB) or (
        0x31F0 <= o <= 0x31FF
    )


def _is_han(o: int) -> bool:
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x3134F
    )


def uses_cjk_script(text: str) -> bool:
    """Whether ``text`` is written (at least partly) in Chinese, Japanese or Korean script,
    where length is counted in characters rather than words."""
    return any(_is_han(o) or _is_kana(o) or _is_hangul(o) for o in map(ord, text))


def _is_technical(token: str) -> bool:
    """Model ids, sizes, ratios, file names, acronyms and brand casing say nothing of language."""
    if any(c in _TECHNICAL_MARKS for c in token):
        return True
    letters = [c for c in token if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):  # "HDR", "DALL-E"
        return True
    return any(a.islower() and b.isupper() for a, b in pairwise(token))  # "CreatOK"


def _latin_language(text: str, words: list[str], default: str) -> str | None:
    """es, pt or en from telltale letters and function words; None when there is no clue."""
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    for lang, marks in _MARKS.items():
        scores[lang] += 2 * sum(c in marks for c in text)
    best = max(scores.values())
    if best == 0:
        return None
    tied = [lang for lang in ("en", "es", "pt") if scores[lang] == best]
    return default if default in tied else tied[0]


def _guess(text: str, default: str) -> str | None:
    """The language ``text`` is written in, or None when it gives no clue (e.g. "16:9")."""
    text = unicodedata.normalize("NFKC", text)  # full-width letters and digits become plain
    hangul = kana = han = 0
    for c in text:
        o = ord(c)
        if _is_hangul(o):
            hangul += 1
        elif _is_kana(o):
            kana += 1
        elif _is_han(o):
            han += 1
    cjk = hangul + kana + han
    if hangul and hangul >= kana:
        cjk_lang = "ko"
    elif kana:
        cjk_lang = "ja"
    else:
        cjk_lang = "zh"

    natural = [t for t in _TOKEN.findall(text) if not _is_technical(t)]
    latin_letters = sum(c.isalpha() for t in natural for c in t)
    if cjk and cjk * _CJK_WEIGHT >= latin_letters:
        return cjk_lang
    words = [w for t in natural for w in re.split(r"['’\-]", t.lower()) if w]
    found = _latin_language(text.lower(), words, default)
    if found is None and cjk:
        return cjk_lang  # a little CJK beside English-looking ids still beats nothing
    return found


def detect_language(text: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The supported language ``text`` is written in; ``default`` when it gives no clue.

    Hangul means Korean, any kana means Japanese, other CJK ideographs mean Chinese; Latin
    text is Spanish, Portuguese or English by telltale letters and common small words.
    Model ids, sizes and ratios ("gpt-image-1", "4K", "16:9") are ignored, so they never
    turn a Chinese prompt into an English one.
    """
    fallback = _coerce(default)
    if not text or not text.strip():
        return fallback
    return _guess(text, fallback) or fallback


def detect_from_messages(texts: Sequence[str], default: str = DEFAULT_LANGUAGE) -> str:
    """The language of the most recent human text that tells us one; ``default`` otherwise.

    Empty texts, and replies with no clue such as "ok" or "16:9", are skipped, so a short
    answer does not switch the conversation away from the language the user has been using.
    """
    fallback = _coerce(default)
    for text in reversed(texts):
        if text and text.strip():
            found = _guess(text, fallback)
            if found is not None:
                return found
    return fallback
