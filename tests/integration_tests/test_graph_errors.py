"""Every expected failure ends the run with a clear status and message, never an exception."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from graph_support import APPROVE, PROMPT, Harness, interrupt_of, last_text
from langgraph.types import Command

from creatok_graph import CreatokContext, _retry
from creatok_graph.errors import API_KEYS_URL
from creatok_graph.messages import text


def no_charge(h: Harness) -> None:
    stats = h.stats()
    assert (stats["submits"], stats["presigns"], stats["uploads"]) == (0, 0, 0)


async def test_wrong_key_is_an_auth_error(h2: Harness) -> None:
    wrong = CreatokContext(
        api_key="sk-wrong", base_url=h2.emulator.base_url, artifacts_dir=str(h2.root)
    )
    done = await h2.invoke({"prompt": PROMPT}, context=wrong)
    assert "__interrupt__" not in done
    assert done["status"] == "auth_error"
    assert done["error"]["kind"] == "auth_error"
    assert API_KEYS_URL in last_text(done) and "CREATOK_API_KEY" in last_text(done)
    assert h2.stats()["submit_requests"] == 0
    assert h2.result_json()["status"] == "auth_error"


async def test_missing_key_is_an_auth_error(h1: Harness) -> None:
    keyless = CreatokContext(base_url=h1.emulator.base_url, artifacts_dir=str(h1.root))
    done = await h1.invoke({"prompt": PROMPT}, context=keyless)
    assert done["status"] == "auth_error"
    assert API_KEYS_URL in last_text(done)
    assert h1.stats()["capabilities"] == 0  # nothing sent without a key


async def test_context_falls_back_to_the_environment(
    h1: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_root = tmp_path / "from-env"
    monkeypatch.setenv("CREATOK_API_KEY", h1.emulator.api_key)
    monkeypatch.setenv("CREATOK_BASE_URL", h1.emulator.base_url + "/")
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(env_root))
    assert CreatokContext().api_key is None  # resolved at call time, never stored
    cfg = h1.config("t1")
    await h1.graph.ainvoke({"prompt": PROMPT}, cfg)  # no context at all
    done = await h1.graph.ainvoke(Command(resume=APPROVE), cfg)
    assert done["status"] == "succeeded"
    assert done["artifacts_dir"] == str(env_root / "t1")
    assert (env_root / "t1" / "outputs" / "result.json").is_file()


async def test_context_as_a_plain_dict(h1: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain dict is a client's context (the LangGraph server passes JSON): the key and
    URL come from the operator's environment; a sub-folder of its artifacts root is fine."""
    monkeypatch.setenv("CREATOK_API_KEY", h1.emulator.api_key)
    monkeypatch.setenv("CREATOK_BASE_URL", h1.emulator.base_url)
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(h1.root))
    context = {"base_url": h1.emulator.base_url + "/", "artifacts_dir": "client-a",
               "timeout": 30}
    cfg = h1.config("t1")
    await h1.graph.ainvoke({"prompt": PROMPT}, cfg, context=context)
    done = await h1.graph.ainvoke(Command(resume="yes"), cfg, context=context)
    assert done["status"] == "succeeded"
    assert (h1.root / "client-a" / "t1" / "outputs" / "result.json").is_file()


async def test_a_key_in_a_plain_dict_is_refused_unused(
    h1: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an operator's CreatokContext object carries a key; a dict that tries is refused
    before any call, and the key is neither used nor repeated anywhere."""
    monkeypatch.setenv("CREATOK_BASE_URL", h1.emulator.base_url)
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(h1.root))
    secret = "sk-client-sent-secret-1234"
    done = await h1.graph.ainvoke({"prompt": PROMPT}, h1.config("t1"),
                                  context={"api_key": secret})
    assert done["status"] == "invalid_request"
    assert "api_key" in last_text(done) and "CreatokContext" in last_text(done)
    assert sum(h1.stats()["requests"].values()) == 0
    assert secret not in repr(done)
    for path in h1.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_default_artifacts_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREATOK_ARTIFACTS_DIR", raising=False)
    assert Path(CreatokContext().artifacts_dir) == Path("generate-image/.artifacts")


@pytest.mark.parametrize(
    ("scenario", "status", "text_key", "params"),
    [
        # the person reads which field broke the contract, not only result.json (issue 13)
        ("broken-capabilities", "contract_error", "contract_error_field",
         {"field": "capabilities.image.default_model"}),
        ("non-json", "invalid_response", "invalid_response", {}),
        ("unauthorized", "auth_error", None, {}),
    ],
)
async def test_broken_service_stops_before_approval(
    h1: Harness, scenario: str, status: str, text_key: str | None, params: dict[str, str]
) -> None:
    h1.emulator.set_scenarios([scenario])
    done = await h1.invoke({"prompt": PROMPT})
    assert "__interrupt__" not in done
    assert done["status"] == status
    if text_key:
        assert last_text(done) == text("en", text_key, **params)
    no_charge(h1)
    assert h1.result_json()["status"] == status


async def test_contract_error_names_the_field(h1: Harness) -> None:
    h1.emulator.set_scenarios(["broken-capabilities"])
    done = await h1.invoke({"prompt": PROMPT})
    assert "default_model" in done["error"]["message"]


async def test_refused_submission_and_the_outdated_hint(h2: Harness) -> None:
    h2.emulator.set_scenarios(["submit-error"])
    await h2.invoke({"prompt": PROMPT})
    first = await h2.resume(APPROVE)
    assert first["status"] == "api_error"
    assert first["error"]["code"] == 10001
    assert "insufficient credits" in last_text(first)
    assert text("en", "outdated_hint") not in last_text(first)
    assert h2.stats()["submits"] == 0
    assert h2.result_json()["status"] == "api_error"

    # A second failed submission in the same conversation: maybe our integration is outdated.
    await h2.invoke({"prompt": PROMPT + ", again"})
    second = await h2.resume("yes")
    assert second["status"] == "api_error"
    assert text("en", "outdated_hint") in last_text(second)
    assert h2.stats()["submits"] == 0


async def test_submit_503_is_a_server_error_without_retry(h1: Harness) -> None:
    h1.emulator.set_scenarios(["submit-503"])
    await h1.invoke({"prompt": PROMPT})
    done = await h1.resume(APPROVE)
    assert done["status"] == "server_error"
    assert last_text(done) == text("en", "server_error")
    assert h1.stats()["submit_requests"] == 1  # the paid call is never repeated
    assert h1.stats()["submits"] == 0


async def test_flaky_gets_succeed_with_retries(h1: Harness) -> None:
    h1.emulator.set_scenarios(["flaky-503"])
    await h1.invoke({"prompt": PROMPT})
    done = await h1.resume(APPROVE)
    assert done["status"] == "succeeded"
    assert h1.stats()["submits"] == 1
    gets = sum(n for k, n in h1.stats()["requests"].items() if k.startswith("GET "))
    assert gets >= 3  # every 2nd GET failed and was retried


async def test_rate_limit_retry_after_is_honoured(h1: Harness) -> None:
    h1.emulator.task_seconds = 0
    h1.emulator.set_scenarios(["rate-limit"])
    await h1.invoke({"prompt": PROMPT})  # 1st GET: capabilities, answered
    started = time.monotonic()
    done = await h1.resume(APPROVE)  # 2nd GET: status, 429 with Retry-After: 1
    assert done["status"] == "succeeded"
    assert time.monotonic() - started >= 1.0
    assert h1.stats()["submits"] == 1


async def test_status_500_ends_with_the_task_id(
    h1: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_retry, "backoff_delay", lambda attempt, rng=None: 0.01)  # fast retries
    h1.emulator.set_scenarios(["status-500"])
    await h1.invoke({"prompt": PROMPT})
    done = await h1.resume(APPROVE)
    assert done["status"] == "server_error"
    assert done["task_id"]
    assert done["task_id"] in last_text(done)  # so the person can recover later
    record = h1.result_json()
    assert record["task_id"] == done["task_id"] and record["status"] == "server_error"
    assert h1.stats()["submits"] == 1


async def test_missing_task_id_is_a_contract_error(h1: Harness) -> None:
    h1.emulator.set_scenarios(["missing-task-id"])
    await h1.invoke({"prompt": PROMPT})
    done = await h1.resume(APPROVE)
    assert done["status"] == "contract_error"
    assert h1.stats()["submit_requests"] == 1


async def test_stuck_task_times_out(h1: Harness) -> None:
    h1.emulator.set_scenarios(["stuck-task"])
    short = CreatokContext(
        api_key=h1.emulator.api_key,
        base_url=h1.emulator.base_url,
        artifacts_dir=str(h1.root),
        timeout=0.6,
    )
    await h1.invoke({"prompt": PROMPT}, context=short)
    done = await h1.resume(APPROVE, context=short)
    assert done["status"] == "timeout"
    assert done["task_id"]
    assert last_text(done) == text("en", "timed_out", seconds=1, task_id=done["task_id"])
    assert h1.result_json()["status"] == "timeout"
    assert h1.stats()["submits"] == 1
    # Later, the person asks again; the task is still stuck but nothing is submitted.
    again = await h1.invoke({"task_id": done["task_id"]}, context=short)
    assert again["status"] == "running"
    assert h1.stats()["submits"] == 1


async def test_failed_task_explains_and_suggests(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT + " [fail]"})
    done = await h1.resume(APPROVE)
    assert done["status"] == "failed"
    reason = done["error"]["message"]
    assert reason
    assert last_text(done) == text("en", "failed", reason=reason)
    record = h1.result_json()
    assert record["status"] == "failed" and record["error"]["message"] == reason
    assert record["images"] == []


async def test_unreachable_service_is_a_connection_error(
    h1: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_retry, "backoff_delay", lambda attempt, rng=None: 0.01)  # fast retries
    port = h1.emulator.port
    h1.emulator.stop()
    gone = CreatokContext(
        api_key="sk-x", base_url=f"http://127.0.0.1:{port}", artifacts_dir=str(h1.root)
    )
    done = await h1.invoke({"prompt": PROMPT}, context=gone)
    assert done["status"] == "connection_error"
    url = f"http://127.0.0.1:{port}/api/open/skills/capabilities"  # named (issue 13)
    assert last_text(done) == text("en", "connection_error_url", url=url)


@pytest.mark.parametrize("run_id", ["../escape", "a/b", ".hidden", ""])
async def test_unsafe_run_id_is_refused(h1: Harness, run_id: str) -> None:
    done = await h1.invoke({"prompt": PROMPT, "run_id": run_id}, "safe-thread")
    if run_id == "":
        interrupt_of(done)  # empty means "not given": the thread id is used
        return
    assert done["status"] == "invalid_request"
    assert done["error"]["field"] == "run_id"
    assert not (h1.root.parent / "escape").exists()
    assert h1.stats()["capabilities"] == 0



@pytest.mark.parametrize("run_input", [{"prompt": PROMPT}, {"task_id": "task-123", "wait": True}])
async def test_a_client_sub_folder_that_leads_outside_is_refused(
    h1: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_input: dict[str, Any]
) -> None:
    """A symlink in the operator's folder cannot carry a client's results out of it, on the
    way to the approval and on the recovery path alike; the run ends before any call."""
    monkeypatch.setenv("CREATOK_API_KEY", h1.emulator.api_key)
    monkeypatch.setenv("CREATOK_BASE_URL", h1.emulator.base_url)
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(h1.root))
    outside = tmp_path / "outside"
    outside.mkdir()
    h1.root.mkdir(parents=True, exist_ok=True)
    (h1.root / "shared").symlink_to(outside, target_is_directory=True)
    done = await h1.graph.ainvoke({**run_input, "run_id": "r1"}, h1.config("t1"),
                                  context={"artifacts_dir": "shared"})
    assert done["status"] == "invalid_request" and done["error"]["field"] == "artifacts_dir"
    assert list(outside.iterdir()) == []
    assert sum(h1.stats()["requests"].values()) == 0
    assert (h1.root / "r1" / "outputs" / "result.json").is_file()  # the operator's folder
