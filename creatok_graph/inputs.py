"""The caller's input, checked for types at the graph's entry.

A served graph takes input from clients it does not trust, and a Python caller may pass
``{"prompt": 123}``: a wrong type must end the run as ``invalid_request`` with a message
that names the field and what it accepts, never as an ``AttributeError`` deep in a node.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import InvalidRequestError

TEXT_FIELDS = ("prompt", "model", "resolution", "aspect_ratio", "run_id", "task_id", "language")
"""Input fields that hold one piece of text (or nothing)."""
FLAG_FIELDS = ("wait", "refine")


def _refuse(name: str, expected: str, value: Any) -> InvalidRequestError:
    return InvalidRequestError(
        f"{name} must be {expected}, not {type(value).__name__} ({value!r:.40})",
        field=name,
        reason="input_type",
        params={"field": name, "expected": expected, "value": repr(value)[:40]},
    )


def check_input(state: Any) -> dict[str, Any]:
    """The input values that had to be normalised (a single reference path becomes a list);
    raises :class:`InvalidRequestError` whose ``field`` is the offending input key."""
    changed: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = state.get(name)
        if value is not None and not isinstance(value, str):
            raise _refuse(name, "text", value)
    n = state.get("n")
    if isinstance(n, float) and n.is_integer():
        changed["n"] = n = int(n)  # 2.0 from a JSON client or a chat model means 2
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, str))):
        raise _refuse("n", "a whole number", n)
    for name in FLAG_FIELDS:
        value = state.get(name)
        if value is not None and not isinstance(value, bool):
            raise _refuse(name, "true or false", value)
    refs = state.get("reference_images")
    if refs is None:
        return changed
    if isinstance(refs, (str, os.PathLike)):
        refs = [refs]  # one path where a list was expected: what was meant is clear
    if not isinstance(refs, (list, tuple)):
        raise _refuse("reference_images", "a list of file paths", refs)
    paths: list[str] = []
    for item in refs:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if not isinstance(item, str) or not item.strip():
            raise _refuse("reference_images", "a list of file paths", item)
        paths.append(item)
    if paths != state.get("reference_images"):
        changed["reference_images"] = paths
    return changed
