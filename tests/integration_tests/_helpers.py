"""Helpers shared by the server, agent, example and PostgreSQL tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from creatok_graph.api_paths import STATUS_PATH
from creatok_graph.emulator.png import gradient_png

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"

# Keep every LangGraph/LangSmith tool off the network: no analytics, no version check,
# no tracing (read by langgraph_cli.analytics, langgraph_api.cli and langsmith).
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_API_KEY": "",
    "LANGCHAIN_API_KEY": "",
    "LANGGRAPH_CLOUD_LICENSE_KEY": "",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_png(path: Path) -> str:
    path.write_bytes(gradient_png(8, 8, 1))
    return str(path)


def emulator_images(base_url: str, api_key: str, task_id: str) -> list[dict[str, Any]]:
    """The task's images exactly as the emulator serves them to any client."""
    r = httpx.get(
        base_url + STATUS_PATH,
        params={"task_id": task_id, "task_type": "image_generation"},
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        timeout=10,
    )
    r.raise_for_status()
    images: list[dict[str, Any]] = r.json()["data"]["result"]["images"]
    return images


def emulator_stats(base_url: str) -> dict[str, Any]:
    r = httpx.get(base_url + "/_emulator/stats", timeout=10)
    r.raise_for_status()
    stats: dict[str, Any] = r.json()["data"]
    return stats


def stop_process_group(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM the process group started with ``start_new_session=True``; SIGKILL if stuck."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
