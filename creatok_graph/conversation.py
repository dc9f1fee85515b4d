"""Read an image request out of chat text, without an LLM, in en/zh/ja/ko/es/pt.

``read_request("Please draw a red fox in watercolor, 2 images, 16:9")`` gives the
prompt ``"a red fox in watercolor"`` with ``n=2`` and ``aspect_ratio="16:9"``.

Precision over recall: a value is read only when it is phrased as an instruction
about the picture, never when it could be part of what the picture shows. The rules:

* **count**: a number (digits or a number word) directly followed by an image noun
  ("2 images", "two pictures", "dos imágenes", "duas imagens"), read only where an
  instruction starts: the start of the text, after a comma or other clause mark, or
  right after a request verb ("draw 2 pictures of..."). "2 cats" (no image noun) and
  "a poster with 2 photos on it" (inside the description) are not read. CJK counts use
  the picture classifiers: zh "两张"/"3幅" after a request verb (画/生成/来...) or before an
  image noun (图/图片/照片...); ja "3枚" next to an image noun or a request verb
  ("画像を3枚", "3枚の画像", "3枚描いて"); ko "두 장"/"2장" (not "장면", a scene).
* **aspect ratio**: an explicit ``W:H`` next to a ratio word ("aspect ratio 16:9",
  "比例16:9", "16:9の比率", "비율 16:9", "proporción 16:9"), or one of the usual ratios
  (1:1, 16:9, 9:16, 4:3, 3:4, 3:2, 2:3, 4:5, 5:4, 21:9) on its own as a clause or after
  "in"/"en"/"em"/"で"/"로" ("..., 16:9", "in 16:9"). "a clock at 10:30" is not a ratio, nor
  is "a 16:9 TV on the wall". Orientation words become a ratio only where they cannot be
  the subject: "portrait"/"landscape"/"square" with "format"/"orientation"/"mode" or
  after "in", or alone as a clause ("..., portrait"); "a portrait of my dog" and "a
  mountain landscape" are descriptions. zh 竖版/横版/竖屏/横屏 are always about the
  frame; ja 縦長/横長/正方形 and ko 세로/가로/정사각형 need a particle or a frame word
  ("縦長で", "세로로", "정사각형 이미지").
* **resolution**: "1K"/"2K"/"4K" (or any resolution the capabilities list) next to a
  resolution word, after "in"/"at", or alone as a clause ("4K resolution", "in 4K",
  "分辨率4K", "4Kで"); "a 4K TV" is not read.
* **model**: a model's id or label from the capabilities, anywhere, whole words only,
  together with a leading "with"/"using"/"用"/"で"... ("with Nano Banana Pro").

The prompt is the text with what was read (and its connecting words) removed, and
request boilerplate trimmed only at the edges ("Please draw", "Generate an image of",
"帮我画", "を描いてください", "그려줘", "Dibuja", "Desenhe"). A leading verb goes only when
a determiner follows ("Paint the sea") or the request is explicit ("Please draw", "Draw
me"): "Paint splatter art of a tiger" keeps its subject. When trimming would leave
nothing, the text before trimming is kept: a real description never becomes empty.
Only text that is nothing but boilerplate and instructions ("帮我画张图", "2 images,
16:9") gives no prompt, so the person is asked what to draw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .capabilities import ImageCapabilities, ImageModel

# -- vocabulary ------------------------------------------------------------------------

_DIGITS = "0-9\uff10-\uff19"  # ASCII and full-width
_COLON = ":\uff1a"
_CLAUSE_MARKS = ",;.!?\n\uff0c\u3002\uff1b\uff01\uff1f\u3001\uff1a:()\uff08\uff09-\u2014"
"""Marks that end one instruction and start another (a colon too: "ratio: 16:9")."""

_WORDS_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10}
_WORDS_ES = {"un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
             "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10}
_WORDS_PT = {"um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4,
             "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10}
_WORDS_CJK = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9, "十": 10}
_WORDS_KO = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8,
             "아홉": 9, "열": 10}
_NUMBER_WORDS = {**_WORDS_EN, **_WORDS_ES, **_WORDS_PT}

_IMAGE_NOUNS = (
    # en
    "images?|pictures?|pics?|photos?|photographs?|illustrations?|drawings?|paintings?|"
    "renders?|renderings?|versions?|variations?|variants?|options?|artworks?|wallpapers?|"
    # es
    "imágenes|imagenes|imagen|fotos?|fotografías?|ilustraciones|ilustración|dibujos?|"
    "pinturas?|versiones|versión|variaciones|variación|opciones|opción|"
    # pt
    "imagens|imagem|fotografias?|ilustrações|ilustração|desenhos?|versões|versão|"
    "variações|variação|opções|opção"
)
_REQUEST_VERBS = (
    # en
    r"(?:please\s+)?(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"
    r"(?:draw|paint|generate|create|make|render|produce|design|give|show|send)(?:\s+me)?|"
    r"i\s+(?:want|need|would\s+like|'d\s+like)|i'd\s+like|"
    # es
    r"(?:por\s+favor,?\s+)?(?:dibuja|dibújame|dibujame|dibuje|genera|genérame|generame|genere|"
    r"crea|créame|creame|cree|haz|hazme|haga|dame|quiero|necesito|me\s+gustaría)|"
    # pt
    r"(?:por\s+favor,?\s+)?(?:desenhe|desenha|gere|gera|crie|cria|faça|faz|me\s+dê|me\s+dá|"
    r"quero|preciso\s+de|gostaria\s+de)"
)
_OF = r"(?:\s+(?:of|showing|with|de|do|da|dos|das|con|com)\b)?"

_COMMON_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9",
                  "9:21")
_RATIO_WORDS_BEFORE = (
    r"aspect\s+ratio|ratio|format|aspect|relación\s+de\s+aspecto|relacion\s+de\s+aspecto|"
    r"proporción|proporcion|formato|relación|proporção|proporcao|razão\s+de\s+aspecto|"
    r"画面比例|宽高比|长宽比|比例|画幅|アスペクト比|縦横比|比率|화면\s?비율|화면비|종횡비|비율"
)
_RATIO_WORDS_AFTER = (
    r"aspect\s+ratio|ratio|format|aspect|的?比例|的?画幅|画面|の比率|比率|の縦横比|縦横比|"
    r"비율|화면비"
)
_PREPOSITIONS_BEFORE = r"in|en|em|no|na|at|com|con|with|用|以|按"
_PREPOSITIONS_AFTER = r"で|に|로|으로|的"

_ORIENTATIONS = {
    "portrait": "portrait", "vertical": "portrait", "tall": "portrait",
    "landscape": "landscape", "horizontal": "landscape", "wide": "landscape",
    "widescreen": "widescreen", "square": "square",
    "retrato": "portrait", "apaisado": "landscape", "apaisada": "landscape",
    "panorámico": "widescreen", "panoramico": "widescreen", "panorámica": "widescreen",
    "cuadrado": "square", "cuadrada": "square", "paisagem": "landscape",
    "quadrado": "square", "quadrada": "square", "panorâmico": "widescreen",
    "panorâmica": "widescreen",
}
_FRAME_WORDS_AFTER = r"format|orientation|mode|layout|aspect\s+ratio|aspect|ratio"
_FRAME_WORDS_BEFORE = (
    r"in|en|em|na|no|formato|format|orientación|orientacion|orientação|orientacao|modo|"
    r"en\s+formato|em\s+formato|no\s+formato|na\s+orientação"
)
_CJK_ORIENTATION: list[tuple[str, str]] = [
    # zh: always about the frame
    (r"(?:竖版|竖屏|竖图|竖构图|纵向构图|竖向构图)", "portrait"),
    (r"(?:横版|横屏|横图|横构图|横向构图)", "landscape"),
    (r"宽屏", "widescreen"),
    (r"(?:正?方形|方图)(?=构图|比例|画幅|尺寸|图片|的图)", "square"),
    # ja: with a particle or a frame word
    (r"(?:縦長|縦向き|縦型|縦構図)(?=で|に|の(?:画像|イラスト|写真|絵|構図)|画像|構図|サイズ|比率|$)",
     "portrait"),
    (r"(?:横長|横向き|横型|横構図)(?=で|に|の(?:画像|イラスト|写真|絵|構図)|画像|構図|サイズ|比率|$)",
     "landscape"),
    (r"正方形(?=で|に|の(?:画像|イラスト|写真|絵|構図)|画像|構図|サイズ|比率)", "square"),
    # ko: with a particle or a frame word
    (r"(?<![가-힣])세로(?:로|형|\s?방향|\s?비율|\s?(?:이미지|사진|그림|사이즈|화면))(?:으로|로)?",
     "portrait"),
    (r"(?<![가-힣])가로(?:로|형|\s?방향|\s?비율|\s?(?:이미지|사진|그림|사이즈|화면))(?:으로|로)?",
     "landscape"),
    (r"(?<![가-힣])정사각형(?:으로|\s?비율|\s?(?:이미지|사진|그림|사이즈|화면))(?:으로|로)?",
     "square"),
]
_ORIENTATION_RATIOS: dict[str, tuple[str, ...]] = {
    "portrait": ("9:16", "2:3", "3:4", "4:5"),
    "landscape": ("16:9", "3:2", "4:3", "5:4"),
    "widescreen": ("16:9", "21:9"),
    "square": ("1:1",),
}
"""Preferred ratios per orientation, most usual first; the first the model offers wins."""

_RESOLUTION_WORDS_BEFORE = (
    r"resolution|res|quality|resolución|resolucion|calidad|resolução|resolucao|qualidade|"
    r"分辨率|清晰度|画质|解像度|画質|해상도|화질"
)
_RESOLUTION_WORDS_AFTER = (
    r"resolution|res|quality|resolución|resolucion|resolução|resolucao|的?分辨率|分辨率|画质|"
    r"清晰度|解像度|画質|해상도|화질"
)
_MODEL_LEAD = (
    r"with|using|use|via|on|by|in|con|usando|usa|com|no|utilizando|"
    r"用|使用|采用|通过|で|を使って|로|으로|를\s?써서|를\s?사용해서|사용"
)
_MODEL_WORDS = r"model|modelo|模型|モデル|모델"

_LEAD_BOILERPLATE_LATIN = re.compile(
    rf"^\s*(?:please[\s,]+|por\s+favor[\s,]+)?(?:{_REQUEST_VERBS})"
    rf"(?:\s+(?:a|an|one|some|the|un|una|um|uma)?\s*(?:{_IMAGE_NOUNS}){_OF})?(?:[\s,:]+|$)",
    re.IGNORECASE,
)
_DETERMINER = re.compile(
    r"(?:a|an|the|some|my|our|your|his|her|their|this|that|these|those|un|una|unos|unas|el|"
    r"la|los|las|mi|mis|tu|tus|su|sus|este|esta|um|uma|uns|umas|o|os|as|meu|minha|seu|sua|"
    rf"{'|'.join(_NUMBER_WORDS)}|[{_DIGITS}])(?![\w])",
    re.IGNORECASE,
)
"""Words that start a description: after one, a leading verb is a request ("Paint the
sea"); without one it may be the subject ("Paint splatter art", "Design of a chair")."""
_POLITE_REQUEST = re.compile(
    r"please|por\s+favor|can\s+you|could\s+you|would\s+you|will\s+you|\bme\b|i\s+want|"
    r"i\s+need|i'd\s+like|i\s+would\s+like|quiero|quero|necesito|preciso|dame|hazme",
    re.IGNORECASE,
)
_LEAD_IMAGE_NOUN = re.compile(
    rf"^\s*(?:a|an|one|un|una|um|uma)?\s*(?:{_IMAGE_NOUNS})\s+(?:of|showing|de|do|da)\s+",
    re.IGNORECASE,
)
_LEAD_BOILERPLATE_ZH = re.compile(
    r"^\s*(?:请你?|麻烦你?|能不能|可以)?(?:帮我|给我|替我|为我|帮忙)?"
    r"(?:画|绘制|生成|做|创作|来|设计|制作|出)(?:一下)?(?:[一]?[张幅个]?(?:图片|图|照片|插画|画)[，,：:]?)?"
)
_TRAIL_BOILERPLATE_ZH = re.compile(r"(?:的)?(?:图片|图像|照片|插画|图)\s*[吧吗呢。！!]*\s*$")
_TRAIL_BOILERPLATE_JA = re.compile(
    r"(?:の?(?:画像|イラスト|絵|写真))?(?:を)?\s*(?:描いて|書いて|作って|生成して|作成して)"
    r"(?:ください|下さい|ほしい|欲しい|くれ|くれますか|もらえますか|もらえる)?\s*[。！!]*\s*$"
)
_TRAIL_BOILERPLATE_KO = re.compile(
    r"(?:의)?\s*(?:이미지|그림|사진|일러스트)?\s*(?:을|를)?\s*"
    r"(?:그려|만들어|생성해|그리어)\s*(?:줘|주세요|줄래|주실래요|주시겠어요|봐)\s*[.!]*\s*$"
)
_TRAIL_POLITENESS = re.compile(
    r"[\s,]*(?:please|thanks|thank\s+you|por\s+favor|gracias|obrigad[oa]|pls)\s*[.!]*\s*$",
    re.IGNORECASE,
)
_EDGE_PUNCT = " \t\r\n,;:.、，；：。"


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatRequest:
    """What a chat message asks for; None where it does not say."""

    prompt: str | None
    n: int | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    model: str | None = None

    def settings(self) -> dict[str, Any]:
        """The values read besides the prompt (model, resolution, n, aspect ratio)."""
        return {k: v for k, v in asdict(self).items() if k != "prompt" and v is not None}


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


# -- helpers ---------------------------------------------------------------------------


def _number(word: str) -> int | None:
    word = word.strip().casefold()
    if word.isdigit():
        return int(word)  # int() reads full-width digits too
    return _NUMBER_WORDS.get(word) or _WORDS_CJK.get(word) or _WORDS_KO.get(word)


def _clause_before(text: str, start: int) -> bool:
    """Whether an instruction may start at ``start``: text start or a clause mark before."""
    before = text[:start].rstrip()
    return not before or before[-1] in _CLAUSE_MARKS


def _clause_after(text: str, end: int) -> bool:
    after = text[end:].lstrip()
    return not after or after[0] in _CLAUSE_MARKS


def _free(spans: list[_Span], start: int, end: int) -> bool:
    return all(end <= s.start or start >= s.end for s in spans)


def _remove(text: str, spans: Iterable[_Span]) -> str:
    out, last = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[last:span.start])
        out.append(" ")
        last = span.end
    out.append(text[last:])
    return "".join(out)


def _tidy(text: str) -> str:
    """Whitespace and the punctuation left where instructions were cut out."""
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\s+([,;.!?，。；！？、])", r"\1", text)
    # Runs of separators (", ,", "，，") collapse to the first one.
    text = re.sub(r"([,;，；、])(?:\s*[,;，；、])+", r"\1", text)
    text = re.sub(r"([,;，；、])\s*([.!?。！？])", r"\2", text)
    text = re.sub(r"\(\s*\)|（\s*）", "", text)
    return text.strip(_EDGE_PUNCT)


# -- model -----------------------------------------------------------------------------


def _model_pattern(model: ImageModel) -> re.Pattern[str]:
    names = sorted({model.id, model.label}, key=len, reverse=True)
    alts = "|".join(r"\s+".join(re.escape(part) for part in name.split()) for name in names)
    return re.compile(
        rf"(?:(?<![A-Za-z])(?:{_MODEL_LEAD})\s*)?(?:(?:the|el|o)\s+)?"
        rf"(?<![A-Za-z0-9.\-])(?:{alts})(?![A-Za-z0-9\-]|\.[A-Za-z0-9])(?:\s*(?:{_MODEL_WORDS}))?",
        re.IGNORECASE,
    )


def _read_model(
    text: str, caps: ImageCapabilities | None, spans: list[_Span]
) -> ImageModel | None:
    if caps is None:
        return None
    found: list[tuple[int, int, int, ImageModel]] = []
    for model in caps.models:
        for m in _model_pattern(model).finditer(text):
            found.append((m.start(), -(m.end() - m.start()), m.end(), model))
    # The longest name wins where two overlap ("Nano Banana Pro" over "Nano Banana").
    for start, _neg, end, model in sorted(found, key=lambda f: (f[1], f[0])):
        if _free(spans, start, end):
            spans.append(_Span(start, end))
            return model
    return None


# -- resolution ------------------------------------------------------------------------


def _read_resolution(
    text: str, model: ImageModel | None, caps: ImageCapabilities | None, spans: list[_Span]
) -> str | None:
    known: list[str] = []
    for offered in ([model] if model else (caps.models if caps else [])):
        known += [r for r in offered.limits.resolutions if r not in known]
    values = sorted({*known, *(f"{d}K" for d in range(1, 9))}, key=len, reverse=True)
    value_re = "|".join(re.escape(v).replace("K", "[Kk]") for v in values)
    token = rf"(?<![A-Za-z0-9.])(?P<value>{value_re})(?![A-Za-z0-9])"
    patterns = [
        rf"(?:{_RESOLUTION_WORDS_BEFORE})\s*[{_COLON}]?\s*(?:of|de|为|是|は|:)?\s*{token}",
        rf"(?:(?<![A-Za-z])(?:{_PREPOSITIONS_BEFORE})\s+)?{token}\s*(?:{_RESOLUTION_WORDS_AFTER})",
        rf"(?<![\w])(?:{_PREPOSITIONS_BEFORE})\s+{token}",
        rf"{token}(?:{_PREPOSITIONS_AFTER})",
        token,
    ]
    for i, pattern in enumerate(patterns):
        for m in re.finditer(pattern, text, re.IGNORECASE):
            bare = i == len(patterns) - 1
            if bare and not (_clause_before(text, m.start()) and _clause_after(text, m.end())):
                continue
            if not _free(spans, m.start(), m.end()):
                continue
            spans.append(_Span(m.start(), m.end()))
            value = m.group("value")
            return next((r for r in known if r.casefold() == value.casefold()), value.upper())
    return None


# -- aspect ratio ----------------------------------------------------------------------

_RATIO = (
    rf"(?<![{_DIGITS}.{_COLON}])(?P<w>[{_DIGITS}]{{1,2}})\s*[{_COLON}]\s*"
    rf"(?P<h>[{_DIGITS}]{{1,2}})(?![{_DIGITS}]|[{_COLON}][{_DIGITS}])"
)
"""W:H with one- or two-digit sides, not part of a longer number or a time (12:30:45)."""


def _ratio_value(m: re.Match[str]) -> str | None:
    w, h = int(m.group("w")), int(m.group("h"))
    return f"{w}:{h}" if w > 0 and h > 0 else None


def _read_explicit_ratio(text: str, spans: list[_Span]) -> str | None:
    keyword_forms = [
        rf"(?:{_RATIO_WORDS_BEFORE})\s*[{_COLON}]?\s*(?:of|de|为|是|は|는|은|:)?\s*{_RATIO}",
        rf"(?:(?<![A-Za-z])(?:{_PREPOSITIONS_BEFORE})\s+)?{_RATIO}\s*(?:{_RATIO_WORDS_AFTER})",
    ]
    for pattern in keyword_forms:
        for m in re.finditer(pattern, text, re.IGNORECASE):
            value = _ratio_value(m)
            if value and _free(spans, m.start(), m.end()):
                spans.append(_Span(m.start(), m.end()))
                return value
    loose_forms = [
        rf"(?<![\w])(?:{_PREPOSITIONS_BEFORE})\s+{_RATIO}",
        rf"{_RATIO}(?:{_PREPOSITIONS_AFTER})",
        _RATIO,
    ]
    for i, pattern in enumerate(loose_forms):
        for m in re.finditer(pattern, text, re.IGNORECASE):
            value = _ratio_value(m)
            if value not in _COMMON_RATIOS or not _free(spans, m.start(), m.end()):
                continue
            if i == 0 and not _clause_after(text, m.end()):
                continue  # "in 16:9 TVs": the ratio of something shown
            if i == 2 and not (_clause_before(text, m.start()) and _clause_after(text, m.end())):
                continue
            spans.append(_Span(m.start(), m.end()))
            return value
    return None


def _read_orientation(text: str, spans: list[_Span]) -> str | None:
    words = "|".join(sorted(_ORIENTATIONS, key=len, reverse=True))
    latin = [
        rf"(?<![\w])(?:(?:in|en|em|na|no)\s+)?(?P<word>{words})\s+(?:{_FRAME_WORDS_AFTER})(?![\w])",
        rf"(?<![\w])(?:{_FRAME_WORDS_BEFORE})\s+(?P<word>{words})(?![\w])",
        rf"(?<![\w])(?P<word>{words})(?![\w])",
    ]
    for i, pattern in enumerate(latin):
        for m in re.finditer(pattern, text, re.IGNORECASE):
            if not _free(spans, m.start(), m.end()):
                continue
            if i == 1 and not _clause_after(text, m.end()):
                continue  # "in landscape photography" describes the picture
            if i == 2 and not (_clause_before(text, m.start()) and _clause_after(text, m.end())):
                continue
            spans.append(_Span(m.start(), m.end()))
            return _ORIENTATIONS[m.group("word").casefold()]
    for pattern, orientation in _CJK_ORIENTATION:
        for m in re.finditer(pattern, text):
            if _free(spans, m.start(), m.end()):
                end = m.end()
                particle = re.match(r"(?:で|に|로|으로|的)", text[end:])
                if particle:
                    end += particle.end()
                spans.append(_Span(m.start(), end))
                return orientation
    return None


def ratio_for_orientation(orientation: str, allowed: list[str] | None) -> str:
    """The ratio for "portrait", "landscape", "widescreen" or "square" that the model offers
    (the most usual one first); without a list, the most usual one."""
    preferred = _ORIENTATION_RATIOS[orientation]
    if allowed:
        for ratio in preferred:
            if ratio in allowed:
                return ratio
        for ratio in allowed:
            w, _, h = ratio.partition(":")
            if w.isdigit() and h.isdigit():
                kind = "square" if w == h else "portrait" if int(w) < int(h) else "landscape"
                if kind == orientation or (orientation == "widescreen" and kind == "landscape"):
                    return ratio
    return preferred[0]


# -- count -----------------------------------------------------------------------------


def _read_count_latin(text: str, spans: list[_Span]) -> int | None:
    numbers = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    pattern = re.compile(
        rf"(?<![\w])(?P<num>[{_DIGITS}]{{1,2}}|{numbers})\s+(?:{_IMAGE_NOUNS})(?![\w]){_OF}"
        rf"|(?<![\w])n\s*=\s*(?P<eq>[{_DIGITS}]{{1,2}})(?![\w])",
        re.IGNORECASE,
    )
    verb_end = re.compile(rf"(?:^|[\s,])(?:{_REQUEST_VERBS})\s*$", re.IGNORECASE)
    for m in pattern.finditer(text):
        if not _free(spans, m.start(), m.end()):
            continue
        if m.group("eq"):
            spans.append(_Span(m.start(), m.end()))
            return int(m.group("eq"))
        if not (_clause_before(text, m.start()) or verb_end.search(text[: m.start()])):
            continue  # "a poster with 2 photos on it": part of the description
        value = _number(m.group("num"))
        if value:
            spans.append(_Span(m.start(), m.end()))
            return value
    return None


def _read_count_cjk(text: str, spans: list[_Span]) -> int | None:
    num = rf"(?P<num>[{_DIGITS}]{{1,2}}|[一二两兩三四五六七八九十])"
    ko_num = rf"(?P<num>[{_DIGITS}]{{1,2}}|다섯|여섯|일곱|여덟|아홉|[한두세네열])"
    zh_verbs = r"(?:画|绘制|生成|来|做|出|要|给我|制作|创作|设计)"
    zh_nouns = r"(?:图片|图像|图|照片|画|插画|壁纸|海报)"
    ja_nouns = r"(?:画像|イラスト|写真|絵|画)"
    ja_after = (
        r"(?:の(?:画像|イラスト|写真|絵)|"
        r"(?:ほど|くらい)?(?:生成|作|描|出|ください|下さい|お願い|ほしい|欲しい|で))"
    )
    # Each form marks the part read (and removed) as group "c"; the context around it stays.
    forms = [
        # zh
        (rf"{zh_verbs}(?P<c>{num}\s*[张幅](?:{zh_nouns})?)", None),
        (rf"(?P<c>{num}\s*[张幅](?={zh_nouns})(?:{zh_nouns})?)", None),
        (rf"(?P<c>{num}\s*[张幅])", "clause"),
        # ja
        (rf"{ja_nouns}(?P<c>(?:を|は)?\s*{num}\s*枚)", None),
        (rf"(?P<c>{num}\s*枚(?={ja_after})(?:の(?:画像|イラスト|写真|絵))?)", None),
        (rf"(?P<c>{num}\s*枚)", "clause"),
        # ko: "장" is the classifier only when no syllable follows ("장면" is a scene)
        (rf"(?<![가-힣])(?P<c>{ko_num}\s?장)(?![가-힣])", None),
        (rf"(?<![가-힣])(?P<c>{ko_num}\s?장)(?=(?:을|이|의|만|씩|으로|짜리|정도)(?![가-힣]))",
         None),
    ]
    for pattern, needs in forms:
        for m in re.finditer(pattern, text):
            start, end = m.span("c")
            if not _free(spans, start, end):
                continue
            if needs == "clause" and not (_clause_before(text, start) and _clause_after(text, end)):
                continue
            value = _number(m.group("num"))
            if value:
                spans.append(_Span(start, end))
                return value
    return None


# -- prompt ----------------------------------------------------------------------------


def _strip_boilerplate(text: str) -> str:
    """Request phrases at the edges ("Please draw", "帮我画", "を描いてください")."""
    out = text
    for _ in range(2):
        lead = _LEAD_BOILERPLATE_LATIN.match(out)
        if lead and (_POLITE_REQUEST.search(lead.group()) or _DETERMINER.match(out[lead.end():])
                     or not out[lead.end():].strip()):
            out = out[lead.end():]
        out = _LEAD_IMAGE_NOUN.sub("", out, count=1)
    # Chinese request words only in Chinese text ("画像を..." is Japanese, not "画" + "像").
    japanese_or_korean = re.search(r"[\u3040-\u30ff\uac00-\ud7a3]", out)
    zh = None if japanese_or_korean else _LEAD_BOILERPLATE_ZH.match(out)
    if zh and zh.end():
        out = out[zh.end():]
        out = _TRAIL_BOILERPLATE_ZH.sub("", out)
    out = _TRAIL_BOILERPLATE_JA.sub("", out)
    out = _TRAIL_BOILERPLATE_KO.sub("", out)
    out = _TRAIL_POLITENESS.sub("", out)
    return _tidy(out)


def _has_words(text: str) -> bool:
    return any(c.isalpha() for c in text)


def clean_prompt(text: str) -> str | None:
    """The description in ``text`` without request boilerplate; None when there is none."""
    tidy = _tidy(text)
    stripped = _strip_boilerplate(tidy)
    if _has_words(stripped) and not _only_boilerplate_left(stripped):
        return stripped
    return None if _only_boilerplate_left(tidy) or not _has_words(stripped) else tidy


_LEFTOVER = re.compile(
    rf"^(?:[一]?[张幅]?(?:图片|图|照片|画)|(?:a|an|the|one)?\s*(?:{_IMAGE_NOUNS})|"
    r"画像|イラスト|이미지|그림|please|por\s+favor)?$",
    re.IGNORECASE,
)


def _only_boilerplate_left(text: str) -> bool:
    """"张图", "an image", "please": words of the request, not of a description."""
    return bool(_LEFTOVER.match(_strip_boilerplate(text).strip()))


def read_request(text: str, capabilities: ImageCapabilities | None = None) -> ChatRequest:
    """What ``text`` asks for (see the module docstring for the rules).

    ``capabilities`` lets the model be found by id or label, resolutions be matched to
    the ones offered, and "portrait"/"landscape" become a ratio the model offers.
    """
    text = (text or "").strip()
    if not text:
        return ChatRequest(prompt=None)
    spans: list[_Span] = []
    model = _read_model(text, capabilities, spans)
    resolution = _read_resolution(text, model, capabilities, spans)
    ratio = _read_explicit_ratio(text, spans)
    if ratio is None:
        orientation = _read_orientation(text, spans)
        if orientation is not None:
            chosen = model or (
                capabilities.model_by_id(capabilities.default_model) if capabilities else None
            )
            ratio = ratio_for_orientation(
                orientation, chosen.limits.aspect_ratios if chosen else None
            )
    n = _read_count_latin(text, spans)
    if n is None:
        n = _read_count_cjk(text, spans)
    return ChatRequest(
        prompt=clean_prompt(_remove(text, spans)),
        n=n,
        aspect_ratio=ratio,
        resolution=resolution,
        model=model.id if model else None,
    )


# -- the graph's use: what clarify keeps, what validate settles ------------------------

READ_KEYS = ("n", "aspect_ratio", "resolution", "model")
"""The settings a message's text can give besides the prompt."""


def _unset(given: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` for the settings the caller left unset (an explicit input wins)."""
    return {k: v for k, v in values.items() if k in READ_KEYS and v is not None
            and given.get(k) is None}


def read_message(text: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """What clarify keeps from a message read by the rules: the prompt and the settings
    the caller left unset. :func:`settle` reads the text again once the capabilities are
    known (to find model names and the ratios the model offers)."""
    request = read_request(text)
    return {"prompt": request.prompt, **_unset(given, request.settings()), "source": "rules"}


def merge_model_reading(
    extracted: Mapping[str, Any], text: str, given: Mapping[str, Any]
) -> dict[str, Any]:
    """A chat model's reading, with what the rules read filling the gaps it left."""
    rules = read_request(text).settings()
    values = {**{k: v for k, v in rules.items() if extracted.get(k) is None}, **extracted}
    return {"prompt": extracted.get("prompt"), **_unset(given, values), "source": "model"}


def request_values(derived: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a reading that it gives (without its bookkeeping)."""
    return {k: derived[k] for k in ("prompt", *READ_KEYS) if derived.get(k) is not None}


def settle(
    derived: Mapping[str, Any] | None, text: str, caps: ImageCapabilities,
    args: Mapping[str, Any],
) -> dict[str, Any]:
    """Changes to ``args`` now that the capabilities are known: the message's ``text``
    read again, for the values that still are what was read from it (nothing a caller or
    an answer set).

    A rules reading is replaced as a whole (a model name leaves the prompt, "portrait"
    becomes a ratio the chosen model offers); a chat model's reading only gains a model
    the rules find by id or label.
    """
    if not derived or not text:
        return {}
    again = read_request(text, caps)
    untouched = [k for k in ("prompt", *READ_KEYS) if args.get(k) == derived.get(k)]
    if derived.get("source") == "model":
        if "model" in untouched and derived.get("model") is None and again.model:
            return {"model": again.model}
        return {}
    changes: dict[str, Any] = {}
    if "prompt" in untouched and again.prompt:
        changes["prompt"] = again.prompt
    for key in READ_KEYS:
        value = getattr(again, key)
        if key in untouched and value is not None and value != args.get(key):
            changes[key] = value
    return changes
