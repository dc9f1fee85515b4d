"""Reading a batch file for ``creatok-image --batch FILE``: JSON Lines or CSV with a header.

JSON Lines: one object per line with the keys of a single run (``prompt``, ``model``,
``resolution``, ``n``, ``aspect_ratio``, ``reference_images``); a JSON array of such
objects is accepted too. CSV: a header row naming ``prompt`` and any of the other
columns; an empty cell means "CreatOK's default"; several reference images are
separated by ``;``. The format is judged by the content, not the file name. Values
are checked by the graph against the capabilities; this module only checks the shape,
naming the line and the allowed columns.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

COLUMNS = ("prompt", "model", "resolution", "n", "aspect_ratio", "reference_images")
"""A batch file's keys: the settings of one run (``state.SETTING_KEYS``, checked by a test)."""
REFERENCE_SEPARATOR = ";"
MAX_BATCH_FILE_BYTES = 20 * 1024 * 1024


class BatchFileError(ValueError):
    """The file is not a batch we can read; the message names where and why."""


def read_requests(path: str) -> list[dict[str, Any]]:
    """The requests in ``path``, in file order."""
    try:
        file = Path(path)
        if file.stat().st_size > MAX_BATCH_FILE_BYTES:
            raise BatchFileError(f"{path} is larger than {MAX_BATCH_FILE_BYTES // 2**20} MiB")
        content = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BatchFileError(f"{path} is not UTF-8 text (JSON Lines or CSV)") from None
    except OSError as exc:
        raise BatchFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_requests(content, path)


def parse_requests(content: str, name: str = "batch file") -> list[dict[str, Any]]:
    stripped = content.lstrip()
    if not stripped:
        raise BatchFileError(f"{name} is empty: give one request per line")
    if stripped[0] == "[":
        return _json_array(stripped, name)
    if stripped[0] == "{":
        return _json_lines(content, name)
    return _csv(content, name)


def _checked(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BatchFileError(f"{where}: expected an object with a prompt")
    unknown = sorted(str(k) for k in item if k not in COLUMNS)
    if unknown:
        raise BatchFileError(f"{where}: unknown key {', '.join(unknown)} "
                             f"(allowed: {', '.join(COLUMNS)})")
    return {k: v for k, v in item.items() if v not in (None, "")}


def _json_array(content: str, name: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(content)
    except json.JSONDecodeError as exc:
        raise BatchFileError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return [_checked(item, f"{name} item {i}") for i, item in enumerate(items, 1)]


def _json_lines(content: str, name: str) -> list[dict[str, Any]]:
    requests = []
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BatchFileError(f"{name} line {number}: not valid JSON ({exc.msg})") from None
        requests.append(_checked(item, f"{name} line {number}"))
    return requests


def _csv(content: str, name: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [str(h or "").strip() for h in reader.fieldnames or []]
    if "prompt" not in header:
        raise BatchFileError(f"{name}: not JSON Lines, and as CSV its header has no prompt "
                             f"column (columns: {', '.join(COLUMNS)})")
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise BatchFileError(f"{name}: unknown column {', '.join(unknown)} "
                             f"(allowed: {', '.join(COLUMNS)})")
    reader.fieldnames = header
    requests = []
    for row in reader:
        if None in row:
            raise BatchFileError(f"{name} line {reader.line_num}: more cells than columns")
        item: dict[str, Any] = {k: v.strip() for k, v in row.items() if k and (v or "").strip()}
        if not item:
            continue
        refs = item.pop("reference_images", None)
        if refs:
            item["reference_images"] = [p.strip() for p in refs.split(REFERENCE_SEPARATOR)
                                        if p.strip()]
        if str(item.get("n", "")).isdigit():
            item["n"] = int(item["n"])
        requests.append(item)
    return requests
