"""The chat model's prompts (only used when the graph is built with a ``chat_model``).

What people read is in ``messages``; these are instructions for the model.
"""

from __future__ import annotations

EXTRACT_SYSTEM = (
    "You read a conversation with a person who wants an AI-generated image. Reply with one JSON "
    'object only: {"prompt": "<a self-contained description of the image, in the person\'s '
    'language>", "n": <number of images or null>, "aspect_ratio": "<W:H or null>"}. '
    'Use {"prompt": null} when they have not asked for an image yet.'
)
"""Reads the request (prompt, how many, aspect ratio) out of a conversation."""

REFINE_SYSTEM = (
    "Rewrite the person's short image description into one richer, concrete prompt (subject, "
    "setting, style, lighting), in the same language. Reply with the prompt only."
)
"""Drafts the richer prompt offered for a vague one."""
