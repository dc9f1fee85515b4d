"""Finding the prompt: read the conversation, ask when it is missing, offer a richer one once.

A chat model, when the graph has one, reads the request out of a conversation and
drafts the refinement; without one the newest message is the prompt and the
refinement is a rule. Its answers are checkpointed before any question, so a
resumed node never asks the model again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.types import Command, interrupt

from ._flow import Dual, Flow
from .answer_words import is_keep, is_use
from .intake import new_request, starts_request
from .language import detect_language, uses_cjk_script
from .messages import DEFAULT_LANGUAGE, text
from .node_env import (
    NodeEnv,
    answer_text,
    generation,
    latest_human,
    message_text,
    with_update,
)
from .node_env import step as next_step
from .prompts import EXTRACT_SYSTEM, REFINE_SYSTEM
from .state import ImageSettings, State

logger = logging.getLogger(__name__)

TEXT_RESPONSE_SCHEMA: dict[str, Any] = {"type": "string"}
REFINE_RESPONSE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "description": "keep, use, or your own prompt"},
        {
            "type": "object",
            "properties": {
                "type": {"enum": ["keep", "use", "edit"]},
                "prompt": {"type": "string"},
            },
            "required": ["type"],
        },
    ]
}


def is_vague(prompt: str) -> bool:
    """A few words with no detail: Latin words, or characters for CJK scripts."""
    if uses_cjk_script(prompt):
        return len(prompt.replace(" ", "")) < 6
    return len(prompt.split()) < 4


def clarify(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Start the request this invocation asks for (see ``intake``), then find its prompt."""
    base = generation(state)
    new = False
    update: dict[str, Any] = {}
    if starts_request(state):
        base, update = yield from new_request(state, env)
        new = True
        if base.get("status"):  # refused: its run id
            return with_update(next_step(base, "persist", new=True), update)
    elif base.get("phase") == "approve":  # invoked again while the approval waits
        return next_step(base, "confirm")
    changes: dict[str, Any] = {}  # what this pass learnt

    def go(goto: str) -> Command[Any]:
        return with_update(next_step(base, goto, new=new, **changes), update)

    asked: ImageSettings = dict(base.get("asked") or {})  # type: ignore[assignment]
    human = latest_human(state)
    if base.get("read_chat"):
        extracted: dict[str, Any] = {"prompt": message_text(human) if human else None}
        used_model = False
        if env.chat_model is not None:
            try:
                extracted = yield from _extract_with_model(env.chat_model, state, asked)
                used_model = True
            except Exception as exc:  # the model only helps: read the message as it is
                logger.warning("chat model failed to read the request: %r", exc)
        asked.update({k: v for k, v in extracted.items() if v is not None})  # type: ignore[typeddict-item]
        changes.update(asked=asked, read_chat=False)
        if used_model:  # checkpoint the model's answer before any question
            return go("clarify")
    prompt = (asked.get("prompt") or "").strip()
    lang = base.get("language") or DEFAULT_LANGUAGE
    if not base.get("language_chosen"):  # the language follows the person's words
        lang = detect_language(prompt or (message_text(human) if human else ""), default=lang)
        if lang != base.get("language"):
            changes["language"] = lang

    if not prompt:
        answer = interrupt(
            {"type": "question", "kind": "prompt", "question": text(lang, "ask_prompt")},
            response_schema=TEXT_RESPONSE_SCHEMA,
        )
        given = answer_text(answer, "prompt")
        if given:
            changes["asked"] = {**asked, "prompt": given}
        return go("clarify")

    if base.get("refine", True) and not base.get("refinement_offered") and is_vague(prompt):
        suggestion = base.get("suggestion")
        if not suggestion:
            suggestion = _rule_refinement(lang, prompt)
            if env.chat_model is not None:
                try:
                    drafted = yield Dual(
                        env.chat_model.invoke,
                        env.chat_model.ainvoke,
                        ([SystemMessage(REFINE_SYSTEM), HumanMessage(prompt)],),
                    )
                except Exception as exc:  # the model only helps: offer the plain suggestion
                    logger.warning("chat model failed to draft a refinement: %r", exc)
                else:
                    changes["suggestion"] = message_text(drafted) or suggestion
                    return go("clarify")
        answer = interrupt(
            {
                "type": "refine_prompt",
                "question": text(lang, "offer_refinement", prompt=prompt, suggestion=suggestion),
                "prompt": prompt,
                "suggestion": suggestion,
                "options": ["keep", "use", "edit"],
            },
            response_schema=REFINE_RESPONSE_SCHEMA,
        )
        chosen = _refinement_choice(answer, prompt, suggestion)
        changes.update(refinement_offered=True, suggestion=None)
        if chosen != prompt:
            changes["asked"] = {**asked, "prompt": chosen}
    return go("load_capabilities")


def _rule_refinement(lang: str, prompt: str) -> str:
    return prompt.rstrip(" .。!！") + text(lang, "refinement_suffix")


def _refinement_choice(answer: Any, prompt: str, suggestion: str) -> str:
    if isinstance(answer, dict):
        kind = str(answer.get("type") or "").lower()
        edited = str(answer.get("prompt") or "").strip()
        if kind == "use":
            return suggestion
        if kind == "edit" and edited:
            return edited
        return prompt
    said = str(answer or "").strip()
    if not said or is_keep(said):
        return prompt
    if is_use(said):
        return suggestion
    return said  # their own wording


def _extract_with_model(
    model: BaseChatModel, state: State, asked: ImageSettings
) -> Flow[dict[str, Any]]:
    history = [m for m in state.get("messages") or [] if isinstance(m, (HumanMessage, AIMessage))]
    reply = yield Dual(model.invoke, model.ainvoke, ([SystemMessage(EXTRACT_SYSTEM), *history],))
    raw = message_text(reply)
    try:
        start, end = raw.index("{"), raw.rindex("}") + 1
        data = json.loads(raw[start:end])
    except ValueError:
        data = {"prompt": raw or None}
    out: dict[str, Any] = {"prompt": (str(data.get("prompt") or "").strip() or None)}
    if data.get("n") not in (None, "") and asked.get("n") is None:
        out["n"] = data["n"]
    if data.get("aspect_ratio") and asked.get("aspect_ratio") is None:
        out["aspect_ratio"] = str(data["aspect_ratio"])
    return out
