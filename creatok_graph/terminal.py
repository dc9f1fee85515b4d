"""Untrusted text made safe to print on a terminal.

Prompts, model labels and the API's messages come from people and servers we do
not control. Printed raw, an ESC sequence could recolour or rewrite the screen
(e.g. overwrite the cost line of the approval question), a CR could hide what
came before it, and a bidi override could reorder what a person reads. The CLI
passes everything it prints through :func:`escape`, which shows such characters
as visible escapes (``\\x1b``, ``\\r``, ``\\u202e``) instead.
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
"""Arabic letter mark, LRM/RLM, embeddings and overrides, isolates."""

_UNSAFE = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{BIDI_CONTROLS}]")
"""C0 controls except newline, DEL, C1 controls, bidi controls."""

_NAMED = {"\t": "\\t", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: object) -> str:
    """``text`` with every control character shown as an escape; newlines are kept.

    Newlines stay because the text we print is made of lines; everything else that a
    terminal would interpret (ESC, CR, BEL, backspace, C1, bidi controls) becomes visible.
    """
    return _UNSAFE.sub(_visible, str(text))
