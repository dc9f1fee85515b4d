"""The settings a request keeps from its start (``Generation.settings``): an operator's
are taken back as they were; a client's are checked again, for state is not trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from creatok_graph.context import CreatokContext


@pytest.fixture(autouse=True)
def _operator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CREATOK_BASE_URL", "CREATOK_ALLOWED_BASE_URLS", "CREATOK_TIMEOUT",
                 "CREATOK_POLL_INTERVAL", "CREATOK_DOWNLOAD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREATOK_ARTIFACTS_DIR", str(tmp_path / "art"))


def test_an_operators_settings_come_back_as_they_started() -> None:
    started = CreatokContext(base_url="http://127.0.0.1:9", artifacts_dir="/tmp/x",
                             timeout=5, poll_interval=None, download=False)
    resumed = CreatokContext(timeout=600, poll_interval=2.0)  # another context, same key rules
    fixed = resumed.with_run_settings(started.run_settings())
    assert fixed.run_settings() == started.run_settings()
    assert fixed.poll_interval is None  # not the environment's fallback


def test_a_clients_kept_settings_are_checked_again(tmp_path: Path) -> None:
    client = CreatokContext.coerce({"artifacts_dir": "mine", "timeout": 5})
    kept = client.run_settings()
    again = CreatokContext.coerce({}).with_run_settings(kept)
    assert again.refusal is None
    assert again.run_settings() == kept
    assert again.artifacts_within == str(tmp_path / "art")  # symlinks checked before writes


@pytest.mark.parametrize(
    "tampered",
    [{"base_url": "https://attacker.example"}, {"artifacts_dir": "/etc"},
     {"artifacts_dir": "../../elsewhere"}],
)
def test_tampered_settings_in_a_clients_state_refuse_the_run(
    tampered: dict[str, str], tmp_path: Path
) -> None:
    kept = {**CreatokContext.coerce({}).run_settings(), **tampered}
    again = CreatokContext.coerce({}).with_run_settings(kept)
    assert again.refusal is not None
    assert again.base_url != "https://attacker.example"
    assert again.artifacts_dir == str(tmp_path / "art")


def test_a_client_cannot_keep_copies_on_against_the_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREATOK_DOWNLOAD", "0")
    kept = {**CreatokContext.coerce({}).run_settings(), "download": True}
    assert CreatokContext.coerce({}).with_run_settings(kept).download is False
