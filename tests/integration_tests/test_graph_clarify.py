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
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage

from creatok_graph.messages import text


class Calls(BaseCallbackHandler):
    """Counts the chat model's calls."""

    def __init__(self) -> None:
        self.count = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1


def chat_model(*replies: str) -> GenericFakeChatModel:
    """A scripted model; ``model.callbacks[0].count`` says how often it was asked."""
    return GenericFakeChatModel(
        messages=iter([AIMessage(r) for r in replies]), callbacks=[Calls()]
    )


def calls(model: GenericFakeChatModel) -> int:
    handler = (model.callbacks or [None])[0]  # type: ignore[index]
    assert isinstance(handler, Calls)
    return handler.count


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


DRAFT = "a fluffy ginger cat curled up on a sunny windowsill, soft morning light"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("keep", "a cat"),
        ({"type": "keep"}, "a cat"),
        ("use", DRAFT),
        ({"type": "use"}, DRAFT),
        ("a tabby cat asleep on a red armchair", "a tabby cat asleep on a red armchair"),
        ({"type": "edit", "prompt": "a cat, pixel art"}, "a cat, pixel art"),
        ("a dog", "a dog"),  # short again, but the offer is made only once
    ],
)
async def test_with_a_chat_model_a_short_prompt_gets_one_rewrite_offer(
    h1: Harness, answer: Any, expected: str
) -> None:
    h1.build(chat_model=chat_model(DRAFT))
    first = await h1.invoke({"prompt": "a cat"})
    offer = interrupt_of(first)
    assert offer["type"] == "refine_prompt"
    assert (offer["prompt"], offer["suggestion"]) == ("a cat", DRAFT)
    assert "a cat" in offer["question"] and DRAFT in offer["question"]
    assert set(offer["options"]) == {"keep", "use", "edit"}
    second = await h1.resume(answer)
    action = action_of(second)
    assert action["args"]["prompt"] == expected
    assert h1.stats()["submit_requests"] == 0
    if answer == "use":  # one of them all the way through
        done = await h1.resume("yes")
        assert done["status"] == "succeeded"
        task = h1.emulator.get_task(done["task_id"])
        assert task is not None and task["prompt"] == DRAFT


@pytest.mark.parametrize("prompt", ["a cat", "Mountains at dawn", "一只猫", "猫", "고양이"])
async def test_without_a_chat_model_a_short_prompt_is_taken_as_written(
    h1: Harness, prompt: str
) -> None:
    """No "quite short" question: the next question is the approval, and yes generates."""
    first = await h1.invoke({"messages": [HumanMessage(prompt)]})
    assert action_of(first)["args"]["prompt"] == prompt
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    task = h1.emulator.get_task(done["task_id"])
    assert task is not None and task["prompt"] == prompt


async def test_the_rewrite_is_asked_for_in_the_persons_language(h1: Harness) -> None:
    seen: list[Any] = []

    class Recording(GenericFakeChatModel):
        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(messages)
            return super()._generate(messages, *args, **kwargs)

    drafted = "一只橘色的小猫蜷缩在洒满阳光的窗台上，柔和的晨光，水彩风格"
    h1.build(chat_model=Recording(messages=iter([AIMessage(drafted)])))
    offer = interrupt_of(await h1.invoke({"prompt": "一只猫"}))
    assert offer["suggestion"] == drafted
    assert "保留" in offer["question"]  # the offer itself is in Chinese
    assert "Chinese" in seen[0][0].content  # and the model was asked to write Chinese
    second = await h1.resume("保留")
    assert action_of(second)["args"]["prompt"] == "一只猫"


async def test_a_rewrite_that_changes_nothing_is_not_offered(h1: Harness) -> None:
    h1.build(chat_model=chat_model("A cat."))
    first = await h1.invoke({"prompt": "a cat"})
    assert action_of(first)["args"]["prompt"] == "a cat"


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
        assert image["url"] in messages[-1].text


async def test_a_new_message_in_the_same_thread_is_a_new_request(h1: Harness) -> None:
    await h1.invoke({"messages": [HumanMessage(PROMPT)], "n": 2, "resolution": "4K"})
    first = await h1.resume("yes")
    assert first["status"] == "succeeded" and first["n"] == 2
    lighthouse = HumanMessage("a lighthouse on a cliff in a storm, oil")
    second = await h1.invoke({"messages": [lighthouse]})
    action = action_of(second)
    # The earlier request's choices do not leak into this one: defaults again.
    assert action["args"]["prompt"] == "a lighthouse on a cliff in a storm, oil"
    assert (action["args"]["n"], action["args"]["resolution"]) == (1, "2K")
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    assert done["task_id"] != first["task_id"]
    assert done["run_id"] != first["run_id"]
    assert h1.stats()["submits"] == 2
    # Each request has its own artifacts; the first one's are untouched.
    assert h1.result_json(first["run_id"])["task_id"] == first["task_id"]
    assert h1.result_json(done["run_id"])["task_id"] == done["task_id"]
    assert len([m for m in done["messages"] if m.type == "ai"]) == 2


async def test_chat_model_reads_the_request_out_of_a_conversation(h1: Harness) -> None:
    extracted = (
        '{"prompt": "a watercolor of a lighthouse at dusk with gulls", "n": 2, '
        '"aspect_ratio": "16:9"}'
    )
    model = chat_model(extracted)
    h1.build(chat_model=model)
    conversation = [
        HumanMessage("hi! I run a small seaside cafe"),
        AIMessage("Nice! How can I help?"),
        HumanMessage("make me two wide pictures of our lighthouse at dusk, watercolor, gulls"),
    ]
    first = await h1.invoke({"messages": conversation})
    args = action_of(first)["args"]
    assert args["prompt"] == "a watercolor of a lighthouse at dusk with gulls"
    assert (args["n"], args["aspect_ratio"]) == (2, "16:9")
    assert first["estimated_credits"] == 2
    done = await h1.resume(APPROVE)  # the model is not asked again on resume
    assert done["status"] == "succeeded"
    assert calls(model) == 1
    task = h1.emulator.get_task(done["task_id"])
    assert task is not None and (task["n"], task["aspect_ratio"]) == (2, "16:9")


async def test_chat_model_finding_no_request_leads_to_the_question(h1: Harness) -> None:
    model = chat_model('{"prompt": null}')
    h1.build(chat_model=model)
    first = await h1.invoke({"messages": [HumanMessage("hello there")]})
    assert interrupt_of(first)["kind"] == "prompt"
    second = await h1.resume(PROMPT)
    assert action_of(second)["args"]["prompt"] == PROMPT
    assert calls(model) == 1


async def test_chat_model_is_called_once_per_step(h1: Harness) -> None:
    """Extraction and drafting each happen once, however often the run is resumed."""
    model = chat_model('{"prompt": "a cat"}', "a cat in a hat, ink drawing")
    h1.build(chat_model=model)
    first = await h1.invoke({"messages": [HumanMessage("draw a cat for me")]})
    assert interrupt_of(first)["suggestion"] == "a cat in a hat, ink drawing"
    second = await h1.resume("use")
    assert action_of(second)["args"]["prompt"] == "a cat in a hat, ink drawing"
    done = await h1.resume("yes")
    assert done["status"] == "succeeded"
    assert calls(model) == 2


async def test_a_new_message_instead_of_an_answer_replaces_the_request(h2: Harness) -> None:
    """Sent while the approval waits (a chat UI may do that): the newest message wins."""
    first = await h2.invoke({"messages": [HumanMessage(PROMPT)]})
    assert action_of(first)["args"]["prompt"] == PROMPT
    dog = "a dog surfing a big wave at sunset, photo"
    second = await h2.invoke({"messages": [HumanMessage(dog)]})
    assert action_of(second)["args"]["prompt"] == dog
    done = await h2.resume("yes")
    assert done["status"] == "succeeded"
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None and task["prompt"] == dog
    assert h2.stats()["submits"] == 1


async def test_a_new_message_after_a_refinement_offer_starts_over(h1: Harness) -> None:
    model = chat_model(
        '{"prompt": "a cat", "n": 2}', "a fluffy cat", '{"prompt": "a dog"}', "a happy dog"
    )
    h1.build(chat_model=model)
    offer = interrupt_of(await h1.invoke({"messages": [HumanMessage("two cats please")]}))
    assert (offer["prompt"], offer["suggestion"]) == ("a cat", "a fluffy cat")
    again = interrupt_of(await h1.invoke({"messages": [HumanMessage("no, one dog")]}))
    assert again["type"] == "refine_prompt"
    assert (again["prompt"], again["suggestion"]) == ("a dog", "a happy dog")
    second = await h1.resume("keep")
    args = action_of(second)["args"]
    assert (args["prompt"], args["n"]) == ("a dog", 1)  # the first message's n is gone
    assert calls(model) == 4


async def test_the_language_follows_the_person(h1: Harness) -> None:
    h1.build(chat_model=chat_model('{"prompt": null}'))
    first = await h1.invoke({"messages": [HumanMessage("hello")]})
    assert interrupt_of(first)["question"] == text("en", "ask_prompt")
    second = await h1.resume("一只橘猫坐在窗台上，窗外下着雪，水彩风格")
    assert text("zh", "confirm_question") in action_of(second)["description"]
    done = await h1.resume("好")
    assert last_text(done).startswith(text("zh", "succeeded_one"))
    # A later request of the same conversation, in Spanish.
    h1.build()
    later = await h1.invoke(
        {"messages": [HumanMessage("un faro en un acantilado durante una tormenta, óleo")]}
    )
    assert text("es", "confirm_question") in action_of(later)["description"]


async def test_a_failing_chat_model_falls_back_to_plain_reading(h1: Harness) -> None:
    class Broken(FakeListChatModel):
        def _call(self, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError("model provider is down")

    h1.build(chat_model=Broken(responses=["unused"]))
    first = await h1.invoke({"messages": [HumanMessage("Please draw a cat, 2 images")]})
    args = action_of(first)["args"]  # read by the rules, no rewrite offered
    assert (args["prompt"], args["n"]) == ("a cat", 2)


async def test_the_same_explicit_settings_twice_in_a_thread(h2: Harness) -> None:
    settings = {"model": "gpt-image-2", "resolution": "4K", "n": 2}
    await h2.invoke({"prompt": PROMPT, **settings})
    first = await h2.resume("yes")
    assert first["status"] == "succeeded"
    assert (first["model"], first["resolution"], first["n"]) == ("gpt-image-2", "4K", 2)
    second = await h2.invoke({"prompt": PROMPT + ", again", **settings})
    args = action_of(second)["args"]
    assert (args["model"], args["resolution"], args["n"]) == ("gpt-image-2", "4K", 2)
    done = await h2.resume("yes")
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None and (task["model"], task["resolution"], task["n"]) == (
        "gpt-image-2", "4K", 2)


# -- reading the request out of a chat message without a chat model ---------------------


async def test_a_chat_message_is_read_without_a_chat_model(h2: Harness) -> None:
    fox = "Please draw a red fox reading under a maple tree in watercolor, 2 images, 16:9"
    first = await h2.invoke({"messages": [HumanMessage(fox)]})
    args = action_of(first)["args"]
    assert args["prompt"] == "a red fox reading under a maple tree in watercolor"
    assert (args["n"], args["aspect_ratio"]) == (2, "16:9")
    done = await h2.resume(APPROVE)
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None
    assert (task["prompt"], task["n"], task["aspect_ratio"]) == (args["prompt"], 2, "16:9")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("a castle in 4K with Nano Banana Pro, portrait",
         {"prompt": "a castle", "model": "nano-banana-pro", "resolution": "4K",
          "aspect_ratio": "9:16"}),
        ("用 gpt-image-2 画两张海边的灯塔，横屏",
         {"prompt": "海边的灯塔", "model": "gpt-image-2", "n": 2, "aspect_ratio": "16:9"}),
        ("猫の画像を3枚生成してください", {"prompt": "猫", "n": 3}),
        ("바다 위의 등대, 세로로, 2장",
         {"prompt": "바다 위의 등대", "n": 2, "aspect_ratio": "9:16"}),
        ("Dibuja un zorro rojo, dos imágenes, 16:9",
         {"prompt": "un zorro rojo", "n": 2, "aspect_ratio": "16:9"}),
        ("Quero 2 imagens de um gato na praia em 4K",
         {"prompt": "um gato na praia", "n": 2, "resolution": "4K"}),
        ("draw 2 cats playing", {"prompt": "2 cats playing", "n": 1}),
    ],
)
async def test_chat_messages_in_six_languages(
    h1: Harness, message: str, expected: dict[str, Any]
) -> None:
    args = action_of(await h1.invoke({"messages": [HumanMessage(message)]}))["args"]
    assert {k: args[k] for k in expected} == expected


async def test_explicit_inputs_win_over_the_message(h1: Harness) -> None:
    first = await h1.invoke({"messages": [HumanMessage("a fox in the snow, 2 images, 16:9")],
                             "n": 3, "aspect_ratio": "1:1"})
    args = action_of(first)["args"]
    assert (args["prompt"], args["n"], args["aspect_ratio"]) == ("a fox in the snow", 3, "1:1")


async def test_a_value_the_model_does_not_offer_is_refused_with_the_allowed_ones(
    h1: Harness,
) -> None:
    done = await h1.invoke({"messages": [HumanMessage("a fox in the snow in 8K")]})
    assert done["status"] == "invalid_request"
    assert "8K" in last_text(done) and "1K, 2K" in last_text(done)
    assert h1.stats()["submit_requests"] == 0


async def test_a_newer_message_forgets_what_the_older_one_said(h1: Harness) -> None:
    await h1.invoke({"messages": [HumanMessage("a fox with Nano Banana Pro, 3 images, 16:9")]})
    second = await h1.invoke({"messages": [HumanMessage("a lighthouse at night in a storm")]})
    args = action_of(second)["args"]
    assert args["prompt"] == "a lighthouse at night in a storm"
    assert (args["model"], args["n"], args["aspect_ratio"]) == ("nano-banana-2", 1, None)


async def test_only_boilerplate_asks_what_to_draw(h1: Harness) -> None:
    first = await h1.invoke({"messages": [HumanMessage("帮我画张图，两张")]})
    assert interrupt_of(first)["kind"] == "prompt"
    second = await h1.resume("一只橘猫坐在窗台上")
    args = action_of(second)["args"]
    assert (args["prompt"], args["n"]) == ("一只橘猫坐在窗台上", 2)


# -- a chat model's structured reading ---------------------------------------------------


class ToolCallingFake(GenericFakeChatModel):
    """A fake that supports ``with_structured_output`` (by tool calling), as providers do."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


async def test_structured_output_is_used_when_the_model_supports_it(h1: Harness) -> None:
    call = {"name": "ImageRequestExtraction", "id": "c1",
            "args": {"prompt": "a lighthouse at dusk with gulls, watercolor", "n": 2,
                     "aspect_ratio": "16:9", "resolution": "4K", "model": "GPT Image 2"}}
    model = ToolCallingFake(messages=iter([AIMessage("", tool_calls=[call])]))
    h1.build(chat_model=model)
    first = await h1.invoke({"messages": [HumanMessage("hi"), AIMessage("Hello!"),
                                          HumanMessage("our lighthouse at dusk, with gulls")]})
    args = action_of(first)["args"]
    assert args == {**args, "prompt": "a lighthouse at dusk with gulls, watercolor", "n": 2,
                    "aspect_ratio": "16:9", "resolution": "4K", "model": "gpt-image-2"}


async def test_the_rules_fill_what_the_chat_model_left_out(h1: Harness) -> None:
    h1.build(chat_model=chat_model('{"prompt": "a red fox in the snow"}'))
    said = HumanMessage("a red fox in the snow, 2 images, 9:16")
    args = action_of(await h1.invoke({"messages": [said]}))["args"]
    assert (args["prompt"], args["n"], args["aspect_ratio"]) == ("a red fox in the snow", 2,
                                                                 "9:16")
