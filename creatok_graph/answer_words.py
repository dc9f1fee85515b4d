"""The words a person may type to answer our questions (yes/no, keep/use, retry).

Every language is checked at once, so an answer is understood whichever language the
person replies in; English always works. Answers are compared after NFKC folding,
case folding and trimming of punctuation in every script.
"""

from __future__ import annotations

import unicodedata

YES_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("yes", "y", "ok", "okay", "sure", "go", "go ahead", "approve", "confirm"),
    "zh": ("是", "是的", "好", "好的", "确认", "可以", "行", "对", "嗯", "同意", "没问题", "继续"),
    "ja": ("はい", "うん", "お願いします", "進めて", "ええ", "いいよ", "オーケー", "承認",
           "はい、お願いします"),
    "ko": ("네", "예", "응", "좋아요", "진행", "좋아", "그래", "진행해", "진행해 주세요", "확인"),
    "es": ("sí", "si", "vale", "claro", "adelante", "de acuerdo", "dale", "confirmar", "confirmo",
           "aprobar"),
    "pt": ("sim", "pode", "claro", "ok", "pode ser", "pode seguir", "certo", "confirmar",
           "confirmo", "aprovar"),
}
NO_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("no", "n", "nope", "cancel", "stop", "reject", "decline"),
    "zh": ("不", "不要", "否", "取消", "不用", "不行", "停止", "算了", "拒绝"),
    "ja": ("いいえ", "いや", "キャンセル", "やめる", "やめて", "中止", "停止", "だめ", "ダメ",
           "結構です"),
    "ko": ("아니요", "아니오", "아니", "취소", "중지", "그만", "멈춰", "싫어요"),
    "es": ("no", "cancelar", "parar", "detener", "rechazar", "mejor no", "no, gracias"),
    "pt": ("não", "nao", "cancelar", "parar", "rejeitar", "recusar", "melhor não",
           "não, obrigado", "não, obrigada"),
}
# In the refinement question "no" means "keep my description", and "yes" means "use yours".
KEEP_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("keep", "mine", "as is", "original", "no"),
    "zh": ("保留", "保持原样", "原样", "用我的", "我的", "原来的", "不", "不用", "不要"),
    "ja": ("そのまま", "そのままで", "元のまま", "自分の", "私の", "いいえ", "いや"),
    "ko": ("유지", "그대로", "원래대로", "내 것", "내 거", "아니요", "아니오", "아니"),
    "es": ("mantener", "mantenla", "la mía", "mía", "tal cual", "original", "no"),
    "pt": ("manter", "mantenha", "a minha", "minha", "como está", "do jeito que está",
           "original", "não", "nao"),
}
USE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("use", "use it", "suggestion", "yes", "y", "ok", "okay", "sure"),
    "zh": ("使用", "用你的", "用建议", "采用", "建议", "是", "是的", "好", "好的", "可以", "行"),
    "ja": ("使う", "使って", "提案", "案を使う", "それで", "はい", "うん", "お願いします"),
    "ko": ("사용", "제안", "제안대로", "그걸로", "네", "예", "응", "좋아요"),
    "es": ("usar", "usa", "úsala", "sugerencia", "tu sugerencia", "sí", "si", "vale", "claro"),
    "pt": ("usar", "use", "usa", "sugestão", "sugestao", "sua sugestão", "sim", "pode",
           "claro"),
}
RETRY_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("retry", "again", "submit again", "resubmit"),
    "zh": ("重试", "再试一次", "重新提交", "重新发送", "再来一次"),
    "ja": ("再試行", "もう一度", "もう一回", "再送信", "リトライ"),
    "ko": ("다시 시도", "재시도", "다시", "다시 보내", "다시 보내기"),
    "es": ("reintentar", "de nuevo", "otra vez", "intentar de nuevo", "reenviar",
           "volver a enviar"),
    "pt": ("repetir", "tentar de novo", "tentar novamente", "de novo", "reenviar",
           "enviar de novo"),
}

# Stripped from both ends of an answer: spaces, punctuation and quotes in every script.
_EDGE = " \t\r\n.,;:!?¡¿…~'\"“”‘’«»「」『』()[]。、，！？；：～（）【】"


def _normalise(answer: str) -> str:
    # NFKC folds full-width forms ("ＯＫ", "？") and half-width katakana into the usual ones.
    said = unicodedata.normalize("NFKC", answer).casefold().strip(_EDGE)
    return " ".join(said.split())


def _matches(words: dict[str, tuple[str, ...]], answer: str) -> bool:
    said = _normalise(answer)
    return bool(said) and any(said == _normalise(w) for ws in words.values() for w in ws)


def is_yes(answer: str) -> bool:
    return _matches(YES_WORDS, answer)


def is_no(answer: str) -> bool:
    return _matches(NO_WORDS, answer)


def is_keep(answer: str) -> bool:
    return _matches(KEEP_WORDS, answer)


def is_use(answer: str) -> bool:
    return _matches(USE_WORDS, answer)


def is_retry(answer: str) -> bool:
    return _matches(RETRY_WORDS, answer)
