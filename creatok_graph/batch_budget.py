"""The spend guard (``budget.py``) for a batch: one verdict for all, one reservation per item.

The batch's amounts are judged together (``budget.assess`` over the list: the total against
the per-run cap and what is left today, and which items fit in order); the approval says
so, and a plain yes approves only when the whole batch fits. Once approved, each item
holds its own reservation under its ledger key (``<run_id>-<index>``), so ``submit``'s
hold and commit and the reconciliation after a crash work per item exactly as for one
request.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import replace
from typing import Any

from . import budget
from ._flow import Flow, Gather
from .ledger import Ledger, open_ledger
from .node_env import NodeEnv

logger = logging.getLogger(__name__)

RESERVE_AT_ONCE = 32
"""Items of a batch writing their reservations at the same time when nothing limits them."""


def check(env: NodeEnv, amounts: list[float | None]) -> Flow[budget.Assessment]:
    """The batch judged against the limits (read only; ``BudgetError`` without a store)."""
    verdict: budget.Assessment = yield from budget.check(env.store, env.context, amounts)
    return verdict


def annotate(value: dict[str, Any], lang: str, verdict: budget.Assessment) -> dict[str, Any]:
    """The limits, what is left and which items fit, in the batch's description."""
    lines, question = budget.approval_lines(lang, verdict)
    value["budget"] = verdict.to_dict()
    if lines or question:
        head, _, last = value["description"].rpartition("\n")
        value["description"] = "\n".join([head, *lines, question or last])
    if verdict.needs is not None:
        value["review_configs"][0]["allowed_decisions"] = [*verdict.allowed, "edit", "reject"]
    return value


def special_decision(answer: Any) -> tuple[Any, str | None]:
    """``override`` / ``approve_unpriced`` (for all, or in some decisions) read as approvals,
    and which one was given."""
    special = budget.decision_of(answer)
    if special and not isinstance(answer, (dict, list)):
        return "yes", special
    decisions = answer.get("decisions") if isinstance(answer, dict) else answer
    if isinstance(decisions, list):
        kinds = [budget.decision_of(d) for d in decisions]
        special = next((k for k in kinds if k), None)
        if special:
            decisions = [{"type": "approve"} if k else d for d, k in zip(decisions, kinds,
                                                                          strict=True)]
            return {"decisions": decisions}, special
    return answer, None


def reserve(env: NodeEnv, verdict: budget.Assessment, special: str | None,
            items: list[tuple[str, float | None]], lang: str,
            ledger_root: str) -> Flow[tuple[list[dict[str, Any] | None] | None, str | None]]:
    """Approve the approved items: ``verdict`` judged them together; each then reserves its
    own amount under its key. (records, None), or (None, why) to ask again (nothing held)."""
    decision = special or budget.APPROVE
    if not verdict.approves(decision) and not (special and verdict.needs is None):
        from .messages import text

        return None, text(lang, "budget_not_approved")
    ledger = Ledger(env.store, ledger_root)
    approvals = [functools.partial(
        budget.approve, env.store, replace(verdict, amounts=(amount,), total=float(amount or 0.0),
                                           unpriced=int(amount is None), fits=(True,)),
        decision, key, lang, ledger) for key, amount in items]
    answers: list[tuple[dict[str, Any] | None, str | None]] = []
    if verdict.limits.daily_credits is None or decision == budget.OVERRIDE:
        # Only counted, nothing shared to fit under: the items cannot crowd each other out,
        # so they reserve side by side (one after the other, 200 took 0.24 s before the
        # first item could start).
        answers = yield Gather(tuple(approvals), RESERVE_AT_ONCE)
    else:
        for approve in approvals:
            answers.append((yield from approve()))
            if answers[-1][0] is None:
                break
    records = [record for record, _ in answers]
    why = next((why for record, why in answers if record is None), None)
    if len(records) < len(items) or why is not None:
        # The budget went meanwhile: give back what this batch took.
        for (taken, _), held in zip(items, records, strict=False):
            if held is not None and env.store is not None:
                yield from budget.SpendBook(env.store, str(held["scope"])).release(
                    taken, str(held["day"]))
        return None, why
    return records, None


def settle(env: NodeEnv, record: dict[str, Any] | None, key: str,
           recorded_root: str | None, *, stopped: bool,
           task_id: str | None = None) -> Flow[None]:
    """An item ended: its reservation follows its ledger entry (never fails the item).
    ``task_id``: the item's (``SpendBook.settle``)."""
    if not record:
        return
    try:
        ledger = None if task_id else (
            yield from open_ledger(env.store, recorded_root, env.artifacts_root))
        yield from budget.settle(env.store, record, key, ledger, stopped=stopped,
                                 task_id=task_id)
    except Exception:
        logger.warning("spend guard: could not settle the reservation of %s", key,
                       exc_info=True)
