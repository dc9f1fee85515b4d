"""The optional chat model: what it reads from a conversation, how it refines a prompt,
and how the operator of a served graph chooses one.

The graph works without a model (``conversation.read_request`` reads what can be read
reliably). With one, it reads more: the whole conversation, any wording, and it can
rewrite a very short description into a richer one, in the person's language.

The operator chooses the served graph's model with the environment (never a client of
the server, who would otherwise spend the operator's LLM budget):

* ``CREATOK_CHAT_MODEL="provider:model"`` (e.g. ``openai:gpt-4o-mini``), built with
  ``langchain.chat_models.init_chat_model``; needs ``pip install langchain`` and the
  provider's package (``langchain-openai``...), and that provider's own API key variable;
* ``CREATOK_CHAT_MODEL_FACTORY="package.module:function"``: a callable returning a
  ``BaseChatModel``, for anything ``init_chat_model`` cannot express.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from ._flow import Dual, Flow
from .errors import ConfigurationError
from .node_env import message_text
from .prompts import EXTRACT_SYSTEM, REFINE_SYSTEM, language_name

CHAT_MODEL_ENV = "CREATOK_CHAT_MODEL"
CHAT_MODEL_FACTORY_ENV = "CREATOK_CHAT_MODEL_FACTORY"


class ImageRequestExtraction(BaseModel):
    """The image the person asked for in this conversation, if any."""

    prompt: str | None = Field(
        default=None,
        description="A self-contained description of the image, in the person's language, "
        "without instructions such as counts, sizes or ratios. null when no image was "
        "asked for yet.",
    )
    n: int | None = Field(default=None, description="How many images; null if not said.")
    aspect_ratio: str | None = Field(
        default=None, description="Width:height such as 16:9 or 9:16; null if not said."
    )
    resolution: str | None = Field(
        default=None, description="Such as 1K, 2K or 4K; null if not said."
    )
    model: str | None = Field(
        default=None, description="An image model the person named, as written; null if none."
    )


def _text_only(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The conversation as text: image bytes are not sent to the chat model."""
    out: list[BaseMessage] = []
    for m in messages:
        if isinstance(m, HumanMessage):
            out.append(HumanMessage(message_text(m)))
        elif isinstance(m, AIMessage):
            out.append(AIMessage(message_text(m)))
    return out


def _structured(model: BaseChatModel) -> Any | None:
    """The model bound to :class:`ImageRequestExtraction`, or None if it cannot do that."""
    try:
        return model.with_structured_output(ImageRequestExtraction)
    except (NotImplementedError, ValueError, TypeError):
        return None


def _parse_reply(raw: str) -> dict[str, Any]:
    """The JSON object in a free-text reply; the reply as the prompt when there is none."""
    try:
        start, end = raw.index("{"), raw.rindex("}") + 1
        data = json.loads(raw[start:end])
    except ValueError:
        return {"prompt": raw or None}
    return data if isinstance(data, dict) else {"prompt": raw or None}


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"prompt": str(data.get("prompt") or "").strip() or None}
    n = data.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        out["n"] = n
    elif isinstance(n, str) and n.strip().isdigit():
        out["n"] = int(n.strip())
    for key in ("aspect_ratio", "resolution", "model"):
        value = str(data.get(key) or "").strip()
        if value and value.lower() not in ("null", "none"):
            out[key] = value
    return out


def extract_request(model: BaseChatModel, messages: list[BaseMessage]) -> Flow[dict[str, Any]]:
    """What the conversation asks for: ``prompt`` (None when no image was asked for yet)
    and whichever of n, aspect_ratio, resolution and model the person gave.

    Uses the provider's structured output when the model supports it, else parses the
    JSON object in its reply.
    """
    history = [SystemMessage(EXTRACT_SYSTEM), *_text_only(messages)]
    structured = _structured(model)
    if structured is not None:
        result = yield Dual(structured.invoke, structured.ainvoke, (history,))
        if isinstance(result, BaseModel):
            return _clean(result.model_dump())
        if isinstance(result, dict):
            return _clean(result)
        raise ValueError(f"structured output gave {type(result).__name__}")
    reply = yield Dual(model.invoke, model.ainvoke, (history,))
    return _clean(_parse_reply(message_text(reply)))


def draft_refinement(model: BaseChatModel, prompt: str, lang: str) -> Flow[str | None]:
    """A richer rewrite of ``prompt`` in the person's language; None when the model gives
    back nothing new."""
    system = REFINE_SYSTEM.format(language=language_name(lang))
    messages = [SystemMessage(system), HumanMessage(prompt)]
    reply = yield Dual(model.invoke, model.ainvoke, (messages,))
    drafted = message_text(reply).strip().strip("\"“”「」")
    if not drafted or _same_words(drafted, prompt):
        return None
    return drafted


def _same_words(a: str, b: str) -> bool:
    def words(s: str) -> str:
        return " ".join(s.casefold().strip(" .,;:!?。！？、").split())

    return words(a) == words(b)


def chat_model_from_env(environ: dict[str, str] | None = None) -> BaseChatModel | None:
    """The operator's chat model for the served graph; None when none is configured.

    Raises :class:`ConfigurationError` naming the setting and the fix when it is set
    but cannot be built (a missing package, an unknown provider, a bad factory).
    """
    env = os.environ if environ is None else environ
    factory = (env.get(CHAT_MODEL_FACTORY_ENV) or "").strip()
    spec = (env.get(CHAT_MODEL_ENV) or "").strip()
    if factory:
        return _from_factory(factory)
    if spec:
        return _from_spec(spec)
    return None


def _from_factory(path: str) -> BaseChatModel:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(
            f"{CHAT_MODEL_FACTORY_ENV}={path!r} must look like 'package.module:function'"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"{CHAT_MODEL_FACTORY_ENV}={path!r} cannot be loaded: {exc}"
        ) from None
    model = factory()
    if not isinstance(model, BaseChatModel):
        raise ConfigurationError(
            f"{CHAT_MODEL_FACTORY_ENV}={path!r} returned {type(model).__name__}, "
            "not a LangChain chat model"
        )
    return model


def _from_spec(spec: str) -> BaseChatModel:
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise ConfigurationError(
            f"{CHAT_MODEL_ENV}={spec!r} needs the langchain package: pip install langchain "
            "and the provider's package (e.g. langchain-openai), or unset it to run "
            "without a chat model"
        ) from None
    try:
        model = init_chat_model(spec)
    except ImportError as exc:
        raise ConfigurationError(
            f"{CHAT_MODEL_ENV}={spec!r}: the provider's package is not installed ({exc})"
        ) from None
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigurationError(
            f"{CHAT_MODEL_ENV}={spec!r} is not a chat model LangChain knows ({first}); "
            "write it as 'provider:model', e.g. 'openai:gpt-4o-mini'"
        ) from None
    except Exception as exc:  # e.g. the provider's API key variable is missing
        raise ConfigurationError(
            f"{CHAT_MODEL_ENV}={spec!r} cannot be used: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(model, BaseChatModel):
        raise ConfigurationError(f"{CHAT_MODEL_ENV}={spec!r} did not give a chat model")
    return model
