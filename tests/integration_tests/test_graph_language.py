"""Every sentence the person reads is in the language they wrote in; URLs stay verbatim."""

from __future__ import annotations

import pytest
from blockbuster import blockbuster_ctx
from graph_support import PROMPT, Harness, action_of, edit, last_text
from langchain_core.messages import HumanMessage

from creatok_graph.messages import text

# (language, a detailed prompt, a short one, yes, no)
LANGUAGES = [
    ("zh", "一只橘猫坐在窗台上，窗外下着雪，水彩风格", "一只猫", "是", "不要"),
    ("ja", "雪の森に座る赤いキツネ、水彩画のスタイルで", "猫です", "はい", "いいえ"),
    ("ko", "눈 덮인 숲속에 앉아 있는 붉은 여우, 수채화 스타일", "고양이", "네", "아니요"),
    ("es", "un zorro rojo sentado en un bosque nevado al amanecer, acuarela", "un gato", "sí",
     "no"),
    ("pt", "uma raposa vermelha sentada numa floresta com neve ao amanhecer", "um gato", "sim",
     "não"),
]
IDS = [row[0] for row in LANGUAGES]


@pytest.mark.parametrize(("lang", "prompt", "short", "yes", "no"), LANGUAGES, ids=IDS)
async def test_the_whole_conversation_is_localized(
    h1: Harness, lang: str, prompt: str, short: str, yes: str, no: str
) -> None:
    first = await h1.invoke({"messages": [HumanMessage(prompt)], "n": 2})
    description = action_of(first)["description"]
    assert text(lang, "confirm_question") in description
    assert text(lang, "n_images_many", n=2) in description
    assert text(lang, "confirm_cost", credits=2) in description
    assert "Nano Banana 2" in description  # labels are names: never translated

    done = await h1.resume(yes)
    assert done["status"] == "succeeded"
    message = last_text(done)
    assert message.startswith(text(lang, "succeeded"))
    for image in done["images"]:
        assert image["url"] in message
    assert text(lang, "succeeded") in h1.result_md()


@pytest.mark.parametrize(("lang", "prompt", "short", "yes", "no"), LANGUAGES, ids=IDS)
async def test_questions_refusals_and_cancellations_are_localized(
    h1: Harness, lang: str, prompt: str, short: str, yes: str, no: str
) -> None:
    # Without a chat model a short description is taken as written: the approval, localized.
    asked = action_of(await h1.invoke({"prompt": short}, "short"))
    assert asked["args"]["prompt"] == short
    assert text(lang, "confirm_question") in asked["description"]

    refused = await h1.invoke({"prompt": prompt, "n": 9}, "invalid")
    assert refused["status"] == "invalid_request"
    head = text(lang, "invalid_request", reason="\0").split("\0")[0]
    assert last_text(refused).startswith(head)

    await h1.invoke({"prompt": prompt}, "cancel")
    cancelled = await h1.resume(no, "cancel")
    assert cancelled["status"] == "cancelled"
    assert last_text(cancelled) == text(lang, "cancelled")
    assert h1.stats()["submit_requests"] == 0


async def test_invalid_edit_reason_is_localized(h1: Harness) -> None:
    await h1.invoke({"prompt": "一只橘猫坐在窗台上，窗外下着雪，水彩风格"})
    again = await h1.resume(edit(n=9))
    first_line = action_of(again)["description"].splitlines()[0]
    assert first_line.startswith(text("zh", "edit_invalid", reason="\0").split("\0")[0])
    assert "n must be" not in first_line


async def test_an_unclear_answer_is_asked_about_in_the_persons_language(h1: Harness) -> None:
    await h1.invoke({"prompt": "一只橘猫坐在窗台上，窗外下着雪，水彩风格"})
    again = await h1.resume("嗯……让我想想")
    first_line = action_of(again)["description"].splitlines()[0]
    assert first_line == text("zh", "confirm_unclear", answer="嗯……让我想想")
    done = await h1.resume("好")
    assert done["status"] == "succeeded"


async def test_errors_are_localized(h1: Harness) -> None:
    h1.emulator.set_scenarios(["broken-capabilities"])
    done = await h1.invoke({"prompt": "uma raposa vermelha sentada numa floresta com neve"})
    assert last_text(done) == text("pt", "contract_error_field",
                                   field="capabilities.image.default_model")


async def test_explicit_language_wins(h1: Harness) -> None:
    first = await h1.invoke({"prompt": PROMPT, "language": "ja"})
    assert text("ja", "confirm_question") in action_of(first)["description"]


async def test_async_nodes_never_block_the_event_loop(h1: Harness) -> None:
    """What ``langgraph dev`` enforces: file and network I/O leave the event loop."""
    h1.emulator.task_seconds = 0.5  # so the wait sleeps
    refs = [h1.png("a.png"), h1.png("b.png", 2)]
    with blockbuster_ctx(scanned_modules=["creatok_graph"]):
        await h1.invoke({"prompt": "a cat", "reference_images": refs})
        await h1.resume("use")
        done = await h1.resume("yes")
        assert done["status"] == "succeeded"
        again = await h1.invoke({"task_id": done["task_id"], "wait": True}, "recover")
        assert again["status"] == "succeeded"
    assert h1.stats()["uploads"] == 2
