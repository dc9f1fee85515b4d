"""Finding the prompt: ask when missing, offer a refinement once when vague, read chats."""

from __future__ import annotations

from typing import Any

import pytest
from graph_support import (
    APPROVE,
    PROMPT,
    Harness,
    action_of,
    interrupt_of,
    last_text,
)
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage

from creatok_graph.prompts import text


def chat_model(*replies: str) -> GenericFakeChatModel:
    """A scripted model that fails the test if it is asked more often than scripted."""
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


async def test_missing_prompt_is_asked_for_in_plain_words(h2: Harness) -> None:
    first = await h2.invoke({})
    question = interrupt_of(first)
    assert question["type"] == "question" and question["kind"] == "prompt"
    assert question["question"] == text("en", "ask_prompt")
    assert "resolution" not in question["question"].lower()
    second = await h2.resume(PROMPT)
    action = action_of(second)  # straight to approval: no question about sizes or ratios
    assert action["args"]["prompt"] == PROMPT
    done = await h2.resume(APPROVE)
    assert done["status"] == "succeeded"
    assert h2.stats()["submits"] == 1


async def test_missing_prompt_answered_in_chinese_switches_language(h1: Harness) -> None:
    await h1.invoke({"messages": []})
    second = await h1.resume("一只橘猫坐在窗台上，窗外下着雪，水彩风格")
    assert "准备用" in action_of(second)["description"]
    done = await h1.resume("好的")
    assert done["status"] == "succeeded"
    assert last_text(done).startswith(text("zh", "succeeded_one"))


async def test_empty_answer_asks_again(h1: Harness) -> None:
    await h1.invoke({})
    again = await h1.resume("   ")
    assert interrupt_of(again)["kind"] == "prompt"
    assert h1.stats()["capabilities"] == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("keep", "a cat"),
        ({"type": "keep"}, "a cat"),
        ("use", "suggestion"),
        ({"type": "use"}, "suggestion"),
        ("a tabby cat asleep on a red armchair", "a tabby cat asleep on a red armchair"),
        ({"type": "edit", "prompt": "a cat, pixel art"}, "a cat, pixel art"),
        ("a dog", "a dog"),  # short again, but the offer is made only once
    ],
)
async def test_vague_prompt_offers_a_refinement_once(
    h1: Harness, answer: Any, expected: str
) -> None:
    first = await h1.invoke({"prompt": "a cat"})
    offer = interrupt_of(first)
    assert offer["type"] == "refine_prompt"
    assert offer["prompt"] == "a cat"
    suggestion = offer["suggestion"]
    assert suggestion.startswith("a cat") and len(suggestion) > len("a cat")
    assert "a cat" in offer["question"] and suggestion in offer["question"]
    assert set(offer["options"]) == {"keep", "use", "edit"}
    second = await h1.resume(answer)
    action = action_of(second)
    assert action["args"]["prompt"] == (suggestion if expected == "suggestion" else expected)
    assert h1.stats()["submit_requests"] == 0
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    task = h1.emulator.get_task(done["task_id"])
    assert task is not None and task["prompt"] == action["args"]["prompt"]


async def test_vague_chinese_prompt_gets_a_chinese_offer(h1: Harness) -> None:
    first = await h1.invoke({"messages": [HumanMessage("一只猫")]})
    offer = interrupt_of(first)
    assert offer["type"] == "refine_prompt"
    assert offer["suggestion"].startswith("一只猫")
    assert "保留" in offer["question"]
    second = await h1.resume("保留")
    assert action_of(second)["args"]["prompt"] == "一只猫"


async def test_messages_only_input(h2: Harness) -> None:
    human = HumanMessage(PROMPT)
    first = await h2.invoke({"messages": [human]})
    assert action_of(first)["args"]["prompt"] == PROMPT
    done = await h2.resume("yes")
    assert done["status"] == "succeeded"
    messages = done["messages"]
    assert [m.type for m in messages] == ["human", "ai"]
    assert messages[0].content == PROMPT
    for image in done["images"]:
        assert image["url"] in messages[-1].content


async def test_a_new_message_in_the_same_thread_is_a_new_request(h2: Harness) -> None:
    await h2.invoke({"messages": [HumanMessage(PROMPT)], "n": 2, "resolution": "4K"})
    first = await h2.resume("yes")
    assert first["status"] == "succeeded" and first["n"] == 2
    lighthouse = HumanMessage("a lighthouse on a cliff in a storm, oil")
    second = await h2.invoke({"messages": [lighthouse]})
    action = action_of(second)
    # The earlier request's choices do not leak into this one: defaults again.
    assert action["args"]["prompt"] == "a lighthouse on a cliff in a storm, oil"
    assert (action["args"]["n"], action["args"]["resolution"]) == (1, "2K")
    done = await h2.resume("yes")
    assert done["status"] == "succeeded"
    assert done["task_id"] != first["task_id"]
    assert done["run_id"] != first["run_id"]
    assert h2.stats()["submits"] == 2
    # Each request has its own artifacts; the first one's are untouched.
    assert h2.result_json(first["run_id"])["task_id"] == first["task_id"]
    assert h2.result_json(done["run_id"])["task_id"] == done["task_id"]
    assert len([m for m in done["messages"] if m.type == "ai"]) == 2


async def test_chat_model_reads_the_request_out_of_a_conversation(h2: Harness) -> None:
    extracted = (
        '{"prompt": "a watercolor of a lighthouse at dusk with gulls", "n": 2, '
        '"aspect_ratio": "16:9"}'
    )
    h2.build(chat_model=chat_model(extracted))
    conversation = [
        HumanMessage("hi! I run a small seaside cafe"),
        AIMessage("Nice! How can I help?"),
        HumanMessage("make me two wide pictures of our lighthouse at dusk, watercolor, gulls"),
    ]
    first = await h2.invoke({"messages": conversation})
    args = action_of(first)["args"]
    assert args["prompt"] == "a watercolor of a lighthouse at dusk with gulls"
    assert (args["n"], args["aspect_ratio"]) == (2, "16:9")
    assert first["estimated_credits"] == 2
    done = await h2.resume(APPROVE)  # the model is not asked again on resume
    assert done["status"] == "succeeded"
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None and (task["n"], task["aspect_ratio"]) == (2, "16:9")


async def test_chat_model_finding_no_request_leads_to_the_question(h1: Harness) -> None:
    h1.build(chat_model=chat_model('{"prompt": null}'))
    first = await h1.invoke({"messages": [HumanMessage("hello there")]})
    assert interrupt_of(first)["kind"] == "prompt"
    second = await h1.resume(PROMPT)
    assert action_of(second)["args"]["prompt"] == PROMPT


async def test_chat_model_drafts_the_refinement(h2: Harness) -> None:
    drafted = "a fluffy ginger cat curled up on a sunny windowsill, soft morning light"
    h2.build(chat_model=FakeListChatModel(responses=[drafted]))
    first = await h2.invoke({"prompt": "a cat"})
    offer = interrupt_of(first)
    assert offer["suggestion"] == drafted
    second = await h2.resume("use")
    assert action_of(second)["args"]["prompt"] == drafted
    done = await h2.resume("yes")
    assert done["status"] == "succeeded"


async def test_chat_model_is_called_once_per_step(h1: Harness) -> None:
    """Extraction and drafting each happen once, however often the run is resumed."""
    h1.build(chat_model=chat_model('{"prompt": "a cat"}', "a cat in a hat, ink drawing"))
    first = await h1.invoke({"messages": [HumanMessage("draw a cat for me")]})
    assert interrupt_of(first)["suggestion"] == "a cat in a hat, ink drawing"
    second = await h1.resume("use")
    assert action_of(second)["args"]["prompt"] == "a cat in a hat, ink drawing"
    done = await h1.resume("yes")  # a third model call would raise StopIteration
    assert done["status"] == "succeeded"
