"""The submission ledger: why a paid request is never sent twice.

Before the paid POST we record an *intent*: the run id, a hash of the approved
parameters, the exact body and an idempotency key that is also sent as
``Idempotency-Key``. The moment CreatOK answers we record its task id. Both
records go to the graph's store (SQLite locally, the server's store when
served) and to the run's artifacts folder (``<run>/submission.json``), so they
survive the process. A re-executed ``submit`` asks :meth:`Ledger.begin` first:

========================  ==============================================================
what the ledger holds     what ``begin`` answers
========================  ==============================================================
nothing, or a refusal     ``SEND``: a fresh intent is on record, send it (once)
a task id                 ``REUSE``: never send again, continue with that task
an intent, no answer      ``UNKNOWN``: it may have been charged; only a person decides
an intent a person chose  ``RESEND``: send the *same* body under the *same* key, once
to send again
another request's entry   ``CONFLICT``: this run id is taken
========================  ==============================================================

A person's "send again" is itself written to the ledger (``resend_approved``)
and consumed, durably, just before the POST: if the process dies during that
POST too, the next pass asks again instead of sending a third time.

Where the file lives belongs to the thread, not to the working directory: the
artifacts folder is resolved to an absolute path when the person approves and
recorded in the request's ``Generation`` (:func:`ledger_root`), so a run resumed from
another directory finds the same ledger. When the ledger still has nothing but the
record remembers an unanswered request (:func:`intent_from_state`), ``begin`` asks
rather than send.
Another process's request in flight is waited for, not taken for a crash: decisions are
made under the run's sending lock, held until the answer is recorded.

Two sinks can disagree after a crash between their writes. Every transition
bumps ``seq``; the highest ``seq`` wins, except that a task id found anywhere
always wins ("already submitted" is the one fact we must never forget).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from langgraph.store.base import BaseStore

from ._flow import Blocking, Dual, Flow, Sleep
from .artifacts import atomic_write_json, json_text, read_json, root_path, run_dir, write_temp
from .runlock import try_lock

log = logging.getLogger(__name__)

NAMESPACE = ("creatok_graph", "submissions")
LEDGER_FILE = "submission.json"

# -- entry states ------------------------------------------------------------------------
PENDING = "pending"
"""Intent recorded, no answer yet: if found later, the outcome is unknown."""
SUBMITTED = "submitted"
"""CreatOK answered with a task id: that task is the request, forever."""
REFUSED = "refused"
"""CreatOK refused the request: nothing was charged, a new attempt is safe."""

# -- what ``Ledger.begin`` decides -------------------------------------------------------
SEND = "send"
REUSE = "reuse"
UNKNOWN = "unknown"
RESEND = "resend"
CONFLICT = "conflict"

_CLAIM_ROUNDS = 3

SENDING_LOCK = ".sending.lock"
"""Held by the process whose paid request is in flight, from the decision to the answer."""
SENDER_POLL = 0.2
SENDER_PATIENCE = 120.0
"""How long another invocation waits for that answer (the request's own timeout is 30 s)
before it treats the silence as an unknown outcome and asks."""


def ledger_root(recorded: str | None, artifacts_dir: str) -> str:
    """This thread's ledger folder, absolute.

    A relative ``artifacts_dir`` (the default) names another folder from another
    working directory, so the absolute path recorded in state when the person
    approved wins. Only a path that ends in that same relative folder is taken from
    state: state is not trusted to point the server at any other directory.
    """
    configured = Path(artifacts_dir).expanduser()
    if recorded and not configured.is_absolute():
        tail = Path(recorded).parts[-len(configured.parts):] if configured.parts else ()
        if Path(recorded).is_absolute() and tuple(tail) == configured.parts:
            return recorded
    return str(root_path(artifacts_dir))


def open_ledger(
    store: BaseStore | None, recorded_root: str | None, artifacts_dir: str
) -> Flow[Ledger]:
    """The ledger of a request whose folder was recorded (``Generation.ledger_root``), if it was."""
    root: str = yield Blocking(ledger_root, (recorded_root, artifacts_dir))
    return Ledger(store, root)


def approved_params(body: dict[str, Any], reference_images: list[str] | None) -> dict[str, Any]:
    """What the person approved: the body without upload keys, plus the reference paths.

    Object keys change whenever references are uploaded again (a resumed run may
    upload again); the request the person said yes to does not.
    """
    params = {k: v for k, v in body.items() if k != "imageObjectKeys"}
    params["reference_images"] = list(reference_images or [])
    return params


def params_hash(params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    run_id: str
    params_hash: str
    idempotency_key: str
    state: str = PENDING
    task_id: str | None = None
    created_at: float = 0.0
    answered_at: float | None = None
    body: dict[str, Any] | None = None
    """Exactly what was (or is about to be) sent; a resend repeats it under the same key."""
    attempts: int = 0
    """POSTs started under this key."""
    sent_at: float | None = None
    resend_approved: bool = False
    """A person chose "send again"; consumed (set back to False) by the next send."""
    note: str | None = None
    """What we know about the last attempt (why the outcome is unknown, why refused)."""
    seq: int = 0
    """Bumped by every transition; the highest wins when the store and the file disagree."""

    @classmethod
    def new_intent(
        cls,
        run_id: str,
        body: dict[str, Any],
        params_hash_: str | None = None,
        *,
        after: LedgerEntry | None = None,
    ) -> LedgerEntry:
        return cls(
            run_id=run_id,
            params_hash=params_hash_ or params_hash(body),
            idempotency_key=str(uuid.uuid4()),
            created_at=time.time(),
            body=dict(body),
            seq=(after.seq if after else 0) + 1,
        )

    def _next(self, **changes: Any) -> LedgerEntry:
        return replace(self, seq=self.seq + 1, **changes)

    def sending(self) -> LedgerEntry:
        """About to POST (again): one more attempt, any "send again" consumed."""
        return self._next(state=PENDING, attempts=self.attempts + 1, sent_at=time.time(),
                          resend_approved=False)

    def submitted(self, task_id: str) -> LedgerEntry:
        return self._next(state=SUBMITTED, task_id=task_id, answered_at=time.time(), note=None)

    def refused(self, note: str | None = None) -> LedgerEntry:
        return self._next(state=REFUSED, answered_at=time.time(), note=note)

    def unanswered(self, note: str | None) -> LedgerEntry:
        """The POST may have been taken (and charged), but we have no task id."""
        return self._next(state=PENDING, note=note)

    def approve_resend(self) -> LedgerEntry:
        """A person chose to send again: same key, same body, one more POST."""
        return self._next(state=PENDING, resend_approved=True)

    def to_dict(self) -> dict[str, Any]:
        # Shallow: ``dataclasses.asdict`` deep-copies the body: 20x the cost, 800 times a batch.
        data = {name: getattr(self, name) for name in _FIELDS}
        data["body"] = dict(self.body) if self.body is not None else None
        return data


_FIELDS = tuple(LedgerEntry.__dataclass_fields__)


def _entry(value: Any) -> LedgerEntry | None:
    if not isinstance(value, dict):
        return None
    known = LedgerEntry.__dataclass_fields__
    try:
        entry = LedgerEntry(**{k: value[k] for k in known if k in value})
    except TypeError:
        return None
    if not isinstance(entry.run_id, str) or not isinstance(entry.idempotency_key, str):
        return None
    return entry


def intent_from_state(value: Any) -> LedgerEntry | None:
    """The unanswered request a submit pass left in state (``submit_intent``), if any."""
    entry = _entry(value)
    return entry if entry is not None and entry.state == PENDING else None


def newest(*entries: LedgerEntry | None) -> LedgerEntry | None:
    """Merge the store's and the file's view: a task id wins, then the highest ``seq``."""
    found = [e for e in entries if e is not None]
    if not found:
        return None
    with_task = [e for e in found if e.state == SUBMITTED and e.task_id]
    pool = with_task or found
    return max(pool, key=lambda e: e.seq)


# -- the file ----------------------------------------------------------------------------


def _file(root: str, run_id: str) -> Path:
    return run_dir(root, run_id) / LEDGER_FILE


def _write_file(root: str, entry: LedgerEntry) -> None:
    atomic_write_json(_file(root, entry.run_id), entry.to_dict())


def _read_file(root: str, run_id: str) -> dict[str, Any] | None:
    data = read_json(_file(root, run_id))
    return data if isinstance(data, dict) else None


def _claim_file(root: str, entry: LedgerEntry, exclusive: bool) -> bool:
    """Write the intent; with ``exclusive``, only if no other writer got there first.

    The exclusive write is a hard link of a complete temp file: atomic, and it
    fails when the name exists, so two processes starting the same run id at
    the same instant cannot both claim it. False means "someone else did".
    """
    path = _file(root, entry.run_id)
    if not exclusive:
        atomic_write_json(path, entry.to_dict())
        return True
    tmp = write_temp(path, json_text(entry.to_dict()))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # no hard links here (some network/FUSE file systems)
        if path.exists():
            return False
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return True


def _unclaim_file(root: str, intent: LedgerEntry, previous: LedgerEntry | None) -> None:
    """Undo :func:`_claim_file` when the intent could not reach the store (never sent)."""
    with contextlib.suppress(OSError):
        current = _entry(_read_file(root, intent.run_id))
        if current is None or current.idempotency_key != intent.idempotency_key:
            return  # not ours (any more)
        if previous is None:
            _file(root, intent.run_id).unlink()
        else:
            _write_file(root, previous)


def _try_sending_lock(root: str, run_id: str) -> IO[str] | None:
    return try_lock(run_dir(root, run_id) / SENDING_LOCK)


class Ledger:
    """Reads and writes entries in the store (when there is one) and on disk."""

    def __init__(self, store: BaseStore | None, artifacts_root: str) -> None:
        self.store = store
        self.root = artifacts_root
        self._sending: IO[str] | None = None
        """The sending lock, held from a SEND/RESEND decision until the answer is recorded."""

    def _lock(self, run_id: str) -> Flow[IO[str] | None]:
        """Take the run's sending lock, waiting while another process has a request in
        flight (None: no lock to be had, e.g. an unwritable folder with a store)."""
        waited = 0.0
        while True:
            try:
                lock: IO[str] | None = yield Blocking(_try_sending_lock, (self.root, run_id))
            except OSError:
                if self.store is None:
                    raise
                return None
            if lock is not None or waited >= SENDER_PATIENCE:
                return lock
            yield Sleep(SENDER_POLL)
            waited += SENDER_POLL

    def release(self) -> None:
        """Let other invocations of this run id decide (their paid call waits on ours)."""
        if self._sending is not None:
            self._sending.close()
            self._sending = None

    # -- reading ------------------------------------------------------------------------
    def get(self, run_id: str) -> Flow[LedgerEntry | None]:
        from_store: LedgerEntry | None = None
        if self.store is not None:
            item = yield Dual(self.store.get, self.store.aget, (NAMESPACE, run_id))
            if item is not None:
                from_store = _entry(item.value)
        on_disk = _entry((yield Blocking(_read_file, (self.root, run_id))))
        return newest(from_store, on_disk)

    # -- writing ------------------------------------------------------------------------
    def put(self, entry: LedgerEntry) -> Flow[None]:
        """A write that must be durable before we go on (an intent, a "send again").

        The store must take it when there is one; the file must take it when the
        store is all we have not. Anything else raises, and nothing is sent.
        """
        if self.store is not None:
            yield Dual(self.store.put, self.store.aput, (NAMESPACE, entry.run_id, entry.to_dict()))
        try:
            yield Blocking(_write_file, (self.root, entry))
        except OSError:
            if self.store is None:
                raise
            log.warning("submission ledger: could not write %s; the store has it", LEDGER_FILE,
                        exc_info=True)

    def record(self, entry: LedgerEntry) -> Flow[bool]:
        """Best effort after CreatOK answered: never raises; True when a sink took it.

        Losing the answer because one disk hiccuped would be worse than a
        partial record: the task id also goes to state and result.json.
        """
        ok = False
        if self.store is not None:
            try:
                yield Dual(self.store.put, self.store.aput,
                           (NAMESPACE, entry.run_id, entry.to_dict()))
                ok = True
            except Exception:
                log.warning("submission ledger: store write failed", exc_info=True)
        try:
            yield Blocking(_write_file, (self.root, entry))
            ok = True
        except Exception:
            log.warning("submission ledger: file write failed", exc_info=True)
        self.release()
        return ok

    # -- the decision before a paid call -----------------------------------------------
    def begin(
        self,
        run_id: str,
        approved_hash: str,
        body: dict[str, Any],
        remembered: LedgerEntry | None = None,
    ) -> Flow[tuple[str, LedgerEntry]]:
        """What ``submit`` may do; for ``SEND`` and ``RESEND`` the intent is already recorded.

        ``remembered``: an unanswered request that state recorded (see
        :func:`intent_from_state`); if the ledger lost it, the outcome is unknown.

        Decisions are taken under the run's sending lock, and a ``SEND``/``RESEND`` keeps
        it until :meth:`record` writes the answer: an invocation that finds a request in
        flight in another process waits for its answer (and then follows its task)
        instead of asking about a crash that did not happen.
        """
        lock, self._sending = self._sending, None  # this pass may hold it already
        if lock is None:
            lock = yield from self._lock(run_id)
        try:
            decision, entry = yield from self._decide(run_id, approved_hash, body, remembered)
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        if decision in (SEND, RESEND):
            self._sending = lock
        elif lock is not None:
            lock.close()
        return decision, entry

    def _decide(
        self,
        run_id: str,
        approved_hash: str,
        body: dict[str, Any],
        remembered: LedgerEntry | None,
    ) -> Flow[tuple[str, LedgerEntry]]:
        for _ in range(_CLAIM_ROUNDS):
            entry = yield from self.get(run_id)
            if (entry is None and remembered is not None and remembered.run_id == run_id
                    and remembered.params_hash == approved_hash):
                return UNKNOWN, remembered
            if entry is not None and entry.state != REFUSED:
                if entry.params_hash != approved_hash:
                    return CONFLICT, entry
                if entry.state == SUBMITTED and entry.task_id:
                    return REUSE, entry
                if entry.resend_approved:
                    armed = entry.sending()
                    yield from self.put(armed)
                    return RESEND, armed
                return UNKNOWN, entry
            intent = LedgerEntry.new_intent(run_id, body, approved_hash, after=entry).sending()
            try:
                claimed = yield Blocking(_claim_file, (self.root, intent, entry is None))
            except OSError:
                if self.store is None:
                    raise
                log.warning("submission ledger: could not write %s; the store has it",
                            LEDGER_FILE, exc_info=True)
                claimed = True
            if not claimed:
                continue  # another invocation of this run id wrote first: look again
            if self.store is not None:
                try:
                    yield Dual(self.store.put, self.store.aput,
                               (NAMESPACE, run_id, intent.to_dict()))
                except Exception:
                    # Nothing was sent: take the claim back, or the next pass would ask
                    # the person about a request that never left.
                    yield Blocking(_unclaim_file, (self.root, intent, entry))
                    raise
            return SEND, intent
        raise RuntimeError(f"the submission ledger of run {run_id} keeps changing under us")
