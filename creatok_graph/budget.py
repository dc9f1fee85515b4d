"""The spend guard: operator-set credit limits, kept in the store, safe when runs race.

Two limits, both optional, set by the operator only: a daily budget (estimated credits
approved per UTC day, ``CREATOK_DAILY_CREDITS``) and a per-run maximum
(``CREATOK_MAX_CREDITS_PER_RUN``); ``CREATOK_BUDGET_OVERRIDE=1`` lets the person approve
above them on purpose. A Python caller may pass a :class:`BudgetLimits` object as
``CreatokContext(budget=...)``; a served client's context never sets limits (it becomes a
``ClientContext``, which has no budget field, and only a ``BudgetLimits`` object counts).

Each approved run holds one *reservation* in the store, keyed by its run id, under
``("creatok_graph", "budget", <scope>, <UTC day>)``; the scope is the authenticated
LangGraph user, else the whole store. Its life: reserved at the approval, committed
when CreatOK returns a task id, released when nothing was charged.

Why two runs cannot both take the last credits (``BaseStore`` has no compare-and-swap):
a reserver first *writes* its reservation as tentative, then *reads* all of the day's
reservations in one query, and keeps it only when everything it saw, its own included,
fits; otherwise it withdraws. Of any set of reservers that kept theirs, take the one
whose read came last: every other kept reservation was written before its owner's read,
so before that last read, and it was never withdrawn, so the last reader counted all of
them, and found they fit. This needs only that a finished ``put`` is seen by any
``search`` that starts after it (true of the in-memory, SQLite and PostgreSQL stores).
Racing reservers may all see each other and all withdraw: they back off at random and
try again, and stop at once when the firm reservations alone leave no room.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import quote

from langgraph.store.base import BaseStore

from ._flow import Dual, Flow, Sleep
from .errors import ConfigurationError
from .ledger import REFUSED, SUBMITTED, Ledger

ENV_DAILY = "CREATOK_DAILY_CREDITS"
ENV_PER_RUN = "CREATOK_MAX_CREDITS_PER_RUN"
ENV_OVERRIDE = "CREATOK_BUDGET_OVERRIDE"

NAMESPACE = ("creatok_graph", "budget")
STORE_SCOPE = "store"
"""The scope when the server has no authentication (or outside a server): the whole store."""

# -- reservation states ------------------------------------------------------------------
TENTATIVE = "tentative"
"""Written, not yet checked against the others (counted by everyone meanwhile)."""
RESERVED = "reserved"
COMMITTED = "committed"
"""CreatOK returned a task id: charged."""
RELEASED = "released"
"""Nothing was charged (refused, rejected, withdrawn, "stop"): counts for nothing."""
HOLDING = frozenset({TENTATIVE, RESERVED, COMMITTED})

# -- verdicts on a request, and the decisions that approve it ---------------------------
FITS = "fits"
OVER_RUN = "over_run_limit"
OVER_DAY = "over_daily_budget"
UNPRICED = "unpriced"
APPROVE = "approve"
OVERRIDE = "override"
APPROVE_UNPRICED = "approve_unpriced"
SPECIAL_DECISIONS = (OVERRIDE, APPROVE_UNPRICED)

SEARCH_LIMIT = 10_000
"""Reservations read in one query; a day with more fails closed rather than read in pages
(pages of a changing list are not one snapshot, and the proof above needs one)."""
RESERVE_ROUNDS = 16
BACKOFF = (0.005, 0.08)
"""Random pause (seconds, grows with the round) after a round lost to other reservers."""
STALE_AFTER = 15 * 60.0
"""A reservation still without a task id this long after it was made is reconciled from the
submission ledger (its run crashed between approval and submit); live runs take ms."""


class BudgetError(ConfigurationError):
    """The spend guard cannot work as configured (a bad limit, no store)."""


def _env_limit(name: str, environ: Mapping[str, str]) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (value >= 0) or value == float("inf"):
        raise BudgetError(f"{name}={raw!r} is not a number of credits: use a number >= 0, "
                          "e.g. 100, or leave it unset for no limit")
    return value


@dataclass(frozen=True)
class BudgetLimits:
    """What the operator allows. ``None``: no such limit."""

    daily_credits: float | None = None
    max_credits_per_run: float | None = None
    allow_override: bool = False

    @property
    def active(self) -> bool:
        return self.daily_credits is not None or self.max_credits_per_run is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BudgetLimits:
        env = os.environ if environ is None else environ
        return cls(
            daily_credits=_env_limit(ENV_DAILY, env),
            max_credits_per_run=_env_limit(ENV_PER_RUN, env),
            allow_override=env.get(ENV_OVERRIDE, "").strip().lower() in ("1", "true", "yes"),
        )

    @classmethod
    def for_context(cls, context: object) -> BudgetLimits:
        """A ``BudgetLimits`` object on the context wins; anything else (a served client's
        dict turned into a context) is ignored and the environment decides."""
        chosen = getattr(context, "budget", None)
        return chosen if isinstance(chosen, BudgetLimits) else cls.from_env()


# -- scope and day -----------------------------------------------------------------------


def scope_of(config: Mapping[str, Any] | None) -> str:
    """Per user when the LangGraph server authenticated one, else the whole store.

    The server sets ``langgraph_auth_user`` itself and refuses those keys from clients."""
    conf = (config or {}).get("configurable") or {}
    user = conf.get("langgraph_auth_user")
    identity = user.get("identity") if isinstance(user, Mapping) else getattr(
        user, "identity", None)
    identity = identity or conf.get("langgraph_auth_user_id")
    if not isinstance(identity, str) or not identity:
        return STORE_SCOPE
    # Store namespace labels may not contain dots.
    return "user:" + quote(identity, safe="@:+-_").replace(".", "%2E")


def current_scope() -> str:
    """The scope of the run being executed (``STORE_SCOPE`` outside a graph)."""
    from langgraph.config import get_config

    try:
        return scope_of(get_config())
    except RuntimeError:
        return STORE_SCOPE


def utc_day(now: float | None = None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))


def namespace(scope: str, day: str) -> tuple[str, ...]:
    return (*NAMESPACE, scope, day)


# -- the decision (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class Assessment:
    """What the approval may say about a request of one or more generations."""

    limits: BudgetLimits
    amounts: tuple[float | None, ...]
    left_today: float | None
    """Credits left today before this request; None without a daily budget."""
    verdict: str
    total: float
    """The priced part of the request."""
    unpriced: int
    """How many items have no price."""
    fits: tuple[bool, ...]
    """Per item, in order: does it fit what is left (today and for this run), counting the
    items before it that fit. A batch can approve just these."""

    @property
    def needs(self) -> str | None:
        """The explicit decision that approves this request; None: a plain yes does."""
        if self.verdict == FITS:
            return None
        return APPROVE_UNPRICED if self.verdict == UNPRICED else OVERRIDE

    @property
    def allowed(self) -> tuple[str, ...]:
        """Decisions that approve it (empty: it can only be edited down or rejected)."""
        if self.needs is None:
            return (APPROVE,)
        if self.needs == OVERRIDE and not self.limits.allow_override:
            return ()
        return (self.needs,)

    def approves(self, decision: str) -> bool:
        return decision in self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict, "needs": self.needs, "allowed": list(self.allowed),
            "total": self.total, "unpriced_items": self.unpriced, "fits": list(self.fits),
            "left_today": self.left_today, "daily_credits": self.limits.daily_credits,
            "max_credits_per_run": self.limits.max_credits_per_run,
            "override_allowed": self.limits.allow_override,
        }


def assess(limits: BudgetLimits, amounts: Sequence[float | None],
           left_today: float | None) -> Assessment:
    """Judge a request (one estimated amount per generation; None: no price)."""
    items = tuple(None if a is None else float(a) for a in amounts)
    total = sum(a for a in items if a is not None)
    unpriced = sum(1 for a in items if a is None)
    caps = [c for c in (limits.max_credits_per_run,
                        left_today if limits.daily_credits is not None else None)
            if c is not None]
    room = min(caps) if caps else float("inf")
    fits, used = [], 0.0
    for amount in items:
        ok = amount is not None and used + amount <= room
        used += amount if ok and amount is not None else 0.0
        fits.append(ok or (not limits.active))
    if not limits.active:
        verdict = FITS
    elif limits.max_credits_per_run is not None and total > limits.max_credits_per_run:
        verdict = OVER_RUN
    elif limits.daily_credits is not None and total > (left_today or 0.0):
        verdict = OVER_DAY
    elif unpriced:
        verdict = UNPRICED
    else:
        verdict = FITS
    return Assessment(limits, items, left_today, verdict, total, unpriced, tuple(fits))


def decision_of(answer: Any) -> str | None:
    """``override`` / ``approve_unpriced`` in any resume form, else None."""
    if isinstance(answer, list) and answer:
        return decision_of(answer[0])
    if isinstance(answer, dict):
        if "decisions" in answer:
            return decision_of(answer.get("decisions") or [])
        answer = answer.get("type") or answer.get("decision")
    said = str(answer or "").strip().lower().replace(" ", "_").replace("-", "_")
    return said if said in SPECIAL_DECISIONS else None


# -- reservations in the store ----------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    run_id: str
    credits: float
    state: str = TENTATIVE
    at: float = 0.0
    override: bool = False
    unpriced: bool = False
    task_id: str | None = None
    nonce: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_value(cls, value: Any) -> Reservation | None:
        if not isinstance(value, dict):
            return None
        try:
            found = cls(**{k: value[k] for k in cls.__dataclass_fields__ if k in value})
            return replace(found, credits=float(found.credits))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Spend:
    """One scope's day, as the store holds it."""

    scope: str
    day: str
    daily_credits: float | None
    approved: float
    """Reserved (not yet answered) plus committed."""
    committed: float
    unpriced_runs: int

    @property
    def left(self) -> float | None:
        if self.daily_credits is None:
            return None
        return max(0.0, self.daily_credits - self.approved)

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "day": self.day, "daily_credits": self.daily_credits,
                "approved": self.approved, "committed": self.committed, "left": self.left,
                "unpriced_runs": self.unpriced_runs}


def _holding(items: Sequence[Any]) -> list[Reservation]:
    found = [Reservation.from_value(getattr(item, "value", None)) for item in items]
    return [r for r in found if r is not None and r.state in HOLDING]


class SpendBook:
    """One scope's reservations in a store; every method is a flow (sync or async)."""

    def __init__(self, store: BaseStore, scope: str = STORE_SCOPE) -> None:
        self.store = store
        self.scope = scope

    def _put(self, day: str, res: Reservation) -> Flow[None]:
        yield Dual(self.store.put, self.store.aput, (namespace(self.scope, day), res.run_id,
                                                     res.to_dict()))

    def get(self, run_id: str, day: str) -> Flow[Reservation | None]:
        item = yield Dual(self.store.get, self.store.aget, (namespace(self.scope, day), run_id))
        return Reservation.from_value(item.value) if item is not None else None

    def holding(self, day: str) -> Flow[list[Reservation]]:
        """Every reservation that counts today, from one query (one snapshot)."""
        for attempt in range(3):
            try:
                items = yield Dual(self.store.search, self.store.asearch,
                                   (namespace(self.scope, day),), {"limit": SEARCH_LIMIT})
                break
            except RuntimeError:  # InMemoryStore iterated while another thread wrote
                if attempt == 2:
                    raise
        if len(items) >= SEARCH_LIMIT:
            raise BudgetError(f"more than {SEARCH_LIMIT} reservations on {day}: the budget "
                              "cannot be checked safely")
        return _holding(items)

    def spend(self, day: str, daily_credits: float | None) -> Flow[Spend]:
        held = yield from self.holding(day)
        return Spend(self.scope, day, daily_credits,
                     approved=sum(r.credits for r in held),
                     committed=sum(r.credits for r in held if r.state == COMMITTED),
                     unpriced_runs=sum(1 for r in held if r.unpriced))

    def reserve(self, run_id: str, credits: float, day: str, limit: float | None, *,
                override: bool = False, unpriced: bool = False,
                ledger: Ledger | None = None) -> Flow[Reservation | None]:
        """Hold ``credits`` for ``run_id`` if they fit under ``limit`` (None or ``override``:
        always). Idempotent per run id: a re-run approval finds its own reservation.
        None: they do not fit."""
        mine = yield from self.get(run_id, day)
        if mine is not None and mine.state in (RESERVED, COMMITTED):
            return mine
        if limit is None or override:  # nothing to check: just count it
            kept = Reservation(run_id, float(credits), RESERVED, time.time(), override, unpriced)
            yield from self._put(day, kept)
            return kept
        for round_ in range(RESERVE_ROUNDS):
            mine = Reservation(run_id, float(credits), TENTATIVE, time.time(), override, unpriced)
            yield from self._put(day, mine)
            others = [r for r in (yield from self.holding(day)) if r.run_id != run_id]
            if sum(r.credits for r in others) + mine.credits <= limit:
                break
            yield from self._put(day, replace(mine, state=RELEASED))  # withdraw
            firm = [r for r in others if r.state != TENTATIVE]
            if sum(r.credits for r in firm) + mine.credits > limit:
                # No room unless a crashed run's reservation can be given back.
                if ledger is None or not (yield from self.reconcile(day, ledger)):
                    return None
                continue
            yield Sleep(random.uniform(*BACKOFF) * (1 + round_ / 2))
        else:
            return None
        kept = replace(mine, state=RESERVED)
        yield from self._put(day, kept)
        return kept

    def _finish(self, run_id: str, day: str, state: str,
                task_id: str | None = None) -> Flow[Reservation | None]:
        res = yield from self.get(run_id, day)
        if res is None or res.state == state:
            return res
        if res.state == COMMITTED and state == RELEASED:
            return res  # charged is forever
        done = replace(res, state=state, task_id=task_id or res.task_id)
        yield from self._put(day, done)
        return done

    def commit(self, run_id: str, day: str, task_id: str | None) -> Flow[Reservation | None]:
        return (yield from self._finish(run_id, day, COMMITTED, task_id))

    def release(self, run_id: str, day: str) -> Flow[Reservation | None]:
        return (yield from self._finish(run_id, day, RELEASED))

    def settle(self, run_id: str, day: str, ledger: Ledger | None,
               *, stopped: bool = False, task_id: str | None = None) -> Flow[Reservation | None]:
        """Bring a reservation in line with the submission ledger: a task id commits, a
        refusal or no intent at all releases, an unanswered intent stays reserved (it may
        have been charged) unless the person chose to ``stop``. ``task_id``: the run's own,
        which the ledger recorded before the run saw it; then the ledger is not read."""
        if task_id:
            return (yield from self.commit(run_id, day, task_id))
        assert ledger is not None, "without a task id the ledger decides"
        entry = yield from ledger.get(run_id)
        if entry is not None and entry.state == SUBMITTED and entry.task_id:
            return (yield from self.commit(run_id, day, entry.task_id))
        if entry is None or entry.state == REFUSED or stopped:
            return (yield from self.release(run_id, day))
        return (yield from self.get(run_id, day))

    def reconcile(self, day: str, ledger: Ledger, *, now: float | None = None,
                  stale_after: float = STALE_AFTER) -> Flow[int]:
        """Settle reservations of runs that stopped between approval and answer (a crash):
        those older than ``stale_after`` without a task id. Returns how many changed."""
        cutoff = (time.time() if now is None else now) - stale_after
        changed = 0
        for res in (yield from self.holding(day)):
            if res.state == COMMITTED or res.at > cutoff:
                continue
            after = yield from self.settle(res.run_id, day, ledger)
            changed += after is not None and after.state != res.state
        return changed


# -- what the graph's nodes call ---------------------------------------------------------


def request_amounts(request: Mapping[str, Any]) -> list[float | None]:
    """The estimated amounts of a request: today one generation per run (a batch will
    pass one amount per item)."""
    credits = request.get("estimated_credits")
    return [None if credits is None else float(credits)]


def check(store: BaseStore | None, context: object, amounts: Sequence[float | None],
          scope: str | None = None) -> Flow[Assessment]:
    """Judge a request against the limits and what is left today (read, no side effect)."""
    limits = BudgetLimits.for_context(context)
    left: float | None = None
    if limits.daily_credits is not None:
        if store is None:
            raise BudgetError(f"{ENV_DAILY} needs a store to count today's spend: compile the "
                              "graph with a store (build_graph(checkpointer, store))")
        spend = yield from SpendBook(store, scope or current_scope()).spend(
            utc_day(), limits.daily_credits)
        left = spend.left
    return assess(limits, amounts, left)


def _fmt(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else
                                     f"{value:g}")


def approval_lines(lang: str, verdict: Assessment) -> tuple[list[str], str | None]:
    """Lines for the approval question, and the question that replaces "yes/no" when a
    plain yes does not approve this request."""
    from .messages import text

    limits, lines = verdict.limits, []
    if limits.daily_credits is not None:
        lines.append(text(lang, "budget_left_today", left=_fmt(verdict.left_today),
                          daily=_fmt(limits.daily_credits)))
    if limits.max_credits_per_run is not None:
        lines.append(text(lang, "budget_per_run", max=_fmt(limits.max_credits_per_run)))
    if verdict.verdict == FITS:
        return lines, None
    if verdict.verdict == OVER_RUN:
        lines.append(text(lang, "budget_over_run", total=_fmt(verdict.total),
                          max=_fmt(limits.max_credits_per_run)))
    elif verdict.verdict == OVER_DAY:
        lines.append(text(lang, "budget_over_day", total=_fmt(verdict.total),
                          left=_fmt(verdict.left_today)))
    else:
        lines.append(text(lang, "budget_unpriced"))
    if len(verdict.fits) > 1:
        which = ", ".join(str(i + 1) for i, ok in enumerate(verdict.fits) if ok) or "-"
        lines.append(text(lang, "budget_items_fit", items=which))
    if verdict.needs == APPROVE_UNPRICED:
        return lines, text(lang, "budget_ask_unpriced")
    if verdict.allowed:
        return lines, text(lang, "budget_ask_override")
    return lines, text(lang, "budget_ask_edit")


def annotate(value: dict[str, Any], lang: str, verdict: Assessment) -> dict[str, Any]:
    """Add the budget to an approval interrupt (LangChain's HITL request shape)."""
    lines, question = approval_lines(lang, verdict)
    value["budget"] = verdict.to_dict()
    action = value["action_requests"][0]
    head, _, last = action["description"].rpartition("\n")
    action["description"] = "\n".join([head, *lines, question or last] if head else
                                      [*lines, question or last])
    if verdict.needs is not None:
        value["review_configs"][0]["allowed_decisions"] = [
            *verdict.allowed, "edit", "reject"]
    return value


def approve(store: BaseStore | None, verdict: Assessment, decision: str, run_id: str,
            lang: str, ledger: Ledger | None = None,
            scope: str | None = None) -> Flow[tuple[dict[str, Any] | None, str | None]]:
    """After a person's approving answer: reserve, and return the run's budget record; or
    (None, why) when the answer does not approve this request (ask again)."""
    from .messages import text

    if decision in SPECIAL_DECISIONS and verdict.needs is None:
        decision = APPROVE
    if not verdict.approves(decision):
        return None, text(lang, "budget_not_approved")
    record = _compact({
        "scope": scope or current_scope(), "day": utc_day(), "credits": verdict.total,
        "override": decision == OVERRIDE, "unpriced": verdict.unpriced > 0,
        "daily_credits": verdict.limits.daily_credits,
        "max_credits_per_run": verdict.limits.max_credits_per_run,
    })
    if store is None:
        return record, None
    kept = yield from SpendBook(store, record["scope"]).reserve(
        run_id, verdict.total, record["day"], verdict.limits.daily_credits,
        override=decision == OVERRIDE, unpriced=verdict.unpriced > 0, ledger=ledger)
    if kept is None:
        spend = yield from SpendBook(store, record["scope"]).spend(
            record["day"], verdict.limits.daily_credits)
        return None, text(lang, "budget_taken", left=_fmt(spend.left))
    return {**record, "state": kept.state}, None


def _compact(record: Mapping[str, Any]) -> dict[str, Any]:
    """A run's budget record (``Generation.budget``) without its unset fields (None, False):
    it is stored with every step that changes it, so it stays small."""
    return {k: v for k, v in record.items() if v is not None and v is not False}


def hold_for_submit(store: BaseStore | None, record: Mapping[str, Any] | None, run_id: str,
                    ledger: Ledger, lang: str) -> Flow[str | None]:
    """Just before the paid call: is the run's reservation still held? A run resumed long
    after a crash may have had it given back by :meth:`SpendBook.reconcile`; then it is
    taken again. None: go on; else why not (ask the person again)."""
    from .messages import text

    if store is None or not record or record.get("state") is None:
        return None
    book = SpendBook(store, str(record["scope"]))
    day = str(record["day"])
    held = yield from book.get(run_id, day)
    if held is not None and held.state in HOLDING:
        return None
    entry = yield from ledger.get(run_id)
    if entry is not None and entry.state != REFUSED:
        return None  # no fresh send: the ledger reuses a task id or asks the person
    limit = record.get("daily_credits")
    again = yield from book.reserve(run_id, float(record["credits"]), day, limit,
                                    override=bool(record.get("override")),
                                    unpriced=bool(record.get("unpriced")), ledger=ledger)
    if again is not None:
        return None
    spend = yield from book.spend(day, limit)
    return text(lang, "budget_taken", left=_fmt(spend.left))


def commit(store: BaseStore | None, record: Mapping[str, Any] | None, run_id: str,
           task_id: str) -> Flow[None]:
    """CreatOK returned a task id: the reservation is spent."""
    if store is not None and record and record.get("state") is not None:
        yield from SpendBook(store, str(record["scope"])).commit(run_id, str(record["day"]),
                                                                 task_id)


def settle(store: BaseStore | None, record: Mapping[str, Any] | None, run_id: str,
           ledger: Ledger | None, *, stopped: bool,
           task_id: str | None = None) -> Flow[dict[str, Any] | None]:
    """At the end of a run: settle its reservation from the ledger. Returns the figures for
    the graph's output (``budget``) when a limit is set: this run's credits and state, and
    under a daily budget today's spend; None without limits (``--spend`` still counts the
    run). Every output key is checkpointed with the finished run, so it stays this small."""
    if not record:
        return None
    state = record.get("state")
    if store is not None and state is not None:
        res = yield from SpendBook(store, str(record["scope"])).settle(
            run_id, str(record["day"]), ledger, stopped=stopped, task_id=task_id)
        state = res.state if res is not None else None
    daily = record.get("daily_credits")
    if daily is None and record.get("max_credits_per_run") is None:
        return None
    out: dict[str, Any] = {"credits": _number(record["credits"]), "state": state}
    out.update((flag, True) for flag in ("override", "unpriced") if record.get(flag))
    if daily is not None and store is not None and state is not None:
        spend = yield from SpendBook(store, str(record["scope"])).spend(str(record["day"]), daily)
        out.update(approved_today=_number(spend.approved),
                   committed_today=_number(spend.committed), left_today=_number(spend.left))
    return out


def _number(value: float | None) -> float | int | None:
    """Whole credits as an int: 1 byte checkpointed instead of 9."""
    return int(value) if value is not None and float(value).is_integer() else value


def today(store: BaseStore, artifacts_root: str, limits: BudgetLimits,
          scope: str = STORE_SCOPE) -> Flow[Spend]:
    """Today's spend, after reconciling runs that crashed between approval and answer
    (what ``creatok-image --spend`` prints)."""
    book = SpendBook(store, scope)
    day = utc_day()
    yield from book.reconcile(day, Ledger(store, artifacts_root))
    return (yield from book.spend(day, limits.daily_credits))
