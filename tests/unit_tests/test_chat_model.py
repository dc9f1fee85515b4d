"""The operator's chat model for the served graph: chosen by the environment, with clear
messages when it cannot be built; and the model's reading of a conversation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from creatok_graph._flow import run_sync
from creatok_graph.chat_model import (
    chat_model_from_env,
    draft_refinement,
    extract_request,
)
from creatok_graph.errors import ConfigurationError

HERE = Path(__file__).parent
FACTORY = "fake_chat_factory:extractor"


@pytest.fixture(autouse=True)
def _importable_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))


def test_nothing_configured_means_no_chat_model() -> None:
    assert chat_model_from_env({}) is None
    assert chat_model_from_env({"CREATOK_CHAT_MODEL": "  "}) is None


def test_a_factory_names_the_model() -> None:
    model = chat_model_from_env({"CREATOK_CHAT_MODEL_FACTORY": FACTORY})
    assert isinstance(model, GenericFakeChatModel)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("fake_chat_factory", "package.module:function"),
        ("fake_chat_factory:nope", "cannot be loaded"),
        ("no_such_module_xyz:make", "cannot be loaded"),
        ("fake_chat_factory:not_a_model", "not a LangChain chat model"),
    ],
)
def test_a_bad_factory_is_named(setting: str, words: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        chat_model_from_env({"CREATOK_CHAT_MODEL_FACTORY": setting})
    assert "CREATOK_CHAT_MODEL_FACTORY" in str(err.value) and words in str(err.value)


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.mark.skipif(_installed("langchain_openai"), reason="langchain-openai is installed")
def test_a_missing_provider_package_is_named() -> None:
    with pytest.raises(ConfigurationError) as err:
        chat_model_from_env({"CREATOK_CHAT_MODEL": "openai:gpt-4o-mini"})
    message = str(err.value)
    assert "CREATOK_CHAT_MODEL='openai:gpt-4o-mini'" in message
    assert "langchain-openai" in message


def test_an_unknown_provider_says_how_to_write_it() -> None:
    with pytest.raises(ConfigurationError) as err:
        chat_model_from_env({"CREATOK_CHAT_MODEL": "nosuch:thing"})
    assert "'provider:model'" in str(err.value)


def test_without_langchain_the_message_says_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)  # import fails
    with pytest.raises(ConfigurationError) as err:
        chat_model_from_env({"CREATOK_CHAT_MODEL": "openai:gpt-4o-mini"})
    assert "pip install langchain" in str(err.value)


def _served_graph_probe(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the graph ``langgraph.json`` serves in a fresh interpreter: which chat
    model do its nodes use?"""
    code = (
        "import json\n"
        "from creatok_graph.graph import graph\n"
        "print(json.dumps(type(graph.nodes['clarify'].bound.chat_model).__name__))\n"
    )
    full = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_CHAT")}
    full.update(env, PYTHONPATH=os.pathsep.join([str(HERE), full.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_served_graph_uses_the_operators_model() -> None:
    done = _served_graph_probe({"CREATOK_CHAT_MODEL_FACTORY": FACTORY})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == "GenericFakeChatModel"
    plain = _served_graph_probe({})
    assert json.loads(plain.stdout) == "NoneType"


def test_the_served_graph_refuses_to_start_with_a_model_it_cannot_build() -> None:
    done = _served_graph_probe({"CREATOK_CHAT_MODEL_FACTORY": "no_such_module_xyz:make"})
    assert done.returncode != 0
    assert "CREATOK_CHAT_MODEL_FACTORY='no_such_module_xyz:make' cannot be loaded" in done.stderr


# -- what the model reads --------------------------------------------------------------


def test_a_json_reply_is_read() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(
        'Sure! {"prompt": "a fox", "n": "3", "aspect_ratio": null, "resolution": "4K"}')]))
    got = run_sync(extract_request(model, [HumanMessage("three foxes in 4K")]), None)
    assert got == {"prompt": "a fox", "n": 3, "resolution": "4K"}


def test_a_plain_reply_is_the_prompt() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("a fox in the snow")]))
    got = run_sync(extract_request(model, [HumanMessage("fox")]), None)
    assert got == {"prompt": "a fox in the snow"}


def test_image_bytes_are_not_sent_to_the_chat_model() -> None:
    seen: list[Any] = []

    class Recording(GenericFakeChatModel):
        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(messages)
            return super()._generate(messages, *args, **kwargs)

    model = Recording(messages=iter([AIMessage('{"prompt": "a fox like this one"}')]))
    human = HumanMessage(content=[
        {"type": "text", "text": "a fox like this one"},
        {"type": "image", "base64": "iVBORw0KGgo=" * 1000, "mime_type": "image/png"},
    ])
    run_sync(extract_request(model, [human]), None)
    assert "iVBORw0KGgo" not in str(seen[0])


def test_a_rewrite_identical_to_the_prompt_is_no_rewrite() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("“A cat.”")]))
    assert run_sync(draft_refinement(model, "a cat", "en"), None) is None
