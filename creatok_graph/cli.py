"""``creatok-image``: the terminal front end, a thin layer over the compiled graph.

Everything it does goes through the graph with a SQLite checkpointer (the run
id is the thread), so a run can be continued after a crash or Ctrl-C, and the
same interrupts a LangGraph UI would show are asked here on stdin.

Exit codes: 0 succeeded; 1 failed, timed out or an error; 2 usage error or
declined; 3 still queued/running (a recovery check without --wait); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from langgraph.types import Command

from .artifacts import check_run_id
from .checkpointing import checkpoint_url, open_persistence
from .context import CreatokContext
from .errors import API_KEYS_URL, CreatokError, InvalidRequestError
from .graph import build_graph
from .language import detect_language
from .prompts import is_retry, is_yes, text

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PENDING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
USAGE_STATUSES = frozenset({"cancelled", "invalid_request"})
PENDING_STATUSES = frozenset({"queued", "running", "submitted"})


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="creatok-image",
        description="Generate images with CreatOK, after you approve the cost.",
        epilog=f"Set CREATOK_API_KEY (create a key at {API_KEYS_URL}) or try --sandbox. "
        "Exit codes: 0 done, 1 failed/error, 2 usage or declined, 3 still running.",
    )
    p.add_argument("--prompt", help="what the image should show")
    p.add_argument("--model", help="model id (default: CreatOK's default model)")
    p.add_argument("--resolution", help="e.g. 1K, 2K, 4K (default: the model's)")
    p.add_argument("--n", help="how many images (default: the model's)")
    p.add_argument("--aspect-ratio", metavar="W:H", help="e.g. 16:9")
    p.add_argument("--reference-image", metavar="PATH", action="append", default=[],
                   help="a local reference image (repeatable)")
    p.add_argument("--run-id", metavar="ID",
                   help="name this run; the same id later continues or reprints it")
    p.add_argument("--yes", action="store_true", help="approve without asking")
    p.add_argument("--task-id", metavar="ID", help="check an existing task instead of creating one")
    p.add_argument("--wait", action="store_true", help="with --task-id: wait until it finishes")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="how long to wait for the task (default 600)")
    p.add_argument("--poll-interval", type=float, metavar="SECONDS",
                   help="fixed pause between status checks (default: adaptive)")
    p.add_argument("--artifacts-dir", metavar="DIR",
                   help="where results go (default $CREATOK_ARTIFACTS_DIR or "
                   "generate-image/.artifacts)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object as the last line of stdout")
    p.add_argument("--sandbox", action="store_true",
                   help="use a built-in local emulator: placeholder images, nothing charged")
    p.add_argument("-v", "--verbose", action="store_true", help="details for debugging")
    return p


class Progress:
    """A live line on a terminal; plain lines otherwise; always on stderr."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.status: str | None = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "progress":
            status = str(event.get("status"))
            if status != self.status:
                self.status = status
                if not self.live:
                    elapsed = float(event.get("elapsed") or 0.0)
                    self._line(f"status: {status} ({elapsed:.1f}s)")
            self._ensure_spinner()
        elif kind == "submitted":
            self.started = time.monotonic()
            self._line(f"submitted: task {event.get('task_id')}")
        elif kind == "upload":
            self._line(f"uploading reference image {event.get('index')}/{event.get('total')}")

    def _line(self, message: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(message + "\n")
        self.stream.flush()

    def _ensure_spinner(self) -> None:
        if self.live and self._thread is None:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()

    def _spin(self) -> None:
        for frame in itertools.cycle(self.FRAMES):
            if self._stop.wait(0.1):
                return
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r\033[K{frame} {self.status or 'waiting'} · {elapsed:.0f}s")
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self.stream.write("\r\033[K")
            self.stream.flush()


@contextmanager
def _sandbox(enabled: bool) -> Iterator[tuple[str, str] | None]:
    if not enabled:
        yield None
        return
    from .emulator import SANDBOX_API_KEY, Emulator

    with Emulator(api_key=SANDBOX_API_KEY, task_seconds=2.0) as emu:
        yield emu.base_url, emu.api_key


def _default_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class Session:
    """One invocation: answers the graph's interrupts from stdin and reports the outcome."""

    def __init__(self, args: argparse.Namespace, lang: str) -> None:
        self.args = args
        self.lang = lang
        self.out = sys.stdout
        self.err = sys.stderr
        self.task_id: str | None = args.task_id
        self.progress = Progress(self.err)

    # -- talking to the person ----------------------------------------------------------
    def say(self, message: str) -> None:
        """Human text: stdout normally, stderr with --json (stdout is for the JSON only)."""
        stream = self.err if self.args.json else self.out
        stream.write(message + "\n")
        stream.flush()

    def ask(self, question: str) -> str | None:
        self.say(question)
        stream = self.err if self.args.json else self.out
        stream.write("> ")
        stream.flush()
        line = sys.stdin.readline()
        if not line:
            stream.write("\n")
            return None
        return line.strip()

    def answer(self, value: dict[str, Any]) -> Any:
        """What to resume an interrupt with; ``_Declined`` when the person says no."""
        kind = value.get("type")
        if "action_requests" in value:
            request = value["action_requests"][0]
            if self.args.yes:
                return {"decisions": [{"type": "approve"}]}
            said = self.ask(request.get("description", ""))
            if said is not None and is_yes(said):
                return {"decisions": [{"type": "approve"}]}
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
        if kind == "unknown_outcome":
            said = self.ask(str(value.get("question")))
            return "retry" if said and is_retry(said) else "stop"
        raise CreatokError(f"unexpected question from the graph: {kind}")

    # -- running the graph --------------------------------------------------------------
    def run(self, graph: Any, payload: Any, config: dict[str, Any], ctx: CreatokContext) -> int:
        while True:
            interrupts: list[Any] = []
            for mode, chunk in graph.stream(payload, config, context=ctx,
                                            stream_mode=["custom", "updates"],
                                            durability="sync"):
                if mode == "custom" and isinstance(chunk, dict):
                    if chunk.get("task_id"):
                        self.task_id = str(chunk["task_id"])
                    self.progress.update(chunk)
                elif mode == "updates" and isinstance(chunk, dict) and "__interrupt__" in chunk:
                    interrupts.extend(chunk["__interrupt__"])
            self.progress.close()
            self.progress = Progress(self.err)
            if not interrupts:
                return self.report(graph.get_state(config).values)
            value = interrupts[0].value
            try:
                payload = Command(resume=self.answer(value))
            except _Declined:
                if "action_requests" in value:
                    graph.invoke(Command(resume={"decisions": [{"type": "reject"}]}), config,
                                 context=ctx)
                self.say(text(self.lang, "cancelled"))
                self.emit_json(graph.get_state(config).values, ok=False, status="cancelled")
                return EXIT_USAGE

    def report(self, values: dict[str, Any]) -> int:
        status = str(values.get("status") or "error")
        messages = values.get("messages") or []
        final = messages[-1].content if messages else ""
        if status == "succeeded":
            urls = [str(img.get("url")) for img in values.get("images") or []]
            head = final.split("\n", 1)[0] if final else ""
            self.say(head)
            for url in urls:  # verbatim, one per line
                self.out.write(url + "\n") if not self.args.json else self.err.write(url + "\n")
        else:
            self.say(str(final))
        if self.args.verbose and values.get("error"):
            self.err.write(f"details: {json.dumps(values.get('error'), ensure_ascii=False)}\n")
        if values.get("artifacts_dir") and not self.args.json:
            self.err.write(f"results: {values.get('artifacts_dir')}\n")
        self.emit_json(values, ok=status == "succeeded", status=status)
        return exit_code(status)

    def emit_json(self, values: dict[str, Any], *, ok: bool, status: str) -> None:
        if not self.args.json:
            return
        messages = values.get("messages") or []
        record = {
            "ok": ok,
            "run_id": values.get("run_id") or self.args.run_id,
            "task_id": values.get("task_id") or self.task_id,
            "status": status,
            "images": values.get("images") or [],
            "estimated_credits": values.get("estimated_credits"),
            "model": values.get("model"),
            "resolution": values.get("resolution"),
            "n": values.get("n"),
            "artifacts_dir": values.get("artifacts_dir"),
            "error": values.get("error"),
            "message": messages[-1].content if messages else None,
        }
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()


class _Declined(Exception):
    pass


def exit_code(status: str) -> int:
    if status == "succeeded":
        return EXIT_OK
    if status in USAGE_STATUSES:
        return EXIT_USAGE
    if status in PENDING_STATUSES:
        return EXIT_PENDING
    return EXIT_ERROR


def _input(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    lang = detect_language(args.prompt or "")
    err = sys.stderr
    run_id = args.run_id or _default_run_id()
    try:
        check_run_id(run_id)
    except InvalidRequestError as exc:
        err.write(f"creatok-image: {exc}\n")
        return EXIT_USAGE
    if args.wait and not args.task_id:
        args.wait = True  # harmless: new generations always wait
    api_key = os.environ.get("CREATOK_API_KEY", "").strip()
    if not api_key and not args.sandbox:
        err.write(
            f"No CreatOK API key found. Create one at {API_KEYS_URL} and set CREATOK_API_KEY, "
            "or try it locally with --sandbox (placeholder images, nothing charged).\n"
        )
        return EXIT_USAGE
    session = Session(args, lang)
    try:
        with ExitStack() as stack:
            sandbox = stack.enter_context(_sandbox(args.sandbox))
            ctx_kwargs: dict[str, Any] = {}
            if sandbox is not None:
                ctx_kwargs["base_url"], ctx_kwargs["api_key"] = sandbox
                err.write(
                    f"Sandbox: using the local CreatOK emulator at {sandbox[0]}. Images are "
                    "placeholders and nothing is charged.\n"
                )
            if args.artifacts_dir:
                ctx_kwargs["artifacts_dir"] = args.artifacts_dir
            if args.timeout:
                ctx_kwargs["timeout"] = args.timeout
            if args.poll_interval:
                ctx_kwargs["poll_interval"] = args.poll_interval
            ctx = CreatokContext(**ctx_kwargs)
            persistence = stack.enter_context(
                open_persistence(checkpoint_url(ctx.artifacts_dir))
            )
            graph = build_graph(persistence.checkpointer, persistence.store)
            config: dict[str, Any] = {"configurable": {"thread_id": run_id}}
            existing = graph.get_state(config)
            if existing.values and not existing.next and not existing.interrupts:
                session.lang = existing.values.get("language") or lang
                return session.report(existing.values)  # finished earlier: print it again
            if existing.values:
                session.lang = existing.values.get("language") or lang
                session.task_id = existing.values.get("task_id") or session.task_id
                if existing.interrupts:
                    payload: Any = Command(resume=session.answer(existing.interrupts[0].value))
                else:
                    payload = None  # crashed mid-run: continue where it stopped
            else:
                payload = _input(args, run_id)
            return session.run(graph, payload, config, ctx)
    except _Declined:
        session.say(text(session.lang, "cancelled"))
        return EXIT_USAGE
    except KeyboardInterrupt:
        session.progress.close()
        where = f"task {session.task_id}" if session.task_id else "nothing was submitted"
        err.write(
            f"\nInterrupted ({where}). Nothing is lost: run `creatok-image --run-id {run_id}` "
            "to continue"
            + (f", or `creatok-image --task-id {session.task_id} --wait`." if session.task_id
               else ".")
            + "\n"
        )
        return EXIT_INTERRUPTED
    except CreatokError as exc:
        err.write(f"creatok-image: {exc}\n")
        return EXIT_ERROR
    except Exception as exc:  # one plain sentence; details with -v
        err.write(f"creatok-image: something went wrong: {type(exc).__name__}: {exc}\n")
        if args.verbose:
            traceback.print_exc()
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
