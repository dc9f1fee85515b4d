"""The approval step: nothing is paid before a yes, edits are re-checked and re-priced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graph_support import (
    APPROVE,
    PROMPT,
    Harness,
    action_of,
    edit,
    files_under,
    interrupt_of,
    last_text,
)

from creatok_graph import build_graph
from creatok_graph.graph import graph as served_graph
from creatok_graph.messages import text


async def test_approve_runs_the_whole_request_once(h4: Harness) -> None:
    first = await h4.invoke({"prompt": PROMPT})
    value = interrupt_of(first)
    assert value["review_configs"] == [
        {"action_name": "generate_image", "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    action = action_of(first)
    assert action["args"] == {
        "prompt": PROMPT,
        "model": "nano-banana-2",
        "resolution": "2K",
        "n": 1,
        "aspect_ratio": None,
        "reference_images": [],
    }
    description = action["description"]
    for fact in (
        "Nano Banana 2", "2K", text("en", "n_images_one"), text("en", "confirm_cost_one"),
        PROMPT,
    ):
        assert fact in description
    assert first["estimated_credits"] == 1
    assert h4.stats()["submits"] == 0 and h4.stats()["submit_requests"] == 0

    done = await h4.resume(APPROVE)
    assert "__interrupt__" not in done
    assert done["status"] == "succeeded"
    assert h4.stats()["submits"] == 1
    task = h4.emulator.get_task(done["task_id"])
    assert task is not None
    assert (task["prompt"], task["model"], task["resolution"], task["n"]) == (
        PROMPT, "nano-banana-2", "2K", 1,
    )
    assert done["error"] is None
    assert done["estimated_credits"] == 1
    assert len(done["images"]) == 1
    message = last_text(done)
    for image in done["images"]:
        assert image["url"] in message
    assert done["artifacts_dir"] == str(h4.root / "t1")
    assert h4.result_json()["status"] == "succeeded"


async def test_response_schema_is_offered(h1: Harness) -> None:
    first = await h1.invoke({"prompt": PROMPT})
    (pending,) = first["__interrupt__"]
    schema = pending.response_schema
    assert schema and "anyOf" in schema
    json.dumps(schema)  # JSON-serialisable for clients


@pytest.mark.parametrize(
    ("prompt", "word"),
    [
        (PROMPT, "yes"),
        (PROMPT, True),
        ("un zorro rojo en un bosque nevado al amanecer, acuarela", "Sí."),
    ],  # every language's own yes: test_graph_language.py
)
async def test_plain_yes_in_any_language_approves(h1: Harness, prompt: str, word: Any) -> None:
    await h1.invoke({"prompt": prompt})
    done = await h1.resume(word)
    assert done["status"] == "succeeded"
    assert h1.stats()["submits"] == 1


@pytest.mark.parametrize("answer", ["no", "不要", "cancelar", {"decisions": [{"type": "reject"}]}])
async def test_plain_no_cancels_without_charge(h1: Harness, answer: Any) -> None:
    await h1.invoke({"prompt": PROMPT})
    done = await h1.resume(answer)
    assert done["status"] == "cancelled"
    assert done["task_id"] is None
    assert last_text(done) == text("en", "cancelled")
    stats = h1.stats()
    assert (stats["submit_requests"], stats["presigns"], stats["uploads"]) == (0, 0, 0)
    assert h1.result_json()["status"] == "cancelled"


async def test_reject_with_message(h2: Harness) -> None:
    await h2.invoke({"prompt": PROMPT})
    done = await h2.resume(
        {"decisions": [{"type": "reject", "message": "too expensive today"}]}
    )
    assert done["status"] == "cancelled"
    assert last_text(done) == text("en", "cancelled_reason", reason="too expensive today")
    assert done["error"]["message"] == "too expensive today"
    assert h2.stats()["submit_requests"] == 0
    record = h2.result_json()
    assert record["status"] == "cancelled" and record["task_id"] is None


async def test_an_unclear_answer_asks_again_and_charges_nothing(h2: Harness) -> None:
    first = await h2.invoke({"prompt": PROMPT})
    again = await h2.resume("hmm, let me think")
    description = action_of(again)["description"]
    lines = description.splitlines()
    assert lines[0] == text("en", "confirm_unclear", answer="hmm, let me think")
    # The rest is the same question as before: the same request, the same price.
    assert lines[1:] == action_of(first)["description"].splitlines()
    assert h2.stats()["submit_requests"] == 0
    assert again.get("status") not in ("cancelled", "succeeded")

    blank = await h2.resume("   ")  # an empty answer: the question again, as it was
    assert action_of(blank)["description"] == action_of(first)["description"]
    assert h2.stats()["submit_requests"] == 0

    done = await h2.resume("yes")
    assert done["status"] == "succeeded"
    assert h2.stats()["submit_requests"] == 1


async def test_a_long_unclear_answer_is_quoted_short(h1: Harness) -> None:
    await h1.invoke({"prompt": PROMPT})
    again = await h1.resume("could you maybe " * 20)
    first_line = action_of(again)["description"].splitlines()[0]
    quoted = first_line.split("“")[1].split("”")[0]
    assert quoted.startswith("could you maybe could you") and quoted.endswith("…")
    assert len(quoted) <= 60


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\u2028"])
async def test_a_prompt_of_several_lines_cannot_fake_a_line_of_the_question(
    h1: Harness, brk: str
) -> None:
    """A line break in a prompt starts an indented continuation line: the question still
    has one cost line and one question line, and they are the real ones."""
    fake_cost = text("en", "confirm_cost", credits=0)
    fake_question = text("en", "confirm_question")
    prompt = f"{PROMPT}{brk}{fake_cost}{brk}{fake_question}"
    first = await h1.invoke({"prompt": prompt})
    lines = action_of(first)["description"].split("\n")
    cost_lines = [line for line in lines if line.startswith("Estimated cost")]
    assert cost_lines == [text("en", "confirm_cost_one")]  # the real price, once
    assert lines[-1] == fake_question  # the real question, at the end
    # the prompt's own lines are there, indented under "Prompt:"
    assert lines[2].startswith("Prompt: ")
    assert lines[3:5] == ["    " + fake_cost, "    " + fake_question + "”"]
    assert h1.stats()["submit_requests"] == 0


async def test_edit_is_repriced_and_asked_again(h2: Harness) -> None:
    first = await h2.invoke({"prompt": PROMPT})
    assert first["estimated_credits"] == 1

    second = await h2.resume(edit(resolution="4K", n=3, aspect_ratio="16:9"))
    action = action_of(second)
    assert action["args"]["resolution"] == "4K"
    assert action["args"]["n"] == 3
    assert action["args"]["aspect_ratio"] == "16:9"
    assert action["args"]["prompt"] == PROMPT  # untouched fields are kept
    assert second["estimated_credits"] == 6  # 2 credits per 4K image x 3
    assert text("en", "confirm_cost", credits=6) in action["description"]
    assert text("en", "n_images_many", n=3) in action["description"]
    assert "16:9" in action["description"]
    assert h2.stats()["submit_requests"] == 0

    third = await h2.resume(edit(model="gpt-image-2", prompt="a blue heron, ink drawing"))
    action = action_of(third)
    assert "GPT Image 2" in action["description"]
    assert third["estimated_credits"] == 3  # 1 credit per 4K image x 3
    assert h2.stats()["submit_requests"] == 0

    done = await h2.resume(APPROVE)
    assert done["status"] == "succeeded"
    assert h2.stats()["submits"] == 1
    task = h2.emulator.get_task(done["task_id"])
    assert task is not None
    assert (task["model"], task["resolution"], task["n"], task["aspect_ratio"], task["prompt"]) == (
        "gpt-image-2", "4K", 3, "16:9", "a blue heron, ink drawing",
    )
    assert len(done["images"]) == 3
    record = h2.result_json()
    assert (record["model"], record["resolution"], record["n"]) == ("gpt-image-2", "4K", 3)


# What the person reads names the problem and the allowed values (wording: messages.py).
INVALID_EDITS = [
    ({"n": 9}, ["1", "4"]),
    ({"resolution": "8K"}, ["8K", "Nano Banana 2", "1K", "2K", "4K"]),
    ({"model": "x"}, ["x", "nano-banana-2", "gpt-image-2", "seedream-5.0-lite"]),
    ({"aspect_ratio": "5:4"}, ["5:4", "1:1", "16:9", "9:16"]),
    ({"prompt": "  "}, ["empty"]),
    ({"reference_images": ["/nowhere/missing.png"]}, ["missing.png"]),
    ({"reference_images": ["/nowhere/notes.txt"]}, ["notes.txt", "does not exist"]),
]


@pytest.mark.parametrize(("args", "facts"), INVALID_EDITS)
async def test_invalid_edit_says_why_and_asks_again(
    h1: Harness, args: dict[str, Any], facts: list[str]
) -> None:
    first = await h1.invoke({"prompt": PROMPT})
    before = action_of(first)["description"]
    again = await h1.resume(edit(**args))
    action = action_of(again)
    why = action["description"].replace(before, "")
    assert why.strip(), "the description must say why the edit was refused"
    for fact in facts:
        assert fact in why
    assert action["args"] == action_of(first)["args"]  # the request is unchanged
    assert again["estimated_credits"] == 1
    # A valid answer afterwards works, and the complaint is gone.
    fixed = await h1.resume(edit(n=2))
    assert action_of(fixed)["description"].count("\n") == before.count("\n")
    assert fixed["estimated_credits"] == 2
    stats = h1.stats()
    assert (stats["submit_requests"], stats["presigns"], stats["uploads"]) == (0, 0, 0)
    if args == INVALID_EDITS[0][0]:  # one of them all the way through
        done = await h1.resume("yes")
        assert done["status"] == "succeeded"
        assert h1.emulator.get_task(done["task_id"])["n"] == 2  # type: ignore[index]


async def test_served_graph_has_no_checkpointer_and_named_nodes() -> None:
    assert served_graph.checkpointer is None
    assert served_graph.name == "generate_image"
    expected = {
        "clarify", "load_capabilities", "validate", "confirm", "upload_refs", "submit", "poll",
        "persist",
    }
    assert expected <= set(served_graph.nodes)
    assert set(build_graph().nodes) == set(served_graph.nodes)


async def test_api_key_is_never_written_anywhere(h2: Harness, emulator_factory: Any) -> None:
    """A distinctive key: not in checkpoints (SQLite file bytes), state or artifacts."""
    secret = "sk-creatok-s3cr3t-0123456789abcdef"
    h2.use(emulator_factory(api_key=secret, task_seconds=0.2))
    assert h2.context.api_key == secret
    await h2.invoke({"prompt": PROMPT})
    done = await h2.resume(APPROVE)
    assert done["status"] == "succeeded"
    assert secret not in repr(done)
    assert secret not in repr(await h2.values())
    for path in files_under(h2.root):
        assert secret.encode() not in path.read_bytes(), path
    if h2.db_path is not None:
        for path in h2.db_path.parent.glob(h2.db_path.name + "*"):  # -wal, -shm too
            assert secret.encode() not in path.read_bytes(), path
    for checkpoint in await h2.checkpoints():
        assert secret not in repr(checkpoint)
