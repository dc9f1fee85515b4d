"""The LangGraph behaviour this package relies on beyond its documented surface, in one place.

``tests/unit_tests/test_upstream.py`` checks each of these against the installed
release and fails loudly, naming the assumption, when an upgrade changes it.

Caller input keys (``prompt``, ``model``... see ``state.InputState``) are
:class:`~langgraph.channels.EphemeralValue` channels. LangGraph writes an
invocation's input in the ``__start__`` step and, at the end of that step, clears
every ephemeral channel the input did not write. So the first node after ``START``
sees exactly what *this* invocation's caller sent, whatever earlier runs of the
thread left in the same keys (``persist`` writes the resolved values there as output).
That is what lets the same explicit settings twice in a thread be honoured, with no
hand-kept list of keys to reset.
"""

from __future__ import annotations

from typing import Any

from langgraph.channels import EphemeralValue


def caller_input(typ: Any = object) -> EphemeralValue[Any]:
    """A channel that holds what this invocation's caller sent, and nothing older."""
    return EphemeralValue(typ, guard=False)
