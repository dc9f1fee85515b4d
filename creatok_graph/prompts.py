"""The chat model's prompts (only used when a chat model is configured, see ``chat_model``).

What people read is in ``messages``; these are instructions for the model.
"""

from __future__ import annotations

from .messages import DEFAULT_LANGUAGE

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
                  "es": "Spanish", "pt": "Portuguese"}
"""The supported languages by name, for instructions to a chat model."""

EXTRACT_SYSTEM = (
    "You read a conversation with a person who wants an AI-generated image. Reply with one JSON "
    'object only: {"prompt": "<a self-contained description of the image, in the person\'s '
    'language, without counts, sizes, ratios or model names>", "n": <number of images or '
    'null>, "aspect_ratio": "<W:H or null>", "resolution": "<e.g. 2K, or null>", '
    '"model": "<an image model the person named, or null>"}. Use {"prompt": null} when they '
    "have not asked for an image yet. Never invent values the person did not ask for."
)
"""Reads the request (prompt, count, ratio, resolution, model) out of a conversation."""

REFINE_SYSTEM = (
    "Rewrite the person's short image description into one richer, concrete prompt: keep "
    "what they asked for, add subject details, setting, style and lighting that fit it. Write "
    "it in {language}. Reply with the prompt only."
)
"""Drafts the richer prompt offered for a vague one, in the person's language."""


def language_name(lang: str | None) -> str:
    """The English name of a supported language, for instructions to a chat model."""
    code = (lang or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    return LANGUAGE_NAMES.get(code, LANGUAGE_NAMES[DEFAULT_LANGUAGE])
