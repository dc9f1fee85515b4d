"""The trust boundary: what a client's plain-dict context may choose, and what it may not."""

from __future__ import annotations

from pathlib import Path

import pytest

from creatok_graph.context import (
    CLIENT_POLL_INTERVAL,
    CLIENT_TIMEOUT,
    ClientContext,
    CreatokContext,
)
from creatok_graph.graph import graph
from creatok_graph.references import LocalFiles

OPERATOR_URL = "https://api.operator.test"


@pytest.fixture(autouse=True)
def operator_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("CREATOK_API_KEY", "CREATOK_ALLOWED_BASE_URLS", "CREATOK_REFERENCE_DIR",
                 "CREATOK_POLL_INTERVAL", "CREATOK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREATOK_BASE_URL", OPERATOR_URL)
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(tmp_path / "root"))
    return tmp_path / "root"


def test_the_served_schema_has_no_key_field() -> None:
    schema = graph.get_context_jsonschema()
    assert schema is not None
    assert set(schema["properties"]) == {"base_url", "artifacts_dir", "poll_interval", "timeout",
                                         "download"}
    assert "key" not in (schema.get("description") or "").lower()  # Studio shows it
    for name, prop in schema["properties"].items():
        assert "api" not in name and "key" not in prop.get("title", "").lower()


def test_an_operator_object_is_used_as_is() -> None:
    ctx = CreatokContext(api_key="sk-op", base_url="http://anything.test", artifacts_dir="/x")
    assert CreatokContext.coerce(ctx) is ctx
    assert ctx.local_files.anywhere and ctx.refusal is None
    assert CreatokContext.coerce(None).local_files.anywhere  # in-process, no context: env


@pytest.mark.parametrize("value", [{"api_key": "sk-client-secret"},
                                   ClientContext(**{"api_key": "sk-client-secret"})])
def test_a_client_key_is_refused_by_name_never_by_value(value: object) -> None:
    ctx = CreatokContext.coerce(value)
    assert ctx.refusal is not None and ctx.refusal.field == "api_key"
    assert "sk-client-secret" not in str(ctx.refusal) + repr(ctx.refusal.params)
    assert ctx.api_key is None and ctx.base_url == OPERATOR_URL  # the fallback is safe


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/capture", "https://api.operator.test.evil.test",
     "https://user:pw@api.operator.test", "https://api.operator.test:444",
     "http://api.operator.test", "https://api.operator.test/?x=1", "file:///etc/passwd",
     "not a url"],
)
def test_a_base_url_the_operator_did_not_allow_is_refused(url: str) -> None:
    ctx = CreatokContext.coerce({"base_url": url})
    assert ctx.refusal is not None and ctx.refusal.field == "base_url"
    assert OPERATOR_URL in str(ctx.refusal) and "CREATOK_ALLOWED_BASE_URLS" in str(ctx.refusal)
    assert ctx.base_url == OPERATOR_URL


def test_allowed_base_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for same in (OPERATOR_URL, OPERATOR_URL + "/", "HTTPS://API.operator.test:443"):
        assert CreatokContext.coerce({"base_url": same}).refusal is None
    monkeypatch.setenv("CREATOK_ALLOWED_BASE_URLS", " http://127.0.0.1:8765 , https://b.test/")
    for extra in ("http://127.0.0.1:8765", "https://b.test"):
        ctx = CreatokContext.coerce({"base_url": extra})
        assert ctx.refusal is None and ctx.base_url == extra.rstrip("/")
    assert CreatokContext.coerce({"base_url": "http://127.0.0.1:8766"}).refusal is not None


def test_artifacts_only_in_a_sub_folder_of_the_root(operator_env: Path) -> None:
    ctx = CreatokContext.coerce({"artifacts_dir": "team-a/run"})
    assert ctx.refusal is None
    assert Path(ctx.artifacts_dir) == operator_env / "team-a" / "run"
    ctx.prepare_artifacts_dir()
    assert (operator_env / "team-a" / "run").is_dir()
    for bad in ("../escape", "/tmp/elsewhere", "~/x", "a/../../b"):
        refused = CreatokContext.coerce({"artifacts_dir": bad})
        assert refused.refusal is not None and refused.refusal.field == "artifacts_dir", bad
        assert refused.artifacts_dir == str(operator_env)


def test_a_symlinked_sub_folder_is_refused_before_writing(operator_env: Path,
                                                          tmp_path: Path) -> None:
    operator_env.mkdir(parents=True)
    (operator_env / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    ctx = CreatokContext.coerce({"artifacts_dir": "out"})
    with pytest.raises(Exception, match="not a sub-folder"):
        ctx.prepare_artifacts_dir()
    assert not (tmp_path / "outside").exists()


def test_poll_interval_and_timeout_are_clamped() -> None:
    low = CreatokContext.coerce({"poll_interval": 0.001, "timeout": 0.01})
    assert (low.poll_interval, low.timeout) == (CLIENT_POLL_INTERVAL[0], CLIENT_TIMEOUT[0])
    high = CreatokContext.coerce({"poll_interval": 1e9, "timeout": float("inf")})
    assert (high.poll_interval, high.timeout) == (CLIENT_POLL_INTERVAL[1], CLIENT_TIMEOUT[1])
    nan = CreatokContext.coerce({"poll_interval": float("nan")})
    assert nan.poll_interval == CLIENT_POLL_INTERVAL[0]
    fine = CreatokContext.coerce({"poll_interval": 2, "timeout": 30})
    assert (fine.poll_interval, fine.timeout) == (2, 30)


def test_a_client_may_turn_image_copies_off_but_never_on_against_the_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CREATOK_DOWNLOAD", raising=False)
    assert CreatokContext.coerce({}).download is True
    assert CreatokContext.coerce({"download": False}).download is False
    monkeypatch.setenv("CREATOK_DOWNLOAD", "0")  # the operator's disk keeps no images
    assert CreatokContext.coerce({"download": True}).download is False
    assert CreatokContext.coerce({}).download is False
    assert CreatokContext(download=True).download is True  # the operator may


def test_a_client_sends_reference_images_only_from_the_reference_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert CreatokContext.coerce({}).local_files == LocalFiles(anywhere=False, folder=None)
    monkeypatch.setenv("CREATOK_REFERENCE_DIR", str(tmp_path))
    files = CreatokContext.coerce({"timeout": 5}).local_files
    assert files == LocalFiles(anywhere=False, folder=str(tmp_path))


def test_wrong_types_are_refused_without_echoing_values() -> None:
    ctx = CreatokContext.coerce({"timeout": "soon-sk-secret"})
    assert ctx.refusal is not None and "timeout" in str(ctx.refusal)
    assert "sk-secret" not in str(ctx.refusal)
