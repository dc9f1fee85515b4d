"""Finding the prompt: read the conversation, ask when it is missing, offer a richer one once.

The newest message is read by the rules (``conversation``: count, ratio, resolution,
model, in six languages); a chat model, when the graph has one, reads the whole
conversation (``chat_model``) and drafts the refinement. Without one the prompt is
taken as written: no question the person did not need. The model's answers are
checkpointed before any question, so a resumed node never asks the model again.
Pictures in the message become reference files (``chat_images``).
"""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.types import Command, interrupt

from . import chat_images, conversation
from ._flow import Blocking, Flow
from .answer_words import is_keep, is_use
from .chat_model import draft_refinement, extract_request
from .errors import InvalidRequestError
from .intake import fresh_message, new_request, starts_request
from .language import detect_language, uses_cjk_script
from .messages import DEFAULT_LANGUAGE, text
from .node_env import (
    NodeEnv,
    answer_text,
    end,
    generation,
    latest_human,
    message_text,
    with_update,
)
from .node_env import step as next_step
from .state import ChatReading, Generation, ImageSettings, State

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
    first = not base  # the thread's first request: nothing to replace
    new = False
    update: dict[str, Any] = {}
    if starts_request(state):
        message = fresh_message(state)
        base, update = yield from new_request(state, env)
        env = env.fixed_by(base)
        new = True
        if base.get("status"):  # refused: its run id
            return with_update(next_step(base, "persist", new=True, first=first), update)
        if message is not None and chat_images.has_images(message):
            try:
                base, lean = yield from _attach_pictures(base, message, env)
            except InvalidRequestError as exc:  # refused in the person's language
                lang = _language(base, message_text(message))
                return with_update(end(base, exc, new=True, first=first, language=lang),
                                   update)
            update["messages"] = [lean]  # the same message without the bytes
    elif base.get("phase") == "approve":  # invoked again while the approval waits
        return next_step(base, "confirm")
    changes: dict[str, Any] = {}  # what this pass learnt

    def go(goto: str) -> Command[Any]:
        return with_update(next_step(base, goto, new=new, first=first, **changes), update)

    asked: ImageSettings = dict(base.get("asked") or {})  # type: ignore[assignment]
    human = latest_human(state)
    if base.get("read_chat") and human is not None:
        said = chat_images.said(human)
        reading = conversation.read_message(said, asked)
        used_model = False
        if env.chat_model is not None:
            try:
                extracted = yield from extract_request(
                    env.chat_model, list(state.get("messages") or []))
            except Exception as exc:  # the model only helps: read the message as it is
                logger.warning("chat model failed to read the request: %r", exc)
            else:
                reading = conversation.merge_model_reading(extracted, said, asked)
                used_model = True
        asked.update(conversation.request_values(reading))  # type: ignore[typeddict-item]
        chat: ChatReading = {k: v for k, v in reading.items()  # type: ignore[assignment]
                             if v is not None}
        changes.update(asked=asked, read_chat=False, chat=chat)
        if used_model:  # checkpoint the model's answer before any question
            return go("clarify")
    prompt = (asked.get("prompt") or "").strip()
    lang = _language(base, prompt or (message_text(human) if human else ""))
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
            read = changes.get("chat", base.get("chat"))
            if read:  # the answer completes what the message said (its count...)
                changes["chat"] = {**read, "prompt": given}
        return go("clarify")

    # Only a chat model refines, and only a short description: without one the prompt is
    # taken as written (no question the person did not need).
    if (env.chat_model is not None and base.get("refine", True)
            and not base.get("refinement_offered") and is_vague(prompt)):
        suggestion = base.get("suggestion")
        if not suggestion:
            try:
                drafted = yield from draft_refinement(env.chat_model, prompt, lang)
            except Exception as exc:  # the model only helps: take the prompt as written
                logger.warning("chat model failed to draft a refinement: %r", exc)
                drafted = None
            if drafted is None:  # nothing to offer: never ask
                changes["refinement_offered"] = True
                return go("load_capabilities")
            # Checkpoint the draft before the question: a resume must not ask the model again.
            changes["suggestion"] = drafted
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


def _language(gen: Generation, sample: str) -> str:
    """The caller's language if they chose one, else the one ``sample`` is written in."""
    lang = gen.get("language") or DEFAULT_LANGUAGE
    return lang if gen.get("language_chosen") else detect_language(sample, default=lang)


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


def _attach_pictures(
    gen: Generation, message: HumanMessage, env: NodeEnv
) -> Flow[tuple[Generation, HumanMessage]]:
    """The pictures of ``message`` saved under the request's folder as reference images
    (checked by their bytes); the record with them, and the message to keep instead."""
    asked: ImageSettings = dict(gen.get("asked") or {})  # type: ignore[assignment]
    given = list(asked.get("reference_images") or [])
    refs, lean = yield Blocking(chat_images.attach_references,
                                (message, env.artifacts_root, gen["run_id"], given))
    return {**gen, "asked": {**asked, "reference_images": refs}}, lean
