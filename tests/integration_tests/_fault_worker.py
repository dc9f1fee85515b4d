"""A ``creatok-image`` process with a widened fault window, for the fault-injection tests.

    python _fault_worker.py WINDOW HOLD_SECONDS -- <creatok-image arguments>

It runs the real CLI (``creatok_graph.cli.main``) in this process after wrapping
*one* internal call so that the process lingers inside a narrow window: it prints
``FAULT-WINDOW <name>`` on stderr when it enters it, then sleeps ``HOLD_SECONDS``
before doing the real work, so the test can SIGKILL it right there. Production
code has no test hooks; everything here is monkeypatching from the outside.

Windows:

``approval``   the approval question is on screen; the CLI waits on stdin
``upload``     a reference image is about to be PUT to object storage
``submit``     the paid POST is being sent (use the emulator's slow-submit scenario
               to keep it in flight: the server takes and charges it anyway)
``recorded``   CreatOK answered and the ledger holds the task id; result.json with
               ``status: submitted`` is about to be renamed into place
``unrecorded`` CreatOK answered but the ledger has not been written yet: the one
               window whose outcome is unknown after a crash
``poll``       the task is being polled (marker at the first status check)
``persist``    the final result.json / result.md is about to be renamed into place
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx

from creatok_graph import artifacts, cli, ledger
from creatok_graph.client import SUBMIT_PATH, CreatokAPI

_entered: set[str] = set()


def enter(name: str, hold: float) -> None:
    """Announce the window (once per process) and linger in it."""
    if name not in _entered:
        _entered.add(name)
        sys.stderr.write(f"FAULT-WINDOW {name} pid={os.getpid()}\n")
        sys.stderr.flush()
    if hold > 0:
        time.sleep(hold)


def install(window: str, hold: float) -> None:
    if window == "approval":
        real_ask = cli.Session.ask

        def ask(self: cli.Session, question: str) -> str | None:
            enter("approval", 0)
            return real_ask(self, question)

        cli.Session.ask = ask  # type: ignore[method-assign]

    elif window == "upload":
        real_put = CreatokAPI.put_object

        def put_object(self: CreatokAPI, *args: Any, **kwargs: Any) -> Generator[Any, Any, None]:
            enter("upload", hold)
            yield from real_put(self, *args, **kwargs)

        CreatokAPI.put_object = put_object  # type: ignore[method-assign]

    elif window == "submit":
        real_send = httpx.Client.send

        def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
            if request.method == "POST" and request.url.path == SUBMIT_PATH:
                enter("submit", 0)  # the slow-submit scenario keeps it in flight
            return real_send(self, request, **kwargs)

        httpx.Client.send = send  # type: ignore[method-assign]

    elif window in ("recorded", "persist"):
        real_write = artifacts.atomic_write

        def atomic_write(path: Path, content: str) -> None:
            if path.name in ("result.json", "result.md"):
                provisional = '"status": "submitted"' in content
                if window == "recorded" and provisional:
                    enter("recorded", hold)
                elif window == "persist" and not provisional:
                    enter("persist", hold)
            real_write(path, content)

        # write_result and atomic_write_json look the name up in the module at call time.
        artifacts.atomic_write = atomic_write  # type: ignore[assignment]

    elif window == "unrecorded":
        real_record = ledger.Ledger.record

        def record(self: ledger.Ledger, entry: ledger.LedgerEntry) -> Generator[Any, Any, bool]:
            if entry.state == ledger.SUBMITTED:
                enter("unrecorded", hold)
            return (yield from real_record(self, entry))

        ledger.Ledger.record = record  # type: ignore[method-assign]

    elif window == "poll":
        real_status = CreatokAPI.get_status

        def get_status(self: CreatokAPI, task_id: str) -> Generator[Any, Any, Any]:
            enter("poll", 0)
            return (yield from real_status(self, task_id))

        CreatokAPI.get_status = get_status  # type: ignore[method-assign]

    else:
        raise SystemExit(f"unknown window {window!r}")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or "--" not in argv:
        sys.stderr.write(__doc__ or "")
        return 2
    split = argv.index("--")
    window, hold = argv[0], float(argv[1])
    install(window, hold)
    return cli.main(argv[split + 1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
