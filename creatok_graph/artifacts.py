"""What a run leaves on disk, written atomically so no reader sees half a file.

Layout: ``<artifacts root>/<run_id>/outputs/result.json`` and ``result.md``.
Every function here blocks on the file system: graph nodes call them through
the ``Blocking`` effect, which moves them off the event loop.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from .errors import InvalidRequestError

DEFAULT_ARTIFACTS_DIR = os.path.join("generate-image", ".artifacts")


def resolve_artifacts_dir(artifacts_dir: str | None = None) -> str:
    """The explicit folder, else ``CREATOK_ARTIFACTS_DIR``, else the default."""
    return artifacts_dir or os.environ.get("CREATOK_ARTIFACTS_DIR") or DEFAULT_ARTIFACTS_DIR

_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_run_id(run_id: str) -> str:
    """A run id becomes a folder name: refuse anything that could escape the root."""
    if not _SAFE_RUN_ID.match(run_id) or ".." in run_id:
        raise InvalidRequestError(
            f"run id {run_id!r} is not a safe folder name: use letters, digits, '.', '_' or '-' "
            "(at most 128, no '..' and no slashes)",
            field="run_id",
            reason="run_id",
            params={"value": run_id},
        )
    return run_id


INPUTS_FOLDER = "inputs"
"""``<run_id>/inputs``: the pictures taken from the run's messages (``chat_images``)."""


def safe_run_id(run_id: str) -> bool:
    """Can ``run_id`` name a folder (no path tricks)? (``check_run_id`` says why not.)"""
    try:
        check_run_id(run_id)
    except InvalidRequestError:
        return False
    return True


def run_dir(root: str, run_id: str) -> Path:
    return root_path(root) / check_run_id(run_id)


def root_path(root: str) -> Path:
    """The artifacts root, absolute, symlinks resolved. Remembered per process (and per
    working directory for a relative root): resolving walks every component (~0.1 ms),
    and a batch of 200 asked it 1,600 times."""
    return _resolved(root, None if os.path.isabs(root) else os.getcwd())


@functools.lru_cache(maxsize=64)
def _resolved(root: str, cwd: str | None) -> Path:
    return Path(root).expanduser().resolve()


def outputs_dir(root: str, run_id: str) -> Path:
    return run_dir(root, run_id) / "outputs"


def ensure_writable(root: str) -> None:
    """Refuse, before approval, an artifacts root we could not write results into."""
    path = Path(root).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise InvalidRequestError(
            f"results cannot be written to {root} ({exc.strerror or exc}): choose another "
            "artifacts folder (CREATOK_ARTIFACTS_DIR or --artifacts-dir)",
            field="artifacts_dir",
            reason="artifacts_dir",
            params={"value": str(root)},
        ) from None


TEMP_ATTEMPTS = 100


def write_temp(path: Path, content: str | bytes) -> Path:
    """``content``, fsynced, in a new hidden temp file beside ``path``; its path.

    Created with mode 0666 so the umask applies, as for any file the user makes
    (``tempfile.mkstemp`` would leave results readable by their owner only).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(TEMP_ATTEMPTS):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"no free temp file name beside {path}")
    try:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: Path, content: str | bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename over ``path``."""
    tmp = write_temp(path, content)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def json_text(data: Any) -> str:
    """How every JSON file of a run is laid out (readable, UTF-8 as is)."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write(path, json_text(data))


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def write_result(root: str, run_id: str, result: dict[str, Any], summary_md: str | None) -> str:
    """Write ``result.json`` (layout: ``outcome.result_record``) and ``result.md`` when given;
    returns the run folder."""
    out = outputs_dir(root, run_id)
    atomic_write_json(out / "result.json", result)
    if summary_md is not None:
        atomic_write(out / "result.md", summary_md)
    return str(out.parent)


def result_markdown(result: dict[str, Any], message: str) -> str:
    """A short human summary: the message, the facts, every image URL verbatim."""
    lines = ["# CreatOK image generation", "", message, ""]
    for label, key in (
        ("Run", "run_id"), ("Task", "task_id"), ("Status", "status"), ("Model", "model"),
        ("Resolution", "resolution"), ("Images requested", "n"),
        ("Aspect ratio", "aspect_ratio"), ("Estimated credits", "estimated_credits"),
    ):
        value = result.get(key)
        if value not in (None, ""):
            lines.append(f"- {label}: {value}")
    images = result.get("images") or []
    if images:
        lines += ["", "## Images", ""]
        for i, img in enumerate(images, 1):
            lines.append(f"{i}. {img.get('url')}")
            if img.get("thumbnail_url"):
                lines.append(f"   thumbnail: {img.get('thumbnail_url')}")
            if img.get("file"):  # the copy kept by downloads.py, relative to this folder
                lines.append(f"   saved as: {img.get('file')}")
    error = result.get("error")
    if error:
        reason = error.get("message") if isinstance(error, dict) else error
        lines += ["", "## Error", "", str(reason)]
    return "\n".join(lines) + "\n"
