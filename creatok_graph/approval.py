"""The approval: LangChain's HITL request shape, and reading every form of answer.

Nothing is paid before an ``approve``. An edit is checked and priced again and asked
about again; an answer we cannot read (neither yes nor no, or a malformed decision)
asks again and says why: it never cancels, because nothing has been charged yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph.types import Command, interrupt

from . import budget
from ._flow import Blocking, Flow
from .answer_words import is_no, is_yes
from .errors import CreatokError
from .ledger import Ledger, ledger_root
from .messages import text
from .node_env import NodeEnv, end, generation, lang_of, step
from .references import describe_reference
from .replies import describe_invalid, error_record
from .state import SETTING_KEYS, ImageRequest, ImageSettings, State
from .validation import resolve

ACTION_NAME = "generate_image"
DECISION_TYPES = ("approve", "edit", "reject")

_ARG_SCHEMA: dict[str, Any] = {
    "prompt": {"type": "string"},
    "model": {"type": "string"},
    "resolution": {"type": "string"},
    "n": {"type": "integer"},
    "aspect_ratio": {"type": ["string", "null"]},
    "reference_images": {"type": "array", "items": {"type": "string"}},
}
APPROVAL_RESPONSE_SCHEMA: dict[str, Any] = {
    "title": "Approval of a paid image generation",
    "description": "Approve, edit or reject the generation; the words yes/no work too.",
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "decisions": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1,
                    "items": {
                        "anyOf": [
                            {
                                "type": "object",
                                "properties": {"type": {"const": "approve"}},
                                "required": ["type"],
                            },
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "edit"},
                                    "edited_action": {
                                        "type": "object",
                                        "properties": {
                                            "name": {"const": ACTION_NAME},
                                            "args": {"type": "object", "properties": _ARG_SCHEMA},
                                        },
                                        "required": ["args"],
                                    },
                                },
                                "required": ["type", "edited_action"],
                            },
                            {  # the spend guard's explicit decisions (budget.py)
                                "type": "object",
                                "properties": {
                                    "type": {"enum": list(budget.SPECIAL_DECISIONS)}},
                                "required": ["type"],
                            },
                            {
                                "type": "object",
                                "properties": {
                                    "type": {"const": "reject"},
                                    "message": {"type": "string"},
                                },
                                "required": ["type"],
                            },
                        ]
                    },
                }
            },
            "required": ["decisions"],
        },
        {"type": "string", "description": "yes or no, in any supported language"},
    ],
}


# -- the question --------------------------------------------------------------------------


CONTINUATION_INDENT = "    "
"""Put before every line after the first of one item of the approval question."""


LINE_BREAK = re.compile("\r\n|[\n\u2028\u2029]")
"""What starts a new line wherever the question is shown (a lone CR or another control
character is shown escaped by the front ends: ``terminal.escape``)."""


def _one_item(line: str) -> str:
    """``line`` shown as one item of the question: a line break inside it (a prompt or a
    file name of several lines) starts an indented continuation line, so what a prompt
    says can never pass for a line of the question itself, e.g. a second cost line."""
    first, *rest = LINE_BREAK.split(line)
    return "\n".join([first, *(CONTINUATION_INDENT + part for part in rest)])


def approval_description(lang: str, request: ImageRequest, note: str | None) -> str:
    """The approval question; ``note`` (why we ask again) comes first."""
    n = int(request["n"])
    n_images = text(lang, "n_images_one") if n == 1 else text(lang, "n_images_many", n=n)
    lines = [note] if note else []
    lines.append(
        text(lang, "confirm_title", n_images=n_images, model=request["model_label"],
             resolution=request["resolution"])
    )
    if request.get("aspect_ratio"):
        lines.append(text(lang, "confirm_aspect", aspect_ratio=request["aspect_ratio"]))
    if request.get("reference_files"):  # what will be sent: the resolved files
        names = "; ".join(describe_reference(f) for f in request["reference_files"])
        lines.append(text(lang, "confirm_refs", names=names))
    elif request.get("reference_images"):
        names = ", ".join(
            p.replace("\\", "/").rsplit("/", 1)[-1] for p in request["reference_images"]
        )
        lines.append(text(lang, "confirm_refs", names=names))
    credits = request.get("estimated_credits")
    lines.append(
        text(lang, "confirm_cost_unknown") if credits is None
        else text(lang, "confirm_cost_one") if credits == 1
        else text(lang, "confirm_cost", credits=credits)
    )
    lines.append(text(lang, "confirm_prompt", prompt=request["prompt"]))
    lines.append(text(lang, "confirm_question"))
    return "\n".join(_one_item(line) for line in lines)


def approval_request(lang: str, request: ImageRequest, note: str | None) -> dict[str, Any]:
    """LangChain's HITL request shape, understood by Studio, Agent Inbox and agents."""
    args = {k: request.get(k) for k in SETTING_KEYS}
    return {
        "action_requests": [
            {"name": ACTION_NAME, "args": args,
             "description": approval_description(lang, request, note)}
        ],
        "review_configs": [
            {"action_name": ACTION_NAME, "allowed_decisions": list(DECISION_TYPES)}
        ],
        "estimated_credits": request.get("estimated_credits"),
        "model_label": request.get("model_label"),
        "language": lang,  # front ends add their own words around it (the CLI: yes/no)
    }


# -- reading the answer ----------------------------------------------------------------------


@dataclass
class Decision:
    """One answer, normalised. ``unclear``: neither yes nor no; ``malformed``: a decision
    object we cannot use (``reason`` says why)."""

    type: Literal["approve", "edit", "reject", "unclear", "malformed"]
    args: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    said: str = ""
    reason: str = ""


def _malformed(reason: str) -> Decision:
    return Decision("malformed", reason=reason)


def read_decision(answer: Any) -> Decision:
    """Every accepted resume form: ``{"decisions": [...]}``, one decision, yes/no words."""
    if isinstance(answer, bool):
        return Decision("approve" if answer else "reject")
    if isinstance(answer, str):
        if is_yes(answer):
            return Decision("approve")
        if is_no(answer):
            return Decision("reject")
        return Decision("unclear", said=answer)
    if isinstance(answer, list):
        if len(answer) != 1:
            return _malformed(f"expected one decision, got {len(answer)}")
        return read_decision(answer[0])
    if not isinstance(answer, dict):
        return _malformed(f"expected a decision object or yes/no, got {type(answer).__name__}")
    if "decisions" in answer:
        decisions = answer.get("decisions")
        if not isinstance(decisions, list):
            return _malformed('"decisions" must be a list with one decision')
        return read_decision(decisions)
    kind = str(answer.get("type") or answer.get("decision") or "").lower()
    if kind in ("approve", "accept", "yes"):
        return Decision("approve")
    if kind == "edit":
        action = answer.get("edited_action") or answer.get("action") or {}
        args = (action.get("args") if isinstance(action, dict) else None) or answer.get("args")
        if not isinstance(args, dict) or not args:
            return _malformed('an edit needs "edited_action": {"args": {...}}')
        return Decision("edit", args=dict(args))
    if kind in ("reject", "no", "ignore"):
        message = answer.get("message")
        return Decision("reject", message=str(message) if message else None)
    if kind == "response":  # Agent Inbox's free-text reply
        return read_decision(str(answer.get("args") or ""))
    if kind:
        return _malformed(f'unknown decision type "{kind}" (use {", ".join(DECISION_TYPES)})')
    return _malformed(f'no decision "type" (use {", ".join(DECISION_TYPES)})')


def read_decisions(answer: Any, count: int) -> list[Decision] | Decision:
    """A batch's answer: one decision per request in order, or one answer for all.

    ``{"decisions": [...]}`` with ``count`` entries is read entry by entry (each as
    :func:`read_decision`); yes/no words, ``True``/``False`` or a single decision apply
    to every request. Anything else is one ``unclear``/``malformed`` decision: ask again.
    """
    if isinstance(answer, dict) and isinstance(answer.get("decisions"), list):
        answer = answer["decisions"]
    if isinstance(answer, list):
        if len(answer) != count:
            return _malformed(f"expected {count} decisions, one per request, got {len(answer)}")
        decisions = [read_decision(item) for item in answer]
        for number, decision in enumerate(decisions, 1):
            if decision.type in ("unclear", "malformed"):
                reason = decision.reason or f"“{_shorten(decision.said)}” is neither yes nor no"
                return _malformed(f"request {number}: {reason}")
        return decisions
    decision = read_decision(answer)
    return decision if decision.type in ("unclear", "malformed") else [decision] * count


UNCLEAR_ECHO_CHARS = 60
"""How much of an answer we did not understand is quoted back."""


def _shorten(answer: str) -> str:
    said = " ".join(answer.split())
    return said if len(said) <= UNCLEAR_ECHO_CHARS else said[: UNCLEAR_ECHO_CHARS - 1] + "…"


def edited_settings(asked: ImageSettings, shown: ImageRequest,
                    edit: dict[str, Any]) -> ImageSettings:
    """The settings after an edit: the person's explicit ones, then what the edit changed.

    An edit may send every argument back (UIs prefill them): a value equal to what was
    shown and never set by the person is a default, not a choice, so a new model brings
    its own defaults for it.
    """
    settings: dict[str, Any] = {**asked, "prompt": shown["prompt"]}
    if shown.get("reference_images"):
        settings["reference_images"] = list(shown["reference_images"])
    for key, value in edit.items():
        if key not in SETTING_KEYS:
            continue
        if key not in asked and key != "prompt" and value == shown.get(key):
            continue
        settings[key] = value
    if settings.get("reference_images") is None:
        settings["reference_images"] = []
    return settings  # type: ignore[return-value]


def confirm(state: State, env: NodeEnv) -> Flow[Command[Any]]:
    """Ask for a yes; on a yes, reserve its credits (``budget``). LangGraph re-runs this on
    resume: the question has no side effect, and a reservation is idempotent per run id."""
    gen = generation(state)
    lang = lang_of(state)
    request: ImageRequest = gen["request"]  # type: ignore[typeddict-item,assignment]
    try:  # the spend guard: what is left today, and whether a plain yes is enough
        spend = yield from budget.check(env.store, env.context, budget.request_amounts(request))
    except budget.BudgetError as exc:
        return end(gen, exc)
    answer = interrupt(
        budget.annotate(approval_request(lang, request, gen.get("approval_note")), lang, spend),
        response_schema=APPROVAL_RESPONSE_SCHEMA,
    )
    special = budget.decision_of(answer)  # "override" / "approve_unpriced"
    decision = Decision("approve") if special else read_decision(answer)
    if decision.type == "approve":
        # The ledger's folder, absolute from now on: a resume elsewhere finds it (issue 13).
        root = yield Blocking(ledger_root, (gen.get("ledger_root"), env.artifacts_root))
        record, why = yield from budget.approve(
            env.store, spend, special or budget.APPROVE, gen["run_id"], lang,
            Ledger(env.store, root))
        if record is None:  # not approvable as answered, or the budget went meanwhile
            return step(gen, "confirm", approval_note=why)
        # No reference images: straight to the paid call, one graph step (and checkpoint) less.
        goto = "upload_refs" if request.get("reference_images") else "submit"
        return step(gen, goto, approval_note=None, phase="approved", ledger_root=root,
                    budget=record)
    if decision.type == "unclear":
        said = _shorten(decision.said)
        return step(gen, "confirm",
                    approval_note=text(lang, "confirm_unclear", answer=said) if said else None)
    if decision.type == "malformed":
        return step(gen, "confirm",
                    approval_note=text(lang, "confirm_malformed", reason=decision.reason))
    if decision.type == "edit":
        settings = edited_settings(gen.get("asked") or {}, request, decision.args)
        try:
            edited = yield from resolve(env, settings)
        except CreatokError as exc:
            reason = describe_invalid(lang, error_record(exc))
            return step(gen, "confirm", approval_note=text(lang, "edit_invalid", reason=reason))
        settings.pop("prompt", None)
        return step(gen, "confirm", asked=settings, request=edited, approval_note=None)
    message = decision.message
    return end(gen, "cancelled", {"kind": "cancelled", "message": message} if message else None)
