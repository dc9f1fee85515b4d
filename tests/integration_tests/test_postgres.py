"""Beyond one machine: two worker processes share a thread through PostgreSQL.

A private PostgreSQL cluster (Debian's ``postgresql`` binaries, ``initdb`` + ``postgres``
in a temporary directory, a free 127.0.0.1 port, run as a non-root user when we are
root) is started for this module and stopped at its end. Worker A approves, submits
and is SIGKILLed while polling; worker B, another process, resumes the thread from
PostgreSQL and finishes it. CreatOK must have charged exactly once.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _helpers import PROMPT, emulator_images, free_port, stop_process_group

from creatok_graph.emulator import Emulator

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_pg_worker.py")
TASK_SECONDS = 3.0


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    pytest.skip("running as root and neither a 'postgres' nor a 'nobody' user exists")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg", reason="the 'postgres' extra is not installed")
    pytest.importorskip("langgraph.checkpoint.postgres",
                        reason="the 'postgres' extra is not installed")
    bindir = _pg_bin()
    if bindir is None or not (bindir / "postgres").exists():
        pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin or PATH); "
                    "apt-get install postgresql (.ci/run does)")
    as_user = _run_as()
    base = Path(tempfile.mkdtemp(prefix="creatok-pg-"))
    data = base / "data"
    if as_user:
        os.chown(base, as_user["user"], as_user["group"])
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "LANG": "C", "HOME": str(base)}
    proc: subprocess.Popen[bytes] | None = None
    try:
        init = subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--no-locale", "-E", "UTF8", "--no-sync"],
            env=env, capture_output=True, timeout=120, cwd=base, **as_user,
        )
        assert init.returncode == 0, init.stdout.decode() + init.stderr.decode()
        port = free_port()
        log = (base / "postgres.log").open("wb")
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base,
            start_new_session=True, **as_user,
        )
        log.close()
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _wait_ready(url, proc, base / "postgres.log")
        yield url
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_process_group(proc)
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"postgres exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail(f"postgres did not accept connections:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)


def _worker_env(emulator: Emulator, tmp_path: Path, name: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREATOK_")}
    return {
        **base,
        "CREATOK_BASE_URL": emulator.base_url,
        "CREATOK_API_KEY": emulator.api_key,
        # separate artifacts folders: worker B knows only what PostgreSQL tells it
        "CREATOK_ARTIFACTS_DIR": str(tmp_path / name),
        "CREATOK_POLL_INTERVAL": "0.2",
        "PYTHONUNBUFFERED": "1",
    }


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("resume_async", [False, True], ids=["resume-sync", "resume-async"])
def test_worker_killed_mid_poll_is_finished_by_another(
    postgres_url: str, emulator_factory: Any, tmp_path: Path, resume_async: bool
) -> None:
    emulator = emulator_factory(task_seconds=TASK_SECONDS)
    thread = f"pg-{os.getpid()}-{int(resume_async)}"

    worker_a = subprocess.Popen(
        [sys.executable, str(WORKER), "start", "--url", postgres_url, "--thread", thread,
         "--prompt", PROMPT],
        env=_worker_env(emulator, tmp_path, "a"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    seen: list[dict[str, Any]] = []
    try:
        assert worker_a.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = worker_a.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            seen.append(event)
            custom = event.get("event") or {}
            if custom.get("type") == "progress" and custom.get("status") != "succeeded":
                break  # polling has begun
        assert any((e.get("event") or {}).get("type") == "submitted" for e in seen), (
            seen, worker_a.stderr.read() if worker_a.stderr and worker_a.poll() is not None
            else "")
        time.sleep(0.5)
        assert worker_a.poll() is None, "worker A finished before it could be killed"
        os.killpg(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=10)
    finally:
        stop_process_group(worker_a)
        if worker_a.stdout:
            worker_a.stdout.close()
        if worker_a.stderr:
            worker_a.stderr.close()
    assert worker_a.returncode == -signal.SIGKILL
    assert emulator.stats()["submits"] == 1
    (task_id,) = emulator.tasks
    assert emulator.get_task(task_id)["status"] != "succeeded"  # killed mid-task

    args = ["--async"] if resume_async else []
    worker_b = subprocess.run(
        [sys.executable, str(WORKER), "resume", "--url", postgres_url, "--thread", thread,
         *args],
        env=_worker_env(emulator, tmp_path, "b"), capture_output=True, text=True, timeout=90,
    )
    assert worker_b.returncode == 0, worker_b.stdout + worker_b.stderr
    events = {e["kind"]: e for e in _lines(worker_b.stdout)}
    assert events["found"]["next"] == ["poll"]
    assert events["found"]["task_id"] == task_id  # the task id came from PostgreSQL
    final = events["final"]
    assert final["status"] == "succeeded" and final["task_id"] == task_id
    served = emulator_images(emulator.base_url, emulator.api_key, task_id)
    assert [i["url"] for i in final["images"]] == [i["url"] for i in served]
    stats = emulator.stats()
    assert (stats["submits"], stats["credits"]) == (1, 1)  # exactly one charge
    # The run's settings are fixed at its start (issue 14): B finishes it in the folder the
    # run was started with, so its result.json is one file, not split across two folders.
    assert Path(final["artifacts_dir"]) == tmp_path / "a" / final["run_id"]
    result = tmp_path / "a" / final["run_id"] / "outputs" / "result.json"
    assert json.loads(result.read_text())["status"] == "succeeded"


def test_workers_starting_together_set_up_the_schema_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """Several fresh workers open the same (new) database at once without a migration race."""
    import psycopg

    db = f"fresh_{os.getpid()}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{db}"
    code = ("import sys; from creatok_graph.checkpointing import open_persistence\n"
            "with open_persistence(sys.argv[1]) as p: print('ok')")
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
             for _ in range(4)]
    try:
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        for proc in procs:
            stop_process_group(proc)
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    with psycopg.connect(url) as conn:
        versions = conn.execute("SELECT count(*), count(DISTINCT v) FROM checkpoint_migrations")
        total, distinct = versions.fetchone() or (0, 0)
    assert total == distinct > 0  # every migration ran exactly once
