"""Untrusted text is printed with its control characters visible, never interpreted."""

from __future__ import annotations

import pytest

from creatok_graph.terminal import escape


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a fox\x1b[2J\x1b[1;1Hcost: 0", "a fox\\x1b[2J\\x1b[1;1Hcost: 0"),  # clear screen, move
        ("cheap\rEstimated cost: 1 credit", "cheap\\rEstimated cost: 1 credit"),
        ("ding\x07", "ding\\x07"),
        ("back\x08space", "back\\x08space"),
        ("tab\there", "tab\\there"),
        ("c1 \x9b31m", "c1 \\x9b31m"),  # 8-bit CSI
        ("del\x7f", "del\\x7f"),
        ("abc\u202egnp.exe", "abc\\u202egnp.exe"),  # right-to-left override
        ("iso\u2066late\u2069", "iso\\u2066late\\u2069"),
    ],
)
def test_control_characters_are_shown_escaped(raw: str, shown: str) -> None:
    assert escape(raw) == shown
    assert not any(c in escape(raw) for c in "\x1b\r\x07\x08\t\x9b\x7f\u202e\u2066")


@pytest.mark.parametrize(
    "plain",
    ["A red fox, watercolor", "一只红狐狸，水彩风格", "Zorro — acuarela ¿sí?", "emoji 🦊",
     "https://cdn.test/a.png?X-Amz-Signature=abc%2F&x=1", "two\nlines"],
)
def test_ordinary_text_and_newlines_are_untouched(plain: str) -> None:
    assert escape(plain) == plain


def test_anything_printable_is_accepted() -> None:
    assert escape(None) == "None" and escape(3) == "3"
