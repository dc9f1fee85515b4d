"""The submission ledger: why a paid request is never sent twice.

Before the paid POST we record an *intent* (run id, a hash of the approved
parameters, an idempotency key that is also sent as ``Idempotency-Key``); the
moment CreatOK answers we record its task id. Both records go to the graph's
store (SQLite locally, the server's store when served) and to the run's
artifacts folder, so they survive the process. A re-executed ``submit`` reads
the ledger first: a task id is reused, and an intent without one is an
unknown outcome that only a person may resolve.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from langgraph.store.base import BaseStore

from ._flow import Blocking, Dual, Flow
from .artifacts import atomic_write_json, read_json, run_dir

NAMESPACE = ("creatok_graph", "submissions")
LEDGER_FILE = "submission.json"

PENDING = "pending"
"""Intent recorded, no answer yet: if found later, the outcome is unknown."""
SUBMITTED = "submitted"
REFUSED = "refused"
"""CreatOK refused the request: nothing was charged, a new attempt is safe."""


def params_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
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

    @classmethod
    def new_intent(cls, run_id: str, body: dict[str, Any]) -> LedgerEntry:
        return cls(
            run_id=run_id,
            params_hash=params_hash(body),
            idempotency_key=str(uuid.uuid4()),
            created_at=time.time(),
        )

    def submitted(self, task_id: str) -> LedgerEntry:
        return replace(self, state=SUBMITTED, task_id=task_id, answered_at=time.time())

    def refused(self) -> LedgerEntry:
        return replace(self, state=REFUSED, answered_at=time.time())

    def retried(self) -> LedgerEntry:
        """A person chose to send again: same idempotency key, fresh intent."""
        return replace(self, state=PENDING, created_at=time.time())


def _file(root: str, run_id: str) -> Path:
    return run_dir(root, run_id) / LEDGER_FILE


def _write_file(root: str, entry: LedgerEntry) -> None:
    atomic_write_json(_file(root, entry.run_id), asdict(entry))


def _read_file(root: str, run_id: str) -> dict[str, Any] | None:
    data = read_json(_file(root, run_id))
    return data if isinstance(data, dict) else None


def _entry(value: Any) -> LedgerEntry | None:
    if not isinstance(value, dict):
        return None
    try:
        return LedgerEntry(**{k: value[k] for k in LedgerEntry.__dataclass_fields__ if k in value})
    except TypeError:
        return None


_RANK = {PENDING: 0, REFUSED: 1, SUBMITTED: 2}


class Ledger:
    """Reads and writes entries in the store (when there is one) and on disk."""

    def __init__(self, store: BaseStore | None, artifacts_root: str) -> None:
        self.store = store
        self.root = artifacts_root

    def get(self, run_id: str) -> Flow[LedgerEntry | None]:
        found: list[LedgerEntry] = []
        if self.store is not None:
            item = yield Dual(self.store.get, self.store.aget, (NAMESPACE, run_id))
            if item is not None and (e := _entry(item.value)):
                found.append(e)
        on_disk = _entry((yield Blocking(_read_file, (self.root, run_id))))
        if on_disk:
            found.append(on_disk)
        if not found:
            return None
        # The most advanced record wins: a task id anywhere means "already submitted".
        return max(found, key=lambda e: (_RANK.get(e.state, 0), e.answered_at or 0.0))

    def put(self, entry: LedgerEntry) -> Flow[None]:
        if self.store is not None:
            yield Dual(self.store.put, self.store.aput, (NAMESPACE, entry.run_id, asdict(entry)))
        yield Blocking(_write_file, (self.root, entry))
