"""``creatok-emulator``: run the CreatOK API emulator as a standalone server.

Why a separate process: harnesses and clients in other languages can point
``CREATOK_BASE_URL`` at it and steer it through ``/_emulator/*``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from .server import SANDBOX_API_KEY, SCENARIO_HELP, SCENARIO_NAMES, Emulator, load_capabilities

DEFAULT_PORT = 8765


def _scenario_epilog() -> str:
    width = max(len(name) for name in SCENARIO_NAMES)
    lines = ["scenarios (--scenario NAME, repeatable or comma-separated):"]
    indent = " " * (width + 4)
    for name in SCENARIO_NAMES:
        wrapped = textwrap.wrap(SCENARIO_HELP[name], width=78 - len(indent))
        lines.append(f"  {name.ljust(width)}  {wrapped[0]}")
        lines += [indent + rest for rest in wrapped[1:]]
    lines += [
        "",
        "lifecycle: a task is 'queued' for the first 20% of --task-seconds, then 'running'",
        "(with 'progress'), then 'succeeded' (or 'failed' when the prompt contains '[fail]').",
        "",
        "admin endpoints (no auth): GET /_emulator/stats, POST /_emulator/reset,",
        'GET|POST /_emulator/scenarios {"scenarios": [...]}, POST /_emulator/config',
        '{"task_seconds", "flaky_rate", "slow_submit_seconds", "honour_idempotency"},',
        "GET /_emulator/tasks.",
    ]
    return "\n".join(lines)


def _positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (0 < value <= 1):
        raise argparse.ArgumentTypeError("must be > 0 and <= 1")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 0) or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number >= 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not (0 <= value <= 65535):
        raise argparse.ArgumentTypeError("must be between 0 and 65535 (0 = any free port)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="creatok-emulator",
        description="Local, stateful emulator of CreatOK's Open Skills image API "
        "(capabilities, reference upload, paid submit, task status, signed images). "
        "Nothing it does costs money.",
        epilog=_scenario_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--api-key",
        default=SANDBOX_API_KEY,
        help=f"the only accepted Bearer key (default {SANDBOX_API_KEY})",
    )
    parser.add_argument(
        "--task-seconds",
        type=_non_negative,
        default=2.0,
        help="seconds from submit to a finished task (default 2; 0 = at once)",
    )
    parser.add_argument(
        "--capabilities",
        metavar="FILE",
        help="capabilities JSON to serve: a full envelope, {capabilities: ...} "
        "or {image: ...} (default: the bundled sample)",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="activate a failure scenario (repeatable, or comma-separated); see the list below",
    )
    parser.add_argument(
        "--flaky-rate",
        type=_positive_rate,
        default=0.5,
        help="share of GETs failing under flaky-503 (default 0.5 = every 2nd)",
    )
    parser.add_argument(
        "--slow-submit-seconds",
        type=_non_negative,
        default=5.0,
        help="delay of submit under slow-submit (default 5)",
    )
    parser.add_argument(
        "--no-idempotency",
        action="store_true",
        help="ignore the Idempotency-Key header: every accepted submit is a new charge "
        "(CreatOK's contract does not promise de-duplication)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code (0 on a clean stop)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: keep argparse's code
        return int(exc.code) if isinstance(exc.code, int) else 2

    scenarios: list[str] = []
    for item in args.scenario:
        scenarios += [part.strip() for part in item.split(",") if part.strip()]
    unknown = [name for name in scenarios if name not in SCENARIO_NAMES]
    if unknown:
        parser.print_usage(sys.stderr)
        print(
            f"creatok-emulator: error: unknown scenario(s) {', '.join(unknown)}; "
            f"available: {', '.join(SCENARIO_NAMES)}",
            file=sys.stderr,
        )
        return 2

    capabilities: Any = None
    if args.capabilities:
        try:
            capabilities = load_capabilities(args.capabilities)
        except ValueError as exc:
            print(f"creatok-emulator: error: {exc}", file=sys.stderr)
            return 2

    emulator = Emulator(
        api_key=args.api_key,
        task_seconds=args.task_seconds,
        capabilities=capabilities,
        scenarios=scenarios,
        host=args.host,
        port=args.port,
        flaky_rate=args.flaky_rate,
        slow_submit_seconds=args.slow_submit_seconds,
        honour_idempotency=not args.no_idempotency,
        verbose=args.verbose,
    )
    try:
        emulator.start()
    except OSError as exc:
        print(
            f"creatok-emulator: error: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(
            f"CreatOK emulator listening on {emulator.base_url} (api key: {args.api_key})",
            flush=True,
        )
        if scenarios:
            print(f"scenarios: {', '.join(scenarios)}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
