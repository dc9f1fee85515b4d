"""Every script in examples/ runs end to end against the emulator, so none of them rots.

``sdk_client.py`` needs a served graph: it runs in ``test_server.py`` against the
module's ``langgraph dev``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import OFFLINE_ENV, REPO_ROOT, emulator_images

from creatok_graph.client import Creatok
from creatok_graph.emulator import Emulator

EXAMPLES = REPO_ROOT / "examples"


def run_example(name: str, *args: str, cwd: Path, env: dict[str, str] | None = None,
                timeout: float = 90) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    full_env = {**base, **OFFLINE_ENV, "CREATOK_ARTIFACTS_DIR": str(cwd / "artifacts"),
                **(env or {})}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=full_env,
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("name", ["agent_tool.py", "subgraph.py", "recover_task.py",
                                  "catalogue_batch.py"])
def test_example_in_sandbox(name: str, tmp_path: Path) -> None:
    proc = run_example(name, "--sandbox", "--yes", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "/_files/task_" in proc.stdout  # an image URL was printed
    assert not (tmp_path / "generate-image").exists()  # artifacts went where we said


def test_every_example_is_tested() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    tested = {"agent_tool.py", "subgraph.py", "recover_task.py", "sdk_client.py",
              "catalogue_batch.py"}
    assert scripts == tested


def test_agent_tool_uses_the_environment(emulator: Emulator, tmp_path: Path) -> None:
    env = {"CREATOK_BASE_URL": emulator.base_url, "CREATOK_API_KEY": emulator.api_key}
    proc = run_example("agent_tool.py", "--yes", "--n", "2", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stats = emulator.stats()
    assert (stats["submits"], stats["credits"]) == (1, 2)
    (task_id,) = emulator.tasks
    for image in emulator_images(emulator.base_url, emulator.api_key, task_id):
        assert image["url"] in proc.stdout
    assert f"task_id: {task_id}" in proc.stdout
    # The whole toolkit: the models listed (free), the images made, the task checked (free).
    for tool in ("[list_image_models]", "[generate_image]", "[check_image_task]"):
        assert tool in proc.stdout, proc.stdout
    assert "credits per image: 1K 1, 2K 1, 4K 2" in proc.stdout  # read from capabilities


def test_agent_tool_declined_charges_nothing(emulator: Emulator, tmp_path: Path) -> None:
    env = {"CREATOK_BASE_URL": emulator.base_url, "CREATOK_API_KEY": emulator.api_key}
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "agent_tool.py")], cwd=tmp_path, input="no\n",
        env={**base, **OFFLINE_ENV, **env, "CREATOK_ARTIFACTS_DIR": str(tmp_path / "a")},
        capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "nothing was charged" in proc.stdout.lower()
    assert emulator.stats()["submits"] == 0


def test_recover_task_by_id_from_the_environment(emulator: Emulator, tmp_path: Path) -> None:
    with Creatok(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        caps = client.get_capabilities()
        model = caps.models[0]
        task_id = client.submit({"prompt": "a kite over a beach at noon", "model": model.id,
                                 "resolution": model.limits.resolutions[0], "n": 1}).task_id
    env = {"CREATOK_BASE_URL": emulator.base_url, "CREATOK_API_KEY": emulator.api_key}
    proc = run_example("recover_task.py", "--task-id", task_id, "--wait", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"status: succeeded  task_id: {task_id}" in proc.stdout
    (image,) = emulator_images(emulator.base_url, emulator.api_key, task_id)
    assert image["url"] in proc.stdout
    assert emulator.stats()["submits"] == 1  # recovery never submits


def readme_python_snippet() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## In Python", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("prompt", [None, "a lighthouse"])
def test_the_readme_python_snippet_runs_as_written(
    emulator: Emulator, tmp_path: Path, prompt: str | None
) -> None:
    """As written, and with the short prompt that used to hit an unexpected question."""
    code = readme_python_snippet()
    if prompt is not None:
        code = code.replace('"A lighthouse in a storm, oil painting"', repr(prompt))
        assert repr(prompt) in code
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    env = {**base, **OFFLINE_ENV, "CREATOK_BASE_URL": emulator.base_url,
           "CREATOK_API_KEY": emulator.api_key, "CREATOK_ARTIFACTS_DIR": str(tmp_path / "a")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Estimated cost" in proc.stdout and "succeeded" in proc.stdout
    assert emulator.stats()["submits"] == 1


def test_catalogue_batch_rejects_one_request(tmp_path: Path) -> None:
    proc = run_example("catalogue_batch.py", "--sandbox", "--skip", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1. succeeded" in proc.stdout and "2. cancelled" in proc.stdout, proc.stdout
    assert "3. succeeded" in proc.stdout and "2/2 done" in proc.stdout, proc.stdout
