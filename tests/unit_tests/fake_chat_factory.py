"""A chat model factory for ``CREATOK_CHAT_MODEL_FACTORY`` in tests (no network)."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage


def extractor() -> GenericFakeChatModel:
    """Reads every conversation as a request for two square pictures of a lighthouse."""
    reply = '{"prompt": "a lighthouse on a cliff, oil painting", "n": 2, "aspect_ratio": "1:1"}'
    return GenericFakeChatModel(messages=iter([AIMessage(reply)] * 100))


def not_a_model() -> str:
    return "not a chat model"
