"""Batch files: JSON Lines or CSV judged by content; problems name the line and the columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from creatok_graph.batch_input import COLUMNS, BatchFileError, parse_requests, read_requests
from creatok_graph.state import SETTING_KEYS


def test_the_columns_are_the_settings_of_one_run() -> None:
    assert COLUMNS == SETTING_KEYS


def test_json_lines_skip_blank_lines_and_keep_types() -> None:
    content = '{"prompt": "a fox", "n": 2}\n\n{"prompt": "a cat", "reference_images": ["a.png"]}\n'
    assert parse_requests(content) == [
        {"prompt": "a fox", "n": 2}, {"prompt": "a cat", "reference_images": ["a.png"]}]


def test_a_json_array_works_too() -> None:
    assert parse_requests('[{"prompt": "a fox"}, {"prompt": "a cat", "model": null}]') == [
        {"prompt": "a fox"}, {"prompt": "a cat"}]


def test_csv_with_quotes_empty_cells_and_several_references(tmp_path: Path) -> None:
    path = tmp_path / "batch.txt"  # judged by its bytes, not its name
    path.write_bytes("\ufeffprompt,n,reference_images,aspect_ratio\n"
                     '"a fox, in snow",2,a.png; b.png,\n'
                     "a cat,,,16:9\n".encode())
    assert read_requests(str(path)) == [
        {"prompt": "a fox, in snow", "n": 2, "reference_images": ["a.png", "b.png"]},
        {"prompt": "a cat", "aspect_ratio": "16:9"},
    ]


@pytest.mark.parametrize(("content", "words"), [
    ('{"prompt": "a fox"}\n{"prompt": "a cat",\n', ["line 2", "not valid JSON"]),
    ('{"prompt": "a fox", "colour": "red"}\n', ["line 1", "colour", "aspect_ratio"]),
    ("prompt,colour\na fox,red\n", ["colour", "allowed", "reference_images"]),
    ("description\na fox\n", ["prompt column"]),
    ("prompt\na fox,extra\n", ["line 2", "more cells"]),
    ("  \n", ["empty"]),
])
def test_problems_name_where_and_what_is_allowed(content: str, words: list[str]) -> None:
    with pytest.raises(BatchFileError) as caught:
        parse_requests(content, "batch.csv")
    for word in words:
        assert word in str(caught.value)


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    with pytest.raises(BatchFileError, match="cannot read"):
        read_requests(str(tmp_path / "missing.jsonl"))
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(BatchFileError, match="not UTF-8"):
        read_requests(str(binary))
