"""``creatok-image``: the terminal front end, a thin layer over the compiled graph.

Everything it does goes through the graph with a SQLite checkpointer in the
artifacts dir (the run id is the thread), so a run can be continued after a
crash or Ctrl-C, and the same interrupts a LangGraph UI would show are asked
here on stdin.

Exit codes: 0 succeeded; 1 failed or an error (including a paid request whose outcome
is unknown and was not sent again); 2 usage error or declined; 3 still queued/running
(the wait for an accepted task ended: timeout, or status checks failing; a recovery check
without --wait; or another process is handling the run id); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import itertools
import json
import os
import re
import secrets
import signal
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn

from .answer_words import is_retry, is_yes
from .artifacts import check_run_id, resolve_artifacts_dir, run_dir
from .errors import API_KEYS_URL, CreatokError, InvalidRequestError
from .inputs import check_prompt_length
from .language import detect_language
from .messages import DEFAULT_LANGUAGE, text
from .outcome import Outcome, maybe_charged
from .replies import describe_invalid, error_record
from .status import (
    DECLINED_OR_INVALID,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_USAGE,
    FINISHED,
    exit_code,
)
from .terminal import escape

if TYPE_CHECKING:
    from .context import CreatokContext

# LangGraph and the graph are imported only once the arguments are known to be usable:
# --help, usage errors and a missing key answer at once instead of after ~1.5 s of imports.

PROG = "creatok-image"
SANDBOX_TASK_SECONDS = 2.0

def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):  # closed or detached
        return False


def _raw_write(stream: IO[str], message: str) -> None:
    """Write from a signal handler: the stream's own buffer may be mid-write."""
    with suppress(Exception):
        stream.flush()
    try:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        os.write(stream.fileno(), message.encode(encoding, errors="replace"))
    except Exception:
        try:
            stream.write(message)
            stream.flush()
        except Exception:
            pass


# -- arguments -------------------------------------------------------------------------------


def _argv_language(argv: list[str]) -> str:
    """The language of ``--prompt`` in ``argv``, for what is said before argparse is done."""
    for i, arg in enumerate(argv):
        if arg == "--prompt" and i + 1 < len(argv):
            return detect_language(argv[i + 1])
        if arg.startswith("--prompt="):
            return detect_language(arg.partition("=")[2])
    return DEFAULT_LANGUAGE


def _positive_seconds(lang: str) -> Callable[[str], float]:
    """An argparse ``type`` for a duration, complaining in ``lang``."""

    def seconds(value: str) -> float:
        try:
            parsed = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(text(lang, "cli_positive_seconds")) from None
        if not (parsed > 0) or parsed == float("inf"):
            raise argparse.ArgumentTypeError(text(lang, "cli_positive_seconds"))
        return parsed

    return seconds


class _Parser(argparse.ArgumentParser):
    """argparse, plus the JSON line on usage errors when --json was asked for."""

    json_requested = False

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        if self.json_requested:
            record: dict[str, Any] = {
                "ok": False, "run_id": None, "task_id": None, "status": "usage_error",
                "images": [], "error": {"kind": "usage_error", "message": message},
            }
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        sys.exit(EXIT_USAGE)


def build_parser(lang: str = DEFAULT_LANGUAGE) -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Generate images with CreatOK, after you approve the cost.",
        epilog=f"Set CREATOK_API_KEY (create a key at {API_KEYS_URL}) or try --sandbox. "
        "CREATOK_BASE_URL and CREATOK_ARTIFACTS_DIR are read too. "
        "Exit codes: 0 done, 1 failed/error, 2 usage or declined, 3 still running, "
        "130 interrupted.",
    )
    p.add_argument("--prompt", help="what the image should show (asked for when missing)")
    p.add_argument("--model", help="model id (default: CreatOK's default model)")
    p.add_argument("--resolution", help="e.g. 1K, 2K, 4K (default: the model's)")
    p.add_argument("--n", help="how many images (default: the model's)")
    p.add_argument("--aspect-ratio", metavar="W:H", help="e.g. 16:9")
    p.add_argument("--reference-image", metavar="PATH", action="append", default=[],
                   help="a local reference image: PNG, JPEG, WebP or GIF (judged by its "
                   "content), at most 20 MiB (repeatable)")
    p.add_argument("--run-id", metavar="ID",
                   help="name this run; the same id later continues or reprints it "
                   "(default: a timestamp and a short random part)")
    p.add_argument("--batch", metavar="FILE",
                   help="many generations, one approval: JSON Lines (one object per line with "
                   "prompt, model, resolution, n, aspect_ratio, reference_images) or CSV with "
                   "a header (prompt and optional columns); exit 1 when some fail (the same "
                   "--batch and --run-id again asks about and sends only those)")
    p.add_argument("--yes", action="store_true",
                   help="approve the cost without asking (never above the budget or unpriced)")
    p.add_argument("--spend", action="store_true",
                   help="print today's approved and charged credits and what is left, then exit")
    p.add_argument("--task-id", metavar="ID", help="check an existing task instead of creating one")
    p.add_argument("--wait", action="store_true", help="with --task-id: wait until it finishes")
    p.add_argument("--timeout", type=_positive_seconds(lang), metavar="SECONDS",
                   help="how long to wait for the task (default 600)")
    p.add_argument("--poll-interval", type=_positive_seconds(lang), metavar="SECONDS",
                   help="fixed pause between status checks (default: adaptive)")
    p.add_argument("--artifacts-dir", metavar="DIR",
                   help="where results and the run database go (default $CREATOK_ARTIFACTS_DIR "
                   "or generate-image/.artifacts)")
    p.add_argument("--no-download", action="store_true",
                   help="keep only the image links: no copies in outputs/images/ (links expire)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object as the last line of stdout (all else on stderr)")
    p.add_argument("--sandbox", action="store_true",
                   help="use a built-in local emulator: placeholder images, nothing charged")
    p.add_argument("-v", "--verbose", action="store_true", help="details for debugging")
    return p


# -- progress --------------------------------------------------------------------------------


class Progress:
    """A live spinner line on a terminal, plain status-change lines otherwise; on stderr."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lang = DEFAULT_LANGUAGE  # the session sets its own before each stream
        self.live = _isatty(stream)
        self.status: str | None = None
        self._elapsed_at = (0.0, time.monotonic())  # (elapsed the graph reported, when)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batch = False  # one line across the batch instead of each task's events
        self._not_ok = 0

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if self.batch:
            if kind == "batch_item":
                self._batch_item(event)
            return
        if kind == "progress":
            elapsed = float(event.get("elapsed") or 0.0)
            self._elapsed_at = (elapsed, time.monotonic())
            status = str(event.get("status") or "")
            if status != self.status:
                self.status = status
                if not self.live:
                    self.line(text(self.lang, "cli_status", status=status, elapsed=elapsed))
            self._ensure_spinner()
        elif kind == "submitted":
            self._elapsed_at = (0.0, time.monotonic())
            self.line(text(self.lang, "cli_submitted", task_id=event.get("task_id")))
        elif kind == "upload":
            self.line(text(self.lang, "cli_upload", index=event.get("index"),
                           total=event.get("total")))
        elif kind == "downloading":
            self.line(text(self.lang, "cli_downloading", count=event.get("count")))

    def _batch_item(self, event: dict[str, Any]) -> None:
        self._not_ok += event.get("status") != "succeeded"
        failed = event.get("failed", self._not_ok)  # counted by the graph, across a resume
        message = text(self.lang, "cli_batch_progress", done=event.get("done"),
                       total=event.get("total"), failed=failed)
        if not self.live:
            self.line(message)
            return
        with self._lock:
            self.stream.write(f"\r\033[K{message}")
            self.stream.flush()
        self._drawn = True

    def line(self, message: str) -> None:
        with self._lock:
            if self.live:
                self.stream.write("\r\033[K")
            self.stream.write(escape(message) + "\n")
            self.stream.flush()

    def _ensure_spinner(self) -> None:
        if self.live and self._thread is None:
            self._thread = threading.Thread(target=self._spin, name="progress", daemon=True)
            self._thread.start()

    def _spin(self) -> None:
        for frame in itertools.cycle(self.FRAMES):
            if self._stop.wait(0.1):
                return
            reported, at = self._elapsed_at
            elapsed = reported + time.monotonic() - at
            with self._lock:
                status = escape(self.status or "...")
                self.stream.write(f"\r\033[K{frame} {status} · {elapsed:.0f}s")
                self.stream.flush()

    def stop(self) -> None:
        """Stop the spinner without waiting (safe in a signal handler)."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        if getattr(self, "_drawn", False):
            with self._lock:
                self.stream.write("\n")
                self.stream.flush()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None
            with self._lock:
                self.stream.write("\r\033[K")
                self.stream.flush()


# -- one invocation --------------------------------------------------------------------------


class _Declined(Exception):
    pass


def _input(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    if getattr(args, "requests", None) is not None:
        return {"requests": args.requests, "run_id": run_id}
    if args.task_id:
        return {"task_id": args.task_id, "wait": bool(args.wait), "run_id": run_id}
    payload: dict[str, Any] = {"run_id": run_id}
    for key in ("prompt", "model", "resolution", "n", "aspect_ratio"):
        value = getattr(args, key)
        if value not in (None, ""):
            payload[key] = value
    if args.reference_image:
        payload["reference_images"] = list(args.reference_image)
    return payload


def _last_message(values: dict[str, Any]) -> str:
    messages = values.get("messages") or []
    if not messages:
        return ""
    return str(messages[-1].text)  # the text blocks (the pictures are the URLs listed in it)


class Session:
    """One invocation: answers the graph's interrupts from stdin and reports the outcome."""

    def __init__(self, args: argparse.Namespace, run_id: str, lang: str) -> None:
        self.args = args
        self.run_id = run_id
        self.lang = lang
        self.out = sys.stdout
        self.err = sys.stderr
        self.task_id: str | None = args.task_id
        self.sending = False  # the paid call is in flight
        self.progress = Progress(self.err)
        self._interrupt_pending = False

    # -- talking to the person ----------------------------------------------------------
    @property
    def human(self) -> IO[str]:
        """Where sentences for the person go: stdout, or stderr when stdout is for JSON."""
        return self.err if self.args.json else self.out

    def say(self, message: str) -> None:
        self.human.write(escape(message) + "\n")
        self.human.flush()

    def note(self, message: str) -> None:
        """Remarks about the run itself (progress, where results are): always stderr."""
        self.progress.line(message)

    def ask(self, question: str) -> str | None:
        """One line from stdin; None at end of input."""
        stream = self.human
        stream.write(escape(question) + "\n> ")
        stream.flush()
        stdin = sys.stdin
        line = stdin.readline() if stdin is not None else ""
        if not line:
            stream.write("\n")
            stream.flush()
            return None
        answer = line.strip()
        if not _isatty(stdin):  # a piped answer is not echoed by a terminal: show it
            stream.write(escape(answer) + "\n")
            stream.flush()
        return answer

    def answer(self, value: dict[str, Any]) -> Any:
        """What to resume an interrupt with; ``_Declined`` when the person says no."""
        kind = value.get("type")
        if "action_requests" in value:
            count = len(value["action_requests"])  # a batch has one per request
            self.lang = value.get("language") or self.lang  # the request's, for what follows
            spend = value.get("budget") or {}
            if self.args.yes and not spend.get("needs"):
                return {"decisions": [{"type": "approve"}] * count}
            if self.args.yes:  # above a limit or unpriced: only the person may say so
                self.note(text(self.lang, "cli_budget_not_yes"))
            # A batch's description is its table and total; one request's is in its action.
            # Studio shows buttons; on a terminal one request's question spells out its
            # answers (a batch's and the spend guard's questions name their own).
            question = value.get("description") or value["action_requests"][0].get(
                "description", "")
            plain = not (spend.get("needs") or value.get("description"))
            hint = "\n" + text(self.lang, "answer_yes_no") if plain else ""
            said = self.ask(f"{question}{hint}")
            if said is not None and spend.get("needs"):
                from .budget import decision_of

                if decision_of(said) in (spend.get("allowed") or []):
                    return {"decisions": [{"type": decision_of(said)}] * count}
            elif said is not None and is_yes(said):
                return {"decisions": [{"type": "approve"}] * count}
            raise _Declined()
        if kind == "question":
            said = self.ask(str(value.get("question")))
            if not said:
                raise _Declined()
            return said
        if kind == "refine_prompt":
            if self.args.yes:
                return "keep"
            said = self.ask(str(value.get("question")))
            return said or "keep"
        if kind == "unknown_outcome":  # never retried without the person saying so
            said = self.ask(str(value.get("question")))
            if said and value.get("items"):  # a batch: one answer for all, or one each
                parts = [p for p in re.split(r"[,;，、；]", said) if p.strip()]
                return ", ".join("retry" if is_retry(p) else "stop" for p in parts)
            return "retry" if said and is_retry(said) else "stop"
        raise CreatokError(f"unexpected question from the graph: {kind}")

    # -- running the graph --------------------------------------------------------------
    def start(self, graph: Any, config: dict[str, Any], ctx: CreatokContext) -> int:
        """A new run, or the continuation or reprint of the run with this id."""
        existing = graph.get_state(config)
        values: dict[str, Any] = dict(existing.values or {})
        if not values:
            return self.run(graph, config, ctx, payload=_input(self.args, self.run_id))
        self.lang = values.get("language") or self.lang
        # The output keys are written at the end: mid-run, the task id is in the request record.
        self.task_id = (values.get("task_id") or (values.get("generation") or {}).get("task_id")
                        or self.task_id)
        if existing.interrupts:  # it was waiting for an answer
            self._note_continuing()
            return self.run(graph, config, ctx, pending=existing.interrupts[0])
        if existing.next or existing.tasks:  # stopped mid-step: crash, kill or Ctrl-C
            self._note_continuing()
            return self.run(graph, config, ctx, payload=None)
        if self._asks_again(values):
            # Another request: the graph refuses it (the run id belongs to the earlier one)
            # before anything is asked or charged. The same one, never sent: asked again.
            # A batch with requests that did not succeed: only those (batch_rounds.py).
            if values.get("results") is not None and values.get("status") not in (
                    DECLINED_OR_INVALID):
                self.note(text(self.lang, "cli_batch_retrying", run_id=self.run_id))
            return self.run(graph, config, ctx, payload=_input(self.args, self.run_id))
        retry = self._unsent_request(values)
        if retry is not None:
            # It ended without a task and without a no (e.g. refused): the same request is
            # asked about again, as under --prompt; the ledger decides at the paid call.
            said = "cli_continuing" if maybe_charged(values.get("error")) else "cli_retrying"
            self.note(text(self.lang, said, run_id=self.run_id))
            return self.run(graph, config, ctx, payload=retry)
        task_id = self.args.task_id or values.get("task_id")
        status = values.get("status")
        if task_id and (task_id != values.get("task_id") or status not in FINISHED):
            # It stopped waiting (still running, timed out, connection lost): check the task
            # again. The graph routes a known task id straight to polling: nothing is resent.
            self.task_id = task_id
            self._note_continuing()
            wait = bool(self.args.wait) or not self.args.task_id
            return self.run(graph, config, ctx,
                            payload={"task_id": task_id, "wait": wait, "run_id": self.run_id})
        self.note(text(self.lang, "cli_finished_earlier", run_id=self.run_id))
        if status == "succeeded" and ctx.download:  # fetch only the copies still missing
            self.progress.lang = self.lang
            values = {**values, **_complete_downloads(ctx.artifacts_dir, self.run_id, self.lang,
                                                      self.progress.update)}
        return self.report(values)

    def _asks_again(self, values: dict[str, Any]) -> bool:
        """Does the command line ask for something else than the run it names did, or for
        the same request when its last attempt sent nothing (declined, refused)?"""
        if getattr(self.args, "requests", None) is not None:  # not all done: ask again
            return values.get("results") is not None and values.get("status") != "succeeded"
        if self.args.task_id or not self.args.prompt:
            return False
        if not values.get("task_id"):
            return True
        earlier = values.get("request") or {}
        asked = _input(self.args, self.run_id)
        return any(
            key in asked and str(asked[key]) != str(earlier.get(key))
            for key in ("prompt", "model", "resolution", "n", "aspect_ratio")
        )

    def _unsent_request(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """The input that asks again for the run's request, when it ended without a task
        and without a "no" (refused, or an error before any answer): issue 13's "a refused
        submit is retried with the same run id after a new yes". None otherwise."""
        gen = values.get("generation") or {}
        asked = {k: v for k, v in (gen.get("asked") or {}).items() if v is not None}
        prompt = (gen.get("request") or {}).get("prompt") or asked.get("prompt")
        if (self.args.task_id or gen.get("task_id") or not prompt
                or gen.get("status") in FINISHED | DECLINED_OR_INVALID):
            return None
        return {**asked, "prompt": prompt, "run_id": self.run_id}

    def _note_continuing(self) -> None:
        if self.task_id:
            self.note(text(self.lang, "cli_continuing_task", run_id=self.run_id,
                           task_id=self.task_id))
        else:
            self.note(text(self.lang, "cli_continuing", run_id=self.run_id))

    def run(self, graph: Any, config: dict[str, Any], ctx: CreatokContext, *,
            payload: Any = None, pending: Any = None) -> int:
        from langgraph.types import Command

        while True:
            if pending is None:
                pending = self._stream(graph, payload, config, ctx)
                values = graph.get_state(config).values
                # The graph may have learnt the language since (e.g. from an asked-for prompt).
                self.lang = values.get("language") or self.lang
                if pending is None:
                    return self.report(values)
            value = pending.value
            try:
                payload = Command(resume=self.answer(value))
            except _Declined:
                if "action_requests" in value:  # record the no: the run ends 'cancelled'
                    rejections = [{"type": "reject"}] * len(value["action_requests"])
                    graph.invoke(Command(resume={"decisions": rejections}), config, context=ctx)
                    return self.report(graph.get_state(config).values)
                self.say(text(self.lang, "cancelled"))
                self.emit_json(graph.get_state(config).values, ok=False, status="cancelled")
                return EXIT_USAGE
            pending = None

    def _stream(self, graph: Any, payload: Any, config: dict[str, Any],
                ctx: CreatokContext) -> Any:
        """Run until the graph ends (None) or asks something (the interrupt)."""
        interrupts: list[Any] = []
        self.sending = False
        self.progress.lang = self.lang
        self.progress.batch = getattr(self.args, "requests", None) is not None
        try:
            with self._ctrl_c():
                for mode, chunk in graph.stream(payload, config, context=ctx,
                                                stream_mode=["custom", "updates"],
                                                durability="sync"):
                    if mode == "custom" and isinstance(chunk, dict):
                        self._event(chunk)
                    elif mode == "updates" and isinstance(chunk, dict) and (
                        "__interrupt__" in chunk
                    ):
                        interrupts.extend(chunk["__interrupt__"])
                if self._interrupt_pending:
                    self._exit_interrupted()
        finally:
            self.progress.close()
            self.progress = Progress(self.err)
        return interrupts[0] if interrupts else None

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("task_id"):
            self.task_id = str(event["task_id"])
        kind = event.get("type")
        if kind == "submitting":
            self.sending = True
        elif kind in ("submitted", "progress", "done"):
            self.sending = False
        self.progress.update(event)
        if self._interrupt_pending and not self.sending:
            self._exit_interrupted()

    @contextmanager
    def _ctrl_c(self) -> Iterator[None]:
        """While the graph runs, Ctrl-C ends the process at once.

        LangGraph runs nodes in worker threads and, on KeyboardInterrupt, waits for the
        running node to finish: a poll could hold the terminal for minutes. Every step is
        checkpointed before the next starts (durability="sync") and the task id is saved
        before polling, so stopping here loses nothing. Only during the paid call does the
        first Ctrl-C wait for CreatOK's answer, so that the task id is saved too.
        """
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
            yield
            return

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            if self.sending and not self._interrupt_pending:
                self._interrupt_pending = True
                _raw_write(self.err, "\n" + text(self.lang, "cli_finishing_submit") + "\n")
                return
            self._exit_interrupted()

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def interrupted_message(self) -> str:
        command = f"{PROG} --run-id {self.run_id}"
        if self.task_id:
            return text(self.lang, "cli_interrupted_task", task_id=self.task_id, command=command,
                        recover=f"{PROG} --task-id {self.task_id} --wait")
        if self.sending:
            return text(self.lang, "cli_interrupted_sending", run_id=self.run_id)
        return text(self.lang, "cli_interrupted", command=command)

    def _interrupted_record(self) -> dict[str, Any]:
        return {"ok": False, "run_id": self.run_id, "task_id": self.task_id,
                "status": "interrupted", "images": [], "error": None,
                "message": self.interrupted_message()}

    def _exit_interrupted(self) -> NoReturn:
        """Leave now, from a signal handler too: say how to resume, skip waiting for threads."""
        self.progress.stop()
        _raw_write(self.err, "\r\033[K\n" if self.progress.live else "\n")
        _raw_write(self.err, escape(self.interrupted_message()) + "\n")
        if self.args.json:
            _raw_write(self.out, json.dumps(self._interrupted_record(), ensure_ascii=False) + "\n")
        os._exit(EXIT_INTERRUPTED)

    def interrupted(self) -> int:
        """Ctrl-C outside the graph (e.g. at a question)."""
        self.progress.close()
        self.err.write("\n" + escape(self.interrupted_message()) + "\n")
        self.err.flush()
        if self.args.json:
            self.out.write(json.dumps(self._interrupted_record(), ensure_ascii=False) + "\n")
            self.out.flush()
        return EXIT_INTERRUPTED

    # -- the outcome ----------------------------------------------------------------------
    def report(self, values: dict[str, Any]) -> int:
        outcome = Outcome.of(values)
        status, error = outcome.status, values.get("error")
        final = _last_message(values)
        if values.get("results") is not None:  # a batch: its summary lists every request
            self.say(final)
        elif outcome.ending == "succeeded":
            head = final.split("\n", 1)[0]
            if head:
                self.say(head)
            for url in outcome.urls:  # verbatim, one per line
                self.human.write(escape(url) + "\n")
            self.human.flush()
            self._download_report(values)
        elif final:
            self.say(final)
        task_id = values.get("task_id") or self.task_id
        code = exit_code(status, task_id=task_id, error_kind=(error or {}).get("kind"))
        if self.args.verbose and error:
            self.note(f"details: {json.dumps(error, ensure_ascii=False)}")
        if values.get("artifacts_dir"):
            path = os.path.join(values["artifacts_dir"], "outputs")
            self.note(text(self.lang, "cli_results", path=path))
        if code == EXIT_PENDING and task_id and not self.args.task_id:
            # The same run id continues the same task: nothing is sent again.
            self.note(text(self.lang, "cli_still_running", command=f"{PROG} --run-id "
                           f"{self.run_id}", task_id=task_id))
        elif code == EXIT_PENDING and task_id:
            self.note(text(self.lang, "cli_check_again", task_id=task_id))
        self.emit_json(values, ok=status == "succeeded", status=status)
        return code

    def _download_report(self, values: dict[str, Any]) -> None:
        """What could not be saved, and where the gallery is (downloads.py)."""
        from . import downloads

        images = list(values.get("images") or [])
        lines = downloads.notes(self.lang, images)
        for line in lines:
            self.say(line)
        if lines:
            self.note(text(self.lang, "cli_download_retry", run_id=self.run_id))
        page = os.path.join(values.get("artifacts_dir") or "", "outputs", "index.html")
        if values.get("artifacts_dir") and os.path.isfile(page):
            self.note(text(self.lang, "cli_gallery", path=page))

    def emit_json(self, values: dict[str, Any], *, ok: bool, status: str) -> None:
        if not self.args.json:
            return
        record = {
            "ok": ok,
            "run_id": values.get("run_id") or self.run_id,
            "task_id": values.get("task_id") or self.task_id,
            "status": status,
            "images": values.get("images") or [],
            "estimated_credits": values.get("estimated_credits"),
            "model": values.get("model"),
            "resolution": values.get("resolution"),
            "n": values.get("n"),
            "aspect_ratio": values.get("aspect_ratio"),
            "artifacts_dir": values.get("artifacts_dir"),
            "error": values.get("error"),
            "message": _last_message(values) or None,
        }
        if values.get("results") is not None:  # a batch: each request's task is in results
            record.update(task_id=None, results=values["results"])
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()

    def fail(self, message: str, code: int, *, status: str = "error") -> int:
        """A problem before or outside the graph: one plain sentence (and the JSON line)."""
        self.progress.close()
        self.err.write(f"{PROG}: {escape(message)}\n")
        self.err.flush()
        self.emit_json({"error": {"kind": status, "message": message}}, ok=False, status=status)
        return code


# -- main ------------------------------------------------------------------------------------


def _complete_downloads(root: str, run_id: str, lang: str,
                        announce: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A finished run again: fetch the image copies still missing (never calls the API)."""
    from . import downloads
    from ._flow import run_sync
    from .artifacts import run_dir

    record = run_sync(downloads.complete_run(root, run_id, lang=lang, announce=announce))
    if not record:
        return {}
    return {"images": record["images"], "artifacts_dir": str(run_dir(root, run_id))}


@contextmanager
def _sandbox() -> Iterator[tuple[str, str]]:
    from .emulator import SANDBOX_API_KEY, Emulator

    with Emulator(api_key=SANDBOX_API_KEY, task_seconds=SANDBOX_TASK_SECONDS) as emu:
        yield emu.base_url, emu.api_key


def _starts_with_capabilities(args: argparse.Namespace, artifacts_dir: str, run_id: str) -> bool:
    """Will the graph's first call be the capabilities request? For a new single run
    without reference files and with a prompt it will accept, yes (files and the prompt's
    length are checked before any call; a known run may be done; --spend calls nothing)."""
    if (args.task_id or args.reference_image or args.spend or args.requests is not None
            or run_dir(artifacts_dir, run_id).exists()):
        return False
    try:
        check_prompt_length(args.prompt or "")
    except InvalidRequestError:
        return False
    return True


def _print_spend(session: Session, store: Any, ctx: CreatokContext) -> int:
    """``--spend``: today's figures of the spend guard, from the CLI's store."""
    from ._flow import run_sync
    from .budget import BudgetLimits, today

    spend = run_sync(today(store, ctx.artifacts_dir, BudgetLimits.for_context(ctx)))
    lang = session.lang
    figures = {k: (int(v) if isinstance(v, float) and v.is_integer() else v)
               for k, v in spend.to_dict().items()}
    session.say(text(lang, "cli_spend", day=spend.day, approved=figures["approved"],
                     committed=figures["committed"]))
    session.say(text(lang, "cli_spend_no_limit") if spend.left is None else
                text(lang, "cli_spend_left", left=figures["left"],
                     daily=figures["daily_credits"]))
    if spend.unpriced_runs:
        session.say(text(lang, "cli_spend_unpriced", count=spend.unpriced_runs))
    if session.args.json:
        session.out.write(json.dumps({"ok": True, "status": "spend", **figures}) + "\n")
        session.out.flush()
    return EXIT_OK


def _default_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def _tolerant_stdio() -> None:
    """A terminal that cannot show a character gets '?', not a traceback."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(ValueError, OSError):
                reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    _tolerant_stdio()
    raw_args = sys.argv[1:] if argv is None else argv
    parser = build_parser(_argv_language(raw_args))
    if isinstance(parser, _Parser):
        parser.json_requested = "--json" in raw_args
    args = parser.parse_args(argv)
    args.requests = None
    run_id = args.run_id or _default_run_id()
    session = Session(args, run_id, detect_language(args.prompt or ""))
    try:
        check_run_id(run_id)
    except InvalidRequestError as exc:
        reason = describe_invalid(session.lang, error_record(exc))
        return session.fail(text(session.lang, "invalid_request", reason=reason), EXIT_USAGE,
                            status="invalid_request")
    if args.batch:
        from .batch_input import BatchFileError, read_requests

        try:
            args.requests = read_requests(args.batch)
        except BatchFileError as exc:
            return session.fail(text(session.lang, "invalid_request", reason=str(exc)),
                                EXIT_USAGE, status="invalid_request")
        if args.prompt or args.task_id:
            return session.fail("--batch takes the requests from its file: drop --prompt "
                                "and --task-id", EXIT_USAGE, status="invalid_request")
    if not os.environ.get("CREATOK_API_KEY", "").strip() and not (args.sandbox or args.spend):
        return session.fail(text(session.lang, "cli_no_key", url=API_KEYS_URL), EXIT_USAGE,
                            status="auth_error")
    try:
        with ExitStack() as stack:
            ctx_kwargs: dict[str, Any] = {}
            if args.sandbox:
                ctx_kwargs["base_url"], ctx_kwargs["api_key"] = stack.enter_context(_sandbox())
                session.note(text(session.lang, "cli_sandbox_banner", url=ctx_kwargs["base_url"]))
            if args.artifacts_dir:
                ctx_kwargs["artifacts_dir"] = args.artifacts_dir
            if args.timeout:
                ctx_kwargs["timeout"] = args.timeout
            if args.poll_interval:
                ctx_kwargs["poll_interval"] = args.poll_interval
            if args.no_download:
                ctx_kwargs["download"] = False
            prefetched = None
            if _starts_with_capabilities(args, resolve_artifacts_dir(args.artifacts_dir), run_id):
                # Ask now, while LangGraph, LangChain and pydantic load (CreatokContext
                # needs them): from the same settings CreatokContext resolves below.
                from .client import resolve_api_key, resolve_base_url
                from .prefetch import prefetch_capabilities

                prefetched = prefetch_capabilities(resolve_base_url(ctx_kwargs.get("base_url")),
                                                   resolve_api_key(ctx_kwargs.get("api_key")))
            from .context import CreatokContext

            ctx = CreatokContext(**ctx_kwargs)
            from . import runlock
            from .checkpointing import checkpoint_url, open_persistence
            from .connections import GraphHttp
            from .graph import build_graph

            try:
                persistence = stack.enter_context(
                    open_persistence(checkpoint_url(ctx.artifacts_dir))
                )
            except (OSError, sqlite3.Error) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                return session.fail(text(session.lang, "cli_bad_store",
                                         path=ctx.artifacts_dir, reason=reason),
                                    EXIT_ERROR, status="configuration_error")
            if args.spend:
                return _print_spend(session, persistence.store, ctx)
            try:
                stack.enter_context(runlock.hold(ctx.artifacts_dir, run_id))
            except runlock.RunBusy:
                return session.fail(text(session.lang, "cli_busy", run_id=run_id,
                                         command=f"{PROG} --run-id {run_id}"),
                                    EXIT_PENDING, status="busy")
            http = stack.enter_context(GraphHttp())
            if prefetched is not None:
                from .prefetch import seed_capabilities

                seed_capabilities(prefetched, ctx, http)
            graph = build_graph(persistence.checkpointer, persistence.store, http=http)
            config: dict[str, Any] = {"configurable": {"thread_id": run_id}}
            if args.requests is not None:  # a batch's items run in LangGraph's worker threads
                config["max_concurrency"] = ctx.batch_concurrency
            return session.start(graph, config, ctx)
    except KeyboardInterrupt:
        return session.interrupted()
    except CreatokError as exc:
        if args.verbose:
            traceback.print_exc()
        return session.fail(str(exc), EXIT_ERROR, status=exc.kind)
    except Exception as exc:  # one plain sentence; details with -v
        if args.verbose:
            traceback.print_exc()
        return session.fail(text(session.lang, "cli_unexpected",
                                 error=f"{type(exc).__name__}: {exc}"), EXIT_ERROR)


def run() -> NoReturn:
    """The ``creatok-image`` command: :func:`main`, then leave without unloading modules.

    Tearing down an interpreter that imported LangGraph takes 0.2-0.4 s, after the
    result is printed and before the shell gets its prompt back. By then every file and
    database of the run is closed (``main`` closes them); atexit handlers (logging,
    tracing) still run, as ``multiprocessing`` does for its children.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
