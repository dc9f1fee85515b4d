"""The spend guard's pure parts: limits, verdicts (single and batch), scope, decisions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from creatok_graph import budget as B
from creatok_graph.context import ClientContext, CreatokContext

DAY10 = B.BudgetLimits(daily_credits=10)


def test_a_request_that_fits_needs_a_plain_yes() -> None:
    verdict = B.assess(DAY10, [3], left_today=4)
    assert verdict.verdict == B.FITS and verdict.needs is None
    assert verdict.allowed == (B.APPROVE,) and verdict.approves("approve")


def test_above_what_is_left_today_is_not_a_normal_yes() -> None:
    verdict = B.assess(DAY10, [5], left_today=4)
    assert verdict.verdict == B.OVER_DAY
    assert not verdict.approves("approve")
    assert verdict.allowed == ()  # overrides not allowed by the operator: edit down or no
    allowing = B.assess(B.BudgetLimits(daily_credits=10, allow_override=True), [5], 4)
    assert allowing.allowed == (B.OVERRIDE,) and not allowing.approves("approve")


def test_the_per_run_maximum_applies_without_a_daily_budget() -> None:
    limits = B.BudgetLimits(max_credits_per_run=2)
    assert B.assess(limits, [2], None).verdict == B.FITS
    over = B.assess(limits, [3], None)
    assert over.verdict == B.OVER_RUN and over.left_today is None and over.allowed == ()


def test_an_unpriced_model_needs_its_own_explicit_decision() -> None:
    verdict = B.assess(DAY10, [None], left_today=10)
    assert verdict.verdict == B.UNPRICED and verdict.needs == B.APPROVE_UNPRICED
    assert not verdict.approves("approve") and not verdict.approves(B.OVERRIDE)
    assert verdict.approves(B.APPROVE_UNPRICED)
    # Without any limit there is nothing to count it against.
    assert B.assess(B.BudgetLimits(), [None], None).verdict == B.FITS


def test_a_batch_counts_its_total_and_says_which_items_fit() -> None:
    verdict = B.assess(DAY10, [2, 3, 1, None, 2], left_today=5)
    assert verdict.total == 8 and verdict.unpriced == 1
    assert verdict.verdict == B.OVER_DAY
    # 2 + 3 fill the 5 left; 1 and 2 no longer fit; the unpriced one never does.
    assert verdict.fits == (True, True, False, False, False)
    smaller = B.assess(DAY10, [4, 3, 1], left_today=5)
    assert smaller.fits == (True, False, True)  # items are skipped, not the rest of the batch
    capped = B.assess(B.BudgetLimits(daily_credits=100, max_credits_per_run=3), [2, 2], 100)
    assert capped.verdict == B.OVER_RUN and capped.fits == (True, False)


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {B.ENV_DAILY: "50", B.ENV_PER_RUN: "4.5", B.ENV_OVERRIDE: "1"}
    assert B.BudgetLimits.from_env(env) == B.BudgetLimits(50, 4.5, True)
    assert not B.BudgetLimits.from_env({}).active


@pytest.mark.parametrize("raw", ["lots", "-1", "inf", "nan"])
def test_a_bad_limit_is_a_clear_error_not_no_limit(raw: str) -> None:
    with pytest.raises(B.BudgetError, match=B.ENV_DAILY) as err:
        B.BudgetLimits.from_env({B.ENV_DAILY: raw})
    assert "number" in str(err.value)


def test_a_served_clients_dict_context_never_sets_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(B.ENV_DAILY, "5")
    from_client = CreatokContext.coerce({"budget": {"daily_credits": 1e9,
                                                    "allow_override": True}})
    assert B.BudgetLimits.for_context(from_client) == B.BudgetLimits(daily_credits=5)
    # The served schema (ClientContext) has no budget field, even given a limits object.
    typed = CreatokContext.coerce(ClientContext.model_validate(
        {"budget": B.BudgetLimits(daily_credits=1e9, allow_override=True)}))
    assert B.BudgetLimits.for_context(typed) == B.BudgetLimits(daily_credits=5)
    operator = CreatokContext(budget=B.BudgetLimits(daily_credits=7))
    assert B.BudgetLimits.for_context(operator).daily_credits == 7


def test_scope_is_the_authenticated_user_else_the_store() -> None:
    assert B.scope_of({}) == B.STORE_SCOPE
    assert B.scope_of({"configurable": {"langgraph_auth_user": None}}) == B.STORE_SCOPE
    user = SimpleNamespace(identity="ann.lee@example.com")
    scope = B.scope_of({"configurable": {"langgraph_auth_user": user}})
    assert scope.startswith("user:ann") and "." not in scope  # store labels forbid dots
    assert scope != B.scope_of({"configurable": {"langgraph_auth_user_id": "bob"}})


@pytest.mark.parametrize("answer,expected", [
    ({"decisions": [{"type": "override"}]}, B.OVERRIDE),
    ({"type": "approve_unpriced"}, B.APPROVE_UNPRICED),
    ("approve unpriced", B.APPROVE_UNPRICED),
    ("Override", B.OVERRIDE),
    ("yes", None),
    ({"decisions": [{"type": "approve"}]}, None),
])
def test_explicit_decisions_are_read_from_every_resume_form(answer: object,
                                                            expected: str | None) -> None:
    assert B.decision_of(answer) == expected


def test_the_approval_question_says_what_is_left_and_why_not(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    value = {"action_requests": [{"description": "Ready.\nShall I go ahead? (yes/no)"}],
             "review_configs": [{"allowed_decisions": ["approve", "edit", "reject"]}]}
    B.annotate(value, "en", B.assess(DAY10, [5], left_today=4))
    text = value["action_requests"][0]["description"]
    assert "Credits left today: 4 of 10." in text and "(credits: 5 estimated, 4 left)" in text
    assert "(yes/no)" not in text  # a plain yes does not approve this
    assert value["review_configs"][0]["allowed_decisions"] == ["edit", "reject"]
    assert value["budget"]["verdict"] == B.OVER_DAY


def test_a_batch_question_names_the_items_that_fit() -> None:
    lines, question = B.approval_lines("en", B.assess(DAY10, [2, 3, 1], left_today=4))
    assert "Items that fit: 1, 3." in lines
    assert question is not None and "fewer images" in question
    unpriced_lines, ask = B.approval_lines("es", B.assess(DAY10, [1, None], left_today=4))
    assert "Elementos que caben: 1." in unpriced_lines
    assert ask is not None and "“approve unpriced”" in ask
