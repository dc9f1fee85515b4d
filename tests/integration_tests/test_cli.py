"""The installed ``creatok-image`` command, run as a subprocess against a real emulator.

Every scenario below is a function ``scenario_<name>`` that starts its own emulator (in
process, or as a standalone ``python -m creatok_graph.emulator`` process), runs the command
one or more times and checks exit codes, stdout/stderr and the server-side counters
(charges, uploads, capability fetches).

Most of a CLI run is Python importing LangGraph, so the scenarios of the selected tests run
concurrently in a thread pool started by the module fixture ``outcomes``; each
``test_cli[<name>]`` then waits for its own scenario and re-raises whatever it raised.
Scenarios whose timing matters (Ctrl-C while polling, a task that must still be running)
use long tasks, so a loaded machine slows them down but cannot make them flaky.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from creatok_graph.emulator import SANDBOX_API_KEY, Emulator
from creatok_graph.emulator.png import gradient_png
from creatok_graph.errors import API_KEYS_URL

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("creatok-image")
PROMPT = "A red fox reading a book under a maple tree in autumn, watercolor style"
ZH_PROMPT = "一只在秋天的枫树下看书的红狐狸，水彩风格"
ES_PROMPT = "Un zorro rojo leyendo un libro bajo un arce en otoño, estilo acuarela"
RUN_TIMEOUT = 90.0  # seconds one CLI run may take on a loaded machine before it is killed
WORKERS = 6
URL_LINE = re.compile(r"^https?://\S+$")
DEFAULT_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
# Never let LangSmith/LangGraph reach for the network from the subprocesses.
OFFLINE_ENV = {"LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"}


# ============================================================================================
# Emulators
# ============================================================================================


class Server(Protocol):
    @property
    def base_url(self) -> str: ...

    def stats(self) -> dict[str, Any]: ...


class EmulatorProcess:
    """``python -m creatok_graph.emulator --port 0`` in its own process; SIGTERM to stop."""

    def __init__(self, *, task_seconds: float = 0.3, scenarios: tuple[str, ...] = ()) -> None:
        cmd = [sys.executable, "-m", "creatok_graph.emulator", "--port", "0",
               "--task-seconds", str(task_seconds)]
        for name in scenarios:
            cmd += ["--scenario", name]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env={**os.environ, **OFFLINE_ENV})
        try:
            self.base_url = self._read_url(timeout=60)
        except BaseException:
            self.stop()
            raise

    def _read_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        match = re.search(r"listening on (http://\S+)", line)
        assert match, f"emulator did not start: {line!r}"
        return match.group(1)

    def stats(self) -> dict[str, Any]:
        r = httpx.get(self.base_url + "/_emulator/stats", timeout=10)
        r.raise_for_status()
        data: dict[str, Any] = r.json()["data"]
        return data

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def create_task(server: Server, prompt: str = PROMPT) -> str:
    """Submit a task as another client would (the recovery tests start from its id)."""
    r = httpx.post(
        server.base_url + "/api/open/skills/image-generation",
        json={"prompt": prompt, "model": "nano-banana-2", "resolution": "2K", "n": 1},
        headers={"Authorization": f"Bearer {SANDBOX_API_KEY}", "Accept": "application/json"},
        timeout=10,
    )
    r.raise_for_status()
    task_id: str = r.json()["data"]["task_id"]
    return task_id


# ============================================================================================
# Running the command
# ============================================================================================


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def urls(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if URL_LINE.match(line)]

    def json(self) -> dict[str, Any]:
        lines = self.stdout.splitlines()
        assert lines, f"nothing on stdout; stderr: {self.stderr}"
        record: dict[str, Any] = json.loads(lines[-1])
        return record

    def __str__(self) -> str:  # the message of failing asserts: everything, untruncated
        return (f"creatok-image {' '.join(self.args)} -> {self.returncode}\n"
                f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}")


def _default_sigint() -> None:
    """Ctrl-C as a terminal delivers it: a runner started in the background (``cmd &``)
    passes SIGINT on as ignored, and Python programs rightly keep ignoring it then."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class World:
    """One scenario's surroundings: an emulator, an artifacts dir and the environment."""

    tmp: Path
    server: Server | None
    api_key: str | None = SANDBOX_API_KEY
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def artifacts(self) -> Path:
        return self.tmp / "artifacts"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
        env.update(OFFLINE_ENV)
        if self.server is not None:
            env["CREATOK_BASE_URL"] = self.server.base_url
        env["CREATOK_ARTIFACTS_DIR"] = str(self.artifacts)
        if self.api_key is not None:
            env["CREATOK_API_KEY"] = self.api_key
        env.update(self.extra_env)
        return env

    def run(self, *args: str, stdin: str | None = "", timeout: float = RUN_TIMEOUT,
            env: dict[str, str] | None = None) -> Run:
        """Run to the end. ``stdin`` is piped (``""``: end of input at once); None: /dev/null."""
        argv = list(args)
        done = subprocess.run(
            [str(CLI), *argv],
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env or self.env(),
            timeout=timeout,  # run() kills the process when it expires
        )
        return Run(argv, done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> Started:
        proc = subprocess.Popen([str(CLI), *args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                encoding="utf-8", env=self.env(),
                                preexec_fn=_default_sigint)
        return Started(list(args), proc)

    def result_json(self, run_id: str) -> dict[str, Any]:
        path = self.artifacts / run_id / "outputs" / "result.json"
        assert path.is_file(), f"no {path}"
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return record

    def png(self, name: str, seed: int = 1) -> str:
        path = self.tmp / name
        path.write_bytes(gradient_png(8, 8, seed))
        return str(path)


class Started:
    """A running command whose stderr is read line by line (to act at the right moment)."""

    def __init__(self, args: list[str], proc: subprocess.Popen[str]) -> None:
        self.args = args
        self.proc = proc
        self.err_lines: list[str] = []
        self._changed = threading.Condition()
        self._out = ""
        self._readers = [threading.Thread(target=self._read_err, daemon=True),
                         threading.Thread(target=self._read_out, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.err_lines.append(line)
                self._changed.notify_all()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self._out = self.proc.stdout.read()

    def wait_for_stderr(self, pattern: str, timeout: float = RUN_TIMEOUT) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.err_lines:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, (
                    f"no stderr line matching {pattern!r}: {''.join(self.err_lines)}"
                )
                self._changed.wait(min(left, 0.2))

    def finish(self, timeout: float = RUN_TIMEOUT) -> Run:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self.kill()
        for reader in self._readers:
            reader.join(timeout=10)
        return Run(self.args, code, self._out, "".join(self.err_lines))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


SCENARIOS: dict[str, Callable[[Path], None]] = {}


def scenario(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    SCENARIOS[fn.__name__.removeprefix("scenario_")] = fn
    return fn


class InProcess:
    """A fresh in-process emulator for one scenario."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("task_seconds", 0.3)
        self.options = options

    def __enter__(self) -> Emulator:
        self.emu = Emulator(port=0, **self.options).start()
        return self.emu

    def __exit__(self, *exc: object) -> None:
        self.emu.stop()


def assert_nothing_paid(stats: dict[str, Any]) -> None:
    assert stats["submit_requests"] == 0, stats
    assert stats["presign_requests"] == 0, stats
    assert stats["upload_requests"] == 0, stats
    assert stats["credits"] == 0, stats


def assert_plain(text: str) -> None:
    """No traceback, no terminal control codes."""
    assert "Traceback" not in text
    assert "\r" not in text and "\x1b" not in text


# ============================================================================================
# Scenarios
# ============================================================================================


@scenario
def scenario_happy_path_piped_yes(tmp: Path) -> None:
    """Standalone emulator process; "yes" on a pipe approves; URLs verbatim; artifacts saved."""
    server = EmulatorProcess(task_seconds=0.3)
    try:
        world = World(tmp, server)
        run = world.run("--prompt", PROMPT, stdin="yes\n")
        assert run.returncode == 0, str(run)
        # the approval summary: model label, resolution, n, estimated credits, the question
        for expected in ("Nano Banana 2", "2K", "1 image", "Estimated cost", "(yes/no)"):
            assert expected in run.stdout, str(run)
        assert len(run.urls) == 1, str(run)
        # not a TTY: plain status-change lines on stderr, no spinner
        assert re.search(r"^status: succeeded \(\d+\.\ds\)$", run.stderr, re.M), str(run)
        assert "submitted: task task_" in run.stderr, str(run)
        assert_plain(run.output)

        folders = [p for p in world.artifacts.iterdir() if p.is_dir()]
        assert len(folders) == 1, folders
        run_id = folders[0].name
        assert DEFAULT_RUN_ID.match(run_id), run_id
        result = world.result_json(run_id)
        assert result["status"] == "succeeded" and result["run_id"] == run_id
        assert run.urls == [img["url"] for img in result["images"]]  # byte for byte
        assert (world.artifacts / run_id / "outputs" / "result.md").is_file()
        assert (world.artifacts / "checkpoints.sqlite").is_file()
        # the URL was not re-encoded: its signature still verifies at the emulator
        image = httpx.get(run.urls[0], timeout=10)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG"), image

        stats = server.stats()
        assert stats["submits"] == 1 and stats["submit_requests"] == 1, stats
        assert stats["capabilities"] == 1, stats
        assert stats["credits"] == 1, stats
    finally:
        server.stop()


@scenario
def scenario_decline_by_no(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", PROMPT, stdin="no\n")
        assert run.returncode == 2, str(run)
        assert "Estimated cost" in run.stdout, str(run)
        assert "nothing was charged" in run.stdout, str(run)
        assert run.urls == []
        assert_nothing_paid(emu.stats())


@scenario
def scenario_decline_by_end_of_input_json(tmp: Path) -> None:
    """End of input declines; with --json the question goes to stderr, the JSON to stdout."""
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", PROMPT, "--json", stdin="")  # closed at once
        assert run.returncode == 2, str(run)
        assert "Estimated cost" in run.stderr and "(yes/no)" in run.stderr, str(run)
        assert "nothing was charged" in run.stderr, str(run)
        assert "Traceback" not in run.output
        assert len(run.stdout.splitlines()) == 1, str(run)
        record = run.json()
        assert record["ok"] is False and record["status"] == "cancelled"
        assert record["task_id"] is None and record["images"] == []
        assert_nothing_paid(emu.stats())


@scenario
def scenario_yes_and_json_shape(tmp: Path) -> None:
    """--yes never reads stdin (/dev/null here); --json: one JSON line and nothing else."""
    with InProcess() as emu:
        world = World(tmp, emu)
        run = world.run("--prompt", PROMPT, "--yes", "--json", "--run-id", "json-run",
                        stdin=None)
        assert run.returncode == 0, str(run)
        assert "(yes/no)" not in run.output, str(run)
        assert len(run.stdout.splitlines()) == 1, str(run)  # nothing but the JSON on stdout
        record = run.json()
        assert {"ok", "run_id", "task_id", "status", "images"} <= record.keys()
        assert record["ok"] is True and record["status"] == "succeeded"
        assert record["run_id"] == "json-run"
        assert record["task_id"] in emu.tasks
        assert record["images"] == world.result_json("json-run")["images"]  # as CreatOK sent
        assert "status: " in run.stderr, str(run)  # progress went to stderr


@scenario
def scenario_a_used_run_id_refuses_another_request(tmp: Path) -> None:
    """The same --run-id with another prompt: refused (exit 2) before anything is asked or
    charged; the earlier result.json is left as it was."""
    with InProcess() as emu:
        world = World(tmp, emu)
        first = world.run("--prompt", PROMPT, "--yes", "--run-id", "mine")
        assert first.returncode == 0, str(first)
        before = (world.artifacts / "mine" / "outputs" / "result.json").read_bytes()
        other = world.run("--prompt", ES_PROMPT, "--run-id", "mine", "--json", stdin="yes\n")
        assert other.returncode == 2, str(other)
        assert "(yes/no)" not in other.output, str(other)  # nothing was asked
        assert other.json()["status"] == "invalid_request", str(other)
        assert "mine" in other.json()["error"]["message"], str(other)
        assert emu.stats()["submits"] == 1
        assert (world.artifacts / "mine" / "outputs" / "result.json").read_bytes() == before
        declined = world.run("--prompt", PROMPT, "--run-id", "mine", stdin="no\n")
        assert declined.returncode == 2, str(declined)  # the same request, declined this time
        assert (world.artifacts / "mine" / "outputs" / "result.json").read_bytes() == before
        again = world.run("--prompt", PROMPT, "--run-id", "mine", "--yes")
        assert again.returncode == 0 and again.urls == first.urls, str(again)  # its task
        assert emu.stats()["submits"] == 1


BAD_INPUTS: dict[str, tuple[list[str], tuple[str, ...]]] = {
    "n": (["--n", "9"], ("1", "4")),
    "resolution": (["--resolution", "8K"], ("8K", "1K, 2K or 4K")),
    "model": (["--model", "no-such-model"], ("no-such-model", "nano-banana-2")),
    "aspect_ratio": (["--aspect-ratio", "5:4"], ("5:4", "1:1, 16:9 or 9:16")),
    "non_image_file": (["--reference-image", "{tmp}/notes.txt"], ("notes.txt", ".png")),
    "missing_file": (["--reference-image", "{tmp}/missing.png"], ("missing.png", "does not exist")),
    "too_many_references": (["--reference-image", "{tmp}/ref.png"] * 6, ("5", "6")),
    "timeout": (["--timeout", "-1"], ("--timeout", "greater than 0")),
}


def _bad_input(kind: str) -> Callable[[Path], None]:
    args, expected = BAD_INPUTS[kind]

    def check(tmp: Path) -> None:
        (tmp / "notes.txt").write_text("not an image")
        (tmp / "ref.png").write_bytes(gradient_png(8, 8, 1))
        with InProcess() as emu:
            argv = [a.format(tmp=tmp) for a in args]
            run = World(tmp, emu).run("--prompt", PROMPT, "--yes", *argv, stdin=None)
            assert run.returncode == 2, str(run)
            for text in expected:
                assert text in run.output, str(run)
            assert "Traceback" not in run.output
            assert_nothing_paid(emu.stats())
            if kind in ("non_image_file", "missing_file"):  # refused before any call at all
                assert emu.stats()["capabilities"] == 0, emu.stats()

    check.__name__ = f"scenario_bad_input_{kind}"
    return check


for _kind in BAD_INPUTS:
    scenario(_bad_input(_kind))


@scenario
def scenario_wrong_key_401(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu, api_key="sk-wrong").run("--prompt", PROMPT, "--yes", stdin=None)
        assert run.returncode == 1, str(run)
        assert "API key" in run.output and API_KEYS_URL in run.output, str(run)
        assert "Traceback" not in run.output
        assert_nothing_paid(emu.stats())


@scenario
def scenario_missing_key(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu, api_key=None).run("--prompt", PROMPT, "--json", stdin=None)
        assert run.returncode == 2, str(run)
        assert API_KEYS_URL in run.stderr and "--sandbox" in run.stderr, str(run)
        assert "Traceback" not in run.output
        assert run.json()["ok"] is False
        assert sum(emu.stats()["requests"].values()) == 0  # not even capabilities


@scenario
def scenario_failed_task(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", PROMPT + " [fail]", "--yes", stdin=None)
        assert run.returncode == 1, str(run)
        assert "failed" in run.stdout, str(run)
        assert run.urls == []
        assert emu.stats()["submits"] == 1


@scenario
def scenario_submit_error_code(tmp: Path) -> None:
    with InProcess(scenarios=["submit-error"]) as emu:
        run = World(tmp, emu).run("--prompt", PROMPT, "--yes", "--json", stdin=None)
        assert run.returncode == 1, str(run)
        assert "insufficient credits" in run.stderr, str(run)
        assert run.json()["status"] == "api_error"
        stats = emu.stats()
        assert stats["submit_requests"] == 1 and stats["credits"] == 0, stats  # never retried


@scenario
def scenario_flaky_503_still_succeeds(tmp: Path) -> None:
    with InProcess(scenarios=["flaky-503"]) as emu:
        run = World(tmp, emu).run("--prompt", PROMPT, "--yes", stdin=None)
        assert run.returncode == 0, str(run)
        assert len(run.urls) == 1, str(run)
        assert emu.stats()["submits"] == 1


@scenario
def scenario_reference_upload(tmp: Path) -> None:
    with InProcess() as emu:
        world = World(tmp, emu)
        a, b = world.png("a.png", 1), world.png("b.png", 2)
        run = world.run("--prompt", PROMPT, "--reference-image", a, "--reference-image", b,
                        stdin="yes\n")
        assert run.returncode == 0, str(run)
        for name in (a, b):  # the approval names the files that will be sent: real path, type
            assert f"{Path(name).resolve()} (image/png, " in run.stdout, str(run)
        stats = emu.stats()
        assert stats["presigns"] == 2 and stats["uploads"] == 2, stats
        assert stats["submits"] == 1, stats
        (task,) = emu.tasks.values()
        assert len(task["imageObjectKeys"]) == 2


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)


@scenario
def scenario_reference_judged_by_its_bytes(tmp: Path) -> None:
    """A JPEG named .png is presigned and PUT as image/jpeg (named .jpg); a text file named
    .png and a file over the size limit are refused before any call, naming the file."""
    from creatok_graph.references import MAX_REFERENCE_BYTES

    (tmp / "photo.png").write_bytes(JPEG)
    (tmp / "notes.png").write_text("plain text, not an image")
    with (tmp / "huge.png").open("wb") as fh:  # sparse: nothing reads it whole
        fh.write(gradient_png(8, 8, 1)[:16])
        fh.truncate(MAX_REFERENCE_BYTES + 1)
    with InProcess() as emu:
        world = World(tmp, emu)
        for name, facts in (("notes.png", ("notes.png", "PNG", "JPEG", "WebP", "GIF")),
                            ("huge.png", ("huge.png", "20 MiB"))):
            run = world.run("--prompt", PROMPT, "--yes", "--reference-image", str(tmp / name),
                            stdin=None)
            assert run.returncode == 2, str(run)
            for fact in facts:
                assert fact in run.output, str(run)
            assert sum(emu.stats()["requests"].values()) == 0, emu.stats()  # not one call

        run = world.run("--prompt", PROMPT, "--reference-image", str(tmp / "photo.png"),
                        stdin="yes\n")
        assert run.returncode == 0, str(run)
        assert f"{(tmp / 'photo.png').resolve()} (image/jpeg, 311 B)" in run.stdout, str(run)
        (key,) = emu.uploads
        assert key.endswith("/photo.jpg") and emu.uploads[key] == JPEG
        assert emu.upload_types[key] == "image/jpeg"
        (task,) = emu.tasks.values()
        assert task["imageObjectKeys"] == [key]


@scenario
def scenario_control_characters_are_printed_escaped(tmp: Path) -> None:
    """Escape sequences in a prompt cannot clear the screen or rewrite the cost line."""
    hostile = PROMPT + "\x1b[2J\x1b[1;1H\rEstimated cost: 0 credits\x07\u202e"
    with InProcess() as emu:
        world = World(tmp, emu)
        run = world.run("--prompt", hostile, stdin="no\n")
        assert run.returncode == 2, str(run)
        assert "\\x1b[2J\\x1b[1;1H\\rEstimated cost: 0 credits\\x07\\u202e" in run.stdout
        for raw in ("\x1b", "\r", "\x07", "\u202e"):
            assert raw not in run.output, repr(run.output)
        assert_nothing_paid(emu.stats())

        # a prompt of several lines cannot add a line to the question (e.g. a second price)
        run = world.run("--prompt", PROMPT + "\nEstimated cost: 0 credits.", stdin="no\n")
        assert run.returncode == 2, str(run)
        prices = [line for line in run.stdout.splitlines() if line.startswith("Estimated cost")]
        assert prices == ["Estimated cost: 1 credit."], str(run)
        assert "\n    Estimated cost: 0 credits.”\n" in run.stdout, str(run)

        calls_before = sum(emu.stats()["requests"].values())
        too_long = "a fox " * 1000
        run = world.run("--prompt", too_long, "--yes", stdin=None)
        assert run.returncode == 2 and "4000" in run.output, str(run)
        assert sum(emu.stats()["requests"].values()) == calls_before, emu.stats()  # no call


@scenario
def scenario_same_run_id_resumes_after_sigkill_then_reprints(tmp: Path) -> None:
    """Killed while polling: the same command continues the same task (no second charge);
    once finished, the same command prints the result again and calls nothing."""
    server = EmulatorProcess(task_seconds=3.0)
    try:
        world = World(tmp, server)
        args = ("--prompt", PROMPT, "--yes", "--run-id", "crashy")
        first = world.start(*args)
        try:
            line = first.wait_for_stderr(r"submitted: task ")
            task_id = line.split("task ", 1)[1].strip()
            first.proc.send_signal(signal.SIGKILL)
        finally:
            first.kill()
        killed = first.finish()
        assert killed.returncode == -signal.SIGKILL, str(killed)

        again = world.run(*args, stdin=None)
        assert again.returncode == 0, str(again)
        assert task_id in again.stderr, str(again)  # "Continuing run crashy (task ...)"
        assert len(again.urls) == 1, str(again)
        assert world.result_json("crashy")["task_id"] == task_id
        stats = server.stats()
        assert stats["submit_requests"] == 1 and stats["submits"] == 1, stats

        # finished now: the same command prints the result again and costs nothing
        reprint = world.run(*args, stdin=None)
        assert reprint.returncode == 0, str(reprint)
        assert reprint.urls == again.urls, str(reprint)
        assert "finished earlier" in reprint.stderr, str(reprint)
        after = server.stats()
        for counter in ("submit_requests", "capabilities", "status", "credits"):
            assert after[counter] == stats[counter], (counter, stats, after)
    finally:
        server.stop()


@scenario
def scenario_task_id_recovery(tmp: Path) -> None:
    """Check once (3 while running, 0 once done) or --wait (0); no prompt, nothing submitted."""
    with InProcess(task_seconds=300.0) as emu:
        world = World(tmp, emu)
        running = create_task(emu)  # still running whatever the machine's load
        emu.task_seconds = 2.0
        short = create_task(emu)

        once = world.run("--task-id", running, "--json", stdin=None)
        assert once.returncode == 3, str(once)
        record = once.json()
        assert record["status"] in ("queued", "running") and record["task_id"] == running
        assert f"--task-id {running} --wait" in once.stderr, str(once)  # how to keep waiting

        waited = world.run("--task-id", short, "--wait", stdin=None)
        assert waited.returncode == 0, str(waited)
        assert len(waited.urls) == 1, str(waited)

        after = world.run("--task-id", short, stdin=None)  # done by now: check once, exit 0
        assert after.returncode == 0, str(after)
        assert after.urls == waited.urls, str(after)

        stats = emu.stats()
        assert stats["submit_requests"] == 2, stats  # only the two created above
        assert stats["capabilities"] == 0, stats


@scenario
def scenario_task_id_other_in_progress_words(tmp: Path) -> None:
    """Any status that is not terminal is in progress: exit 3, not 1."""
    with InProcess(task_seconds=60.0, scenarios=["alt-statuses"]) as emu:
        task_id = create_task(emu)
        run = World(tmp, emu).run("--task-id", task_id, "--json", stdin=None)
        assert run.returncode == 3, str(run)
        assert run.json()["status"] in ("queued", "running", "pending", "processing"), str(run)
        assert task_id in run.stderr and "went wrong" not in run.stderr, str(run)


@scenario
def scenario_sandbox(tmp: Path) -> None:
    world = World(tmp, server=None, api_key=None)  # no key, no base URL: the sandbox's own
    run = world.run("--sandbox", "--prompt", PROMPT, "--yes", stdin=None)
    assert run.returncode == 0, str(run)
    assert "placeholder" in run.stderr and "sandbox" in run.stderr.lower(), str(run)
    assert len(run.urls) == 1, str(run)
    assert run.urls[0].startswith("http://127.0.0.1:"), str(run)


@scenario
def scenario_chinese(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", ZH_PROMPT, stdin="是\n")
        assert run.returncode == 0, str(run)
        assert "积分" in run.stdout, str(run)  # the summary, in Chinese
        assert "完成" in run.stdout, str(run)  # the final message, in Chinese
        assert "已提交：任务 task_" in run.stderr, str(run)  # progress lines too
        assert "submitted: " not in run.stderr, str(run)
        assert len(run.urls) == 1
        assert emu.stats()["submits"] == 1


@scenario
def scenario_spanish(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", ES_PROMPT, stdin="sí\n")
        assert run.returncode == 0, str(run)
        assert "créditos" in run.stdout, str(run)
        assert "Listo" in run.stdout, str(run)
        assert "enviada: tarea task_" in run.stderr, str(run)  # progress lines too
        assert re.search(r"^estado: succeeded \(\d+\.\d s\)$", run.stderr, re.M), str(run)
        assert len(run.urls) == 1
        assert emu.stats()["submits"] == 1


@scenario
def scenario_ctrl_c_while_polling(tmp: Path) -> None:
    """Exit 130 at once, naming the task and the resume command; the task id is on disk.
    (Resuming after an interruption: the SIGKILL and paid-call scenarios.)"""
    with InProcess(task_seconds=60.0) as emu:
        world = World(tmp, emu)
        args = ("--prompt", PROMPT, "--yes", "--run-id", "interrupted")
        started = world.start(*args)
        try:
            started.wait_for_stderr(r"^status: ")  # polling has begun
            started.proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
            run = started.finish(timeout=30)
            took = time.monotonic() - sent
        finally:
            started.kill()
        assert took < 5, f"Ctrl-C took {took:.1f}s: it waited for the task"
        assert run.returncode == 130, str(run)
        (task_id,) = emu.tasks
        assert task_id in run.stderr, str(run)
        assert "creatok-image --run-id interrupted" in run.stderr, str(run)
        assert "Traceback" not in run.output
        saved = world.result_json("interrupted")
        assert saved["task_id"] == task_id and saved["status"] == "submitted", saved
        assert emu.stats()["submit_requests"] == 1


@scenario
def scenario_ctrl_c_during_the_paid_call(tmp: Path) -> None:
    """Ctrl-C while the submit is in flight waits for CreatOK's answer, so the task id is
    saved and the resumed run polls that task instead of paying again."""
    with InProcess(scenarios=["slow-submit"], slow_submit_seconds=4.0) as emu:
        world = World(tmp, emu)
        args = ("--prompt", PROMPT, "--yes", "--run-id", "paid-call")
        started = world.start(*args)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while emu.stats()["submit_requests"] == 0:  # the POST has reached the server
                assert time.monotonic() < deadline and started.proc.poll() is None
                time.sleep(0.05)
            started.proc.send_signal(signal.SIGINT)
            run = started.finish(timeout=30)
        finally:
            started.kill()
        assert run.returncode == 130, str(run)
        (task_id,) = emu.tasks
        assert task_id in run.stderr, str(run)  # it waited for the answer and names the task

        emu.set_scenarios([])
        resumed = world.run(*args, stdin=None)
        assert resumed.returncode == 0, str(resumed)
        assert len(resumed.urls) == 1, str(resumed)
        assert world.result_json("paid-call")["task_id"] == task_id
        assert emu.stats()["submit_requests"] == 1


@scenario
def scenario_live_progress_on_a_terminal(tmp: Path) -> None:
    """stderr on a TTY: one live line (spinner, status, elapsed) instead of status lines."""
    with InProcess(task_seconds=1.5) as emu:
        world = World(tmp, emu)
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen([str(CLI), "--prompt", PROMPT, "--yes"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=slave, env=world.env())
            os.close(slave)
            chunks: list[bytes] = []
            reader = threading.Thread(target=_drain_pty, args=(master, chunks), daemon=True)
            reader.start()
            try:
                stdout, _ = proc.communicate(timeout=RUN_TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            reader.join(timeout=10)
        finally:
            os.close(master)
        err = b"".join(chunks).decode("utf-8", "replace")
        assert proc.returncode == 0, err
        assert "\r\x1b[K" in err, err  # the line is redrawn in place
        assert re.search(r"(running|queued) · \d+s", err), err
        assert not re.search(r"^status: ", err, re.M), err
        assert URL_LINE.match(stdout.decode().splitlines()[-1])


def _drain_pty(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO once the child closed its end
            return
        if not data:
            return
        chunks.append(data)


@scenario
def scenario_vague_prompt_with_yes_keeps_it(tmp: Path) -> None:
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", "a cat", "--yes", stdin=None)
        assert run.returncode == 0, str(run)
        assert "quite short" not in run.output, str(run)  # nothing asked
        (task,) = emu.tasks.values()
        assert task["prompt"] == "a cat"


@scenario
def scenario_missing_then_short_prompt_one_question(tmp: Path) -> None:
    """No --prompt: asked for one; a short answer is taken as written (no chat model, no
    "quite short" question); then the approval question with the CLI's own yes/no line."""
    with InProcess() as emu:
        run = World(tmp, emu).run(stdin="a cat\nyes\n")
        assert run.returncode == 0, str(run)
        assert "What image would you like" in run.stdout, str(run)
        assert "quite short" not in run.output, str(run)
        assert "credits.\n(yes/no)" in run.stdout, str(run)
        (task,) = emu.tasks.values()
        assert task["prompt"] == "a cat"


@scenario
def scenario_piped_yes_answers_the_approval_of_a_short_prompt(tmp: Path) -> None:
    """``echo yes | creatok-image --prompt "Mountains at dawn"`` generates."""
    with InProcess() as emu:
        run = World(tmp, emu).run("--prompt", "Mountains at dawn", stdin="yes\n")
        assert run.returncode == 0, str(run)
        assert "quite short" not in run.output, str(run)
        (task,) = emu.tasks.values()
        assert task["prompt"] == "Mountains at dawn"
        assert "Done" in run.stdout and "(yes/no)" in run.stdout, str(run)


@scenario
def scenario_make_demo(tmp: Path) -> None:
    """``make demo``: the sandbox, a sample prompt, and the confirmation question."""
    venv = Path(sys.executable).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    env.update(OFFLINE_ENV, CREATOK_ARTIFACTS_DIR=str(tmp / "artifacts"))
    stamp = venv / ".installed"
    # -o: never (re)install here, whatever the stamp says; the venv running us is the one
    done = subprocess.run(["make", "--no-print-directory", "-o", str(stamp), "demo",
                           f"VENV={venv}"], cwd=REPO_ROOT, input="yes\n", capture_output=True,
                          text=True, env=env, timeout=RUN_TIMEOUT)
    run = Run(["make demo"], done.returncode, done.stdout, done.stderr)
    assert done.returncode == 0, str(run)
    assert "--sandbox" in run.stdout, str(run)  # make echoes the command
    assert "(yes/no)" in run.stdout, str(run)
    assert "placeholder" in run.stderr, str(run)
    assert len(run.urls) == 1, str(run)


# ============================================================================================
# The tests
# ============================================================================================


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[None]]]:
    """Start the scenarios of every selected test of this module at once."""
    module = sys.modules[__name__]
    wanted = [
        item.callspec.params["name"]
        for item in request.session.items
        if getattr(item, "module", None) is module and hasattr(item, "callspec")
    ]
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cli-scenario") as pool:
        futures = {name: pool.submit(SCENARIOS[name], tmp_path_factory.mktemp(name))
                   for name in wanted}
        yield futures


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_cli(name: str, outcomes: dict[str, Future[None]]) -> None:
    outcomes[name].result(timeout=300)
